//! What airs next, as the engine asks for it: the traits its clip and music
//! sources implement (the playout, the music rotation, a test's fixed list).

use std::path::PathBuf;

use tokio::sync::watch;

use crate::clip::{ClipInfo, ClipRef};

/// A music track (already encoded to the channel's AAC format) to play next.
#[derive(Clone, Debug)]
pub struct TrackRef {
    /// The encoded ADTS file in the track cache.
    pub path: PathBuf,
    /// Title for logs and "now playing".
    pub title: String,
    /// The music file it was encoded from.
    pub source: Option<PathBuf>,
}

/// Where the engine gets clips. Must not block: `None` means "nothing ready now".
pub trait ClipSource: Send + Sync + 'static {
    /// The next clip in playout order; `None` when none is ready yet (the engine
    /// asks again when [`ClipSource::changed`] ticks).
    fn next_clip(&self) -> Option<ClipRef>;

    /// The next clip with the cue generation it was pulled in. Sources that never
    /// recue keep the default.
    fn next_cued(&self) -> Option<(ClipRef, u64)> {
        self.next_clip().map(|c| (c, 0))
    }

    /// The engine loads clips ahead of air; an operator's change of order (play this
    /// chunk next) may make those loaded clips wrong. Given the clip airing, the
    /// source rewinds to just after it and returns the new cue generation, and the
    /// engine drops every clip pulled in an older one. `None`: nothing to redo.
    fn recue(&self, _airing: Option<&ClipInfo>) -> Option<u64> {
        None
    }

    /// The engine is about to run out of clips (nothing loaded ahead, the clip on
    /// air ends within a segment) and the source had nothing to give: it gives
    /// something that is ready rather than wait for what is being made (and ticks
    /// [`ClipSource::changed`]). True when a clip is ready for the loader (it just
    /// came, or this made one ready); false when nothing is: the engine then airs
    /// its fallback at once rather than wait for a clip that is not coming.
    fn hurry(&self) -> bool {
        false
    }

    /// Ticks whenever a clip may have become ready (a clip added, a chunk completed,
    /// an operator's pick, a recue): the loader waits on it when there was none.
    /// The default never ticks, for sources whose clips are all there from the start.
    fn changed(&self) -> watch::Receiver<u64> {
        never_changes()
    }
}

/// Where the engine gets music. Must not block: `None` means "nothing ready now".
pub trait TrackSource: Send + Sync + 'static {
    /// The next track to play; `None` when none is ready yet (the engine asks
    /// again when [`TrackSource::changed`] ticks).
    fn next_track(&self) -> Option<TrackRef>;

    /// Ticks whenever a track may have become ready. The default never ticks, for
    /// sources whose tracks are all there from the start.
    fn changed(&self) -> watch::Receiver<u64> {
        never_changes()
    }
}

/// A change notification that never ticks (and never closes).
fn never_changes() -> watch::Receiver<u64> {
    static NEVER: std::sync::OnceLock<watch::Sender<u64>> = std::sync::OnceLock::new();
    NEVER.get_or_init(|| watch::channel(0).0).subscribe()
}
