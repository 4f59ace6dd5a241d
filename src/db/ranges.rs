//! The `video_ranges` table: the parts of each video already cut into clips
//! (merged, seconds). The choice of the next range is `library::ranges`'s.

use rusqlite::{Connection, params};

use super::{Db, DbError};
use crate::library::Range;

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
    /// The ranges of video `id` already cut into clips, in order.
    pub fn used(&self, id: i64) -> Result<Vec<Range>, DbError> {
        read(&self.db.conn(), id)
    }
}

/// The used ranges of video `id`, on a connection already held.
pub(super) fn read(c: &Connection, id: i64) -> Result<Vec<Range>, DbError> {
    let mut st =
        c.prepare_cached("SELECT start, end FROM video_ranges WHERE video_id = ?1 ORDER BY start")?;
    let v = st
        .query_map([id], |r| {
            Ok(Range {
                start: r.get(0)?,
                end: r.get(1)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(v)
}

/// Forgets the used ranges of video `id` (its file changed).
pub(super) fn clear(c: &Connection, id: i64) -> Result<(), DbError> {
    c.prepare_cached("DELETE FROM video_ranges WHERE video_id = ?1")?
        .execute([id])?;
    Ok(())
}

/// Replaces the used ranges of video `id` with `ranges`.
pub(super) fn replace(c: &Connection, id: i64, ranges: &[Range]) -> Result<(), DbError> {
    clear(c, id)?;
    let mut ins =
        c.prepare_cached("INSERT INTO video_ranges (video_id, start, end) VALUES (?1, ?2, ?3)")?;
    for r in ranges {
        ins.execute(params![id, r.start, r.end])?;
    }
    Ok(())
}
