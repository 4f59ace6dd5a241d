//! The station: every channel on air in this process, and what they share.
//!
//! The library of files, ffmpeg, the pool of encode slots, the slate and the
//! silence are the station's, made once. Each channel has the rest to itself: its
//! view of the library (its LRU order and used ranges), its playout and chunks, its
//! generator (which encodes through the shared pool), its music, its live window
//! and engine, and its recorder. A channel costs an engine task waking once a
//! segment, so hundreds of them air on one small machine.
//!
//! Channels are added, edited and removed while the others air: each has its own
//! cancellation token and task tracker, so stopping one waits for its tasks only
//! (its engine records its last segment and continuity point, as a whole-server
//! stop does).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::db::Db;
use crate::engine::{self, ChannelTiming, Clock, Control, Engine, Live, LoadedClip, LoadedTrack};
use crate::guide::ProgrammeGrid;
use crate::library::{ChannelLibrary, Library};
use crate::lineup::def::{self, ChannelDef, Slug};
use crate::media::{Ticks, hls};
use crate::schedule::Playout;
use crate::schedule::generator::{Generator, GeneratorHandle, GeneratorSettings};
use crate::schedule::music::Music;
use crate::schedule::pool::EncodePool;
use crate::stats;
use crate::transcode::demo::DemoLibrary;
use crate::transcode::{Encoder, Ffmpeg};

/// Why a channel could not be put on air.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    /// A folder of the channel could not be created.
    #[error("channel {slug}: {path}: {source}")]
    Dir {
        /// The channel.
        slug: Slug,
        /// The folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Its sources do not compile.
    #[error("channel {slug}: {reason}")]
    Sources {
        /// The channel.
        slug: Slug,
        /// Why.
        reason: String,
    },
    /// The database could not be read.
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
}

/// What every channel shares.
pub struct Shared {
    /// The database.
    pub db: Db,
    /// Writes what every channel aired, in shared transactions.
    pub recorder: stats::Recorder,
    /// ffmpeg, for music (niced).
    pub music_ff: Ffmpeg,
    /// ffmpeg, for clips (niced, threads shared among the jobs).
    pub clip_ff: Ffmpeg,
    /// The files, probed once for every channel.
    pub library: Arc<Library>,
    /// The encode slots of every channel.
    pub pool: EncodePool,
    /// The slate, once made.
    pub slate: watch::Receiver<Option<Arc<LoadedClip>>>,
    /// Digital silence, for channels without music.
    pub silence: Arc<LoadedTrack>,
    /// The engines' clock.
    pub clock: Arc<dyn Clock>,
    /// Channel time of the first frame of a channel that never aired.
    pub start: Ticks,
    /// The data folder.
    pub data: PathBuf,
    /// Music tracks encoded to the bed's format (shared: the same file is encoded
    /// once for every channel that plays it).
    pub tracks: PathBuf,
    /// Reference encodes, the slate.
    pub cache: PathBuf,
    /// The encoder of every clip.
    pub encoder: Encoder,
    /// The demo library, for channels without a video folder.
    pub demo: Option<DemoLibrary>,
    /// A short id of this run, for segment names.
    pub run_id: String,
    /// The threads the engines run on.
    pub engines: Engines,
}

/// The engines' own threads. Nothing else runs there: a generator, a handler or a
/// store call that blocks its thread (SQLite waiting on the connection, a
/// checkpoint's fsync) delays no segment. The engines' work is small and brief (a
/// segment cut in about a millisecond), so two threads serve hundreds.
pub struct Engines {
    rt: Option<tokio::runtime::Runtime>,
}

impl Engines {
    /// Starts the engines' threads.
    pub fn start() -> std::io::Result<Engines> {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("engine")
            .enable_all()
            .build()?;
        Ok(Engines { rt: Some(rt) })
    }

    fn spawn<F>(&self, f: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.rt.as_ref().expect("running until dropped").spawn(f)
    }
}

impl Drop for Engines {
    fn drop(&mut self) {
        // Dropped from async code (the server's own runtime): no blocking wait.
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// One channel on air.
pub struct OnAir {
    /// Its URL id.
    pub slug: Slug,
    /// What it is (replaced by an edit).
    def: RwLock<ChannelDef>,
    /// Playlist, segments and "now playing".
    pub live: Arc<Live>,
    /// Its chunks.
    pub playout: Arc<Playout>,
    /// Its view of the library.
    pub library: Arc<ChannelLibrary>,
    /// Its generator's status and commands.
    pub generator: GeneratorHandle,
    /// Its engine's commands.
    pub control: Control,
    /// Its music order.
    pub music: Arc<Music>,
    /// Its programme guide's slots.
    pub grid: Arc<ProgrammeGrid>,
    /// Stops its tasks.
    cancel: CancellationToken,
    /// Its tasks.
    tasks: TaskTracker,
}

impl OnAir {
    /// Its definition now.
    pub fn def(&self) -> ChannelDef {
        self.def.read().clone()
    }

    /// Its display name.
    pub fn name(&self) -> String {
        self.def.read().name.clone()
    }
}

/// How often the budget of every channel together is checked: a sum over the
/// chunks in memory, cheap even with hundreds of channels.
const TOTAL_BUDGET_EVERY: Duration = Duration::from_secs(1);

/// What a built channel runs, until it is started.
struct Parts {
    generator: Generator,
    engine: Engine,
}

/// Every channel on air.
pub struct Station {
    shared: Shared,
    /// The server-wide settings (saved ones included): every channel's defaults.
    defaults: RwLock<Config>,
    channels: RwLock<BTreeMap<Slug, Arc<OnAir>>>,
    default: RwLock<Slug>,
    /// Set once the station runs: channels added later start at once.
    running: Mutex<Option<CancellationToken>>,
    /// Channels built before the station runs, started by [`Station::run`].
    pending: Mutex<Vec<(Arc<OnAir>, Parts)>>,
}

impl Station {
    /// The station with the channels of `defs` built (nothing runs until
    /// [`Station::run`]); `default` airs at the original URLs.
    pub fn build(
        shared: Shared,
        defaults: Config,
        defs: Vec<ChannelDef>,
        default: Slug,
    ) -> Result<Arc<Station>, ChannelError> {
        let station = Arc::new(Station {
            shared,
            defaults: RwLock::new(defaults),
            channels: RwLock::new(BTreeMap::new()),
            default: RwLock::new(default),
            running: Mutex::new(None),
            pending: Mutex::new(Vec::new()),
        });
        for d in defs {
            let built = station.build_channel(d, None)?;
            station
                .channels
                .write()
                .insert(built.0.slug.clone(), built.0.clone());
            station.pending.lock().push(built);
        }
        station.sync_folders();
        Ok(station)
    }

    /// What every channel shares.
    pub fn shared(&self) -> &Shared {
        &self.shared
    }

    /// The server-wide settings.
    pub fn defaults(&self) -> Config {
        self.defaults.read().clone()
    }

    /// The channels, by number.
    pub fn list(&self) -> Vec<Arc<OnAir>> {
        let mut v: Vec<_> = self.channels.read().values().cloned().collect();
        v.sort_by_key(|c| c.def.read().number);
        v
    }

    /// The channel `slug`.
    pub fn get(&self, slug: &str) -> Option<Arc<OnAir>> {
        self.channels.read().get(slug).cloned()
    }

    /// The default channel (at `/hls/stream.m3u8`, and for API calls without
    /// `?channel=`).
    pub fn default_channel(&self) -> Option<Arc<OnAir>> {
        let slug = self.default.read().clone();
        self.get(slug.as_str())
            .or_else(|| self.list().into_iter().next())
    }

    /// The default channel's slug.
    pub fn default_slug(&self) -> Slug {
        self.default.read().clone()
    }

    /// Starts every channel built so far, and those added later, until `cancel`.
    pub fn run(&self, cancel: CancellationToken) {
        *self.running.lock() = Some(cancel.clone());
        for (on_air, parts) in std::mem::take(&mut *self.pending.lock()) {
            self.start(&on_air, parts, &cancel);
        }
    }

    /// Keeps the chunks of every channel within TOTAL_DISK_BUDGET until `cancel`:
    /// checked every few seconds (each channel keeps its own budget as it makes
    /// chunks), the chunk aired longest ago on any channel going first.
    pub async fn keep_total_budget(&self, cancel: CancellationToken) {
        let mut stuck_logged = false;
        loop {
            match self.enforce_total_budget().await {
                Err((total, budget)) if !stuck_logged => {
                    stuck_logged = true;
                    tracing::warn!(
                        mb = total / 1_000_000,
                        budget_mb = budget / 1_000_000,
                        "over the disk budget of all channels, and no chunk may go (they are on air, queued or never aired)"
                    );
                }
                Err(_) => {}
                Ok(_) => stuck_logged = false,
            }
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(TOTAL_BUDGET_EVERY) => {}
            }
        }
    }

    /// Evicts across channels until their chunks fit TOTAL_DISK_BUDGET: how many
    /// went, or (bytes, budget) when still over and nothing more may go.
    pub async fn enforce_total_budget(&self) -> Result<usize, (u64, u64)> {
        let Some(budget) = self.defaults().server.total_disk_budget.map(|b| b.0) else {
            return Ok(0);
        };
        let mut evicted = 0;
        loop {
            let channels = self.list();
            let total: u64 = channels.iter().map(|c| c.playout.size_bytes()).sum();
            if total <= budget {
                return Ok(evicted);
            }
            // The oldest airing first, the most aired among equals.
            let victim = channels
                .iter()
                .filter_map(|c| c.playout.first_evictable().map(|v| (c, v)))
                .min_by_key(|(_, (_, at, times))| (*at, std::cmp::Reverse(*times)));
            let Some((c, (id, _, _))) = victim else {
                return Err((total, budget));
            };
            match c.playout.delete(&id) {
                Ok(Some(dir)) => {
                    tracing::info!(channel = %c.slug, chunk = %id, "evicting chunk: over the disk budget of all channels");
                    let _ = tokio::fs::remove_dir_all(dir).await;
                    evicted += 1;
                }
                // On air by now: the next check takes another.
                Ok(None) => return Ok(evicted),
                Err(e) => {
                    tracing::error!(channel = %c.slug, error = %e, "eviction failed");
                    return Ok(evicted);
                }
            }
        }
    }

    /// Waits for every channel's tasks, once cancelled.
    pub async fn stopped(&self) {
        for c in self.list() {
            c.tasks.close();
            c.tasks.wait().await;
        }
    }

    /// Lays new server-wide settings under every channel: live ones apply to the
    /// next clip and chunk of each channel that does not set them itself.
    pub fn set_defaults(&self, defaults: Config) {
        *self.defaults.write() = defaults;
        for c in self.list() {
            let cfg = c.def().config(&self.defaults());
            c.generator
                .update_settings(|g| g.channel = cfg.channel.clone());
        }
    }

    /// Adds `def` and puts it on air.
    pub fn add(&self, def: ChannelDef) -> Result<Arc<OnAir>, ChannelError> {
        let built = self.build_channel(def, None)?;
        Ok(self.put_on_air(built))
    }

    /// Lists a built channel, has the library scan its folders and starts it.
    fn put_on_air(&self, (on_air, parts): (Arc<OnAir>, Parts)) -> Arc<OnAir> {
        self.channels
            .write()
            .insert(on_air.slug.clone(), on_air.clone());
        self.sync_folders();
        self.launch(on_air.clone(), parts);
        on_air
    }

    /// Replaces the definition of `def.slug`. What applies live (clip lengths,
    /// look, sources, name, number, logo) does so; a new music folder or loudness
    /// restarts the channel's tasks, its stream going on after one discontinuity.
    pub async fn edit(&self, def: ChannelDef) -> Result<Arc<OnAir>, ChannelError> {
        let Some(old) = self.get(def.slug.as_str()) else {
            return self.add(def);
        };
        let defaults = self.defaults();
        let (was, now) = (old.def().config(&defaults), def.config(&defaults));
        let restart = was.channel.audio != now.channel.audio
            || was.channel.music_loudness != now.channel.music_loudness;
        if !restart {
            let matcher =
                def::Matcher::new(&self.videos_of(&now), &def.sources).map_err(|reason| {
                    ChannelError::Sources {
                        slug: def.slug.clone(),
                        reason,
                    }
                })?;
            old.library.set_belongs(belongs(matcher));
            old.generator
                .update_settings(|g| g.channel = now.channel.clone());
            *old.def.write() = def;
            self.sync_folders();
            return Ok(old);
        }
        self.stop(&old).await;
        let built = self.build_channel(def, Some(old.live.clone()))?;
        Ok(self.put_on_air(built))
    }

    /// Takes `slug` off the air and deletes its chunks and segments; its history
    /// stays in the stats.
    pub async fn remove(&self, slug: &str) -> Result<bool, ChannelError> {
        let Some(c) = self.get(slug) else {
            return Ok(false);
        };
        self.channels.write().remove(&c.slug);
        self.stop(&c).await;
        for chunk in c.playout.chunks() {
            match c.playout.delete(&chunk.id) {
                Ok(Some(dir)) => {
                    let _ = tokio::fs::remove_dir_all(dir).await;
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(channel = %c.slug, error = %e, "cannot delete a chunk"),
            }
        }
        let _ = tokio::fs::remove_dir_all(self.channel_dir(&c.slug)).await;
        self.sync_folders();
        tracing::info!(channel = %c.slug, "channel removed");
        Ok(true)
    }

    async fn stop(&self, c: &OnAir) {
        c.cancel.cancel();
        c.tasks.close();
        c.tasks.wait().await;
    }

    fn launch(&self, on_air: Arc<OnAir>, parts: Parts) {
        match &*self.running.lock() {
            Some(cancel) => self.start(&on_air, parts, cancel),
            None => self.pending.lock().push((on_air, parts)),
        }
    }

    /// The library scans every channel's folders.
    fn sync_folders(&self) {
        let defaults = self.defaults();
        let folders = self
            .channels
            .read()
            .values()
            .flat_map(|c| self.videos_of(&c.def().config(&defaults)))
            .collect();
        self.shared.library.set_folders(folders);
    }

    /// A channel's video folders: its own, else the demo library.
    fn videos_of(&self, cfg: &Config) -> Vec<PathBuf> {
        match (&cfg.channel.videos[..], &self.shared.demo) {
            ([], Some(demo)) => vec![demo.videos.clone()],
            (v, _) => v.to_vec(),
        }
    }

    /// Where `slug` keeps its chunks and segments.
    fn channel_dir(&self, slug: &Slug) -> PathBuf {
        channel_dir(&self.shared.data, slug.as_str())
    }

    /// Makes every part of one channel; nothing runs yet. `live`: the live window
    /// to go on with (an edit that restarts the channel), else a new one.
    fn build_channel(
        &self,
        def: ChannelDef,
        live: Option<Arc<Live>>,
    ) -> Result<(Arc<OnAir>, Parts), ChannelError> {
        let sh = &self.shared;
        let slug = def.slug.clone();
        let cfg = def.config(&self.defaults());
        let videos = self.videos_of(&cfg);
        let audio = cfg.channel.audio.clone().or_else(|| {
            (cfg.channel.videos.is_empty())
                .then(|| sh.demo.as_ref().map(|d| d.music.clone()))
                .flatten()
        });
        let (chunks_dir, hls_dir) = self.make_channel_dirs(&slug)?;
        let matcher =
            def::Matcher::new(&videos, &def.sources).map_err(|reason| ChannelError::Sources {
                slug: slug.clone(),
                reason,
            })?;
        let library = sh.library.channel(slug.as_str(), belongs(matcher));
        let profile = cfg.output.profile();
        let wall: crate::clock::SharedClock = sh.clock.clone();
        let playout =
            Playout::load_with_clock(sh.db.clone(), slug.as_str(), &chunks_dir, &profile, wall)?;
        let (live, timing) = self.live_for(&slug, &cfg, live, hls_dir);
        let (generator, handle) = self.generator_for(&cfg, &library, &playout, chunks_dir);
        let generator = generator.with_audience(live.audience().clone());
        let music = Music::with_clock(
            sh.music_ff.clone(),
            sh.db.clone(),
            slug.as_str(),
            audio,
            sh.tracks.clone(),
            cfg.channel.music_loudness,
            sh.clock.clone(),
        );
        let (engine, control) = Engine::new(
            timing,
            sh.clock.clone(),
            live.clone(),
            sh.slate.clone(),
            sh.silence.clone(),
            playout.clone(),
            music.clone(),
        );
        let grid = Arc::new(ProgrammeGrid::load(sh.db.slots(slug.as_str()))?);
        let on_air = Arc::new(OnAir {
            slug,
            def: RwLock::new(def),
            live,
            playout,
            library,
            generator: handle,
            control,
            music,
            grid,
            cancel: CancellationToken::new(),
            tasks: TaskTracker::new(),
        });
        Ok((on_air, Parts { generator, engine }))
    }

    /// Makes `slug`'s folders: (its chunks, its live window's segments).
    fn make_channel_dirs(&self, slug: &Slug) -> Result<(PathBuf, PathBuf), ChannelError> {
        let dir = self.channel_dir(slug);
        let (chunks_dir, hls_dir) = (dir.join("chunks"), dir.join("hls"));
        for d in [&chunks_dir, &hls_dir] {
            std::fs::create_dir_all(d).map_err(|source| ChannelError::Dir {
                slug: slug.clone(),
                path: d.clone(),
                source,
            })?;
        }
        Ok((chunks_dir, hls_dir))
    }

    /// The channel's generator, on the station's clock, sharing its encode pool.
    fn generator_for(
        &self,
        cfg: &Config,
        library: &Arc<ChannelLibrary>,
        playout: &Arc<Playout>,
        chunks_dir: PathBuf,
    ) -> (Generator, GeneratorHandle) {
        let sh = &self.shared;
        let (generator, handle) = Generator::new(
            sh.clip_ff.clone(),
            sh.db.clone(),
            library.clone(),
            playout.clone(),
            sh.pool.clone(),
            GeneratorSettings {
                chunks_dir,
                cache_dir: sh.cache.clone(),
                profile: cfg.output.profile(),
                encoder: sh.encoder.clone(),
                parallel: cfg.server.generator_jobs,
                seed: cfg.server.seed,
                channel: cfg.channel.clone(),
            },
        );
        (generator.with_clock(sh.clock.clone()), handle)
    }

    /// The channel's timing (going on from where the last run stopped, at the
    /// channel's own phase) and its live window: `live` when given (an edit that
    /// restarts the channel keeps its viewers' window), else a new one.
    fn live_for(
        &self,
        slug: &Slug,
        cfg: &Config,
        live: Option<Arc<Live>>,
        hls_dir: PathBuf,
    ) -> (Arc<Live>, ChannelTiming) {
        let sh = &self.shared;
        let resume = sh.db.continuity(slug.as_str()).load().unwrap_or_else(|e| {
            tracing::warn!(channel = %slug, error = %e, "cannot read where the last run stopped; starting afresh");
            None
        });
        let mut timing = channel_timing(cfg, resume, sh.start);
        timing.phase = phase(
            slug,
            &self.default_slug(),
            timing.segment_duration().as_duration(),
        );
        let live = match live {
            Some(live) => {
                if let Some(r) = resume {
                    live.resume(r.discontinuity_number, r.next_pdt);
                }
                live
            }
            None => {
                clear_dir(&hls_dir);
                live_window(cfg, &sh.run_id, hls_dir, &timing, resume, slug)
            }
        };
        live.set_rungs(
            cfg.channel
                .rungs(&cfg.output)
                .iter()
                .map(|p| engine::rungs::RungSpec {
                    width: p.width,
                    height: p.height,
                    fps: p.fps,
                    video_kbps: p.video_kbps,
                })
                .collect(),
        );
        (live, timing)
    }

    /// Spawns a channel's tasks, stopped by `station` or by the channel's own token.
    fn start(&self, c: &Arc<OnAir>, parts: Parts, station: &CancellationToken) {
        // Either stops the channel: the station's stop, or this channel's removal.
        let cancel = c.cancel.clone();
        let parent = station.clone();
        let stop = cancel.clone();
        c.tasks.spawn(async move {
            tokio::select! {
                _ = parent.cancelled() => stop.cancel(),
                _ = stop.cancelled() => {}
            }
        });
        c.tasks.spawn(parts.generator.run(cancel.child_token()));
        // The recorder stops after the engine, so the last segment aired is recorded.
        let recorder_stop = CancellationToken::new();
        c.tasks.spawn(stats::record(
            self.shared.recorder.clone(),
            c.slug.as_str().into(),
            c.live.clone(),
            recorder_stop.clone(),
        ));
        let engine = self
            .shared
            .engines
            .spawn(parts.engine.run(cancel.child_token()));
        let airings = c.playout.clone();
        c.tasks.spawn(async move {
            let _ = engine.await;
            // Nothing pulls clips any more: the last airings are written first.
            airings.close().await;
            recorder_stop.cancel();
        });
        // Music waits for the channel's first segment: the first clips get the CPU.
        let (music, token, mut first) = (c.music.clone(), cancel.child_token(), c.live.subscribe());
        let published = c.live.stats().segments_published > 0;
        c.tasks.spawn(async move {
            let on_air = published
                || tokio::select! {
                    _ = token.cancelled() => false,
                    r = first.changed() => r.is_ok(),
                };
            if on_air {
                music.run(token).await;
            }
        });
    }
}

/// The compiled sources of a channel, as the library asks.
fn belongs(m: def::Matcher) -> crate::library::Belongs {
    Arc::new(move |path, creator| m.matches(path, creator))
}

/// Where channel `slug` keeps its chunks and segments under the data folder.
pub fn channel_dir(data: &Path, slug: &str) -> PathBuf {
    data.join("channels").join(slug)
}

/// Segments of an earlier run are never served again (names carry the run id).
fn clear_dir(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            // A lower rung's segments are in a folder of their own.
            let _ = match e.path().is_dir() {
                true => std::fs::remove_dir_all(e.path()),
                false => std::fs::remove_file(e.path()),
            };
        }
    }
}

/// The channel's timing: from the profile, starting where the last run stopped
/// (players that keep polling see the sequence and the timestamps move on, past
/// one discontinuity), else at `start`.
fn channel_timing(
    config: &Config,
    resume: Option<stats::Continuity>,
    start: Ticks,
) -> ChannelTiming {
    ChannelTiming {
        frame_ticks: engine::frame_ticks(config.output.fps),
        segment_frames: config.output.profile().gop_frames as usize,
        start: resume.map_or(start, |r| r.next_pts),
        first_seq: resume.map_or(0, |r| r.next_seq),
        first_clip_wait: Duration::from_secs(3),
        phase: Duration::ZERO,
        rungs: config
            .channel
            .rungs(&config.output)
            .iter()
            .skip(1)
            .map(|p| p.height)
            .collect(),
    }
}

/// Where in the segment period `slug`'s boundaries fall: spread by its slug, so
/// channels started together (the station's start, a slate after the same wait) do
/// not all cut their segments at the same instant. The default channel keeps 0: a
/// one-channel server starts as fast as ever.
fn phase(slug: &Slug, default: &Slug, segment: Duration) -> Duration {
    if slug == default {
        return Duration::ZERO;
    }
    // FNV-1a: stable across runs and releases, unlike the std hasher.
    let h = slug
        .as_str()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
    segment.mul_f64((h % 1000) as f64 / 1000.0)
}

/// The live window, its segments mirrored to `hls`, going on from the last run's
/// playlist when there was one.
fn live_window(
    config: &Config,
    run_id: &str,
    hls: PathBuf,
    timing: &ChannelTiming,
    resume: Option<stats::Continuity>,
    slug: &Slug,
) -> Arc<Live> {
    let target = hls::target_duration(timing.segment_duration().as_secs_f64());
    let live = Live::new(
        run_id.to_string(),
        config.server.playlist_segments,
        target,
        Some(hls),
    );
    if let Some(r) = resume {
        tracing::info!(
            channel = %slug,
            seq = r.next_seq,
            pts = r.next_pts.0,
            "continuing the stream of the last run"
        );
        live.resume(r.discontinuity_number, r.next_pdt);
    }
    live
}
