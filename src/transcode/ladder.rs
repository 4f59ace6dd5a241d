//! The quality ladder (`RENDITIONS`): the rungs a channel airs below its top one.
//!
//! The top rung is the channel's [`OutputProfile`] (WIDTH x HEIGHT at
//! VIDEO_BITRATE). Each lower rung is written `<height>p`, optionally `@<kbps>`;
//! its width follows the top rung's aspect ratio, rounded to an even number, and
//! everything else (frame rate, GOP, encoder options) is the top rung's, so every
//! rung's IDR frames fall on the same timestamps.

use std::fmt;
use std::str::FromStr;

use super::profile::OutputProfile;

/// The lowest rung allowed: below 144 lines a picture is no longer worth sending.
pub const MIN_RUNG_HEIGHT: u32 = 144;

/// One rung below the top, as written in `RENDITIONS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rung {
    /// Picture height in lines.
    pub height: u32,
    /// Video bit rate cap in kb/s; `None`: scaled from the top rung's.
    pub kbps: Option<u32>,
}

/// The rungs below the top one, highest first; empty for a single stream. `auto`
/// (the default) is [`Ladder::AUTO`]'s rungs, those of them below the top.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ladder {
    rungs: Vec<Rung>,
    auto: bool,
}

impl Ladder {
    /// What `auto` (the default) airs under the top rung: a rung for a slow Wi-Fi
    /// (480p) and one for a phone on mobile data (360p), each at a bit rate scaled
    /// from the top's by its pixels (1350 and 750 kb/s under 720p at 3000).
    pub const AUTO: &'static str = "480p,360p";

    /// The single stream: the top rung alone.
    pub const NONE: Ladder = Ladder {
        rungs: Vec::new(),
        auto: false,
    };

    /// The default: [`Ladder::AUTO`]'s rungs below the top.
    pub fn auto() -> Ladder {
        Ladder {
            auto: true,
            ..Ladder::AUTO.parse().expect("the auto ladder reads")
        }
    }

    /// The rungs below the top, highest first (for `auto`, whatever the top).
    pub fn rungs(&self) -> &[Rung] {
        &self.rungs
    }

    /// Whether the channel airs the top rung alone.
    pub fn is_single(&self) -> bool {
        self.rungs.is_empty()
    }

    /// Refuses a rung at or above `top`'s height (`auto` leaves those out instead).
    pub fn check(&self, top: &OutputProfile) -> Result<(), String> {
        if self.auto {
            return Ok(());
        }
        for r in &self.rungs {
            if r.height >= top.height {
                return Err(format!(
                    "{}p is not below the top rung ({}x{}, set by WIDTH and HEIGHT)",
                    r.height, top.width, top.height
                ));
            }
        }
        Ok(())
    }

    /// Every rung's profile, the top one (`top` itself) first. A rung at or above
    /// the top (refused by [`Ladder::check`]) is left out.
    pub fn profiles(&self, top: &OutputProfile) -> Vec<OutputProfile> {
        let mut all = vec![top.clone()];
        all.extend(
            self.rungs
                .iter()
                .filter(|r| r.height < top.height)
                .map(|r| rung_profile(top, r)),
        );
        all
    }
}

/// The profile of `rung` under `top`: the top's aspect ratio at the rung's height
/// (even width), the rung's bit rate or the top's scaled by pixel count, to 50
/// kb/s and at least 200.
pub fn rung_profile(top: &OutputProfile, rung: &Rung) -> OutputProfile {
    let width = even(f64::from(top.width) * f64::from(rung.height) / f64::from(top.height));
    let kbps = rung.kbps.unwrap_or_else(|| {
        let pixels = f64::from(width * rung.height) / f64::from(top.width * top.height);
        let scaled = f64::from(top.video_kbps) * pixels;
        ((scaled / 50.0).round() as u32 * 50).max(200)
    });
    OutputProfile {
        width,
        height: rung.height,
        video_kbps: kbps,
        ..top.clone()
    }
}

fn even(x: f64) -> u32 {
    ((x / 2.0).round() as u32 * 2).max(2)
}

/// A `RENDITIONS` value that cannot be read; the text says why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseLadderError(String);

impl FromStr for Ladder {
    type Err = ParseLadderError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() || s.eq_ignore_ascii_case("none") {
            return Ok(Ladder::NONE);
        }
        if s.eq_ignore_ascii_case("auto") {
            return Ok(Ladder::auto());
        }
        let mut rungs: Vec<Rung> = Vec::new();
        for part in s.split(',') {
            let rung = parse_rung(part.trim())?;
            if rungs.iter().any(|r| r.height == rung.height) {
                return Err(ParseLadderError(format!(
                    "{}p is listed twice",
                    rung.height
                )));
            }
            rungs.push(rung);
        }
        rungs.sort_by_key(|r| std::cmp::Reverse(r.height));
        Ok(Ladder { rungs, auto: false })
    }
}

fn parse_rung(text: &str) -> Result<Rung, ParseLadderError> {
    let bad = |why: &str| {
        ParseLadderError(format!(
            "{text:?}: {why}; write rungs as <height>p or <height>p@<kbps>, e.g. 480p@1400,360p@700 (or none)"
        ))
    };
    let (height, kbps) = match text.split_once('@') {
        Some((h, k)) => (h.trim(), Some(k.trim())),
        None => (text, None),
    };
    let height: u32 = height
        .strip_suffix(['p', 'P'])
        .ok_or_else(|| bad("a height ends in p"))?
        .parse()
        .map_err(|_| bad("not a height"))?;
    if height < MIN_RUNG_HEIGHT {
        return Err(bad(&format!("under {MIN_RUNG_HEIGHT} lines")));
    }
    if !height.is_multiple_of(2) {
        return Err(bad("an odd height (4:2:0 pictures need even ones)"));
    }
    let kbps = match kbps {
        None => None,
        Some(k) => {
            let k = k.strip_suffix(['k', 'K']).unwrap_or(k);
            match k.parse::<u32>() {
                Ok(n) if (100..=100_000).contains(&n) => Some(n),
                _ => return Err(bad("a bit rate is 100 to 100000 kb/s")),
            }
        }
    };
    Ok(Rung { height, kbps })
}

impl fmt::Display for Ladder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.auto {
            return f.write_str("auto");
        }
        if self.rungs.is_empty() {
            return f.write_str("none");
        }
        let parts: Vec<String> = self
            .rungs
            .iter()
            .map(|r| match r.kbps {
                Some(k) => format!("{}p@{k}", r.height),
                None => format!("{}p", r.height),
            })
            .collect();
        f.write_str(&parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn top() -> OutputProfile {
        OutputProfile {
            width: 1280,
            height: 720,
            fps: 30,
            gop_frames: 60,
            video_kbps: 3000,
        }
    }

    #[test]
    fn reads_rungs_highest_first_and_writes_them_back() {
        let l: Ladder = " 360p@700 , 480P@1400k,240p".parse().unwrap();
        assert_eq!(l.to_string(), "480p@1400,360p@700,240p");
        assert_eq!(l.to_string().parse::<Ladder>().unwrap(), l);
        assert!("none".parse::<Ladder>().unwrap().is_single());
        assert!("".parse::<Ladder>().unwrap().is_single());
        assert_eq!(Ladder::NONE.to_string(), "none");
        assert_eq!("Auto".parse::<Ladder>().unwrap(), Ladder::auto());
        assert_eq!(Ladder::auto().to_string(), "auto");
    }

    #[test]
    fn refuses_what_is_not_a_ladder_saying_why() {
        for (text, why) in [
            ("480", "ends in p"),
            ("480p@fast", "100 to 100000"),
            ("480p,480p@900", "listed twice"),
            ("120p", "under 144"),
            ("481p", "odd height"),
            ("p", "not a height"),
            ("480p@50", "100 to 100000"),
        ] {
            let e = text.parse::<Ladder>().unwrap_err().to_string();
            assert!(e.contains(why), "{text}: {e}");
        }
        let e = "720p".parse::<Ladder>().unwrap().check(&top()).unwrap_err();
        assert!(
            e.contains("720p is not below the top rung (1280x720"),
            "{e}"
        );
        let e = "1080p"
            .parse::<Ladder>()
            .unwrap()
            .check(&top())
            .unwrap_err();
        assert!(e.contains("1080p"), "{e}");
    }

    #[test]
    fn rungs_keep_the_top_aspect_on_even_widths_and_scale_their_bit_rate() {
        let l: Ladder = "480p@1400,360p,144p".parse().unwrap();
        let p = l.profiles(&top());
        let sizes: Vec<(u32, u32, u32)> = p
            .iter()
            .map(|p| (p.width, p.height, p.video_kbps))
            .collect();
        // 360p: a quarter of the pixels, a quarter of the bits; 144p: at least 200.
        assert_eq!(
            sizes,
            [
                (1280, 720, 3000),
                (854, 480, 1400),
                (640, 360, 750),
                (256, 144, 200)
            ]
        );
        assert!(p.iter().all(|r| r.fps == 30 && r.gop_frames == 60));
        // 4:3 top: 480p is 640 wide.
        let square = OutputProfile {
            width: 960,
            ..top()
        };
        assert_eq!(l.profiles(&square)[1].width, 640);
        assert_eq!(Ladder::NONE.profiles(&top()), [top()]);
        // auto: 480p and 360p under 720p; under a 480p top, 360p alone, never refused.
        let auto: Vec<(u32, u32)> = Ladder::auto()
            .profiles(&top())
            .iter()
            .map(|p| (p.height, p.video_kbps))
            .collect();
        assert_eq!(auto, [(720, 3000), (480, 1350), (360, 750)]);
        let small = OutputProfile {
            width: 854,
            height: 480,
            video_kbps: 1500,
            ..top()
        };
        assert!(Ladder::auto().check(&small).is_ok());
        let heights: Vec<u32> = Ladder::auto()
            .profiles(&small)
            .iter()
            .map(|p| p.height)
            .collect();
        assert_eq!(heights, [480, 360]);
    }

    /// One run encodes every rung from the same frames: each rung at its own size
    /// and bit rate with its own reference parameter sets, all with the same frame
    /// count and the same frame timestamps, so the IDR frames (and the segments
    /// cut on them) fall at the same moments in every rung. The picture still
    /// comes from the same run.
    #[tokio::test]
    async fn one_run_encodes_every_rung_in_step_with_its_own_parameter_sets() {
        use crate::testkit::media::{self, ff};
        use crate::transcode::{ClipRequest, EncodeProgress, Encoder, RungFiles};

        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let ff = ff().await;
        let src = d.join("src.mp4");
        media::make_video(&src, "testsrc2=size=640x480:rate=25:duration=4");
        let info = ff.probe(&src).await.unwrap();
        let top = OutputProfile {
            width: 640,
            height: 360,
            fps: 30,
            gop_frames: 30,
            video_kbps: 1200,
        };
        let ladder: Ladder = "240p@500,144p".parse().unwrap();
        let profiles = ladder.profiles(&top);
        let mut references = Vec::new();
        for p in &profiles {
            references.push(ff.reference_parameters(p, &Encoder::X264, d).await.unwrap());
        }
        assert_ne!(references[0], references[1], "each rung has its own SPS");
        let out = d.join("clip-0000.ts");
        let lower = RungFiles::new(profiles[1..].to_vec(), &out);
        let rungs = lower.outs();
        let picture = d.join("clip-0000.jpg");
        let req = ClipRequest {
            rungs: &rungs,
            ..ClipRequest::test(&src, &info, &out)
                .at(0.5)
                .frames(60)
                .profile(&top)
                .thumbnail(Some(&picture))
        };
        let (tx, _rx) = tokio::sync::watch::channel(EncodeProgress::default());
        ff.encode_clip_checked(&req, &tx, &references)
            .await
            .unwrap();
        assert!(picture.is_file(), "the picture comes from the same run");

        let all: Vec<&std::path::Path> = std::iter::once(out.as_path())
            .chain(lower.files().iter().map(|f| f.as_path()))
            .collect();
        let mut timestamps = Vec::new();
        for ((file, p), reference) in all.iter().zip(&profiles).zip(&references) {
            let v = &media::streams(file)[0];
            assert_eq!(
                (v["width"].as_u64(), v["height"].as_u64()),
                (Some(p.width.into()), Some(p.height.into())),
                "{}",
                file.display()
            );
            assert_eq!(v["nb_read_frames"], "60");
            assert_eq!(
                &super::super::encode::read_parameter_sets(file)
                    .await
                    .unwrap(),
                reference
            );
            let h264 = media::h264_summary(file);
            assert_eq!(h264.idr_positions, [0, 30], "{}", file.display());
            // Decode timestamps and keyframes frame by frame, presentation
            // timestamps as a set (each rung picks its own B-frames within a GOP).
            let pk = media::packets(file);
            let dts: Vec<(i64, bool)> = pk.iter().map(|p| (p.dts, p.key)).collect();
            let keys: Vec<i64> = pk.iter().filter(|p| p.key).map(|p| p.pts).collect();
            let mut pts: Vec<i64> = pk.iter().map(|p| p.pts).collect();
            pts.sort_unstable();
            timestamps.push((dts, keys, pts));
        }
        assert_eq!(timestamps[0], timestamps[1], "240p in step with the top");
        assert_eq!(timestamps[0], timestamps[2], "144p in step with the top");
        // The smaller rungs are smaller.
        let sizes: Vec<u64> = all
            .iter()
            .map(|f| std::fs::metadata(f).unwrap().len())
            .collect();
        assert!(sizes[0] > sizes[1] && sizes[1] > sizes[2], "{sizes:?}");
    }

    /// A rung whose parameter sets are not its reference's fails the whole clip
    /// and writes none of its files.
    #[tokio::test]
    async fn a_rung_unlike_its_reference_fails_the_clip_and_leaves_no_file() {
        use crate::testkit::media::{self, ff};
        use crate::transcode::{ClipRequest, EncodeProgress, Encoder, RungOut, TranscodeError};

        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let ff = ff().await;
        let src = d.join("src.mp4");
        media::make_video(&src, "testsrc2=size=320x240:rate=30:duration=2");
        let info = ff.probe(&src).await.unwrap();
        let top = OutputProfile {
            width: 426,
            height: 240,
            fps: 30,
            gop_frames: 30,
            video_kbps: 800,
        };
        let low = rung_profile(
            &top,
            &Rung {
                height: 144,
                kbps: None,
            },
        );
        let top_ref = ff
            .reference_parameters(&top, &Encoder::X264, d)
            .await
            .unwrap();
        let out = d.join("clip.ts");
        let low_out = crate::clip::rung_file(&out, 144);
        let rungs = [RungOut {
            profile: &low,
            out: &low_out,
        }];
        let req = ClipRequest {
            rungs: &rungs,
            ..ClipRequest::test(&src, &info, &out)
                .frames(30)
                .profile(&top)
        };
        let (tx, _rx) = tokio::sync::watch::channel(EncodeProgress::default());
        // The 144p rung checked against the top's reference: it cannot match.
        let refs = [top_ref.clone(), top_ref];
        let e = ff.encode_clip_checked(&req, &tx, &refs).await.unwrap_err();
        assert!(matches!(e, TranscodeError::Mismatch { .. }), "{e}");
        let left: Vec<_> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("clip"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }

    /// On a GPU that takes its frames uploaded, every rung is scaled on the CPU
    /// and uploaded on its own branch.
    #[test]
    fn every_rung_is_uploaded_for_a_gpu_encoder() {
        use crate::testkit::clip::source_info;
        use crate::testkit::media::{arg_value, strings};
        use crate::transcode::{ClipRequest, Encoder, RungOut, clip_args};

        let info = source_info(false);
        let top = OutputProfile {
            width: 1280,
            height: 720,
            fps: 30,
            gop_frames: 60,
            video_kbps: 3000,
        };
        let low = rung_profile(
            &top,
            &Rung {
                height: 360,
                kbps: Some(700),
            },
        );
        let src = std::path::Path::new("/in.mp4");
        let out = std::path::Path::new("/c/clip.ts");
        let low_out = std::path::Path::new("/c/clip.360p.ts");
        let rungs = [RungOut {
            profile: &low,
            out: low_out,
        }];
        let vaapi = Encoder::Vaapi {
            device: "/dev/dri/renderD128".into(),
        };
        let req = ClipRequest {
            rungs: &rungs,
            encoder: &vaapi,
            ..ClipRequest::test(src, &info, out).profile(&top)
        };
        let a = strings(&clip_args(&req, None));
        let graph = arg_value(&a, "-filter_complex");
        assert!(graph.contains(",split=2[top][rung1];[top]hwupload[vout];[rung1]scale=640:360:flags=bicubic,setsar=1,hwupload[vout1]"), "{graph}");
        // Two outputs, each with its own size and bit rate.
        let outs: Vec<&String> = a.iter().filter(|x| x.ends_with(".ts")).collect();
        assert_eq!(outs, ["file:/c/clip.ts", "file:/c/clip.360p.ts"]);
        let maps: Vec<&String> = a
            .iter()
            .skip_while(|x| *x != "-map")
            .step_by(1)
            .filter(|x| x.starts_with("[vout"))
            .collect();
        assert_eq!(maps, ["[vout]", "[vout1]"]);
        assert!(a.join(" ").contains("700k"), "{a:?}");
    }
}
