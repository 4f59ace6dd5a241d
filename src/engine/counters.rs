//! The live window's counters: what was published, what fell back, how late.

use super::lateness::Lateness;

/// What a clip switch aired when no new clip was ready.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fallback {
    /// The slate before the channel's first clip of this run.
    Waiting,
    /// The slate after a clip aired (an underrun).
    Slate,
    /// The clip before, again.
    Repeat,
}

/// Counters for logs, tests and (later) metrics.
#[derive(Clone, Debug, Default)]
pub struct LiveStats {
    /// Segments published since start.
    pub segments_published: u64,
    /// Segments of the slate aired after a clip because no clip was ready: only
    /// after a skip with nothing new ready, since the clip before airs again
    /// otherwise.
    pub underruns: u64,
    /// Segments of the slate aired before the channel's first clip of this run.
    pub waiting: u64,
    /// Clip switches that aired the clip before again because no new one was ready
    /// (the source had nothing complete either).
    pub repeats: u64,
    /// Segments preceded by EXT-X-DISCONTINUITY (codec parameters changed).
    pub discontinuities: u64,
    /// Total size of the published segments, bytes.
    pub bytes_published: u64,
    /// How late segments were published against their schedule.
    pub lateness: Lateness,
}
