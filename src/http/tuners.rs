//! The tuners: how many continuous streams may be open at once, and what each
//! channel's streams did (for /metrics and the HDHomeRun documents).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// What the continuous streams of one channel did since start.
#[derive(Debug, Default)]
pub struct StreamCounters {
    /// Clients that ever connected.
    pub opened: AtomicU64,
    /// Bytes handed to clients' sockets.
    pub bytes: AtomicU64,
    /// Clients hung up on for falling behind.
    pub dropped: AtomicU64,
}

/// The tuners: how many continuous streams may be open at once (TUNER_COUNT, what
/// an HDHomeRun says it has), and each channel's counters.
pub struct Tuners {
    free: Arc<Semaphore>,
    count: usize,
    refused: AtomicU64,
    channels: Mutex<HashMap<String, Arc<StreamCounters>>>,
}

impl Tuners {
    /// `count` streams at most.
    pub fn new(count: usize) -> Tuners {
        Tuners {
            free: Arc::new(Semaphore::new(count)),
            count,
            refused: AtomicU64::new(0),
            channels: Mutex::new(HashMap::new()),
        }
    }

    /// A free tuner, held until the permit drops; `None` (counted as refused)
    /// when every tuner is in use.
    pub fn take(&self) -> Option<OwnedSemaphorePermit> {
        let permit = self.free.clone().try_acquire_owned().ok();
        if permit.is_none() {
            self.refused.fetch_add(1, Ordering::Relaxed);
        }
        permit
    }

    /// Tuners in all.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Tuners streaming now.
    pub fn in_use(&self) -> usize {
        self.count - self.free.available_permits()
    }

    /// Streams refused because every tuner was in use.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// The counters of `slug`'s streams.
    pub fn counters(&self, slug: &str) -> Arc<StreamCounters> {
        self.channels
            .lock()
            .entry(slug.to_string())
            .or_default()
            .clone()
    }

    /// Every channel's counters that ever had a client, by slug.
    pub fn all(&self) -> Vec<(String, Arc<StreamCounters>)> {
        let mut v: Vec<_> = self
            .channels
            .lock()
            .iter()
            .map(|(k, c)| (k.clone(), c.clone()))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }
}

/// The continuous MPEG-TS file name of a channel: `<slug>.ts`.
pub fn file_name(slug: &str) -> String {
    format!("{slug}.ts")
}
