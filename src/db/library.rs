//! The `videos` table: source videos, present or not, with what their probe found
//! (or why they are unusable), their metadata and their place in the LRU.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, params};

use super::{Db, DbError, meta, ranges, scan};
use crate::library::metadata::{MetaOrigin, SourceMeta};
use crate::library::{LibraryCounts, Range, Video, VideoStatus};
use crate::transcode::ProbeInfo;

/// The source videos.
#[derive(Clone)]
pub struct LibraryStore {
    db: Db,
}

impl Db {
    /// The source videos.
    pub fn library(&self) -> LibraryStore {
        LibraryStore { db: self.clone() }
    }
}

/// A usable video written directly, as a scan and a probe would record it: for
/// benchmarks and tests that need a big library without files.
#[derive(Clone, Debug)]
pub struct NewVideo {
    /// Where the file would be.
    pub path: PathBuf,
    /// Its size, bytes.
    pub size: u64,
    /// What the probe found.
    pub info: ProbeInfo,
    /// Title and creator.
    pub meta: SourceMeta,
    /// LRU clock of its last clip; `None`: never used.
    pub last_used: Option<i64>,
}

impl LibraryStore {
    /// Runs a scan's reconciliation `f` on the videos, in one transaction.
    pub fn scan<R>(
        &self,
        f: impl FnOnce(&scan::ScanTx<'_>) -> Result<R, DbError>,
    ) -> Result<R, DbError> {
        scan::run(&self.db, scan::Table::Videos, f)
    }

    /// Present videos neither probed nor set aside yet, in the order found.
    pub fn pending_probes(&self) -> Result<Vec<(i64, PathBuf)>, DbError> {
        let c = self.db.conn();
        let mut st = c.prepare_cached(
            "SELECT id, path FROM videos
             WHERE present = 1 AND probe IS NULL AND error IS NULL ORDER BY id",
        )?;
        let v = st
            .query_map([], |r| {
                Ok((r.get(0)?, PathBuf::from(r.get::<_, String>(1)?)))
            })?
            .collect::<Result<_, _>>()?;
        Ok(v)
    }

    /// Records what the probe of video `id` found, and its metadata: it is usable.
    pub fn record_probe(
        &self,
        id: i64,
        info: &ProbeInfo,
        meta: &SourceMeta,
    ) -> Result<(), DbError> {
        let probe = serde_json::to_string(info).expect("probe info serializes");
        self.db.conn().execute(
            "UPDATE videos SET probe = ?2, duration = ?3, error = NULL, title = ?4,
                 creator = ?5, url = ?6, meta_origin = ?7
             WHERE id = ?1",
            params![
                id,
                probe,
                info.duration,
                meta.title,
                meta.creator,
                meta.url,
                meta.origin.as_str()
            ],
        )?;
        Ok(())
    }

    /// Records why video `id` cannot be used.
    pub fn mark_unusable(&self, id: i64, reason: &str) -> Result<(), DbError> {
        self.db.conn().execute(
            "UPDATE videos SET probe = NULL, duration = NULL, error = ?2 WHERE id = ?1",
            params![id, reason],
        )?;
        Ok(())
    }

    /// The first usable video in LRU order (never used first, then oldest use,
    /// ties by id) that is not in `exclude`.
    pub fn least_recently_used(&self, exclude: &[i64]) -> Result<Option<Video>, DbError> {
        let c = self.db.conn();
        // The partial index gives rows in LRU order: read just past the exclusions.
        let mut st = c.prepare_cached(
            "SELECT id, path, probe, title, creator, url, meta_origin FROM videos
             WHERE present = 1 AND duration IS NOT NULL
             ORDER BY coalesce(last_used, -1), id LIMIT ?1",
        )?;
        let mut rows = st.query([exclude.len() as i64 + 1])?;
        while let Some(r) = rows.next()? {
            let id: i64 = r.get(0)?;
            if exclude.contains(&id) {
                continue;
            }
            let path = PathBuf::from(r.get::<_, String>(1)?);
            let Some(info) = r
                .get::<_, Option<String>>(2)?
                .and_then(|p| serde_json::from_str::<ProbeInfo>(&p).ok())
            else {
                continue;
            };
            let meta = SourceMeta {
                title: r.get(3)?,
                creator: r.get(4)?,
                url: r.get(5)?,
                origin: MetaOrigin::parse(r.get::<_, Option<String>>(6)?.as_deref()),
            };
            return Ok(Some(Video {
                id,
                path,
                info,
                meta,
            }));
        }
        Ok(None)
    }

    /// Records a clip cut from video `id`, in one transaction: its used ranges
    /// become `ranges(stored ranges)`, the video moves to the back of the LRU, and
    /// `reset` counts a start-over of its ranges.
    pub fn record_cut(
        &self,
        id: i64,
        reset: bool,
        ranges: impl FnOnce(Vec<Range>) -> Vec<Range>,
    ) -> Result<(), DbError> {
        self.db.transaction(|tx| {
            let now_used = ranges(ranges::read(tx, id)?);
            ranges::replace(tx, id, &now_used)?;
            let clock = meta::bump(tx, "lru_clock", 1)?;
            tx.prepare_cached(
                "UPDATE videos SET last_used = ?2, clips_cut = clips_cut + 1, resets = resets + ?3
                 WHERE id = ?1",
            )?
            .execute(params![id, clock, reset as i64])?;
            Ok(())
        })
    }

    /// How many present videos are usable, unusable and not probed yet.
    pub fn counts(&self) -> Result<LibraryCounts, DbError> {
        Ok(self.db.conn().query_row(
            "SELECT count(*),
                    count(*) FILTER (WHERE duration IS NOT NULL),
                    count(*) FILTER (WHERE error IS NOT NULL),
                    count(*) FILTER (WHERE probe IS NULL AND error IS NULL)
             FROM videos WHERE present = 1",
            [],
            |r| {
                Ok(LibraryCounts {
                    present: r.get::<_, i64>(0)? as u64,
                    usable: r.get::<_, i64>(1)? as u64,
                    unusable: r.get::<_, i64>(2)? as u64,
                    pending: r.get::<_, i64>(3)? as u64,
                })
            },
        )?)
    }

    /// Present videos, usable ones in LRU order first, with their used ranges;
    /// `offset`/`limit` page through them.
    pub fn list(&self, offset: u64, limit: u64) -> Result<Vec<VideoStatus>, DbError> {
        let c = self.db.conn();
        let mut st = c.prepare_cached(
            "SELECT id, path, title, creator, duration, error, last_used, clips_cut, resets, airtime
             FROM videos WHERE present = 1
             ORDER BY duration IS NULL, coalesce(last_used, -1), id LIMIT ?1 OFFSET ?2",
        )?;
        let rows = st
            .query_map(params![limit as i64, offset as i64], |r| {
                Ok(VideoStatus {
                    id: r.get(0)?,
                    path: PathBuf::from(r.get::<_, String>(1)?),
                    title: r.get(2)?,
                    creator: r.get(3)?,
                    duration: r.get(4)?,
                    error: r.get(5)?,
                    last_used: r.get(6)?,
                    clips_cut: r.get(7)?,
                    resets: r.get(8)?,
                    airtime: r.get(9)?,
                    used: Vec::new(),
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        drop(st);
        rows.into_iter()
            .map(|mut v| {
                v.used = ranges::read(&c, v.id)?;
                Ok(v)
            })
            .collect()
    }

    /// Writes usable videos directly, in one transaction (see [`NewVideo`]).
    pub fn insert_usable(&self, videos: &[NewVideo]) -> Result<(), DbError> {
        self.db.transaction(|tx| {
            let mut ins = tx.prepare_cached(
                "INSERT INTO videos (path, size, mtime_ns, probe, duration, title, creator,
                                     added_at, last_used)
                 VALUES (?1, ?2, 1, ?3, ?4, ?5, ?6, 0, ?7)",
            )?;
            for v in videos {
                ins.execute(params![
                    v.path.to_str(),
                    v.size as i64,
                    serde_json::to_string(&v.info).expect("probe info serializes"),
                    v.info.duration,
                    v.meta.title,
                    v.meta.creator,
                    v.last_used
                ])?;
            }
            Ok(())
        })
    }

    /// A video's row as tests check it.
    #[cfg(test)]
    pub(crate) fn row(&self, id: i64) -> Result<VideoRow, DbError> {
        self.row_where("id = ?1", rusqlite::types::Value::Integer(id))
    }

    /// The row of the video whose file is named `name` (in any folder), for tests.
    #[cfg(test)]
    pub(crate) fn row_named(&self, name: &str) -> Result<VideoRow, DbError> {
        self.row_where(
            "path LIKE '%/' || ?1",
            rusqlite::types::Value::Text(name.into()),
        )
    }

    #[cfg(test)]
    fn row_where(&self, cond: &str, arg: rusqlite::types::Value) -> Result<VideoRow, DbError> {
        Ok(self.db.conn().query_row(
            &format!(
                "SELECT id, present, probe, duration, error, last_used, clips_cut FROM videos
                 WHERE {cond}"
            ),
            [arg],
            |r| {
                Ok(VideoRow {
                    id: r.get(0)?,
                    present: r.get(1)?,
                    probe: r.get(2)?,
                    duration: r.get(3)?,
                    error: r.get(4)?,
                    last_used: r.get(5)?,
                    clips_cut: r.get(6)?,
                })
            },
        )?)
    }
}

/// A video's row, as tests check it.
#[cfg(test)]
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct VideoRow {
    pub id: i64,
    pub present: bool,
    pub probe: Option<String>,
    pub duration: Option<f64>,
    pub error: Option<String>,
    pub last_used: Option<i64>,
    pub clips_cut: i64,
}

/// Adds a segment's airtime to the video at `path`, and a play when `new_play`.
pub(super) fn add_airtime(
    c: &Connection,
    path: &Path,
    secs: f64,
    new_play: bool,
) -> Result<(), DbError> {
    c.prepare_cached(
        "UPDATE videos SET airtime = airtime + ?2, plays = plays + ?3 WHERE path = ?1",
    )?
    .execute(params![path.to_str(), secs, new_play as i64])?;
    Ok(())
}
