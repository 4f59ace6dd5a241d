//! The H.264 encoders: the options each is given so that every clip, from any
//! source and on any encoder path, comes out with the same SPS/PPS; and choosing
//! the encoder (hardware only when it proves it works).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::error::TranscodeError;
use super::ffmpeg::{Ffmpeg, fnv1a};
use super::profile::{Encoder, HwAccel, OutputProfile};
use super::run::{self, os_args};

/// What every frame is told it is before it reaches the encoder: progressive,
/// BT.709, limited range. Encoders read these frame properties (and the options of
/// [`encoder_args`]) for the VUI; nothing of the source's tags may get through.
pub(super) const PIN_FRAME: &str =
    "setparams=field_mode=prog:range=tv:color_primaries=bt709:color_trc=bt709:colorspace=bt709";

/// Any SEI left (an encoder's own version string, a driver's extras) is dropped:
/// clips carry SPS, PPS and slices only.
pub(super) const DROP_SEI: &str = "filter_units=remove_types=6";

/// The H.264 level for a profile: the smallest of 4.1, 4.2, 5.1, 5.2, 6.2 that fits its frame size and rate.
pub fn h264_level(p: &OutputProfile) -> &'static str {
    let mbs = u64::from(p.width.div_ceil(16)) * u64::from(p.height.div_ceil(16));
    let mb_rate = mbs * u64::from(p.fps);
    // (level, MaxFS, MaxMBPS) from table A-1 of the H.264 spec.
    const LEVELS: [(&str, u64, u64); 5] = [
        ("4.1", 8192, 245_760),
        ("4.2", 8704, 522_240),
        ("5.1", 36_864, 983_040),
        ("5.2", 36_864, 2_073_600),
        ("6.2", 139_264, 16_711_680),
    ];
    LEVELS
        .iter()
        .find(|(_, fs, mbps)| mbs <= *fs && mb_rate <= *mbps)
        .map_or("6.2", |(l, _, _)| l)
}

/// Options the encoder needs before the input (the VA-API device).
pub(super) fn hw_input_args(encoder: &Encoder) -> Vec<OsString> {
    match encoder {
        Encoder::Vaapi { device } => vec!["-vaapi_device".into(), device.clone().into_os_string()],
        _ => Vec::new(),
    }
}

/// The pixel format the encoder is fed.
pub(super) fn pix_fmt(encoder: &Encoder) -> &'static str {
    match encoder {
        Encoder::X264 | Encoder::Nvenc => "yuv420p",
        Encoder::Vaapi { .. } | Encoder::Qsv => "nv12",
    }
}

/// The filter that moves frames to the GPU, for encoders that need it.
pub(super) fn upload_filter(encoder: &Encoder) -> Option<String> {
    matches!(encoder, Encoder::Vaapi { .. }).then(|| "hwupload".to_string())
}

/// What every encoder is told in the same words: the level, the rate cap and the
/// GOP (its length, two B-frames, an IDR forced at every boundary).
struct Shared<'a> {
    level: &'a str,
    gop: &'a str,
    rate: [&'a str; 6],
    gop_args: [&'a str; 6],
}

/// Encoder options, identical for clips, slates and test encodes.
pub(super) fn encoder_args(p: &OutputProfile, encoder: &Encoder) -> Vec<OsString> {
    let level = h264_level(p);
    let (gop, kbps) = (p.gop_frames.max(1).to_string(), p.video_kbps.max(1));
    let (rate, buf) = (format!("{kbps}k"), format!("{}k", kbps * 2));
    // The IDR at every GOP boundary is also forced, in case an encoder drifts.
    let force = format!("expr:eq(mod(n,{gop}),0)");
    let shared = Shared {
        level,
        gop: &gop,
        rate: ["-b:v", &rate, "-maxrate", &rate, "-bufsize", &buf],
        gop_args: ["-g", &gop, "-bf", "2", "-force_key_frames", &force],
    };
    let mut a = match encoder {
        Encoder::X264 => x264_args(&shared),
        Encoder::Nvenc => nvenc_args(&shared),
        Encoder::Vaapi { .. } => vaapi_args(&shared),
        Encoder::Qsv => qsv_args(&shared),
    };
    // Pinned so that a source's colour tags can never reach the SPS's VUI.
    a.extend(os_args([
        "-colorspace",
        "bt709",
        "-color_primaries",
        "bt709",
    ]));
    a.extend(os_args(["-color_trc", "bt709", "-color_range", "tv"]));
    a.extend(os_args(["-chroma_sample_location", "left"]));
    a.extend(os_args(["-bsf:v", DROP_SEI]));
    a
}

/// libx264's own options.
fn x264_args(s: &Shared<'_>) -> Vec<OsString> {
    let mut a: Vec<&str> = Vec::new();
    a.extend(["-c:v", "libx264", "-preset", "veryfast"]);
    a.extend(["-profile:v", "high", "-level:v", s.level]);
    a.extend(s.rate);
    a.extend(s.gop_args);
    a.extend([
        "-keyint_min",
        s.gop,
        "-sc_threshold",
        "0",
        "-forced-idr",
        "1",
    ]);
    // Closed GOPs and SPS/PPS before every IDR, whatever x264's defaults; the
    // VUI written out in x264's own terms, which win over anything libavcodec
    // derives from the input (chroma location 0 is "left", written as absent).
    a.extend([
        "-x264-params",
        "open-gop=0:scenecut=0:repeat-headers=1:colorprim=bt709:transfer=bt709\
         :colormatrix=bt709:range=tv:chromaloc=0:sar=1/1:overscan=undef:videoformat=undef",
    ]);
    a.extend(["-a53cc", "0", "-udu_sei", "0"]);
    os_args(a)
}

/// h264_nvenc's own options.
fn nvenc_args(s: &Shared<'_>) -> Vec<OsString> {
    let mut a: Vec<&str> = Vec::new();
    a.extend(["-c:v", "h264_nvenc", "-preset", "p4", "-tune", "hq"]);
    a.extend(["-profile:v", "high", "-level:v", s.level, "-rc", "vbr"]);
    a.extend(s.rate);
    a.extend(s.gop_args);
    a.extend(["-b_ref_mode", "disabled", "-forced-idr", "1"]);
    a.extend(["-no-scenecut", "1", "-strict_gop", "1"]);
    a.extend(["-a53cc", "0", "-udu_sei", "0", "-extra_sei", "0"]);
    os_args(a)
}

/// h264_vaapi's own options.
fn vaapi_args(s: &Shared<'_>) -> Vec<OsString> {
    let mut a: Vec<&str> = Vec::new();
    a.extend([
        "-c:v",
        "h264_vaapi",
        "-profile:v",
        "high",
        "-level:v",
        s.level,
    ]);
    a.extend(["-rc_mode", "VBR"]);
    a.extend(s.rate);
    a.extend(s.gop_args);
    // 0: every I frame is an IDR frame. No SEI: its timing variant would add
    // HRD parameters to the SPS.
    a.extend(["-idr_interval", "0", "-sei", "0"]);
    os_args(a)
}

/// h264_qsv's own options.
fn qsv_args(s: &Shared<'_>) -> Vec<OsString> {
    // h264_qsv takes the level as a plain number (41, not 4.1).
    let level = s.level.replace('.', "");
    let mut a: Vec<&str> = Vec::new();
    a.extend([
        "-c:v",
        "h264_qsv",
        "-preset",
        "medium",
        "-profile:v",
        "high",
    ]);
    a.extend(["-level:v", &level]);
    a.extend(s.rate);
    a.extend(s.gop_args);
    a.extend(["-idr_interval", "0", "-look_ahead", "0", "-forced_idr", "1"]);
    // pic_timing SEI would put pic_struct into the SPS.
    a.extend(["-a53cc", "0", "-pic_timing_sei", "0"]);
    os_args(a)
}

impl Ffmpeg {
    /// A short stable tag of everything that decides the clips' codec parameters
    /// (ffmpeg version, encoder, profile): clips cached under another tag must not be spliced with these.
    pub fn clip_fingerprint(&self, profile: &OutputProfile, encoder: &Encoder) -> String {
        let mut key = Vec::new();
        key.extend_from_slice(self.version.as_bytes());
        key.extend_from_slice(format!("{profile:?}").as_bytes());
        for a in &encoder_args(profile, encoder) {
            key.extend_from_slice(a.as_encoded_bytes());
            key.push(0);
        }
        format!("{:016x}", fnv1a(&key))
    }
}

/// A test encode that takes longer than this means a stuck driver, not a usable encoder.
const TEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The render node used when /dev/dri lists none.
const DEFAULT_RENDER_NODE: &str = "/dev/dri/renderD128";

/// The ffmpeg arguments of a test encode: 0.2 s of test pattern through the real encoder options, to the null muxer.
pub(crate) fn test_encode_args(p: &OutputProfile, encoder: &Encoder) -> Vec<OsString> {
    let mut a = os_args(["-nostdin", "-hide_banner", "-loglevel", "error", "-nostats"]);
    a.extend(hw_input_args(encoder));
    a.extend(os_args([
        "-f".to_string(),
        "lavfi".to_string(),
        "-i".to_string(),
        format!(
            "testsrc=size={}x{}:rate={}:duration=0.2",
            p.width, p.height, p.fps
        ),
    ]));
    let mut vf = vec![
        "setsar=1".to_string(),
        format!("format={}", pix_fmt(encoder)),
    ];
    vf.extend(upload_filter(encoder));
    a.extend(os_args(["-vf".to_string(), vf.join(",")]));
    a.extend(encoder_args(p, encoder));
    a.extend(os_args(["-f", "null", "-"]));
    a
}

/// The first DRM render node, where VA-API encodes.
fn render_node() -> PathBuf {
    let mut nodes: Vec<PathBuf> = std::fs::read_dir("/dev/dri")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("renderD"))
        })
        .collect();
    nodes.sort();
    nodes
        .into_iter()
        .next()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_RENDER_NODE))
}

fn candidate(hw: HwAccel) -> Option<Encoder> {
    match hw {
        HwAccel::Nvidia => Some(Encoder::Nvenc),
        HwAccel::Vaapi => Some(Encoder::Vaapi {
            device: render_node(),
        }),
        HwAccel::Qsv => Some(Encoder::Qsv),
        HwAccel::None | HwAccel::Auto => None,
    }
}

impl Ffmpeg {
    /// Picks the encoder for `hw`; a hardware encoder is used only if a tiny test encode with it succeeds, else libx264.
    pub async fn select_encoder(&self, hw: HwAccel, profile: &OutputProfile) -> Encoder {
        match hw {
            HwAccel::None => Encoder::X264,
            HwAccel::Auto => {
                for hw in [HwAccel::Nvidia, HwAccel::Vaapi, HwAccel::Qsv] {
                    let Some(enc) = candidate(hw) else { continue };
                    match self.test_encode(&enc, profile).await {
                        Ok(()) => {
                            tracing::info!("HW_ACCEL=auto: using {enc}");
                            return enc;
                        }
                        Err(e) => tracing::debug!(
                            "HW_ACCEL=auto: {} failed its test encode: {e}",
                            enc.name()
                        ),
                    }
                }
                tracing::info!(
                    "HW_ACCEL=auto: no hardware H.264 encoder works here (tried h264_nvenc, h264_vaapi, h264_qsv); using libx264 (CPU)"
                );
                Encoder::X264
            }
            HwAccel::Nvidia | HwAccel::Vaapi | HwAccel::Qsv => {
                let enc = candidate(hw).expect("a hardware choice has a candidate");
                match self.test_encode(&enc, profile).await {
                    Ok(()) => {
                        tracing::info!("HW_ACCEL={hw}: using {enc}");
                        enc
                    }
                    Err(e) => {
                        tracing::warn!(
                            "HW_ACCEL={hw} requested but {} failed its test encode ({}); falling back to libx264 (CPU)",
                            enc.name(),
                            e.cause()
                        );
                        Encoder::X264
                    }
                }
            }
        }
    }

    /// Encodes a fraction of a second with `enc` and the channel's real encoder options.
    async fn test_encode(
        &self,
        enc: &Encoder,
        profile: &OutputProfile,
    ) -> Result<(), TranscodeError> {
        if let Encoder::Vaapi { device } = enc {
            // Saves starting ffmpeg just to learn that the device is missing.
            if !Path::new(device).exists() {
                return Err(TranscodeError::Failed {
                    program: "ffmpeg".into(),
                    status: "not run".into(),
                    last_lines: format!("{} does not exist", device.display()),
                });
            }
        }
        run::run(&self.ffmpeg, &test_encode_args(profile, enc), TEST_TIMEOUT)
            .await
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::media::{ff, strings};

    fn profile() -> OutputProfile {
        OutputProfile::new(320, 180, 30, 2)
    }

    #[test]
    fn test_encode_args_use_the_real_encoder_options() {
        let p = profile();
        for enc in [
            Encoder::X264,
            Encoder::Nvenc,
            Encoder::Qsv,
            Encoder::Vaapi {
                device: "/dev/dri/renderD128".into(),
            },
        ] {
            let a = strings(&test_encode_args(&p, &enc));
            let e = strings(&encoder_args(&p, &enc));
            assert!(a.windows(e.len()).any(|w| w == e.as_slice()), "{a:?}");
            assert!(a.contains(&"testsrc=size=320x180:rate=30:duration=0.2".to_string()));
            assert_eq!(&a[a.len() - 3..], ["-f", "null", "-"]);
            assert_eq!(
                a.contains(&"-vaapi_device".to_string()),
                matches!(enc, Encoder::Vaapi { .. })
            );
        }
    }

    #[tokio::test]
    async fn x264_passes_its_own_test_encode() {
        ff().await
            .test_encode(&Encoder::X264, &profile())
            .await
            .unwrap();
    }

    /// An Ffmpeg whose test encodes succeed with the encoders in `working` only: a
    /// script stands in for ffmpeg, so what the host's GPUs would answer does
    /// not matter.
    fn answering(bin: &Path, working: &[&str]) -> Ffmpeg {
        use std::os::unix::fs::PermissionsExt;
        let script = bin.join("ffmpeg");
        let cases: String = working
            .iter()
            .map(|e| format!("case \" $* \" in *\" -c:v {e} \"*) exit 0;; esac\n"))
            .collect();
        std::fs::write(
            &script,
            format!("#!/bin/sh\n{cases}echo 'Cannot load the encoder' >&2\nexit 1\n"),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        Ffmpeg {
            ffmpeg: script,
            ffprobe: PathBuf::from("/nonexistent/ffprobe"),
            threads: None,
            nice: 0,
            stall: super::super::ffmpeg::DEFAULT_STALL_LIMIT,
            version: "fake".into(),
        }
    }

    /// Every hardware request whose test encode fails comes back as libx264, on
    /// any machine, GPU or not.
    #[tokio::test]
    async fn hardware_requests_fall_back_to_x264_when_their_test_encode_fails() {
        let bin = tempfile::tempdir().unwrap();
        let ff = answering(bin.path(), &[]);
        for hw in [
            HwAccel::None,
            HwAccel::Nvidia,
            HwAccel::Vaapi,
            HwAccel::Qsv,
            HwAccel::Auto,
        ] {
            assert_eq!(
                ff.select_encoder(hw, &profile()).await,
                Encoder::X264,
                "{hw}"
            );
        }
    }

    /// A hardware encoder whose test encode works is used: the one asked for, or
    /// with `auto` the first that works of NVENC, VA-API and QSV. (VA-API's own
    /// success is not shown: it also needs the host's render node.)
    #[tokio::test]
    async fn a_gpu_encoder_is_chosen_when_its_test_encode_works() {
        let bin = tempfile::tempdir().unwrap();
        let p = profile();
        let ff = answering(bin.path(), &["h264_nvenc", "h264_qsv"]);
        assert_eq!(ff.select_encoder(HwAccel::Nvidia, &p).await, Encoder::Nvenc);
        assert_eq!(ff.select_encoder(HwAccel::Qsv, &p).await, Encoder::Qsv);
        assert_eq!(ff.select_encoder(HwAccel::Auto, &p).await, Encoder::Nvenc);
        assert_eq!(ff.select_encoder(HwAccel::None, &p).await, Encoder::X264);
        let ff = answering(bin.path(), &["h264_qsv"]);
        assert_eq!(ff.select_encoder(HwAccel::Auto, &p).await, Encoder::Qsv);
        assert_eq!(ff.select_encoder(HwAccel::Nvidia, &p).await, Encoder::X264);
    }

    #[test]
    fn levels() {
        let l = |w, h, fps| h264_level(&OutputProfile::new(w, h, fps, 2));
        assert_eq!(l(640, 360, 30), "4.1");
        assert_eq!(l(1280, 720, 60), "4.1");
        assert_eq!(l(1920, 1080, 30), "4.1");
        assert_eq!(l(1920, 1080, 60), "4.2");
        assert_eq!(l(2560, 1440, 30), "5.1");
        assert_eq!(l(3840, 2160, 30), "5.1");
        assert_eq!(l(3840, 2160, 60), "5.2");
    }

    #[tokio::test]
    async fn fingerprint_follows_the_codec_parameters() {
        let ff = Ffmpeg::locate().await.unwrap();
        let p = OutputProfile::new(1280, 720, 30, 6);
        let a = ff.clip_fingerprint(&p, &Encoder::X264);
        assert_eq!(a.len(), 16);
        assert_eq!(a, ff.clip_fingerprint(&p, &Encoder::X264));
        assert_ne!(a, ff.clip_fingerprint(&p, &Encoder::Nvenc));
        let q = OutputProfile {
            video_kbps: 2000,
            ..p
        };
        assert_ne!(a, ff.clip_fingerprint(&q, &Encoder::X264));
    }
}
