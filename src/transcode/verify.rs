//! The policy that makes "identical SPS/PPS" a fact, not a hope.
//!
//! Every clip is compared, before it is committed, with the reference parameter
//! sets of the channel's output profile and encoder (a one-frame encode through the
//! same options, made once and cached: [`Ffmpeg::reference_parameters`]); the
//! comparison is the clip encode's own (`encode`). A clip that differs is retried
//! once with a correction where the differing fields say what leaked; otherwise the
//! encode fails with [`TranscodeError::Mismatch`] naming the fields, and the caller
//! sets the source aside. So, on one profile and encoder, the stream has no
//! discontinuity.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use h264_reader::nal::sps::{SeqParameterSet, VideoFormat};
use h264_reader::rbsp::{BitReader, decode_nal};

use super::clip::{ClipRequest, Fix};
use super::encode::EncodeProgress;
use super::error::TranscodeError;
use super::ffmpeg::Ffmpeg;
use super::profile::{Encoder, OutputProfile};
use super::run::TempOut;
use super::slate::slate_args;
use crate::media::h264::ParameterSets;
use crate::media::params::{self, FieldDiff};

pub use super::encode::read_parameter_sets;

/// Clips whose parameter sets differed from the reference, and how many of those a
/// retry with a correction fixed (for the metrics).
static MISMATCHES: AtomicU64 = AtomicU64::new(0);
static CORRECTED: AtomicU64 = AtomicU64::new(0);

/// The counters above: (clips that differed, of them corrected by a retry).
pub fn mismatch_counts() -> (u64, u64) {
    (
        MISMATCHES.load(Ordering::Relaxed),
        CORRECTED.load(Ordering::Relaxed),
    )
}

impl Ffmpeg {
    /// The parameter sets every clip for `profile` and `encoder` must carry: a
    /// one-frame encode through the clips' own encoder options, cached in `cache`
    /// under the same fingerprint as the slate (so a new ffmpeg makes a new one).
    pub async fn reference_parameters(
        &self,
        profile: &OutputProfile,
        encoder: &Encoder,
        cache: &Path,
    ) -> Result<ParameterSets, TranscodeError> {
        let path = cache.join(format!(
            "reference-{}.ts",
            self.clip_fingerprint(profile, encoder)
        ));
        if !path.is_file() {
            let tmp = TempOut::beside(&path).await?;
            let args = slate_args(profile, encoder, 1, self.threads, false, tmp.path());
            self.encode(&args, 1, profile.fps).await?;
            tmp.commit().await?;
        }
        read_parameter_sets(&path).await.inspect_err(|_| {
            // A damaged cache file is made again next time.
            let _ = std::fs::remove_file(&path);
        })
    }

    /// Encodes a clip whose rungs' parameter sets must each equal their reference
    /// (`references`, one per rung, the top first): one retry with a correction
    /// when the differing fields name one, else [`TranscodeError::Mismatch`]
    /// (nothing is written either way on failure).
    pub async fn encode_clip_checked(
        &self,
        req: &ClipRequest<'_>,
        progress: &tokio::sync::watch::Sender<EncodeProgress>,
        references: &[ParameterSets],
    ) -> Result<(), TranscodeError> {
        let reference = references.first().ok_or_else(|| TranscodeError::Failed {
            program: "shufflecast".into(),
            status: "clip check".into(),
            last_lines: "no reference parameter sets".into(),
        })?;
        let diffs = match self
            .encode_clip_fixed(req, progress, &Fix::default(), Some(references))
            .await
        {
            Err(TranscodeError::Mismatch { diffs }) => diffs,
            other => return other,
        };
        MISMATCHES.fetch_add(1, Ordering::Relaxed);
        let fix = fix_for(&diffs, reference);
        tracing::warn!(
            source = %req.src.display(),
            fields = %params::describe(&diffs),
            retry = fix.is_some(),
            "the clip's H.264 parameters differ from the channel's reference"
        );
        let Some(fix) = fix else {
            return Err(TranscodeError::Mismatch { diffs });
        };
        match self
            .encode_clip_fixed(req, progress, &fix, Some(references))
            .await
        {
            Ok(()) => {
                CORRECTED.fetch_add(1, Ordering::Relaxed);
                tracing::info!(source = %req.src.display(), ?fix, "corrected by a retry");
                Ok(())
            }
            Err(TranscodeError::Mismatch { diffs }) => {
                MISMATCHES.fetch_add(1, Ordering::Relaxed);
                Err(TranscodeError::Mismatch { diffs })
            }
            Err(e) => Err(e),
        }
    }
}

/// The correction for what differs, where the fields say what leaked: field coding
/// (deinterlace every frame), or the VUI's signal description and aspect ratio
/// (rewritten to the reference's values by h264_metadata); `None` otherwise.
pub(crate) fn fix_for(diffs: &[FieldDiff], reference: &ParameterSets) -> Option<Fix> {
    let touches = |words: &[&str]| {
        diffs
            .iter()
            .any(|d| words.iter().any(|w| d.field.contains(w)))
    };
    let mut fix = Fix {
        deinterlace_all: touches(&["frame_mbs", "field", "pic_struct"]),
        bsf: None,
    };
    if touches(&["video_signal_type", "aspect_ratio_info"]) {
        fix.bsf = vui_rewrite(reference);
    }
    (fix != Fix::default()).then_some(fix)
}

/// An h264_metadata filter that writes the reference's signal description and
/// aspect ratio into a clip's SPS.
fn vui_rewrite(reference: &ParameterSets) -> Option<String> {
    let nal = reference.sps.first()?;
    let rbsp = decode_nal(nal).ok()?;
    let sps = SeqParameterSet::from_bits(BitReader::new(&rbsp[..])).ok()?;
    let vui = sps.vui_parameters?;
    let mut opts = Vec::new();
    if let Some(v) = &vui.video_signal_type {
        let format = match v.video_format {
            VideoFormat::Component => 0,
            VideoFormat::PAL => 1,
            VideoFormat::NTSC => 2,
            VideoFormat::SECAM => 3,
            VideoFormat::MAC => 4,
            VideoFormat::Unspecified => 5,
            VideoFormat::Reserved(n) => n,
        };
        opts.push(format!("video_format={format}"));
        opts.push(format!(
            "video_full_range_flag={}",
            u8::from(v.video_full_range_flag)
        ));
        if let Some(c) = &v.colour_description {
            opts.push(format!("colour_primaries={}", c.colour_primaries));
            opts.push(format!(
                "transfer_characteristics={}",
                c.transfer_characteristics
            ));
            opts.push(format!("matrix_coefficients={}", c.matrix_coefficients));
        }
    }
    if let Some((w, h)) = vui.aspect_ratio_info.as_ref().and_then(|a| a.get()) {
        opts.push(format!("sample_aspect_ratio={w}/{h}"));
    }
    (!opts.is_empty()).then(|| format!("h264_metadata={}", opts.join(":")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::clip::TEST_PROFILE;
    use crate::testkit::media::{args, ff, ffmpeg, make_video_with};
    use crate::transcode::ProbeInfo;
    use std::ffi::OsString;
    use std::path::PathBuf;

    /// A source tagged with a chroma location and BT.601 colours: what an encoder
    /// copies into the VUI unless told otherwise.
    fn leaky_source(dir: &Path) -> PathBuf {
        let src = dir.join("topleft.mkv");
        make_video_with(
            &src,
            "testsrc2=size=320x240:rate=25:duration=2",
            &[
                "-x264-params",
                "chromaloc=2",
                "-color_primaries",
                "bt470bg",
                "-colorspace",
                "bt470bg",
                "-color_trc",
                "gamma28",
                "-chroma_sample_location",
                "topleft",
            ],
        );
        src
    }

    /// `from` with its SPS rewritten by h264_metadata `opts`: a reference that
    /// differs from the real one in known fields.
    async fn rewritten(from: &Path, opts: &str, to: &Path) -> ParameterSets {
        let mut a: Vec<OsString> = args(["-i"]);
        a.push(from.into());
        a.extend(args(["-c", "copy", "-bsf:v"]));
        a.push(format!("h264_metadata={opts}").into());
        a.extend(args(["-f", "mpegts"]));
        a.push(to.into());
        ffmpeg(a);
        read_parameter_sets(to).await.unwrap()
    }

    fn request<'a>(src: &'a Path, info: &'a ProbeInfo, out: &'a Path) -> ClipRequest<'a> {
        ClipRequest::test(src, info, out).at(0.2).frames(30)
    }

    #[tokio::test]
    async fn clips_match_the_reference_and_a_leak_is_named_field_by_field() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let ff = ff().await;
        let reference = ff
            .reference_parameters(&TEST_PROFILE, &Encoder::X264, d)
            .await
            .unwrap();
        // Cached: the second call reads the file the first one wrote.
        let cached: Vec<_> = std::fs::read_dir(d).unwrap().collect();
        assert_eq!(cached.len(), 1);
        assert_eq!(
            ff.reference_parameters(&TEST_PROFILE, &Encoder::X264, d)
                .await
                .unwrap(),
            reference
        );

        let src = leaky_source(d);
        let info = ff.probe(&src).await.unwrap();
        let out = d.join("clip.ts");
        let (tx, _rx) = tokio::sync::watch::channel(EncodeProgress::default());
        ff.encode_clip_checked(
            &request(&src, &info, &out),
            &tx,
            std::slice::from_ref(&reference),
        )
        .await
        .unwrap();
        assert_eq!(read_parameter_sets(&out).await.unwrap(), reference);

        // The same source through a bare encode: the fields that leak are named.
        let bare = d.join("bare.ts");
        let mut a: Vec<OsString> = args(["-i"]);
        a.push(src.clone().into());
        a.extend(args([
            "-vf",
            "scale=320:180",
            "-frames:v",
            "30",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-g",
            "30",
            "-f",
            "mpegts",
        ]));
        a.push(bare.clone().into());
        ffmpeg(a);
        let diffs = params::differences(&reference, &read_parameter_sets(&bare).await.unwrap());
        let text = params::describe(&diffs);
        eprintln!("{text}");
        assert!(
            diffs
                .iter()
                .any(|d| d.field == "sps.vui_parameters.chroma_loc_info" && d.reference == "None"),
            "{text}"
        );
        assert!(
            diffs.iter().any(|d| d.field.contains("colour_primaries")),
            "{text}"
        );
        assert!(
            !diffs.iter().any(|d| d.field.contains("pic_width")),
            "{text}"
        );
    }

    #[tokio::test]
    async fn a_mismatch_is_corrected_by_a_retry_where_possible_else_refused() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let ff = ff().await;
        let real = ff
            .reference_parameters(&TEST_PROFILE, &Encoder::X264, d)
            .await
            .unwrap();
        let file = std::fs::read_dir(d)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let src = leaky_source(d);
        let info = ff.probe(&src).await.unwrap();
        let (tx, _rx) = tokio::sync::watch::channel(EncodeProgress::default());

        // Other colour primaries in the reference: the retry rewrites the VUI to match.
        let odd = rewritten(&file, "colour_primaries=5", &d.join("odd.ts")).await;
        assert_ne!(odd, real);
        let out = d.join("fixed.ts");
        let pic = d.join("fixed.jpg");
        let (before, corrected) = mismatch_counts();
        let req = request(&src, &info, &out).thumbnail(Some(&pic));
        ff.encode_clip_checked(&req, &tx, std::slice::from_ref(&odd))
            .await
            .unwrap();
        assert_eq!(read_parameter_sets(&out).await.unwrap(), odd);
        // The retry makes the picture too.
        let p = &crate::testkit::media::streams(&pic)[0];
        assert_eq!(
            (&p["codec_name"], &p["width"]),
            (&"mjpeg".into(), &320.into())
        );
        let (after, corrected_after) = mismatch_counts();
        assert!(after > before && corrected_after > corrected);

        // A chroma location: no correction is known, nothing is written.
        let odd = rewritten(&file, "chroma_sample_loc_type=2", &d.join("odd2.ts")).await;
        let out = d.join("refused.ts");
        let pic = d.join("refused.jpg");
        let req = request(&src, &info, &out).thumbnail(Some(&pic));
        match ff
            .encode_clip_checked(&req, &tx, std::slice::from_ref(&odd))
            .await
        {
            Err(TranscodeError::Mismatch { diffs }) => {
                let text = params::describe(&diffs);
                assert!(text.contains("chroma_loc_info"), "{text}");
            }
            other => panic!("{other:?}"),
        }
        assert!(!out.exists() && !pic.exists(), "no clip, no picture");
        let parts = std::fs::read_dir(d)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".part")
            })
            .count();
        assert_eq!(parts, 0);
    }

    #[test]
    fn fixes_follow_the_fields() {
        let f = |field: &str| FieldDiff {
            field: field.into(),
            reference: "1".into(),
            clip: "2".into(),
        };
        let none = ParameterSets {
            sps: Vec::new(),
            pps: Vec::new(),
        };
        assert_eq!(
            fix_for(&[f("sps.frame_mbs_flags")], &none),
            Some(Fix {
                deinterlace_all: true,
                bsf: None
            })
        );
        assert_eq!(
            fix_for(&[f("sps.vui_parameters.chroma_loc_info")], &none),
            None
        );
        assert_eq!(fix_for(&[f("pps.entropy_coding_mode_flag")], &none), None);
        // Without a parsable reference there is nothing to rewrite to.
        assert_eq!(
            fix_for(
                &[f(
                    "sps.vui_parameters.video_signal_type.video_full_range_flag"
                )],
                &none
            ),
            None
        );
    }
}
