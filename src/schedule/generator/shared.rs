//! What the generator's loop and its jobs share: the generator's inner state, the
//! status it publishes as jobs go, how a job ends, and the pause for a full disk.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use rand::rngs::StdRng;
use tokio::sync::watch;

use super::handle::{GeneratorSettings, GeneratorStatus, JobStatus};
use crate::clock::SharedClock;
use crate::db::Db;
use crate::engine::audience::Audience;
use crate::library::ChannelLibrary;
use crate::schedule::Playout;
use crate::schedule::pool::EncodePool;
use crate::transcode::Ffmpeg;

/// How often a generator paused by a full data disk tries again (shorter in unit
/// tests, so a test sees it resume soon after it frees space).
pub(super) const DISK_FULL_RETRY: Duration = if cfg!(test) {
    Duration::from_secs(1)
} else {
    Duration::from_secs(15)
};

/// The generator's state, shared by its loop and every job it runs.
pub(super) struct Inner {
    pub(super) ff: Ffmpeg,
    pub(super) db: Db,
    pub(super) library: Arc<ChannelLibrary>,
    pub(super) playout: Arc<Playout>,
    /// The encode slots every channel shares.
    pub(super) pool: EncodePool,
    /// Changed live by the settings API; each job and loop turn reads the latest.
    pub(super) settings: watch::Receiver<GeneratorSettings>,
    pub(super) rng: Mutex<StdRng>,
    pub(super) status: watch::Sender<GeneratorStatus>,
    /// Videos a running job is cutting: other jobs leave them alone, since their
    /// ranges and LRU place are recorded only once the clip is encoded.
    pub(super) in_flight: Mutex<Vec<i64>>,
    /// What the schedule reads the time from.
    pub(super) clock: SharedClock,
    /// Who watches the channel: its claim on the shared encoders.
    pub(super) audience: Arc<Audience>,
    /// When it was last given an encode slot (for its floor of fresh air).
    pub(super) last_slot: Mutex<Option<std::time::Instant>>,
}

/// How a job ended.
pub(super) enum Outcome {
    Done,
    Stalled(String),
    /// The data disk is full: paused, retried every [`DISK_FULL_RETRY`].
    DiskFull(String),
    WaitingForLibrary,
    Cancelled,
}

impl Inner {
    /// Changes the published status; watchers hear of it only if it changed.
    pub(super) fn publish(&self, f: impl FnOnce(&mut GeneratorStatus)) {
        self.status.send_if_modified(|st| {
            let before = st.clone();
            f(st);
            *st != before
        });
    }

    /// The settings in force now.
    pub(super) fn settings(&self) -> GeneratorSettings {
        self.settings.borrow().clone()
    }

    /// Changes the status of the job making chunk `id` (added if new).
    pub(super) fn update_job(&self, id: &str, f: impl FnOnce(&mut JobStatus)) {
        self.publish(|st| {
            let i = match st.jobs.iter().position(|j| j.chunk == id) {
                Some(i) => i,
                None => {
                    st.jobs.push(JobStatus {
                        chunk: id.to_string(),
                        ..JobStatus::default()
                    });
                    st.jobs.len() - 1
                }
            };
            let j = &mut st.jobs[i];
            f(j);
            if j.target_secs > 0.0 && j.speed.is_none() {
                j.percent = (j.secs_done / j.target_secs * 100.0).clamp(0.0, 100.0);
            }
        });
    }
}

/// The reason of a pause for a full data disk, as the status says it.
pub(super) fn disk_full_reason(s: &GeneratorSettings) -> String {
    format!(
        "the data disk is full: no room left to write clips in {}; generation tries again every {} s by itself",
        s.chunks_dir.display(),
        DISK_FULL_RETRY.as_secs()
    )
}

/// A database error as a job's outcome: SQLite's "database or disk is full" is a
/// pause for the full disk like any other, everything else a stall.
pub(super) fn db_failed(s: &GeneratorSettings, e: crate::db::DbError) -> Outcome {
    if e.is_disk_full() {
        tracing::warn!(error = %e, "database write failed: the data disk is full");
        Outcome::DiskFull(disk_full_reason(s))
    } else {
        Outcome::Stalled(format!("database: {e}"))
    }
}
