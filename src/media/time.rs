//! 90 kHz timestamps on the channel's unwrapped timeline.
//!
//! MPEG-TS carries PTS/DTS in 33 bits, which wrap after about 26.5 hours. The channel
//! never ends, so everything inside shufflecast counts on a 64-bit timeline that never
//! wraps, and only the muxer folds values to 33 bits when it writes them.

use std::time::Duration;

/// Ticks per second of the MPEG system clock used for PTS/DTS.
pub const TICKS_PER_SECOND: u64 = 90_000;
/// PTS and DTS are 33-bit fields: they wrap at this value.
pub const PTS_WRAP: u64 = 1 << 33;

/// A point (or a span) on the channel's unwrapped 90 kHz timeline.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ticks(pub u64);

impl Ticks {
    /// The value as written into a PES header: folded to 33 bits.
    pub fn wrapped(self) -> u64 {
        self.0 % PTS_WRAP
    }

    /// Whole ticks in `secs` seconds, rounded to the nearest tick.
    pub fn from_secs_f64(secs: f64) -> Ticks {
        Ticks((secs * TICKS_PER_SECOND as f64).round() as u64)
    }

    /// The value in seconds.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / TICKS_PER_SECOND as f64
    }

    /// The value as a [`Duration`], truncated to whole nanoseconds.
    pub fn as_duration(self) -> Duration {
        Duration::from_nanos(self.0 * 1_000_000_000 / TICKS_PER_SECOND)
    }
}

impl std::ops::Add for Ticks {
    type Output = Ticks;
    fn add(self, rhs: Ticks) -> Ticks {
        Ticks(self.0 + rhs.0)
    }
}

impl std::ops::AddAssign for Ticks {
    fn add_assign(&mut self, rhs: Ticks) {
        self.0 += rhs.0;
    }
}

impl std::ops::Sub for Ticks {
    type Output = Ticks;
    fn sub(self, rhs: Ticks) -> Ticks {
        Ticks(self.0 - rhs.0)
    }
}

/// Unwraps a sequence of 33-bit timestamps read from a file: each value is placed
/// on the 64-bit timeline nearest to the previous one, so a file that crosses the
/// wrap point still reads as monotonic.
#[derive(Debug, Default)]
pub struct Unwrapper {
    last: Option<u64>,
}

impl Unwrapper {
    /// Places the 33-bit timestamp `raw33` on the 64-bit timeline, in whichever
    /// wrap period puts it nearest the previous value; the first value is taken as is.
    pub fn unwrap(&mut self, raw33: u64) -> u64 {
        let raw = raw33 % PTS_WRAP;
        let value = match self.last {
            None => raw,
            Some(last) => {
                let period = last / PTS_WRAP;
                [period.saturating_sub(1), period, period + 1]
                    .into_iter()
                    .map(|p| p * PTS_WRAP + raw)
                    .min_by_key(|v| v.abs_diff(last))
                    .unwrap_or(raw)
            }
        };
        self.last = Some(value);
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapped_folds_to_33_bits() {
        assert_eq!(Ticks(PTS_WRAP - 1).wrapped(), PTS_WRAP - 1);
        assert_eq!(Ticks(PTS_WRAP).wrapped(), 0);
        assert_eq!(Ticks(PTS_WRAP * 3 + 42).wrapped(), 42);
    }

    #[test]
    fn unwrapper_crosses_the_wrap_forward() {
        let mut u = Unwrapper::default();
        assert_eq!(u.unwrap(PTS_WRAP - 3000), PTS_WRAP - 3000);
        assert_eq!(u.unwrap(0), PTS_WRAP);
        assert_eq!(u.unwrap(3000), PTS_WRAP + 3000);
        // B-frame reordering steps back a little: still the same period.
        assert_eq!(u.unwrap(1500), PTS_WRAP + 1500);
    }

    #[test]
    fn unwrapper_handles_small_backward_steps_before_wrap() {
        let mut u = Unwrapper::default();
        assert_eq!(u.unwrap(100), 100);
        assert_eq!(u.unwrap(50), 50);
        assert_eq!(u.unwrap(PTS_WRAP - 10), PTS_WRAP - 10);
    }

    #[test]
    fn seconds_round_trip() {
        assert_eq!(Ticks::from_secs_f64(2.0), Ticks(180_000));
        assert_eq!(Ticks(45_000).as_secs_f64(), 0.5);
        assert_eq!(Ticks(90_000).as_duration(), Duration::from_secs(1));
    }
}
