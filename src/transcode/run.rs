//! Running one process to completion, and writing outputs under temporary names.

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::process::Command;

use super::TranscodeError;

/// Processes run to an end, and those that failed (non-zero exit or timeout), for
/// the metrics.
pub(crate) static RUNS: AtomicU64 = AtomicU64::new(0);
pub(crate) static FAILURES: AtomicU64 = AtomicU64::new(0);

/// How many stderr lines an error keeps.
const TAIL_LINES: usize = 20;
/// Longer stderr lines are cut: one line must not blow up an error message.
const MAX_LINE: usize = 400;
/// ffprobe's JSON is small; anything bigger is a runaway and is dropped, not buffered.
const MAX_STDOUT: usize = 16 << 20;

/// The name errors use for `program`: its file name.
pub(crate) fn program_name(program: &Path) -> String {
    program
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| program.to_string_lossy().into_owned())
}

/// An input or output path as an ffmpeg argument.
///
/// The `file:` prefix keeps ffmpeg from reading a name such as `-x.mp4` as an option
/// or `concat:a|b` / `http:x` as a protocol.
pub(crate) fn file_arg(path: &Path) -> OsString {
    let mut s = OsString::from("file:");
    s.push(path.as_os_str());
    s
}

/// Runs `program args` without a shell and with stdin closed, draining both pipes.
///
/// Returns stdout. Fails with `Failed` (last stderr lines included) on a non-zero exit
/// or after `limit`, and with `NotInstalled` when the program cannot be started.
/// Dropping the future kills the process.
pub(crate) async fn run(
    program: &Path,
    args: &[OsString],
    limit: Duration,
) -> Result<Vec<u8>, TranscodeError> {
    run_nice(program, args, limit, 0).await
}

/// [`run`], with the process at scheduling niceness `nice` (0: as ours; higher: it
/// yields the CPU to the live engine and to more urgent encodes).
pub(crate) async fn run_nice(
    program: &Path,
    args: &[OsString],
    limit: Duration,
    nice: i32,
) -> Result<Vec<u8>, TranscodeError> {
    run_lines(program, args, limit, nice, &mut |_| {}).await
}

/// [`run_nice`], also handing each stdout line to `on_line` as it arrives (ffmpeg's
/// `-progress pipe:1` output, for live progress).
pub(crate) async fn run_lines(
    program: &Path,
    args: &[OsString],
    limit: Duration,
    nice: i32,
    on_line: &mut (dyn FnMut(&str) + Send),
) -> Result<Vec<u8>, TranscodeError> {
    run_full(program, args, limit, nice, on_line)
        .await
        .map(|(out, _)| out)
}

/// [`run_nice`], returning the last lines of stderr too (what ffmpeg reports at the
/// end of a run, e.g. loudnorm's measurement).
pub(crate) async fn run_stderr_tail(
    program: &Path,
    args: &[OsString],
    limit: Duration,
    nice: i32,
) -> Result<Vec<String>, TranscodeError> {
    run_full(program, args, limit, nice, &mut |_| {})
        .await
        .map(|(_, tail)| tail.into())
}

async fn run_full(
    program: &Path,
    args: &[OsString],
    limit: Duration,
    nice: i32,
    on_line: &mut (dyn FnMut(&str) + Send),
) -> Result<(Vec<u8>, VecDeque<String>), TranscodeError> {
    let name = program_name(program);
    let mut command = Command::new(program);
    // A process group of its own: Ctrl-C in a terminal goes to the whole foreground
    // group, and an ffmpeg that got it would fail its encode (and the source would be
    // set aside as broken) before our graceful stop cancels it on purpose.
    #[cfg(unix)]
    command.process_group(0);
    #[cfg(unix)]
    if nice > 0 {
        // SAFETY: the closure runs in the child between fork and exec, and only calls
        // setpriority(2), which is async-signal-safe; its result is deliberately
        // ignored (a child that keeps our priority is slower to yield, not wrong).
        unsafe {
            command.pre_exec(move || {
                libc::setpriority(libc::PRIO_PROCESS, 0, nice);
                Ok(())
            });
        }
    }
    let mut child = command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| match e.kind() {
            ErrorKind::NotFound | ErrorKind::PermissionDenied => TranscodeError::NotInstalled {
                program: name.clone(),
            },
            _ => TranscodeError::io(format!("starting {}", program.display()), e),
        })?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let stderr = child.stderr.take().expect("stderr is piped");

    let mut out = Vec::new();
    let mut tail = VecDeque::with_capacity(TAIL_LINES);
    let finished = tokio::time::timeout(limit, async {
        let (status, o, e) = tokio::join!(
            child.wait(),
            read_capped(stdout, &mut out, on_line),
            drain_stderr(stderr, &name, &mut tail)
        );
        o.and(e).and(status)
    })
    .await;

    RUNS.fetch_add(1, Ordering::Relaxed);
    let status = match finished {
        Ok(Ok(status)) => status,
        Ok(Err(e)) => return Err(TranscodeError::io(format!("running {name}"), e)),
        Err(_) => {
            // kill() also reaps it, so no zombie is left behind.
            let _ = child.kill().await;
            FAILURES.fetch_add(1, Ordering::Relaxed);
            return Err(TranscodeError::Failed {
                program: name,
                status: format!("timed out after {} s", limit.as_secs()),
                last_lines: join_tail(&tail),
            });
        }
    };
    if status.success() {
        Ok((out, tail))
    } else {
        FAILURES.fetch_add(1, Ordering::Relaxed);
        Err(TranscodeError::Failed {
            program: name,
            status: status.to_string(),
            last_lines: join_tail(&tail),
        })
    }
}

async fn read_capped(
    mut r: impl AsyncRead + Unpin,
    out: &mut Vec<u8>,
    on_line: &mut (dyn FnMut(&str) + Send),
) -> std::io::Result<()> {
    let mut buf = [0u8; 8192];
    let mut line = Vec::new();
    loop {
        let n = r.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        if out.len() + n <= MAX_STDOUT {
            out.extend_from_slice(&buf[..n]);
        }
        for &b in &buf[..n] {
            if b == b'\n' {
                on_line(String::from_utf8_lossy(&line).trim_end());
                line.clear();
            } else if line.len() < MAX_LINE {
                line.push(b);
            }
        }
    }
}

async fn drain_stderr(
    r: impl AsyncRead + Unpin,
    name: &str,
    tail: &mut VecDeque<String>,
) -> std::io::Result<()> {
    let mut r = BufReader::new(r);
    let mut raw = Vec::new();
    loop {
        raw.clear();
        // Not lines(): ffmpeg may print file names that are not UTF-8.
        if r.read_until(b'\n', &mut raw).await? == 0 {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&raw);
        // Progress lines end in '\r' rather than '\n'.
        for line in text.split(['\r', '\n']).map(str::trim_end) {
            if line.is_empty() {
                continue;
            }
            tracing::debug!(program = name, "{line}");
            if tail.len() == TAIL_LINES {
                tail.pop_front();
            }
            tail.push_back(cut(line, MAX_LINE));
        }
    }
}

fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

fn join_tail(tail: &VecDeque<String>) -> String {
    if tail.is_empty() {
        "(nothing on stderr)".to_string()
    } else {
        tail.iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// The root cause of an error in one line: for `Failed`, the first stderr line
/// (ffmpeg prints the cause first, then generic follow-ups), without its
/// `[component @ 0x...]` prefix.
pub(crate) fn cause(e: &TranscodeError) -> String {
    match e {
        TranscodeError::Failed {
            status, last_lines, ..
        } => last_lines
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .map(|l| match l.split_once("] ") {
                Some((prefix, rest)) if prefix.starts_with('[') && prefix.contains(" @ ") => rest,
                _ => l,
            })
            .map(str::to_string)
            .unwrap_or_else(|| status.clone()),
        other => other.to_string(),
    }
}

/// A hidden temporary file beside a target path, removed on drop unless committed.
pub(crate) struct TempOut {
    tmp: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl TempOut {
    /// Reserves `.<name>.<pid>-<n>.part` beside `target`, creating the directory if needed.
    pub(crate) async fn beside(target: &Path) -> Result<TempOut, TranscodeError> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let name = target.file_name().ok_or_else(|| {
            TranscodeError::io(
                format!("output path {} has no file name", target.display()),
                ErrorKind::InvalidInput.into(),
            )
        })?;
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|e| TranscodeError::io(format!("creating {}", dir.display()), e))?;
        let mut tmp_name = OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(
            ".{}-{}.part",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        Ok(TempOut {
            tmp: dir.join(tmp_name),
            target: target.to_path_buf(),
            committed: false,
        })
    }

    /// The temporary path to write to.
    pub(crate) fn path(&self) -> &Path {
        &self.tmp
    }

    /// Renames the temporary file to the target.
    pub(crate) async fn commit(mut self) -> Result<(), TranscodeError> {
        tokio::fs::rename(&self.tmp, &self.target)
            .await
            .map_err(|e| {
                TranscodeError::io(
                    format!(
                        "renaming {} to {}",
                        self.tmp.display(),
                        self.target.display()
                    ),
                    e,
                )
            })?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for TempOut {
    fn drop(&mut self) {
        if !self.committed {
            // Synchronous on purpose: Drop cannot await, and unlinking one file is quick.
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// `OsString`s from string literals and formatted values, for argument lists.
pub(crate) fn os_args<I, S>(args: I) -> Vec<OsString>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    args.into_iter()
        .map(|a| a.as_ref().to_os_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn missing_program_is_not_installed() {
        let err = run(
            Path::new("/nonexistent/ffmpeg-nope"),
            &[],
            Duration::from_secs(5),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(&err, TranscodeError::NotInstalled { program } if program == "ffmpeg-nope"),
            "{err:?}"
        );
        assert!(err.to_string().contains("apt-get install ffmpeg"), "{err}");
    }

    #[tokio::test]
    async fn failure_keeps_the_last_stderr_lines() {
        // A shell here is test scaffolding only: it stands in for a noisy failing ffmpeg.
        let script = "i=0; while [ $i -lt 5000 ]; do echo \"line $i\" >&2; i=$((i+1)); done; echo out; exit 3";
        let err = run(
            Path::new("/bin/sh"),
            &os_args(["-c", script]),
            Duration::from_secs(30),
        )
        .await
        .unwrap_err();
        match err {
            TranscodeError::Failed {
                program,
                status,
                last_lines,
            } => {
                assert_eq!(program, "sh");
                assert!(status.contains('3'), "{status}");
                let lines: Vec<_> = last_lines.lines().collect();
                assert_eq!(lines.len(), TAIL_LINES);
                assert_eq!(lines.last(), Some(&"line 4999"));
                assert_eq!(lines.first(), Some(&"line 4980"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn big_outputs_on_both_pipes_do_not_block() {
        // Far more than a pipe buffer on both pipes at once: only works if both are drained.
        let script = "head -c 3000000 /dev/zero | tr '\\0' 'x'; head -c 3000000 /dev/zero | tr '\\0' '\\n' >&2";
        let out = run(
            Path::new("/bin/sh"),
            &os_args(["-c", script]),
            Duration::from_secs(30),
        )
        .await
        .unwrap();
        assert_eq!(out.len(), 3_000_000);
    }

    #[test]
    fn cause_is_the_first_line_without_prefix() {
        let e = TranscodeError::Failed {
            program: "ffmpeg".into(),
            status: "exit status: 1".into(),
            last_lines: "[h264_nvenc @ 0x5608] Cannot load libcuda.so.1\nError initializing output stream 0:0".into(),
        };
        assert_eq!(cause(&e), "Cannot load libcuda.so.1");
        let e = TranscodeError::Failed {
            program: "ffmpeg".into(),
            status: "exit status: 1".into(),
            last_lines: "a.mp4: Invalid data found when processing input".into(),
        };
        assert_eq!(cause(&e), "a.mp4: Invalid data found when processing input");
    }

    #[tokio::test]
    async fn timeout_kills() {
        let started = std::time::Instant::now();
        let err = run(
            Path::new("/bin/sleep"),
            &os_args(["30"]),
            Duration::from_millis(300),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(err, TranscodeError::Failed { ref status, .. } if status.contains("timed out"))
        );
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn temp_out_is_removed_unless_committed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("sub/out.ts");
        let t = TempOut::beside(&target).await.unwrap();
        let name = t.path().file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with(".out.ts.") && name.ends_with(".part"),
            "{name}"
        );
        std::fs::write(t.path(), b"x").unwrap();
        let tmp = t.path().to_path_buf();
        drop(t);
        assert!(!tmp.exists());

        let t = TempOut::beside(&target).await.unwrap();
        std::fs::write(t.path(), b"y").unwrap();
        t.commit().await.unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"y");
    }

    #[tokio::test]
    async fn run_nice_lowers_the_child_priority() {
        // `nice` with no arguments prints its own niceness (coreutils).
        let out = run_nice(Path::new("nice"), &[], Duration::from_secs(10), 7)
            .await
            .unwrap();
        let ours: i32 = String::from_utf8_lossy(
            &run(Path::new("nice"), &[], Duration::from_secs(10))
                .await
                .unwrap(),
        )
        .trim()
        .parse()
        .unwrap();
        let child: i32 = String::from_utf8_lossy(&out).trim().parse().unwrap();
        // Absolute niceness 7; a process already nicer than that (not root) stays as it is.
        assert!(
            child == 7 || (ours > 7 && child == ours),
            "child {child}, ours {ours}"
        );
    }
}
