//! A channel's LRU order of the videos: those it never used first, in the order
//! they were found (by id), then those it used, the longest ago first.
//!
//! A channel has a row in `channel_videos` for a video only once it uses it (cuts a
//! clip of it, airs it): its library costs rows for what it used, not for what
//! exists, so a hundred channels over a million videos cost no more rows than the
//! clips they cut. The never-used are the videos without a row of a last use, read
//! by id from a frontier the caller keeps: below it, every usable video either was
//! used by the channel or does not belong to it (see [`Frontier`]).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};

use rusqlite::Row;

use super::DbError;
use super::library::{LibraryStore, MetaOrigin, SourceMeta, Video, VideoStatus};
use super::ranges;
use crate::transcode::ProbeInfo;

/// Where a channel's never-used videos may start: the lowest id that may be
/// usable, unused by it and its. Raised by the picks past videos that do not
/// belong to the channel; lowered by the library when a video becomes usable again
/// (probed, back in its folder, renamed) and reset when the channel's patterns
/// change.
#[derive(Debug, Default)]
pub struct Frontier(AtomicI64);

impl Frontier {
    /// Video `id` may have become usable, or the channel's: look again from it.
    pub fn lower(&self, id: i64) {
        self.0.fetch_min(id, Ordering::AcqRel);
    }

    fn get(&self) -> i64 {
        self.0.load(Ordering::Acquire)
    }

    fn raise(&self, to: i64) {
        self.0.fetch_max(to, Ordering::AcqRel);
    }
}

/// The columns a pick reads, `v` the video.
const VIDEO: &str = "v.id, v.path, v.probe, v.title, v.creator, v.url, v.meta_origin";

/// The rows of a pick's query, as videos: `None` for one whose probe cannot be read.
fn video(r: &Row<'_>) -> Result<(i64, PathBuf, Option<String>, Option<Video>), DbError> {
    let id: i64 = r.get(0)?;
    let path = PathBuf::from(r.get::<_, String>(1)?);
    let creator: Option<String> = r.get(4)?;
    let info = r
        .get::<_, Option<String>>(2)?
        .and_then(|p| serde_json::from_str::<ProbeInfo>(&p).ok());
    let video = match info {
        Some(info) => Some(Video {
            id,
            path: path.clone(),
            info,
            meta: SourceMeta {
                title: r.get(3)?,
                creator: creator.clone(),
                url: r.get(5)?,
                origin: MetaOrigin::parse(r.get::<_, Option<String>>(6)?.as_deref()),
            },
        }),
        None => None,
    };
    Ok((id, path, creator, video))
}

impl LibraryStore {
    /// `channel`'s first usable video in its LRU order (never used by it first,
    /// by id from `frontier`, then the oldest use) that is not in `exclude` and
    /// `belongs` to it. The never-used are read in id order and the used in the
    /// order of an index: the first that may air is read, and hardly any other.
    pub fn least_recently_used(
        &self,
        channel: &str,
        exclude: &[i64],
        belongs: &dyn Fn(&Path, Option<&str>) -> bool,
        frontier: &Frontier,
    ) -> Result<Option<Video>, DbError> {
        let c = self.db.conn();
        let mut st = c.prepare_cached(&format!(
            "SELECT {VIDEO} FROM videos v
             WHERE v.id >= ?2 AND v.present = 1 AND v.duration IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM channel_videos cv WHERE cv.channel = ?1
                               AND cv.video_id = v.id AND cv.last_used IS NOT NULL)
             ORDER BY v.id"
        ))?;
        let mut rows = st.query(rusqlite::params![channel, frontier.get()])?;
        // Until a video is passed over for now (excluded), what does not belong is
        // behind the frontier for good.
        let mut contiguous = true;
        while let Some(r) = rows.next()? {
            let (id, path, creator, video) = video(r)?;
            if exclude.contains(&id) {
                contiguous = false;
                continue;
            }
            match video {
                Some(v) if belongs(&path, creator.as_deref()) => {
                    // Everything before it is used or not the channel's.
                    if contiguous {
                        frontier.raise(id);
                    }
                    return Ok(Some(v));
                }
                _ if contiguous => frontier.raise(id + 1),
                _ => {}
            }
        }
        drop(rows);
        let mut st = c.prepare_cached(&format!(
            "SELECT {VIDEO} FROM channel_videos cv JOIN videos v ON v.id = cv.video_id
             WHERE cv.channel = ?1 AND cv.last_used IS NOT NULL
               AND v.present = 1 AND v.duration IS NOT NULL
             ORDER BY cv.last_used, cv.video_id"
        ))?;
        let mut rows = st.query([channel])?;
        while let Some(r) = rows.next()? {
            let (id, path, creator, video) = video(r)?;
            if exclude.contains(&id) || !belongs(&path, creator.as_deref()) {
                continue;
            }
            if let Some(v) = video {
                return Ok(Some(v));
            }
        }
        Ok(None)
    }

    /// Present videos that `belong` to `channel` in its LRU order (usable ones
    /// first: never used, then by last use; then the others by id), with the
    /// ranges it used; `offset`/`limit` page through them.
    pub fn list(
        &self,
        channel: &str,
        belongs: &dyn Fn(&Path, Option<&str>) -> bool,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<VideoStatus>, DbError> {
        let c = self.db.conn();
        let select = "SELECT v.id, v.path, v.title, v.creator, v.duration, v.error,
                    cv.last_used, coalesce(cv.clips_cut, 0), coalesce(cv.resets, 0),
                    coalesce(cv.airtime, 0)
             FROM videos v LEFT JOIN channel_videos cv
                 ON cv.channel = ?1 AND cv.video_id = v.id
             WHERE v.present = 1";
        let parts = [
            "AND v.duration IS NOT NULL AND cv.last_used IS NULL ORDER BY v.id",
            "AND v.duration IS NOT NULL AND cv.last_used IS NOT NULL
             ORDER BY cv.last_used, v.id",
            "AND v.duration IS NULL ORDER BY v.id",
        ];
        let mut out = Vec::new();
        let mut skip = offset;
        for part in parts {
            let mut st = c.prepare_cached(&format!("{select} {part}"))?;
            let mut rows = st.query([channel])?;
            while let Some(r) = rows.next()? {
                if out.len() as u64 >= limit {
                    break;
                }
                let path = PathBuf::from(r.get::<_, String>(1)?);
                let creator: Option<String> = r.get(3)?;
                if !belongs(&path, creator.as_deref()) {
                    continue;
                }
                if skip > 0 {
                    skip -= 1;
                    continue;
                }
                out.push(VideoStatus {
                    id: r.get(0)?,
                    path,
                    title: r.get(2)?,
                    creator,
                    duration: r.get(4)?,
                    error: r.get(5)?,
                    last_used: r.get(6)?,
                    clips_cut: r.get(7)?,
                    resets: r.get(8)?,
                    airtime: r.get(9)?,
                    used: Vec::new(),
                });
            }
        }
        out.into_iter()
            .map(|mut v| {
                v.used = ranges::read(&c, channel, v.id)?;
                Ok(v)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;
    use rusqlite_migration::{M, Migrations};

    use super::*;
    use crate::db::Db;

    /// An upgrade from a release that gave each channel a row for every video:
    /// the rows of videos a channel never used go, and every channel's LRU order
    /// and used ranges stay what they were.
    #[test]
    fn an_upgrade_drops_the_rows_of_unused_videos_and_keeps_every_channels_order_and_ranges() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("state.db");
        {
            let mut c = Connection::open(&path).unwrap();
            let old: Vec<M> = [
                include_str!("migrations/001_init.sql"),
                include_str!("migrations/002_reprobe_colour.sql"),
                include_str!("migrations/003_channels.sql"),
                include_str!("migrations/004_generation_runs.sql"),
                include_str!("migrations/005_tracks_and_test_chunks.sql"),
                include_str!("migrations/006_airtime_by_day.sql"),
                include_str!("migrations/007_programme_slots.sql"),
                include_str!("migrations/008_clip_rungs.sql"),
            ]
            .into_iter()
            .map(M::up)
            .collect();
            Migrations::new(old).to_latest(&mut c).unwrap();
            let probe = r#"{"duration":60.0,"width":2,"height":2,"fps":25.0,"rotation":0,"interlaced":false,"color":{}}"#;
            for id in 1..=6 {
                c.execute(
                    "INSERT INTO videos (id, path, size, mtime_ns, added_at, probe, duration)
                     VALUES (?1, '/v/' || ?1 || '.mp4', 1, 1, 0, ?2, 60.0)",
                    rusqlite::params![id, probe],
                )
                .unwrap();
            }
            c.execute_batch(
                "INSERT INTO videos (id, path, size, mtime_ns, added_at, error)
                     VALUES (7, '/v/7.mp4', 1, 1, 0, 'no video stream');
                 INSERT INTO videos (id, path, size, mtime_ns, added_at) VALUES (8, '/v/8.mp4', 1, 1, 0);
                 -- Every video had a row in both channels.
                 INSERT INTO channel_videos (channel, video_id) SELECT 'a', id FROM videos;
                 INSERT INTO channel_videos (channel, video_id) SELECT 'b', id FROM videos;
                 UPDATE channel_videos SET last_used = 5, clips_cut = 1 WHERE channel = 'a' AND video_id = 1;
                 UPDATE channel_videos SET last_used = 2, clips_cut = 1 WHERE channel = 'a' AND video_id = 3;
                 UPDATE channel_videos SET plays = 1, airtime = 3.0 WHERE channel = 'a' AND video_id = 5;
                 UPDATE channel_videos SET last_used = 9, clips_cut = 2 WHERE channel = 'a' AND video_id = 6;
                 UPDATE channel_videos SET last_used = 4, clips_cut = 1 WHERE channel = 'b' AND video_id = 2;
                 UPDATE channel_videos SET last_used = 1, clips_cut = 1 WHERE channel = 'b' AND video_id = 4;
                 INSERT INTO video_ranges (video_id, start, end, channel) VALUES
                     (3, 0.0, 8.0, 'a'), (6, 8.0, 16.0, 'a'), (2, 4.0, 12.0, 'b');",
            )
            .unwrap();
        }
        let db = Db::open(&path).unwrap();
        let rows: i64 = db
            .conn()
            .query_row("SELECT count(*) FROM channel_videos", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 6, "the used (and the aired) only, of 16");
        let lib = db.library();
        let all = |_: &Path, _: Option<&str>| true;
        // The order each would pick in: the never-used by id, then the oldest use.
        for (channel, want) in [("a", [2, 4, 5, 3, 1, 6]), ("b", [1, 3, 5, 6, 4, 2])] {
            let frontier = Frontier::default();
            let mut order = Vec::new();
            while let Some(v) = lib
                .least_recently_used(channel, &order, &all, &frontier)
                .unwrap()
            {
                order.push(v.id);
            }
            assert_eq!(order, want, "{channel}");
            let listed: Vec<i64> = lib
                .list(channel, &all, 0, 100)
                .unwrap()
                .iter()
                .map(|v| v.id)
                .collect();
            assert_eq!(listed[..6], want, "{channel}: the API's list agrees");
            assert_eq!(listed[6..], [7, 8], "then the unusable and the unprobed");
        }
        let ranges = db.ranges();
        assert_eq!(ranges.used("a", 3).unwrap().len(), 1);
        assert_eq!(ranges.used("a", 6).unwrap().len(), 1);
        assert_eq!(ranges.used("b", 2).unwrap().len(), 1);
        assert!(ranges.used("b", 3).unwrap().is_empty());
        let listed = lib.list("a", &all, 0, 100).unwrap();
        let five = listed.iter().find(|v| v.id == 5).unwrap();
        assert_eq!(
            (five.last_used, five.airtime),
            (None, 3.0),
            "its airtime kept"
        );
    }

    /// The frontier: what does not belong is passed over once; a video probed
    /// again below it is seen again.
    #[test]
    fn the_frontier_passes_over_what_is_not_the_channels_and_comes_back_when_told() {
        let db = Db::in_memory().unwrap();
        let probe = crate::transcode::ProbeInfo {
            duration: 60.0,
            width: 2,
            height: 2,
            fps: 25.0,
            rotation: 0,
            interlaced: false,
            title: None,
            artist: None,
            color: Default::default(),
        };
        let videos: Vec<_> = (0..10)
            .map(|i| super::super::library::NewVideo {
                path: format!("/v/{}/{i}.mp4", if i < 8 { "other" } else { "mine" }).into(),
                size: 1,
                info: probe.clone(),
                meta: SourceMeta {
                    title: format!("{i}"),
                    creator: None,
                    url: None,
                    origin: MetaOrigin::FileName,
                },
                used_by: Vec::new(),
            })
            .collect();
        let lib = db.library();
        lib.insert_usable(&videos).unwrap();
        let mine = |p: &Path, _: Option<&str>| p.starts_with("/v/mine");
        let frontier = Frontier::default();
        let v = lib.least_recently_used("c", &[], &mine, &frontier).unwrap();
        assert_eq!(v.unwrap().id, 9);
        assert_eq!(frontier.get(), 9, "the eight others passed over for good");
        // Told that video 2 may be the channel's now (its patterns changed, say):
        // it is looked at again.
        frontier.lower(2);
        let any = |_: &Path, _: Option<&str>| true;
        let v = lib.least_recently_used("c", &[], &any, &frontier).unwrap();
        assert_eq!(v.unwrap().id, 2);
    }
}
