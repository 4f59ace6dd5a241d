//! Who watches a channel: the HLS players seen fetching its segments in the last
//! minute, each client once, and the clients of its continuous stream connected
//! now. Kept beside the channel's live window, so the encoders can follow the
//! viewers as well as the HTTP layer can count them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// How long an HLS player counts after its last segment request.
pub const PLAYER_WINDOW: Duration = Duration::from_secs(60);

/// A channel's viewers at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Viewers {
    /// Distinct HLS clients that fetched a segment in the last [`PLAYER_WINDOW`].
    pub players: u32,
    /// Continuous-stream (and tuner) clients connected now.
    pub streams: u32,
}

impl Viewers {
    /// Everyone, either way.
    pub fn total(&self) -> u32 {
        self.players + self.streams
    }
}

/// The counts behind [`Viewers`].
#[derive(Debug, Default)]
pub struct Audience {
    /// Each HLS client (a hash of what identifies it) by when it last fetched a
    /// segment.
    players: Mutex<HashMap<u64, Instant>>,
    streams: AtomicU32,
}

impl Audience {
    /// HLS client `client` fetched a segment at `now`. Clients gone quiet for
    /// longer than [`PLAYER_WINDOW`] are forgotten as new ones come.
    pub fn saw_player(&self, client: u64, now: Instant) {
        let mut players = self.players.lock();
        if players.insert(client, now).is_none() {
            players.retain(|_, at| now.saturating_duration_since(*at) <= PLAYER_WINDOW);
        }
    }

    /// A continuous-stream client connected; it counts until
    /// [`Audience::stream_closed`].
    pub fn stream_opened(&self) {
        self.streams.fetch_add(1, Relaxed);
    }

    /// A continuous-stream client went away.
    pub fn stream_closed(&self) {
        self.streams.fetch_sub(1, Relaxed);
    }

    /// Continuous-stream clients connected now.
    pub fn streams(&self) -> u32 {
        self.streams.load(Relaxed)
    }

    /// The viewers at `now`.
    pub fn viewers(&self, now: Instant) -> Viewers {
        let players = self
            .players
            .lock()
            .values()
            .filter(|at| now.saturating_duration_since(**at) <= PLAYER_WINDOW)
            .count();
        Viewers {
            players: players as u32,
            streams: self.streams(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn players_count_once_each_for_a_minute_and_streams_while_connected() {
        let a = Audience::default();
        let t0 = Instant::now();
        for _ in 0..5 {
            a.saw_player(1, t0);
        }
        a.saw_player(2, t0 + Duration::from_secs(30));
        assert_eq!(a.viewers(t0 + Duration::from_secs(30)).players, 2);
        // The first went quiet a minute ago; the second fetched 31 s ago.
        assert_eq!(a.viewers(t0 + Duration::from_secs(61)).players, 1);
        a.stream_opened();
        a.stream_opened();
        let v = a.viewers(t0 + Duration::from_secs(61));
        assert_eq!((v.streams, v.total()), (2, 3));
        a.stream_closed();
        a.stream_closed();
        assert_eq!(a.viewers(t0).streams, 0, "streams count while connected");
        // Forgotten clients leave the map as new ones come.
        a.saw_player(3, t0 + Duration::from_secs(200));
        assert_eq!(a.players.lock().len(), 1);
    }
}
