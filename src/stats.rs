//! What has aired, persisted: hours streamed, chunks made and aired, airtime and
//! plays per source video and per track; and where the stream stopped, so the next
//! run continues it (media sequence, timestamps, discontinuity numbers).
//!
//! Each channel's recorder follows its live window and hands every segment to
//! the [`Recorder`], whose thread writes those of every channel in shared
//! transactions.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio_util::sync::CancellationToken;

pub use crate::db::continuity::Continuity;
use crate::db::stats::{ChannelSegment, PlayedRow, SegmentAired, day_of};
use crate::db::{Db, DbError};
use crate::engine::{Live, NowPlaying};
use crate::media::Ticks;
use crate::schedule::music;

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
pub async fn record(
    recorder: Recorder,
    channel: Arc<str>,
    live: Arc<Live>,
    cancel: CancellationToken,
) {
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
        if live.last_published().is_none() {
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
        if segments.is_empty() {
            continue;
        }
        let pdt = live.next_program_date_time();
        // When each one started, for the day it counts on: the newest ends at the
        // next PROGRAM-DATE-TIME (the engine's clock), each one before where the
        // one after it starts.
        let mut starts = Vec::with_capacity(segments.len());
        let mut end = pdt.unwrap_or_else(SystemTime::now);
        for s in segments.iter().rev() {
            let start = end
                .checked_sub(Duration::from_secs_f64(s.duration.max(0.0)))
                .unwrap_or(end);
            starts.push(start);
            end = start;
        }
        starts.reverse();
        // Written by the recorder's thread with every other channel's: nothing
        // here waits on SQLite.
        let prev = last.take();
        last = segments.last().cloned();
        recorder.send(Job::Segments {
            channel: channel.clone(),
            prev,
            segments: segments.into_iter().zip(starts).collect(),
            pdt,
        });
    }
    // The exact point, also when nothing was published since the last pass; after
    // everything handed over before it.
    if let Some(now) = last {
        let point = next_point(&now, live.next_program_date_time(), false);
        let (done, saved) = tokio::sync::oneshot::channel();
        recorder.send(Job::Point {
            channel,
            point,
            done,
        });
        if let Ok(Err(e)) = saved.await {
            tracing::warn!(error = %e, "cannot record where the stream stopped");
        }
    }
}

/// How long the recorder's thread waits after a first segment for the others of
/// the same moment: with hundreds of channels, one transaction holds them all.
const BATCH_WINDOW: Duration = Duration::from_millis(200);

/// Writes what every channel aired, in shared transactions: each channel's
/// [`record`] hands its segments over and goes on; one thread writes whatever has
/// come from every channel in one transaction, about every [`BATCH_WINDOW`], in
/// the order handed over. It stops when the last handle is dropped.
#[derive(Clone)]
pub struct Recorder {
    jobs: std::sync::mpsc::Sender<Job>,
    written: Arc<Written>,
}

/// What the recorder has written since start.
#[derive(Debug, Default)]
pub struct Written {
    /// Transactions of segments.
    pub transactions: std::sync::atomic::AtomicU64,
    /// Segments, of every channel.
    pub segments: std::sync::atomic::AtomicU64,
}

/// What a channel hands the recorder.
enum Job {
    /// Segments that aired, each with when it started, after `prev`; `pdt` is the
    /// PROGRAM-DATE-TIME after the last.
    Segments {
        channel: Arc<str>,
        prev: Option<NowPlaying>,
        segments: Vec<(NowPlaying, SystemTime)>,
        pdt: Option<SystemTime>,
    },
    /// The exact point where the channel stopped.
    Point {
        channel: Arc<str>,
        point: Continuity,
        done: tokio::sync::oneshot::Sender<Result<(), DbError>>,
    },
}

impl Recorder {
    /// Starts the thread that writes to `db`.
    pub fn start(db: Db) -> Recorder {
        let (jobs, rx) = std::sync::mpsc::channel();
        let written = Arc::new(Written::default());
        let w = written.clone();
        std::thread::Builder::new()
            .name("recorder".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    std::thread::sleep(BATCH_WINDOW);
                    let jobs: Vec<Job> = std::iter::once(first).chain(rx.try_iter()).collect();
                    write(&db, jobs, &w);
                }
            })
            .expect("the recorder's thread starts");
        Recorder { jobs, written }
    }

    /// What it has written since start.
    pub fn written(&self) -> &Written {
        &self.written
    }

    fn send(&self, job: Job) {
        if self.jobs.send(job).is_err() {
            tracing::warn!("the recorder has stopped: stats not recorded");
        }
    }
}

/// Writes a batch: every channel's segments in one transaction, then the points.
fn write(db: &Db, jobs: Vec<Job>, written: &Written) {
    let mut aired = Vec::new();
    let mut points = Vec::new();
    for job in &jobs {
        match job {
            Job::Segments {
                channel,
                prev,
                segments,
                pdt,
            } => {
                let mut prev = prev.as_ref();
                for (now, start) in segments {
                    aired.push((&**channel, segment_aired(prev, now, *start)));
                    points.push(next_point(now, *pdt, true));
                    prev = Some(now);
                }
            }
            Job::Point { .. } => {}
        }
    }
    let rows: Vec<ChannelSegment<'_>> = aired
        .iter()
        .zip(&points)
        .map(|((channel, segment), next)| ChannelSegment {
            channel,
            segment: *segment,
            next,
        })
        .collect();
    if !rows.is_empty() {
        use std::sync::atomic::Ordering::Relaxed;
        match db.record_segments(&rows) {
            Ok(()) => {
                written.transactions.fetch_add(1, Relaxed);
                written.segments.fetch_add(rows.len() as u64, Relaxed);
            }
            Err(e) => tracing::warn!(error = %e, segments = rows.len(), "cannot record stats"),
        }
    }
    drop(rows);
    for job in jobs {
        if let Job::Point {
            channel,
            point,
            done,
        } = job
        {
            let _ = done.send(db.continuity(&channel).save(&point));
        }
    }
}

/// Where the next run goes on after `now`: right after it, or when `ahead`, one
/// segment further (see [`record`]).
fn next_point(now: &NowPlaying, next_pdt: Option<SystemTime>, ahead: bool) -> Continuity {
    if ahead {
        let dur = Ticks::from_secs_f64(now.duration);
        Continuity {
            next_seq: now.seq + 2,
            next_pts: now.end_pts + dur,
            discontinuity_number: now.discontinuity_number + 1,
            next_pdt: next_pdt.map(|t| t + dur.as_duration()),
        }
    } else {
        Continuity {
            next_seq: now.seq + 1,
            next_pts: now.end_pts,
            discontinuity_number: now.discontinuity_number,
            next_pdt,
        }
    }
}

/// What `now` aired, after `prev`, started at `started`.
fn segment_aired<'a>(
    prev: Option<&NowPlaying>,
    now: &'a NowPlaying,
    started: SystemTime,
) -> SegmentAired<'a> {
    // A segment starts a play when its clip (or track) is not the one before.
    let video = now.clip.as_ref().and_then(|clip| {
        let new_clip = prev
            .and_then(|p| p.clip.as_ref())
            .is_none_or(|p| !Arc::ptr_eq(p, clip));
        clip.source.as_deref().map(|src| (src, new_clip))
    });
    let track = now.track.as_ref().and_then(|track| {
        let new_track = prev
            .and_then(|p| p.track.as_ref())
            .is_none_or(|p| !Arc::ptr_eq(p, track));
        track.source.as_deref().map(|src| (src, new_track))
    });
    SegmentAired {
        secs: now.duration,
        video,
        track,
        day: day_of(unix_secs(started)),
    }
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
    /// The source video's id, for videos.
    pub video_id: Option<i64>,
}

/// Seconds of stream aired on one UTC day.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DayAirtime {
    /// The day.
    pub day: time::Date,
    /// Seconds aired on it.
    pub seconds: f64,
}

/// The Julian day number of 1970-01-01.
const UNIX_EPOCH_JULIAN_DAY: i64 = 2_440_588;

/// Days in [`Stats::airtime_by_day`].
pub const AIRTIME_DAYS: usize = 30;

fn unix_secs(t: SystemTime) -> i64 {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs_f64().ceil() as i64),
    }
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
    /// Seconds aired on each of the last [`AIRTIME_DAYS`] UTC days, today last,
    /// every day present (0 when nothing aired).
    pub airtime_by_day: Vec<DayAirtime>,
}

/// Reads `channel`'s stats, with the `top` first entries of each list; `now` says
/// which day is today.
pub fn read(db: &Db, channel: &str, top: usize, now: SystemTime) -> Result<Stats, DbError> {
    let store = db.stats(channel);
    let rows = store.read(top)?;
    let days = store.airtime_by_day(day_of(unix_secs(now)), AIRTIME_DAYS)?;
    let played = |rows: Vec<PlayedRow>| -> Vec<Played> {
        rows.into_iter()
            .map(|r| Played {
                // An untitled track is named as on air.
                title: match &r.path {
                    Some(p) => music::track_title(&r.title, p),
                    None => r.title,
                },
                creator: r.creator,
                plays: r.plays,
                airtime: r.airtime,
                video_id: r.video_id,
            })
            .collect()
    };
    Ok(Stats {
        hours_streamed: rows.seconds_streamed / 3600.0,
        // The counter counts chunks as they complete; one still being built counts
        // as soon as it has a clip, since it can air (at a fresh start, the chunk on air).
        chunks_created: rows.chunks_created + rows.chunks_building,
        chunks_aired: rows.chunks_aired,
        top_videos: played(rows.top_videos),
        top_tracks: played(rows.top_tracks),
        top_creators: played(rows.top_creators),
        airtime_by_day: days
            .into_iter()
            .map(|(day, seconds)| DayAirtime {
                day: time::Date::from_julian_day((day + UNIX_EPOCH_JULIAN_DAY) as i32)
                    .unwrap_or(time::Date::MIN),
                seconds,
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};
    use std::time::{Duration, UNIX_EPOCH};

    use bytes::Bytes;

    use super::*;
    use crate::db::library::NewVideo;
    use crate::engine::live::{PublishedSegment, entry};
    use crate::engine::{ClipInfo, TrackInfo};
    use crate::library::metadata::{MetaOrigin, SourceMeta};
    use crate::transcode::ProbeInfo;

    fn publish(live: &Live, seq: u64, clip: &Arc<ClipInfo>, track: &Arc<TrackInfo>) {
        let name = live.segment_name(seq);
        let seg = PublishedSegment {
            seq,
            name: name.clone(),
            data: Bytes::from_static(&[0x47; 188]),
            lower: Vec::new(),
            codecs: Vec::new(),
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
        live.publish(seg, now, None, std::time::Duration::ZERO)
            .run();
    }

    /// Waits (up to 5 s) until the recorder has recorded segment `seq`: while it
    /// runs, the continuity point it saves with a segment is one segment past it.
    async fn recorded(db: &Db, seq: u64) {
        let t0 = std::time::Instant::now();
        while db
            .continuity(crate::lineup::def::CLASSIC)
            .load()
            .unwrap()
            .is_none_or(|c| c.next_seq < seq + 2)
        {
            assert!(
                t0.elapsed() < Duration::from_secs(5),
                "segment {seq} not recorded"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Twenty channels hand their segments to one recorder: one thread writes them
    /// in shared transactions, and each channel's exact point when it stops.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_channels_segments_go_in_shared_transactions() {
        let db = Db::in_memory().unwrap();
        let recorder = Recorder::start(db.clone());
        let cancel = CancellationToken::new();
        let clip = Arc::new(ClipInfo::default());
        let track = Arc::new(TrackInfo {
            title: "t".into(),
            source: None,
            duration: 60.0,
        });
        let mut tasks = Vec::new();
        for c in 0..20 {
            let live = Live::new("r".into(), 5, 2, None);
            for seq in 0..3 {
                publish(&live, seq, &clip, &track);
            }
            let channel: Arc<str> = format!("c{c}").into();
            tasks.push(tokio::spawn(record(
                recorder.clone(),
                channel,
                live,
                cancel.clone(),
            )));
        }
        let written = || {
            recorder
                .written()
                .segments
                .load(std::sync::atomic::Ordering::Relaxed)
        };
        let t0 = std::time::Instant::now();
        while written() < 60 {
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "{} of 60 recorded",
                written()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let transactions = recorder
            .written()
            .transactions
            .load(std::sync::atomic::Ordering::Relaxed);
        assert!(
            transactions <= 20,
            "60 segments of 20 channels in {transactions} transactions"
        );
        cancel.cancel();
        for t in tasks {
            t.await.unwrap();
        }
        for c in 0..20 {
            let point = db.continuity(&format!("c{c}")).load().unwrap().unwrap();
            assert_eq!(point.next_seq, 3, "c{c}: the exact point once stopped");
        }
        assert_eq!(db.stats("c7").read(5).unwrap().seconds_streamed, 6.0);
    }

    #[tokio::test]
    async fn records_airtime_plays_and_where_the_stream_is() {
        let db = Db::in_memory().unwrap();
        let video = |path: &str, title: &str| NewVideo {
            path: path.into(),
            size: 1,
            info: ProbeInfo {
                duration: 60.0,
                width: 2,
                height: 2,
                fps: 25.0,
                rotation: 0,
                interlaced: false,
                title: None,
                artist: None,
                color: Default::default(),
            },
            meta: SourceMeta {
                title: title.into(),
                creator: Some("Ann".into()),
                url: None,
                origin: MetaOrigin::FileName,
            },
            used_by: Vec::new(),
        };
        db.library()
            .insert_usable(&[video("/v/a.mp4", "A"), video("/v/b.mp4", "B")])
            .unwrap();
        // As the music scanner records a track: no title.
        db.music(crate::lineup::def::CLASSIC)
            .scan(|tx| tx.add(Path::new("/m/Night Drive.mp3"), 1, 1, 0))
            .unwrap();
        assert_eq!(
            db.continuity(crate::lineup::def::CLASSIC).load().unwrap(),
            None
        );
        let live = Live::new("r".into(), 5, 2, None);
        let cancel = CancellationToken::new();
        let task = tokio::spawn(record(
            Recorder::start(db.clone()),
            crate::lineup::def::CLASSIC.into(),
            live.clone(),
            cancel.clone(),
        ));
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
            recorded(&db, seq).await;
        }
        cancel.cancel();
        task.await.unwrap();
        let s = read(
            &db,
            crate::lineup::def::CLASSIC,
            10,
            UNIX_EPOCH + Duration::from_secs(30),
        )
        .unwrap();
        assert!((s.hours_streamed - 12.0 / 3600.0).abs() < 1e-9, "{s:?}");
        let va = &s.top_videos[0];
        assert_eq!((va.title.as_str(), va.plays, va.airtime), ("A", 2, 8.0));
        assert!(va.video_id.is_some(), "a video's row has its id");
        assert_eq!(s.top_tracks[0].video_id, None);
        // Every segment aired on 1970-01-01, the last of the 30 days.
        assert_eq!(s.airtime_by_day.len(), AIRTIME_DAYS);
        assert_eq!(
            s.airtime_by_day[AIRTIME_DAYS - 1],
            DayAirtime {
                day: time::macros::date!(1970 - 01 - 01),
                seconds: 12.0
            }
        );
        assert_eq!(s.airtime_by_day[0].day, time::macros::date!(1969 - 12 - 03));
        assert!(
            s.airtime_by_day[..AIRTIME_DAYS - 1]
                .iter()
                .all(|d| d.seconds == 0.0)
        );
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
            db.continuity(crate::lineup::def::CLASSIC).load().unwrap(),
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
    async fn airtime_counts_on_the_utc_day_each_segment_started() {
        let db = Db::in_memory().unwrap();
        let live = Live::new("r".into(), 5, 2, None);
        let cancel = CancellationToken::new();
        let task = tokio::spawn(record(
            Recorder::start(db.clone()),
            crate::lineup::def::CLASSIC.into(),
            live.clone(),
            cancel.clone(),
        ));
        let clip = Arc::new(ClipInfo::default());
        let track = Arc::new(TrackInfo {
            title: "t".into(),
            source: None,
            duration: 60.0,
        });
        // Segment n starts at 2n s: 43198 and 43199 end the first day, 43200 and
        // 43201 start the second. 43199 and 43200 are recorded together, across
        // the day's end; 43201 by the last pass, on cancel.
        publish(&live, 43_198, &clip, &track);
        recorded(&db, 43_198).await;
        publish(&live, 43_199, &clip, &track);
        publish(&live, 43_200, &clip, &track);
        recorded(&db, 43_200).await;
        publish(&live, 43_201, &clip, &track);
        cancel.cancel();
        task.await.unwrap();
        let days = read(
            &db,
            crate::lineup::def::CLASSIC,
            10,
            UNIX_EPOCH + Duration::from_secs(86_400 + 3_600),
        )
        .unwrap()
        .airtime_by_day;
        let tail: Vec<(String, f64)> = days[AIRTIME_DAYS - 3..]
            .iter()
            .map(|d| (d.day.to_string(), d.seconds))
            .collect();
        assert_eq!(
            tail,
            [
                ("1969-12-31".to_string(), 0.0),
                ("1970-01-01".to_string(), 4.0),
                ("1970-01-02".to_string(), 4.0)
            ]
        );
    }

    #[tokio::test]
    async fn while_it_runs_the_continuity_point_covers_a_segment_not_yet_recorded() {
        let db = Db::in_memory().unwrap();
        let live = Live::new("r".into(), 5, 2, None);
        let cancel = CancellationToken::new();
        let task = tokio::spawn(record(
            Recorder::start(db.clone()),
            crate::lineup::def::CLASSIC.into(),
            live.clone(),
            cancel.clone(),
        ));
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
        recorded(&db, 8).await;
        assert_eq!(
            db.continuity(crate::lineup::def::CLASSIC).load().unwrap(),
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
            db.continuity(crate::lineup::def::CLASSIC).load().unwrap(),
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
        use crate::engine::{ClipRef, ClipSource};
        use crate::schedule::Playout;
        use crate::transcode::OutputProfile;

        let d = tempfile::tempdir().unwrap();
        let db = Db::open(&d.path().join("state.db")).unwrap();
        let chunks = d.path().join("chunks");
        let profile = OutputProfile::new(320, 180, 30, 2);
        let playout =
            Playout::load(db.clone(), crate::lineup::def::CLASSIC, &chunks, &profile).unwrap();
        let created = || {
            read(&db, crate::lineup::def::CLASSIC, 10, SystemTime::now())
                .unwrap()
                .chunks_created
        };
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
            let info = Arc::new(ClipInfo {
                id: format!("{id}/{i}"),
                title: format!("{id} {i}"),
                chunk: Some(id.into()),
                duration: 6.0,
                size_bytes: 188,
                encoder: "libx264".into(),
                ..ClipInfo::default()
            });
            playout.add_clip(id, ClipRef { path, info }).unwrap();
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
        db.chunks(crate::lineup::def::CLASSIC)
            .delete(&["c1", "c2"])
            .unwrap();
        assert_eq!(created(), 2);
    }
}
