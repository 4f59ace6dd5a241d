//! Choosing the H.264 encoder: hardware only when it proves it works.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::clip::{encoder_args, hw_input_args, pix_fmt, upload_filter};
use super::run::{self, os_args};
use super::{Encoder, Ffmpeg, HwAccel, OutputProfile, TranscodeError};

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
                            run::cause(&e)
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
    use crate::testkit::media::ff;

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
            let a: Vec<String> = test_encode_args(&p, &enc)
                .iter()
                .map(|s| s.to_string_lossy().into_owned())
                .collect();
            let e: Vec<String> = encoder_args(&p, &enc)
                .iter()
                .map(|s| s.to_string_lossy().into_owned())
                .collect();
            assert!(a.windows(e.len()).any(|w| w == e.as_slice()), "{a:?}");
            assert!(a.contains(&"testsrc=size=320x180:rate=30:duration=0.2".to_string()));
            assert_eq!(&a[a.len() - 3..], ["-f", "null", "-"]);
            assert_eq!(
                a.contains(&"-vaapi_device".to_string()),
                matches!(enc, Encoder::Vaapi { .. })
            );
        }
    }

    #[test]
    fn parses_hw_accel() {
        assert_eq!("NVIDIA".parse::<HwAccel>(), Ok(HwAccel::Nvidia));
        assert_eq!(" vaapi ".parse::<HwAccel>(), Ok(HwAccel::Vaapi));
        assert_eq!("Qsv".parse::<HwAccel>(), Ok(HwAccel::Qsv));
        assert_eq!("auto".parse::<HwAccel>(), Ok(HwAccel::Auto));
        assert_eq!("none".parse::<HwAccel>(), Ok(HwAccel::None));
        assert_eq!("".parse::<HwAccel>(), Ok(HwAccel::None));
        let err = "cuda".parse::<HwAccel>().unwrap_err().to_string();
        assert!(
            err.contains("\"cuda\"") && err.contains("none, nvidia, vaapi, qsv, auto"),
            "{err}"
        );
        assert_eq!(
            HwAccel::Vaapi.to_string().parse::<HwAccel>(),
            Ok(HwAccel::Vaapi)
        );
    }

    #[tokio::test]
    async fn x264_passes_its_own_test_encode() {
        ff().await
            .test_encode(&Encoder::X264, &profile())
            .await
            .unwrap();
    }

    /// Without the device, every hardware request must come back as libx264
    /// (each check is skipped where the machine has the device).
    #[tokio::test]
    async fn hardware_requests_fall_back_to_x264_without_a_gpu() {
        let ff = ff().await;
        let p = profile();
        let nvidia = Path::new("/dev/nvidia0").exists();
        let dri = Path::new("/dev/dri").exists();
        assert_eq!(ff.select_encoder(HwAccel::None, &p).await, Encoder::X264);
        if !nvidia {
            assert_eq!(ff.select_encoder(HwAccel::Nvidia, &p).await, Encoder::X264);
        }
        if !dri {
            assert_eq!(ff.select_encoder(HwAccel::Vaapi, &p).await, Encoder::X264);
            assert_eq!(ff.select_encoder(HwAccel::Qsv, &p).await, Encoder::X264);
        }
        if !nvidia && !dri {
            assert_eq!(ff.select_encoder(HwAccel::Auto, &p).await, Encoder::X264);
        }
    }
}
