//! Spawning, killing and reaping children, so that none outlives the server:
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
//!   (`remove_partials`).

use std::ffi::OsString;
use std::io::ErrorKind;
use std::path::Path;
use std::process::Stdio;
use std::sync::LazyLock;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::process::{Child, Command};
use tokio::sync::{oneshot, watch};
use tokio_util::sync::CancellationToken;

use crate::transcode::error::TranscodeError;

/// Children spawned and not reaped yet, spawns under way included.
static LIVE: LazyLock<watch::Sender<usize>> = LazyLock::new(|| watch::Sender::new(0));
/// Cancelled by [`stop_children`]: running children are killed, no new one starts.
pub(super) static STOP: LazyLock<CancellationToken> = LazyLock::new(CancellationToken::new);
/// Children killed before their end because their run was dropped or stopped.
static KILLED: AtomicU64 = AtomicU64::new(0);

/// One count in [`LIVE`], held from before a spawn until the child is reaped (or
/// the spawn failed), so that [`stop_children`] cannot miss a child being born.
pub(super) struct Slot(());

impl Slot {
    /// None once the server is stopping: no new child then.
    pub(super) fn take() -> Option<Slot> {
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
pub(super) struct Owned {
    inner: Option<(Child, Slot)>,
}

impl Owned {
    pub(super) fn child(&mut self) -> &mut Child {
        &mut self.inner.as_mut().expect("not reaped yet").0
    }

    /// The child exited and `wait` reaped it.
    pub(super) fn reaped(mut self) {
        self.inner = None;
    }

    /// Kills the child and waits for it to be reaped.
    pub(super) async fn kill(mut self) {
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
pub(super) async fn spawn_child(command: Command, slot: Slot) -> std::io::Result<Owned> {
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
pub(super) fn stopping(name: &str) -> TranscodeError {
    TranscodeError::io(
        format!("running {name}"),
        std::io::Error::new(ErrorKind::Interrupted, "the server is stopping"),
    )
}

/// The command for `program args`: no shell, stdin closed, both pipes captured, in
/// a process group of its own, killed at our death, at niceness `nice`.
pub(super) fn command(program: &Path, args: &[OsString], nice: i32) -> Command {
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
#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcode::run::os_args;

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
}
