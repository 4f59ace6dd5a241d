//! Who watches what: requests and bytes of each rung of each channel's ladder, by
//! how they are fetched (HLS segments and playlists, the continuous stream), for
//! `/metrics` and `/api/status`.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use parking_lot::Mutex;

/// What one rung of one channel served since start.
#[derive(Debug, Default)]
pub struct RungServed {
    /// HLS segments served (whole or in part).
    pub segments: AtomicU64,
    /// Bytes of those segments.
    pub segment_bytes: AtomicU64,
    /// The rung's media playlist served.
    pub playlists: AtomicU64,
    /// Continuous streams of the rung opened.
    pub streams: AtomicU64,
    /// Bytes of the rung's continuous stream handed to clients.
    pub stream_bytes: AtomicU64,
}

impl RungServed {
    /// Requests of any kind: segments, playlists and streams opened.
    pub fn requests(&self) -> u64 {
        self.segments.load(Relaxed) + self.playlists.load(Relaxed) + self.streams.load(Relaxed)
    }

    /// Bytes by either way.
    pub fn bytes(&self) -> u64 {
        self.segment_bytes.load(Relaxed) + self.stream_bytes.load(Relaxed)
    }
}

/// Every channel's rungs' counters, by channel slug, then rung name such as `480p`.
/// A request finds its counters by borrowed names, allocating nothing once they
/// exist.
#[derive(Default)]
pub struct Viewing {
    rungs: Mutex<HashMap<String, HashMap<String, Arc<RungServed>>>>,
}

impl Viewing {
    /// The counters of `rung` of channel `slug`.
    pub fn rung(&self, slug: &str, rung: &str) -> Arc<RungServed> {
        let mut all = self.rungs.lock();
        if let Some(c) = all.get(slug).and_then(|ch| ch.get(rung)) {
            return c.clone();
        }
        all.entry(slug.to_string())
            .or_default()
            .entry(rung.to_string())
            .or_default()
            .clone()
    }

    /// Every rung that was ever asked for, by channel then rung.
    pub fn all(&self) -> Vec<((String, String), Arc<RungServed>)> {
        let mut v: Vec<_> = self
            .rungs
            .lock()
            .iter()
            .flat_map(|(slug, ch)| {
                ch.iter()
                    .map(|(rung, c)| ((slug.clone(), rung.clone()), c.clone()))
            })
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }
}
