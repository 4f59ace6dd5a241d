//! Every setting, declared once.
//!
//! The [`declare!`] table below gives each setting its name, variables (the
//! original tool's names kept), flag, type, default, bounds, section (and so its
//! scope: server-wide or per channel), when a change applies, and its help. Everything
//! else is derived from it:
//!
//! - the typed [`Config`] (one struct per section) and its defaults;
//! - the command line (`config::ServeArgs`, flags and help) and the layering of
//!   flags > environment > `.env` > default, with errors naming the setting as the
//!   user wrote it (`config`);
//! - one set of validation rules ([`validate`]);
//! - the settings API: the editable settings as JSON ([`view`]), a request body
//!   ([`Patch`]), a JSON schema ([`schema`]) from which the web client renders its form;
//! - the overrides saved through the API ([`stored`], versioned field by field);
//! - `.env.example`, the README's settings table and the compose file's environment
//!   ([`docs`]; a test fails when they are stale).

pub mod cron;
pub mod docs;
pub mod kinds;
pub mod stored;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value as Json, json};

pub use kinds::{Bytes, Kind, LogFormat, Slug};
pub use stored::{Loaded, Stored, StoredForm, load, save, saved};

use crate::settings::cron::CronSchedule;
use crate::transcode::WatermarkMode;
use crate::transcode::{ColorGrade, DEFAULT_MUSIC_LUFS, HwAccel, Look, OutputProfile};

/// Which part of the configuration a setting belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    /// The process: folders, listening, jobs, logs, integrations.
    Server,
    /// The output profile every clip of every channel is encoded to.
    Output,
    /// What a channel airs and how: sources, music, clip lengths, chunks, look.
    /// Per channel; these are the defaults of every channel.
    Channel,
    /// Tokens.
    Security,
}

impl Section {
    /// `server` or `channel`: whether the setting can differ between channels.
    pub fn scope(self) -> &'static str {
        match self {
            Section::Channel => "channel",
            _ => "server",
        }
    }
}

/// When a changed setting takes effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Apply {
    /// Editable through the API; applies to the next clip or chunk.
    Live,
    /// Editable through the API; applies at the next start.
    Restart,
    /// Set by flag, environment or `.env` only.
    Start,
}

impl Apply {
    /// Whether the API may change it.
    pub fn editable(self) -> bool {
        self != Apply::Start
    }

    fn name(self) -> &'static str {
        match self {
            Apply::Live => "live",
            Apply::Restart => "restart",
            Apply::Start => "start",
        }
    }
}

/// What is wrong with a value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// Out of range or malformed, with why in words.
    Reason(String),
    /// A folder setting names something that is not a folder.
    MissingFolder(PathBuf),
}

impl From<String> for Problem {
    fn from(s: String) -> Self {
        Problem::Reason(s)
    }
}

/// A rule beyond the bounds of one setting, which may look at others.
pub type Rule = fn(&Config) -> Result<(), Problem>;

/// The declared facts of a setting other than its name, type and default; the
/// table gives the ones that differ from [`Meta::BASE`].
#[derive(Clone, Copy, Debug)]
pub struct Meta {
    /// Environment variables, in order of precedence (the first is the one to use).
    pub env: &'static [&'static str],
    /// The long flag, without `--`; none for a setting read from the environment only.
    pub flag: Option<&'static str>,
    /// The placeholder of the flag's value in `--help`.
    pub value_name: &'static str,
    /// When a change applies.
    pub apply: Apply,
    /// Short label of the web form (editable settings).
    pub label: &'static str,
    /// Group of the web form and of `.env.example`.
    pub group: &'static str,
    /// Smallest value (numbers).
    pub min: Option<f64>,
    /// Largest value (numbers).
    pub max: Option<f64>,
    /// Values must be a multiple of this (numbers).
    pub multiple: Option<f64>,
    /// Step of the web form's number field.
    pub step: Option<f64>,
    /// Unit, in words, as messages say it (`seconds`).
    pub unit: &'static str,
    /// An example value for `.env.example`, where the default is nothing.
    pub example: Option<&'static str>,
    /// How the default reads where it is not a value (`demo library`).
    pub default_text: Option<&'static str>,
    /// Never shown: values are hidden in errors and never on the wire.
    pub secret: bool,
    /// A rule beyond the bounds, which may look at other settings.
    pub check: Option<Rule>,
}

impl Meta {
    /// What a declaration does not say.
    pub const BASE: Meta = Meta {
        env: &[],
        flag: None,
        value_name: "VALUE",
        apply: Apply::Start,
        label: "",
        group: "",
        min: None,
        max: None,
        multiple: None,
        step: None,
        unit: "",
        example: None,
        default_text: None,
        secret: false,
        check: None,
    };
}

/// What the table derives for each setting from its type.
#[derive(Clone, Copy)]
pub struct Ops {
    /// The default, as text.
    pub default_text: fn() -> String,
    /// The JSON schema of the type.
    pub schema: fn() -> Json,
    /// Read from several values (a repeated flag).
    pub list: bool,
    /// A number.
    pub number: bool,
    /// Sets the value from a variable's text.
    pub parse: fn(&mut Config, &str) -> Result<(), String>,
    /// Sets the value from a flag's values.
    pub parse_flags: fn(&mut Config, &[String]) -> Result<(), String>,
    /// The value on the wire.
    pub get: fn(&Config) -> Json,
    /// Sets the value from the wire.
    pub set: fn(&mut Config, &Json) -> Result<(), String>,
    /// The value as a number, for bounds.
    pub value: fn(&Config) -> Option<f64>,
    /// The value as text (for messages).
    pub text: fn(&Config) -> String,
}

/// One setting's declaration.
#[derive(Clone, Copy)]
pub struct Spec {
    /// The name on the wire, in stored overrides and in channel files (`clip_min`).
    pub key: &'static str,
    /// The section, hence the scope.
    pub section: Section,
    /// One line of help.
    pub help: &'static str,
    /// Everything else declared.
    pub meta: Meta,
    /// What its type gives.
    pub ops: Ops,
}

impl std::fmt::Debug for Spec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.key)
    }
}

impl Spec {
    /// The variable a user sets it with.
    pub fn var(&self) -> &'static str {
        self.meta.env.first().copied().unwrap_or(self.key)
    }

    /// The default as a reader sees it.
    pub fn default_display(&self) -> String {
        match self.meta.default_text {
            Some(t) => t.to_string(),
            None => Some((self.ops.default_text)())
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| "none".into()),
        }
    }

    /// Checks the bounds and the rule of this setting in `c`.
    pub fn check(&self, c: &Config) -> Result<(), Problem> {
        let m = &self.meta;
        if let Some(v) = (self.ops.value)(c) {
            let in_range = m.min.is_none_or(|min| v >= min) && m.max.is_none_or(|max| v <= max);
            let multiple = m.multiple.is_none_or(|k| (v / k).fract() == 0.0);
            if !(in_range && multiple) {
                return Err(Problem::Reason(self.bounds_text()));
            }
        }
        match m.check {
            Some(rule) => rule(c),
            None => Ok(()),
        }
    }

    /// The bounds in words: "must be between 1 and 16", "must be at least 0.5 seconds".
    fn bounds_text(&self) -> String {
        let m = &self.meta;
        let unit = if m.unit.is_empty() {
            String::new()
        } else {
            format!(" {}", m.unit)
        };
        let range = match (m.min, m.max) {
            (Some(a), Some(b)) => format!("between {a} and {b}{unit}"),
            (Some(a), None) => format!("at least {a}{unit}"),
            (None, Some(b)) => format!("at most {b}{unit}"),
            (None, None) => String::new(),
        };
        match m.multiple {
            Some(2.0) => format!("must be an even number {range}"),
            Some(k) => format!("must be a multiple of {k} {range}"),
            None => format!("must be {range}"),
        }
    }
}

/// Declares every setting: the section structs, [`Config`] and [`SPECS`].
macro_rules! declare {
    ($(
        $(#[doc = $sdoc:literal])*
        $Section:ident $section:ident ($Kind:ident) {
            $(
                $field:ident : $ty:ty = $default:expr, $help:literal
                { $($key:ident : $val:expr),* $(,)? }
            )*
        }
    )*) => {
        $(
            $(#[doc = $sdoc])*
            #[derive(Clone, Debug)]
            pub struct $Section {
                $( #[doc = $help] pub $field: $ty, )*
            }

            impl Default for $Section {
                fn default() -> Self {
                    Self { $( $field: $default, )* }
                }
            }
        )*

        /// Every setting, resolved and validated, in typed sections.
        #[derive(Clone, Debug, Default)]
        pub struct Config {
            $( $(#[doc = $sdoc])* pub $section: $Section, )*
        }

        /// Every setting's declaration, in the order of the table.
        pub static SPECS: &[Spec] = &[$($(
            Spec {
                key: stringify!($field),
                section: Section::$Kind,
                help: $help,
                meta: Meta { $($key: $val,)* ..Meta::BASE },
                ops: Ops {
                    default_text: || <$ty as Kind>::text(&$default),
                    schema: <$ty as Kind>::schema,
                    list: <$ty as Kind>::LIST,
                    number: <$ty as Kind>::NUMBER,
                    parse: |c, t| { c.$section.$field = <$ty as Kind>::parse(t)?; Ok(()) },
                    parse_flags: |c, t| { c.$section.$field = <$ty as Kind>::parse_all(t)?; Ok(()) },
                    get: |c| <$ty as Kind>::to_json(&c.$section.$field),
                    set: |c, v| { c.$section.$field = <$ty as Kind>::from_json(v)?; Ok(()) },
                    value: |c| <$ty as Kind>::number(&c.$section.$field),
                    text: |c| <$ty as Kind>::text(&c.$section.$field),
                },
            },
        )*)*];
    };
}

const CLIPS: &str = "Clips and chunks";
const LOOK: &str = "Look";
const OUTPUT: &str = "Output and encoding";
const SOURCES: &str = "Sources and music";
const SERVER: &str = "Server";
const API: &str = "Access and integrations";
const TUNER: &str = "Live TV tuner (Plex, Jellyfin, Emby)";
const GUIDE: &str = "Programme guide";
/// The groups in the order a form shows them.
const GROUPS: &[&str] = &[SOURCES, CLIPS, LOOK, GUIDE, OUTPUT, SERVER, TUNER, API];

fn group_rank(s: &Spec) -> usize {
    GROUPS
        .iter()
        .position(|g| *g == s.meta.group)
        .unwrap_or(GROUPS.len())
}

declare! {
    /// The process: where it keeps its state, where it listens, how it runs jobs.
    Server server (Server) {
        data: PathBuf = PathBuf::from("data"),
            "Data folder: clips, music cache, segments, state"
            { env: &["DATA_DIR", "CHUNK_FOLDER"], flag: Some("data"), value_name: "DIR", group: SERVER }
        channels_file: Option<PathBuf> = None,
            "Channels file: a TOML list of [[channel]] tables (slug, name, number, videos, ...); none: one channel from the settings below, plus those made in the web UI"
            { env: &["CHANNELS_FILE"], flag: Some("channels"), value_name: "FILE", group: SERVER }
        default_channel: Option<String> = None,
            "The channel at /hls/stream.m3u8 and for API calls without ?channel=; none: the first channel of the channels file, else the classic channel"
            { env: &["DEFAULT_CHANNEL"], flag: Some("default-channel"), value_name: "SLUG", group: SERVER,
              check: Some(default_channel) }
        listen: Option<std::net::SocketAddr> = None,
            "Address to listen on, ADDR:PORT (host names too); unset: all interfaces on PORT"
            { env: &["LISTEN"], flag: Some("listen"), value_name: "ADDR:PORT", group: SERVER,
              default_text: Some("0.0.0.0:PORT"), example: Some("127.0.0.1:8081") }
        port: u16 = 8081,
            "HTTP port on all interfaces, when LISTEN is unset"
            { env: &["PORT"], flag: Some("port"), value_name: "PORT", group: SERVER }
        playlist_segments: usize = 10,
            "Segments listed in the live playlist"
            { env: &["PLAYLIST_SEGMENTS"], flag: Some("playlist-segments"), value_name: "N",
              group: SERVER, min: Some(3.0), max: Some(1000.0) }
        generator_jobs: usize = 1,
            "Chunks built at the same time"
            { env: &["GENERATOR_JOBS"], flag: Some("generator-jobs"), value_name: "N", group: OUTPUT,
              apply: Apply::Restart, label: "Parallel jobs", min: Some(1.0), max: Some(16.0), step: Some(1.0) }
        total_disk_budget: Option<Bytes> = None,
            "Most disk space for the chunks of every channel together, e.g. 100G (bytes in the form and the API, where 0 is no limit); the chunk aired longest ago, on any channel, goes first"
            { env: &["TOTAL_DISK_BUDGET"], flag: Some("total-disk-budget"), value_name: "SIZE", group: CLIPS,
              apply: Apply::Live, label: "Disk budget, all channels (bytes)", step: Some(1.0),
              default_text: Some("no limit"), example: Some("100G") }
        encode_stall_secs: u64 = 60,
            "An encode that writes no new frame for this long (a hung ffmpeg, a share that stopped answering) is killed and counts as a failure of its source"
            { env: &["ENCODE_STALL_SECS"], flag: Some("encode-stall-secs"), value_name: "SECS", group: SERVER,
              min: Some(1.0), max: Some(3600.0), unit: "seconds" }
        seed: Option<u64> = None,
            "Seed of the clip choices, for reproducible runs"
            { env: &["SEED"], flag: Some("seed"), value_name: "N", group: SERVER,
              default_text: Some("random"), example: Some("42") }
        tuner_count: usize = 8,
            "Continuous MPEG-TS streams (/stream/SLUG.ts, what Plex, Jellyfin and Emby tune) open at once; the HDHomeRun tuner count they are told; one more gets a 503"
            { env: &["TUNER_COUNT"], flag: Some("tuner-count"), value_name: "N", group: TUNER,
              min: Some(1.0), max: Some(100000.0) }
        guide_hours: u32 = 48,
            "Hours of programmes the guide lists ahead (XMLTV, /api/guide); once listed, a programme's start and stop never change"
            { env: &["GUIDE_HOURS"], flag: Some("guide-hours"), value_name: "HOURS", group: GUIDE,
              apply: Apply::Live, label: "Guide hours ahead", min: Some(1.0), max: Some(336.0), step: Some(1.0),
              unit: "hours" }
        discovery: bool = true,
            "Answer HDHomeRun discovery (UDP port 65001), so Plex, Jellyfin, Emby and hdhomerun_config find the tuner without a typed address"
            { env: &["DISCOVERY"], flag: Some("discovery"), value_name: "BOOL", group: TUNER }
        base_url: Option<String> = None,
            "The address clients reach this server at, as the tuner advertises it (http://host:port, behind a proxy its public URL); unset: the address each request came in on"
            { env: &["BASE_URL"], flag: Some("base-url"), value_name: "URL", group: TUNER,
              default_text: Some("the address asked"), example: Some("http://192.168.1.20:8081"),
              check: Some(base_url) }
        tubearchivist_url: Option<String> = None,
            "TubeArchivist base URL, for titles and creators (the video id is read from file names)"
            { env: &["TUBEARCHIVIST_URL"], flag: Some("tubearchivist-url"), value_name: "URL", group: API,
              example: Some("http://tubearchivist:8000"), check: Some(tubearchivist) }
        tubearchivist_token: Option<String> = None,
            "TubeArchivist API token (TubeArchivist: Settings > API token)"
            { env: &["TUBEARCHIVIST_TOKEN"], flag: Some("tubearchivist-token"), value_name: "TOKEN",
              group: API, secret: true }
        web_dir: PathBuf = PathBuf::from("web/dist"),
            "The built web client, served at / if the folder holds an index.html"
            { env: &["WEB_DIR"], flag: Some("web-dir"), value_name: "DIR", group: SERVER }
        log_format: LogFormat = LogFormat::Text,
            "Log lines as text (coloured on a terminal) or json (one object a line, for a log collector)"
            { env: &["LOG_FORMAT"], flag: Some("log-format"), value_name: "FORMAT", group: SERVER }
        rust_log: Option<String> = None,
            "What is logged: a level (error, warn, info, debug, trace) or per-module filters"
            { env: &["RUST_LOG"], group: SERVER, default_text: Some("info,tower_http=warn"),
              example: Some("info,tower_http=warn") }
    }

    /// The output profile: what every clip is encoded to, so that any two splice.
    Output output (Output) {
        hw_accel: HwAccel = HwAccel::None,
            "Encoder: none (libx264), nvidia, vaapi, qsv or auto; a GPU that fails its test encode falls back to libx264 with a warning"
            { env: &["HW_ACCEL"], flag: Some("hw-accel"), value_name: "KIND", group: OUTPUT,
              apply: Apply::Restart, label: "Encoder" }
        width: u32 = 1280,
            "Output width in pixels (chunks of another size are remade)"
            { env: &["WIDTH"], flag: Some("width"), value_name: "PX", group: OUTPUT, apply: Apply::Restart,
              label: "Width (px)", min: Some(16.0), max: Some(7680.0), multiple: Some(2.0), step: Some(2.0), unit: "pixels" }
        height: u32 = 720,
            "Output height in pixels"
            { env: &["HEIGHT"], flag: Some("height"), value_name: "PX", group: OUTPUT, apply: Apply::Restart,
              label: "Height (px)", min: Some(16.0), max: Some(4320.0), multiple: Some(2.0), step: Some(2.0), unit: "pixels" }
        segment_duration: f64 = 2.0,
            "HLS segment duration in seconds, also the GOP length"
            { env: &["SEGMENT_DURATION"], flag: Some("segment-duration"), value_name: "SECS", group: OUTPUT,
              min: Some(0.5), max: Some(20.0), unit: "seconds", check: Some(segment_duration) }
        fps: u32 = 30,
            "Output frame rate, a divisor of 90000 (24, 25, 30, 50, 60...)"
            { env: &["FPS"], flag: Some("fps"), value_name: "FPS", group: OUTPUT, apply: Apply::Restart,
              label: "Frame rate", min: Some(1.0), max: Some(120.0), step: Some(1.0), check: Some(fps) }
        video_bitrate: u32 = 3000,
            "Video bitrate cap in kb/s"
            { env: &["VIDEO_BITRATE"], flag: Some("video-bitrate"), value_name: "KBPS", group: OUTPUT,
              apply: Apply::Restart, label: "Video bitrate (kb/s)", min: Some(100.0), max: Some(100000.0),
              step: Some(100.0), unit: "kb/s" }
    }

    /// What a channel airs and how; the defaults of every channel.
    Channel channel (Channel) {
        channel_name: String = "shufflecast".to_string(),
            "The channel's name in the IPTV playlist and guide; its id there (tvg-id, XMLTV channel id) is the name slugified plus .local"
            { env: &["CHANNEL_NAME"], flag: Some("channel-name"), value_name: "NAME", group: SOURCES,
              check: Some(channel_name) }
        programme_minutes: u32 = 30,
            "Length of a programme in the guide, minutes, a divisor of a day: programmes start on its multiples in local time (30: at :00 and :30); a change applies after the programmes already listed"
            { env: &["PROGRAMME_MINUTES"], flag: Some("programme-minutes"), value_name: "MINUTES", group: GUIDE,
              apply: Apply::Live, label: "Programme length (min)", min: Some(5.0), max: Some(1440.0), step: Some(5.0),
              unit: "minutes", check: Some(programme_minutes) }
        programme_title: Option<String> = None,
            "Title of the programmes too far ahead for their clips to be made yet; none: the channel's name"
            { env: &["PROGRAMME_TITLE"], flag: Some("programme-title"), value_name: "TEXT", group: GUIDE,
              apply: Apply::Live, label: "Programme title", default_text: Some("the channel's name"),
              example: Some("\"Late night mix\""), check: Some(programme_title) }
        programme_description: Option<String> = None,
            "Description of those programmes; none: a sentence naming what the channel airs (its folders, creators or globs)"
            { env: &["PROGRAMME_DESCRIPTION"], flag: Some("programme-description"), value_name: "TEXT", group: GUIDE,
              apply: Apply::Live, label: "Programme description", default_text: Some("what the channel airs"),
              check: Some(programme_description) }
        videos: Vec<PathBuf> = Vec::new(),
            "Folders of source videos (the flag is repeatable; VIDEO_FOLDER joins several with ':'); none: a demo library is generated"
            { env: &["VIDEO_FOLDER"], flag: Some("videos"), value_name: "DIR", group: SOURCES,
              default_text: Some("demo library"), example: Some("/srv/videos"), check: Some(videos) }
        audio: Option<PathBuf> = None,
            "Folder of music tracks for the background music (mp3 m4a aac flac ogg opus wav); none: silence"
            { env: &["AUDIO_FOLDER"], flag: Some("audio"), value_name: "DIR", group: SOURCES,
              default_text: Some("none (silence)"), example: Some("/srv/music"), check: Some(audio) }
        delete_audio_files: bool = false,
            "Let POST /api/delete_audio delete the track's file too (when the music folder is writable); off: the track only leaves the rotation, its file is kept"
            { env: &["DELETE_AUDIO_FILES"], flag: Some("delete-audio-files"), value_name: "BOOL", group: SOURCES,
              apply: Apply::Live, label: "Delete removed tracks' files" }
        clip_min: f64 = 6.0,
            "Shortest clip, in seconds (clips are cut at random lengths between the two)"
            { env: &["CLIP_MIN"], flag: Some("clip-min"), value_name: "SECS", group: CLIPS, apply: Apply::Live,
              label: "Shortest clip (s)", min: Some(0.5), step: Some(0.5), unit: "seconds" }
        clip_max: f64 = 6.0,
            "Longest clip, in seconds"
            { env: &["CLIP_MAX"], flag: Some("clip-max"), value_name: "SECS", group: CLIPS, apply: Apply::Live,
              label: "Longest clip (s)", max: Some(3600.0), step: Some(0.5), unit: "seconds", check: Some(clip_max) }
        chunk_duration: f64 = 300.0,
            "Length of a chunk (a montage of clips from different videos), in seconds"
            { env: &["CHUNK_DURATION"], flag: Some("chunk-duration"), value_name: "SECS", group: CLIPS,
              apply: Apply::Live, label: "Chunk length (s)", min: Some(1.0), max: Some(86400.0), step: Some(1.0),
              unit: "seconds" }
        max_chunks: usize = 56,
            "Most chunks kept on disk; the least recently aired are deleted beyond it"
            { env: &["MAX_CHUNKS"], flag: Some("max-chunks"), value_name: "N", group: CLIPS, apply: Apply::Live,
              label: "Chunks kept", min: Some(1.0), max: Some(100000.0), step: Some(1.0) }
        ready_chunks: usize = 2,
            "Never-aired chunks kept ready at all times"
            { env: &["READY_CHUNKS"], flag: Some("ready-chunks"), value_name: "N", group: CLIPS, apply: Apply::Live,
              label: "Chunks kept ready", min: Some(1.0), step: Some(1.0), check: Some(ready_chunks) }
        chunks_per_run: usize = 4,
            "Chunks made per generation run, scheduled or asked for"
            { env: &["CHUNKS_PER_RUN"], flag: Some("chunks-per-run"), value_name: "N", group: CLIPS,
              apply: Apply::Live, label: "Chunks per run", min: Some(1.0), max: Some(1000.0), step: Some(1.0) }
        disk_budget: Option<Bytes> = None,
            "Most disk space for a channel's chunks, e.g. 500M or 20G (bytes in the form and the API, where 0 is no limit); the least recently aired go first"
            { env: &["DISK_BUDGET"], flag: Some("disk-budget"), value_name: "SIZE", group: CLIPS,
              apply: Apply::Live, label: "Disk budget (bytes)", step: Some(1.0), default_text: Some("no limit"),
              example: Some("20G") }
        schedule: Option<CronSchedule> = None,
            "Extra generation runs on a cron schedule, local time (\"0 2 * * *\": 2 am); the ready target applies at all times"
            { env: &["GENERATE_SCHEDULE"], flag: Some("schedule"), value_name: "CRON", group: CLIPS,
              apply: Apply::Live, label: "Schedule (cron)", default_text: Some("none"), example: Some("\"0 2 * * *\"") }
        color_grade: ColorGrade = ColorGrade::None,
            "Colour grade: none, moody (the original's look), warm, cool or mono"
            { env: &["COLOR_GRADE"], flag: Some("color-grade"), value_name: "PRESET", group: LOOK,
              apply: Apply::Live, label: "Colour grade" }
        video_wall: bool = false,
            "Three panels side by side, from the same source at three moments"
            { env: &["VIDEO_WALL"], flag: Some("video-wall"), value_name: "BOOL", group: LOOK,
              apply: Apply::Live, label: "Video wall" }
        watermark: WatermarkMode = WatermarkMode::None,
            "Text burned into clips: none, creator or title"
            { env: &["WATERMARK"], flag: Some("watermark"), value_name: "WHAT", group: LOOK,
              apply: Apply::Live, label: "Watermark" }
        watermark_fallback: Option<String> = None,
            "Watermark text for sources whose creator is unknown; none: the title"
            { env: &["WATERMARK_FALLBACK"], flag: Some("watermark-fallback"), value_name: "TEXT", group: LOOK,
              apply: Apply::Live, label: "Watermark fallback", default_text: Some("the title"),
              example: Some("\"My channel\""), check: Some(watermark_fallback) }
        music_loudness: f64 = DEFAULT_MUSIC_LUFS,
            "Music loudness target, LUFS (EBU R128 integrated); tracks are re-encoded to it"
            { env: &["MUSIC_LOUDNESS"], flag: Some("music-loudness"), value_name: "LUFS", group: OUTPUT,
              apply: Apply::Restart, label: "Music loudness (LUFS)", min: Some(-40.0), max: Some(-5.0),
              step: Some(1.0), unit: "LUFS" }
    }

    /// Who may watch and who may change things.
    Security security (Security) {
        admin_token: Option<String> = None,
            "Token required by every mutating API route (8+ characters); unset: generated once and kept in DATA/admin-token"
            { env: &["ADMIN_TOKEN"], flag: Some("admin-token"), value_name: "TOKEN", group: API,
              secret: true, default_text: Some("generated"), check: Some(admin_token) }
        viewer_token: Option<String> = None,
            "Token required to watch and read status (8+ characters); unset: open"
            { env: &["VIEWER_TOKEN"], flag: Some("viewer-token"), value_name: "TOKEN", group: API,
              secret: true, default_text: Some("none (open)"), check: Some(viewer_token) }
    }
}

// The rules beyond bounds. Each names the other setting it depends on, as the
// API names it.

fn folder(p: &Path) -> Result<(), Problem> {
    if p.is_dir() {
        Ok(())
    } else {
        Err(Problem::MissingFolder(p.to_path_buf()))
    }
}

fn videos(c: &Config) -> Result<(), Problem> {
    c.channel.videos.iter().try_for_each(|p| folder(p))
}

fn audio(c: &Config) -> Result<(), Problem> {
    c.channel.audio.as_deref().map_or(Ok(()), folder)
}

fn clip_max(c: &Config) -> Result<(), Problem> {
    let ch = &c.channel;
    if ch.clip_max < ch.clip_min {
        return Err(format!("must not be below clip_min ({})", ch.clip_min).into());
    }
    Ok(())
}

fn ready_chunks(c: &Config) -> Result<(), Problem> {
    let ch = &c.channel;
    if ch.ready_chunks >= ch.max_chunks.max(2) {
        return Err(format!("must be below max_chunks ({})", ch.max_chunks).into());
    }
    Ok(())
}

fn whole_frames(segment: f64, fps: u32) -> bool {
    let gop = segment * fps as f64;
    (gop - gop.round()).abs() < 1e-9
}

fn fps(c: &Config) -> Result<(), Problem> {
    let o = &c.output;
    if !(90_000u32.is_multiple_of(o.fps) && whole_frames(o.segment_duration, o.fps)) {
        return Err(format!(
            "must divide 90000 and make whole-frame segments of {} s (24, 25, 30, 50, 60)",
            o.segment_duration
        )
        .into());
    }
    Ok(())
}

fn segment_duration(c: &Config) -> Result<(), Problem> {
    let o = &c.output;
    if !whole_frames(o.segment_duration, o.fps) {
        return Err(format!("must be a whole number of frames at {} fps", o.fps).into());
    }
    Ok(())
}

fn channel_name(c: &Config) -> Result<(), Problem> {
    if c.channel.channel_name.is_empty() || c.channel.channel_name.chars().count() > 200 {
        return Err(String::from("must be 1 to 200 characters").into());
    }
    Ok(())
}

fn programme_minutes(c: &Config) -> Result<(), Problem> {
    if !1440u32.is_multiple_of(c.channel.programme_minutes.max(1)) {
        return Err(String::from(
            "must divide a day of 1440 minutes (e.g. 15, 30, 60, 120 or 1440)",
        )
        .into());
    }
    Ok(())
}

fn text_of_at_most(t: &Option<String>, most: usize) -> Result<(), Problem> {
    match t {
        Some(t) if t.trim().is_empty() || t.chars().count() > most => {
            Err(format!("must be 1 to {most} characters").into())
        }
        _ => Ok(()),
    }
}

fn programme_title(c: &Config) -> Result<(), Problem> {
    text_of_at_most(&c.channel.programme_title, 200)
}

fn programme_description(c: &Config) -> Result<(), Problem> {
    text_of_at_most(&c.channel.programme_description, 2000)
}

fn watermark_fallback(c: &Config) -> Result<(), Problem> {
    match &c.channel.watermark_fallback {
        Some(t) if t.chars().count() > 200 => {
            Err(String::from("must be at most 200 characters").into())
        }
        _ => Ok(()),
    }
}

fn default_channel(c: &Config) -> Result<(), Problem> {
    match &c.server.default_channel {
        Some(slug) => kinds::Slug::new(slug).map(drop).map_err(Problem::Reason),
        None => Ok(()),
    }
}

fn tubearchivist(c: &Config) -> Result<(), Problem> {
    let Some(url) = &c.server.tubearchivist_url else {
        return Ok(());
    };
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(String::from("must be an http:// or https:// URL").into());
    }
    if c.server.tubearchivist_token.is_none() {
        return Err(String::from(
            "needs TUBEARCHIVIST_TOKEN too (TubeArchivist: Settings > API token)",
        )
        .into());
    }
    Ok(())
}

fn base_url(c: &Config) -> Result<(), Problem> {
    let Some(url) = &c.server.base_url else {
        return Ok(());
    };
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    match rest {
        Some(r) if !r.is_empty() && !r.contains(char::is_whitespace) && !r.contains(['?', '#']) => {
            Ok(())
        }
        _ => Err(String::from(
            "must be an http:// or https:// URL without a query, e.g. http://192.168.1.20:8081",
        )
        .into()),
    }
}

fn token(t: &Option<String>) -> Result<(), Problem> {
    match t {
        Some(v) if v.len() < 8 || v.chars().any(|c| c.is_whitespace() || c.is_control()) => {
            Err(String::from("must be at least 8 characters, without spaces").into())
        }
        _ => Ok(()),
    }
}

fn admin_token(c: &Config) -> Result<(), Problem> {
    token(&c.security.admin_token)
}

fn viewer_token(c: &Config) -> Result<(), Problem> {
    token(&c.security.viewer_token)
}

// What the rest of the program reads, derived from the settings.

impl Server {
    /// The address to listen on.
    pub fn listen_addr(&self) -> std::net::SocketAddr {
        self.listen
            .unwrap_or_else(|| std::net::SocketAddr::from(([0, 0, 0, 0], self.port)))
    }

    /// How long an encode may go without writing a frame.
    pub fn encode_stall(&self) -> Duration {
        Duration::from_secs(self.encode_stall_secs)
    }

    /// BASE_URL without a trailing slash, if set.
    pub fn advertised_url(&self) -> Option<&str> {
        self.base_url.as_deref().map(|u| u.trim_end_matches('/'))
    }

    /// TubeArchivist's base URL (without a trailing slash) and token, if set.
    pub fn tubearchivist(&self) -> Option<(String, String)> {
        let url = self.tubearchivist_url.as_ref()?;
        let token = self.tubearchivist_token.clone()?;
        Some((url.trim_end_matches('/').to_string(), token))
    }
}

impl Output {
    /// What every clip is encoded to.
    pub fn profile(&self) -> OutputProfile {
        OutputProfile {
            width: self.width,
            height: self.height,
            fps: self.fps,
            gop_frames: (self.segment_duration * self.fps as f64).round() as u32,
            video_kbps: self.video_bitrate,
        }
    }
}

impl Channel {
    /// Colour grade and video wall.
    pub fn look(&self) -> Look {
        Look {
            grade: self.color_grade,
            video_wall: self.video_wall,
        }
    }

    /// Most bytes of chunks, if limited.
    pub fn disk_budget_bytes(&self) -> Option<u64> {
        self.disk_budget.map(|b| b.0)
    }
}

/// A value the API or a stored override refused: the setting and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{reason}", field.map(|f| format!("{f}: ")).unwrap_or_default())]
pub struct Invalid {
    /// The setting, as the API names it; none for a name that is no setting.
    pub field: Option<&'static str>,
    /// Why, in words.
    pub reason: String,
}

/// Which settings a validation covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every setting (at start).
    All,
    /// What the API may change (folders vanished since the start do not block a
    /// change of clip length).
    Editable,
}

/// Checks the settings in the table's order; the first one wrong is named.
pub fn validate(c: &Config, scope: Scope) -> Result<(), (&'static Spec, Problem)> {
    SPECS
        .iter()
        .filter(|s| scope == Scope::All || s.meta.apply.editable())
        .try_for_each(|s| s.check(c).map_err(|p| (s, p)))
}

/// The declaration of the setting the API calls `key`.
pub fn spec(key: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.key == key)
}

/// The settings the API may change, with their values: the body of
/// `GET /api/settings`. Its schema is [`schema`]'s.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(transparent)]
pub struct Settings(pub serde_json::Map<String, Json>);

/// The settings the API may change, with their values in `c`.
pub fn view(c: &Config) -> Settings {
    Settings(
        SPECS
            .iter()
            .filter(|s| s.meta.apply.editable())
            .map(|s| (s.key.to_string(), (s.ops.get)(c)))
            .collect(),
    )
}

/// [`schema`] as an OpenAPI schema; every field required (a response) or none (a
/// patch).
fn openapi_schema(all_required: bool) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    let mut s = schema();
    let o = s.as_object_mut().expect("an object");
    o.remove("$schema");
    if all_required {
        let keys = o["x-order"].clone();
        o.insert("required".into(), keys);
    } else {
        o.insert("title".into(), json!("SettingsPatch"));
    }
    serde_json::from_value(s).expect("the settings schema is an OpenAPI schema")
}

impl utoipa::PartialSchema for Settings {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        openapi_schema(true)
    }
}

impl utoipa::ToSchema for Settings {
    fn name() -> std::borrow::Cow<'static, str> {
        "Settings".into()
    }
}

impl utoipa::PartialSchema for Patch {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        openapi_schema(false)
    }
}

impl utoipa::ToSchema for Patch {
    fn name() -> std::borrow::Cow<'static, str> {
        "SettingsPatch".into()
    }
}

/// The editable settings applied at the next start only.
pub fn restart_fields() -> Vec<&'static str> {
    SPECS
        .iter()
        .filter(|s| s.meta.apply == Apply::Restart)
        .map(|s| s.key)
        .collect()
}

/// A change of editable settings: any subset, each value already known to parse.
/// Unknown names and values of the wrong type are refused when it is read.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Patch(serde_json::Map<String, Json>);

impl Patch {
    /// Reads a change, naming the first unknown or malformed field.
    pub fn from_map(map: serde_json::Map<String, Json>) -> Result<Patch, Invalid> {
        Patch::read(map, |s| s.meta.apply.editable())
    }

    /// Reads a channel's settings: any setting of the [`Section::Channel`] section,
    /// whatever its [`Apply`] (a channel's own folders are part of what defines it,
    /// though the settings API cannot change the server-wide ones). Names the first
    /// unknown or malformed field.
    pub fn channel_from_map(map: serde_json::Map<String, Json>) -> Result<Patch, Invalid> {
        Patch::read(map, |s| s.section == Section::Channel)
    }

    /// Reads the settings `accept` lets through, each with its type's parser.
    fn read(
        map: serde_json::Map<String, Json>,
        accept: impl Fn(&Spec) -> bool,
    ) -> Result<Patch, Invalid> {
        let mut out = serde_json::Map::new();
        for (k, v) in map {
            let spec = spec(&k).filter(|s| accept(s)).ok_or_else(|| Invalid {
                field: None,
                reason: format!("unknown setting `{k}`"),
            })?;
            let mut c = Config::default();
            (spec.ops.set)(&mut c, &v).map_err(|reason| Invalid {
                field: Some(spec.key),
                reason,
            })?;
            // Kept as the type writes it (3 as 3.0, text trimmed), so that two
            // patches that mean the same compare equal.
            out.insert(k, (spec.ops.get)(&c));
        }
        Ok(Patch(out))
    }

    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The fields and values, as JSON.
    pub fn values(&self) -> &serde_json::Map<String, Json> {
        &self.0
    }

    /// The fields it sets, in order.
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(|k| k.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Patch {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = serde_json::Map::deserialize(d)?;
        Patch::from_map(map).map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for Patch {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl Config {
    /// These settings with `p` laid over them (not validated: see [`validate`]).
    pub fn with(&self, p: &Patch) -> Config {
        let mut c = self.clone();
        for (k, v) in &p.0 {
            if let Some(s) = spec(k) {
                // Checked when the patch was read.
                let _ = (s.ops.set)(&mut c, v);
            }
        }
        c
    }

    /// The editable settings whose value differs between `self` and `other`.
    pub fn differences(&self, other: &Config, apply: Apply) -> Vec<&'static str> {
        SPECS
            .iter()
            .filter(|s| s.meta.apply == apply && (s.ops.get)(self) != (s.ops.get)(other))
            .map(|s| s.key)
            .collect()
    }
}

/// The JSON schema of the editable settings, annotated for forms: `title` (the
/// label), `description` (the help), `default`, bounds, and `x-apply` (live or
/// restart), `x-group`, `x-step`, `x-unit`, `x-scope`, `x-env`, with `x-order`
/// listing the fields in the table's order.
pub fn schema() -> Json {
    let defaults = Config::default();
    let mut editable: Vec<&Spec> = SPECS.iter().filter(|s| s.meta.apply.editable()).collect();
    editable.sort_by_key(|s| group_rank(s));
    let mut props = serde_json::Map::new();
    for s in &editable {
        let m = &s.meta;
        let mut p = (s.ops.schema)();
        let o = p.as_object_mut().expect("a schema is an object");
        o.insert("title".into(), json!(m.label));
        o.insert("description".into(), json!(s.help));
        o.insert("default".into(), (s.ops.get)(&defaults));
        if let Some(v) = m.min {
            o.insert("minimum".into(), json!(v));
        }
        if let Some(v) = m.max {
            o.insert("maximum".into(), json!(v));
        }
        if let Some(v) = m.multiple {
            o.insert("multipleOf".into(), json!(v));
        }
        if let Some(v) = m.step {
            o.insert("x-step".into(), json!(v));
        }
        if !m.unit.is_empty() {
            o.insert("x-unit".into(), json!(m.unit));
        }
        o.insert("x-apply".into(), json!(m.apply.name()));
        o.insert("x-group".into(), json!(m.group));
        o.insert("x-scope".into(), json!(s.section.scope()));
        o.insert("x-env".into(), json!(s.var()));
        props.insert(s.key.into(), p);
    }
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Settings",
        "type": "object",
        "additionalProperties": false,
        "properties": props,
        "x-order": editable.iter().map(|s| s.key).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patch(s: &str) -> Result<Patch, Invalid> {
        Patch::from_map(serde_json::from_str(s).unwrap())
    }

    #[test]
    fn the_table_is_consistent() {
        let mut keys = std::collections::HashSet::new();
        let mut vars = std::collections::HashSet::new();
        for s in SPECS {
            assert!(keys.insert(s.key), "{} declared twice", s.key);
            for v in s.meta.env {
                assert!(vars.insert(*v), "{v} used twice");
            }
            assert!(!s.meta.env.is_empty(), "{}: no variable", s.key);
            assert!(!s.meta.group.is_empty(), "{}: no group", s.key);
            if s.meta.apply.editable() {
                assert!(
                    !s.meta.label.is_empty(),
                    "{}: editable without a label",
                    s.key
                );
                assert!(!s.meta.secret, "{}: a secret on the wire", s.key);
            }
            if s.meta.min.is_some() || s.meta.max.is_some() {
                assert!(
                    s.ops.number,
                    "{}: bounds on a value that is not a number",
                    s.key
                );
            }
        }
        validate(&Config::default(), Scope::All).expect("the defaults are valid");
    }

    #[test]
    fn patches_are_checked_field_by_field_then_as_a_whole() {
        let c = Config::default();
        for (p, field) in [
            (r#"{"clip_min": 0.1}"#, "clip_min"),
            (r#"{"clip_min": 9, "clip_max": 8}"#, "clip_max"),
            (r#"{"ready_chunks": 56}"#, "ready_chunks"),
            (r#"{"max_chunks": 100001}"#, "max_chunks"),
            (r#"{"width": 641}"#, "width"),
            (r#"{"fps": 7}"#, "fps"),
            (r#"{"music_loudness": 3}"#, "music_loudness"),
        ] {
            let next = c.with(&patch(p).unwrap());
            assert_eq!(
                validate(&next, Scope::Editable).unwrap_err().0.key,
                field,
                "{p}"
            );
        }
        for (p, field) in [
            (r#"{"schedule": "at noon"}"#, "schedule"),
            (r#"{"hw_accel": "amd"}"#, "hw_accel"),
            (r#"{"disk_budget": 5}"#, "disk_budget"),
            (r#"{"color_grade": "sepia"}"#, "color_grade"),
            (r#"{"clip_min": "six"}"#, "clip_min"),
        ] {
            assert_eq!(patch(p).unwrap_err().field, Some(field), "{p}");
        }
        assert!(patch(r#"{"nope": 1}"#).is_err(), "unknown fields refused");
        assert!(
            patch(r#"{"admin_token": "12345678"}"#).is_err(),
            "not editable"
        );
        let next = c.with(&patch(r#"{"clip_min": 3, "disk_budget": 0, "width": 640}"#).unwrap());
        assert_eq!(next.channel.clip_min, 3.0);
        assert_eq!(next.channel.disk_budget, None);
        assert_eq!(next.output.profile().width, 640);
        assert_eq!(next.differences(&c, Apply::Restart), ["width"]);
    }

    #[test]
    fn a_channel_patch_takes_every_channel_setting_and_only_those() {
        let read = |s: &str| Patch::channel_from_map(serde_json::from_str(s).unwrap());
        let p = read(r#"{"videos": ["/v"], "audio": "/m", "clip_min": 4, "channel_name": "N"}"#)
            .unwrap();
        let c = Config::default().with(&p);
        assert_eq!(c.channel.videos, [PathBuf::from("/v")]);
        assert_eq!(c.channel.audio, Some(PathBuf::from("/m")));
        assert_eq!(p.values()["clip_min"], json!(4.0), "as the type writes it");
        assert_eq!(
            read(r#"{"clip_min": "x"}"#).unwrap_err().field,
            Some("clip_min")
        );
        for other in [r#"{"width": 640}"#, r#"{"data": "/d"}"#, r#"{"nope": 1}"#] {
            assert_eq!(read(other).unwrap_err().field, None, "{other}");
        }
        assert!(
            patch(r#"{"videos": ["/v"]}"#).is_err(),
            "not through the settings API"
        );
    }

    #[test]
    fn the_default_channel_is_a_slug() {
        let mut c = Config::default();
        c.server.default_channel = Some("Nature!".into());
        assert_eq!(
            validate(&c, Scope::All).unwrap_err().0.key,
            "default_channel"
        );
        c.server.default_channel = Some("nature".into());
        validate(&c, Scope::All).unwrap();
    }

    #[test]
    fn bounds_read_as_words() {
        let m = |k| spec(k).unwrap().bounds_text();
        assert_eq!(m("clip_min"), "must be at least 0.5 seconds");
        assert_eq!(m("generator_jobs"), "must be between 1 and 16");
        assert_eq!(
            m("width"),
            "must be an even number between 16 and 7680 pixels"
        );
    }

    #[test]
    fn the_schema_lists_every_editable_setting_in_order() {
        let s = schema();
        let order: Vec<&str> = s["x-order"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(order.len(), view(&Config::default()).0.len());
        assert_eq!(order[0], "delete_audio_files");
        assert!(order.contains(&"clip_min"));
        assert_eq!(order.last(), Some(&"music_loudness"));
        assert_eq!(s["properties"]["color_grade"]["enum"][1], "moody");
        assert_eq!(s["properties"]["clip_min"]["x-apply"], "live");
        assert_eq!(s["properties"]["width"]["multipleOf"], 2.0);
        assert!(s["properties"].get("admin_token").is_none());
    }
}
