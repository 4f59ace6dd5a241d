//! Settings: command-line flags, then environment variables, then a `.env` file in
//! the working folder, then defaults — in that order of precedence.
//!
//! Two stages, like ripgrep's low/high args: [`Cli`] holds what clap parsed
//! (flags only), [`Config::resolve`] layers the environment and `.env` under it,
//! validates every value and names the setting when one is wrong.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::schedule::cron::CronSchedule;
use crate::schedule::generator::WatermarkMode;
use crate::transcode::{ColorGrade, HwAccel, Look, OutputProfile};

/// Command line of the `shufflecast` binary.
#[derive(Debug, Parser)]
#[command(
    name = "shufflecast",
    version,
    about = "A never-ending TV channel from a folder of videos"
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// What the binary is asked to do.
#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once, at start
pub enum Command {
    /// Run the channel: library, generator, live engine and HTTP server in one process.
    Serve(ServeArgs),
    /// Print the HTTP API's OpenAPI document (what /api/openapi.json serves) and exit.
    #[command(hide = true)]
    Openapi,
}

/// Flags of `shufflecast serve`. Every flag can also be set by the environment
/// variable named in its help, or in `.env`.
#[derive(Debug, Default, Args)]
pub struct ServeArgs {
    /// Folder of source videos, repeatable [env: VIDEO_FOLDER, several joined with ':']. None: a demo library is generated.
    #[arg(long = "videos", value_name = "DIR")]
    pub videos: Vec<PathBuf>,
    /// Folder of music tracks for the background music [env: AUDIO_FOLDER]. None: silence.
    #[arg(long, value_name = "DIR")]
    pub audio: Option<PathBuf>,
    /// Data folder: clips, music cache, segments, state [env: DATA_DIR or CHUNK_FOLDER; default ./data].
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Address to listen on [env: LISTEN, or PORT for 0.0.0.0:PORT; default 0.0.0.0:8081].
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<String>,
    /// Hardware encoder: none, nvidia, vaapi, qsv or auto [env: HW_ACCEL; default none].
    #[arg(long, value_name = "KIND")]
    pub hw_accel: Option<String>,
    /// Shortest clip, in seconds [env: CLIP_MIN; default 6].
    #[arg(long, value_name = "SECS")]
    pub clip_min: Option<String>,
    /// Longest clip, in seconds [env: CLIP_MAX; default 6].
    #[arg(long, value_name = "SECS")]
    pub clip_max: Option<String>,
    /// Length of a chunk (a montage of clips), in seconds [env: CHUNK_DURATION; default 300].
    #[arg(long, value_name = "SECS")]
    pub chunk_duration: Option<String>,
    /// Most chunks kept on disk [env: MAX_CHUNKS; default 56].
    #[arg(long, value_name = "N")]
    pub max_chunks: Option<String>,
    /// Output width in pixels [env: WIDTH; default 1280].
    #[arg(long, value_name = "PX")]
    pub width: Option<String>,
    /// Output height in pixels [env: HEIGHT; default 720].
    #[arg(long, value_name = "PX")]
    pub height: Option<String>,
    /// Output frame rate [env: FPS; default 30].
    #[arg(long, value_name = "FPS")]
    pub fps: Option<String>,
    /// HLS segment duration in seconds, also the GOP length [env: SEGMENT_DURATION; default 2].
    #[arg(long, value_name = "SECS")]
    pub segment_duration: Option<String>,
    /// Video bitrate cap in kb/s [env: VIDEO_BITRATE; default 3000].
    #[arg(long, value_name = "KBPS")]
    pub video_bitrate: Option<String>,
    /// Segments listed in the live playlist [env: PLAYLIST_SEGMENTS; default 10].
    #[arg(long, value_name = "N")]
    pub playlist_segments: Option<String>,
    /// Never-aired chunks kept ready at all times [env: READY_CHUNKS; default 2].
    #[arg(long, value_name = "N")]
    pub ready_chunks: Option<String>,
    /// Chunks made per generation run, scheduled or asked for [env: CHUNKS_PER_RUN; default 4].
    #[arg(long, value_name = "N")]
    pub chunks_per_run: Option<String>,
    /// Chunks built at the same time [env: GENERATOR_JOBS; default 1].
    #[arg(long, value_name = "N")]
    pub generator_jobs: Option<String>,
    /// Seconds an encode may go without writing a frame before it is killed [env: ENCODE_STALL_SECS; default 60].
    #[arg(long, value_name = "SECS")]
    pub encode_stall_secs: Option<String>,
    /// Most disk space for chunks, e.g. 20G or 500M [env: DISK_BUDGET; default: no limit but MAX_CHUNKS].
    #[arg(long, value_name = "SIZE")]
    pub disk_budget: Option<String>,
    /// When to run generation, a cron expression, e.g. "0 2 * * *" [env: GENERATE_SCHEDULE]. The ready target applies at all times.
    #[arg(long, value_name = "CRON")]
    pub schedule: Option<String>,
    /// Colour grade: none, moody, warm, cool or mono [env: COLOR_GRADE; default none].
    #[arg(long, value_name = "PRESET")]
    pub color_grade: Option<String>,
    /// Three-panel video wall: true or false [env: VIDEO_WALL; default false].
    #[arg(long, value_name = "BOOL")]
    pub video_wall: Option<String>,
    /// Burned-in text: none, creator or title [env: WATERMARK; default none].
    #[arg(long, value_name = "WHAT")]
    pub watermark: Option<String>,
    /// Watermark text for sources whose creator is unknown [env: WATERMARK_FALLBACK].
    #[arg(long, value_name = "TEXT")]
    pub watermark_fallback: Option<String>,
    /// Music loudness target, LUFS (EBU R128) [env: MUSIC_LOUDNESS; default -16].
    #[arg(long, value_name = "LUFS", allow_hyphen_values = true)]
    pub music_loudness: Option<String>,
    /// Seed for the clip choices, for reproducible runs [env: SEED; default random].
    #[arg(long, value_name = "N")]
    pub seed: Option<String>,
    /// TubeArchivist base URL for titles and creators [env: TUBEARCHIVIST_URL].
    #[arg(long, value_name = "URL")]
    pub tubearchivist_url: Option<String>,
    /// TubeArchivist API token [env: TUBEARCHIVIST_TOKEN].
    #[arg(long, value_name = "TOKEN")]
    pub tubearchivist_token: Option<String>,
    /// Token required by every mutating API route [env: ADMIN_TOKEN; default: generated once and kept in DATA/admin-token].
    #[arg(long, value_name = "TOKEN")]
    pub admin_token: Option<String>,
    /// Token required to watch and read status, if set [env: VIEWER_TOKEN; default: open].
    #[arg(long, value_name = "TOKEN")]
    pub viewer_token: Option<String>,
    /// The channel's name in the IPTV playlist and guide [env: CHANNEL_NAME; default shufflecast].
    #[arg(long, value_name = "NAME")]
    pub channel_name: Option<String>,
    /// Folder of the built web client [env: WEB_DIR; default web/dist, if it exists].
    #[arg(long, value_name = "DIR")]
    pub web_dir: Option<PathBuf>,
    /// Log lines as text or json, one object a line [env: LOG_FORMAT; default text]. RUST_LOG sets what is logged.
    #[arg(long, value_name = "FORMAT")]
    pub log_format: Option<String>,
}

/// A setting was missing, malformed or out of range.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A value could not be parsed or is out of range.
    #[error("invalid value {value:?} for {setting}: {reason}")]
    Invalid {
        /// The flag or variable the value came from, as the user wrote it.
        setting: String,
        /// The value as given.
        value: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A folder setting names something that is not a folder.
    #[error("{setting}: folder {path} does not exist or is not a folder")]
    MissingFolder {
        /// The flag or variable that named it.
        setting: String,
        /// The path as given.
        path: PathBuf,
    },
    /// The `.env` file exists but could not be read or parsed.
    #[error("cannot read {path}: {source}")]
    DotEnv {
        /// The `.env` file.
        path: PathBuf,
        /// The error dotenvy reported.
        source: dotenvy::Error,
    },
}

/// The validated settings the server runs with.
#[derive(Clone, Debug)]
pub struct Config {
    /// Source folders; empty means "generate and use the demo library".
    pub videos: Vec<PathBuf>,
    /// Music folder; `None` means silence (or the demo music, with the demo library).
    pub audio: Option<PathBuf>,
    /// Data folder: clips, the music cache, segments and state.
    pub data: PathBuf,
    /// Address the HTTP server listens on.
    pub listen: SocketAddr,
    /// Hardware encoder to use, or none.
    pub hw_accel: HwAccel,
    /// Shortest clip, seconds.
    pub clip_min: f64,
    /// Longest clip, seconds.
    pub clip_max: f64,
    /// Length of a chunk (a montage of clips), seconds.
    pub chunk_duration: f64,
    /// Most chunks kept on disk; the least recently aired are deleted first.
    pub max_chunks: usize,
    /// What every clip is encoded to: size, frame rate, GOP length (one segment), bitrate.
    pub profile: OutputProfile,
    /// HLS segment duration, seconds: a whole number of frames, and the GOP length.
    pub segment_duration: f64,
    /// Segments listed in the live playlist.
    pub playlist_segments: usize,
    /// Never-aired chunks kept ready.
    pub ready_chunks: usize,
    /// Chunks per generation run.
    pub chunks_per_run: usize,
    /// Chunks built at the same time.
    pub generator_jobs: usize,
    /// How long an encode may go without writing a frame before it is killed.
    pub encode_stall: Duration,
    /// Most bytes of chunks kept, if limited.
    pub disk_budget: Option<u64>,
    /// Scheduled generation runs.
    pub schedule: Option<CronSchedule>,
    /// Colour grade and video wall.
    pub look: Look,
    /// Burned-in text.
    pub watermark: WatermarkMode,
    /// Watermark text when the creator is unknown.
    pub watermark_fallback: Option<String>,
    /// Music loudness target, LUFS.
    pub music_lufs: f64,
    /// Seed of the clip choices.
    pub seed: Option<u64>,
    /// TubeArchivist base URL and token, for metadata.
    pub tubearchivist: Option<(String, String)>,
    /// The admin token, if set (else one is generated).
    pub admin_token: Option<String>,
    /// The viewer token, if set.
    pub viewer_token: Option<String>,
    /// The channel's name.
    pub channel_name: String,
    /// Folder of the built web client (served only if it holds an index.html).
    pub web_dir: PathBuf,
}

/// Names from the original tool's `.env` that we accept but do not use (yet), so
/// an existing `.env` keeps working without a warning for each.
const KNOWN_UNUSED: &[&str] = &["STATS_DIR", "HLS_PORT", "TZ"];

const KNOWN: &[&str] = &[
    "VIDEO_FOLDER",
    "AUDIO_FOLDER",
    "DATA_DIR",
    "CHUNK_FOLDER",
    "LISTEN",
    "PORT",
    "HW_ACCEL",
    "CLIP_MIN",
    "CLIP_MAX",
    "CHUNK_DURATION",
    "MAX_CHUNKS",
    "WIDTH",
    "HEIGHT",
    "FPS",
    "SEGMENT_DURATION",
    "VIDEO_BITRATE",
    "PLAYLIST_SEGMENTS",
    "READY_CHUNKS",
    "CHUNKS_PER_RUN",
    "GENERATOR_JOBS",
    "ENCODE_STALL_SECS",
    "DISK_BUDGET",
    "GENERATE_SCHEDULE",
    "COLOR_GRADE",
    "VIDEO_WALL",
    "WATERMARK",
    "WATERMARK_FALLBACK",
    "MUSIC_LOUDNESS",
    "SEED",
    "TUBEARCHIVIST_URL",
    "TUBEARCHIVIST_TOKEN",
    "ADMIN_TOKEN",
    "VIEWER_TOKEN",
    "CHANNEL_NAME",
    "WEB_DIR",
    "LOG_FORMAT",
    "RUST_LOG",
];

/// Where a value came from, so an error names the setting the user actually wrote.
struct Layers<'a> {
    env: &'a dyn Fn(&str) -> Option<String>,
    dotenv: HashMap<String, String>,
}

impl Layers<'_> {
    /// The flag's value, else the first of `names` set in the environment, else in `.env`.
    fn get(
        &self,
        flag: &Option<String>,
        flag_name: &str,
        names: &[&str],
    ) -> Option<(String, String)> {
        if let Some(v) = flag {
            return Some((flag_name.to_string(), v.clone()));
        }
        for n in names {
            if let Some(v) = (self.env)(n).filter(|v| !v.is_empty()) {
                return Some((n.to_string(), v));
            }
        }
        for n in names {
            if let Some(v) = self.dotenv.get(*n).filter(|v| !v.is_empty()) {
                return Some(((*n).to_string(), v.clone()));
            }
        }
        None
    }

    fn parse<T: std::str::FromStr>(
        &self,
        flag: &Option<String>,
        flag_name: &str,
        names: &[&str],
        default: T,
    ) -> Result<(T, String), ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        match self.get(flag, flag_name, names) {
            None => Ok((
                default,
                names.first().copied().unwrap_or(flag_name).to_string(),
            )),
            Some((setting, value)) => value
                .trim()
                .parse::<T>()
                .map(|v| (v, setting.clone()))
                .map_err(|e| invalid(&setting, &value, e)),
        }
    }
}

fn invalid(setting: &str, value: &str, reason: impl std::fmt::Display) -> ConfigError {
    ConfigError::Invalid {
        setting: setting.to_string(),
        value: value.to_string(),
        reason: reason.to_string(),
    }
}

impl Config {
    /// Resolves the settings from flags, the process environment and `dir/.env`.
    pub fn from_env(args: &ServeArgs, dir: &Path) -> Result<Config, ConfigError> {
        let env = |k: &str| std::env::var(k).ok();
        Config::resolve(args, &env, &dir.join(".env"))
    }

    /// Resolves settings with an explicit environment lookup (tests pass their own).
    pub fn resolve(
        args: &ServeArgs,
        env: &dyn Fn(&str) -> Option<String>,
        dotenv_path: &Path,
    ) -> Result<Config, ConfigError> {
        let dotenv = read_dotenv(dotenv_path)?;
        let layers = Layers { env, dotenv };

        let videos = if !args.videos.is_empty() {
            args.videos.clone()
        } else {
            match layers.get(&None, "--videos", &["VIDEO_FOLDER"]) {
                Some((_, v)) => std::env::split_paths(&v)
                    .filter(|p| !p.as_os_str().is_empty())
                    .collect(),
                None => Vec::new(),
            }
        };
        let video_setting = if args.videos.is_empty() {
            "VIDEO_FOLDER"
        } else {
            "--videos"
        };
        for v in &videos {
            if !v.is_dir() {
                return Err(ConfigError::MissingFolder {
                    setting: video_setting.into(),
                    path: v.clone(),
                });
            }
        }
        let audio = layers
            .get(
                &args.audio.as_ref().map(|p| p.display().to_string()),
                "--audio",
                &["AUDIO_FOLDER"],
            )
            .map(|(setting, v)| {
                let p = PathBuf::from(v);
                if p.is_dir() {
                    Ok(p)
                } else {
                    Err(ConfigError::MissingFolder { setting, path: p })
                }
            })
            .transpose()?;
        let data = layers
            .get(
                &args.data.as_ref().map(|p| p.display().to_string()),
                "--data",
                &["DATA_DIR", "CHUNK_FOLDER"],
            )
            .map(|(_, v)| PathBuf::from(v))
            .unwrap_or_else(|| PathBuf::from("data"));

        let listen = match layers.get(&args.listen, "--listen", &["LISTEN"]) {
            Some((setting, v)) => parse_listen(&v).map_err(|e| invalid(&setting, &v, e))?,
            None => {
                let (port, _) = layers.parse::<u16>(&None, "PORT", &["PORT"], 8081)?;
                SocketAddr::from(([0, 0, 0, 0], port))
            }
        };
        let (hw_accel, _) =
            layers.parse::<HwAccel>(&args.hw_accel, "--hw-accel", &["HW_ACCEL"], HwAccel::None)?;

        let (clip_min, clip_min_name) =
            layers.parse::<f64>(&args.clip_min, "--clip-min", &["CLIP_MIN"], 6.0)?;
        let (clip_max, clip_max_name) =
            layers.parse::<f64>(&args.clip_max, "--clip-max", &["CLIP_MAX"], 6.0)?;
        let (chunk_duration, chunk_name) = layers.parse::<f64>(
            &args.chunk_duration,
            "--chunk-duration",
            &["CHUNK_DURATION"],
            300.0,
        )?;
        let (max_chunks, max_chunks_name) =
            layers.parse::<usize>(&args.max_chunks, "--max-chunks", &["MAX_CHUNKS"], 56)?;
        let (width, width_name) = layers.parse::<u32>(&args.width, "--width", &["WIDTH"], 1280)?;
        let (height, height_name) =
            layers.parse::<u32>(&args.height, "--height", &["HEIGHT"], 720)?;
        let (fps, fps_name) = layers.parse::<u32>(&args.fps, "--fps", &["FPS"], 30)?;
        let (segment_duration, seg_name) = layers.parse::<f64>(
            &args.segment_duration,
            "--segment-duration",
            &["SEGMENT_DURATION"],
            2.0,
        )?;
        let (video_kbps, kbps_name) = layers.parse::<u32>(
            &args.video_bitrate,
            "--video-bitrate",
            &["VIDEO_BITRATE"],
            3000,
        )?;
        let (playlist_segments, pl_name) = layers.parse::<usize>(
            &args.playlist_segments,
            "--playlist-segments",
            &["PLAYLIST_SEGMENTS"],
            10,
        )?;

        let check = |ok: bool, name: &str, value: String, reason: &str| {
            if ok {
                Ok(())
            } else {
                Err(invalid(name, &value, reason))
            }
        };
        check(
            clip_min.is_finite() && clip_min >= 0.5,
            &clip_min_name,
            clip_min.to_string(),
            "must be at least 0.5 seconds",
        )?;
        check(
            clip_max.is_finite() && clip_max <= 3600.0,
            &clip_max_name,
            clip_max.to_string(),
            "must be at most 3600 seconds",
        )?;
        check(
            clip_max >= clip_min,
            &clip_max_name,
            clip_max.to_string(),
            &format!("must not be below CLIP_MIN ({clip_min})"),
        )?;
        check(
            chunk_duration.is_finite() && (1.0..=86_400.0).contains(&chunk_duration),
            &chunk_name,
            chunk_duration.to_string(),
            "must be between 1 and 86400 seconds",
        )?;
        check(
            max_chunks >= 1,
            &max_chunks_name,
            max_chunks.to_string(),
            "must be at least 1",
        )?;
        check(
            (16..=7680).contains(&width) && width % 2 == 0,
            &width_name,
            width.to_string(),
            "must be an even number of pixels between 16 and 7680",
        )?;
        check(
            (16..=4320).contains(&height) && height % 2 == 0,
            &height_name,
            height.to_string(),
            "must be an even number of pixels between 16 and 4320",
        )?;
        check(
            (1..=120).contains(&fps) && 90_000 % fps == 0,
            &fps_name,
            fps.to_string(),
            "must be a whole frame rate between 1 and 120 that divides 90000 (e.g. 24, 25, 30, 50, 60)",
        )?;
        let gop = segment_duration * fps as f64;
        check(
            segment_duration.is_finite()
                && (0.5..=20.0).contains(&segment_duration)
                && (gop - gop.round()).abs() < 1e-9,
            &seg_name,
            segment_duration.to_string(),
            &format!(
                "must be between 0.5 and 20 seconds and a whole number of frames at {fps} fps"
            ),
        )?;
        check(
            (100..=100_000).contains(&video_kbps),
            &kbps_name,
            video_kbps.to_string(),
            "must be between 100 and 100000 kb/s",
        )?;
        check(
            (3..=1000).contains(&playlist_segments),
            &pl_name,
            playlist_segments.to_string(),
            "must be between 3 and 1000",
        )?;

        let (ready_chunks, ready_name) =
            layers.parse::<usize>(&args.ready_chunks, "--ready-chunks", &["READY_CHUNKS"], 2)?;
        check(
            ready_chunks >= 1 && ready_chunks < max_chunks.max(2),
            &ready_name,
            ready_chunks.to_string(),
            &format!("must be at least 1 and below MAX_CHUNKS ({max_chunks})"),
        )?;
        let (chunks_per_run, cpr_name) = layers.parse::<usize>(
            &args.chunks_per_run,
            "--chunks-per-run",
            &["CHUNKS_PER_RUN"],
            4,
        )?;
        check(
            (1..=1000).contains(&chunks_per_run),
            &cpr_name,
            chunks_per_run.to_string(),
            "must be between 1 and 1000",
        )?;
        let (generator_jobs, jobs_name) = layers.parse::<usize>(
            &args.generator_jobs,
            "--generator-jobs",
            &["GENERATOR_JOBS"],
            1,
        )?;
        check(
            (1..=16).contains(&generator_jobs),
            &jobs_name,
            generator_jobs.to_string(),
            "must be between 1 and 16",
        )?;
        let (stall_secs, stall_name) = layers.parse::<u64>(
            &args.encode_stall_secs,
            "--encode-stall-secs",
            &["ENCODE_STALL_SECS"],
            60,
        )?;
        check(
            (1..=3600).contains(&stall_secs),
            &stall_name,
            stall_secs.to_string(),
            "must be between 1 and 3600 seconds",
        )?;
        let disk_budget = match layers.get(&args.disk_budget, "--disk-budget", &["DISK_BUDGET"]) {
            Some((setting, v)) => parse_size(&v).map_err(|e| invalid(&setting, &v, e))?,
            None => None,
        };
        let schedule = layers
            .get(&args.schedule, "--schedule", &["GENERATE_SCHEDULE"])
            .map(|(setting, v)| {
                v.parse::<CronSchedule>()
                    .map_err(|e| invalid(&setting, &v, e))
            })
            .transpose()?;
        let (grade, _) = layers.parse::<ColorGrade>(
            &args.color_grade,
            "--color-grade",
            &["COLOR_GRADE"],
            ColorGrade::None,
        )?;
        let (Flag(video_wall), _) = layers.parse::<Flag>(
            &args.video_wall,
            "--video-wall",
            &["VIDEO_WALL"],
            Flag(false),
        )?;
        let (watermark, _) = layers.parse::<WatermarkMode>(
            &args.watermark,
            "--watermark",
            &["WATERMARK"],
            WatermarkMode::None,
        )?;
        let watermark_fallback = layers
            .get(
                &args.watermark_fallback,
                "--watermark-fallback",
                &["WATERMARK_FALLBACK"],
            )
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty());
        let (music_lufs, lufs_name) = layers.parse::<f64>(
            &args.music_loudness,
            "--music-loudness",
            &["MUSIC_LOUDNESS"],
            crate::transcode::DEFAULT_MUSIC_LUFS,
        )?;
        check(
            (-40.0..=-5.0).contains(&music_lufs),
            &lufs_name,
            music_lufs.to_string(),
            "must be between -40 and -5 LUFS",
        )?;
        let seed = layers
            .get(&args.seed, "--seed", &["SEED"])
            .map(|(setting, v)| {
                v.trim()
                    .parse::<u64>()
                    .map_err(|e| invalid(&setting, &v, e))
            })
            .transpose()?;
        let ta_url = layers.get(
            &args.tubearchivist_url,
            "--tubearchivist-url",
            &["TUBEARCHIVIST_URL"],
        );
        let ta_token = layers.get(
            &args.tubearchivist_token,
            "--tubearchivist-token",
            &["TUBEARCHIVIST_TOKEN"],
        );
        let tubearchivist = match (ta_url, ta_token) {
            (None, _) => None,
            (Some((setting, url)), token) => {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(invalid(
                        &setting,
                        &url,
                        "must be an http:// or https:// URL",
                    ));
                }
                let Some((_, token)) = token else {
                    return Err(invalid(
                        "TUBEARCHIVIST_TOKEN",
                        "",
                        "is required when TUBEARCHIVIST_URL is set (TubeArchivist: Settings > API token)",
                    ));
                };
                Some((url.trim_end_matches('/').to_string(), token))
            }
        };

        let token =
            |flag: &Option<String>, name: &str, var: &str| -> Result<Option<String>, ConfigError> {
                match layers.get(flag, name, &[var]) {
                    None => Ok(None),
                    Some((setting, v)) => {
                        let v = v.trim().to_string();
                        if v.len() < 8 || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
                            Err(invalid(
                                &setting,
                                "(hidden)",
                                "must be at least 8 characters, without spaces",
                            ))
                        } else {
                            Ok(Some(v))
                        }
                    }
                }
            };
        let admin_token = token(&args.admin_token, "--admin-token", "ADMIN_TOKEN")?;
        let viewer_token = token(&args.viewer_token, "--viewer-token", "VIEWER_TOKEN")?;
        let channel_name = layers
            .get(&args.channel_name, "--channel-name", &["CHANNEL_NAME"])
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "shufflecast".to_string());

        for key in layers.dotenv.keys() {
            if !KNOWN.contains(&key.as_str()) && !KNOWN_UNUSED.contains(&key.as_str()) {
                tracing::warn!(setting = %key, file = %dotenv_path.display(), "unknown setting in .env, ignored");
            }
        }

        Ok(Config {
            videos,
            audio,
            data,
            listen,
            hw_accel,
            clip_min,
            clip_max,
            chunk_duration,
            max_chunks,
            profile: OutputProfile {
                width,
                height,
                fps,
                gop_frames: gop.round() as u32,
                video_kbps,
            },
            segment_duration,
            playlist_segments,
            ready_chunks,
            chunks_per_run,
            generator_jobs,
            encode_stall: Duration::from_secs(stall_secs),
            disk_budget,
            schedule,
            look: Look { grade, video_wall },
            watermark,
            watermark_fallback,
            music_lufs,
            seed,
            tubearchivist,
            admin_token,
            viewer_token,
            channel_name,
            web_dir: layers
                .get(
                    &args.web_dir.as_ref().map(|p| p.display().to_string()),
                    "--web-dir",
                    &["WEB_DIR"],
                )
                .map_or_else(|| PathBuf::from("web/dist"), |(_, v)| PathBuf::from(v)),
        })
    }
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines (coloured on a terminal).
    #[default]
    Text,
    /// One JSON object a line, for log collectors (Loki, Elasticsearch, `docker logs`
    /// piped to jq).
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err("expected text or json"),
        }
    }
}

/// The logging settings, resolved on their own and before [`Config`]: logging has
/// to be set up first, so that the settings' own errors and warnings (an unknown
/// name in `.env`) already come out in the chosen format.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogSettings {
    /// Text or JSON lines.
    pub format: LogFormat,
    /// RUST_LOG's filter (`info`, `shufflecast=debug,tower_http=warn`), if set.
    pub filter: Option<String>,
}

impl LogSettings {
    /// Resolves LOG_FORMAT and RUST_LOG from flags, the process environment and `dir/.env`.
    pub fn from_env(args: &ServeArgs, dir: &Path) -> Result<LogSettings, ConfigError> {
        let env = |k: &str| std::env::var(k).ok();
        LogSettings::resolve(args, &env, &dir.join(".env"))
    }

    /// Resolves with an explicit environment lookup (tests pass their own).
    pub fn resolve(
        args: &ServeArgs,
        env: &dyn Fn(&str) -> Option<String>,
        dotenv_path: &Path,
    ) -> Result<LogSettings, ConfigError> {
        let layers = Layers {
            env,
            dotenv: read_dotenv(dotenv_path)?,
        };
        let (format, _) = layers.parse::<LogFormat>(
            &args.log_format,
            "--log-format",
            &["LOG_FORMAT"],
            LogFormat::Text,
        )?;
        let filter = layers.get(&None, "RUST_LOG", &["RUST_LOG"]).map(|(_, v)| v);
        Ok(LogSettings { format, filter })
    }
}

/// A yes/no setting: true/false, yes/no, on/off, 1/0, in any case.
struct Flag(bool);

impl std::str::FromStr for Flag {
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(Flag(true)),
            "" | "0" | "false" | "no" | "off" => Ok(Flag(false)),
            _ => Err("expected true or false"),
        }
    }
}

/// A size in bytes with an optional unit: `500M`, `20G`, `1.5T`, `123456`
/// (decimal units, as disks are sold; `GiB`-style binary units accepted too).
/// `0` or `none` means no limit.
fn parse_size(v: &str) -> Result<Option<u64>, String> {
    let t = v.trim().to_ascii_lowercase();
    if t.is_empty() || t == "0" || t == "none" {
        return Ok(None);
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| "expected a size like 500M, 20G or 1T".to_string())?;
    let mult: f64 = match unit.trim() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "t" | "tb" => 1e12,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "tib" => 1024.0f64.powi(4),
        other => return Err(format!("unknown unit {other:?}: use K, M, G or T")),
    };
    let bytes = n * mult;
    if !bytes.is_finite() || bytes < 1e6 {
        return Err("must be at least 1M".into());
    }
    Ok(Some(bytes as u64))
}

/// `ADDR:PORT`, where ADDR may also be a host name (`localhost:8081`).
fn parse_listen(v: &str) -> Result<SocketAddr, String> {
    let v = v.trim();
    if let Ok(addr) = v.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if !v.contains(':') {
        return Err("expected ADDR:PORT, e.g. 0.0.0.0:8081 or localhost:8081".into());
    }
    std::net::ToSocketAddrs::to_socket_addrs(v)
        .map_err(|e| e.to_string())?
        .next()
        .ok_or_else(|| "the host name has no address".into())
}

fn read_dotenv(path: &Path) -> Result<HashMap<String, String>, ConfigError> {
    if !path.exists() {
        return Ok(HashMap::new());
    }
    let iter = dotenvy::from_path_iter(path).map_err(|source| ConfigError::DotEnv {
        path: path.into(),
        source,
    })?;
    iter.map(|item| {
        item.map_err(|source| ConfigError::DotEnv {
            path: path.into(),
            source,
        })
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Calls `f` with an environment of `env` and a `.env` file holding `dotenv`.
    fn with_env<T>(
        env: &[(&str, &str)],
        dotenv: &str,
        f: impl FnOnce(&dyn Fn(&str) -> Option<String>, &Path) -> T,
    ) -> T {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(&path, dotenv).unwrap();
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        f(&move |k| env.get(k).cloned(), &path)
    }

    fn resolve(
        args: &ServeArgs,
        env: &[(&str, &str)],
        dotenv: &str,
    ) -> Result<Config, ConfigError> {
        with_env(env, dotenv, |env, path| Config::resolve(args, env, path))
    }

    #[test]
    fn defaults() {
        let c = resolve(&ServeArgs::default(), &[], "").unwrap();
        assert_eq!(c.listen.port(), 8081);
        assert_eq!(
            (c.profile.width, c.profile.height, c.profile.fps),
            (1280, 720, 30)
        );
        assert_eq!(c.profile.gop_frames, 60);
        assert_eq!(c.data, PathBuf::from("data"));
        assert!(c.videos.is_empty());
        assert_eq!(c.hw_accel, HwAccel::None);
    }

    #[test]
    fn flag_beats_env_beats_dotenv() {
        let args = ServeArgs {
            clip_max: Some("9".into()),
            ..Default::default()
        };
        let c = resolve(
            &args,
            &[("CLIP_MAX", "8"), ("CLIP_MIN", "3")],
            "CLIP_MAX=7\nCLIP_MIN=2\nCHUNK_DURATION=60\n",
        )
        .unwrap();
        assert_eq!(c.clip_max, 9.0);
        assert_eq!(c.clip_min, 3.0);
        assert_eq!(c.chunk_duration, 60.0);
    }

    #[test]
    fn original_names_are_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display().to_string();
        let dotenv = format!(
            "VIDEO_FOLDER={d}\nAUDIO_FOLDER={d}\nCHUNK_FOLDER={d}/chunks\nPORT=9000\nHW_ACCEL=nvidia\nMAX_CHUNKS=12\nTZ=UTC\n"
        );
        let c = resolve(&ServeArgs::default(), &[], &dotenv).unwrap();
        assert_eq!(c.videos, vec![dir.path().to_path_buf()]);
        assert_eq!(c.audio.as_deref(), Some(dir.path()));
        assert_eq!(c.data, dir.path().join("chunks"));
        assert_eq!(c.listen, "0.0.0.0:9000".parse().unwrap());
        assert_eq!(c.hw_accel, HwAccel::Nvidia);
        assert_eq!(c.max_chunks, 12);
    }

    #[test]
    fn listen_takes_addresses_and_host_names() {
        let c = resolve(
            &ServeArgs {
                listen: Some("127.0.0.1:9".into()),
                ..Default::default()
            },
            &[],
            "",
        )
        .unwrap();
        assert_eq!(c.listen, "127.0.0.1:9".parse().unwrap());
        let c = resolve(&ServeArgs::default(), &[("LISTEN", "localhost:8090")], "").unwrap();
        assert!(c.listen.ip().is_loopback() && c.listen.port() == 8090);
        let e = resolve(
            &ServeArgs {
                listen: Some("8081".into()),
                ..Default::default()
            },
            &[],
            "",
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("--listen") && e.to_string().contains("ADDR:PORT"),
            "{e}"
        );
    }

    #[test]
    fn data_dir_beats_chunk_folder() {
        let c = resolve(
            &ServeArgs::default(),
            &[("DATA_DIR", "/a")],
            "CHUNK_FOLDER=/b\n",
        )
        .unwrap();
        assert_eq!(c.data, PathBuf::from("/a"));
    }

    #[test]
    fn errors_name_the_setting() {
        let err = |args: ServeArgs, env: &[(&str, &str)]| {
            resolve(&args, env, "").unwrap_err().to_string()
        };
        assert!(err(ServeArgs::default(), &[("CLIP_MIN", "abc")]).contains("CLIP_MIN"));
        assert!(
            err(
                ServeArgs {
                    fps: Some("7".into()),
                    ..Default::default()
                },
                &[]
            )
            .contains("--fps")
        );
        assert!(err(ServeArgs::default(), &[("HW_ACCEL", "cuda")]).contains("HW_ACCEL"));
        assert!(err(ServeArgs::default(), &[("PORT", "99999")]).contains("PORT"));
        assert!(
            err(
                ServeArgs::default(),
                &[("CLIP_MIN", "8"), ("CLIP_MAX", "4")]
            )
            .contains("CLIP_MAX")
        );
        assert!(
            err(
                ServeArgs {
                    width: Some("641".into()),
                    ..Default::default()
                },
                &[]
            )
            .contains("--width")
        );
        assert!(
            err(
                ServeArgs {
                    segment_duration: Some("0.01".into()),
                    ..Default::default()
                },
                &[]
            )
            .contains("--segment-duration")
        );
        let e = err(
            ServeArgs {
                videos: vec!["/no/such/folder".into()],
                ..Default::default()
            },
            &[],
        );
        assert!(
            e.contains("--videos") && e.contains("/no/such/folder"),
            "{e}"
        );
        assert!(
            err(ServeArgs::default(), &[("AUDIO_FOLDER", "/no/such")]).contains("AUDIO_FOLDER")
        );
    }

    #[test]
    fn several_video_folders_from_env() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let v = format!("{}:{}", a.path().display(), b.path().display());
        let c = resolve(&ServeArgs::default(), &[("VIDEO_FOLDER", &v)], "").unwrap();
        assert_eq!(c.videos.len(), 2);
    }

    #[test]
    fn generation_and_look_settings() {
        let c = resolve(
            &ServeArgs::default(),
            &[],
            "READY_CHUNKS=3\nCHUNKS_PER_RUN=5\nGENERATOR_JOBS=2\nENCODE_STALL_SECS=15\nDISK_BUDGET=1.5G\nGENERATE_SCHEDULE=\"0 2 * * *\"\n\
             COLOR_GRADE=Moody\nVIDEO_WALL=yes\nWATERMARK=creator\nWATERMARK_FALLBACK=\" My channel \"\n\
             MUSIC_LOUDNESS=-23\nSEED=42\nTUBEARCHIVIST_URL=http://ta:8000/\nTUBEARCHIVIST_TOKEN=abc\n",
        )
        .unwrap();
        assert_eq!(
            (c.ready_chunks, c.chunks_per_run, c.generator_jobs),
            (3, 5, 2)
        );
        assert_eq!(c.encode_stall, Duration::from_secs(15));
        assert_eq!(c.disk_budget, Some(1_500_000_000));
        assert_eq!(c.schedule.unwrap().to_string(), "0 2 * * *");
        assert_eq!(c.look.grade, ColorGrade::Moody);
        assert!(c.look.video_wall);
        assert_eq!(c.watermark, WatermarkMode::Creator);
        assert_eq!(c.watermark_fallback.as_deref(), Some("My channel"));
        assert_eq!(c.music_lufs, -23.0);
        assert_eq!(c.seed, Some(42));
        assert_eq!(
            c.tubearchivist,
            Some(("http://ta:8000".into(), "abc".into()))
        );

        let d = resolve(&ServeArgs::default(), &[], "").unwrap();
        assert_eq!(
            (d.ready_chunks, d.chunks_per_run, d.generator_jobs),
            (2, 4, 1)
        );
        assert_eq!(d.encode_stall, Duration::from_secs(60));
        assert_eq!(d.disk_budget, None);
        assert!(d.schedule.is_none() && !d.look.video_wall && d.seed.is_none());
    }

    #[test]
    fn bad_generation_settings_name_the_setting() {
        for (dotenv, setting) in [
            ("DISK_BUDGET=lots\n", "DISK_BUDGET"),
            ("DISK_BUDGET=20Q\n", "DISK_BUDGET"),
            ("GENERATE_SCHEDULE=\"every night\"\n", "GENERATE_SCHEDULE"),
            ("COLOR_GRADE=sepia\n", "COLOR_GRADE"),
            ("VIDEO_WALL=maybe\n", "VIDEO_WALL"),
            ("WATERMARK=logo\n", "WATERMARK"),
            ("MUSIC_LOUDNESS=0\n", "MUSIC_LOUDNESS"),
            ("READY_CHUNKS=0\n", "READY_CHUNKS"),
            ("MAX_CHUNKS=3\nREADY_CHUNKS=3\n", "READY_CHUNKS"),
            ("GENERATOR_JOBS=99\n", "GENERATOR_JOBS"),
            ("ENCODE_STALL_SECS=0\n", "ENCODE_STALL_SECS"),
            ("SEED=-1\n", "SEED"),
            (
                "TUBEARCHIVIST_URL=ftp://x\nTUBEARCHIVIST_TOKEN=a\n",
                "TUBEARCHIVIST_URL",
            ),
            ("TUBEARCHIVIST_URL=http://x\n", "TUBEARCHIVIST_TOKEN"),
        ] {
            let e = resolve(&ServeArgs::default(), &[], dotenv).unwrap_err();
            assert!(e.to_string().contains(setting), "{dotenv}: {e}");
        }
    }

    fn log_settings(
        args: &ServeArgs,
        env: &[(&str, &str)],
        dotenv: &str,
    ) -> Result<LogSettings, ConfigError> {
        with_env(env, dotenv, |env, path| {
            LogSettings::resolve(args, env, path)
        })
    }

    #[test]
    fn log_format_and_filter_layer_like_the_other_settings() {
        assert_eq!(
            log_settings(&ServeArgs::default(), &[], "").unwrap(),
            LogSettings::default()
        );
        let s = log_settings(
            &ServeArgs::default(),
            &[],
            "LOG_FORMAT=JSON\nRUST_LOG=debug\n",
        )
        .unwrap();
        assert_eq!(s.format, LogFormat::Json);
        assert_eq!(s.filter.as_deref(), Some("debug"));
        let s = log_settings(
            &ServeArgs::default(),
            &[("LOG_FORMAT", "text"), ("RUST_LOG", "warn")],
            "LOG_FORMAT=json\nRUST_LOG=debug\n",
        )
        .unwrap();
        assert_eq!(s.format, LogFormat::Text, "the environment beats .env");
        assert_eq!(s.filter.as_deref(), Some("warn"));
        let args = ServeArgs {
            log_format: Some("json".into()),
            ..Default::default()
        };
        let s = log_settings(&args, &[("LOG_FORMAT", "text")], "").unwrap();
        assert_eq!(s.format, LogFormat::Json, "the flag beats the environment");

        let e = log_settings(&ServeArgs::default(), &[("LOG_FORMAT", "yaml")], "")
            .unwrap_err()
            .to_string();
        assert!(e.contains("LOG_FORMAT") && e.contains("yaml"), "{e}");
        let e = log_settings(
            &ServeArgs {
                log_format: Some("xml".into()),
                ..Default::default()
            },
            &[],
            "",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("--log-format"), "{e}");
    }

    #[test]
    fn log_settings_in_dotenv_are_known_to_the_main_settings() {
        // They are read by LogSettings, but Config reads the same .env and must
        // neither reject nor complain about them.
        let c = resolve(
            &ServeArgs::default(),
            &[],
            "LOG_FORMAT=json\nRUST_LOG=info\n",
        );
        assert!(c.is_ok());
        assert!(KNOWN.contains(&"LOG_FORMAT") && KNOWN.contains(&"RUST_LOG"));
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("500M").unwrap(), Some(500_000_000));
        assert_eq!(parse_size("2gib").unwrap(), Some(2 * 1024 * 1024 * 1024));
        assert_eq!(parse_size("none").unwrap(), None);
        assert_eq!(parse_size("0").unwrap(), None);
        assert!(parse_size("12").is_err(), "too small to be meant");
    }
}
