//! The `tracks` table: music files, present or not, with their plays and airtime
//! and why one is skipped. The order of play is `schedule::music`'s.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, params};

use super::{Db, DbError, scan};

/// The music tracks.
#[derive(Clone)]
pub struct MusicStore {
    db: Db,
    channel: std::sync::Arc<str>,
}

impl Db {
    /// The music tracks of `channel`.
    pub fn music(&self, channel: &str) -> MusicStore {
        MusicStore {
            db: self.clone(),
            channel: channel.into(),
        }
    }
}

/// A track that can play.
#[derive(Clone, Debug, PartialEq)]
pub struct PlayableTrack {
    /// Row id.
    pub id: i64,
    /// The music file.
    pub path: PathBuf,
    /// Times it went on air.
    pub plays: i64,
}

/// A present track's row, for the music list.
#[derive(Clone, Debug, PartialEq)]
pub struct TrackRow {
    /// Row id.
    pub id: i64,
    /// Title as stored (empty: none recorded).
    pub title: String,
    /// The music file.
    pub path: PathBuf,
    /// Times it went on air.
    pub plays: i64,
    /// Seconds aired.
    pub airtime: f64,
    /// Why it is skipped, if it is.
    pub error: Option<String>,
}

impl MusicStore {
    /// Runs a scan's reconciliation `f` on the tracks, in one transaction.
    pub fn scan<R>(
        &self,
        f: impl FnOnce(&scan::ScanTx<'_>) -> Result<R, DbError>,
    ) -> Result<R, DbError> {
        scan::run(&self.db, scan::Table::Tracks(&self.channel), f)
    }

    /// Present tracks not set aside, by path.
    pub fn playable(&self) -> Result<Vec<PlayableTrack>, DbError> {
        let c = self.db.conn();
        let mut st = c.prepare_cached(
            "SELECT id, path, plays FROM tracks
             WHERE channel = ?1 AND present = 1 AND error IS NULL ORDER BY path",
        )?;
        let v = st
            .query_map([&*self.channel], |r| {
                Ok(PlayableTrack {
                    id: r.get(0)?,
                    path: PathBuf::from(r.get::<_, String>(1)?),
                    plays: r.get(2)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(v)
    }

    /// How many present tracks have `q` in their title or path (any case), and
    /// the page `offset`/`limit` of them, least played first.
    pub fn search(
        &self,
        q: Option<&str>,
        offset: u64,
        limit: u64,
    ) -> Result<(u64, Vec<TrackRow>), DbError> {
        let c = self.db.conn();
        // LIKE's own wildcards in `q` are dropped: it is a plain substring.
        let pattern = format!("%{}%", q.unwrap_or("").replace(['%', '_'], ""));
        let total: i64 = c.query_row(
            "SELECT count(*) FROM tracks
             WHERE channel = ?2 AND present = 1 AND (title LIKE ?1 OR path LIKE ?1)",
            params![&pattern, &*self.channel],
            |r| r.get(0),
        )?;
        let mut st = c.prepare_cached(
            "SELECT id, title, path, plays, airtime, error FROM tracks
             WHERE channel = ?4 AND present = 1 AND (title LIKE ?1 OR path LIKE ?1)
             ORDER BY plays, path LIMIT ?2 OFFSET ?3",
        )?;
        let rows = st
            .query_map(
                params![pattern, limit as i64, offset as i64, &*self.channel],
                |r| {
                    Ok(TrackRow {
                        id: r.get(0)?,
                        title: r.get(1)?,
                        path: PathBuf::from(r.get::<_, String>(2)?),
                        plays: r.get(3)?,
                        airtime: r.get(4)?,
                        error: r.get(5)?,
                    })
                },
            )?
            .collect::<Result<Vec<_>, _>>()?;
        Ok((total as u64, rows))
    }

    /// Records why the track at `path` is skipped (until the file changes).
    pub fn set_aside(&self, path: &Path, reason: &str) -> Result<(), DbError> {
        self.db.conn().execute(
            "UPDATE tracks SET error = ?2 WHERE path = ?1 AND channel = ?3",
            params![path.to_str(), reason, &*self.channel],
        )?;
        Ok(())
    }

    /// Sets the plays of the track whose path ends in `suffix`, for tests.
    #[cfg(test)]
    pub(crate) fn set_plays(&self, suffix: &str, plays: i64) -> Result<(), DbError> {
        self.db.conn().execute(
            "UPDATE tracks SET plays = ?2 WHERE path LIKE '%' || ?1 AND channel = ?3",
            params![suffix, plays, &*self.channel],
        )?;
        Ok(())
    }

    /// `(id, present, plays)` of every track, for tests.
    #[cfg(test)]
    pub(crate) fn rows(&self) -> Result<Vec<(i64, bool, i64)>, DbError> {
        let c = self.db.conn();
        let mut st =
            c.prepare("SELECT id, present, plays FROM tracks WHERE channel = ?1 ORDER BY id")?;
        let v = st
            .query_map([&*self.channel], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        Ok(v)
    }
}

/// Adds a segment's airtime to `channel`'s track at `path`, and a play when `new_play`.
pub(super) fn add_airtime(
    c: &Connection,
    channel: &str,
    path: &Path,
    secs: f64,
    new_play: bool,
) -> Result<(), DbError> {
    c.prepare_cached(
        "UPDATE tracks SET airtime = airtime + ?2, plays = plays + ?3
         WHERE path = ?1 AND channel = ?4",
    )?
    .execute(params![path.to_str(), secs, new_play as i64, channel])?;
    Ok(())
}
