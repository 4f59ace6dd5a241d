//! The live engine: one channel, one clock, one continuous stream.
//!
//! Every segment duration the engine cuts the next segment from the airing clip
//! (the [`splicer`]), publishes it to the [`live`] window, and waits for the clock.
//! Clips and tracks are read and parsed ahead, on other tasks, so a switch never
//! waits on the disk or on ffmpeg; when nothing is ready the slate airs instead,
//! and the stream goes on.

pub mod audience;
mod counters;
mod input;
mod lateness;
pub mod live;
pub mod loaded;
mod mirror;
pub mod rungs;
pub mod source;
pub mod splicer;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

pub use crate::clip::{ClipInfo, ClipRef, SLATE_ID};
pub use crate::clock::{Clock, SystemClock, VirtualClock};
pub use live::{Fallback, Live, LiveStats, NowPlaying};
pub use loaded::{LoadedClip, LoadedTrack, TrackInfo};
pub use source::{ClipSource, TrackRef, TrackSource};
pub use splicer::{SplicedSegment, Splicer};

use crate::media::Ticks;
use crate::media::time::TICKS_PER_SECOND;
use input::Input;

pub use crate::media::AUDIO_RATE;

/// Timing of the channel.
#[derive(Clone, Debug)]
pub struct ChannelTiming {
    /// Ticks per video frame (90000 / fps).
    pub frame_ticks: u64,
    /// Frames per segment; also the GOP length of every clip.
    pub segment_frames: usize,
    /// Channel time of the first frame: a restart continues where the last run stopped.
    pub start: Ticks,
    /// Media sequence number of the first segment.
    pub first_seq: u64,
    /// At start, how long to wait for a real clip before airing the slate.
    pub first_clip_wait: Duration,
    /// Where in a segment's period this channel's boundaries fall, from the moment
    /// it would start: the channels of one process spread their cuts over the
    /// period instead of all cutting (and queueing for the cores) at the same
    /// instant. The first segment comes that much later.
    pub phase: Duration,
    /// The heights of the ladder's lower rungs, highest first: every segment is
    /// cut in each of them too (empty: the top rung alone).
    pub rungs: Vec<u32>,
}

impl ChannelTiming {
    /// Length of a full segment (`segment_frames` frames), in 90 kHz ticks.
    pub fn segment_duration(&self) -> Ticks {
        Ticks(self.frame_ticks * self.segment_frames as u64)
    }
}

/// Operator commands, applied at the next segment boundary.
#[derive(Debug)]
pub enum Command {
    /// Cut the airing clip short and start the next one.
    SkipClip,
    /// End the current music track; the next queued one (or silence) follows.
    SkipTrack,
    /// The playout order changed: clips loaded ahead may no longer be next.
    Recue,
}

/// A handle to steer a running engine.
#[derive(Clone)]
pub struct Control {
    tx: mpsc::UnboundedSender<Command>,
}

impl Control {
    /// Sends a command; false if the engine has stopped.
    pub fn send(&self, cmd: Command) -> bool {
        self.tx.send(cmd).is_ok()
    }
}

/// Everything the engine runs with.
pub struct Engine {
    /// Frame and segment timing, and where the timeline starts.
    pub timing: ChannelTiming,
    /// Decides when each segment is due and its wall-clock time.
    pub clock: Arc<dyn Clock>,
    /// The live window segments are published to.
    pub live: Arc<Live>,
    /// Aired when no clip is ready: one segment long, same codec parameters as clips.
    /// It may arrive after the engine starts (fast start does not wait for it); until
    /// then an underrun re-airs the last clip.
    pub slate: watch::Receiver<Option<Arc<LoadedClip>>>,
    /// Looped when no music is ready.
    pub silence: Arc<LoadedTrack>,
    /// Where clips come from (the playout); polled, never awaited.
    pub clips: Arc<dyn ClipSource>,
    /// Where music tracks come from; polled, never awaited.
    pub tracks: Arc<dyn TrackSource>,
    commands: mpsc::UnboundedReceiver<Command>,
}

impl Engine {
    /// A new engine and the handle to steer it.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        timing: ChannelTiming,
        clock: Arc<dyn Clock>,
        live: Arc<Live>,
        slate: watch::Receiver<Option<Arc<LoadedClip>>>,
        silence: Arc<LoadedTrack>,
        clips: Arc<dyn ClipSource>,
        tracks: Arc<dyn TrackSource>,
    ) -> (Engine, Control) {
        let (tx, commands) = mpsc::unbounded_channel();
        (
            Engine {
                timing,
                clock,
                live,
                slate,
                silence,
                clips,
                tracks,
                commands,
            },
            Control { tx },
        )
    }

    /// Airs until cancelled. Never returns early: a bad clip is skipped, a missing
    /// one replaced by the slate.
    pub async fn run(mut self, cancel: CancellationToken) {
        let t = self.timing.clone();
        let (mut input, _stop_loaders) = Input::start(
            self.clips.clone(),
            self.tracks.clone(),
            t.frame_ticks,
            t.segment_frames,
            t.rungs.clone(),
        );
        // Fast start: a real clip if one comes quickly, the slate otherwise.
        input.pending_first = tokio::select! {
            _ = cancel.cancelled() => return,
            c = tokio::time::timeout(t.first_clip_wait, input.clips.recv()) => c.ok().flatten(),
        };
        let mut splicer = Splicer::with_rungs(
            t.frame_ticks,
            t.segment_frames,
            t.start,
            t.first_seq,
            self.silence.clone(),
            &t.rungs,
        );
        // The phase is waited for before the first segment, like any segment's time.
        let mut timeline = Timeline::starting(self.clock.now() + t.phase);
        tracing::info!(
            start_pts = t.start.0,
            first_seq = t.first_seq,
            segment_secs = t.segment_duration().as_secs_f64(),
            "channel on air"
        );
        // A segment is cut when it is due, not ahead: an operator's skip then shows in
        // the very next segment. Cutting takes well under a millisecond.
        let grace = t.segment_duration().as_duration() / 2;
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = self.clock.sleep_until(timeline.at) => {}
            }
            let skip_clip = self.apply_commands(&mut splicer, &mut input);
            input.queue_track(&mut splicer);
            let segment_end = splicer.next_pts() + Ticks(t.frame_ticks * t.segment_frames as u64);
            if splicer.music().runs_out_before(segment_end) {
                input
                    .wait_track(&mut splicer, &*self.clock, timeline.at, &cancel)
                    .await;
            }
            let mut fallback = None;
            if splicer.needs_clip() || skip_clip {
                let deadline = timeline.at + grace;
                let Some(fell_back) = self
                    .switch_clip(&mut splicer, &mut input, deadline, skip_clip, &cancel)
                    .await
                else {
                    break;
                };
                fallback = fell_back;
            }
            let seg = splicer.next_segment();
            // About to run out: the source gives what is ready rather than what is
            // being made, a segment ahead so the loader has time to read it.
            if splicer.frames_left() <= t.segment_frames && input.starving() {
                self.clips.hurry();
            }
            self.publish(&seg, splicer.next_pts(), timeline.at, fallback);
            timeline.advance(seg.duration, self.clock.now());
        }
        tracing::info!("channel stopped");
    }

    /// Applies the operators' commands sent since the last segment. True when the
    /// airing clip is to be cut short.
    fn apply_commands(&mut self, splicer: &mut Splicer, input: &mut Input) -> bool {
        let mut skip_clip = false;
        while let Ok(cmd) = self.commands.try_recv() {
            match cmd {
                Command::SkipClip => skip_clip = true,
                Command::SkipTrack => splicer.music().skip(),
                // The source only changes its memory: nothing here waits.
                Command::Recue => {
                    if let Some(cue) = self.clips.recue(splicer.airing().map(|c| &**c)) {
                        input.recued(cue);
                    }
                }
            }
        }
        skip_clip
    }

    /// Starts the next clip: one loaded, or one that arrives before `deadline`
    /// (half a segment of grace: players hold several segments, so a slightly late
    /// one goes unnoticed), else a fallback: once a clip has aired, that clip again
    /// (the slate only before the first, or after a skip). Returns the fallback
    /// aired, if any; `None` when cancelled.
    async fn switch_clip(
        &mut self,
        splicer: &mut Splicer,
        input: &mut Input,
        deadline: Duration,
        skip: bool,
        cancel: &CancellationToken,
    ) -> Option<Option<Fallback>> {
        let clip = match input.ready_clip() {
            Some(c) => Some(c),
            None => {
                // Not asked in time (the loader was still at work when the last
                // segment was cut): asked now. When nothing is coming and a clip
                // aired before, it airs again at once: waiting the grace would only
                // make the segment late.
                let coming = !input.starving() || self.clips.hurry();
                if coming || input.last_clip.is_none() {
                    input.wait_clip(&*self.clock, deadline, cancel).await
                } else {
                    None
                }
            }
        };
        if cancel.is_cancelled() {
            return None;
        }
        if let Some(clip) = clip {
            tracing::info!(clip = %clip.info.id, title = %clip.info.title, frames = clip.frame_count(), "airing clip");
            input.last_clip = Some(clip.clone());
            splicer.start_clip(clip);
            return Some(None);
        }
        if let Some(last) = input.last_clip.clone().filter(|_| !skip) {
            // Counted (`repeats`): with encoders busy elsewhere it is the policy at
            // work, many times a minute across channels, not a fault to warn of.
            tracing::debug!(clip = %last.info.id, "no new clip ready: the clip before airs again");
            splicer.start_clip(last);
            return Some(Some(Fallback::Repeat));
        }
        let fallback = self
            .fallback(&mut input.clips, input.last_clip.clone(), cancel)
            .await?;
        if splicer.airing().is_none_or(|c| c.id != fallback.info.id) {
            tracing::warn!(fallback = %fallback.info.id, "no clip ready: airing a fallback");
        }
        let kind = match (fallback.info.is_slate(), &input.last_clip) {
            (false, _) => Fallback::Repeat,
            (true, None) => Fallback::Waiting,
            (true, Some(_)) => Fallback::Slate,
        };
        splicer.start_clip(fallback);
        Some(Some(kind))
    }

    /// Publishes a segment due at `at` to the live window (its disk mirror runs on
    /// the blocking pool). `end_pts` is the channel time after it.
    fn publish(
        &self,
        seg: &SplicedSegment,
        end_pts: Ticks,
        at: Duration,
        fallback: Option<Fallback>,
    ) {
        let name = self.live.segment_name(seg.seq);
        let published = live::PublishedSegment {
            seq: seg.seq,
            name: name.clone(),
            data: seg.data.clone(),
            lower: seg.lower.clone(),
            codecs: seg.codecs.clone(),
            entry: live::entry(
                name,
                seg.duration.as_secs_f64(),
                self.clock.wall(at),
                seg.discontinuity,
            ),
        };
        if seg.discontinuity {
            tracing::info!(seq = seg.seq, "codec parameters changed: discontinuity");
        }
        let now = NowPlaying {
            seq: seg.seq,
            clip: Some(seg.clip.clone()),
            clip_position: seg.clip_position,
            clip_duration: seg.clip_duration,
            track: seg.track.clone(),
            track_position: seg.track_position,
            duration: seg.duration.as_secs_f64(),
            end_pts,
            discontinuity_number: 0, // numbered by the live window
        };
        // Against its schedule: the sleep's wake-up, waiting for a late clip, cutting.
        let late = self.clock.now().saturating_sub(at);
        let job = self.live.publish(published, now, fallback, late);
        tokio::task::spawn_blocking(move || job.run());
    }
}

/// When each segment is due: publish times come from the total aired (exact
/// ticks), not a running sum of rounded durations, so the schedule never drifts
/// from the timestamps.
struct Timeline {
    epoch: Duration,
    aired: Ticks,
    /// When the next segment is due.
    at: Duration,
}

impl Timeline {
    fn starting(now: Duration) -> Timeline {
        Timeline {
            epoch: now,
            aired: Ticks(0),
            at: now,
        }
    }

    /// Moves past a segment of `duration`, given the clock's `now`.
    fn advance(&mut self, duration: Ticks, now: Duration) {
        self.aired += duration;
        self.at = self.epoch + self.aired.as_duration();
        // Far behind the clock (the machine was suspended or starved): start the
        // schedule again from now instead of publishing a burst of stale segments.
        // Timestamps stay continuous; only the wall-clock mapping moves on.
        if now > self.at + 3 * duration.as_duration() {
            tracing::warn!(
                behind_ms = (now - self.at).as_millis() as u64,
                "engine fell behind the clock; resyncing"
            );
            *self = Timeline::starting(now);
        }
    }
}

impl Engine {
    /// What to air when no clip is ready: the slate, else the last clip again, else
    /// (at the very start) whichever of a clip or the slate comes first. None when
    /// cancelled.
    async fn fallback(
        &mut self,
        clips: &mut mpsc::Receiver<Arc<LoadedClip>>,
        last: Option<Arc<LoadedClip>>,
        cancel: &CancellationToken,
    ) -> Option<Arc<LoadedClip>> {
        if let Some(slate) = self.slate.borrow().clone() {
            return Some(slate);
        }
        if last.is_some() {
            return last;
        }
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return None,
                c = clips.recv() => return c,
                changed = self.slate.changed() => {
                    if let Some(slate) = self.slate.borrow().clone() {
                        return Some(slate);
                    }
                    if changed.is_err() {
                        // No slate will ever come: wait for a clip alone.
                        return tokio::select! {
                            _ = cancel.cancelled() => None,
                            c = clips.recv() => c,
                        };
                    }
                }
            }
        }
    }
}

/// Ticks per frame at `fps` (which divides 90000: the config checks it).
pub fn frame_ticks(fps: u32) -> u64 {
    TICKS_PER_SECOND / fps as u64
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::future::Future;
    use std::pin::Pin;
    use std::time::SystemTime;

    use parking_lot::Mutex;
    use tokio::sync::Semaphore;

    use super::splicer::tests::{clip, track};
    use super::*;
    use crate::media::ts::TsMuxer;
    use crate::testkit::engine::{EngineParts, Playlist, TestEngine};

    /// A clock the test steps by hand: each wait for a later time takes one permit.
    struct StepClock {
        now: Mutex<Duration>,
        permits: Semaphore,
    }

    impl Clock for StepClock {
        fn now(&self) -> Duration {
            *self.now.lock()
        }
        fn wall(&self, at: Duration) -> SystemTime {
            SystemTime::UNIX_EPOCH + at
        }
        fn sleep_until(&self, at: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
            Box::pin(async move {
                if at > self.now() {
                    self.permits.acquire().await.unwrap().forget();
                    *self.now.lock() = at;
                }
            })
        }
        fn input_deadline(&self, _at: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
            Box::pin(tokio::time::sleep(Duration::from_secs(5)))
        }
    }

    /// Writes a synthetic clip (3-frame GOPs, see the splicer tests) as a TS file,
    /// the way the engine finds clips on disk.
    fn clip_file(dir: &std::path::Path, id: &str, gops: usize) -> ClipRef {
        let c = clip(id, gops, 1);
        let mut mux = TsMuxer::new();
        let mut out = Vec::new();
        mux.begin_segment(&mut out);
        for f in &c.frames {
            let pts = Ticks((900_000 + f.pts_frames * 3000) as u64);
            let dts = Ticks((900_000 + f.dts) as u64);
            mux.write_video(&mut out, pts, dts, f.keyframe, &f.data);
        }
        let path = dir.join(format!("{id}.ts"));
        std::fs::write(&path, out).unwrap();
        ClipRef {
            path,
            info: c.info.clone(),
        }
    }

    /// The tests' timing: 3-frame segments (see the splicer's test clips), one rung.
    fn timing() -> ChannelTiming {
        ChannelTiming {
            frame_ticks: 3000,
            segment_frames: 3,
            start: Ticks(900_000),
            first_seq: 0,
            first_clip_wait: Duration::from_secs(10),
            phase: Duration::ZERO,
            rungs: Vec::new(),
        }
    }

    /// An engine on a step clock airing from `source`, with the clock the tests
    /// steer it by.
    struct Running {
        clock: Arc<StepClock>,
        engine: TestEngine,
    }

    impl Running {
        fn start(source: Arc<dyn ClipSource>) -> Running {
            let clock = Arc::new(StepClock {
                now: Mutex::new(Duration::ZERO),
                permits: Semaphore::new(0),
            });
            let engine = TestEngine::start(EngineParts {
                timing: timing(),
                clock: clock.clone(),
                live: Live::new("t".into(), 100, 1, None),
                slate: clip("slate", 1, 1),
                silence: track("silence", 10, 0),
                clips: source,
                tracks: Playlist::<TrackRef>::once([]),
            });
            Running { clock, engine }
        }

        /// Waits until `count` segments are published.
        async fn wait_for(&self, count: u64) {
            self.engine.wait_for(count, Duration::from_secs(10)).await;
        }

        /// The clips of the published segments, in order.
        fn aired(&self) -> Vec<String> {
            self.engine
                .live
                .history()
                .iter()
                .map(|h| h.clip.as_ref().unwrap().id.clone())
                .collect()
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_skip_shows_in_the_next_segment() {
        let dir = tempfile::tempdir().unwrap();
        let e = Running::start(Playlist::once([
            clip_file(dir.path(), "long", 20),
            clip_file(dir.path(), "next", 2),
        ]));
        // Segment 0 is published at once (time 0); segments 1 and 2 need a permit each.
        e.wait_for(1).await;
        e.clock.permits.add_permits(2);
        e.wait_for(3).await;
        // The engine now waits for segment 3's time: a skip sent now shows in segment 3.
        assert!(e.engine.control.send(Command::SkipClip));
        e.clock.permits.add_permits(1);
        e.wait_for(4).await;
        assert_eq!(e.aired(), ["long", "long", "long", "next"]);
        assert_eq!(e.engine.live.stats().underruns, 0);
        e.engine.stop().await;
    }

    /// A source that starts empty and says when a clip is added.
    struct Late {
        queue: Mutex<VecDeque<ClipRef>>,
        changed: watch::Sender<u64>,
    }
    impl ClipSource for Late {
        fn next_clip(&self) -> Option<ClipRef> {
            self.queue.lock().pop_front()
        }
        fn changed(&self) -> watch::Receiver<u64> {
            self.changed.subscribe()
        }
    }

    /// A source with one clip, then nothing unless hurried: `spare` (when given) is
    /// what it has ready besides the clip being made.
    struct Hurried {
        first: Mutex<Option<ClipRef>>,
        spare: Mutex<Option<ClipRef>>,
        hurried: Mutex<usize>,
        changed: watch::Sender<u64>,
    }
    impl Hurried {
        fn new(first: ClipRef, spare: Option<ClipRef>) -> Arc<Hurried> {
            Arc::new(Hurried {
                first: Mutex::new(Some(first)),
                spare: Mutex::new(spare),
                hurried: Mutex::new(0),
                changed: watch::channel(0).0,
            })
        }
    }
    impl ClipSource for Hurried {
        fn next_clip(&self) -> Option<ClipRef> {
            let first = self.first.lock().take();
            first.or_else(|| (*self.hurried.lock() > 0).then(|| self.spare.lock().take())?)
        }
        fn hurry(&self) -> bool {
            *self.hurried.lock() += 1;
            let ready = self.spare.lock().is_some();
            if ready {
                self.changed.send_modify(|n| *n += 1);
            }
            ready
        }
        fn changed(&self) -> watch::Receiver<u64> {
            self.changed.subscribe()
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn about_to_run_out_the_engine_hurries_the_source_and_airs_what_it_gives() {
        let dir = tempfile::tempdir().unwrap();
        let source = Hurried::new(
            clip_file(dir.path(), "a", 3),
            Some(clip_file(dir.path(), "spare", 2)),
        );
        let e = Running::start(source.clone());
        e.wait_for(1).await;
        e.clock.permits.add_permits(3);
        e.wait_for(4).await;
        assert_eq!(e.aired(), ["a", "a", "a", "spare"]);
        assert!(*source.hurried.lock() >= 1);
        let stats = e.engine.live.stats();
        assert_eq!((stats.underruns, stats.repeats), (0, 0));
        e.engine.stop().await;
    }

    /// After the first clip the slate never airs while a clip exists: with nothing
    /// new, the clip before airs again (and is counted).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn with_nothing_new_the_clip_before_airs_again_not_the_slate() {
        let dir = tempfile::tempdir().unwrap();
        let source = Hurried::new(clip_file(dir.path(), "a", 2), None);
        let e = Running::start(source.clone());
        e.wait_for(1).await;
        e.clock.permits.add_permits(3);
        e.wait_for(4).await;
        assert_eq!(e.aired(), ["a", "a", "a", "a"]);
        let stats = e.engine.live.stats();
        assert_eq!((stats.underruns, stats.repeats), (0, 1));
        // A skip with nothing new airs the slate: not the clip just skipped.
        assert!(e.engine.control.send(Command::SkipClip));
        e.clock.permits.add_permits(1);
        e.wait_for(5).await;
        assert_eq!(e.aired()[4], SLATE_ID.to_string());
        assert_eq!(e.engine.live.stats().underruns, 1);
        e.engine.stop().await;
    }

    /// On the paused clock: the fast start's wait is a tokio timer, so its 10 s pass
    /// in no time, and the time a clip takes to air is exact.
    #[tokio::test(start_paused = true)]
    async fn the_loader_takes_a_clip_as_soon_as_the_source_says_one_is_ready() {
        let dir = tempfile::tempdir().unwrap();
        let source = Arc::new(Late {
            queue: Mutex::new(VecDeque::new()),
            changed: watch::channel(0).0,
        });
        let e = Running::start(source.clone());
        // The loader found nothing and waits: the engine is still in its fast start
        // (10 s, `first_clip_wait`) all but its last second later.
        tokio::time::sleep(Duration::from_secs(9)).await;
        assert_eq!(e.engine.live.stats().segments_published, 0);
        let t0 = tokio::time::Instant::now();
        source
            .queue
            .lock()
            .push_back(clip_file(dir.path(), "late", 2));
        source.changed.send_modify(|n| *n += 1);
        e.wait_for(1).await;
        assert_eq!(e.aired(), ["late"], "a clip, not the slate");
        assert_eq!(
            t0.elapsed(),
            Duration::ZERO,
            "taken when the source said so, not when a timer fired"
        );
        e.engine.stop().await;
    }

    /// Music that takes its time to come: the source thinks for `delay` (real
    /// time) before it hands out its one track.
    struct SlowMusic {
        track: Mutex<Option<TrackRef>>,
        delay: Duration,
    }
    impl TrackSource for SlowMusic {
        fn next_track(&self) -> Option<TrackRef> {
            std::thread::sleep(self.delay);
            self.track.lock().take()
        }
    }

    /// An engine on a virtual clock with `patience` for late input, airing one
    /// looping clip and the music of `tracks`; the titles of the music under its
    /// first `n` segments.
    async fn music_under(tracks: Arc<dyn TrackSource>, patience: Duration, n: u64) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        let engine = TestEngine::start(EngineParts {
            timing: timing(),
            clock: Arc::new(
                crate::clock::VirtualClock::new(SystemTime::UNIX_EPOCH).with_patience(patience),
            ),
            live: Live::new("t".into(), 100, 1, None),
            slate: clip("slate", 1, 1),
            silence: track("silence", 10, 0),
            clips: Playlist::looping([clip_file(dir.path(), "loop", 2)]),
            tracks,
        });
        engine.wait_for(n, crate::testkit::PATIENCE).await;
        let live = engine.stop().await;
        live.history()
            .iter()
            .take(n as usize)
            .map(|h| {
                h.track
                    .as_ref()
                    .map_or("silence".into(), |t| t.title.clone())
            })
            .collect()
    }

    /// On a virtual clock, reading a track takes no time, as reading a clip does: the
    /// music the loader is reading airs from the first segment, however slow the
    /// machine (a busy one once aired silence where a track belonged).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn music_being_read_is_waited_for_on_a_virtual_clock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("slow.aac");
        std::fs::write(&path, &track("slow", 500, 1).data).unwrap();
        let source = Arc::new(SlowMusic {
            track: Mutex::new(Some(TrackRef {
                path,
                title: "slow".into(),
                source: None,
            })),
            delay: Duration::from_millis(300),
        });
        let aired = music_under(source, Duration::from_secs(60), 3).await;
        assert_eq!(aired, ["slow", "slow", "slow"]);
    }

    /// With no music to read, nothing waits: a channel without music airs at once,
    /// even with all the patience in the world.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_channel_without_music_never_waits_for_it() {
        let aired = music_under(Playlist::<TrackRef>::once([]), Duration::from_secs(3600), 3).await;
        assert_eq!(aired, ["silence", "silence", "silence"]);
    }

    /// A source whose order an operator changes: `recue` swaps in a new queue.
    struct Recued {
        queue: Mutex<(VecDeque<ClipRef>, u64)>,
        after: Mutex<Option<VecDeque<ClipRef>>>,
    }
    impl ClipSource for Recued {
        fn next_clip(&self) -> Option<ClipRef> {
            self.next_cued().map(|c| c.0)
        }
        fn next_cued(&self) -> Option<(ClipRef, u64)> {
            let mut q = self.queue.lock();
            let cue = q.1;
            q.0.pop_front().map(|c| (c, cue))
        }
        fn recue(&self, airing: Option<&ClipInfo>) -> Option<u64> {
            assert_eq!(airing.unwrap().id, "long");
            let mut q = self.queue.lock();
            q.0 = self.after.lock().take()?;
            q.1 += 1;
            Some(q.1)
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_recue_drops_the_clips_loaded_ahead() {
        let dir = tempfile::tempdir().unwrap();
        let source = Arc::new(Recued {
            queue: Mutex::new((
                [
                    clip_file(dir.path(), "long", 20),
                    clip_file(dir.path(), "stale1", 2),
                    clip_file(dir.path(), "stale2", 2),
                ]
                .into(),
                0,
            )),
            after: Mutex::new(Some([clip_file(dir.path(), "picked", 2)].into())),
        });
        let e = Running::start(source.clone());
        e.wait_for(1).await;
        // Let the loader fill the queue with the two stale clips.
        for _ in 0..500 {
            if source.queue.lock().0.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(source.queue.lock().0.is_empty(), "loader never ran ahead");
        assert!(e.engine.control.send(Command::Recue));
        assert!(e.engine.control.send(Command::SkipClip));
        e.clock.permits.add_permits(1);
        e.wait_for(2).await;
        assert_eq!(e.aired(), ["long", "picked"]);
        assert_eq!(e.engine.live.stats().underruns, 0);
        e.engine.stop().await;
    }
}
