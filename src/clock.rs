//! The channel's clock, injectable so tests can air hours of stream in seconds.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime};

use parking_lot::Mutex;

/// Time as the live engine sees it: a monotonic offset since the channel started,
/// and the wall-clock time that offset corresponds to (for PROGRAM-DATE-TIME).
pub trait Clock: Send + Sync + 'static {
    /// Monotonic time since the clock started.
    fn now(&self) -> Duration;
    /// Wall-clock time at monotonic offset `at`.
    fn wall(&self, at: Duration) -> SystemTime;
    /// Resolves once `now() >= at`.
    fn sleep_until(&self, at: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
    /// Resolves when the engine must stop waiting for a late clip to publish the
    /// segment due at `at`. In real time that is `at` itself; in virtual time, where
    /// reading a clip takes no time at all, it is a generous real-time patience.
    fn input_deadline(&self, at: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        self.sleep_until(at)
    }
    /// The wall-clock time now: what timestamps in the database and the schedule
    /// read, so tests on a virtual clock see them move with it.
    fn wall_now(&self) -> SystemTime {
        self.wall(self.now())
    }
    /// Unix time now, seconds.
    fn unix_now(&self) -> i64 {
        self.wall_now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64)
    }
}

/// The clock every part of one server shares.
pub type SharedClock = std::sync::Arc<dyn Clock>;

/// The real clock, for parts made without one (tests, tools).
pub fn system_clock() -> SharedClock {
    std::sync::Arc::new(SystemClock::new())
}

/// Real time.
pub struct SystemClock {
    start: tokio::time::Instant,
    wall_start: SystemTime,
}

impl SystemClock {
    /// A clock whose time zero is now.
    pub fn new() -> SystemClock {
        SystemClock {
            start: tokio::time::Instant::now(),
            wall_start: SystemTime::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.start.elapsed()
    }
    fn wall(&self, at: Duration) -> SystemTime {
        self.wall_start + at
    }
    fn sleep_until(&self, at: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(tokio::time::sleep_until(self.start + at))
    }
}

/// Virtual time that jumps forward whenever the engine waits: the engine runs as
/// fast as it can produce segments, and the timestamps it writes are exactly those
/// of a real-time run.
pub struct VirtualClock {
    now: Mutex<Duration>,
    wall_start: SystemTime,
    patience: Duration,
}

impl VirtualClock {
    /// A clock at time zero, which is `wall_start` on the wall clock, with 5 s of
    /// patience for late clips.
    pub fn new(wall_start: SystemTime) -> VirtualClock {
        VirtualClock {
            now: Mutex::new(Duration::ZERO),
            wall_start,
            patience: Duration::from_secs(5),
        }
    }

    /// How long (real time) the engine waits for a late clip before airing the slate.
    pub fn with_patience(mut self, patience: Duration) -> VirtualClock {
        self.patience = patience;
        self
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> Duration {
        *self.now.lock()
    }
    fn wall(&self, at: Duration) -> SystemTime {
        self.wall_start + at
    }
    fn sleep_until(&self, at: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            {
                let mut now = self.now.lock();
                *now = (*now).max(at);
            }
            // Give other tasks (clip loaders, HTTP) a turn, as a real wait would.
            tokio::task::yield_now().await;
        })
    }
    fn input_deadline(&self, _at: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(tokio::time::sleep(self.patience))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn virtual_clock_jumps() {
        let c = VirtualClock::new(SystemTime::UNIX_EPOCH);
        c.sleep_until(Duration::from_secs(3600)).await;
        assert_eq!(c.now(), Duration::from_secs(3600));
        c.sleep_until(Duration::from_secs(10)).await;
        assert_eq!(c.now(), Duration::from_secs(3600), "never goes backwards");
        assert_eq!(
            c.wall(c.now()),
            SystemTime::UNIX_EPOCH + Duration::from_secs(3600)
        );
    }
}
