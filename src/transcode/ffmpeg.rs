//! The located ffmpeg and ffprobe programs ([`Ffmpeg`]): where they are, which
//! version, how many threads and what priority their runs get; and the stable
//! hashes ([`fnv1a`], [`file_stamp`]) that name what they make in caches.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::error::TranscodeError;
use super::run;

/// The located ffmpeg and ffprobe programs, and how many threads they may use.
#[derive(Clone, Debug)]
pub struct Ffmpeg {
    pub(super) ffmpeg: PathBuf,
    pub(super) ffprobe: PathBuf,
    pub(super) threads: Option<u32>,
    pub(super) nice: i32,
    pub(super) stall: Duration,
    pub(super) version: String,
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
}
