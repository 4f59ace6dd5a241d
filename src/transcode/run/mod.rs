//! Running processes, the only place the crate spawns one, and writing outputs
//! under temporary names.
//!
//! Every child process of the server is spawned here, and none outlives it:
//!
//! - a child whose run is dropped (its task cancelled) is killed and then reaped
//!   by a task of its own; [`stop_children`], at the end of a graceful stop, kills
//!   those still running and waits until every one is reaped, so the server exits
//!   with no child, not even a zombie;
//! - when the server dies without a stop (kill -9, a crash), the kernel kills its
//!   children (`PR_SET_PDEATHSIG`, asked for by each child before it starts), and
//!   their partial outputs ([`TempOut`]) are removed by the next start
//!   ([`remove_partials`]).
//!
//! - [`process`]: one run to its end: pipes drained, time and stall limits, the
//!   error that says why it failed;
//! - [`children`]: spawning, killing and reaping the children, and stopping them all;
//! - [`temp`]: outputs under a hidden temporary name, renamed when whole.

mod children;
mod process;
mod temp;

pub use children::stop_children;
pub use process::process_counts;
pub(crate) use process::{
    Stall, file_arg, os_args, program_name, run, run_nice, run_stderr_tail, run_watched,
};
pub(crate) use temp::TempOut;
pub use temp::remove_partials;
