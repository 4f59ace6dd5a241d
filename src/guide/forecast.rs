//! What airs when: the clips that aired (the live window's record), the clip on
//! air, the rest of its chunk, then the chunks sure to follow (an operator's pick,
//! then those never aired, in the order the playout takes them), back to back.
//! A re-air is not forecast: a chunk the generator makes before it comes first.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use crate::engine::ClipInfo;
use crate::engine::live::Live;
use crate::schedule::{Chunk, Playout};

/// A clip that aired or is forecast to, Unix seconds on the engine's clock.
#[derive(Clone, Debug)]
pub struct Airing {
    /// The clip.
    pub clip: Arc<ClipInfo>,
    /// When it starts.
    pub start: f64,
    /// When it ends.
    pub stop: f64,
    /// It is (or was) its chunk's first airing.
    pub first: bool,
}

/// What is known of a channel's air time.
#[derive(Clone, Debug, Default)]
pub struct Forecast {
    /// The channel's now: its newest segment (Unix seconds).
    pub now: f64,
    /// Clips in airing order, back to back from the first that aired at the time
    /// asked for.
    pub airings: Vec<Airing>,
    /// Where the forecast ends: the last clip's stop, or `now`.
    pub known_until: f64,
}

/// `t` as Unix seconds.
pub fn unix(t: SystemTime) -> f64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Adds clips back to back.
struct Builder {
    out: Vec<Airing>,
    at: f64,
}

impl Builder {
    fn push(&mut self, clip: &Arc<ClipInfo>, first: bool) {
        let stop = self.at + clip.duration.max(0.0);
        self.out.push(Airing {
            clip: clip.clone(),
            start: self.at,
            stop,
            first,
        });
        self.at = stop;
    }

    /// Adds the clips of `c` from `from`; false when what follows is not known
    /// (the chunk is still being made).
    fn chunk(&mut self, c: &Chunk, from: usize, first: bool) -> bool {
        for k in c.clips.iter().skip(from) {
            self.push(&k.info, first);
        }
        c.complete
    }
}

/// The forecast of the channel of `live` and `playout` from `from` on; `wall` is
/// now when nothing has aired yet.
pub fn forecast(live: &Live, playout: &Playout, from: SystemTime, wall: SystemTime) -> Forecast {
    let now_at = live.last_published().unwrap_or(wall);
    let now = unix(now_at);
    let aired = live.aired_since(from);
    let playing = live.now_playing();
    let mut chunks: HashMap<String, Option<Chunk>> = HashMap::new();
    let mut chunk = |id: &str| -> Option<Chunk> {
        chunks
            .entry(id.to_string())
            .or_insert_with(|| playout.chunk(id))
            .clone()
    };
    let mut b = Builder {
        out: Vec::with_capacity(aired.len() + 64),
        at: now,
    };
    // What aired, each until the next started; the last is the clip on air.
    for (i, a) in aired.iter().enumerate() {
        let start = unix(a.start);
        let stop = aired
            .get(i + 1)
            .map_or(start + a.clip.duration, |n| unix(n.start));
        let first = a
            .clip
            .chunk
            .as_deref()
            .and_then(&mut chunk)
            .is_none_or(|c| c.times_aired <= 1);
        b.out.push(Airing {
            clip: a.clip.clone(),
            start,
            stop,
            first,
        });
        b.at = stop;
    }
    let on_air = playing
        .clip
        .filter(|c| !c.is_slate())
        .filter(|c| aired.last().is_some_and(|a| a.clip.id == c.id));
    let Some(on_air) = on_air else {
        // The slate, or nothing yet: nothing is known ahead.
        return Forecast {
            now,
            known_until: now,
            airings: b.out,
        };
    };
    let (current, upcoming) = playout.upcoming(usize::MAX, true);
    let mut known = true;
    // The rest of the chunk on air.
    let on_air_chunk = on_air.chunk.as_deref().and_then(&mut chunk);
    if let Some(c) = &on_air_chunk
        && let Some(i) = c.clips.iter().position(|k| k.info.id == on_air.id)
    {
        known = b.chunk(c, i + 1, c.times_aired <= 1);
    }
    // The chunk the engine already takes clips from, when it is the next one.
    if known
        && let Some((c, _)) = &current
        && on_air_chunk.as_ref().is_none_or(|o| o.id != c.id)
    {
        known = b.chunk(c, 0, c.times_aired <= 1);
    }
    for u in &upcoming {
        if !known {
            break;
        }
        known = b.chunk(&u.chunk, 0, u.chunk.times_aired <= 1);
    }
    Forecast {
        now,
        known_until: b.at.max(now),
        airings: b.out,
    }
}
