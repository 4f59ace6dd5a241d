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
    /// Seconds, once read.
    pub duration: Option<f64>,
}

/// A track that is in rotation (present, not taken out by an operator).
const IN_ROTATION: &str = "channel = ?1 AND present = 1 AND removed_at IS NULL";

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
        let mut st = c.prepare_cached(&format!(
            "SELECT id, path, plays FROM tracks WHERE {IN_ROTATION} AND error IS NULL ORDER BY path"
        ))?;
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
            &format!("SELECT count(*) FROM tracks WHERE {IN_ROTATION} AND (title LIKE ?2 OR path LIKE ?2)"),
            params![&*self.channel, &pattern],
            |r| r.get(0),
        )?;
        let mut st = c.prepare_cached(&format!(
            "SELECT id, title, path, plays, airtime, error, duration FROM tracks
             WHERE {IN_ROTATION} AND (title LIKE ?2 OR path LIKE ?2)
             ORDER BY plays, path LIMIT ?3 OFFSET ?4"
        ))?;
        let rows = st
            .query_map(
                params![&*self.channel, pattern, limit as i64, offset as i64],
                |r| {
                    Ok(TrackRow {
                        id: r.get(0)?,
                        title: r.get(1)?,
                        path: PathBuf::from(r.get::<_, String>(2)?),
                        plays: r.get(3)?,
                        airtime: r.get(4)?,
                        error: r.get(5)?,
                        duration: r.get(6)?,
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

    /// Up to `limit` tracks in rotation whose length is not known yet.
    pub fn without_duration(&self, limit: usize) -> Result<Vec<PathBuf>, DbError> {
        let c = self.db.conn();
        let mut st = c.prepare_cached(&format!(
            "SELECT path FROM tracks WHERE {IN_ROTATION} AND error IS NULL AND duration IS NULL
             ORDER BY id LIMIT ?2"
        ))?;
        let v = st
            .query_map(params![&*self.channel, limit as i64], |r| {
                Ok(PathBuf::from(r.get::<_, String>(0)?))
            })?
            .collect::<Result<_, _>>()?;
        Ok(v)
    }

    /// Records the length of the track at `path`.
    pub fn set_duration(&self, path: &Path, secs: f64) -> Result<(), DbError> {
        self.db.conn().execute(
            "UPDATE tracks SET duration = ?2 WHERE path = ?1 AND channel = ?3",
            params![path.to_str(), secs, &*self.channel],
        )?;
        Ok(())
    }

    /// Takes the track at `path` out of rotation for good, at `now` (Unix seconds).
    /// False when no track in rotation has that path.
    pub fn remove(&self, path: &Path, now: i64) -> Result<bool, DbError> {
        let n = self.db.conn().execute(
            &format!("UPDATE tracks SET removed_at = ?3 WHERE {IN_ROTATION} AND path = ?2"),
            params![&*self.channel, path.to_str(), now],
        )?;
        Ok(n > 0)
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
