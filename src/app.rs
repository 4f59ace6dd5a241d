//! Wires the pieces into one server: library, generator, music, live engine, HTTP.
//!
//! In two steps, as mini-redis does: [`App::build`] makes every part and does all
//! that can fail at start (data folders, database, ffmpeg, the first demo video,
//! the silence track, the admin token), then [`App::run`] spawns the tasks, serves
//! HTTP on an already-bound listener until a shutdown future resolves, and stops
//! every task it spawned. Tests run the whole server in their own runtime on a
//! listener bound to port 0, with [`Options`] injecting the clock.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::channel::{
    self, ChannelTiming, ClipInfo, Clock, Engine, Live, LoadedClip, LoadedTrack, SystemClock,
};
use crate::config::Config;
use crate::db::{Db, DbError};
use crate::http::{self, AppState};
use crate::library::Library;
use crate::library::metadata::TubeArchivist;
use crate::media::Ticks;
use crate::media::hls;
use crate::schedule::Playout;
use crate::schedule::generator::{Generator, GeneratorHandle, GeneratorSettings};
use crate::schedule::music::Music;
use crate::settings;
use crate::stats;
use crate::system::Monitor;
use crate::transcode::{self, Encoder, Ffmpeg, TranscodeError};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// ffmpeg or ffprobe could not be found, or an encode needed before going on air
    /// (the first demo video, the silence track) failed.
    #[error(transparent)]
    Ffmpeg(#[from] TranscodeError),
    /// A folder under the data folder could not be created.
    #[error("data folder {path}: {source}")]
    DataDir {
        /// The folder that could not be created.
        path: PathBuf,
        /// The error from creating it.
        source: std::io::Error,
    },
    /// The slate or the silence track could not be read or parsed. The cached file is
    /// deleted, so the next start encodes it again.
    #[error("the slate clip is unusable: {0}")]
    Slate(String),
    /// The database could not be opened or read.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Scheduling niceness of ffmpeg runs, by how much the stream needs them now.
const NICE_CLIPS: i32 = 5;
const NICE_MUSIC: i32 = 10;
const NICE_DEMO: i32 = 15;

/// Knobs tests turn; the binary uses the defaults.
pub struct Options {
    /// The engine's clock: a [`SystemClock`] by default; tests pass a virtual one.
    pub clock: Arc<dyn Clock>,
    /// Channel time of the first frame (tests start near the 33-bit wrap).
    pub start: Ticks,
}

impl Default for Options {
    fn default() -> Self {
        // Starting a few seconds in keeps the first DTS (before the first PTS when
        // B-frames reorder) positive.
        Options {
            clock: Arc::new(SystemClock::new()),
            start: Ticks(10 * 90_000),
        }
    }
}

/// How long the tasks get to stop once the server is told to, before they are
/// aborted (an encode is killed at once; the engine records its last segment).
const STOP_DEADLINE: Duration = Duration::from_secs(10);

/// How long open HTTP connections (a player mid-segment, a browser's event stream,
/// which never ends by itself) get after the shutdown signal.
const HTTP_GRACE: Duration = Duration::from_secs(5);

/// How long the slate waits for the first clip to be encoded before it takes the
/// CPU anyway.
const SLATE_WAITS_FOR_FIRST_CLIP: Duration = Duration::from_secs(4);

/// The server, built: every part exists and everything that can fail at start has
/// been done. [`App::run`] puts it on air.
pub struct App {
    started: Instant,
    ff: Ffmpeg,
    library: Arc<Library>,
    generator: Generator,
    slate: SlateMaker,
    engine: Engine,
    recorder: (Db, Arc<Live>),
    music: Arc<Music>,
    /// Where the rest of the demo library goes, when the demo library is in use.
    demo: Option<PathBuf>,
    monitor: Arc<Monitor>,
    /// Shared with the router: the first segment's publication is watched here.
    live: Arc<Live>,
    /// Its airing writer is drained once the engine stops.
    playout: Arc<Playout>,
    router: axum::Router,
}

impl App {
    /// Makes every part of the server from `config`: the data folders and the
    /// database (saved settings laid over `config`), ffmpeg, the first demo video
    /// (without a video folder), the library, playout, generator, silence, live
    /// window, engine, music, monitor and the HTTP router. Nothing runs yet.
    pub async fn build(mut config: Config, options: Options) -> Result<App, StartError> {
        let started = Instant::now();
        let clock = options.clock.clone();
        let dirs = DataDirs::create(&config.server.data)?;
        let db = Db::open(&config.server.data.join("shufflecast.db"))?;
        apply_saved_settings(&db, &mut config)?;
        let ff = Ffmpeg::locate()
            .await?
            .with_stall_limit(config.server.encode_stall());
        // Both are needed before going on air and neither needs the other.
        let (sources, silence) =
            tokio::join!(sources(&config, &ff, &dirs), load_silence(&ff, &dirs.cache));
        let (video_folders, audio_folder) = sources?;
        let silence = silence?;
        let profile = config.output.profile();
        let encoder = ff.select_encoder(config.output.hw_accel, &profile).await;
        let library = Library::with_clock(
            db.clone(),
            video_folders,
            tube_archivist(&config),
            clock.clone(),
        );
        let playout = Playout::load_with_clock(db.clone(), &dirs.chunks, &profile, clock.clone())?;
        let (generator, generator_handle) = Generator::new(
            // Niceness: the engine (this process) first, then clips that keep it fed,
            // then the slate, music and demo files. Parallel jobs share the cores
            // rather than each taking them all.
            clip_ffmpeg(&ff, config.server.generator_jobs),
            db.clone(),
            library.clone(),
            playout.clone(),
            generator_settings(&config, &dirs, &encoder),
        );
        let generator = generator.with_clock(clock.clone());
        let (slate_tx, slate) = tokio::sync::watch::channel(None);
        let slate_maker = SlateMaker {
            ff: ff.clone().with_nice(NICE_CLIPS),
            cache: dirs.cache.clone(),
            profile: profile.clone(),
            encoder: encoder.clone(),
            playout: playout.clone(),
            generator: generator_handle.clone(),
            slate: slate_tx,
        };
        let resume = continuity(&db);
        let timing = channel_timing(&config, resume, options.start);
        let live = live_window(&config, &dirs, &timing, resume, &*clock);
        let music = Music::with_clock(
            ff.clone().with_nice(NICE_MUSIC),
            db.clone(),
            audio_folder,
            dirs.tracks.clone(),
            config.channel.music_loudness,
            clock.clone(),
        );
        let (engine, control) = Engine::new(
            timing,
            options.clock,
            live.clone(),
            slate,
            silence,
            playout.clone(),
            music.clone(),
        );
        let monitor = Monitor::new(config.server.data.clone());
        let admin = admin_token(&config)?;
        let router = http::router(AppState {
            live: live.clone(),
            db: db.clone(),
            playout: playout.clone(),
            library: library.clone(),
            generator: generator_handle,
            control,
            music: music.clone(),
            monitor: monitor.clone(),
            encoder: encoder.to_string(),
            http: Default::default(),
            web: http::web::WebRoot::open(&config.server.web_dir),
            tokens: http::Tokens {
                admin,
                viewer: config.security.viewer_token.clone(),
            },
            started: clock.wall_now(),
            config: Arc::new(config.clone()),
        });
        Ok(App {
            started,
            demo: config.channel.videos.is_empty().then_some(dirs.demo),
            playout,
            ff,
            library,
            generator,
            slate: slate_maker,
            engine,
            recorder: (db, live.clone()),
            music,
            monitor,
            live,
            router,
        })
    }

    /// Runs the server on `listener` until `shutdown` resolves, then stops every
    /// task it spawned: each is cancelled and awaited, for at most
    /// [`STOP_DEADLINE`]; one that overruns is named in the log and aborted.
    pub async fn run(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let addr = listener.local_addr()?;
        let cancel = CancellationToken::new();
        let mut tasks = Tasks::default();
        let router = self.router.clone();
        self.spawn_all(&mut tasks, &cancel);
        tracing::info!(%addr, "watch at http://{addr}/hls/stream.m3u8");
        let served = serve_http(listener, router, shutdown).await;
        cancel.cancel();
        tasks.stop(STOP_DEADLINE).await;
        served
    }

    /// Spawns every task of the server on `tasks`, each stopped by `cancel`.
    fn spawn_all(self, tasks: &mut Tasks, cancel: &CancellationToken) {
        let on_air = first_segment(&self.live, self.started);
        tasks.spawn(
            "library",
            self.library.run(self.ff.clone(), cancel.child_token()),
        );
        tasks.spawn("generator", self.generator.run(cancel.child_token()));
        tasks.spawn("slate", until(cancel.child_token(), self.slate.run()));
        // The recorder stops after the engine (when the engine's task ends), so the
        // last segment aired is recorded.
        let recorder_stop = CancellationToken::new();
        let (db, live) = self.recorder;
        tasks.spawn("recorder", stats::record(db, live, recorder_stop.clone()));
        let engine = self.engine.run(cancel.child_token());
        let airings = self.playout;
        tasks.spawn("engine", async move {
            engine.await;
            // Nothing pulls clips any more: the last airings are written first.
            airings.close().await;
            recorder_stop.cancel();
        });
        // On air: now the music and the rest of the demo library may use the CPU.
        let (music, token, wait) = (self.music, cancel.child_token(), on_air.clone());
        tasks.spawn("music", async move {
            let on_air = tokio::select! {
                _ = token.cancelled() => false,
                on_air = wait => on_air,
            };
            if on_air {
                music.run(token).await;
            }
        });
        if let Some(dir) = self.demo {
            let ff = self.ff.with_nice(NICE_DEMO);
            tasks.spawn(
                "demo library",
                until(cancel.child_token(), async move {
                    if on_air.await
                        && let Err(e) = transcode::demo::make_demo_library(&ff, &dir).await
                    {
                        tracing::error!(error = %e, "demo library incomplete");
                    }
                }),
            );
        }
        tasks.spawn("monitor", self.monitor.run(cancel.child_token()));
    }
}

/// Runs `f` until it ends or `cancel` fires, whichever comes first (dropping an
/// ffmpeg run kills its process).
async fn until(cancel: CancellationToken, f: impl Future<Output = ()>) {
    tokio::select! {
        _ = cancel.cancelled() => {}
        _ = f => {}
    }
}

/// Resolves true once the first segment is on air (logging how long the start
/// took), false if the stream ended before.
fn first_segment(
    live: &Live,
    started: Instant,
) -> futures::future::Shared<futures::future::BoxFuture<'static, bool>> {
    use futures::FutureExt;
    let mut first = live.subscribe();
    async move {
        if first.changed().await.is_err() {
            return false;
        }
        tracing::info!(
            ms = started.elapsed().as_millis() as u64,
            "first segment on air"
        );
        true
    }
    .boxed()
    .shared()
}

/// Serves HTTP until `shutdown`, then gives open connections [`HTTP_GRACE`].
async fn serve_http(
    listener: TcpListener,
    router: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let stopping = CancellationToken::new();
    let signal = stopping.clone();
    let server = axum::serve(listener, router).with_graceful_shutdown(async move {
        shutdown.await;
        signal.cancel();
    });
    tokio::select! {
        served = server => served,
        _ = async { stopping.cancelled().await; tokio::time::sleep(HTTP_GRACE).await } => {
            tracing::warn!(secs = HTTP_GRACE.as_secs(), "HTTP connections still open after the grace period: closed");
            Ok(())
        }
    }
}

/// The tasks of a running server, by name, so a stop can say which overran.
#[derive(Default)]
struct Tasks {
    set: tokio::task::JoinSet<&'static str>,
    running: Vec<&'static str>,
}

impl Tasks {
    fn spawn(&mut self, name: &'static str, task: impl Future<Output = ()> + Send + 'static) {
        self.running.push(name);
        self.set.spawn(async move {
            task.await;
            name
        });
    }

    /// Waits for every task (already cancelled) until `deadline`; aborts and names
    /// those still running then.
    async fn stop(mut self, deadline: Duration) {
        let all = tokio::time::timeout(deadline, async {
            while let Some(done) = self.set.join_next().await {
                match done {
                    Ok(name) => self.running.retain(|n| *n != name),
                    Err(e) if e.is_panic() => tracing::error!(error = %e, "a task panicked"),
                    Err(_) => {}
                }
            }
        })
        .await;
        if all.is_err() {
            tracing::warn!(
                tasks = %self.running.join(", "),
                secs = deadline.as_secs(),
                "tasks still running after the stop deadline: aborted"
            );
            self.set.shutdown().await;
        }
    }
}

/// Lays the settings saved through the API over flags, environment and `.env`
/// (skipped, with a warning, when they are no longer valid together with them).
fn apply_saved_settings(db: &Db, config: &mut Config) -> Result<(), StartError> {
    let saved = settings::load(db)?.patch;
    if saved.is_empty() {
        return Ok(());
    }
    let next = config.with(&saved);
    match settings::validate(&next, settings::Scope::All) {
        Ok(()) => {
            *config = next;
            tracing::info!(settings = %serde_json::to_string(&saved).unwrap_or_default(), "applying settings saved through the API");
        }
        Err((spec, _)) => tracing::warn!(
            setting = spec.key,
            "settings saved through the API are no longer valid here; ignoring them"
        ),
    }
    Ok(())
}

/// The video folders and the music folder: the configured ones, or without a video
/// folder the demo library, of which the first video is made now.
async fn sources(
    config: &Config,
    ff: &Ffmpeg,
    dirs: &DataDirs,
) -> Result<(Vec<PathBuf>, Option<PathBuf>), StartError> {
    let ch = &config.channel;
    if !ch.videos.is_empty() {
        return Ok((ch.videos.clone(), ch.audio.clone()));
    }
    tracing::info!(dir = %dirs.demo.display(), "no video folder configured: using the demo library");
    let demo = transcode::demo::make_first_demo_video(ff, &dirs.demo).await?;
    Ok((vec![demo.videos], ch.audio.clone().or(Some(demo.music))))
}

/// The TubeArchivist client, when configured and valid (else metadata comes from
/// the files alone).
fn tube_archivist(config: &Config) -> Option<TubeArchivist> {
    let (url, token) = config.server.tubearchivist()?;
    TubeArchivist::new(&url, &token)
        .map_err(|e| tracing::warn!(error = %e, "TubeArchivist disabled"))
        .ok()
}

/// What the generator is told of the configuration.
fn generator_settings(config: &Config, dirs: &DataDirs, encoder: &Encoder) -> GeneratorSettings {
    GeneratorSettings {
        chunks_dir: dirs.chunks.clone(),
        cache_dir: dirs.cache.clone(),
        profile: config.output.profile(),
        encoder: encoder.clone(),
        parallel: config.server.generator_jobs,
        seed: config.server.seed,
        channel: config.channel.clone(),
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
        frame_ticks: channel::frame_ticks(config.output.fps),
        segment_frames: config.output.profile().gop_frames as usize,
        start: resume.map_or(start, |r| r.next_pts),
        first_seq: resume.map_or(0, |r| r.next_seq),
        first_clip_wait: Duration::from_secs(3),
    }
}

/// Where the last run stopped, if it recorded it.
fn continuity(db: &Db) -> Option<stats::Continuity> {
    stats::continuity(db).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "cannot read where the last run stopped; starting afresh");
        None
    })
}

/// The live window, its segments mirrored to `data/hls`, going on from the last
/// run's playlist when there was one.
fn live_window(
    config: &Config,
    dirs: &DataDirs,
    timing: &ChannelTiming,
    resume: Option<stats::Continuity>,
    clock: &dyn Clock,
) -> Arc<Live> {
    let target = hls::target_duration(timing.segment_duration().as_secs_f64());
    let live = Live::new(
        run_id(clock.wall_now()),
        config.server.playlist_segments,
        target,
        Some(dirs.hls.clone()),
    );
    if let Some(r) = resume {
        tracing::info!(
            seq = r.next_seq,
            pts = r.next_pts.0,
            "continuing the stream of the last run"
        );
        live.resume(r.discontinuity_number, r.next_pdt);
    }
    live
}

/// The admin token: configured, else the one kept in the data folder (made and
/// printed once on the first start).
fn admin_token(config: &Config) -> Result<String, StartError> {
    let data = &config.server.data;
    let path = data.join("admin-token");
    let (admin, made) = http::auth::admin_token(config.security.admin_token.as_deref(), data)
        .map_err(|source| StartError::DataDir {
            path: path.clone(),
            source,
        })?;
    if made {
        // Printed once, on the terminal or in the log, for the operator to copy.
        tracing::warn!("admin token (also in {}): {admin}", path.display());
    }
    Ok(admin)
}

/// Makes the slate in the background once the first clip is encoded, so that
/// clip gets the CPU to itself at a fresh start (2 cores are not much).
struct SlateMaker {
    ff: Ffmpeg,
    cache: PathBuf,
    profile: transcode::OutputProfile,
    encoder: Encoder,
    playout: Arc<Playout>,
    generator: GeneratorHandle,
    slate: tokio::sync::watch::Sender<Option<Arc<LoadedClip>>>,
}

impl SlateMaker {
    async fn run(self) {
        // Each generator status change (a clip's progress, a clip done) is a moment
        // to look; a chunk on disk from an earlier run is there at once.
        let mut status = self.generator.subscribe();
        let _ = tokio::time::timeout(SLATE_WAITS_FOR_FIRST_CLIP, async {
            while !self.playout.has_clip() && status.changed().await.is_ok() {}
        })
        .await;
        match load_slate(&self.ff, &self.cache, &self.profile, &self.encoder).await {
            Ok(s) => {
                let _ = self.slate.send(Some(s));
            }
            // Without a slate an underrun re-airs the last clip: worse, not fatal.
            Err(e) => tracing::error!(error = %e, "no slate"),
        }
    }
}

struct DataDirs {
    demo: PathBuf,
    chunks: PathBuf,
    tracks: PathBuf,
    hls: PathBuf,
    cache: PathBuf,
}

impl DataDirs {
    fn create(data: &Path) -> Result<DataDirs, StartError> {
        let d = DataDirs {
            demo: data.join("demo"),
            chunks: data.join("chunks"),
            tracks: data.join("tracks"),
            hls: data.join("hls"),
            cache: data.join("cache"),
        };
        for dir in [&d.chunks, &d.tracks, &d.hls, &d.cache] {
            std::fs::create_dir_all(dir).map_err(|source| StartError::DataDir {
                path: dir.clone(),
                source,
            })?;
        }
        // Partial outputs of a run that died mid-encode (kill -9, a crash: its ffmpeg
        // children died with it), before anything can write a new one.
        for path in transcode::remove_partials(data) {
            tracing::info!(path = %path.display(), "removed a partial output of an earlier run");
        }
        // Segments of an earlier run are never served again (names carry the run id).
        if let Ok(entries) = std::fs::read_dir(&d.hls) {
            for e in entries.flatten() {
                let _ = std::fs::remove_file(e.path());
            }
        }
        Ok(d)
    }
}

/// The ffmpeg of clip encodes: niced, and with `jobs` running at once, limited to
/// their share of the cores.
fn clip_ffmpeg(ff: &Ffmpeg, jobs: usize) -> Ffmpeg {
    let ff = ff.clone().with_nice(NICE_CLIPS);
    if jobs <= 1 {
        return ff;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    ff.with_threads((cores / jobs).max(1) as u32)
}

/// The slate, encoded once per output profile and encoder, then cached.
async fn load_slate(
    ff: &Ffmpeg,
    cache: &Path,
    p: &transcode::OutputProfile,
    enc: &Encoder,
) -> Result<Arc<LoadedClip>, StartError> {
    // Keyed by everything that shapes the codec parameters, ffmpeg's version included,
    // so the slate always matches the clips it is spliced between.
    let path = cache.join(format!("slate-{}.ts", ff.clip_fingerprint(p, enc)));
    if !path.is_file() {
        ff.encode_slate(p, enc, p.gop_frames, &path).await?;
    }
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|e| StartError::Slate(e.to_string()))?;
    let info = Arc::new(ClipInfo {
        id: channel::SLATE_ID.into(),
        source: None,
        title: "shufflecast".into(),
        creator: None,
        source_start: 0.0,
        chunk: None,
    });
    let clip = LoadedClip::parse(
        info,
        &bytes,
        channel::frame_ticks(p.fps),
        p.gop_frames as usize,
    )
    .map_err(|e| {
        let _ = std::fs::remove_file(&path);
        StartError::Slate(e.to_string())
    })?;
    Ok(Arc::new(clip))
}

/// Digital silence in the music bed's format, looped when no track is ready.
async fn load_silence(ff: &Ffmpeg, cache: &Path) -> Result<Arc<LoadedTrack>, StartError> {
    let path = cache.join("silence-48k-stereo.aac");
    if !path.is_file() {
        ff.encode_silence(&path, 2.0).await?;
    }
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|e| StartError::Slate(e.to_string()))?;
    LoadedTrack::parse("silence", None, Bytes::from(bytes))
        .map(Arc::new)
        .map_err(|e| {
            let _ = std::fs::remove_file(&path);
            StartError::Slate(e.to_string())
        })
}

/// A short id unique to this run, for segment names: base 36 of the start time in ms.
fn run_id(now: SystemTime) -> String {
    let mut n = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let mut s = Vec::new();
    while n > 0 {
        s.push(b"0123456789abcdefghijklmnopqrstuvwxyz"[(n % 36) as usize]);
        n /= 36;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}
