//! The `videos` table: source videos, present or not, with what their probe found
//! (or why they are unusable), their metadata and their place in the LRU.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};

use super::ranges::Range;
use super::{Db, DbError, meta, ranges, scan};
use crate::transcode::ProbeInfo;

/// The source videos.
#[derive(Clone)]
pub struct LibraryStore {
    pub(super) db: Db,
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
    /// The channels that cut a clip of it, each with its LRU clock then; empty:
    /// never used.
    pub used_by: Vec<(String, i64)>,
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

    /// Up to `limit` usable, present videos with an id above `after`, by id, with
    /// what their probe found.
    pub fn usable_after(
        &self,
        after: i64,
        limit: usize,
    ) -> Result<Vec<(i64, PathBuf, ProbeInfo)>, DbError> {
        let c = self.db.conn();
        let mut st = c.prepare_cached(
            "SELECT id, path, probe FROM videos
             WHERE present = 1 AND duration IS NOT NULL AND id > ?1 ORDER BY id LIMIT ?2",
        )?;
        let rows = st.query_map(params![after, limit as i64], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, path, probe) = row?;
            if let Some(info) = probe.and_then(|p| serde_json::from_str::<ProbeInfo>(&p).ok()) {
                out.push((id, PathBuf::from(path), info));
            }
        }
        Ok(out)
    }

    /// Records a clip `channel` cut from video `id`, in one transaction: its used
    /// ranges become `ranges(stored ranges)`, the video moves to the back of the
    /// channel's LRU, and `reset` counts a start-over of its ranges.
    pub fn record_cut(
        &self,
        channel: &str,
        id: i64,
        reset: bool,
        ranges: impl FnOnce(Vec<Range>) -> Vec<Range>,
    ) -> Result<(), DbError> {
        self.db.transaction(|tx| {
            let now_used = ranges(ranges::read(tx, channel, id)?);
            ranges::replace(tx, channel, id, &now_used)?;
            let clock = meta::bump(tx, "lru_clock", 1)?;
            tx.prepare_cached(
                "INSERT INTO channel_videos (channel, video_id, last_used, clips_cut, resets)
                 VALUES (?1, ?2, ?3, 1, ?4)
                 ON CONFLICT (channel, video_id) DO UPDATE SET last_used = excluded.last_used,
                     clips_cut = clips_cut + 1, resets = resets + excluded.resets",
            )?
            .execute(params![channel, id, clock, reset as i64])?;
            Ok(())
        })
    }

    /// How many present videos are usable, unusable and not probed yet, of those
    /// that `belong` to a channel.
    pub fn counts(
        &self,
        belongs: &dyn Fn(&Path, Option<&str>) -> bool,
    ) -> Result<LibraryCounts, DbError> {
        let c = self.db.conn();
        let mut st = c.prepare_cached(
            "SELECT path, creator, duration IS NOT NULL, error IS NOT NULL FROM videos
             WHERE present = 1",
        )?;
        let mut rows = st.query([])?;
        let mut n = LibraryCounts::default();
        while let Some(r) = rows.next()? {
            let path = PathBuf::from(r.get::<_, String>(0)?);
            if !belongs(&path, r.get::<_, Option<String>>(1)?.as_deref()) {
                continue;
            }
            let (usable, unusable): (bool, bool) = (r.get(2)?, r.get(3)?);
            n.present += 1;
            if usable {
                n.usable += 1;
            } else if unusable {
                n.unusable += 1;
            } else {
                n.pending += 1;
            }
        }
        Ok(n)
    }

    /// Writes usable videos directly, in one transaction (see [`NewVideo`]).
    pub fn insert_usable(&self, videos: &[NewVideo]) -> Result<(), DbError> {
        self.db.transaction(|tx| {
            let mut ins = tx.prepare_cached(
                "INSERT INTO videos (path, size, mtime_ns, probe, duration, title, creator,
                                     added_at)
                 VALUES (?1, ?2, 1, ?3, ?4, ?5, ?6, 0)",
            )?;
            let mut used = tx.prepare_cached(
                "INSERT INTO channel_videos (channel, video_id, last_used) VALUES (?1, ?2, ?3)",
            )?;
            for v in videos {
                ins.execute(params![
                    v.path.to_str(),
                    v.size as i64,
                    serde_json::to_string(&v.info).expect("probe info serializes"),
                    v.info.duration,
                    v.meta.title,
                    v.meta.creator,
                ])?;
                let id = tx.last_insert_rowid();
                for (channel, last) in &v.used_by {
                    used.execute(params![channel, id, last])?;
                }
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
                "SELECT id, present, probe, duration, error,
                        (SELECT last_used FROM channel_videos WHERE channel = 'main' AND video_id = id),
                        coalesce((SELECT clips_cut FROM channel_videos
                                  WHERE channel = 'main' AND video_id = id), 0)
                 FROM videos WHERE {cond}"
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
/// A video's state, for the API.
#[derive(Clone, Debug)]
pub struct VideoStatus {
    /// Database id.
    pub id: i64,
    /// The file.
    pub path: PathBuf,
    /// Title shown to viewers.
    pub title: String,
    /// Creator, when known.
    pub creator: Option<String>,
    /// Seconds, once probed and usable.
    pub duration: Option<f64>,
    /// Why it is unusable.
    pub error: Option<String>,
    /// LRU clock of its last clip; `None`: never used.
    pub last_used: Option<i64>,
    /// Clips cut from it.
    pub clips_cut: i64,
    /// Times all of it was used and its ranges started over.
    pub resets: i64,
    /// Seconds of it aired.
    pub airtime: f64,
    /// Ranges already cut.
    pub used: Vec<Range>,
}

/// How many videos the library holds, by state.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LibraryCounts {
    /// Files present in the folders.
    pub present: u64,
    /// Present and usable.
    pub usable: u64,
    /// Present and recorded as unusable (with a reason).
    pub unusable: u64,
    /// Present and not probed yet.
    pub pending: u64,
}

/// A usable source video, as the generator needs it.
#[derive(Clone, Debug)]
pub struct Video {
    /// Database id.
    pub id: i64,
    /// Where the file is.
    pub path: PathBuf,
    /// What ffprobe found: duration, size, frame rate, rotation.
    pub info: ProbeInfo,
    /// Title, creator and link shown to viewers.
    pub meta: SourceMeta,
}

impl Video {
    /// Title shown to viewers.
    pub fn title(&self) -> String {
        self.meta.title.clone()
    }
}

/// Where a source's metadata came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MetaOrigin {
    /// The file name.
    FileName,
    /// The container's title/artist tags.
    Tags,
    /// A yt-dlp `.info.json` sidecar.
    InfoJson,
    /// TubeArchivist's API.
    TubeArchivist,
}

impl MetaOrigin {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            MetaOrigin::FileName => "filename",
            MetaOrigin::Tags => "tags",
            MetaOrigin::InfoJson => "infojson",
            MetaOrigin::TubeArchivist => "tubearchivist",
        }
    }

    /// Reads a stored name; anything unknown counts as the file name.
    pub fn parse(s: Option<&str>) -> MetaOrigin {
        match s {
            Some("tags") => MetaOrigin::Tags,
            Some("infojson") => MetaOrigin::InfoJson,
            Some("tubearchivist") => MetaOrigin::TubeArchivist,
            _ => MetaOrigin::FileName,
        }
    }
}

/// Title, creator and link of a source video.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceMeta {
    /// Title shown to viewers.
    pub title: String,
    /// Uploader, channel or artist.
    pub creator: Option<String>,
    /// Where the video comes from (a web page).
    pub url: Option<String>,
    /// Which source these facts came from.
    pub origin: MetaOrigin,
}

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

/// Adds a segment `channel` aired to the video at `path`: its airtime, and a play
/// when `new_play`, to the channel's and to the video's totals.
pub(super) fn add_airtime(
    c: &Connection,
    channel: &str,
    path: &Path,
    secs: f64,
    new_play: bool,
) -> Result<(), DbError> {
    c.prepare_cached(
        "UPDATE videos SET airtime = airtime + ?2, plays = plays + ?3 WHERE path = ?1",
    )?
    .execute(params![path.to_str(), secs, new_play as i64])?;
    c.prepare_cached(
        "INSERT INTO channel_videos (channel, video_id, plays, airtime)
             SELECT ?1, id, ?4, ?3 FROM videos WHERE path = ?2
         ON CONFLICT (channel, video_id) DO UPDATE SET plays = plays + excluded.plays,
             airtime = airtime + excluded.airtime",
    )?
    .execute(params![channel, path.to_str(), secs, new_play as i64])?;
    Ok(())
}
