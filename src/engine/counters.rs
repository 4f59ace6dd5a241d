//! The live window's counters: what was published, what fell back, how late.

use super::lateness::Lateness;

/// What a clip switch aired when no new clip was ready.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fallback {
    /// The slate.
    Slate,
    /// The clip before, again.
    Repeat,
}

/// Counters for logs, tests and (later) metrics.
#[derive(Clone, Debug, Default)]
pub struct LiveStats {
    /// Segments published since start.
    pub segments_published: u64,
    /// Segments filled with the slate because no clip was ready: before the
    /// channel's first clip, or after a skip with nothing new ready.
    pub underruns: u64,
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
