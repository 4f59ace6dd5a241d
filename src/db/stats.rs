//! What aired, recorded per segment (seconds streamed, airtime and plays of
//! videos and tracks, with the continuity point), and read back for the stats page.

use std::path::{Path, PathBuf};

use super::continuity::Continuity;
use super::{Db, DbError, chunks, continuity, library, meta, music};

/// Airtime and counters.
#[derive(Clone)]
pub struct StatsStore {
    db: Db,
    channel: std::sync::Arc<str>,
}

impl Db {
    /// `channel`'s airtime and counters.
    pub fn stats(&self, channel: &str) -> StatsStore {
        StatsStore {
            db: self.clone(),
            channel: channel.into(),
        }
    }
}

/// A segment that aired.
#[derive(Clone, Copy, Debug)]
pub struct SegmentAired<'a> {
    /// Its length, seconds.
    pub secs: f64,
    /// The source video of its clip, and whether the segment starts a play of it.
    pub video: Option<(&'a Path, bool)>,
    /// The music file of its track, and whether the segment starts a play of it.
    pub track: Option<(&'a Path, bool)>,
    /// The UTC day it aired on, in days since 1970-01-01 (see [`day_of`]).
    pub day: i64,
}

/// The UTC day of Unix time `unix_secs`, in days since 1970-01-01.
pub fn day_of(unix_secs: i64) -> i64 {
    unix_secs.div_euclid(86_400)
}

/// One row of a top list, as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct PlayedRow {
    /// Title as stored (for a track, maybe empty).
    pub title: String,
    /// Creator, for videos.
    pub creator: Option<String>,
    /// Times it went on air.
    pub plays: u64,
    /// Seconds aired.
    pub airtime: f64,
    /// The file, for tracks (to name an untitled one).
    pub path: Option<PathBuf>,
    /// The source video's id, for videos.
    pub video_id: Option<i64>,
}

/// The stored counters and top lists.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StatsRows {
    /// Seconds of stream published, all runs together.
    pub seconds_streamed: f64,
    /// Chunks completed.
    pub chunks_created: u64,
    /// Chunks still being built that hold a clip.
    pub chunks_building: u64,
    /// Chunk airings started.
    pub chunks_aired: u64,
    /// Source videos by airtime, most first.
    pub top_videos: Vec<PlayedRow>,
    /// Tracks by airtime, most first.
    pub top_tracks: Vec<PlayedRow>,
    /// Creators by airtime, most first (the title is the creator).
    pub top_creators: Vec<PlayedRow>,
}

/// A segment a channel aired, and its continuity point after it.
#[derive(Clone, Copy, Debug)]
pub struct ChannelSegment<'a> {
    /// The channel's slug.
    pub channel: &'a str,
    /// The segment.
    pub segment: SegmentAired<'a>,
    /// Where the channel's next run goes on.
    pub next: &'a Continuity,
}

impl Db {
    /// Records segments of any channels and their continuity points, in one
    /// transaction: the recorder's batch of every channel's latest segments.
    pub fn record_segments(&self, segments: &[ChannelSegment<'_>]) -> Result<(), DbError> {
        self.transaction(|tx| {
            for s in segments {
                write_segment(tx, s)?;
            }
            Ok(())
        })
    }
}

fn write_segment(tx: &rusqlite::Connection, s: &ChannelSegment<'_>) -> Result<(), DbError> {
    let (ch, segment) = (s.channel, &s.segment);
    meta::add_real(tx, &meta::scoped(ch, "seconds_streamed"), segment.secs)?;
    tx.prepare_cached(
        "INSERT INTO airtime_by_day (channel, day, seconds) VALUES (?1, ?2, ?3)
         ON CONFLICT (channel, day) DO UPDATE SET seconds = seconds + excluded.seconds",
    )?
    .execute(rusqlite::params![ch, segment.day, segment.secs])?;
    if let Some((path, new_play)) = segment.video {
        library::add_airtime(tx, ch, path, segment.secs, new_play)?;
    }
    if let Some((path, new_play)) = segment.track {
        music::add_airtime(tx, ch, path, segment.secs, new_play)?;
    }
    continuity::save_on(tx, ch, s.next)
}

impl StatsStore {
    /// The counters, and the `top` first entries of each list.
    pub fn read(&self, top: usize) -> Result<StatsRows, DbError> {
        let c = self.db.conn();
        let ch = &*self.channel;
        let list = |sql: &str| -> Result<Vec<PlayedRow>, DbError> {
            let mut st = c.prepare_cached(sql)?;
            let v = st
                .query_map(rusqlite::params![top as i64, ch], |r| {
                    Ok(PlayedRow {
                        title: r.get(0)?,
                        creator: r.get(1)?,
                        plays: r.get::<_, i64>(2)?.max(0) as u64,
                        airtime: r.get(3)?,
                        path: r.get::<_, Option<String>>(4)?.map(PathBuf::from),
                        video_id: r.get(5)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(v)
        };
        Ok(StatsRows {
            seconds_streamed: meta::number(&c, &meta::scoped(ch, "seconds_streamed"))?,
            chunks_created: meta::number(&c, &meta::scoped(ch, "chunks_created"))? as u64,
            chunks_building: chunks::building_with_clips(&c, ch)?,
            chunks_aired: meta::number(&c, &meta::scoped(ch, "chunks_aired"))? as u64,
            top_videos: list(
                "SELECT v.title, v.creator, cv.plays, cv.airtime, NULL, v.id
                 FROM channel_videos cv JOIN videos v ON v.id = cv.video_id
                 WHERE cv.channel = ?2 AND cv.airtime > 0
                 ORDER BY cv.airtime DESC, v.id LIMIT ?1",
            )?,
            top_tracks: list(
                "SELECT title, NULL, plays, airtime, path, NULL FROM tracks
                 WHERE channel = ?2 AND airtime > 0
                 ORDER BY airtime DESC, id LIMIT ?1",
            )?,
            top_creators: list(
                "SELECT v.creator, v.creator, sum(cv.plays), sum(cv.airtime) AS a, NULL, NULL
                 FROM channel_videos cv JOIN videos v ON v.id = cv.video_id
                 WHERE cv.channel = ?2 AND cv.airtime > 0 AND v.creator IS NOT NULL
                 GROUP BY v.creator ORDER BY a DESC LIMIT ?1",
            )?,
        })
    }

    /// Seconds aired on each of the `days` UTC days up to `last_day` (days since
    /// 1970-01-01, see [`day_of`]), oldest first, a day with nothing aired as 0.
    pub fn airtime_by_day(&self, last_day: i64, days: usize) -> Result<Vec<(i64, f64)>, DbError> {
        let first = last_day - days as i64 + 1;
        let c = self.db.conn();
        let mut st = c.prepare_cached(
            "SELECT day, seconds FROM airtime_by_day
             WHERE channel = ?1 AND day BETWEEN ?2 AND ?3",
        )?;
        let rows = st
            .query_map(rusqlite::params![&*self.channel, first, last_day], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, f64>(1)?))
            })?
            .collect::<Result<std::collections::HashMap<_, _>, _>>()?;
        Ok((first..=last_day)
            .map(|d| (d, rows.get(&d).copied().unwrap_or(0.0)))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::Ticks;

    fn point() -> Continuity {
        Continuity {
            next_seq: 1,
            next_pts: Ticks(0),
            discontinuity_number: 0,
            next_pdt: None,
        }
    }

    fn aired(db: &Db, channel: &str, day: i64, secs: f64) {
        db.record_segments(&[ChannelSegment {
            channel,
            segment: SegmentAired {
                secs,
                video: None,
                track: None,
                day,
            },
            next: &point(),
        }])
        .unwrap();
    }

    #[test]
    fn airtime_is_added_up_per_channel_and_utc_day_and_read_with_every_day_present() {
        let db = Db::in_memory().unwrap();
        let today = day_of(1_795_000_000); // 2026-11-18
        assert_eq!(today, 20_775);
        assert_eq!(day_of(-1), -1, "before 1970: the day before, not day 0");
        for _ in 0..3 {
            aired(&db, "a", today, 2.0);
        }
        aired(&db, "a", today - 2, 1.5);
        aired(&db, "a", today - 29, 4.0);
        aired(&db, "a", today - 30, 100.0); // a day too old for the chart
        aired(&db, "b", today, 7.0); // another channel
        let days = db.stats("a").airtime_by_day(today, 30).unwrap();
        assert_eq!(days.len(), 30);
        assert_eq!(days[0], (today - 29, 4.0), "oldest first");
        assert_eq!(days[27], (today - 2, 1.5));
        assert_eq!(days[28], (today - 1, 0.0), "a day with nothing aired is 0");
        assert_eq!(days[29], (today, 6.0));
        let total: f64 = days.iter().map(|d| d.1).sum();
        assert_eq!(total, 11.5);
        assert_eq!(
            db.stats("b").airtime_by_day(today, 30).unwrap()[29],
            (today, 7.0)
        );
        assert!(
            db.stats("c")
                .airtime_by_day(today, 30)
                .unwrap()
                .iter()
                .all(|d| d.1 == 0.0)
        );
    }
}
