//! The table of every setting: the `declare!` rows (name, type, default, help,
//! variables, flag, bounds, group, when a change applies, rule), the groups of
//! the web form, the lookups over the table ([`spec`], [`validate`]) and what the
//! rest of the program reads derived from the values ([`Server::listen_addr`],
//! [`Output::profile`], [`Channel::look`], ...).
//!
//! Adding a setting is adding a row here; to `rules.rs` too when it needs a rule
//! of a kind there is not yet.

use std::path::PathBuf;
use std::time::Duration;

use super::cron::CronSchedule;
use super::kinds::{Bytes, LogFormat};
use super::rules;
use super::spec::{Apply, Problem, declare};
use crate::transcode::WatermarkMode;
use crate::transcode::{ColorGrade, DEFAULT_MUSIC_LUFS, HwAccel, Ladder, Look, OutputProfile};

/// A setting's declaration, over this program's [`Config`].
pub type Spec = super::spec::Spec<Config>;
/// The declared facts of a setting, over [`Config`].
pub type Meta = super::spec::Meta<Config>;
/// What a setting's type gives, over [`Config`].
pub type Ops = super::spec::Ops<Config>;
/// A rule beyond the bounds of one setting, over [`Config`].
pub type Rule = super::spec::Rule<Config>;

const CLIPS: &str = "Clips and chunks";
const LOOK: &str = "Look";
const OUTPUT: &str = "Output and encoding";
const SOURCES: &str = "Sources and music";
const SERVER: &str = "Server";
const API: &str = "Access and integrations";
const TUNER: &str = "Live TV tuner (Plex, Jellyfin, Emby)";
const GUIDE: &str = "Programme guide";
/// The groups in the order a form shows them.
pub(super) const GROUPS: &[&str] = &[SOURCES, CLIPS, LOOK, GUIDE, OUTPUT, SERVER, TUNER, API];

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
              check: Some(|c| rules::slug(c.server.default_channel.as_deref())) }
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
              check: Some(|c| rules::base_url(c.server.base_url.as_deref())) }
        tubearchivist_url: Option<String> = None,
            "TubeArchivist base URL, for titles and creators (the video id is read from file names)"
            { env: &["TUBEARCHIVIST_URL"], flag: Some("tubearchivist-url"), value_name: "URL", group: API,
              example: Some("http://tubearchivist:8000"), check: Some(|c| rules::tubearchivist(
                c.server.tubearchivist_url.as_deref(), c.server.tubearchivist_token.is_some())) }
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
              min: Some(0.5), max: Some(20.0), unit: "seconds", check: Some(|c| rules::segment_duration(c.output.segment_duration, c.output.fps)) }
        fps: u32 = 30,
            "Output frame rate, a divisor of 90000 (24, 25, 30, 50, 60...)"
            { env: &["FPS"], flag: Some("fps"), value_name: "FPS", group: OUTPUT, apply: Apply::Restart,
              label: "Frame rate", min: Some(1.0), max: Some(120.0), step: Some(1.0), check: Some(|c| rules::fps(c.output.fps, c.output.segment_duration)) }
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
              check: Some(|c| rules::channel_name(&c.channel.channel_name)) }
        programme_minutes: u32 = 30,
            "Length of a programme in the guide, minutes, a divisor of a day: programmes start on its multiples in local time (30: at :00 and :30); a change applies after the programmes already listed"
            { env: &["PROGRAMME_MINUTES"], flag: Some("programme-minutes"), value_name: "MINUTES", group: GUIDE,
              apply: Apply::Live, label: "Programme length (min)", min: Some(5.0), max: Some(1440.0), step: Some(5.0),
              unit: "minutes", check: Some(|c| rules::programme_minutes(c.channel.programme_minutes)) }
        programme_title: Option<String> = None,
            "Title of the programmes too far ahead for their clips to be made yet; none: the channel's name"
            { env: &["PROGRAMME_TITLE"], flag: Some("programme-title"), value_name: "TEXT", group: GUIDE,
              apply: Apply::Live, label: "Programme title", default_text: Some("the channel's name"),
              example: Some("\"Late night mix\""), check: Some(|c| rules::text_of_at_most(c.channel.programme_title.as_deref(), 200)) }
        programme_description: Option<String> = None,
            "Description of those programmes; none: a sentence naming what the channel airs (its folders, creators or globs)"
            { env: &["PROGRAMME_DESCRIPTION"], flag: Some("programme-description"), value_name: "TEXT", group: GUIDE,
              apply: Apply::Live, label: "Programme description", default_text: Some("what the channel airs"),
              check: Some(|c| rules::text_of_at_most(c.channel.programme_description.as_deref(), 2000)) }
        videos: Vec<PathBuf> = Vec::new(),
            "Folders of source videos (the flag is repeatable; VIDEO_FOLDER joins several with ':'); none: a demo library is generated"
            { env: &["VIDEO_FOLDER"], flag: Some("videos"), value_name: "DIR", group: SOURCES,
              default_text: Some("demo library"), example: Some("/srv/videos"), check: Some(|c| rules::folders(&c.channel.videos)) }
        audio: Option<PathBuf> = None,
            "Folder of music tracks for the background music (mp3 m4a aac flac ogg opus wav); none: silence"
            { env: &["AUDIO_FOLDER"], flag: Some("audio"), value_name: "DIR", group: SOURCES,
              default_text: Some("none (silence)"), example: Some("/srv/music"), check: Some(|c| rules::folders(c.channel.audio.as_slice())) }
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
              label: "Longest clip (s)", max: Some(3600.0), step: Some(0.5), unit: "seconds", check: Some(|c| rules::clip_max(c.channel.clip_max, c.channel.clip_min)) }
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
              label: "Chunks kept ready", min: Some(1.0), step: Some(1.0), check: Some(|c| rules::ready_chunks(c.channel.ready_chunks, c.channel.max_chunks)) }
        unwatched_fresh_every: u64 = 600,
            "A channel nobody watches re-airs its own chunks and encodes with the time watched channels leave; once it has had no new clip for this long it gets the next free encoder before watched channels that have two minutes of fresh air ahead (its floor of fresh air: a 6 s clip every 600 s is 1% of its air); 0: no floor"
            { env: &["UNWATCHED_FRESH_EVERY"], flag: Some("unwatched-fresh-every"), value_name: "SECS", group: CLIPS,
              apply: Apply::Live, label: "Unwatched: a new clip at least every (s)", min: Some(0.0), max: Some(86400.0),
              step: Some(1.0), unit: "seconds" }
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
              example: Some("\"My channel\""), check: Some(|c| rules::watermark_fallback(c.channel.watermark_fallback.as_deref())) }
        renditions: Ladder = Ladder::auto(),
            "Lower rungs of the quality ladder, each a height in lines and p, with @ and a bit rate in kb/s if wanted (e.g. 480p@1400,360p@800), below the top rung of WIDTH x HEIGHT at VIDEO_BITRATE; every clip is encoded in each by the same ffmpeg run and they air in step, so players pick what their network carries; auto: 480p and 360p where below the top, at the top's bit rate scaled by their pixels; none: the top rung alone"
            { env: &["RENDITIONS"], flag: Some("renditions"), value_name: "RUNGS", group: OUTPUT,
              apply: Apply::Restart, label: "Quality ladder", example: Some("480p@1400,360p@800"),
              check: Some(|c| rules::renditions(&c.channel.renditions, &c.output.profile())) }
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
              secret: true, default_text: Some("generated"), check: Some(|c| rules::token(c.security.admin_token.as_deref())) }
        viewer_token: Option<String> = None,
            "Token required to watch and read status (8+ characters); unset: open"
            { env: &["VIEWER_TOKEN"], flag: Some("viewer-token"), value_name: "TOKEN", group: API,
              secret: true, default_text: Some("none (open)"), check: Some(|c| rules::token(c.security.viewer_token.as_deref())) }
    }
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

    /// Every rung's profile, the top one (`output`'s) first.
    pub fn rungs(&self, output: &Output) -> Vec<OutputProfile> {
        self.renditions.profiles(&output.profile())
    }

    /// Most bytes of chunks, if limited.
    pub fn disk_budget_bytes(&self) -> Option<u64> {
        self.disk_budget.map(|b| b.0)
    }
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
