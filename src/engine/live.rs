//! The live window: the segments viewers can fetch and the playlist that lists them.
//!
//! Held in memory (segments are `Bytes`, so serving one is a reference-count bump),
//! mirrored to disk for anyone who wants to serve the folder with another server.
//! Segments leave the playlist after `window` entries but stay fetchable as long
//! again, so a player that read the playlist just before it moved on never gets a 404.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::SystemTime;

use bytes::Bytes;
use parking_lot::RwLock;
use tokio::sync::watch;

pub use super::counters::{Fallback, LiveStats};
pub use super::lateness::Lateness;
use super::loaded::TrackInfo;
pub(crate) use super::mirror::MirrorJob;

use super::rungs::{RungBandwidth, RungSpec, folder as rung_folder};
use crate::clip::ClipInfo;
use crate::media::hls::{self, LivePlaylist, PlaylistEntry};

/// A segment viewers can fetch.
#[derive(Clone, Debug)]
pub struct PublishedSegment {
    /// Media sequence number.
    pub seq: u64,
    /// File name, in the playlist and in URLs: `<run id>-<seq>.ts`.
    pub name: String,
    /// The segment's MPEG-TS bytes (the top rung).
    pub data: Bytes,
    /// The segment in each lower rung of the ladder, highest first (see
    /// [`Live::set_rungs`]); a rung missing here airs the top rung's bytes.
    pub lower: Vec<Bytes>,
    /// Each rung's video codec (RFC 6381), the top first.
    pub codecs: Vec<Option<String>>,
    /// How the playlist lists it.
    pub entry: PlaylistEntry,
}

impl PublishedSegment {
    /// Its bytes in rung `i` (0: the top): the top rung's where it has no such rung
    /// (it was cut before the ladder changed).
    pub fn rung(&self, i: usize) -> Bytes {
        i.checked_sub(1)
            .and_then(|j| self.lower.get(j))
            .unwrap_or(&self.data)
            .clone()
    }
}

/// Whether a segment is still held, by number.
#[derive(Clone, Debug, PartialEq)]
pub enum Retained {
    /// Its bytes, shared with every other reader.
    Here(Bytes),
    /// Not published yet.
    NotYet,
    /// Aged out of memory.
    Gone,
}

/// What is on air, from the newest published segment.
#[derive(Clone, Debug, Default)]
pub struct NowPlaying {
    /// Sequence number of the segment this describes.
    pub seq: u64,
    /// The clip on air; `None` before the first segment.
    pub clip: Option<Arc<ClipInfo>>,
    /// Where in the clip the segment starts, seconds.
    pub clip_position: f64,
    /// The clip's whole length, seconds.
    pub clip_duration: f64,
    /// The music track on air; `None` while silence fills in.
    pub track: Option<Arc<TrackInfo>>,
    /// Where in the track (or the silence loop) the segment starts, seconds.
    pub track_position: f64,
    /// The segment's length, seconds.
    pub duration: f64,
    /// Channel time just after the segment: where the next one starts (and where a
    /// restart goes on).
    pub end_pts: crate::media::Ticks,
    /// Discontinuity sequence number of the segment (RFC 8216 6.2.2): players match
    /// segments across playlist reloads with it, so a restart continues it.
    pub discontinuity_number: u64,
}

struct Window {
    segments: VecDeque<PublishedSegment>,
    /// The rungs of the ladder, the top one first (none: never described).
    rungs: Vec<RungSpec>,
    discontinuity_sequence: u64,
    /// The next segment gets a discontinuity tag whatever its content: the first
    /// segment after a restart, whose timestamps and counters follow no segment of ours.
    force_discontinuity: bool,
    /// Sequence number of the first segment in the playlist.
    first_listed: u64,
    playlist: Option<Bytes>,
    now: NowPlaying,
    /// What each retained segment started with, oldest first.
    history: VecDeque<NowPlaying>,
    /// The clips aired, each once with when it started, oldest first (the guide's
    /// record of the programme on air).
    aired: VecDeque<Aired>,
    stats: LiveStats,
    last_published: Option<SystemTime>,
    /// The earliest PROGRAM-DATE-TIME the next segment may carry: the end of the
    /// last one, or of the last run's (whose wall clock may have been later).
    pdt_floor: Option<SystemTime>,
    /// Added to every PROGRAM-DATE-TIME of this run, fixed at its first segment, so
    /// a wall clock set back between runs never moves the guide's times backwards.
    pdt_shift: Option<std::time::Duration>,
}

impl Window {
    /// Gives `seg` its PROGRAM-DATE-TIME and returns when it is published, on the
    /// engine's clock (a guide built from it and a test on a virtual clock agree
    /// with the engine). The engine's times come from the monotonic clock anchored
    /// once (they never go back within a run); the shift keeps them after the last
    /// run's.
    fn date(&mut self, seg: &mut PublishedSegment) -> SystemTime {
        let pdt = seg.entry.program_date_time;
        let floor = self.pdt_floor;
        let shift = *self.pdt_shift.get_or_insert_with(|| {
            floor
                .and_then(|f| f.duration_since(pdt).ok())
                .unwrap_or_default()
        });
        let dated = floor.map_or(pdt + shift, |f| f.max(pdt + shift));
        seg.entry.program_date_time = dated;
        self.pdt_floor = Some(dated + std::time::Duration::from_secs_f64(seg.entry.duration));
        pdt
    }

    /// Renders the playlist of the last `window` segments, keeping it; returns it
    /// and how many of its segments start with a discontinuity. A discontinuity
    /// leaving the playlist bumps the discontinuity sequence (RFC 8216 6.2.1), so
    /// players can still match segments across reloads.
    fn relist(&mut self, window: usize, target_duration: u32) -> (Bytes, u64) {
        let listed_from = self.segments.len().saturating_sub(window);
        let new_first = self.segments[listed_from].seq;
        let old_first = self.first_listed;
        let left = self
            .segments
            .iter()
            .filter(|s| s.seq >= old_first && s.seq < new_first && s.entry.discontinuity)
            .count();
        self.discontinuity_sequence += left as u64;
        self.first_listed = new_first;
        let entries: Vec<PlaylistEntry> = self
            .segments
            .iter()
            .skip(listed_from)
            .map(|s| s.entry.clone())
            .collect();
        let text = hls::render(&LivePlaylist {
            target_duration,
            media_sequence: new_first,
            discontinuity_sequence: self.discontinuity_sequence,
            entries: &entries,
        });
        let playlist = Bytes::from(text);
        self.playlist = Some(playlist.clone());
        let listed = entries.iter().filter(|e| e.discontinuity).count() as u64;
        (playlist, listed)
    }
}

/// The shared live state: written by the engine, read by HTTP handlers.
pub struct Live {
    run_id: String,
    window: usize,
    target_duration: u32,
    inner: RwLock<Window>,
    published: watch::Sender<u64>,
    mirror: Option<PathBuf>,
    /// The mirror's last write failed (a full disk): logged once, until one works.
    mirror_failing: Arc<AtomicBool>,
    /// Who watches the channel.
    audience: Arc<super::audience::Audience>,
}

/// A clip that aired, and when it started (on the engine's clock, as
/// [`Live::last_published`]).
#[derive(Clone, Debug)]
pub struct Aired {
    /// The clip.
    pub clip: Arc<ClipInfo>,
    /// When its first frame aired.
    pub start: SystemTime,
}

/// How far back [`Live::aired_since`] can look: a day's programme and then some.
const AIRED_KEPT: std::time::Duration = std::time::Duration::from_secs(26 * 3600);
/// The most clips it keeps (a day of 20-second clips), whatever their length.
const AIRED_MAX: usize = 5000;

/// The playlist's file name, on disk and in URLs.
pub const PLAYLIST_NAME: &str = "stream.m3u8";

impl Live {
    /// `run_id` makes segment names unique across restarts, so a cached segment from
    /// an earlier run is never served for a new one.
    pub fn new(
        run_id: String,
        window: usize,
        target_duration: u32,
        mirror: Option<PathBuf>,
    ) -> Arc<Live> {
        let (published, _) = watch::channel(0);
        Arc::new(Live {
            run_id,
            window,
            target_duration,
            inner: RwLock::new(Window {
                segments: VecDeque::new(),
                rungs: Vec::new(),
                discontinuity_sequence: 0,
                force_discontinuity: false,
                first_listed: 0,
                playlist: None,
                now: NowPlaying::default(),
                history: VecDeque::new(),
                aired: VecDeque::new(),
                stats: LiveStats::default(),
                last_published: None,
                pdt_floor: None,
                pdt_shift: None,
            }),
            published,
            mirror,
            mirror_failing: Arc::new(AtomicBool::new(false)),
            audience: Default::default(),
        })
    }

    /// Continues the stream of an earlier run: the first segment is preceded by a
    /// discontinuity and numbered after `last_discontinuity_number`, the discontinuity
    /// number of the last segment that run published. Call before the first publish.
    ///
    /// `next_pdt` is where the last run's PROGRAM-DATE-TIME stopped: this run's
    /// times start no earlier, even when the wall clock was set back in between.
    pub fn resume(&self, last_discontinuity_number: u64, next_pdt: Option<SystemTime>) {
        let mut w = self.inner.write();
        w.discontinuity_sequence = last_discontinuity_number;
        w.force_discontinuity = true;
        w.pdt_floor = next_pdt;
    }

    /// The PROGRAM-DATE-TIME the next segment starts at, no earlier (the end of the
    /// newest segment), for the next run to continue from.
    pub fn next_program_date_time(&self) -> Option<SystemTime> {
        self.inner.read().pdt_floor
    }

    /// File name of segment `seq`.
    pub fn segment_name(&self, seq: u64) -> String {
        format!("{}-{seq}.ts", self.run_id)
    }

    /// The current playlist; None until the first segment is out.
    pub fn playlist(&self) -> Option<Bytes> {
        self.inner.read().playlist.clone()
    }

    /// A segment by file name, while it is retained (the top rung).
    pub fn segment(&self, name: &str) -> Option<Bytes> {
        self.rung_segment(0, name)
    }

    /// Segment `seq` by number, for the continuous stream, which reads them in
    /// order (the top rung).
    pub fn segment_at(&self, seq: u64) -> Retained {
        self.rung_segment_at(0, seq)
    }

    /// The sequence number of segment file `name`, when it is one of this run's.
    fn seq_of(&self, name: &str) -> Option<u64> {
        name.strip_prefix(&self.run_id)?
            .strip_prefix('-')?
            .strip_suffix(".ts")?
            .parse()
            .ok()
    }

    /// Where a new reader of the continuous stream starts: the newest segment and,
    /// before it, older ones until together they hold more than `secs` seconds of
    /// stream, at most `most` segments, and never reaching back past a segment that
    /// opens with a discontinuity (the codec parameters or the run changed there:
    /// that segment is the first). None before the first segment.
    pub fn tune_in(&self, secs: f64, most: usize) -> Option<u64> {
        let w = self.inner.read();
        let mut first = None;
        let mut held = 0.0;
        for s in w.segments.iter().rev().take(most.max(1)) {
            first = Some(s.seq);
            held += s.entry.duration;
            if held > secs || s.entry.discontinuity {
                break;
            }
        }
        first
    }

    /// The newest segment's number; None before the first.
    pub fn newest_seq(&self) -> Option<u64> {
        self.inner.read().segments.back().map(|s| s.seq)
    }

    /// Segments the playlist lists.
    pub fn window(&self) -> usize {
        self.window
    }

    /// What is on air, from the newest published segment.
    pub fn now_playing(&self) -> NowPlaying {
        self.inner.read().now.clone()
    }

    /// What each retained segment started with, oldest first.
    pub fn history(&self) -> Vec<NowPlaying> {
        self.inner.read().history.iter().cloned().collect()
    }

    /// The clips that aired at `t` or later (the one on air at `t` first), with
    /// when each started, oldest first; at most a day back.
    pub fn aired_since(&self, t: SystemTime) -> Vec<Aired> {
        let w = self.inner.read();
        let from = w.aired.partition_point(|a| a.start <= t).saturating_sub(1);
        w.aired.iter().skip(from).cloned().collect()
    }

    /// When the newest segment was published, on the engine's clock, for the guide
    /// and readiness checks.
    pub fn last_published(&self) -> Option<SystemTime> {
        self.inner.read().last_published
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> LiveStats {
        self.inner.read().stats.clone()
    }

    /// Sequence numbers of published segments, for waiting on new ones.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.published.subscribe()
    }

    /// Adds a segment at the live edge and drops what has aged out. Returns the
    /// disk work to do (off the engine's task).
    pub(crate) fn publish(
        &self,
        mut seg: PublishedSegment,
        mut now: NowPlaying,
        fallback: Option<Fallback>,
        late: std::time::Duration,
    ) -> MirrorJob {
        let seq = seg.seq;
        let mut job = MirrorJob {
            dir: self.mirror.clone(),
            failing: self.mirror_failing.clone(),
            write: None,
            playlist: Bytes::new(),
            remove: Vec::new(),
        };
        {
            let mut w = self.inner.write();
            if std::mem::take(&mut w.force_discontinuity) {
                seg.entry.discontinuity = true;
            }
            let published_at = w.date(&mut seg);
            w.stats.segments_published += 1;
            w.last_published = Some(published_at);
            w.stats.bytes_published += seg.data.len() as u64;
            w.stats.underruns += (fallback == Some(Fallback::Slate)) as u64;
            w.stats.waiting += (fallback == Some(Fallback::Waiting)) as u64;
            w.stats.repeats += (fallback == Some(Fallback::Repeat)) as u64;
            w.stats.lateness.record(late);
            w.stats.discontinuities += seg.entry.discontinuity as u64;
            job.write = Some((seg.name.clone(), seg.data.clone()));
            w.segments.push_back(seg);
            while w.segments.len() > self.window * 2 {
                let old = w.segments.pop_front().expect("non-empty");
                job.remove.push(old.name);
            }
            let (playlist, listed_discontinuities) = w.relist(self.window, self.target_duration);
            job.playlist = playlist;
            now.discontinuity_number = w.discontinuity_sequence + listed_discontinuities;
            w.history.push_back(now.clone());
            while w.history.len() > self.window * 2 {
                w.history.pop_front();
            }
            record_aired(&mut w, &now, published_at);
            w.now = now;
        }
        self.published.send_replace(seq);
        job
    }
}

/// Adds the clip of the segment `now`, published at `at`, to the clips aired
/// when the clip before was another (the slate is no clip).
fn record_aired(w: &mut Window, now: &NowPlaying, at: SystemTime) {
    let Some(clip) = now.clip.as_ref().filter(|c| !c.is_slate()) else {
        return;
    };
    if w.now.clip.as_ref().is_some_and(|c| c.id == clip.id) && !w.aired.is_empty() {
        return;
    }
    let start = at
        .checked_sub(std::time::Duration::from_secs_f64(
            now.clip_position.max(0.0),
        ))
        .unwrap_or(at);
    w.aired.push_back(Aired {
        clip: clip.clone(),
        start,
    });
    while w.aired.len() > AIRED_MAX || w.aired.front().is_some_and(|a| a.start + AIRED_KEPT < at) {
        w.aired.pop_front();
    }
}

/// Wall-clock time for an entry.
pub(crate) fn entry(
    name: String,
    duration: f64,
    at: SystemTime,
    discontinuity: bool,
) -> PlaylistEntry {
    PlaylistEntry {
        uri: name,
        duration,
        program_date_time: at,
        discontinuity,
    }
}

/// The rungs of the window: every segment in each rung of the channel's ladder,
/// found by rung and name or number, and each rung's bit rate as aired.
impl Live {
    /// The rungs every segment comes in, the top one first: set by the station
    /// before the engine publishes (never set: the top rung alone, undescribed).
    pub fn set_rungs(&self, rungs: Vec<RungSpec>) {
        self.inner.write().rungs = rungs;
    }

    /// The rungs, the top one first (empty: never set).
    pub fn rungs(&self) -> Vec<RungSpec> {
        self.inner.read().rungs.clone()
    }

    /// Who watches the channel: its HLS players and continuous-stream clients.
    pub fn audience(&self) -> &Arc<super::audience::Audience> {
        &self.audience
    }

    /// How many rungs the window airs (1 for a single stream).
    pub fn rung_count(&self) -> usize {
        self.inner.read().rungs.len().max(1)
    }

    /// Rung `i`'s name in URLs and counters (`480p`); `top` for the top rung of a
    /// window whose rungs were never described.
    pub fn rung_name(&self, i: usize) -> String {
        self.inner
            .read()
            .rungs
            .get(i)
            .map_or_else(|| "top".to_string(), |r| rung_folder(r.height))
    }

    /// The rung whose URL folder is `folder` (`480p`), by index (0: the top).
    pub fn rung_named(&self, name: &str) -> Option<usize> {
        self.inner
            .read()
            .rungs
            .iter()
            .position(|r| rung_folder(r.height) == name)
    }

    /// Segment file `name` in rung `rung`, while it is retained.
    pub fn rung_segment(&self, rung: usize, name: &str) -> Option<Bytes> {
        let seq = self.seq_of(name)?;
        match self.rung_segment_at(rung, seq) {
            Retained::Here(b) => Some(b),
            _ => None,
        }
    }

    /// Segment `seq` in rung `rung`, for a continuous stream of that rung.
    pub fn rung_segment_at(&self, rung: usize, seq: u64) -> Retained {
        let w = self.inner.read();
        let Some(first) = w.segments.front().map(|s| s.seq) else {
            return Retained::NotYet;
        };
        match seq.checked_sub(first) {
            None => Retained::Gone,
            Some(i) => match w.segments.get(i as usize) {
                Some(s) => Retained::Here(s.rung(rung)),
                None => Retained::NotYet,
            },
        }
    }

    /// Each rung's bit rate over the segments held (the top first); empty before
    /// the first segment.
    pub fn bandwidth(&self) -> Vec<RungBandwidth> {
        let w = self.inner.read();
        let Some(newest) = w.segments.back() else {
            return Vec::new();
        };
        (0..w.rungs.len().max(1))
            .map(|i| {
                let (mut peak, mut bits, mut secs) = (0.0f64, 0.0f64, 0.0f64);
                for s in &w.segments {
                    let b = s.rung(i).len() as f64 * 8.0;
                    let d = s.entry.duration.max(1e-3);
                    peak = peak.max(b / d);
                    bits += b;
                    secs += d;
                }
                RungBandwidth {
                    peak_bps: peak.ceil() as u64,
                    average_bps: (bits / secs.max(1e-3)).ceil() as u64,
                    codecs: newest.codecs.get(i).cloned().flatten(),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn publish(live: &Live, seq: u64, disc: bool) -> MirrorJob {
        let name = live.segment_name(seq);
        let seg = PublishedSegment {
            seq,
            name: name.clone(),
            data: Bytes::from(vec![seq as u8; 188]),
            lower: Vec::new(),
            codecs: Vec::new(),
            entry: entry(name, 2.0, UNIX_EPOCH + Duration::from_secs(seq * 2), disc),
        };
        live.publish(
            seg,
            NowPlaying {
                seq,
                ..Default::default()
            },
            None,
            Duration::ZERO,
        )
    }

    fn text(live: &Live) -> String {
        String::from_utf8(live.playlist().unwrap().to_vec()).unwrap()
    }

    /// The lock policy (docs/architecture.md, Invariants): a panic while the window
    /// is locked must not make every later playlist request panic too.
    #[test]
    fn a_panic_while_the_window_is_locked_does_not_break_the_playlist() {
        let live = Live::new("run".into(), 3, 2, None);
        publish(&live, 1, false);
        let l = live.clone();
        let r = std::thread::spawn(move || {
            let _w = l.inner.write();
            panic!("a bug while the live window is locked");
        })
        .join();
        assert!(r.is_err(), "the thread panicked holding the lock");
        assert!(text(&live).contains("run-1.ts\n"));
        assert_eq!(live.now_playing().seq, 1);
        publish(&live, 2, false);
        assert!(text(&live).contains("run-2.ts\n"));
        assert_eq!(live.stats().segments_published, 2);
    }

    #[test]
    fn window_slides_and_segments_outlive_it_by_a_window() {
        let live = Live::new("run".into(), 3, 2, None);
        assert!(live.playlist().is_none());
        for seq in 100..108 {
            publish(&live, seq, false);
        }
        let t = text(&live);
        assert!(t.contains("#EXT-X-MEDIA-SEQUENCE:105\n"), "{t}");
        assert_eq!(t.matches("#EXTINF:2.000,").count(), 3);
        assert!(
            t.contains("run-105.ts\n") && t.contains("run-107.ts\n") && !t.contains("run-104.ts")
        );
        // Off the playlist but still fetchable (a player that just read the old one).
        assert_eq!(live.segment("run-102.ts").unwrap()[0], 102);
        assert!(
            live.segment("run-101.ts").is_none(),
            "dropped after twice the window"
        );
        assert!(live.segment("run-108.ts").is_none());
        for bad in [
            "other-105.ts",
            "run-105.ts.bak",
            "run--1.ts",
            "run-1x.ts",
            "../run-105.ts",
            "",
        ] {
            assert!(live.segment(bad).is_none(), "{bad}");
        }
        assert_eq!(
            live.segment_at(102),
            Retained::Here(live.segment("run-102.ts").unwrap())
        );
        assert_eq!(live.segment_at(101), Retained::Gone);
        assert_eq!(live.segment_at(108), Retained::NotYet);
        assert_eq!(live.newest_seq(), Some(107));
        assert_eq!(live.history().len(), 6);
        assert_eq!(live.now_playing().seq, 107);
        assert_eq!(live.stats().segments_published, 8);
    }

    /// A new reader of the continuous stream is handed more than the seconds asked
    /// at once (`http::stream` asks for more than ffmpeg's probe window), no more
    /// segments than allowed, every one still held, and never from before a
    /// discontinuity.
    #[test]
    fn tune_in_reaches_back_past_the_seconds_asked_within_the_limit_and_a_discontinuity() {
        let live = Live::new("run".into(), 10, 2, None);
        assert_eq!(live.tune_in(5.0, 9), None, "nothing on air");
        publish(&live, 0, false);
        assert_eq!(live.tune_in(5.0, 9), Some(0), "all there is");
        for seq in 1..8 {
            publish(&live, seq, false);
        }
        // 2 s segments: three hold 6 s, more than 5 (two would hold 4).
        assert_eq!(live.tune_in(5.0, 9), Some(5));
        assert_eq!(live.tune_in(6.0, 9), Some(4), "more than, not as much as");
        assert_eq!(live.tune_in(5.0, 2), Some(6), "two segments at most");
        assert_eq!(
            live.tune_in(5.0, 0),
            Some(7),
            "the newest, whatever the limit"
        );
        assert_eq!(live.tune_in(0.0, 9), Some(7));
        assert_eq!(live.tune_in(100.0, 100), Some(0), "back to the oldest held");
        for seq in 0..8 {
            assert!(matches!(live.segment_at(seq), Retained::Here(_)), "{seq}");
        }
        publish(&live, 8, true);
        publish(&live, 9, false);
        assert_eq!(live.tune_in(5.0, 9), Some(8), "from the discontinuity on");
        publish(&live, 10, false);
        assert_eq!(live.tune_in(5.0, 9), Some(8));
        publish(&live, 11, false);
        assert_eq!(live.tune_in(5.0, 9), Some(9));
    }

    /// The PROGRAM-DATE-TIMEs of the playlist, in order.
    fn pdts(live: &Live) -> Vec<String> {
        text(live)
            .lines()
            .filter_map(|l| l.strip_prefix("#EXT-X-PROGRAM-DATE-TIME:"))
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn program_date_time_never_goes_back_even_when_the_wall_clock_did_between_runs() {
        // The last run stopped at 01:00 (its wall clock); this run's wall clock was
        // set back an hour, so its engine stamps segments from 00:00.
        let live = Live::new("r".into(), 5, 2, None);
        live.resume(0, Some(UNIX_EPOCH + Duration::from_secs(3600)));
        for seq in 0..4 {
            publish(&live, seq, false);
        }
        assert_eq!(
            pdts(&live),
            [
                "1970-01-01T01:00:00.000Z",
                "1970-01-01T01:00:02.000Z",
                "1970-01-01T01:00:04.000Z",
                "1970-01-01T01:00:06.000Z"
            ],
            "shifted once, spacing kept"
        );
        assert_eq!(
            live.next_program_date_time(),
            Some(UNIX_EPOCH + Duration::from_secs(3608))
        );
        // A wall clock ahead of the last run's needs no shift.
        let live = Live::new("r".into(), 5, 2, None);
        live.resume(0, Some(UNIX_EPOCH + Duration::from_secs(1)));
        publish(&live, 10, false);
        assert_eq!(pdts(&live), ["1970-01-01T00:00:20.000Z"]);
        // Within a run, times come from the monotonic clock; even a stamp that went
        // back would be held at the end of the last segment.
        let name = live.segment_name(11);
        live.publish(
            PublishedSegment {
                seq: 11,
                name: name.clone(),
                data: Bytes::from(vec![0; 188]),
                lower: Vec::new(),
                codecs: Vec::new(),
                entry: entry(name, 2.0, UNIX_EPOCH, false),
            },
            NowPlaying {
                seq: 11,
                ..Default::default()
            },
            None,
            Duration::ZERO,
        );
        assert_eq!(pdts(&live)[1], "1970-01-01T00:00:22.000Z");
    }

    #[test]
    fn discontinuity_sequence_counts_tags_that_left_the_playlist() {
        let live = Live::new("r".into(), 3, 2, None);
        publish(&live, 0, false);
        publish(&live, 1, true);
        publish(&live, 2, false);
        assert!(text(&live).contains("#EXT-X-DISCONTINUITY\n"));
        assert!(!text(&live).contains("DISCONTINUITY-SEQUENCE"));
        publish(&live, 3, false);
        publish(&live, 4, false); // segment 1 (with the tag) leaves the playlist
        let t = text(&live);
        assert!(t.contains("#EXT-X-DISCONTINUITY-SEQUENCE:1\n"), "{t}");
        assert!(!t.contains("#EXT-X-DISCONTINUITY\n"));
        publish(&live, 5, false);
        assert!(
            text(&live).contains("#EXT-X-DISCONTINUITY-SEQUENCE:1\n"),
            "counted once"
        );
    }

    #[test]
    fn mirror_writes_segments_and_playlist_and_deletes_old_ones() {
        let dir = tempfile::tempdir().unwrap();
        let live = Live::new("m".into(), 2, 2, Some(dir.path().to_path_buf()));
        for seq in 0..6 {
            publish(&live, seq, false).run();
        }
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["m-2.ts", "m-3.ts", "m-4.ts", "m-5.ts", "stream.m3u8"]
        );
        let on_disk = std::fs::read(dir.path().join("stream.m3u8")).unwrap();
        assert_eq!(on_disk, live.playlist().unwrap().to_vec());
    }

    #[test]
    fn resume_tags_the_first_segment_and_continues_discontinuity_numbers() {
        let live = Live::new("run".into(), 3, 2, None);
        live.resume(5, None);
        publish(&live, 100, false);
        let t = text(&live);
        assert!(t.contains("#EXT-X-MEDIA-SEQUENCE:100"), "{t}");
        assert!(t.contains("#EXT-X-DISCONTINUITY-SEQUENCE:5"), "{t}");
        assert_eq!(t.matches("#EXT-X-DISCONTINUITY\n").count(), 1, "{t}");
        assert_eq!(live.now_playing().discontinuity_number, 6);
        for seq in 101..104 {
            publish(&live, seq, false);
        }
        // The tagged segment left the playlist: the sequence counts it.
        let t = text(&live);
        assert!(t.contains("#EXT-X-DISCONTINUITY-SEQUENCE:6"), "{t}");
        assert!(!t.contains("#EXT-X-DISCONTINUITY\n"), "{t}");
        assert_eq!(live.now_playing().discontinuity_number, 6);
    }

    #[test]
    fn the_mirror_holds_the_top_rung_and_a_full_disk_stops_it_not_the_stream_until_space_returns() {
        let disk = crate::testkit::disk::Tmpfs::mount(256);
        let dir = disk.path().join("hls");
        std::fs::create_dir(&dir).unwrap();
        let live = Live::new("run".into(), 3, 2, Some(dir.clone()));
        // With a ladder, only the top rung is mirrored.
        let rung = |height| RungSpec {
            width: height * 16 / 9,
            height,
            fps: 25,
            video_kbps: 1000,
        };
        live.set_rungs(vec![rung(720), rung(360)]);
        let seg = |seq: u64| {
            let name = live.segment_name(seq);
            PublishedSegment {
                seq,
                name: name.clone(),
                data: Bytes::from(vec![seq as u8; 16 * 1024]),
                lower: vec![Bytes::from(vec![seq as u8; 4 * 1024])],
                codecs: Vec::new(),
                entry: entry(name, 2.0, UNIX_EPOCH + Duration::from_secs(seq * 2), false),
            }
        };
        let on_disk = || -> Vec<String> {
            let mut v: Vec<String> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        live.publish(seg(0), NowPlaying::default(), None, Duration::ZERO)
            .run();
        assert_eq!(on_disk(), ["run-0.ts", PLAYLIST_NAME]);

        disk.fill(4096);
        for seq in 1..4 {
            live.publish(seg(seq), NowPlaying::default(), None, Duration::ZERO)
                .run();
        }
        assert!(
            live.mirror_failing
                .load(std::sync::atomic::Ordering::Relaxed)
        );
        assert_eq!(
            on_disk(),
            ["run-0.ts", PLAYLIST_NAME],
            "nothing half-written left behind"
        );
        // The stream goes on from memory.
        assert_eq!(live.segment("run-3.ts").unwrap().len(), 16 * 1024);
        assert!(text(&live).contains("run-3.ts"));

        disk.free();
        live.publish(seg(4), NowPlaying::default(), None, Duration::ZERO)
            .run();
        assert!(
            !live
                .mirror_failing
                .load(std::sync::atomic::Ordering::Relaxed)
        );
        assert_eq!(on_disk(), ["run-0.ts", "run-4.ts", PLAYLIST_NAME]);
        let playlist = std::fs::read_to_string(dir.join(PLAYLIST_NAME)).unwrap();
        assert!(playlist.contains("run-4.ts"), "{playlist}");
    }

    #[test]
    fn lateness_quantiles_are_whole_milliseconds_and_the_worst_is_kept() {
        let mut l = Lateness::default();
        for ms in 0..100 {
            l.record(Duration::from_micros(ms * 1000 + 300));
        }
        l.record(Duration::from_secs(3));
        assert_eq!(l.count(), 101);
        assert_eq!(l.quantile(0.5), Duration::from_millis(51));
        assert_eq!(l.quantile(0.99), Duration::from_millis(100));
        assert_eq!(l.quantile(1.0), Duration::from_secs(3));
        assert_eq!(l.max, Duration::from_secs(3));
        assert_eq!((l.under(0), l.under(1), l.under(50)), (0, 1, 50));
        assert_eq!((l.under(250), l.under(251)), (100, 101));
        assert_eq!(
            l.total,
            Duration::from_micros(4_950_000 + 30_000 + 3_000_000)
        );
        let mut all = Lateness::default();
        all.merge(&l);
        all.merge(&l);
        assert_eq!((all.count(), all.max), (202, Duration::from_secs(3)));
        assert_eq!(all.total, l.total * 2);
    }
}
