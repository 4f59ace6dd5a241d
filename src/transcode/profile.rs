//! What clips are encoded to: the hardware asked for ([`HwAccel`]), the encoder
//! used ([`Encoder`]) and the channel's [`OutputProfile`].

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// The hardware acceleration asked for (`HW_ACCEL`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum HwAccel {
    /// CPU only: libx264.
    #[default]
    None,
    /// NVIDIA NVENC (h264_nvenc).
    Nvidia,
    /// VA-API (h264_vaapi), e.g. Intel or AMD on Linux.
    Vaapi,
    /// Intel Quick Sync (h264_qsv).
    Qsv,
    /// Try nvidia, vaapi and qsv in turn, else the CPU.
    Auto,
}

/// An unknown `HW_ACCEL` value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid hardware acceleration {0:?}: valid values are none, nvidia, vaapi, qsv, auto")]
pub struct ParseHwAccelError(
    /// The rejected value.
    pub String,
);

impl FromStr for HwAccel {
    type Err = ParseHwAccelError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // An empty value is what `HW_ACCEL=` in a .env file gives: treat it as unset.
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "none" => Ok(HwAccel::None),
            "nvidia" => Ok(HwAccel::Nvidia),
            "vaapi" => Ok(HwAccel::Vaapi),
            "qsv" => Ok(HwAccel::Qsv),
            "auto" => Ok(HwAccel::Auto),
            _ => Err(ParseHwAccelError(s.to_string())),
        }
    }
}

impl fmt::Display for HwAccel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HwAccel::None => "none",
            HwAccel::Nvidia => "nvidia",
            HwAccel::Vaapi => "vaapi",
            HwAccel::Qsv => "qsv",
            HwAccel::Auto => "auto",
        })
    }
}

/// The H.264 encoder actually used.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Encoder {
    /// libx264 on the CPU.
    #[default]
    X264,
    /// h264_nvenc on an NVIDIA GPU.
    Nvenc,
    /// h264_vaapi on the given DRM render node.
    Vaapi {
        /// The render node, e.g. /dev/dri/renderD128.
        device: PathBuf,
    },
    /// h264_qsv on Intel Quick Sync.
    Qsv,
}

impl Encoder {
    /// ffmpeg's name of the encoder ("libx264", "h264_nvenc", ...).
    pub fn name(&self) -> &'static str {
        match self {
            Encoder::X264 => "libx264",
            Encoder::Nvenc => "h264_nvenc",
            Encoder::Vaapi { .. } => "h264_vaapi",
            Encoder::Qsv => "h264_qsv",
        }
    }
}

impl fmt::Display for Encoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Encoder::X264 => f.write_str("libx264 (CPU)"),
            Encoder::Nvenc => f.write_str("h264_nvenc (NVIDIA)"),
            Encoder::Vaapi { device } => write!(f, "h264_vaapi ({})", device.display()),
            Encoder::Qsv => f.write_str("h264_qsv (Intel Quick Sync)"),
        }
    }
}

/// The channel's output profile: every clip is encoded to exactly this.
///
/// Width and height must be even (4:2:0 chroma).
#[derive(Clone, Debug, PartialEq)]
pub struct OutputProfile {
    /// Frame width in pixels.
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// Frames per second (constant).
    pub fps: u32,
    /// Frames between IDR frames: segment duration × fps.
    pub gop_frames: u32,
    /// Video bitrate cap in kb/s.
    pub video_kbps: u32,
}

impl OutputProfile {
    /// Default video bitrate cap in kb/s.
    pub const DEFAULT_VIDEO_KBPS: u32 = 3000;

    /// A short, stable description of what clips made with this profile and
    /// `encoder` look like, e.g. `1280x720@30 gop60 3000k libx264`: clips with
    /// different keys cannot be spliced into one stream without a discontinuity.
    pub fn key(&self, encoder: &Encoder) -> String {
        format!(
            "{}x{}@{} gop{} {}k {}",
            self.width,
            self.height,
            self.fps,
            self.gop_frames,
            self.video_kbps,
            encoder.name()
        )
    }

    /// A profile with one IDR frame per `segment_secs` and the default bitrate cap.
    pub fn new(width: u32, height: u32, fps: u32, segment_secs: u32) -> Self {
        OutputProfile {
            width,
            height,
            fps,
            gop_frames: segment_secs * fps,
            video_kbps: Self::DEFAULT_VIDEO_KBPS,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
