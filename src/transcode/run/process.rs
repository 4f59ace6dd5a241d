//! One process run to its end: no shell, stdin closed, both pipes drained while
//! it runs, killed after its time limit or when it stops making progress, and an
//! error that keeps the last lines it wrote to stderr.

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::io::ErrorKind;
use std::path::Path;
use std::process::ExitStatus;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::sync::watch;

use super::children::{self, Owned, STOP, Slot};
use crate::transcode::error::TranscodeError;

/// Processes run to an end, and those that failed (non-zero exit or timeout), for
/// the metrics.
static RUNS: AtomicU64 = AtomicU64::new(0);
static FAILURES: AtomicU64 = AtomicU64::new(0);

/// ffmpeg and ffprobe runs that ended since start, and how many of them failed.
pub fn process_counts() -> (u64, u64) {
    (
        RUNS.load(Ordering::Relaxed),
        FAILURES.load(Ordering::Relaxed),
    )
}

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
async fn run_lines(
    program: &Path,
    args: &[OsString],
    limit: Duration,
    nice: i32,
    on_line: &mut (dyn FnMut(&str) + Send),
) -> Result<Vec<u8>, TranscodeError> {
    run_full(program, args, limit, nice, on_line, None)
        .await
        .map(|(out, _)| out)
}

/// A no-progress limit for [`run_watched`]: the value on `progress` (a frame
/// count) must grow at least every `limit`, counted from the start.
pub(crate) struct Stall {
    pub(crate) limit: Duration,
    pub(crate) progress: watch::Receiver<u64>,
}

/// [`run_lines`], killing the process (and failing with
/// [`TranscodeError::Stalled`]) when `stall.progress` stops growing for `stall.limit`.
pub(crate) async fn run_watched(
    program: &Path,
    args: &[OsString],
    limit: Duration,
    nice: i32,
    on_line: &mut (dyn FnMut(&str) + Send),
    stall: Stall,
) -> Result<Vec<u8>, TranscodeError> {
    run_full(program, args, limit, nice, on_line, Some(stall))
        .await
        .map(|(out, _)| out)
}

/// Kills and reaps a run that made no progress, and says so.
async fn stalled_kill(
    child: Owned,
    name: &str,
    secs: u64,
    tail: &VecDeque<String>,
) -> TranscodeError {
    child.kill().await;
    RUNS.fetch_add(1, Ordering::Relaxed);
    FAILURES.fetch_add(1, Ordering::Relaxed);
    tracing::warn!(program = name, secs, last_lines = %join_tail(tail), "no progress: killed");
    TranscodeError::Stalled {
        program: name.to_string(),
        secs,
    }
}

/// Completes once `stall.progress` has not grown for `stall.limit`; never without a stall.
async fn stalled(stall: Option<Stall>) {
    let Some(Stall {
        limit,
        mut progress,
    }) = stall
    else {
        return std::future::pending().await;
    };
    let mut best = *progress.borrow_and_update();
    let mut deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, progress.changed()).await {
            Err(_) => return,
            // The reader is gone: the run is ending anyway.
            Ok(Err(_)) => return std::future::pending().await,
            Ok(Ok(())) => {
                let now = *progress.borrow_and_update();
                if now > best {
                    best = now;
                    deadline = tokio::time::Instant::now() + limit;
                }
            }
        }
    }
}

/// [`run_nice`], returning the last lines of stderr too (what ffmpeg reports at the
/// end of a run, e.g. loudnorm's measurement).
pub(crate) async fn run_stderr_tail(
    program: &Path,
    args: &[OsString],
    limit: Duration,
    nice: i32,
) -> Result<Vec<String>, TranscodeError> {
    run_full(program, args, limit, nice, &mut |_| {}, None)
        .await
        .map(|(_, tail)| tail.into())
}

/// How the wait for a run ended: `None` when the server stopped it, else the
/// time limit's verdict on (whether it was reaped, its exit status or the pipes'
/// error).
type Ended = Option<Result<(bool, std::io::Result<ExitStatus>), tokio::time::error::Elapsed>>;

/// Every run: started, waited for with both pipes drained until it exits, hits
/// its time limit, stalls or the server stops it, then judged by its exit status
/// and what it said on stderr. Returns stdout and the last lines of stderr.
async fn run_full(
    program: &Path,
    args: &[OsString],
    limit: Duration,
    nice: i32,
    on_line: &mut (dyn FnMut(&str) + Send),
    stall: Option<Stall>,
) -> Result<(Vec<u8>, VecDeque<String>), TranscodeError> {
    let stall_secs = stall.as_ref().map_or(0, |s| s.limit.as_secs().max(1));
    let name = program_name(program);
    let mut child = start(program, args, nice, &name).await?;
    let stdout = child.child().stdout.take().expect("stdout is piped");
    let stderr = child.child().stderr.take().expect("stderr is piped");

    let mut out = Vec::new();
    let mut tail = VecDeque::with_capacity(TAIL_LINES);
    let mut write_error = None;
    let finished: Ended = tokio::select! {
        r = tokio::time::timeout(limit, async {
            let (status, o, e) = tokio::join!(
                child.child().wait(),
                read_capped(stdout, &mut out, on_line),
                drain_stderr(stderr, &name, &mut tail, &mut write_error)
            );
            // Reaped once wait() has answered, whatever the pipes said.
            (status.is_ok(), o.and(e).and(status))
        }) => Some(r),
        _ = STOP.cancelled() => None,
        () = stalled(stall) => {
            // kill() also reaps it: the process is gone when this returns.
            return Err(stalled_kill(child, &name, stall_secs, &tail).await);
        }
    };

    RUNS.fetch_add(1, Ordering::Relaxed);
    let status = exit_status(finished, child, &name, limit, &tail).await?;
    judge(name, status, write_error, out, tail)
}

/// Spawns `program args` as a child of ours (see [`children::command`]), unless
/// the server is stopping.
async fn start(
    program: &Path,
    args: &[OsString],
    nice: i32,
    name: &str,
) -> Result<Owned, TranscodeError> {
    let slot = Slot::take().ok_or_else(|| children::stopping(name))?;
    let command = children::command(program, args, nice);
    children::spawn_child(command, slot)
        .await
        .map_err(|e| match e.kind() {
            ErrorKind::NotFound | ErrorKind::PermissionDenied => TranscodeError::NotInstalled {
                program: name.to_string(),
            },
            _ => TranscodeError::io(format!("starting {}", program.display()), e),
        })
}

/// The exit status of a run whose wait `finished`, or why there is none (the
/// pipes failed, the server is stopping, the time limit passed). The child is
/// reaped either way, killed first if it still runs.
async fn exit_status(
    finished: Ended,
    child: Owned,
    name: &str,
    limit: Duration,
    tail: &VecDeque<String>,
) -> Result<ExitStatus, TranscodeError> {
    match finished {
        Some(Ok((_, Ok(status)))) => {
            child.reaped();
            Ok(status)
        }
        Some(Ok((reaped, Err(e)))) => {
            if reaped {
                child.reaped();
            }
            Err(TranscodeError::io(format!("running {name}"), e))
        }
        None => {
            child.kill().await;
            Err(children::stopping(name))
        }
        Some(Err(_)) => {
            // kill() also reaps it, so no zombie is left behind.
            child.kill().await;
            FAILURES.fetch_add(1, Ordering::Relaxed);
            Err(TranscodeError::Failed {
                program: name.to_string(),
                status: format!("timed out after {} s", limit.as_secs()),
                last_lines: join_tail(tail),
            })
        }
    }
}

/// A run that exited with `status`: its stdout and the last lines of its stderr,
/// unless it failed, or exited 0 having said that its output could not be
/// written (`write_error`).
fn judge(
    name: String,
    status: ExitStatus,
    write_error: Option<String>,
    out: Vec<u8>,
    tail: VecDeque<String>,
) -> Result<(Vec<u8>, VecDeque<String>), TranscodeError> {
    if let (true, Some(line)) = (status.success(), write_error) {
        // ffmpeg exits 0 when its output could not be written ("Error writing
        // trailer of …: No space left on device"): what it wrote is not whole.
        FAILURES.fetch_add(1, Ordering::Relaxed);
        let mut last_lines = join_tail(&tail);
        if !tail.contains(&line) {
            last_lines = format!("{line}\n{last_lines}");
        }
        Err(TranscodeError::Failed {
            program: name,
            status: format!("{status}, but its output was not written whole"),
            last_lines,
        })
    } else if status.success() {
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

/// Whether an ffmpeg stderr line says its output could not be written. ffmpeg
/// reports these and still exits 0 (without `-xerror`), e.g. on a full disk:
/// "Error writing trailer of x.ts: No space left on device", "Error closing file".
fn is_output_write_error(line: &str) -> bool {
    const SIGNS: [&str; 4] = [
        "Error writing trailer",
        "Error closing file",
        "av_interleaved_write_frame()",
        "No space left on device",
    ];
    SIGNS.iter().any(|s| line.contains(s))
}

async fn drain_stderr(
    r: impl AsyncRead + Unpin,
    name: &str,
    tail: &mut VecDeque<String>,
    write_error: &mut Option<String>,
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
            if write_error.is_none() && is_output_write_error(line) {
                *write_error = Some(cut(line, MAX_LINE));
            }
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
    async fn an_output_that_could_not_be_written_fails_even_with_exit_status_0() {
        // As ffmpeg 5.1 does on a full disk: the error in words, then exit 0; and
        // enough lines after it to push it out of the tail.
        let script = "echo 'Error writing trailer of file:/d/.c.ts.1-2.part: No space left on device' >&2; \
                      i=0; while [ $i -lt 50 ]; do echo \"[libx264 @ 0x1] stats $i\" >&2; i=$((i+1)); done; exit 0";
        let err = run(
            Path::new("/bin/sh"),
            &os_args(["-c", script]),
            Duration::from_secs(30),
        )
        .await
        .unwrap_err();
        assert!(err.is_disk_full(), "{err:?}");
        assert!(
            err.cause().starts_with("Error writing trailer of"),
            "{}",
            err.cause()
        );
        // Any other run that exits 0 is a success.
        run(
            Path::new("/bin/sh"),
            &os_args(["-c", "echo fine >&2"]),
            Duration::from_secs(30),
        )
        .await
        .unwrap();
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
