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

use crate::config::Config;
use crate::db::{Db, DbError};
use crate::engine::{self, ClipInfo, Clock, Live, LoadedClip, LoadedTrack, SystemClock};
use crate::http::{self, AppState};
use crate::library::Library;
use crate::library::metadata::TubeArchivist;
use crate::lineup::def::{ChannelDef, Origin, Slug};
use crate::media::Ticks;
use crate::schedule::Playout;
use crate::schedule::pool::EncodePool;
use crate::settings;
use crate::station::{self, ChannelError, Shared, Station};
use crate::system::Monitor;
use crate::transcode::demo::DemoLibrary;
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
    /// A channel could not be put on air.
    #[error(transparent)]
    Channel(#[from] ChannelError),
    /// The channels file is wrong (the message names the file, line, channel, key).
    #[error("{0}")]
    ChannelsFile(#[from] crate::lineup::FileError),
    /// The engines' threads could not be started.
    #[error("cannot start the engines' threads: {0}")]
    Threads(std::io::Error),
    /// DEFAULT_CHANNEL names no channel.
    #[error("DEFAULT_CHANNEL: no channel {0:?} (the channels are {1})")]
    NoDefault(String, String),
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

/// How long open HTTP connections (a player mid-segment) get after the shutdown
/// signal; the endless ones (events, continuous streams) end at the signal.
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
    station: Arc<Station>,
    slate: SlateMaker,
    /// Where the rest of the demo library goes, when the demo library is in use.
    demo: Option<PathBuf>,
    monitor: Arc<Monitor>,
    /// What HTTP handlers share; the router is made from it at the start.
    state: AppState,
}

impl App {
    /// Makes every part of the server from `config`: the data folders and the
    /// database (saved settings laid over `config`), ffmpeg, the first demo video
    /// (for channels without a video folder), the library, the silence, the
    /// channels (each with its playout, generator, music, live window and engine),
    /// the monitor and what the HTTP handlers share. Nothing runs yet.
    pub async fn build(mut config: Config, options: Options) -> Result<App, StartError> {
        let started = Instant::now();
        let clock = options.clock.clone();
        let dirs = DataDirs::create(&config.server.data)?;
        let db = Db::open(&config.server.data.join("shufflecast.db"))?;
        apply_saved_settings(&db, &mut config)?;
        let ff = Ffmpeg::locate()
            .await?
            .with_stall_limit(config.server.encode_stall());
        let (defs, default) = channel_set(&db, &config)?;
        // Both are needed before going on air and neither needs the other.
        let (demo, silence) = tokio::join!(
            demo_library(&config, &defs, &ff, &dirs),
            load_silence(&ff, &dirs.cache)
        );
        let demo = demo?;
        let silence = silence?;
        let profile = config.output.profile();
        let encoder = ff.select_encoder(config.output.hw_accel, &profile).await;
        let library = Library::with_clock(
            db.clone(),
            Vec::new(),
            tube_archivist(&config),
            clock.clone(),
        );
        library.keep_posters_in(dirs.cache.join("posters"));
        let (slate_tx, slate) = tokio::sync::watch::channel(None);
        let station = Station::build(
            Shared {
                db: db.clone(),
                music_ff: ff.clone().with_nice(NICE_MUSIC),
                // Niceness: the engines (this process) first, then clips that keep
                // them fed, then the slate, music and demo files. Parallel jobs
                // share the cores rather than each taking them all.
                clip_ff: clip_ffmpeg(&ff, config.server.generator_jobs),
                library: library.clone(),
                pool: EncodePool::new(config.server.generator_jobs),
                recorder: crate::stats::Recorder::start(db.clone()),
                slate,
                silence,
                clock: options.clock.clone(),
                start: options.start,
                data: config.server.data.clone(),
                tracks: dirs.tracks.clone(),
                cache: dirs.cache.clone(),
                encoder: encoder.clone(),
                demo: demo.clone(),
                run_id: run_id(clock.wall_now()),
                engines: station::Engines::start().map_err(StartError::Threads)?,
            },
            config.clone(),
            defs,
            default,
        )?;
        let first = station
            .default_channel()
            .expect("the station has a channel");
        let slate_maker = SlateMaker::new(&config, &ff, &dirs.cache, &encoder, &first, slate_tx);
        let monitor = Monitor::new(config.server.data.clone());
        let state = handlers_state(
            &config, &station, &library, &monitor, &encoder, &ff, &dirs, &db, &clock,
        )?;
        Ok(App {
            started,
            demo: demo.is_some().then(|| dirs.demo.clone()),
            ff,
            library,
            station,
            slate: slate_maker,
            monitor,
            state,
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
        let router = http::router(self.state.clone());
        let stopping = self.state.stopping.clone();
        if self.state.config.server.discovery {
            spawn_discovery(&mut tasks, &cancel, self.state.clone(), addr.port());
        }
        say_where_to_watch(&self.state, addr);
        self.spawn_all(&mut tasks, &cancel);
        let served = serve_http(listener, router, stopping, shutdown).await;
        cancel.cancel();
        tasks.stop(STOP_DEADLINE).await;
        served
    }

    /// Spawns every task of the server on `tasks`, each stopped by `cancel`.
    fn spawn_all(self, tasks: &mut Tasks, cancel: &CancellationToken) {
        let first = self.station.default_channel().expect("a channel");
        let on_air = first_segment(&first.live, self.started);
        tasks.spawn(
            "library",
            self.library.run(self.ff.clone(), cancel.child_token()),
        );
        tasks.spawn("slate", until(cancel.child_token(), self.slate.run()));
        // Each channel's tasks (generator, engine, recorder, music) run on the
        // station's trackers; this task ends once they all have.
        let station = self.station.clone();
        station.run(cancel.child_token());
        tasks.spawn("channels", async move { station.stopped().await });
        let (station, token) = (self.station.clone(), cancel.child_token());
        tasks.spawn("disk budget", async move {
            station.keep_total_budget(token).await
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
    stopping: CancellationToken,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let signal = stopping.clone();
    // Each connection can be hung up on (a continuous-stream client that stopped
    // reading), see `http::conn`.
    let server = axum::serve(
        http::conn::Listener(listener),
        router.into_make_service_with_connect_info::<http::conn::Peer>(),
    )
    .with_graceful_shutdown(async move {
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

/// The channels to air and the default one: those of the channels file (else the
/// classic channel, from the settings alone) and those made through the API. The
/// default is DEFAULT_CHANNEL, else the file's first channel, else the classic one.
fn channel_set(db: &Db, config: &Config) -> Result<(Vec<ChannelDef>, Slug), StartError> {
    let mut defs = match &config.server.channels_file {
        Some(file) => crate::lineup::load_file(file, config)?,
        None => vec![ChannelDef::classic(config)],
    };
    // Channels made through the API: one no longer valid here (a folder gone, a
    // slug or number the file took since) is left off the air with the reason,
    // its definition kept for when it is fixed.
    for (slug, json) in db.channels().all()? {
        let def = serde_json::from_str(&json)
            .map_err(|e| e.to_string())
            .and_then(|map| ChannelDef::from_map(map, Origin::Api).map_err(|e| e.to_string()))
            .and_then(|d| d.validate(config).map(|()| d).map_err(|e| e.to_string()));
        match def {
            Ok(d) => {
                defs.push(d);
                if let Err((_, e)) = crate::lineup::check_unique(&defs) {
                    defs.pop();
                    tracing::error!(channel = %slug, reason = %e, "channel made through the API left off the air");
                }
            }
            Err(reason) => {
                tracing::error!(channel = %slug, %reason, "channel made through the API left off the air")
            }
        }
    }
    let default = match &config.server.default_channel {
        Some(want) => match defs.iter().find(|d| d.slug.as_str() == want) {
            Some(d) => d.slug.clone(),
            None => {
                let all: Vec<&str> = defs.iter().map(|d| d.slug.as_str()).collect();
                return Err(StartError::NoDefault(want.clone(), all.join(", ")));
            }
        },
        None => defs[0].slug.clone(),
    };
    tracing::info!(channels = defs.len(), default = %default, "channels");
    Ok((defs, default))
}

/// The demo library, when a channel has no video folder: its first video is made
/// now, the rest once on air.
async fn demo_library(
    config: &Config,
    defs: &[ChannelDef],
    ff: &Ffmpeg,
    dirs: &DataDirs,
) -> Result<Option<DemoLibrary>, StartError> {
    if defs
        .iter()
        .all(|d| !d.config(config).channel.videos.is_empty())
    {
        return Ok(None);
    }
    tracing::info!(dir = %dirs.demo.display(), "a channel has no video folder: using the demo library");
    Ok(Some(
        transcode::demo::make_first_demo_video(ff, &dirs.demo).await?,
    ))
}

/// The TubeArchivist client, when configured and valid (else metadata comes from
/// the files alone).
fn tube_archivist(config: &Config) -> Option<TubeArchivist> {
    let (url, token) = config.server.tubearchivist()?;
    TubeArchivist::new(&url, &token)
        .map_err(|e| tracing::warn!(error = %e, "TubeArchivist disabled"))
        .ok()
}

/// Answers HDHomeRun discovery on UDP port 65001, telling requesters the HTTP
/// `port`. A port already taken (another tuner emulator, a second server) costs
/// only discovery: the tuner can still be added by its address.
fn spawn_discovery(tasks: &mut Tasks, cancel: &CancellationToken, state: AppState, port: u16) {
    let socket = match crate::hdhomerun::bind(crate::hdhomerun::DISCOVERY_PORT) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, port = crate::hdhomerun::DISCOVERY_PORT, "HDHomeRun discovery off: cannot listen on UDP port 65001; add the tuner by its address (docs/live-tv.md), or set DISCOVERY=false");
            return;
        }
    };
    tracing::info!(device = %state.device.id, "answering HDHomeRun discovery on UDP port 65001");
    tasks.spawn(
        "discovery",
        crate::hdhomerun::serve(
            socket,
            move |_peer, local| http::hdhomerun::advert(&state, local, port),
            cancel.child_token(),
        ),
    );
}

/// What the HTTP handlers share: the station, the stores, the tokens, the tuner's
/// identity, the logos and the counters.
#[allow(clippy::too_many_arguments)]
fn handlers_state(
    config: &Config,
    station: &Arc<Station>,
    library: &Arc<Library>,
    monitor: &Arc<Monitor>,
    encoder: &Encoder,
    ff: &Ffmpeg,
    dirs: &DataDirs,
    db: &Db,
    clock: &crate::clock::SharedClock,
) -> Result<AppState, StartError> {
    Ok(AppState {
        station: station.clone(),
        db: db.clone(),
        library: library.clone(),
        monitor: monitor.clone(),
        encoder: encoder.to_string(),
        http: Default::default(),
        web: http::web::WebRoot::open(&config.server.web_dir),
        tokens: http::Tokens {
            admin: admin_token(config)?,
            viewer: config.security.viewer_token.clone(),
        },
        started: clock.wall_now(),
        tuners: Arc::new(http::tuners::Tuners::new(config.server.tuner_count)),
        viewing: Arc::default(),
        device: tuner_device(db)?,
        logos: Arc::new(http::logos::Logos::new(
            ff.clone().with_nice(NICE_CLIPS),
            dirs.cache.join("logos"),
        )),
        stopping: CancellationToken::new(),
        config: Arc::new(config.clone()),
    })
}

/// The HDHomeRun tuner's identity: made on the first start and kept in the
/// database, so Plex, Jellyfin and Emby know it as the same device for ever.
fn tuner_device(db: &Db) -> Result<crate::hdhomerun::Device, StartError> {
    use crate::hdhomerun::DeviceId;
    let id = match db.meta("device_id")?.map(|s| s.parse::<DeviceId>()) {
        Some(Ok(id)) => id,
        other => {
            if let Some(Err(e)) = other {
                tracing::warn!(error = %e, "the stored HDHomeRun device id is invalid: a new one is made");
            }
            let id = DeviceId::generate();
            db.set_meta("device_id", &id.to_string())?;
            id
        }
    };
    let auth = match db.meta("device_auth")? {
        Some(a) if !a.is_empty() => a,
        _ => {
            use rand::RngExt;
            let a: String = rand::rng()
                .sample_iter(rand::distr::Alphanumeric)
                .take(24)
                .map(char::from)
                .collect();
            db.set_meta("device_auth", &a)?;
            a
        }
    };
    Ok(crate::hdhomerun::Device { id, auth })
}

/// Says in the log, in words, where to watch: the address a viewer types (BASE_URL,
/// else this machine's name for a server listening on every address).
fn say_where_to_watch(state: &AppState, addr: std::net::SocketAddr) {
    let base = match state.config.server.advertised_url() {
        Some(url) => url.to_string(),
        None if addr.ip().is_unspecified() => format!("http://localhost:{}", addr.port()),
        None => format!("http://{addr}"),
    };
    let web = if state.web.is_some() {
        format!("open {base}/ in a browser (the web client); ")
    } else {
        String::new()
    };
    tracing::info!(
        %addr,
        "to watch: {web}play {base}/hls/stream.m3u8 in VLC, mpv or any HLS player; add \
         {base}/iptv.m3u to an IPTV app; add the tuner {base} to Plex, Jellyfin or Emby \
         (from another machine: this one's address instead of localhost)"
    );
}

/// The admin token: configured, else the one kept in the data folder (made and
/// printed once on the first start; later starts say where it is).
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
        tracing::warn!(
            "admin token, which the web client asks for to skip, generate or change \
             settings (Tokens): {admin} (made now, kept in {})",
            path.display()
        );
    } else if config.security.admin_token.is_none() {
        tracing::info!("admin token: in {}", path.display());
    }
    Ok(admin)
}

/// Makes the slate in the background once the first clip is encoded, so that
/// clip gets the CPU to itself at a fresh start (2 cores are not much).
struct SlateMaker {
    ff: Ffmpeg,
    cache: PathBuf,
    profile: transcode::OutputProfile,
    /// The lower rungs of the settings' ladder: the slate comes in each of them
    /// (a channel with a ladder of its own airs the top slate in its other rungs).
    rungs: Vec<transcode::OutputProfile>,
    encoder: Encoder,
    playout: Arc<Playout>,
    generator: tokio::sync::watch::Receiver<crate::schedule::generator::GeneratorStatus>,
    slate: tokio::sync::watch::Sender<Option<Arc<LoadedClip>>>,
}

impl SlateMaker {
    /// The slate of `config`'s ladder, made once `first`'s first clip is.
    fn new(
        config: &Config,
        ff: &Ffmpeg,
        cache: &Path,
        encoder: &Encoder,
        first: &crate::station::OnAir,
        slate: tokio::sync::watch::Sender<Option<Arc<LoadedClip>>>,
    ) -> SlateMaker {
        let mut rungs = config.channel.rungs(&config.output);
        SlateMaker {
            ff: ff.clone().with_nice(NICE_CLIPS),
            cache: cache.to_path_buf(),
            rungs: rungs.split_off(1),
            profile: rungs.remove(0),
            encoder: encoder.clone(),
            playout: first.playout.clone(),
            generator: first.generator.subscribe(),
            slate,
        }
    }

    async fn run(self) {
        // Each generator status change (a clip's progress, a clip done) is a moment
        // to look; a chunk on disk from an earlier run is there at once.
        let mut status = self.generator.clone();
        let _ = tokio::time::timeout(SLATE_WAITS_FOR_FIRST_CLIP, async {
            while !self.playout.has_clip() && status.changed().await.is_ok() {}
        })
        .await;
        match load_slate(
            &self.ff,
            &self.cache,
            &self.profile,
            &self.rungs,
            &self.encoder,
        )
        .await
        {
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
    tracks: PathBuf,
    cache: PathBuf,
}

impl DataDirs {
    fn create(data: &Path) -> Result<DataDirs, StartError> {
        let d = DataDirs {
            demo: data.join("demo"),
            tracks: data.join("tracks"),
            cache: data.join("cache"),
        };
        for dir in [&d.tracks, &d.cache] {
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
        upgrade_layout(data)?;
        Ok(d)
    }
}

/// A one-channel release kept its chunks in `data/chunks` and its segments in
/// `data/hls`: the chunks are the classic channel's now (moved, not copied: one
/// rename), the segments are never served again.
fn upgrade_layout(data: &Path) -> Result<(), StartError> {
    let old = data.join("chunks");
    let new = station::channel_dir(data, crate::lineup::def::CLASSIC).join("chunks");
    if old.is_dir() && !new.exists() {
        let moved = new
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::rename(&old, &new));
        moved.map_err(|source| StartError::DataDir {
            path: old.clone(),
            source,
        })?;
        tracing::info!(from = %old.display(), to = %new.display(), "moved the chunks of the one-channel release to the classic channel");
    }
    let _ = std::fs::remove_dir_all(data.join("hls"));
    Ok(())
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
    rungs: &[transcode::OutputProfile],
    enc: &Encoder,
) -> Result<Arc<LoadedClip>, StartError> {
    // Keyed by everything that shapes the codec parameters, ffmpeg's version included,
    // so the slate always matches the clips it is spliced between.
    let read = async |p: &transcode::OutputProfile| -> Result<(Vec<u8>, PathBuf), StartError> {
        let path = cache.join(format!("slate-{}.ts", ff.clip_fingerprint(p, enc)));
        if !path.is_file() {
            ff.encode_slate(p, enc, p.gop_frames, &path).await?;
        }
        let bytes = tokio::fs::read(&path)
            .await
            .map_err(|e| StartError::Slate(e.to_string()))?;
        Ok((bytes, path))
    };
    let (bytes, path) = read(p).await?;
    let info = Arc::new(ClipInfo {
        id: engine::SLATE_ID.into(),
        source: None,
        title: "shufflecast".into(),
        creator: None,
        source_start: 0.0,
        chunk: None,
        picture: None,
        duration: p.gop_frames as f64 / p.fps as f64,
        ..ClipInfo::default()
    });
    let (ticks, gop) = (engine::frame_ticks(p.fps), p.gop_frames as usize);
    let spoiled = |path: &Path, e: engine::loaded::ClipError| {
        let _ = std::fs::remove_file(path);
        StartError::Slate(e.to_string())
    };
    let mut clip = LoadedClip::parse(info, &bytes, ticks, gop).map_err(|e| spoiled(&path, e))?;
    for r in rungs {
        let (bytes, path) = read(r).await?;
        clip.add_rung(r.height, &bytes, ticks, gop)
            .map_err(|e| spoiled(&path, e))?;
    }
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
