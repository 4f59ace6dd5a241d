//! Segment tracking: which parts of a video were already cut into clips, and where
//! the next clip comes from. Pure functions over seconds; the library stores the
//! ranges in the database.
//!
//! A clip is taken from a range never used before. When no unused range is long
//! enough, the video is used up: its ranges start over (the original tool never
//! reset them, so an old library slowly stopped varying).

use rand::{Rng, RngExt};

use crate::db::ranges::EPS;
pub use crate::db::ranges::Range;

/// Sorts ranges and merges those that overlap or touch.
pub fn merge(mut ranges: Vec<Range>) -> Vec<Range> {
    ranges.retain(|r| !r.is_empty());
    ranges.sort_by(|a, b| a.start.total_cmp(&b.start));
    let mut out: Vec<Range> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match out.last_mut() {
            Some(last) if r.start <= last.end + EPS => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

/// The parts of `[0, duration)` not covered by `used` (which must be merged).
pub fn free(used: &[Range], duration: f64) -> Vec<Range> {
    let mut out = Vec::new();
    let mut at = 0.0f64;
    for r in used {
        if r.start > at + EPS {
            out.push(Range {
                start: at,
                end: r.start.min(duration),
            });
        }
        at = at.max(r.end);
    }
    if duration > at + EPS {
        out.push(Range {
            start: at,
            end: duration,
        });
    }
    out.retain(|r| !r.is_empty());
    out
}

/// Where the next clip of a video comes from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cut {
    /// Start in the source, seconds.
    pub start: f64,
    /// Length in whole GOPs (every clip is whole segments).
    pub gops: u32,
    /// The video was used up: its ranges were cleared before this cut.
    pub reset: bool,
}

impl Cut {
    /// The span of the source this cut uses, clamped to the source (a cut of a very
    /// short video is padded past its end).
    pub fn range(&self, gop_secs: f64, duration: f64) -> Range {
        Range {
            start: self.start,
            end: (self.start + self.gops as f64 * gop_secs).min(duration),
        }
    }
}

/// Chooses the next clip of a video of `duration` seconds, given its used ranges
/// (merged). The clip wants `want_gops` GOPs of `gop_secs` each and accepts as few as
/// `min_gops` when only shorter unused ranges are left.
///
/// The start is uniform over every position where the clip fits in an unused range.
/// A video shorter than the shortest clip is used whole.
pub fn choose(
    used: &[Range],
    duration: f64,
    gop_secs: f64,
    want_gops: u32,
    min_gops: u32,
    rng: &mut impl Rng,
) -> Cut {
    let min_gops = min_gops.clamp(1, want_gops.max(1));
    let want_gops = want_gops.max(min_gops);
    let min_len = min_gops as f64 * gop_secs;
    if duration < min_len + EPS {
        // Shorter than the shortest clip: used whole, padded to whole GOPs.
        let gops = ((duration / gop_secs).ceil() as u32).clamp(1, min_gops);
        return Cut {
            start: 0.0,
            gops,
            reset: !used.is_empty(),
        };
    }
    let gaps = free(used, duration);
    // Longest length that fits somewhere, from the wanted one down to the minimum.
    let longest = gaps.iter().map(Range::len).fold(0.0, f64::max);
    let fit = ((longest + EPS) / gop_secs).floor() as u32;
    let (gaps, gops, reset) = if fit >= min_gops {
        (gaps, fit.min(want_gops), false)
    } else {
        let all = vec![Range {
            start: 0.0,
            end: duration,
        }];
        let fit_all = ((duration + EPS) / gop_secs).floor() as u32;
        (all, fit_all.min(want_gops), true)
    };
    let len = gops as f64 * gop_secs;
    // Uniform over all feasible start positions across the gaps.
    let slack: Vec<f64> = gaps.iter().map(|g| (g.len() - len).max(0.0)).collect();
    let fits: Vec<usize> = (0..gaps.len())
        .filter(|&i| gaps[i].len() + EPS >= len)
        .collect();
    let total: f64 = fits.iter().map(|&i| slack[i]).sum();
    let start = if total <= EPS {
        gaps[fits[rng.random_range(0..fits.len())]].start
    } else {
        let mut u = rng.random_range(0.0..total);
        let mut start = gaps[fits[0]].start;
        for &i in &fits {
            if u <= slack[i] {
                start = gaps[i].start + u;
                break;
            }
            u -= slack[i];
        }
        start
    };
    Cut { start, gops, reset }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn r(start: f64, end: f64) -> Range {
        Range { start, end }
    }

    #[test]
    fn merge_joins_overlapping_and_touching() {
        let m = merge(vec![
            r(10.0, 12.0),
            r(0.0, 2.0),
            r(2.0, 4.0),
            r(11.0, 15.0),
            r(20.0, 20.0),
        ]);
        assert_eq!(m, vec![r(0.0, 4.0), r(10.0, 15.0)]);
    }

    #[test]
    fn free_is_the_complement() {
        assert_eq!(free(&[], 10.0), vec![r(0.0, 10.0)]);
        assert_eq!(
            free(&[r(0.0, 2.0), r(5.0, 6.0)], 10.0),
            vec![r(2.0, 5.0), r(6.0, 10.0)]
        );
        assert!(free(&[r(0.0, 10.0)], 10.0).is_empty());
    }

    #[test]
    fn short_video_is_used_whole() {
        let mut rng = StdRng::seed_from_u64(1);
        let c = choose(&[], 3.0, 2.0, 3, 3, &mut rng);
        assert_eq!(
            c,
            Cut {
                start: 0.0,
                gops: 2,
                reset: false
            }
        );
        let c = choose(&[r(0.0, 3.0)], 3.0, 2.0, 3, 3, &mut rng);
        assert!(c.reset && c.start == 0.0);
    }

    #[test]
    fn takes_a_shorter_clip_from_the_last_unused_range_before_resetting() {
        let mut rng = StdRng::seed_from_u64(2);
        // 20 s video, all used but [12, 16): 2 GOPs fit, 3 are wanted, 1 is the minimum.
        let used = [r(0.0, 12.0), r(16.0, 20.0)];
        let c = choose(&used, 20.0, 2.0, 3, 1, &mut rng);
        assert_eq!(
            c,
            Cut {
                start: 12.0,
                gops: 2,
                reset: false
            }
        );
        // Nothing left that fits the minimum: start over.
        let used = [r(0.0, 19.0)];
        let c = choose(&used, 20.0, 2.0, 3, 1, &mut rng);
        assert!(c.reset);
        assert!(c.start + 6.0 <= 20.0 + EPS);
    }

    #[test]
    fn deterministic_under_a_seed() {
        let a = choose(
            &[r(3.0, 9.0)],
            100.0,
            2.0,
            3,
            3,
            &mut StdRng::seed_from_u64(7),
        );
        let b = choose(
            &[r(3.0, 9.0)],
            100.0,
            2.0,
            3,
            3,
            &mut StdRng::seed_from_u64(7),
        );
        assert_eq!(a, b);
    }

    proptest! {
        /// Cutting clips one after another never reuses a second of the video
        /// before every usable part of it was used; then it starts over.
        #[test]
        fn never_reuses_a_range_before_the_video_is_used_up(
            duration in 1.0f64..400.0,
            gop in prop::sample::select(vec![1.0f64, 2.0, 2.002]),
            min_gops in 1u32..4,
            extra in 0u32..4,
            seed in any::<u64>(),
        ) {
            let mut rng = StdRng::seed_from_u64(seed);
            let want = min_gops + extra;
            let mut used: Vec<Range> = Vec::new();
            for _ in 0..200 {
                let want_now = rng.random_range(min_gops..=want);
                let cut = choose(&used, duration, gop, want_now, min_gops, &mut rng);
                let span = cut.range(gop, duration);
                prop_assert!(cut.gops >= 1 && cut.gops <= want_now);
                prop_assert!(span.start >= 0.0 && span.end <= duration + EPS);
                if cut.reset {
                    // Only when nothing of the minimum length was left unused.
                    let longest = free(&used, duration).iter().map(Range::len).fold(0.0, f64::max);
                    prop_assert!(longest + EPS < (min_gops as f64 * gop).min(duration) || duration < min_gops as f64 * gop + EPS);
                    used.clear();
                } else {
                    for u in &used {
                        prop_assert!(span.end <= u.start + EPS || span.start >= u.end - EPS,
                            "cut {span:?} overlaps used {u:?}");
                    }
                }
                used.push(span);
                used = merge(used);
            }
        }
    }
}
