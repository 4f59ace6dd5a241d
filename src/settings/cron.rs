//! The optional generation schedule: a cron expression ("0 2 * * *": heavy
//! encoding at night). The `croner` crate does the parsing and the calendar; this
//! wrapper keeps it behind our own type and speaks `time`, which the rest of the
//! crate uses.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, FixedOffset, TimeZone};
use croner::Cron;
use croner::parser::{CronParser, Seconds};

/// A parsed cron schedule: five fields (minute hour day-of-month month
/// day-of-week) or an alias (@hourly, @daily, @midnight, @weekly, @monthly,
/// @yearly). Seconds are not accepted: generation runs are never that precise.
#[derive(Clone)]
pub struct CronSchedule {
    expr: String,
    cron: Cron,
}

/// A cron expression that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid schedule {expr:?}: {reason} (expected five fields, minute hour day month weekday, e.g. \"0 2 * * *\", or @hourly, @daily, @weekly)"
)]
pub struct CronError {
    /// The expression as given.
    pub expr: String,
    /// What the parser said.
    pub reason: String,
}

impl FromStr for CronSchedule {
    type Err = CronError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let expr = s.split_whitespace().collect::<Vec<_>>().join(" ");
        let err = |reason: String| CronError {
            expr: s.to_string(),
            reason,
        };
        if expr.is_empty() {
            return Err(err("empty".into()));
        }
        let cron = CronParser::builder()
            .seconds(Seconds::Disallowed)
            .build()
            .parse(&expr)
            .map_err(|e| err(e.to_string()))?;
        Ok(CronSchedule { expr, cron })
    }
}

impl CronSchedule {
    /// The first time strictly after `t` that the schedule fires, in `t`'s offset.
    pub fn next_after(&self, t: time::OffsetDateTime) -> Option<time::OffsetDateTime> {
        let offset = FixedOffset::east_opt(t.offset().whole_seconds())?;
        let start: DateTime<FixedOffset> = offset
            .timestamp_opt(t.unix_timestamp(), t.nanosecond())
            .single()?;
        let next = self.cron.find_next_occurrence(&start, false).ok()?;
        let at = time::OffsetDateTime::from_unix_timestamp(next.timestamp()).ok()?;
        Some(at.to_offset(t.offset()))
    }
}

impl CronSchedule {
    /// The next run: strictly after `now` and after the last run that fired, so a
    /// wall clock set back (NTP, a resumed VM) or a restart never fires one slot
    /// twice. A clock set forward past a slot fires it once, at once.
    pub fn next_run(
        &self,
        now: time::OffsetDateTime,
        last_fired: Option<time::OffsetDateTime>,
    ) -> Option<time::OffsetDateTime> {
        self.next_after(last_fired.map_or(now, |l| l.max(now)))
    }
}

impl fmt::Display for CronSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.expr)
    }
}

impl fmt::Debug for CronSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CronSchedule({:?})", self.expr)
    }
}

impl PartialEq for CronSchedule {
    fn eq(&self, other: &Self) -> bool {
        self.expr == other.expr
    }
}

impl serde::Serialize for CronSchedule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.expr)
    }
}

impl<'de> serde::Deserialize<'de> for CronSchedule {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn next(expr: &str, t: time::OffsetDateTime) -> time::OffsetDateTime {
        expr.parse::<CronSchedule>().unwrap().next_after(t).unwrap()
    }

    #[test]
    fn next_fire_times() {
        let t = datetime!(2026-11-24 01:47:30 UTC);
        assert_eq!(next("0 2 * * *", t), datetime!(2026-11-24 02:00:00 UTC));
        assert_eq!(
            next("0 2 * * *", datetime!(2026-11-24 02:00:00 UTC)),
            datetime!(2026-11-25 02:00:00 UTC),
            "strictly after"
        );
        assert_eq!(next("*/15 * * * *", t), datetime!(2026-11-24 02:00:00 UTC));
        assert_eq!(next("30 23 31 12 *", t), datetime!(2026-12-31 23:30:00 UTC));
        assert_eq!(
            next("0 0 1 * *", datetime!(2026-12-15 00:00:00 UTC)),
            datetime!(2027-01-01 00:00:00 UTC)
        );
        assert_eq!(next("@daily", t), datetime!(2026-11-25 00:00:00 UTC));
        assert_eq!(next("@hourly", t), datetime!(2026-11-24 02:00:00 UTC));
        // 2026-11-24 is a Tuesday; "1" is Monday.
        assert_eq!(next("0 3 * * 1", t), datetime!(2026-11-30 03:00:00 UTC));
        // In the offset given: 2 am local time at +01:00.
        let local = datetime!(2026-11-24 01:47:30 +1);
        assert_eq!(next("0 2 * * *", local), datetime!(2026-11-24 02:00:00 +1));
    }

    #[test]
    fn invalid_expressions_say_why() {
        for bad in [
            "",
            "every night",
            "61 * * * *",
            "0 25 * * *",
            "* * * *",
            "0 0 2 * * *",
            "@sometimes",
        ] {
            let e = bad.parse::<CronSchedule>().unwrap_err();
            assert!(e.to_string().contains("expected five fields"), "{bad}: {e}");
        }
    }

    #[test]
    fn display_and_serde_round_trip() {
        let s: CronSchedule = "  0   2 * * * ".parse().unwrap();
        assert_eq!(s.to_string(), "0 2 * * *");
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, "\"0 2 * * *\"");
        assert_eq!(serde_json::from_str::<CronSchedule>(&json).unwrap(), s);
        assert!(serde_json::from_str::<CronSchedule>("\"nope\"").is_err());
    }

    #[test]
    fn a_wall_clock_set_back_does_not_fire_a_slot_twice() {
        let c: CronSchedule = "0 2 * * *".parse().unwrap();
        let t = |h: u8, m: u8| {
            time::OffsetDateTime::UNIX_EPOCH
                .replace_date(time::macros::date!(2026 - 12 - 01))
                .replace_time(time::Time::from_hms(h, m, 0).unwrap())
        };
        let tomorrow = t(2, 0) + time::Duration::days(1);
        // Fired at 02:00; NTP then sets the clock back to 01:30.
        assert_eq!(c.next_run(t(1, 30), Some(t(2, 0))), Some(tomorrow));
        // Never fired: 02:00 today.
        assert_eq!(c.next_run(t(1, 30), None), Some(t(2, 0)));
        // Set forward past today's slot (a VM resumed at 03:00): tomorrow's.
        assert_eq!(
            c.next_run(t(3, 0), Some(t(2, 0) - time::Duration::days(1))),
            Some(tomorrow)
        );
    }
}
