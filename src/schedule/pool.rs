//! One pool of encode slots for every channel (GENERATOR_JOBS of them).
//!
//! Each channel's generator asks for a slot before each clip it encodes and gives
//! it back when the encode ends. A slot that comes free goes to the waiting
//! channel whose [`Claim`] ranks first at that moment, clip by clip, so no channel
//! starves while another builds a long chunk, and the encoders follow the viewers:
//! 1. watched channels with less than [`URGENT_SECS`] of fresh air ahead, the most
//!    viewers first (then the least fresh air): a watched channel re-airs nothing
//!    while the encoders can keep up with it;
//! 2. unwatched channels whose floor of fresh air is due (no clip for their
//!    `UNWATCHED_FRESH_EVERY`), the least fresh air first;
//! 3. the other watched channels, the least fresh air first;
//! 4. the other unwatched channels, the least fresh air first: what encode time is
//!    left.

use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::oneshot;

use crate::media::h264::ParameterSets;

/// A watched channel with less fresh air than this ready comes before every
/// channel but a watched one with more viewers: it would re-air soon.
pub const URGENT_SECS: f64 = 120.0;

/// A channel's claim on the next slot, read when one comes free.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Claim {
    /// People watching it now (HLS players and stream clients).
    pub viewers: u32,
    /// Seconds of fresh (never aired) air it has ready.
    pub fresh_secs: f64,
    /// Unwatched and due its floor of fresh air (no clip for its
    /// `UNWATCHED_FRESH_EVERY`).
    pub floor_due: bool,
}

impl Claim {
    /// Its tier in the order of the module's header (the lowest is served first).
    pub fn tier(&self) -> u8 {
        match (
            self.viewers > 0,
            self.fresh_secs < URGENT_SECS,
            self.floor_due,
        ) {
            (true, true, _) => 0,
            (false, _, true) => 1,
            (true, false, _) => 2,
            (false, _, false) => 3,
        }
    }

    /// Served before `other`: the lower tier; in the first, more viewers; then
    /// the least fresh air.
    fn before(&self, other: &Claim) -> bool {
        let (a, b) = (self.tier(), other.tier());
        if a != b {
            return a < b;
        }
        if a == 0 && self.viewers != other.viewers {
            return self.viewers > other.viewers;
        }
        self.fresh_secs < other.fresh_secs
    }
}

/// A channel's claim, as it stands whenever a slot comes free.
pub type Need = Arc<dyn Fn() -> Claim + Send + Sync>;

/// The shared encode slots, and what every generator shares besides (the
/// reference parameter sets of the profile).
#[derive(Clone)]
pub struct EncodePool {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
    slots: usize,
    /// The parameter sets every clip must carry: made once for all channels.
    pub(super) reference: tokio::sync::Mutex<Option<References>>,
}

/// The parameter sets of every rung (the top first), with the profiles, ladder
/// and encoder they were made for; `None`: a reference encode failed, clips go
/// unchecked.
pub(super) type References = (String, Option<Vec<ParameterSets>>);

#[derive(Default)]
struct State {
    free: usize,
    waiters: Vec<Waiter>,
}

struct Waiter {
    need: Need,
    grant: oneshot::Sender<Slot>,
}

/// A slot held: given back when dropped.
pub struct Slot {
    inner: Arc<Inner>,
}

impl EncodePool {
    /// A pool of `slots` encodes at once (at least one).
    pub fn new(slots: usize) -> EncodePool {
        let slots = slots.max(1);
        EncodePool {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    free: slots,
                    waiters: Vec::new(),
                }),
                slots,
                reference: tokio::sync::Mutex::new(None),
            }),
        }
    }

    /// Waits for a slot; `need` ranks this channel among the waiters whenever one
    /// comes free.
    pub async fn acquire(&self, need: Need) -> Slot {
        let rx = {
            let mut s = self.inner.state.lock();
            if s.free > 0 && s.waiters.is_empty() {
                s.free -= 1;
                return Slot {
                    inner: self.inner.clone(),
                };
            }
            let (grant, rx) = oneshot::channel();
            s.waiters.push(Waiter { need, grant });
            rx
        };
        // The sender is only dropped after sending (a grant) or with the pool,
        // which outlives its users.
        rx.await.unwrap_or_else(|_| Slot {
            inner: self.inner.clone(),
        })
    }

    /// Encodes running now, and channels waiting for a slot.
    pub fn load(&self) -> (usize, usize) {
        let s = self.inner.state.lock();
        (self.inner.slots - s.free, s.waiters.len())
    }

    /// The shared reference parameter sets (see [`crate::schedule::generator`]).
    pub(super) fn reference(&self) -> &tokio::sync::Mutex<Option<References>> {
        &self.inner.reference
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut s = self.inner.state.lock();
        // Waiters whose generator stopped waiting are dropped as they are met.
        s.waiters.retain(|w| !w.grant.is_closed());
        loop {
            let Some(i) = neediest(&s.waiters) else {
                s.free += 1;
                return;
            };
            let w = s.waiters.swap_remove(i);
            let slot = Slot {
                inner: self.inner.clone(),
            };
            match w.grant.send(slot) {
                Ok(()) => return,
                // It stopped waiting just now: the slot came back (its drop could
                // not take the lock we hold, so it is forgotten) and goes on.
                Err(slot) => std::mem::forget(slot),
            }
        }
    }
}

/// The waiter whose claim ranks first (the first to ask among equals).
fn neediest(waiters: &[Waiter]) -> Option<usize> {
    let mut best: Option<(usize, Claim)> = None;
    for (i, w) in waiters.iter().enumerate() {
        let n = (w.need)();
        if best.is_none_or(|(_, b)| n.before(&b)) {
            best = Some((i, n));
        }
    }
    best.map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    fn need(v: f64) -> Need {
        watched(0, v)
    }

    fn watched(viewers: u32, fresh_secs: f64) -> Need {
        Arc::new(move || Claim {
            viewers,
            fresh_secs,
            floor_due: false,
        })
    }

    #[tokio::test]
    async fn a_free_slot_goes_to_the_channel_with_the_least_ready_air_time() {
        let pool = EncodePool::new(1);
        let held = pool.acquire(need(0.0)).await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for (name, secs) in [("rich", 600.0), ("poor", 5.0), ("middle", 60.0)] {
            let (p, order) = (pool.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                let slot = p.acquire(need(secs)).await;
                order.lock().push(name);
                tokio::task::yield_now().await;
                drop(slot);
            }));
            // Each is queued before the next asks.
            while pool.load().1 < tasks.len() {
                tokio::task::yield_now().await;
            }
        }
        assert_eq!(pool.load(), (1, 3));
        drop(held);
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*order.lock(), ["poor", "middle", "rich"]);
        assert_eq!(pool.load(), (0, 0));
    }

    #[tokio::test]
    async fn the_need_is_read_when_the_slot_comes_free_and_a_waiter_that_left_loses_nothing() {
        let pool = EncodePool::new(2);
        let a = pool.acquire(need(0.0)).await;
        let b = pool.acquire(need(0.0)).await;
        // Ranked by what it has ready when a slot frees, not when it asked.
        let fresh = Arc::new(AtomicU64::new(1000));
        let f = fresh.clone();
        let waiting = {
            let pool = pool.clone();
            tokio::spawn(async move {
                pool.acquire(Arc::new(move || Claim {
                    fresh_secs: f.load(Ordering::SeqCst) as f64,
                    ..Claim::default()
                }))
                .await
            })
        };
        let other = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.acquire(need(100.0)).await })
        };
        let leaving = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.acquire(need(-1.0)).await })
        };
        while pool.load().1 < 3 {
            tokio::task::yield_now().await;
        }
        leaving.abort();
        let _ = leaving.await;
        fresh.store(1, Ordering::SeqCst);
        drop(a);
        let first = waiting.await.unwrap();
        drop(b);
        let second = other.await.unwrap();
        assert_eq!(pool.load(), (2, 0));
        drop((first, second));
        assert_eq!(pool.load(), (0, 0));
    }

    /// The order of the module's header, by the claims alone.
    #[test]
    fn watched_first_most_viewers_first_then_the_floor_then_the_rest() {
        let c = |viewers, fresh_secs, floor_due| Claim {
            viewers,
            fresh_secs,
            floor_due,
        };
        let mut claims = vec![
            ("idle rich", c(0, 900.0, false)),
            ("idle poor", c(0, 0.0, false)),
            ("floor due", c(0, 500.0, true)),
            ("one viewer, urgent", c(1, 30.0, false)),
            ("ten viewers, urgent", c(10, 90.0, false)),
            ("ten viewers, more urgent", c(10, 10.0, false)),
            ("watched, well ahead", c(50, 400.0, false)),
            ("watched, ahead", c(1, 200.0, false)),
        ];
        let mut order = Vec::new();
        while !claims.is_empty() {
            let i = (0..claims.len())
                .reduce(|b, i| {
                    if claims[i].1.before(&claims[b].1) {
                        i
                    } else {
                        b
                    }
                })
                .unwrap();
            order.push(claims.remove(i).0);
        }
        assert_eq!(
            order,
            [
                "ten viewers, more urgent",
                "ten viewers, urgent",
                "one viewer, urgent",
                "floor due",
                "watched, ahead",
                "watched, well ahead",
                "idle poor",
                "idle rich",
            ]
        );
    }

    #[tokio::test]
    async fn a_free_slot_goes_to_the_watched_channel_before_a_poorer_unwatched_one() {
        let pool = EncodePool::new(1);
        let held = pool.acquire(need(0.0)).await;
        let unwatched = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.acquire(Arc::new(Claim::default)).await })
        };
        while pool.load().1 < 1 {
            tokio::task::yield_now().await;
        }
        let watched = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.acquire(watched(3, 60.0)).await })
        };
        while pool.load().1 < 2 {
            tokio::task::yield_now().await;
        }
        drop(held);
        let slot = watched.await.unwrap();
        assert_eq!(pool.load(), (1, 1), "the unwatched channel still waits");
        drop(slot);
        drop(unwatched.await.unwrap());
    }
}
