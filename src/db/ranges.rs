//! The `video_ranges` table: the parts of each video already cut into clips
//! (merged, seconds). The choice of the next range is `library::ranges`'s.

use rusqlite::{Connection, params};

use super::{Db, DbError};

/// The used ranges of the videos.
#[derive(Clone)]
pub struct RangeStore {
    db: Db,
}

impl Db {
    /// The used ranges of the videos.
    pub fn ranges(&self) -> RangeStore {
        RangeStore { db: self.clone() }
    }
}

impl RangeStore {
    /// The ranges of video `id` that `channel` already cut into clips, in order.
    pub fn used(&self, channel: &str, id: i64) -> Result<Vec<Range>, DbError> {
        read(&self.db.conn(), channel, id)
    }
}

/// The ranges of video `id` used by `channel`, on a connection already held.
pub(super) fn read(c: &Connection, channel: &str, id: i64) -> Result<Vec<Range>, DbError> {
    let mut st = c.prepare_cached(
        "SELECT start, end FROM video_ranges WHERE channel = ?1 AND video_id = ?2 ORDER BY start",
    )?;
    let v = st
        .query_map(params![channel, id], |r| {
            Ok(Range {
                start: r.get(0)?,
                end: r.get(1)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(v)
}

/// Forgets the used ranges of video `id`, every channel's (its file changed).
pub(super) fn clear(c: &Connection, id: i64) -> Result<(), DbError> {
    c.prepare_cached("DELETE FROM video_ranges WHERE video_id = ?1")?
        .execute([id])?;
    Ok(())
}

/// Replaces the ranges of video `id` used by `channel` with `ranges`.
pub(super) fn replace(
    c: &Connection,
    channel: &str,
    id: i64,
    ranges: &[Range],
) -> Result<(), DbError> {
    c.prepare_cached("DELETE FROM video_ranges WHERE channel = ?1 AND video_id = ?2")?
        .execute(params![channel, id])?;
    let mut ins = c.prepare_cached(
        "INSERT INTO video_ranges (channel, video_id, start, end) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for r in ranges {
        ins.execute(params![channel, id, r.start, r.end])?;
    }
    Ok(())
}

/// Slack when comparing seconds, so float noise never makes two ranges overlap.
pub const EPS: f64 = 1e-6;

/// A span of a video, seconds from its start.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Range {
    /// First second.
    pub start: f64,
    /// End (exclusive).
    pub end: f64,
}

impl Range {
    /// Length in seconds.
    pub fn len(&self) -> f64 {
        self.end - self.start
    }

    /// True when the range is empty.
    pub fn is_empty(&self) -> bool {
        self.len() <= EPS
    }
}
