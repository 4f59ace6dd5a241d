//! What aired, recorded per segment (seconds streamed, airtime and plays of
//! videos and tracks, with the continuity point), and read back for the stats page.

use std::path::{Path, PathBuf};

use super::{Db, DbError, chunks, continuity, library, meta, music};
use crate::stats::Continuity;

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

impl StatsStore {
    /// Records `segment` and the continuity point `next`, in one transaction.
    pub fn record_segment(
        &self,
        segment: &SegmentAired<'_>,
        next: &Continuity,
    ) -> Result<(), DbError> {
        self.db.transaction(|tx| {
            let ch = &*self.channel;
            meta::add_real(tx, &meta::scoped(ch, "seconds_streamed"), segment.secs)?;
            if let Some((path, new_play)) = segment.video {
                library::add_airtime(tx, ch, path, segment.secs, new_play)?;
            }
            if let Some((path, new_play)) = segment.track {
                music::add_airtime(tx, ch, path, segment.secs, new_play)?;
            }
            continuity::save_on(tx, ch, next)
        })
    }

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
                "SELECT v.title, v.creator, cv.plays, cv.airtime, NULL
                 FROM channel_videos cv JOIN videos v ON v.id = cv.video_id
                 WHERE cv.channel = ?2 AND cv.airtime > 0
                 ORDER BY cv.airtime DESC, v.id LIMIT ?1",
            )?,
            top_tracks: list(
                "SELECT title, NULL, plays, airtime, path FROM tracks
                 WHERE channel = ?2 AND airtime > 0
                 ORDER BY airtime DESC, id LIMIT ?1",
            )?,
            top_creators: list(
                "SELECT v.creator, v.creator, sum(cv.plays), sum(cv.airtime) AS a, NULL
                 FROM channel_videos cv JOIN videos v ON v.id = cv.video_id
                 WHERE cv.channel = ?2 AND cv.airtime > 0 AND v.creator IS NOT NULL
                 GROUP BY v.creator ORDER BY a DESC LIMIT ?1",
            )?,
        })
    }
}
