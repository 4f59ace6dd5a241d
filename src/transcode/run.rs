//! Running one process to completion, and writing outputs under temporary names.
//!
//! Every child process of the server is spawned here, and none outlives it:
//!
//! - a child whose run is dropped (its task cancelled) is killed and then reaped
//!   by a task of its own ([`Owned`]); [`stop_children`], at the end of a graceful
//!   stop, kills those still running and waits until every one is reaped, so the
//!   server exits with no child, not even a zombie;
//! - when the server dies without a stop (kill -9, a crash), the kernel kills its
//!   children: each asks for `SIGKILL` at its parent's death (`PR_SET_PDEATHSIG`)
//!   between fork and exec. That signal follows the *thread* that forked, not the
//!   process, and tokio's threads come and go (an idle blocking thread exits after
//!   seconds), so children are forked by one thread that lives as long as the
//!   process ([`spawn_child`]). A parent that died before the request took effect
//!   is caught by comparing `getppid()` with our pid: the child then fails to start.
//!   Their partial outputs (`TempOut`) are removed by the next start
//!   ([`remove_partials`]).

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::LazyLock;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{oneshot, watch};
use tokio_util::sync::CancellationToken;

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

/// Children spawned and not reaped yet, spawns under way included.
static LIVE: LazyLock<watch::Sender<usize>> = LazyLock::new(|| watch::Sender::new(0));
/// Cancelled by [`stop_children`]: running children are killed, no new one starts.
static STOP: LazyLock<CancellationToken> = LazyLock::new(CancellationToken::new);
/// Children killed before their end because their run was dropped or stopped.
static KILLED: AtomicU64 = AtomicU64::new(0);

/// One count in [`LIVE`], held from before a spawn until the child is reaped (or
/// the spawn failed), so that [`stop_children`] cannot miss a child being born.
struct Slot(());

impl Slot {
    /// None once the server is stopping: no new child then.
    fn take() -> Option<Slot> {
        LIVE.send_modify(|n| *n += 1);
        let slot = Slot(());
        (!STOP.is_cancelled()).then_some(slot)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        LIVE.send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// A running child that is killed and reaped whatever happens to its run: dropped
/// unreaped (the run's future was cancelled), it is killed at once and reaped by a
/// task of its own, and only then leaves [`LIVE`].
struct Owned {
    inner: Option<(Child, Slot)>,
}

impl Owned {
    fn child(&mut self) -> &mut Child {
        &mut self.inner.as_mut().expect("not reaped yet").0
    }

    /// The child exited and `wait` reaped it.
    fn reaped(mut self) {
        self.inner = None;
    }

    /// Kills the child and waits for it to be reaped.
    async fn kill(mut self) {
        if let Some((mut child, slot)) = self.inner.take() {
            KILLED.fetch_add(1, Ordering::Relaxed);
            let _ = child.start_kill();
            let _ = child.wait().await;
            drop(slot);
        }
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        let Some((mut child, slot)) = self.inner.take() else {
            return;
        };
        if matches!(child.try_wait(), Ok(Some(_))) {
            return; // it had exited: try_wait reaped it
        }
        KILLED.fetch_add(1, Ordering::Relaxed);
        let _ = child.start_kill();
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(async move {
                    let _ = child.wait().await;
                    drop(slot);
                });
            }
            // No runtime (it is being dropped): kill_on_drop and tokio's orphan
            // queue have it; nobody is left to wait for it either.
            Err(_) => drop((child, slot)),
        }
    }
}

/// A spawn for the spawner thread: the command, the runtime the child is
/// registered with, and where the running child goes.
struct SpawnJob {
    command: Command,
    slot: Slot,
    runtime: tokio::runtime::Handle,
    reply: oneshot::Sender<std::io::Result<Owned>>,
}

/// The thread that forks every child (see the module's notes on PDEATHSIG); None
/// if it could not be started.
fn spawner() -> Option<&'static std::sync::mpsc::Sender<SpawnJob>> {
    static SPAWNER: OnceLock<Option<std::sync::mpsc::Sender<SpawnJob>>> = OnceLock::new();
    SPAWNER
        .get_or_init(|| {
            let (tx, rx) = std::sync::mpsc::channel::<SpawnJob>();
            let thread = std::thread::Builder::new()
                .name("child-spawner".into())
                .spawn(move || {
                    // Lives as long as the process: the sender is in a static.
                    for mut job in rx {
                        let _rt = job.runtime.enter();
                        let result = job.command.spawn().map(|child| Owned {
                            inner: Some((child, job.slot)),
                        });
                        // The run was dropped meanwhile: the child goes (killed and
                        // reaped by Owned's drop, inside the runtime entered above).
                        drop(job.reply.send(result));
                    }
                });
            match thread {
                Ok(_) => Some(tx),
                Err(e) => {
                    tracing::warn!(error = %e, "no spawner thread: children are forked by the runtime's threads");
                    None
                }
            }
        })
        .as_ref()
}

/// Spawns `command` from the spawner thread (from this one if there is none).
async fn spawn_child(command: Command, slot: Slot) -> std::io::Result<Owned> {
    let (reply, answer) = oneshot::channel();
    let job = SpawnJob {
        command,
        slot,
        runtime: tokio::runtime::Handle::current(),
        reply,
    };
    let mut job = match spawner() {
        Some(tx) => match tx.send(job) {
            Ok(()) => {
                return answer
                    .await
                    .unwrap_or_else(|_| Err(std::io::Error::other("the spawner thread is gone")));
            }
            Err(std::sync::mpsc::SendError(job)) => job,
        },
        None => job,
    };
    let child = job.command.spawn()?;
    Ok(Owned {
        inner: Some((child, job.slot)),
    })
}

/// Stops every child process: those running are killed, no new one starts, and
/// this waits (up to `limit`) until every one is reaped. Returns how many children
/// were killed before their end over the whole run, and whether none is left. For
/// the end of the process: nothing can be run after it.
pub async fn stop_children(limit: Duration) -> (u64, bool) {
    STOP.cancel();
    let mut live = LIVE.subscribe();
    let all = tokio::time::timeout(limit, live.wait_for(|n| *n == 0))
        .await
        .is_ok_and(|r| r.is_ok());
    (KILLED.load(Ordering::Relaxed), all)
}

/// The error of a run refused or cut short by [`stop_children`]: not the
/// program's fault (so no source is set aside as broken for it).
fn stopping(name: &str) -> TranscodeError {
    TranscodeError::io(
        format!("running {name}"),
        std::io::Error::new(ErrorKind::Interrupted, "the server is stopping"),
    )
}

/// The command for `program args`: no shell, stdin closed, both pipes captured, in
/// a process group of its own, killed at our death, at niceness `nice`.
fn command(program: &Path, args: &[OsString], nice: i32) -> Command {
    let mut command = Command::new(program);
    // A process group of its own: Ctrl-C in a terminal goes to the whole foreground
    // group, and an ffmpeg that got it would fail its encode (and the source would be
    // set aside as broken) before our graceful stop cancels it on purpose.
    #[cfg(unix)]
    command.process_group(0);
    // Killed by the kernel if we die without stopping it (kill -9, a crash): see
    // the module's notes; forked by the spawner thread, so "we" is the process.
    #[cfg(target_os = "linux")]
    {
        let parent = std::process::id() as libc::pid_t;
        // SAFETY: runs in the child between fork and exec, and calls only prctl(2)
        // and getppid(2), which are async-signal-safe; the errors it builds do not
        // allocate.
        unsafe {
            command.pre_exec(move || {
                if libc::prctl(
                    libc::PR_SET_PDEATHSIG,
                    libc::SIGKILL as libc::c_ulong,
                    0,
                    0,
                    0,
                ) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                // We died between fork and prctl: no signal will come, so do not start.
                if libc::getppid() != parent {
                    return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
                }
                Ok(())
            });
        }
    }
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
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Owned kills it first; this is for a child dropped with no runtime left.
        .kill_on_drop(true);
    command
}

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
    let slot = Slot::take().ok_or_else(|| stopping(&name))?;
    let command = command(program, args, nice);
    let mut child = spawn_child(command, slot)
        .await
        .map_err(|e| match e.kind() {
            ErrorKind::NotFound | ErrorKind::PermissionDenied => TranscodeError::NotInstalled {
                program: name.clone(),
            },
            _ => TranscodeError::io(format!("starting {}", program.display()), e),
        })?;
    let stdout = child.child().stdout.take().expect("stdout is piped");
    let stderr = child.child().stderr.take().expect("stderr is piped");

    let mut out = Vec::new();
    let mut tail = VecDeque::with_capacity(TAIL_LINES);
    let mut write_error = None;
    let finished = tokio::select! {
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
    let status = match finished {
        Some(Ok((_, Ok(status)))) => {
            child.reaped();
            status
        }
        Some(Ok((reaped, Err(e)))) => {
            if reaped {
                child.reaped();
            }
            return Err(TranscodeError::io(format!("running {name}"), e));
        }
        None => {
            child.kill().await;
            return Err(stopping(&name));
        }
        Some(Err(_)) => {
            // kill() also reaps it, so no zombie is left behind.
            child.kill().await;
            FAILURES.fetch_add(1, Ordering::Relaxed);
            return Err(TranscodeError::Failed {
                program: name,
                status: format!("timed out after {} s", limit.as_secs()),
                last_lines: join_tail(&tail),
            });
        }
    };
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
pub(crate) fn is_output_write_error(line: &str) -> bool {
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

/// True for a name [`TempOut::beside`] makes: `.<name>.<pid>-<n>.part`.
fn is_partial(name: &OsStr) -> bool {
    let Some(name) = name.to_str() else {
        return false;
    };
    let Some(rest) = name.strip_prefix('.').and_then(|n| n.strip_suffix(".part")) else {
        return false;
    };
    let Some((target, tag)) = rest.rsplit_once('.') else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    !target.is_empty()
        && tag
            .split_once('-')
            .is_some_and(|(pid, n)| digits(pid) && digits(n))
}

/// Removes every partial output ([`TempOut`]) under `dir`, sub-folders included
/// (symbolic links are not followed): what a run that died without stopping its
/// encodes (kill -9, a crash) left behind. Call it before anything runs that may
/// be writing one. Returns the files removed.
pub fn remove_partials(dir: &Path) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(kind) = e.file_type() else { continue };
            if kind.is_dir() {
                todo.push(e.path());
            } else if kind.is_file()
                && is_partial(&e.file_name())
                && std::fs::remove_file(e.path()).is_ok()
            {
                removed.push(e.path());
            }
        }
    }
    removed
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

    #[test]
    fn partial_names_are_temp_out_names_only() {
        for yes in [".clip-0003.ts.812-0.part", ".a.b.aac.1-22.part"] {
            assert!(is_partial(OsStr::new(yes)), "{yes}");
        }
        for no in [
            "clip-0003.ts",
            ".clip.ts.part",
            ".clip.ts.12.part",
            ".clip.ts.x-1.part",
            "..1-2.part",
            "clip.ts.1-2.part",
            ".clip.ts.1-2.partial",
        ] {
            assert!(!is_partial(OsStr::new(no)), "{no}");
        }
    }

    #[test]
    fn remove_partials_removes_them_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("chunks/c1");
        std::fs::create_dir_all(&deep).unwrap();
        for f in [
            "chunks/c1/.clip-0001.ts.77-3.part",
            "chunks/c1/clip-0000.ts",
            "cache/.slate-x.ts.77-0.part",
            "keep.part",
        ] {
            let path = dir.path().join(f);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, b"x").unwrap();
        }
        let mut removed = remove_partials(dir.path());
        removed.sort();
        assert_eq!(
            removed,
            [
                dir.path().join("cache/.slate-x.ts.77-0.part"),
                dir.path().join("chunks/c1/.clip-0001.ts.77-3.part"),
            ]
        );
        assert!(deep.join("clip-0000.ts").is_file());
        assert!(dir.path().join("keep.part").is_file());
    }

    /// (state, parent) of `pid` from /proc, while it exists (a zombie included).
    fn proc_state(pid: u32) -> Option<(char, u32)> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let mut rest = stat[stat.rfind(')')? + 1..].split_whitespace();
        Some((rest.next()?.chars().next()?, rest.next()?.parse().ok()?))
    }

    #[tokio::test]
    async fn a_dropped_run_kills_and_reaps_its_child() {
        let cmd = command(Path::new("sleep"), &os_args(["30"]), 0);
        let mut owned = spawn_child(cmd, Slot::take().unwrap()).await.unwrap();
        let pid = owned.child().id().unwrap();
        assert_eq!(proc_state(pid).map(|s| s.1), Some(std::process::id()));
        drop(owned);
        let t0 = std::time::Instant::now();
        // Gone from /proc: dead and reaped (a zombie would still be listed).
        while let Some((state, parent)) = proc_state(pid) {
            if parent != std::process::id() {
                break; // the pid was reused by someone else's process
            }
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "child {pid} still there ({state}) after its run was dropped"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[test]
    fn a_child_outlives_the_thread_that_started_it() {
        // PR_SET_PDEATHSIG fires when the thread that forked exits: children are
        // forked by the spawner thread, so a short-lived thread (tokio's blocking
        // threads, a block_on thread) asking for one does not get it killed.
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let handle = rt.handle().clone();
        let owned = std::thread::spawn(move || {
            handle.block_on(async {
                let cmd = command(Path::new("/bin/sh"), &os_args(["-c", "sleep 1"]), 0);
                spawn_child(cmd, Slot::take().unwrap()).await.unwrap()
            })
        })
        .join()
        .unwrap();
        let status = rt.block_on(async move {
            let mut owned = owned;
            let status = owned.child().wait().await.unwrap();
            owned.reaped();
            status
        });
        assert!(
            status.success(),
            "{status:?}: killed when the thread that asked for it exited"
        );
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
