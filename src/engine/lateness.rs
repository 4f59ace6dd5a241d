//! How late a channel's segments were published against its schedule.

/// How late segments were published against the engine's schedule: a histogram of
/// whole milliseconds (the last bucket holds everything from [`Lateness::BUCKETS`]
/// ms on), and the worst.
#[derive(Clone, Debug, PartialEq)]
pub struct Lateness {
    counts: Vec<u32>,
    /// The latest segment, ever.
    pub max: std::time::Duration,
    /// Every segment's lateness added up (the `_sum` of the /metrics histogram).
    pub total: std::time::Duration,
}

impl Default for Lateness {
    fn default() -> Self {
        Lateness {
            counts: vec![0; Lateness::BUCKETS + 1],
            max: std::time::Duration::ZERO,
            total: std::time::Duration::ZERO,
        }
    }
}

impl Lateness {
    /// Milliseconds told apart; later ones share the last bucket.
    pub const BUCKETS: usize = 250;

    /// Counts a segment published `late`.
    pub fn record(&mut self, late: std::time::Duration) {
        let ms = (late.as_millis() as usize).min(Lateness::BUCKETS);
        self.counts[ms] += 1;
        self.max = self.max.max(late);
        self.total += late;
    }

    /// Segments counted.
    pub fn count(&self) -> u64 {
        self.counts.iter().map(|&n| u64::from(n)).sum()
    }

    /// Segments published less than `ms` milliseconds late (`ms` up to
    /// [`Lateness::BUCKETS`]; all of them beyond).
    pub fn under(&self, ms: usize) -> u64 {
        match ms > Lateness::BUCKETS {
            true => self.count(),
            false => self.counts[..ms].iter().map(|&n| u64::from(n)).sum(),
        }
    }

    /// The lateness `q` (0..=1) of the segments were at most, to the millisecond
    /// (the worst when it falls in the last bucket).
    pub fn quantile(&self, q: f64) -> std::time::Duration {
        let want = (q.clamp(0.0, 1.0) * self.count() as f64).ceil() as u64;
        let mut seen = 0;
        for (ms, &n) in self.counts.iter().enumerate() {
            seen += u64::from(n);
            if seen >= want.max(1) {
                if ms == Lateness::BUCKETS {
                    return self.max;
                }
                return std::time::Duration::from_millis(ms as u64 + 1).min(self.max);
            }
        }
        self.max
    }

    /// Adds `other`'s counts (for figures over several channels).
    pub fn merge(&mut self, other: &Lateness) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.max = self.max.max(other.max);
        self.total += other.total;
    }
}
