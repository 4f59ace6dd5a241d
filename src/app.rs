//! Wires the pieces into one server: library, generator, music, live engine, HTTP.
//! [`serve`] takes an already-bound listener and a shutdown future, so tests can
//! run the whole server on a free port and stop it when they are done.

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
use crate::schedule::generator::{Generator, GeneratorSettings};
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
    /// The listener's address could not be read, or the HTTP server failed.
    #[error("HTTP server: {0}")]
    Http(std::io::Error),
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

/// Runs the server until `shutdown` resolves.
pub async fn serve(
    mut config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
    options: Options,
) -> Result<(), StartError> {
    let started = Instant::now();
    let data = config.server.data.clone();
    let dirs = DataDirs::create(&data)?;
    let db = Db::open(&data.join("shufflecast.db"))?;
    // Settings saved through the API lie over flags, environment and .env.
    let saved = settings::load(&db)?.patch;
    if !saved.is_empty() {
        let next = config.with(&saved);
        match settings::validate(&next, settings::Scope::All) {
            Ok(()) => {
                config = next;
                tracing::info!(settings = %serde_json::to_string(&saved).unwrap_or_default(), "applying settings saved through the API");
            }
            Err((spec, _)) => tracing::warn!(
                setting = spec.key,
                "settings saved through the API are no longer valid here; ignoring them"
            ),
        }
    }
    let ff = Ffmpeg::locate()
        .await?
        .with_stall_limit(config.server.encode_stall());
    let cancel = CancellationToken::new();

    let (video_folders, audio_folder) = if config.channel.videos.is_empty() {
        tracing::info!(dir = %dirs.demo.display(), "no video folder configured: using the demo library");
        let demo = transcode::demo::make_first_demo_video(&ff, &dirs.demo).await?;
        (
            vec![demo.videos],
            config.channel.audio.clone().or(Some(demo.music)),
        )
    } else {
        (config.channel.videos.clone(), config.channel.audio.clone())
    };

    let encoder = ff
        .select_encoder(config.output.hw_accel, &config.output.profile())
        .await;
    let profile = config.output.profile();
    let tube_archivist = match &config.server.tubearchivist() {
        Some((url, token)) => match TubeArchivist::new(url, token) {
            Ok(ta) => Some(ta),
            Err(e) => {
                tracing::warn!(error = %e, "TubeArchivist disabled");
                None
            }
        },
        None => None,
    };
    let library = Library::new(db.clone(), video_folders, tube_archivist);
    tokio::spawn(library.clone().run(ff.clone(), cancel.child_token()));
    let playout = Playout::load(db.clone(), &dirs.chunks, &profile)?;

    let (generator, generator_handle) = Generator::new(
        // Niceness: the engine (this process) first, then clips that keep it fed,
        // then the slate, music and demo files. Parallel jobs share the cores
        // rather than each taking them all.
        clip_ffmpeg(&ff, config.server.generator_jobs),
        db.clone(),
        library.clone(),
        playout.clone(),
        GeneratorSettings {
            chunks_dir: dirs.chunks.clone(),
            cache_dir: dirs.cache.clone(),
            profile: profile.clone(),
            encoder: encoder.clone(),
            parallel: config.server.generator_jobs,
            seed: config.server.seed,
            channel: config.channel.clone(),
        },
    );
    let generator_task = tokio::spawn(generator.run(cancel.child_token()));
    // Fast start: the first clip gets the CPU to itself (2 cores are not much), so
    // the slate is made in the background, and music and demo files after going on air.
    let (slate_tx, slate) = tokio::sync::watch::channel(None);
    {
        let (ff, cache, profile, encoder) = (
            ff.clone().with_nice(NICE_CLIPS),
            dirs.cache.clone(),
            profile.clone(),
            encoder.clone(),
        );
        let playout = playout.clone();
        tokio::spawn(async move {
            let wait_first = Instant::now();
            while !playout.has_clip() && wait_first.elapsed() < Duration::from_secs(4) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            match load_slate(&ff, &cache, &profile, &encoder).await {
                Ok(s) => {
                    let _ = slate_tx.send(Some(s));
                }
                // Without a slate an underrun re-airs the last clip: worse, not fatal.
                Err(e) => tracing::error!(error = %e, "no slate"),
            }
        });
    }
    let silence = load_silence(&ff, &dirs.cache).await?;

    let frame_ticks = channel::frame_ticks(profile.fps);
    // A restart goes on where the last run stopped: players that keep polling see the
    // sequence and the timestamps move on, past one discontinuity.
    let resume = stats::continuity(&db).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "cannot read where the last run stopped; starting afresh");
        None
    });
    let timing = ChannelTiming {
        frame_ticks,
        segment_frames: profile.gop_frames as usize,
        start: resume.map_or(options.start, |r| r.next_pts),
        first_seq: resume.map_or(0, |r| r.next_seq),
        first_clip_wait: Duration::from_secs(3),
    };
    let run_id = run_id();
    let target = hls::target_duration(timing.segment_duration().as_secs_f64());
    let live = Live::new(
        run_id,
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
    let music = Music::new(
        ff.clone().with_nice(NICE_MUSIC),
        db.clone(),
        audio_folder,
        dirs.tracks.clone(),
        config.channel.music_loudness,
    );
    let music_handle = music.clone();
    let (engine, control) = Engine::new(
        timing,
        options.clock.clone(),
        live.clone(),
        slate,
        silence,
        playout.clone(),
        music.clone(),
    );
    let engine_task = tokio::spawn(engine.run(cancel.child_token()));
    // Its own token: it stops after the engine, so the last segment is recorded.
    let recorder_stop = CancellationToken::new();
    let recorder = tokio::spawn(stats::record(
        db.clone(),
        live.clone(),
        recorder_stop.clone(),
    ));

    let mut first = live.subscribe();
    let background = cancel.child_token();
    let demo_dir = config.channel.videos.is_empty().then(|| dirs.demo.clone());
    let ff2 = ff.clone().with_nice(NICE_DEMO);
    tokio::spawn(async move {
        if first.changed().await.is_err() {
            return;
        }
        tracing::info!(
            ms = started.elapsed().as_millis() as u64,
            "first segment on air"
        );
        // On air: now the music and the rest of the demo library may use the CPU.
        tokio::spawn(music.run(background));
        if let Some(dir) = demo_dir
            && let Err(e) = transcode::demo::make_demo_library(&ff2, &dir).await
        {
            tracing::error!(error = %e, "demo library incomplete");
        }
    });

    let monitor = Monitor::new(data.clone());
    tokio::spawn(monitor.clone().run(cancel.child_token()));
    let addr = listener.local_addr().map_err(StartError::Http)?;
    tracing::info!(%addr, "watch at http://{addr}/hls/stream.m3u8");
    let (admin, made) = http::auth::admin_token(config.security.admin_token.as_deref(), &data)
        .map_err(|source| StartError::DataDir {
            path: data.join("admin-token"),
            source,
        })?;
    if made {
        // Printed once, on the terminal or in the log, for the operator to copy.
        tracing::warn!(
            "admin token (also in {}): {admin}",
            data.join("admin-token").display()
        );
    }
    let airings = playout.clone();
    let app = http::router(AppState {
        live,
        db: db.clone(),
        playout,
        library,
        generator: generator_handle,
        control,
        music: music_handle,
        monitor,
        encoder: encoder.to_string(),
        http: Default::default(),
        config: Arc::new(config.clone()),
        web: http::web::WebRoot::open(&config.server.web_dir),
        tokens: http::Tokens {
            admin,
            viewer: config.security.viewer_token.clone(),
        },
        started: SystemTime::now(),
    });
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    cancel.cancel();
    let _ = engine_task.await;
    // Nothing pulls clips any more: the last airings are written before the exit.
    airings.close().await;
    recorder_stop.cancel();
    let _ = recorder.await;
    // Jobs are stopped by now (their ffmpeg killed); chunks being built stay
    // recorded as building and are finished by the next run.
    let _ = generator_task.await;
    result.map_err(StartError::Http)
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
fn run_id() -> String {
    let mut n = SystemTime::now()
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
