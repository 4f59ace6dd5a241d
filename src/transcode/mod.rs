//! The only module of the crate that spawns processes: ffmpeg and ffprobe.
//!
//! Everything the channel airs is encoded here, once, ahead of time, to one
//! [`OutputProfile`] with one [`Encoder`], so that the splicer can join clips
//! without re-encoding. That only works if every clip carries byte-identical
//! SPS/PPS and starts on an IDR frame: [`clip_args`] is where that is decided.
//!
//! Processes never go through a shell, never read stdin, are killed (and reaped)
//! when their future is dropped, die with the server even when it is killed, and
//! have both pipes drained while they run (see `run.rs`).
//! Outputs are written under a hidden temporary name beside the target and renamed
//! on success, so a half-written file never exists under its real name.

mod clip;
pub mod demo;
mod encoder;
mod look;
mod music;
pub mod picture;
mod probe;
mod remux;
mod run;
pub mod verify;

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

pub use clip::{ClipRequest, EncodeProgress, Fix, clip_args, h264_level};
pub use demo::{DemoLibrary, make_demo_library, make_first_demo_video};
pub use look::{ColorGrade, Look, ParseColorGradeError, ParseWatermarkError, WatermarkMode};
pub use music::{DEFAULT_MUSIC_LUFS, MUSIC_SAMPLE_RATE};
pub use probe::{ColorTags, ProbeInfo};

/// ffmpeg and ffprobe runs that ended since start, and how many of them failed.
pub fn process_counts() -> (u64, u64) {
    use std::sync::atomic::Ordering;
    (
        run::RUNS.load(Ordering::Relaxed),
        run::FAILURES.load(Ordering::Relaxed),
    )
}

pub use run::{remove_partials, stop_children};

/// What can go wrong when running ffmpeg or ffprobe.
#[derive(Debug, thiserror::Error)]
pub enum TranscodeError {
    /// ffmpeg or ffprobe is missing or does not start.
    #[error(
        "{program} is not installed or does not run: install it with: sudo apt-get install ffmpeg (Debian/Ubuntu), brew install ffmpeg (macOS)"
    )]
    NotInstalled {
        /// The program that was looked for ("ffmpeg" or "ffprobe").
        program: String,
    },
    /// The process ran and failed.
    #[error("{program} failed ({status}): {last_lines}")]
    Failed {
        /// The program that failed ("ffmpeg" or "ffprobe").
        program: String,
        /// Its exit status, or why it was stopped.
        status: String,
        /// The last lines it wrote to stderr (or what was wrong with its result).
        last_lines: String,
    },
    /// The process wrote no new frame for `secs` seconds (a hung decoder, a source
    /// on a network share that stopped answering) and was killed.
    #[error("{program} made no progress for {secs} s: killed")]
    Stalled {
        /// The program that was killed.
        program: String,
        /// How long it went without progress.
        secs: u64,
    },
    /// The file is not a usable video (or audio, for music).
    #[error("{}: not usable: {reason}", path.display())]
    Unusable {
        /// The file that was probed.
        path: PathBuf,
        /// Why it cannot be used.
        reason: String,
    },
    /// The clip came out with other H.264 parameter sets than the channel's
    /// reference, even after a correction: it cannot be spliced without a
    /// discontinuity, so it is not kept.
    #[error(
        "its clip's H.264 parameters differ from the channel's ({})",
        crate::media::params::describe(diffs)
    )]
    Mismatch {
        /// The fields that differ.
        diffs: Vec<crate::media::params::FieldDiff>,
    },
    /// A filesystem or pipe operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// Whether an IO error is a full disk: ENOSPC, or EDQUOT (a quota).
pub fn is_disk_full_io(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT))
        || matches!(
            e.kind(),
            std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
        )
}

impl TranscodeError {
    /// Whether this failed because a disk was full: an IO error with ENOSPC (or
    /// EDQUOT, a quota), or ffmpeg saying so on stderr (it reports a write that
    /// failed in words, "No space left on device", not with an error number).
    /// Nothing is wrong with the source then, and it is worth retrying once space
    /// is freed.
    pub fn is_disk_full(&self) -> bool {
        const SIGNS: [&str; 2] = ["No space left on device", "Disk quota exceeded"];
        let says = |text: &str| SIGNS.iter().any(|s| text.contains(s));
        match self {
            TranscodeError::Io { context, source } => {
                is_disk_full_io(source) || says(context) || says(&source.to_string())
            }
            TranscodeError::Failed {
                status, last_lines, ..
            } => says(last_lines) || says(status),
            _ => false,
        }
    }

    /// The root cause in one line: for a failed run, ffmpeg's first stderr line.
    pub fn cause(&self) -> String {
        run::cause(self)
    }

    fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        TranscodeError::Io {
            context: context.into(),
            source,
        }
    }
}

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

/// The located ffmpeg and ffprobe programs, and how many threads they may use.
#[derive(Clone, Debug)]
pub struct Ffmpeg {
    ffmpeg: PathBuf,
    ffprobe: PathBuf,
    threads: Option<u32>,
    nice: i32,
    stall: Duration,
    version: String,
}

/// How long an encode may go without writing a frame, unless told otherwise
/// ([`Ffmpeg::with_stall_limit`], `ENCODE_STALL_SECS`).
pub const DEFAULT_STALL_LIMIT: Duration = Duration::from_secs(60);

/// How long `-version` may take before the program is deemed not to run.
const VERSION_TIMEOUT: Duration = Duration::from_secs(20);

impl Ffmpeg {
    /// Finds ffmpeg and ffprobe on PATH and checks that they run (`-version`).
    pub async fn locate() -> Result<Ffmpeg, TranscodeError> {
        Self::locate_with(None, None).await
    }

    /// Like [`Ffmpeg::locate`], but uses the given paths where given.
    pub async fn locate_with(
        ffmpeg: Option<&Path>,
        ffprobe: Option<&Path>,
    ) -> Result<Ffmpeg, TranscodeError> {
        let ffmpeg = resolve(ffmpeg, "ffmpeg")?;
        let ffprobe = resolve(ffprobe, "ffprobe")?;
        let (a, b) = tokio::join!(check_runs(&ffmpeg), check_runs(&ffprobe));
        let version = a?;
        b?;
        tracing::debug!(ffmpeg = %ffmpeg.display(), ffprobe = %ffprobe.display(), %version, "found ffmpeg");
        Ok(Ffmpeg {
            ffmpeg,
            ffprobe,
            threads: None,
            nice: 0,
            stall: DEFAULT_STALL_LIMIT,
            version,
        })
    }

    /// Limits every ffmpeg run to `threads` threads (decoder, filters and encoder), to leave room for the rest.
    pub fn with_threads(mut self, threads: u32) -> Self {
        self.threads = Some(threads.max(1));
        self
    }

    /// Runs every encode of this handle at scheduling niceness `nice` (0 to 19), so
    /// background work yields the CPU to the live engine and to urgent encodes.
    pub fn with_nice(mut self, nice: i32) -> Self {
        self.nice = nice.clamp(0, 19);
        self
    }

    /// Kills an encode whose frame count has not grown for `limit` (it then fails
    /// with [`TranscodeError::Stalled`]); the total time limit applies as well.
    pub fn with_stall_limit(mut self, limit: Duration) -> Self {
        self.stall = limit.max(Duration::from_millis(100));
        self
    }

    /// The no-progress limit of encodes ([`Ffmpeg::with_stall_limit`]).
    pub fn stall_limit(&self) -> Duration {
        self.stall
    }

    /// The thread limit set by [`Ffmpeg::with_threads`], if any.
    pub fn threads(&self) -> Option<u32> {
        self.threads
    }

    /// The path of ffmpeg.
    pub fn ffmpeg_path(&self) -> &Path {
        &self.ffmpeg
    }

    /// The path of ffprobe.
    pub fn ffprobe_path(&self) -> &Path {
        &self.ffprobe
    }

    /// The first line of `ffmpeg -version`, e.g. "ffmpeg version 5.1.9-0+deb12u1 ...".
    pub fn version(&self) -> &str {
        &self.version
    }

    /// A short stable tag of everything that decides the clips' codec parameters
    /// (ffmpeg version, encoder, profile): clips cached under another tag must not be spliced with these.
    pub fn clip_fingerprint(&self, profile: &OutputProfile, encoder: &Encoder) -> String {
        let mut key = Vec::new();
        key.extend_from_slice(self.version.as_bytes());
        key.extend_from_slice(format!("{profile:?}").as_bytes());
        for a in &clip::encoder_args(profile, encoder) {
            key.extend_from_slice(a.as_encoded_bytes());
            key.push(0);
        }
        format!("{:016x}", fnv1a(&key))
    }
}

/// FNV-1a, 64-bit: stable across Rust releases (std's hasher is not), for the tags
/// and names that are persisted.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// A stable hash of the file `path` as it is now (its path, size and modification
/// time in whole seconds) and of `shaping`, whatever else shapes an output made
/// from it: the name of that output in a cache, so an edited file is made again and
/// an unchanged one never is. A file that cannot be read counts as empty.
pub fn file_stamp(path: &Path, shaping: &str) -> u64 {
    let m = std::fs::metadata(path).ok();
    let len = m.as_ref().map_or(0, |m| m.len());
    let secs = m
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    let key = format!("{}\u{0}{len}\u{0}{secs}\u{0}{shaping}", path.display());
    fnv1a(key.as_bytes())
}

fn resolve(given: Option<&Path>, program: &str) -> Result<PathBuf, TranscodeError> {
    if let Some(p) = given {
        return Ok(p.to_path_buf());
    }
    let not_installed = || TranscodeError::NotInstalled {
        program: program.to_string(),
    };
    let path = std::env::var_os("PATH").ok_or_else(not_installed)?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| is_executable(p))
        .ok_or_else(not_installed)
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Runs `program -version`; a program that starts but fails is as good as not installed.
async fn check_runs(program: &Path) -> Result<String, TranscodeError> {
    let name = run::program_name(program);
    match run::run(program, &["-version".into()], VERSION_TIMEOUT).await {
        Ok(out) => Ok(String::from_utf8_lossy(&out)
            .lines()
            .next()
            .unwrap_or_default()
            .to_string()),
        Err(TranscodeError::Failed {
            status, last_lines, ..
        }) => {
            tracing::warn!(program = %program.display(), %status, "`{name} -version` failed: {last_lines}");
            Err(TranscodeError::NotInstalled { program: name })
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_and_file_stamps_are_stable() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        // Persisted names: the same file and shaping give the same stamp; another
        // size or shaping another.
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.svg");
        std::fs::write(&p, b"one").unwrap();
        let a = file_stamp(&p, "x");
        assert_eq!(a, file_stamp(&p, "x"));
        assert_ne!(a, file_stamp(&p, "y"));
        std::fs::write(&p, b"three").unwrap();
        assert_ne!(a, file_stamp(&p, "x"));
    }

    #[tokio::test]
    async fn locates_ffmpeg() {
        let ff = Ffmpeg::locate().await.unwrap();
        assert!(ff.ffmpeg_path().is_absolute());
        assert!(ff.ffprobe_path().ends_with("ffprobe"));
        assert!(
            ff.version().starts_with("ffmpeg version"),
            "{}",
            ff.version()
        );
        assert_eq!(ff.threads(), None);
        assert_eq!(ff.with_threads(0).threads(), Some(1));
    }

    #[tokio::test]
    async fn missing_or_broken_programs_are_not_installed() {
        let missing = Ffmpeg::locate_with(Some(Path::new("/nonexistent/ffmpeg")), None).await;
        assert!(
            matches!(&missing, Err(TranscodeError::NotInstalled { program }) if program == "ffmpeg"),
            "{missing:?}"
        );
        // Runs, but `-version` fails.
        let broken = Ffmpeg::locate_with(None, Some(Path::new("/bin/false"))).await;
        assert!(
            matches!(&broken, Err(TranscodeError::NotInstalled { program }) if program == "false"),
            "{broken:?}"
        );
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
