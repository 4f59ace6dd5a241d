//! What can go wrong when running ffmpeg or ffprobe: [`TranscodeError`], and how
//! to tell a full disk and the root cause of a failed run from it.

use std::path::PathBuf;

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

    /// The root cause in one line: for a failed run, ffmpeg's first stderr line
    /// (ffmpeg prints the cause first, then generic follow-ups), without its
    /// `[component @ 0x...]` prefix.
    pub fn cause(&self) -> String {
        match self {
            TranscodeError::Failed {
                status, last_lines, ..
            } => last_lines
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .map(|l| match l.split_once("] ") {
                    Some((prefix, rest)) if prefix.starts_with('[') && prefix.contains(" @ ") => {
                        rest
                    }
                    _ => l,
                })
                .map(str::to_string)
                .unwrap_or_else(|| status.clone()),
            other => other.to_string(),
        }
    }

    /// A filesystem or pipe error, saying what was being done.
    pub(super) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        TranscodeError::Io {
            context: context.into(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_full_is_told_by_the_error_number_or_by_ffmpeg_s_words() {
        let io = |e: std::io::Error| TranscodeError::io("writing x", e);
        assert!(io(std::io::Error::from_raw_os_error(libc::ENOSPC)).is_disk_full());
        assert!(io(std::io::Error::from_raw_os_error(libc::EDQUOT)).is_disk_full());
        assert!(!io(std::io::Error::from_raw_os_error(libc::EACCES)).is_disk_full());
        let failed = |last_lines: &str| TranscodeError::Failed {
            program: "ffmpeg".into(),
            status: "exit status: 1".into(),
            last_lines: last_lines.into(),
        };
        assert!(failed("av_interleaved_write_frame(): No space left on device").is_disk_full());
        assert!(!failed("a.mp4: Invalid data found when processing input").is_disk_full());
        assert!(
            !TranscodeError::Stalled {
                program: "ffmpeg".into(),
                secs: 5
            }
            .is_disk_full()
        );
    }

    #[test]
    fn cause_is_the_first_line_without_prefix() {
        let e = TranscodeError::Failed {
            program: "ffmpeg".into(),
            status: "exit status: 1".into(),
            last_lines: "[h264_nvenc @ 0x5608] Cannot load libcuda.so.1\nError initializing output stream 0:0".into(),
        };
        assert_eq!(e.cause(), "Cannot load libcuda.so.1");
        let e = TranscodeError::Failed {
            program: "ffmpeg".into(),
            status: "exit status: 1".into(),
            last_lines: "a.mp4: Invalid data found when processing input".into(),
        };
        assert_eq!(e.cause(), "a.mp4: Invalid data found when processing input");
    }
}
