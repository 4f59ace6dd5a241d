//! What has aired, persisted: hours streamed, chunks made and aired, airtime and
//! plays per source video and per track; and where the stream stopped, so the next
//! run continues it (media sequence, timestamps, discontinuity numbers).
//!
//! The recorder follows the live window: one small transaction per segment.

use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use rusqlite::{OptionalExtension, params};
use tokio_util::sync::CancellationToken;

use crate::channel::{Live, NowPlaying};
use crate::db::{self, Db, DbError};
use crate::media::Ticks;
use crate::schedule::music;

/// Where the last run's stream stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Continuity {
    /// Media sequence number of the next segment.
    pub next_seq: u64,
    /// Channel time of the next frame.
    pub next_pts: Ticks,
    /// Discontinuity number of the last segment.
    pub discontinuity_number: u64,
    /// PROGRAM-DATE-TIME at the end of the last segment (absent in databases of
    /// releases that did not record it).
    pub next_pdt: Option<SystemTime>,
}

/// The continuity point recorded by a previous run, if any.
pub fn continuity(db: &Db) -> Result<Option<Continuity>, DbError> {
    let get =
        |k: &str| -> Result<Option<u64>, DbError> { Ok(db.meta(k)?.and_then(|v| v.parse().ok())) };
    match (
        get("next_seq")?,
        get("next_pts")?,
        get("discontinuity_number")?,
    ) {
        (Some(next_seq), Some(pts), Some(discontinuity_number)) => Ok(Some(Continuity {
            next_seq,
            next_pts: Ticks(pts),
            discontinuity_number,
            next_pdt: get("next_pdt_ms")?
                .map(|ms| SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(ms)),
        })),
        _ => Ok(None),
    }
}

/// Records every published segment until cancelled.
///
/// The engine publishes without waiting for the database, so a kill -9 can come
/// after a segment is out (a player may have it) and before it is recorded. So
/// while the stream runs the recorded continuity point is one segment ahead: past
/// the segment after the newest recorded one, the one the engine may publish
/// before the next record. A restart after a crash then starts after anything a
/// player may have seen (its first segment carries a discontinuity anyway). Once
/// cancelled (the engine has stopped: nothing more is published) the point is
/// exact, so a graceful restart goes on right where the stream stopped.
pub async fn record(db: Db, live: Arc<Live>, cancel: CancellationToken) {
    let mut rx = live.subscribe();
    let mut last: Option<NowPlaying> = None;
    let mut stopping = false;
    let mut first_pass = true;
    while !stopping {
        // Anything already published is recorded at once; then on each new segment.
        // On cancel, one last pass records what was published since the last one.
        if !std::mem::take(&mut first_pass) {
            tokio::select! {
                _ = cancel.cancelled() => stopping = true,
                r = rx.changed() => if r.is_err() { stopping = true },
            }
        }
        if live.stats().segments_published == 0 {
            continue;
        }
        // Segments come every couple of seconds; the retained history covers any we
        // did not get to in time.
        let from = last.as_ref().map_or(0, |l| l.seq + 1);
        let segments: Vec<NowPlaying> = live
            .history()
            .into_iter()
            .filter(|n| n.seq >= from)
            .collect();
        for now in segments {
            let pdt = live.next_program_date_time();
            if let Err(e) = record_segment(&db, last.as_ref(), &now, pdt) {
                tracing::warn!(error = %e, "cannot record stats");
            }
            last = Some(now);
        }
    }
    // The exact point, also when nothing was published since the last pass.
    if let Some(now) = &last {
        let pdt = live.next_program_date_time();
        let exact = || -> Result<(), DbError> {
            let mut c = db.conn();
            let tx = c.transaction()?;
            set_continuity(&tx, now, pdt, false)?;
            Ok(tx.commit()?)
        };
        if let Err(e) = exact() {
            tracing::warn!(error = %e, "cannot record where the stream stopped");
        }
    }
}

/// Records where the next run goes on after `now`: right after it, or when
/// `ahead`, one segment further (see [`record`]).
fn set_continuity(
    tx: &rusqlite::Transaction<'_>,
    now: &NowPlaying,
    next_pdt: Option<SystemTime>,
    ahead: bool,
) -> Result<(), DbError> {
    let (seq, pts, disc, pdt) = if ahead {
        let dur = Ticks::from_secs_f64(now.duration);
        (
            now.seq + 2,
            now.end_pts + dur,
            now.discontinuity_number + 1,
            next_pdt.map(|t| t + dur.as_duration()),
        )
    } else {
        (now.seq + 1, now.end_pts, now.discontinuity_number, next_pdt)
    };
    db::set_meta(tx, "next_seq", &seq.to_string())?;
    db::set_meta(tx, "next_pts", &pts.0.to_string())?;
    db::set_meta(tx, "discontinuity_number", &disc.to_string())?;
    if let Some(ms) = pdt
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map(|d| d.as_millis())
    {
        db::set_meta(tx, "next_pdt_ms", &ms.to_string())?;
    }
    Ok(())
}

fn record_segment(
    db: &Db,
    prev: Option<&NowPlaying>,
    now: &NowPlaying,
    next_pdt: Option<SystemTime>,
) -> Result<(), DbError> {
    let mut c = db.conn();
    let tx = c.transaction()?;
    db::add_real(&tx, "seconds_streamed", now.duration)?;
    if let Some(src) = now
        .clip
        .as_ref()
        .and_then(|c| c.source.as_ref())
        .and_then(|p| p.to_str())
    {
        let new_clip = prev
            .and_then(|p| p.clip.as_ref())
            .is_none_or(|p| !Arc::ptr_eq(p, now.clip.as_ref().expect("has a source")));
        tx.execute(
            "UPDATE videos SET airtime = airtime + ?2, plays = plays + ?3 WHERE path = ?1",
            params![src, now.duration, new_clip as i64],
        )?;
    }
    if let Some(track) = &now.track
        && let Some(src) = track.source.as_ref().and_then(|p| p.to_str())
    {
        let new_track = prev
            .and_then(|p| p.track.as_ref())
            .is_none_or(|p| !Arc::ptr_eq(p, track));
        tx.execute(
            "UPDATE tracks SET airtime = airtime + ?2, plays = plays + ?3 WHERE path = ?1",
            params![src, now.duration, new_track as i64],
        )?;
    }
    set_continuity(&tx, now, next_pdt, true)?;
    tx.commit()?;
    Ok(())
}

/// One row of a top list.
#[derive(Clone, Debug, PartialEq)]
pub struct Played {
    /// Title.
    pub title: String,
    /// Creator, for videos.
    pub creator: Option<String>,
    /// Times it went on air.
    pub plays: u64,
    /// Seconds aired.
    pub airtime: f64,
}

/// The persisted stats.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stats {
    /// Hours of stream published, all runs together.
    pub hours_streamed: f64,
    /// Chunks made so far: every chunk completed, and those still being built that
    /// hold a clip (they can air: at a fresh start the first one airs as it grows),
    /// evicted and deleted ones included.
    pub chunks_created: u64,
    /// Chunk airings started.
    pub chunks_aired: u64,
    /// Source videos by airtime, most first.
    pub top_videos: Vec<Played>,
    /// Tracks by airtime, most first.
    pub top_tracks: Vec<Played>,
    /// Plays per creator, most first.
    pub top_creators: Vec<Played>,
}

/// Reads the stats, with the `top` first entries of each list.
pub fn read(db: &Db, top: usize) -> Result<Stats, DbError> {
    let c = db.conn();
    let meta = |k: &str| -> Result<Option<String>, DbError> {
        Ok(
            c.query_row("SELECT value FROM meta WHERE key = ?1", [k], |r| r.get(0))
                .optional()?,
        )
    };
    let num = |k: &str| -> Result<f64, DbError> {
        Ok(meta(k)?.and_then(|v| v.parse().ok()).unwrap_or(0.0))
    };
    // Rows: title, creator, plays, airtime, and a path to name an untitled track by.
    let list = |sql: &str| -> Result<Vec<Played>, DbError> {
        let mut st = c.prepare(sql)?;
        let v = st
            .query_map([top as i64], |r| {
                let title: String = r.get(0)?;
                let path: Option<String> = r.get(4)?;
                Ok(Played {
                    title: match path {
                        Some(p) => music::track_title(&title, Path::new(&p)),
                        None => title,
                    },
                    creator: r.get(1)?,
                    plays: r.get::<_, i64>(2)? as u64,
                    airtime: r.get(3)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(v)
    };
    // The counter counts chunks as they complete; one still being built counts as
    // soon as it has a clip, since it can air (at a fresh start, the chunk on air).
    let building: i64 = c.query_row(
        "SELECT count(*) FROM chunks WHERE state = 'building'
         AND EXISTS (SELECT 1 FROM clips WHERE clips.chunk_id = chunks.id)",
        [],
        |r| r.get(0),
    )?;
    Ok(Stats {
        hours_streamed: num("seconds_streamed")? / 3600.0,
        chunks_created: num("chunks_created")? as u64 + building as u64,
        chunks_aired: num("chunks_aired")? as u64,
        top_videos: list(
            "SELECT title, creator, plays, airtime, NULL FROM videos WHERE airtime > 0
             ORDER BY airtime DESC, id LIMIT ?1",
        )?,
        top_tracks: list(
            "SELECT title, NULL, plays, airtime, path FROM tracks WHERE airtime > 0
             ORDER BY airtime DESC, id LIMIT ?1",
        )?,
        top_creators: list(
            "SELECT creator, creator, sum(plays), sum(airtime) AS a, NULL FROM videos
             WHERE airtime > 0 AND creator IS NOT NULL GROUP BY creator ORDER BY a DESC LIMIT ?1",
        )?,
    })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::{Duration, UNIX_EPOCH};

    use bytes::Bytes;

    use super::*;
    use crate::channel::live::{PublishedSegment, entry};
    use crate::channel::{ClipInfo, TrackInfo};

    fn publish(live: &Live, seq: u64, clip: &Arc<ClipInfo>, track: &Arc<TrackInfo>) {
        let name = live.segment_name(seq);
        let seg = PublishedSegment {
            seq,
            name: name.clone(),
            data: Bytes::from_static(&[0x47; 188]),
            entry: entry(name, 2.0, UNIX_EPOCH + Duration::from_secs(seq * 2), false),
        };
        let now = NowPlaying {
            seq,
            clip: Some(clip.clone()),
            track: Some(track.clone()),
            duration: 2.0,
            end_pts: Ticks(900_000 + (seq + 1) * 180_000),
            ..NowPlaying::default()
        };
        live.publish(seg, now, false).run();
    }

    #[tokio::test]
    async fn records_airtime_plays_and_where_the_stream_is() {
        let db = Db::in_memory().unwrap();
        {
            let c = db.conn();
            c.execute(
                "INSERT INTO videos (path, size, mtime_ns, added_at, title, creator) VALUES
                 ('/v/a.mp4', 1, 1, 0, 'A', 'Ann'), ('/v/b.mp4', 1, 1, 0, 'B', 'Ann')",
                [],
            )
            .unwrap();
            // As the music scanner records a track: no title.
            c.execute(
                "INSERT INTO tracks (path, size, mtime_ns, added_at) VALUES ('/m/Night Drive.mp3', 1, 1, 0)",
                [],
            )
            .unwrap();
        }
        assert_eq!(continuity(&db).unwrap(), None);
        let live = Live::new("r".into(), 5, 2, None);
        let cancel = CancellationToken::new();
        let task = tokio::spawn(record(db.clone(), live.clone(), cancel.clone()));
        let clip = |p: &str| {
            Arc::new(ClipInfo {
                id: p.into(),
                source: Some(PathBuf::from(p)),
                ..ClipInfo::default()
            })
        };
        let (a, b) = (clip("/v/a.mp4"), clip("/v/b.mp4"));
        let x = Arc::new(TrackInfo {
            title: "Night Drive".into(),
            source: Some("/m/Night Drive.mp3".into()),
            duration: 60.0,
        });
        // a for 3 segments, b for 2, a again (another airing) for 1; one track throughout.
        for (seq, c) in [(7, &a), (8, &a), (9, &a), (10, &b), (11, &b), (12, &a)] {
            publish(&live, seq, c, &x);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        cancel.cancel();
        task.await.unwrap();
        let s = read(&db, 10).unwrap();
        assert!((s.hours_streamed - 12.0 / 3600.0).abs() < 1e-9, "{s:?}");
        let va = &s.top_videos[0];
        assert_eq!((va.title.as_str(), va.plays, va.airtime), ("A", 2, 8.0));
        assert_eq!((s.top_videos[1].plays, s.top_videos[1].airtime), (1, 4.0));
        let t = &s.top_tracks[0];
        assert_eq!(
            (t.title.as_str(), t.plays, t.airtime),
            ("Night Drive", 1, 12.0)
        );
        assert_eq!(s.top_creators[0].title, "Ann");
        assert_eq!(
            (s.top_creators[0].plays, s.top_creators[0].airtime),
            (3, 12.0)
        );
        assert_eq!(
            continuity(&db).unwrap(),
            Some(Continuity {
                next_seq: 13,
                next_pts: Ticks(900_000 + 13 * 180_000),
                discontinuity_number: 0,
                // Segment 12 starts at 24 s and lasts 2 s.
                next_pdt: Some(UNIX_EPOCH + Duration::from_secs(26)),
            })
        );
    }

    #[tokio::test]
    async fn while_it_runs_the_continuity_point_covers_a_segment_not_yet_recorded() {
        let db = Db::in_memory().unwrap();
        let live = Live::new("r".into(), 5, 2, None);
        let cancel = CancellationToken::new();
        let task = tokio::spawn(record(db.clone(), live.clone(), cancel.clone()));
        let clip = Arc::new(ClipInfo::default());
        let track = Arc::new(TrackInfo {
            title: "t".into(),
            source: None,
            duration: 60.0,
        });
        for seq in [7, 8] {
            publish(&live, seq, &clip, &track);
        }
        // Segment 8 recorded; a kill -9 now could come right after segment 9 is
        // published and before it is recorded: the point is past segment 9.
        let t0 = std::time::Instant::now();
        while continuity(&db).unwrap().is_none_or(|c| c.next_seq < 10) {
            assert!(t0.elapsed() < Duration::from_secs(5), "not recorded");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(
            continuity(&db).unwrap(),
            Some(Continuity {
                next_seq: 10,
                next_pts: Ticks(900_000 + 10 * 180_000),
                discontinuity_number: 1,
                // Segment 8 starts at 16 s and lasts 2 s; then segment 9.
                next_pdt: Some(UNIX_EPOCH + Duration::from_secs(20)),
            })
        );
        // Stopped (the engine first): exactly where the stream stopped.
        cancel.cancel();
        task.await.unwrap();
        assert_eq!(
            continuity(&db).unwrap(),
            Some(Continuity {
                next_seq: 9,
                next_pts: Ticks(900_000 + 9 * 180_000),
                discontinuity_number: 0,
                next_pdt: Some(UNIX_EPOCH + Duration::from_secs(18)),
            })
        );
    }

    #[test]
    fn chunks_created_counts_the_chunk_on_air_while_it_is_built() {
        use crate::channel::{ClipRef, ClipSource};
        use crate::schedule::{ClipRecord, Playout};
        use crate::transcode::OutputProfile;

        let d = tempfile::tempdir().unwrap();
        let db = Db::open(&d.path().join("state.db")).unwrap();
        let chunks = d.path().join("chunks");
        let profile = OutputProfile::new(320, 180, 30, 2);
        let playout = Playout::load(db.clone(), &chunks, &profile).unwrap();
        let created = || read(&db, 10).unwrap().chunks_created;
        let begin = |id: &str| {
            let dir = chunks.join(id);
            std::fs::create_dir_all(&dir).unwrap();
            playout
                .begin_chunk(id, dir, &profile, "libx264", 12.0)
                .unwrap();
        };
        let add = |id: &str, i: usize| {
            let file = format!("clip-{i:04}.ts");
            let path = chunks.join(id).join(&file);
            std::fs::write(&path, [0u8; 188]).unwrap();
            let rec = ClipRecord {
                file,
                video_id: None,
                source: None,
                title: format!("{id} {i}"),
                creator: None,
                start: 0.0,
                duration: 6.0,
                size_bytes: 188,
                encoder: "libx264".into(),
            };
            let info = Arc::new(ClipInfo {
                id: format!("{id}/{i}"),
                chunk: Some(id.into()),
                ..ClipInfo::default()
            });
            playout.add_clip(id, ClipRef { path, info }, &rec).unwrap();
        };
        assert_eq!(created(), 0);
        // A fresh start: the first chunk airs as it is made.
        begin("c1");
        assert_eq!(created(), 0, "no clip yet: nothing made");
        add("c1", 0);
        assert!(playout.next_clip().is_some(), "the growing chunk airs");
        assert_eq!(created(), 1, "the chunk on air counts while it is built");
        add("c1", 1);
        assert!(playout.complete_chunk("c1").unwrap().is_none());
        assert_eq!(created(), 1, "completing it does not count it twice");
        begin("c2");
        assert_eq!(created(), 1, "a job without a clip is no chunk yet");
        add("c2", 0);
        assert_eq!(created(), 2);
        assert!(playout.complete_chunk("c2").unwrap().is_none());
        assert_eq!(created(), 2);
        // Made chunks stay counted once evicted or deleted.
        db.conn().execute("DELETE FROM chunks", []).unwrap();
        assert_eq!(created(), 2);
    }
}
