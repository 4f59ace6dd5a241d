//! The programme grid: fixed wall-clock slots of PROGRAMME_MINUTES that start on
//! its multiples in local time (30: at :00 and :30), listed GUIDE_HOURS ahead.
//! A slot once listed is kept in the database and never changes: not across
//! skips, settings changes (a new length applies after the slots already listed)
//! or restarts, graceful or not.

use chrono::{LocalResult, NaiveDate, NaiveDateTime, TimeZone, Timelike};
use parking_lot::Mutex;

use crate::db::DbError;
use crate::db::slots::{Slot, SlotStore};

/// Minutes in a day: a programme's length divides it.
pub const DAY_MINUTES: u32 = 1440;

/// Slots are listed this far beyond what is asked, so the list grows about once
/// an hour rather than at every slot.
const LIST_AHEAD: i64 = 3600;

/// Slots that ended this long ago are dropped.
const KEEP_PAST: i64 = 24 * 3600;

/// The local time of `t`.
fn local<Tz: TimeZone>(tz: &Tz, t: i64) -> NaiveDateTime {
    tz.timestamp_opt(t, 0)
        .single()
        .map(|d| d.naive_local())
        .unwrap_or_default()
}

/// The instant of local time `civil`: the earlier when the clocks went back and
/// it happened twice, none when the clocks went forward over it.
fn instant<Tz: TimeZone>(tz: &Tz, civil: NaiveDateTime) -> Option<i64> {
    match tz.from_local_datetime(&civil) {
        LocalResult::Single(d) | LocalResult::Ambiguous(d, _) => Some(d.timestamp()),
        LocalResult::None => None,
    }
}

/// The `k`th boundary of `date`'s grid of `minutes`, in local time.
fn civil(date: NaiveDate, minutes: u32, k: i64) -> NaiveDateTime {
    date.and_time(chrono::NaiveTime::MIN) + chrono::Duration::minutes(k * minutes as i64)
}

/// The most boundaries looked at before giving up on the local time (a zone whose
/// rules skip days); then slots simply follow each other by `minutes`.
const TRIES: i64 = 4 * DAY_MINUTES as i64;

/// The first boundary of the grid of `minutes` in `tz` strictly after `t`.
pub fn next_boundary<Tz: TimeZone>(tz: &Tz, minutes: u32, t: i64) -> i64 {
    let minutes = minutes.clamp(1, DAY_MINUTES);
    let at = local(tz, t);
    let of_day = (at.hour() * 60 + at.minute()) as i64;
    let first = of_day / minutes as i64 + 1;
    (first..first + TRIES)
        .filter_map(|k| instant(tz, civil(at.date(), minutes, k)))
        .find(|b| *b > t)
        .unwrap_or(t + minutes as i64 * 60)
}

/// The boundary of the slot that holds `t`: the last boundary at or before it on
/// the chain of [`next_boundary`] (so when the clocks go back, the slot that
/// started in the first pass of the repeated hour holds the second pass too).
pub fn slot_start<Tz: TimeZone>(tz: &Tz, minutes: u32, t: i64) -> i64 {
    let minutes = minutes.clamp(1, DAY_MINUTES);
    let at = local(tz, t);
    let of_day = (at.hour() * 60 + at.minute()) as i64;
    let last = of_day / minutes as i64;
    let mut b = (0..TRIES)
        .filter_map(|i| instant(tz, civil(at.date(), minutes, last - i)))
        .find(|b| *b <= t)
        .unwrap_or(t);
    loop {
        let next = next_boundary(tz, minutes, b);
        if next > t {
            return b;
        }
        b = next;
    }
}

/// The slots to add to `kept` (listed, by start) so that they run without a gap
/// from the slot holding `now` to `until` and a little beyond: on the grid of
/// `minutes` in `tz`, each new one starting where the last kept one stops. The
/// kept ones are never touched, so after a change of `minutes` the first new slot
/// may be shorter, from the old grid to the new one.
pub fn to_list<Tz: TimeZone>(
    tz: &Tz,
    minutes: u32,
    kept: &[Slot],
    now: i64,
    until: i64,
) -> Vec<Slot> {
    let mut out = Vec::new();
    let slots = |from: i64, to: i64, out: &mut Vec<Slot>| {
        let mut start = from;
        while start < to {
            let stop = next_boundary(tz, minutes, start);
            out.push(Slot { start, stop });
            start = stop;
        }
    };
    match (kept.first(), kept.last()) {
        (Some(first), Some(last)) if last.stop > now => {
            // Before the first (the wall clock went back): up to it, the last cut there.
            if now < first.start {
                slots(slot_start(tz, minutes, now), first.start, &mut out);
                if let Some(l) = out.last_mut() {
                    l.stop = l.stop.min(first.start);
                }
            }
            if last.stop < until {
                slots(last.stop, until + LIST_AHEAD, &mut out);
            }
        }
        // Nothing kept, or all of it past (the server was off): from the slot of
        // now on, never before the end of the last kept one.
        _ => {
            let from = slot_start(tz, minutes, now).max(kept.last().map_or(i64::MIN, |l| l.stop));
            slots(from, until + LIST_AHEAD, &mut out);
        }
    }
    out
}

/// A channel's programme grid: the listed slots, in memory and in the database.
pub struct ProgrammeGrid {
    store: SlotStore,
    slots: Mutex<Vec<Slot>>,
}

impl ProgrammeGrid {
    /// The grid as the database keeps it.
    pub fn load(store: SlotStore) -> Result<ProgrammeGrid, DbError> {
        let slots = store.all()?;
        Ok(ProgrammeGrid {
            store,
            slots: Mutex::new(slots),
        })
    }

    /// Whether the kept slots cover `now` to `until` already (then [`Self::list`]
    /// writes nothing).
    pub fn covers(&self, now: i64, until: i64) -> bool {
        let s = self.slots.lock();
        matches!((s.first(), s.last()), (Some(f), Some(l)) if f.start <= now && l.stop >= until)
    }

    /// The slots kept from the one holding `now` to the one holding `until`,
    /// without listing any (never blocks on SQLite).
    pub fn kept(&self, now: i64, until: i64) -> Vec<Slot> {
        window(&self.slots.lock(), now, until)
    }

    /// The slots from the one holding `now` to the one holding `until`, listing
    /// (and saving, before they are given out) those still missing on the grid of
    /// `minutes` in `tz`. Slots long past are dropped then too. Blocks on SQLite
    /// when it lists: call it off the async threads.
    pub fn list<Tz: TimeZone>(
        &self,
        tz: &Tz,
        minutes: u32,
        now: i64,
        until: i64,
    ) -> Result<Vec<Slot>, DbError> {
        let mut s = self.slots.lock();
        let mut new = to_list(tz, minutes, &s, now, until);
        if !new.is_empty() {
            if let Err(e) = self.store.add(&new) {
                // Another grid of the channel (a channel being restarted) listed
                // them first: go on from what it saved.
                tracing::debug!(error = %e, "programme slots listed meanwhile; reloading");
                *s = self.store.all()?;
                new = to_list(tz, minutes, &s, now, until);
                self.store.add(&new)?;
            }
            s.extend(new);
            s.sort_by_key(|x| x.start);
            let old = now - KEEP_PAST;
            if s.first().is_some_and(|f| f.stop < old) {
                self.store.drop_ended_before(old)?;
                s.retain(|x| x.stop >= old);
            }
        }
        Ok(window(&s, now, until))
    }
}

/// The slots of `s` from the one holding `now` to the one holding `until`.
fn window(s: &[Slot], now: i64, until: i64) -> Vec<Slot> {
    s.iter()
        .filter(|x| x.stop > now && x.start < until)
        .copied()
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::{FixedOffset, MappedLocalTime, NaiveDateTime, TimeZone, Utc};

    use super::*;

    /// A zone at +01:00 that moves to +02:00 at `at` (UTC): the clocks jump from
    /// 02:00 to 03:00 local, as in spring, or back when `back` (+02:00 to +01:00,
    /// 03:00 to 02:00 local, as in autumn).
    #[derive(Clone, Copy, Debug)]
    struct Dst {
        at: i64,
        back: bool,
    }

    impl Dst {
        fn offsets(&self) -> (FixedOffset, FixedOffset) {
            let (one, two) = (
                FixedOffset::east_opt(3600).unwrap(),
                FixedOffset::east_opt(7200).unwrap(),
            );
            if self.back { (two, one) } else { (one, two) }
        }
    }

    impl TimeZone for Dst {
        type Offset = FixedOffset;
        fn from_offset(_: &FixedOffset) -> Self {
            unreachable!("not used")
        }
        fn offset_from_local_date(&self, _: &NaiveDate) -> MappedLocalTime<FixedOffset> {
            unreachable!("not used")
        }
        fn offset_from_local_datetime(&self, l: &NaiveDateTime) -> MappedLocalTime<FixedOffset> {
            let (before, after) = self.offsets();
            let as_before = l.and_utc().timestamp() - before.local_minus_utc() as i64;
            let as_after = l.and_utc().timestamp() - after.local_minus_utc() as i64;
            match (as_before < self.at, as_after >= self.at) {
                (true, true) => MappedLocalTime::Ambiguous(before, after),
                (true, false) => MappedLocalTime::Single(before),
                (false, true) => MappedLocalTime::Single(after),
                (false, false) => MappedLocalTime::None,
            }
        }
        fn offset_from_utc_date(&self, _: &NaiveDate) -> FixedOffset {
            unreachable!("not used")
        }
        fn offset_from_utc_datetime(&self, u: &NaiveDateTime) -> FixedOffset {
            let (before, after) = self.offsets();
            if u.and_utc().timestamp() < self.at {
                before
            } else {
                after
            }
        }
    }

    fn ts(s: &str) -> i64 {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M")
            .unwrap()
            .and_utc()
            .timestamp()
    }

    /// The slots from `from` for `n` boundaries, as local "HH:MM" times.
    fn chain<Tz: TimeZone>(tz: &Tz, minutes: u32, from: i64, n: usize) -> Vec<String> {
        let mut t = slot_start(tz, minutes, from);
        let mut out = Vec::new();
        for _ in 0..n {
            out.push(local(tz, t).format("%H:%M").to_string());
            t = next_boundary(tz, minutes, t);
        }
        out
    }

    #[test]
    fn slots_start_on_multiples_of_their_length_in_local_time() {
        let t = ts("2026-12-07 10:17");
        assert_eq!(slot_start(&Utc, 30, t), ts("2026-12-07 10:00"));
        assert_eq!(next_boundary(&Utc, 30, t), ts("2026-12-07 10:30"));
        assert_eq!(
            next_boundary(&Utc, 30, ts("2026-12-07 10:30")),
            ts("2026-12-07 11:00")
        );
        assert_eq!(
            slot_start(&Utc, 30, ts("2026-12-07 10:30")),
            ts("2026-12-07 10:30")
        );
        assert_eq!(next_boundary(&Utc, 1440, t), ts("2026-12-08 00:00"));
        // India is 5:30 ahead: an hour's programmes start at :00 there, :30 in UTC.
        let india = FixedOffset::east_opt(5 * 3600 + 1800).unwrap();
        assert_eq!(slot_start(&india, 60, t), ts("2026-12-07 09:30"));
        assert_eq!(chain(&india, 60, t, 3), ["15:00", "16:00", "17:00"]);
        // Nepal, 5:45 ahead, with quarter hours.
        let nepal = FixedOffset::east_opt(5 * 3600 + 45 * 60).unwrap();
        assert_eq!(chain(&nepal, 15, t, 3), ["16:00", "16:15", "16:30"]);
        // A day's last slot ends at midnight, the next day's starts there.
        assert_eq!(
            chain(&Utc, 180, ts("2026-12-07 22:00"), 3),
            ["21:00", "00:00", "03:00"]
        );
    }

    #[test]
    fn when_the_clocks_change_slots_neither_overlap_nor_leave_a_gap() {
        // Spring: 02:00 local (+01:00) is 01:00 UTC, and becomes 03:00 (+02:00).
        let spring = Dst {
            at: ts("2027-03-28 01:00"),
            back: false,
        };
        assert_eq!(
            chain(&spring, 30, ts("2027-03-28 00:00"), 4),
            ["01:00", "01:30", "03:00", "03:30"],
            "02:00 and 02:30 never happen: the 01:30 slot ends at 03:00, half an hour later"
        );
        // Autumn: 03:00 local (+02:00) is 01:00 UTC, and becomes 02:00 (+01:00): the
        // hour from 02:00 happens twice. Its slots are those of the first pass; the
        // 02:30 slot holds the second pass too.
        let autumn = Dst {
            at: ts("2027-10-31 01:00"),
            back: true,
        };
        let from = ts("2027-10-30 23:30"); // 01:30 local
        assert_eq!(
            chain(&autumn, 30, from, 4),
            ["01:30", "02:00", "02:30", "03:00"]
        );
        let second_pass = ts("2027-10-31 01:10"); // 02:10 local, the second time
        let start = slot_start(&autumn, 30, second_pass);
        assert_eq!(local(&autumn, start).format("%H:%M").to_string(), "02:30");
        assert!(start <= second_pass && next_boundary(&autumn, 30, start) > second_pass);
        // Every slot over both days is positive and follows the last.
        for tz in [spring, autumn] {
            let mut t = tz.at - 2 * 86400;
            for _ in 0..400 {
                let n = next_boundary(&tz, 30, t);
                assert!(n > t && n - t <= 5400, "{t} → {n}");
                assert_eq!(slot_start(&tz, 30, n), n);
                assert_eq!(slot_start(&tz, 30, n - 1), t);
                t = n;
            }
        }
    }

    #[test]
    fn listing_adds_at_the_end_only_and_a_new_length_after_what_is_listed() {
        let now = ts("2026-12-07 10:17");
        let first = to_list(&Utc, 30, &[], now, now + 2 * 3600);
        assert_eq!(first[0].start, ts("2026-12-07 10:00"));
        assert!(first.last().unwrap().stop >= now + 3 * 3600);
        assert!(first.windows(2).all(|w| w[0].stop == w[1].start));
        // Covered: nothing to add.
        assert!(to_list(&Utc, 30, &first, now + 600, now + 2 * 3600).is_empty());
        // An hour of 60-minute slots asked for later: they follow the listed ones,
        // the first from the old grid (13:30) to the new one (14:00).
        let later = now + 3 * 3600;
        let more = to_list(&Utc, 60, &first, later, later + 3600);
        assert_eq!(more[0].start, first.last().unwrap().stop);
        assert_eq!(more[0].stop, ts("2026-12-07 14:00"));
        assert!(
            more[1..]
                .iter()
                .all(|s| s.stop - s.start == 3600 && s.start % 3600 == 0)
        );
        // Off for a week: from the slot of now, nothing for the time it was off.
        let week = now + 7 * 86400;
        let after = to_list(&Utc, 30, &first, week, week + 3600);
        assert_eq!(after[0].start, slot_start(&Utc, 30, week));
        // The wall clock set back before the first slot: slots up to it, the last cut.
        let back = to_list(&Utc, 45, &first, now - 3 * 3600, now);
        assert_eq!(back.last().unwrap().stop, first[0].start);
        assert!(back.windows(2).all(|w| w[0].stop == w[1].start));
    }

    #[test]
    fn a_grid_lists_once_saves_first_and_reloads_the_same() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("t.db");
        let db = crate::db::Db::open(&path).unwrap();
        let now = ts("2026-12-07 10:17");
        let g = ProgrammeGrid::load(db.slots("main")).unwrap();
        assert!(!g.covers(now, now + 48 * 3600));
        let listed = g.list(&Utc, 30, now, now + 48 * 3600).unwrap();
        assert_eq!(listed.len(), 97, "10:00 to 10:30 two days later");
        assert!(g.covers(now, now + 48 * 3600));
        // Another length later changes nothing listed.
        let again = g.list(&Utc, 60, now + 60, now + 48 * 3600).unwrap();
        assert_eq!(again, listed);
        drop(g);
        drop(db);
        let db = crate::db::Db::open(&path).unwrap();
        let g = ProgrammeGrid::load(db.slots("main")).unwrap();
        assert_eq!(g.list(&Utc, 15, now, now + 48 * 3600).unwrap(), listed);
    }
}
