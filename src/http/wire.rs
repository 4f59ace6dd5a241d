//! The API's JSON, as types: every request and response body of `src/http`, and the
//! `From` impls that map domain values onto them. The OpenAPI document (`openapi`)
//! and the web client's types (`web/src/api.gen.ts`) are generated from these.
//!
//! Field names and shapes are the original tool's and the web client's contract: a
//! rename here breaks them. Domain types do not serialize themselves for the wire;
//! a field added to one reaches clients only once it is added here.
//!
//! Numbers the domain keeps as `f32` are `f64` here: the JSON then carries the same
//! digits as before (`98.75311279296875`, not `98.75311`).

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::engine::live::NowPlaying;
use crate::library::{LibraryCounts as DomainCounts, VideoStatus};
use crate::schedule::generator::{GeneratorState, GeneratorStatus, JobStatus};
use crate::schedule::music::TrackStatus;
use crate::settings::Settings;
use crate::system::{GpuUsage as DomainGpu, Usage as DomainUsage};

// ---- errors ---------------------------------------------------------------------

/// An error: what went wrong, and the field at fault when one is (422).
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong, in words.
    pub error: String,
    /// The request field at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub field: Option<String>,
}

// ---- not JSON -------------------------------------------------------------------

/// An MPEG-TS segment's bytes (`video/mp2t`): documented only, the body is the
/// segment as published.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct MpegTs(pub bytes::Bytes);

/// A JPEG picture's bytes (`image/jpeg`): documented only.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct Jpeg(pub Vec<u8>);

// ---- status -------------------------------------------------------------------

/// GET /api/status: on air or not, counters, the generator, the library.
#[derive(Debug, Serialize, ToSchema)]
pub struct Status {
    /// A segment has been published.
    pub on_air: bool,
    /// Seconds since the server started.
    pub uptime_secs: u64,
    /// Segments published since start.
    pub segments_published: u64,
    /// Segments filled with a fallback because no clip was ready.
    pub underruns: u64,
    /// Segments preceded by a discontinuity.
    pub discontinuities: u64,
    /// Complete chunks.
    pub chunks: usize,
    /// Chunks being made.
    pub chunks_building: usize,
    /// Complete chunks that never aired.
    pub chunks_never_aired: usize,
    /// The generator's state and jobs.
    pub generator: Jobs,
    /// Source videos by state.
    pub library: LibraryCounts,
}

/// What is on air and what comes next (GET /api/stream-status, event `now_playing`).
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct StreamStatus {
    /// A segment has been published.
    pub on_air: bool,
    /// The slate airs (no clip was ready): `clip` and `chunk` are then null.
    pub slate: bool,
    /// The chunk on air.
    #[schema(required = true)]
    pub chunk: Option<String>,
    /// The clip on air.
    #[schema(required = true)]
    pub clip: Option<ClipOnAir>,
    /// The music track on air; null while silence fills in.
    #[schema(required = true)]
    pub track: Option<TrackOnAir>,
    /// The chunk that airs after this one.
    #[schema(required = true)]
    pub next_chunk: Option<String>,
    /// Sequence number of the newest segment.
    pub sequence: u64,
    /// The URL of the next chunk's strip of pictures; null until it has one.
    #[schema(required = true)]
    pub next_thumbnail: Option<String>,
    /// The chunk on air as people name it ("Big Buck Bunny, bikes and 12 more").
    #[schema(required = true)]
    pub chunk_title: Option<String>,
    /// The next chunk as people name it.
    #[schema(required = true)]
    pub next_title: Option<String>,
}

/// The clip on air.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct ClipOnAir {
    /// `<chunk>/<index>`.
    pub id: String,
    /// Title shown to viewers.
    pub title: String,
    /// Uploader, channel or artist, when known.
    #[schema(required = true)]
    pub creator: Option<String>,
    /// The source video's file name.
    #[schema(required = true)]
    pub source: Option<String>,
    /// Where in the source the clip starts, seconds.
    pub source_start: f64,
    /// Where in the clip the newest segment starts, seconds.
    pub position: f64,
    /// The clip's length, seconds.
    pub duration: f64,
    /// The URL of the clip's picture; null when it has none.
    #[schema(required = true)]
    pub thumbnail: Option<String>,
}

/// The music track on air.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct TrackOnAir {
    /// Title shown to viewers.
    pub title: String,
    /// Where in the track the newest segment starts, seconds.
    pub position: f64,
    /// The track's length, seconds.
    pub duration: f64,
}

impl StreamStatus {
    /// What `now` says is on air, and the chunk after it.
    pub fn new(now: &NowPlaying, next_chunk: Option<String>) -> StreamStatus {
        // The slate is no clip: reported as the slate, never as a clip "shufflecast".
        let slate = now.clip.as_ref().is_some_and(|c| c.is_slate());
        let airing = now.clip.as_ref().filter(|c| !c.is_slate());
        StreamStatus {
            on_air: now.clip.is_some(),
            slate,
            chunk: airing.and_then(|c| c.chunk.clone()),
            clip: airing.map(|c| ClipOnAir {
                id: c.id.clone(),
                title: c.title.clone(),
                creator: c.creator.clone(),
                source: c
                    .source
                    .as_ref()
                    .and_then(|p| p.file_name())
                    .map(|n| n.to_string_lossy().into_owned()),
                source_start: c.source_start,
                position: now.clip_position,
                duration: now.clip_duration,
                thumbnail: None,
            }),
            track: now.track.as_ref().map(|t| TrackOnAir {
                title: t.title.clone(),
                position: now.track_position,
                duration: t.duration,
            }),
            next_chunk,
            sequence: now.seq,
            next_thumbnail: None,
            chunk_title: None,
            next_title: None,
        }
    }

    /// What changes when the clip, the track or the next chunk (or its strip) does,
    /// and not with every segment: one `now_playing` event per change.
    pub fn key(&self) -> [Option<&str>; 5] {
        [
            self.chunk.as_deref(),
            self.clip.as_ref().map(|c| c.id.as_str()),
            self.track.as_ref().map(|t| t.title.as_str()),
            self.next_chunk.as_deref(),
            self.next_thumbnail.as_deref(),
        ]
    }
}

// ---- chunks ---------------------------------------------------------------------

/// Query of GET /api/chunks.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChunksQuery {
    /// Items to skip (default 0).
    pub offset: Option<u64>,
    /// Items to return, 1-100 (default 50).
    pub limit: Option<u64>,
    /// Case-insensitive search in ids and clip titles.
    pub q: Option<String>,
    /// Sort key (default created). Checked by the handler, which names the field in a
    /// 422 when it is none of these.
    #[param(inline, value_type = Option<ChunkSort>)]
    pub sort: Option<String>,
    /// Sort order (default desc).
    #[param(inline, value_type = Option<SortOrder>)]
    pub order: Option<String>,
}

/// How GET /api/chunks sorts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChunkSort {
    /// When it was created.
    Created,
    /// When it last aired.
    Aired,
    /// How often it aired.
    TimesAired,
    /// Its size in bytes.
    Size,
    /// Its length in seconds.
    Duration,
}

impl ChunkSort {
    /// Every key and its name, for parsing and for the 422 message.
    pub const ALL: [(&str, ChunkSort); 5] = [
        ("created", ChunkSort::Created),
        ("aired", ChunkSort::Aired),
        ("times_aired", ChunkSort::TimesAired),
        ("size", ChunkSort::Size),
        ("duration", ChunkSort::Duration),
    ];
}

/// Ascending or descending.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SortOrder {
    /// Smallest first.
    Asc,
    /// Largest first.
    Desc,
}

/// A page of chunks.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChunkList {
    /// Chunks matching the search, all pages.
    pub total: usize,
    /// Items skipped.
    pub offset: usize,
    /// Most items returned.
    pub limit: usize,
    /// This page.
    pub chunks: Vec<Chunk>,
}

/// A chunk: a montage of clips, aired as one.
#[derive(Debug, Serialize, ToSchema)]
pub struct Chunk {
    /// Unique, sortable id.
    pub id: String,
    /// The id again (the original tool's field).
    pub name: String,
    /// Ready to air, or still being made.
    pub state: ChunkState,
    /// Clips encoded so far.
    pub clips: usize,
    /// Seconds of video in it.
    pub duration: f64,
    /// Size of its clip files, bytes.
    pub size_bytes: u64,
    /// Times it started airing.
    pub times_aired: u32,
    /// When it was created, Unix seconds.
    pub created_at: i64,
    /// The encoder of its clips.
    pub encoder: String,
    /// It is on air.
    pub on_air: bool,
    /// Its clips' titles, in airing order.
    pub titles: Vec<String>,
    /// Its name for people: its first two titles, then how many more ("Big Buck
    /// Bunny, bikes and 12 more").
    pub title: String,
    /// The URL of its strip of pictures; null until it has one.
    #[schema(required = true)]
    pub thumbnail: Option<String>,
    /// A VOD playlist of its clips, to watch it before it airs.
    pub preview: String,
    /// A test chunk (`POST /api/generate_test_chunk`): it airs only when an
    /// operator plays it.
    pub held: bool,
}

/// A chunk's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ChunkState {
    /// Complete.
    Ready,
    /// Clips are still being encoded.
    Building,
}

impl Chunk {
    /// The chunk `c` of `channel`; `on_air` when it is the one airing.
    pub fn new(c: &crate::schedule::Chunk, channel: &str, on_air: bool) -> Chunk {
        Chunk {
            id: c.id.clone(),
            name: c.id.clone(),
            state: if c.complete {
                ChunkState::Ready
            } else {
                ChunkState::Building
            },
            clips: c.clips.len(),
            duration: c.duration,
            size_bytes: c.size_bytes,
            times_aired: c.times_aired,
            created_at: c.created_at,
            encoder: c.encoder.clone(),
            on_air,
            titles: c.clips.iter().map(|k| k.info.title.clone()).collect(),
            title: c.title(),
            thumbnail: super::urls::strip_url(channel, c),
            preview: super::urls::preview_url(channel, &c.id),
            held: c.held,
        }
    }
}

/// GET /api/chunks/{id}: a chunk with its clips.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChunkDetail {
    /// The chunk.
    #[serde(flatten)]
    pub chunk: Chunk,
    /// Its clips, in airing order.
    pub clip_list: Vec<ChunkClip>,
}

/// A clip of a chunk, as recorded when it was encoded.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChunkClip {
    /// Position in the chunk, from 0.
    pub index: i64,
    /// The source video's path.
    #[schema(required = true)]
    pub source: Option<String>,
    /// Title shown to viewers.
    pub title: String,
    /// Creator shown to viewers.
    #[schema(required = true)]
    pub creator: Option<String>,
    /// Start in the source, seconds.
    pub start: f64,
    /// Length, seconds.
    pub duration: f64,
    /// File size, bytes.
    pub size_bytes: i64,
    /// Encoder that made it.
    pub encoder: String,
    /// The URL of its picture; null when it has none.
    #[schema(required = true)]
    pub thumbnail: Option<String>,
}

impl From<crate::db::chunks::ClipRow> for ChunkClip {
    fn from(c: crate::db::chunks::ClipRow) -> Self {
        ChunkClip {
            index: c.idx as i64,
            source: c.rec.source.map(|p| p.display().to_string()),
            title: c.rec.title,
            creator: c.rec.creator,
            start: c.rec.start,
            duration: c.rec.duration,
            size_bytes: c.rec.size_bytes as i64,
            encoder: c.rec.encoder,
            thumbnail: None,
        }
    }
}

// ---- library and music ------------------------------------------------------------

/// Query of GET /api/library.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items to skip (default 0).
    pub offset: Option<u64>,
    /// Items to return, 1-100 (default 50).
    pub limit: Option<u64>,
}

/// Query of GET /api/audio.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Items to skip (default 0).
    pub offset: Option<u64>,
    /// Items to return, 1-100 (default 50).
    pub limit: Option<u64>,
    /// Case-insensitive search in titles and file names.
    pub q: Option<String>,
}

/// How many source videos the library holds, by state (also the `library` event).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct LibraryCounts {
    /// Files present in the folders.
    pub present: u64,
    /// Present and usable.
    pub usable: u64,
    /// Present and unusable (with a reason).
    pub unusable: u64,
    /// Present and not probed yet.
    pub pending: u64,
}

impl From<DomainCounts> for LibraryCounts {
    fn from(c: DomainCounts) -> Self {
        LibraryCounts {
            present: c.present,
            usable: c.usable,
            unusable: c.unusable,
            pending: c.pending,
        }
    }
}

/// GET /api/library: a page of source videos in LRU order.
#[derive(Debug, Serialize, ToSchema)]
pub struct LibraryPage {
    /// Videos by state, all pages.
    pub counts: LibraryCounts,
    /// Items skipped.
    pub offset: usize,
    /// Most items returned.
    pub limit: usize,
    /// This page, next to be cut first.
    pub videos: Vec<Video>,
}

/// A source video and its use.
#[derive(Debug, Serialize, ToSchema)]
pub struct Video {
    /// Database id.
    pub id: i64,
    /// The file.
    pub path: String,
    /// Title shown to viewers.
    pub title: String,
    /// Creator, when known.
    #[schema(required = true)]
    pub creator: Option<String>,
    /// Seconds, once probed and usable.
    #[schema(required = true)]
    pub duration: Option<f64>,
    /// Why it is unusable.
    #[schema(required = true)]
    pub error: Option<String>,
    /// LRU clock of its last clip; null: never used.
    #[schema(required = true)]
    pub last_used: Option<i64>,
    /// Clips cut from it.
    pub clips_cut: i64,
    /// Times all of it was used and its ranges started over.
    pub resets: i64,
    /// Seconds of it aired.
    pub airtime: f64,
    /// Ranges already cut.
    pub used: Vec<UsedRange>,
    /// Its place in the LRU order, from 1; null for an unusable video.
    #[schema(required = true)]
    pub lru_rank: Option<usize>,
    /// The URL of its poster; null until it has one.
    #[schema(required = true)]
    pub thumbnail: Option<String>,
}

/// A span of a video already cut into clips, seconds from its start.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsedRange {
    /// First second.
    pub start: f64,
    /// End (exclusive).
    pub end: f64,
}

impl Video {
    /// The video `v`, at `rank` in the LRU order (`None` when it is unusable).
    pub fn new(v: VideoStatus, rank: Option<usize>) -> Video {
        Video {
            id: v.id,
            path: v.path.to_string_lossy().into_owned(),
            title: v.title,
            creator: v.creator,
            duration: v.duration,
            error: v.error,
            last_used: v.last_used,
            clips_cut: v.clips_cut,
            resets: v.resets,
            airtime: v.airtime,
            used: v
                .used
                .into_iter()
                .map(|r| UsedRange {
                    start: r.start,
                    end: r.end,
                })
                .collect(),
            lru_rank: rank,
            thumbnail: None,
        }
    }
}

/// GET /api/audio: a page of music tracks, least played first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AudioPage {
    /// Tracks matching the search, all pages.
    pub total: u64,
    /// Items skipped.
    pub offset: usize,
    /// Most items returned.
    pub limit: usize,
    /// Title of the track on air.
    #[schema(required = true)]
    pub now_playing: Option<String>,
    /// This page.
    pub tracks: Vec<Track>,
}

/// A music track.
#[derive(Debug, Serialize, ToSchema)]
pub struct Track {
    /// Database id.
    pub id: i64,
    /// Title shown to viewers.
    pub title: String,
    /// File name (the original tool's `audio_name`).
    pub name: String,
    /// Times it went on air.
    pub plays: i64,
    /// Seconds aired.
    pub airtime: f64,
    /// Why it is skipped, if it is.
    #[schema(required = true)]
    pub error: Option<String>,
    /// Length, seconds; null until it has been read.
    #[schema(required = true)]
    pub duration: Option<f64>,
    /// The file itself, to play (`/audio/<path in the music folder>?channel=`).
    pub url: String,
    /// Its path in the music folder (what POST /api/delete_audio takes).
    pub path: String,
}

impl Track {
    /// The track `t` of channel `channel`.
    pub fn new(t: TrackStatus, channel: &str) -> Track {
        let segments: Vec<String> = t.rel_path.split('/').map(super::urls::urlencode).collect();
        Track {
            id: t.id,
            title: t.title,
            name: t.name,
            plays: t.plays,
            airtime: t.airtime,
            error: t.error,
            duration: t.duration,
            url: format!(
                "/audio/{}?channel={}",
                segments.join("/"),
                super::urls::urlencode(channel)
            ),
            path: t.rel_path,
        }
    }
}

// ---- system ---------------------------------------------------------------------

/// GET /api/system-usage: the newest sample and the last ten minutes of them.
#[derive(Debug, Serialize, ToSchema)]
pub struct SystemUsage {
    /// The newest sample; null before the first.
    #[schema(required = true)]
    pub now: Option<Usage>,
    /// Samples, oldest first, one every 2 s.
    pub history: Vec<Usage>,
    /// The video encoder in use, e.g. "libx264 (CPU)".
    pub encoder: String,
}

/// One sample of the machine's load.
#[derive(Debug, Serialize, ToSchema)]
pub struct Usage {
    /// When, Unix seconds.
    pub at: u64,
    /// CPU use over all cores, percent.
    pub cpu_percent: f64,
    /// Memory in use, percent.
    pub memory_percent: f64,
    /// Memory in use, bytes.
    pub memory_used: u64,
    /// Memory in all, bytes.
    pub memory_total: u64,
    /// GPUs; empty when none is visible.
    pub gpus: Vec<GpuUsage>,
    /// NVENC use, percent (the busiest NVIDIA GPU), when an NVIDIA driver is there.
    #[schema(required = true)]
    pub nvenc_percent: Option<u32>,
    /// Bytes used by the data folder.
    pub data_bytes: u64,
    /// Free bytes on the data folder's file system.
    pub disk_free: u64,
    /// Size of that file system, bytes.
    pub disk_total: u64,
    /// Percent of that file system in use.
    pub disk_percent: f64,
}

/// A GPU's load.
#[derive(Debug, Serialize, ToSchema)]
pub struct GpuUsage {
    /// The model, as the driver names it.
    pub name: String,
    /// Utilization, percent, if the driver reports it.
    #[schema(required = true)]
    pub percent: Option<f64>,
    /// Memory in use, bytes.
    #[schema(required = true)]
    pub memory_used: Option<u64>,
    /// Memory in all, bytes.
    #[schema(required = true)]
    pub memory_total: Option<u64>,
}

impl From<DomainUsage> for Usage {
    fn from(u: DomainUsage) -> Self {
        Usage {
            at: u.at,
            cpu_percent: u.cpu_percent.into(),
            memory_percent: u.memory_percent.into(),
            memory_used: u.memory_used,
            memory_total: u.memory_total,
            gpus: u.gpus.into_iter().map(GpuUsage::from).collect(),
            nvenc_percent: u.nvenc_percent,
            data_bytes: u.data_bytes,
            disk_free: u.disk_free,
            disk_total: u.disk_total,
            disk_percent: u.disk_percent.into(),
        }
    }
}

impl From<DomainGpu> for GpuUsage {
    fn from(g: DomainGpu) -> Self {
        GpuUsage {
            name: g.name,
            percent: g.percent.map(f64::from),
            memory_used: g.memory_used,
            memory_total: g.memory_total,
        }
    }
}

// ---- settings -------------------------------------------------------------------

/// GET and PUT /api/settings: the settings saved (in force, or from the next start),
/// which apply only at a start, and which of those wait for one.
#[derive(Debug, Serialize, ToSchema)]
pub struct SettingsResponse {
    /// Every editable setting, saved changes included.
    pub settings: Settings,
    /// Fields applied only at the next start.
    pub restart_fields: Vec<String>,
    /// Fields changed since the start, waiting for the next one.
    pub pending_restart: Vec<String>,
}

// ---- stats ------------------------------------------------------------------------

/// GET /api/stats: what the channel has aired, all runs together.
#[derive(Debug, Serialize, ToSchema)]
pub struct Stats {
    /// Hours of stream published.
    pub hours_streamed: f64,
    /// Chunks made so far (evicted and deleted ones included).
    pub chunks_created: u64,
    /// Chunk airings started.
    pub chunks_aired: u64,
    /// Source videos by airtime, most first.
    pub top_videos: Vec<Played>,
    /// Tracks by airtime, most first.
    pub top_tracks: Vec<Played>,
    /// Creators by plays, most first.
    pub top_creators: Vec<Played>,
    /// Seconds aired on each of the last 30 UTC days, oldest first, today last;
    /// every day present (0 when nothing aired).
    pub airtime_by_day: Vec<DayAirtime>,
}

/// Seconds of stream aired on one UTC day.
#[derive(Debug, Serialize, ToSchema)]
pub struct DayAirtime {
    /// The day, `YYYY-MM-DD` (UTC).
    pub day: String,
    /// Seconds aired on it.
    pub seconds: f64,
}

/// One row of a top list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Played {
    /// Title.
    pub title: String,
    /// Creator, for videos.
    #[schema(required = true)]
    pub creator: Option<String>,
    /// Times it went on air.
    pub plays: u64,
    /// Seconds aired.
    pub airtime: f64,
    /// The source video's poster (`/thumbs/videos/{id}.jpg`), for videos, once it
    /// has one; null for tracks and creators.
    #[schema(required = true)]
    pub thumbnail: Option<String>,
}

impl Stats {
    /// The stats `s`; `poster` gives a source video's poster URL, when it has one.
    pub fn new(s: crate::stats::Stats, poster: impl Fn(i64) -> Option<String>) -> Stats {
        let list = |v: Vec<crate::stats::Played>| v.into_iter().map(Played::from).collect();
        Stats {
            hours_streamed: s.hours_streamed,
            chunks_created: s.chunks_created,
            chunks_aired: s.chunks_aired,
            top_videos: s
                .top_videos
                .into_iter()
                .map(|p| Played {
                    thumbnail: p.video_id.and_then(&poster),
                    ..Played::from(p)
                })
                .collect(),
            top_tracks: list(s.top_tracks),
            top_creators: list(s.top_creators),
            airtime_by_day: s
                .airtime_by_day
                .into_iter()
                .map(|d| DayAirtime {
                    day: format!(
                        "{:04}-{:02}-{:02}",
                        d.day.year(),
                        d.day.month() as u8,
                        d.day.day()
                    ),
                    seconds: d.seconds,
                })
                .collect(),
        }
    }
}

impl From<crate::stats::Played> for Played {
    fn from(p: crate::stats::Played) -> Self {
        Played {
            title: p.title,
            creator: p.creator,
            plays: p.plays,
            airtime: p.airtime,
            thumbnail: None,
        }
    }
}

// ---- generation -----------------------------------------------------------------

/// The generator's state and each job's progress (GET /api/jobs, event `jobs`).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Jobs {
    /// What it is doing.
    pub state: JobsState,
    /// Why it is stalled (only when `state` is `stalled`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub reason: Option<String>,
    /// Running jobs, one per chunk being made.
    pub jobs: Vec<Job>,
    /// Chunks asked for (by the schedule or an operator) not started yet.
    pub requested: usize,
    /// Next scheduled run, RFC 3339.
    #[schema(required = true)]
    pub next_run: Option<String>,
    /// Clip encodes that failed since start.
    pub encode_failures: u64,
    /// Clips encoded since start.
    pub clips_encoded: u64,
}

/// What the generator is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobsState {
    /// Enough chunks are ready.
    Idle,
    /// Jobs are running.
    Generating,
    /// Waiting for the library to find a usable video.
    WaitingForLibrary,
    /// Cannot make progress (see `reason`).
    Stalled,
    /// Stopped by an operator until asked again or the next scheduled run.
    Stopped,
}

/// Progress of one job (one chunk being made).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Job {
    /// The chunk being made.
    pub chunk: String,
    /// Clips encoded so far.
    pub clips_done: usize,
    /// Seconds of video made so far.
    pub secs_done: f64,
    /// Seconds the chunk will hold.
    pub target_secs: f64,
    /// Percent done, 0-100.
    pub percent: f64,
    /// Encode speed of the current clip (1.0 = real time).
    #[schema(required = true)]
    pub speed: Option<f64>,
    /// Estimated seconds left.
    #[schema(required = true)]
    pub eta_secs: Option<f64>,
    /// Title of the source of the clip being encoded.
    #[schema(required = true)]
    pub current_source: Option<String>,
}

impl From<GeneratorStatus> for Jobs {
    fn from(s: GeneratorStatus) -> Self {
        let (state, reason) = match s.state {
            GeneratorState::Idle => (JobsState::Idle, None),
            GeneratorState::Generating => (JobsState::Generating, None),
            GeneratorState::WaitingForLibrary => (JobsState::WaitingForLibrary, None),
            GeneratorState::Stalled { reason } => (JobsState::Stalled, Some(reason)),
            GeneratorState::Stopped => (JobsState::Stopped, None),
        };
        Jobs {
            state,
            reason,
            jobs: s.jobs.into_iter().map(Job::from).collect(),
            requested: s.requested,
            next_run: s.next_run,
            encode_failures: s.encode_failures,
            clips_encoded: s.clips_encoded,
        }
    }
}

impl From<JobStatus> for Job {
    fn from(j: JobStatus) -> Self {
        Job {
            chunk: j.chunk,
            clips_done: j.clips_done,
            secs_done: j.secs_done,
            target_secs: j.target_secs,
            percent: j.percent,
            speed: j.speed,
            eta_secs: j.eta_secs,
            current_source: j.current_source,
        }
    }
}

/// Body of POST /api/generate_chunk; the body itself is optional.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GenerateRequest {
    /// Chunks to make, 1-100 (default CHUNKS_PER_RUN).
    pub count: Option<u32>,
}

/// Answer of POST /api/generate_chunk.
#[derive(Debug, Serialize, ToSchema)]
pub struct Requested {
    /// Chunks asked for.
    pub requested: u32,
}

/// Answer of POST /api/stop_generation.
#[derive(Debug, Serialize, ToSchema)]
pub struct Stopping {
    /// Always true.
    pub stopping: bool,
}

// ---- control ----------------------------------------------------------------------

/// Answer of POST /api/skip_to_next and /api/skip_to_next_audio.
#[derive(Debug, Serialize, ToSchema)]
pub struct Skipping {
    /// What is skipped.
    pub skipping: SkipTarget,
}

/// What a skip moves on from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SkipTarget {
    /// The clip on air.
    Clip,
    /// The music track on air.
    Track,
}

/// Body of POST /api/play_chunk: one of the two fields.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlayChunkRequest {
    /// The chunk's id (the original tool's field; a file name ending in .mp4 or .ts
    /// is taken too).
    pub chunk_name: Option<String>,
    /// The chunk's id.
    pub chunk_id: Option<String>,
}

/// Answer of POST /api/play_chunk.
#[derive(Debug, Serialize, ToSchema)]
pub struct Next {
    /// The chunk that airs next.
    pub next: String,
}

/// Body of POST /api/play_audio: one of the two fields.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlayAudioRequest {
    /// The track's file name (the original tool's field; a path is taken too).
    pub audio_name: Option<String>,
    /// The track's file name.
    pub track_id: Option<String>,
}

/// Answer of POST /api/play_audio.
#[derive(Debug, Serialize, ToSchema)]
pub struct Queued {
    /// Title of the track queued.
    pub queued: String,
}

// ---- events -----------------------------------------------------------------------

/// One server-sent event of GET /api/events: `event` is the SSE event name and
/// `data` its JSON payload. A client is sent `now_playing` at once, then each
/// change of clip, track or next chunk, of the generator, and of the library.
#[derive(Debug, Serialize, ToSchema)]
#[serde(tag = "event", content = "data", rename_all = "snake_case")]
pub enum ServerEvent {
    /// What is on air.
    NowPlaying(Box<StreamStatus>),
    /// The generator's state and jobs.
    Jobs(Jobs),
    /// The library's counts.
    Library(LibraryCounts),
}

impl ServerEvent {
    /// The event of `channel` as SSE: its name in `event:`, its payload as JSON in
    /// `data:`, with the channel's slug added as `channel`.
    pub fn to_sse(&self, channel: &str) -> axum::response::sse::Event {
        #[derive(Serialize)]
        struct Of<'a, T> {
            channel: &'a str,
            #[serde(flatten)]
            data: &'a T,
        }
        let ev = axum::response::sse::Event::default();
        let ev = match self {
            ServerEvent::NowPlaying(data) => {
                ev.event("now_playing").json_data(Of { channel, data })
            }
            ServerEvent::Jobs(data) => ev.event("jobs").json_data(Of { channel, data }),
            ServerEvent::Library(data) => ev.event("library").json_data(Of { channel, data }),
        };
        ev.expect("wire types serialize")
    }
}

/// A channel, with what airs on it now and next.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ChannelInfo {
    /// Its URL id.
    pub slug: String,
    /// Its name.
    pub name: String,
    /// Its number in guides and tuners.
    pub number: u32,
    /// Its logo's URL.
    pub logo: String,
    /// Its live playlist's URL.
    pub stream: String,
    /// Where it is defined: `classic` (the settings), `file` (the channels file)
    /// or `api`.
    pub origin: String,
    /// Whether the API may edit and delete it (made through the API).
    pub editable: bool,
    /// Whether it is the default channel (at `/hls/stream.m3u8`, and for routes
    /// without `?channel=`).
    pub default: bool,
    /// What airs now.
    pub now: StreamStatus,
    /// The programme that airs next (its first clip's title), when known.
    #[schema(required = true)]
    pub next: Option<String>,
    /// When the programme on air started and ends, Unix seconds.
    #[schema(required = true)]
    pub programme: Option<ProgrammeTimes>,
    /// Its definition: the keys the channels file and `POST /api/channels` take.
    #[schema(value_type = Object)]
    pub definition: serde_json::Map<String, serde_json::Value>,
}

/// When a programme airs.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ProgrammeTimes {
    /// Its title.
    pub title: String,
    /// Start, Unix seconds.
    pub start: f64,
    /// Stop, Unix seconds.
    pub stop: f64,
}

/// Every channel.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ChannelList {
    /// The default channel's slug.
    pub default: String,
    /// The channels, by number.
    pub channels: Vec<ChannelInfo>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SSE names are the serde tags the schema documents.
    #[test]
    fn event_names_are_the_schema_tags() {
        let counts = LibraryCounts {
            present: 1,
            usable: 1,
            unusable: 0,
            pending: 0,
        };
        let tagged = serde_json::to_value(ServerEvent::Library(counts.clone())).unwrap();
        assert_eq!(tagged["event"], "library");
        let jobs = Jobs::from(GeneratorStatus::default());
        assert_eq!(
            serde_json::to_value(ServerEvent::Jobs(jobs)).unwrap()["event"],
            "jobs"
        );
        let sse = format!("{:?}", ServerEvent::Library(counts).to_sse("news"));
        assert!(sse.contains("event: library"), "{sse}");
        assert!(sse.contains(r#"\"channel\":\"news\""#), "{sse}");
    }

    #[test]
    fn a_stalled_generator_says_why_and_others_have_no_reason() {
        let stalled = Jobs::from(GeneratorStatus {
            state: GeneratorState::Stalled {
                reason: "disk full".into(),
            },
            ..Default::default()
        });
        let v = serde_json::to_value(&stalled).unwrap();
        assert_eq!(v["state"], "stalled");
        assert_eq!(v["reason"], "disk full");
        let idle = serde_json::to_value(Jobs::from(GeneratorStatus::default())).unwrap();
        assert_eq!(idle["state"], "idle");
        assert!(idle.get("reason").is_none());
        assert!(idle["next_run"].is_null());
    }

    #[test]
    fn f32_samples_keep_their_f64_digits() {
        let u = Usage::from(DomainUsage {
            cpu_percent: 98.753_11,
            ..Default::default()
        });
        let text = serde_json::to_string(&u).unwrap();
        assert!(
            text.contains(&format!("\"cpu_percent\":{}", f64::from(98.753_11f32))),
            "{text}"
        );
    }
}

// ---- HDHomeRun tuner --------------------------------------------------------------
// Names and types are an HDHomeRun's, as Plex, Jellyfin (HdHomerunHost) and Emby
// read them: PascalCase, ids as strings, flags as 0/1.

/// `discover.json`: who the tuner is and where its channel list is.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct TunerDiscover {
    /// The name clients show.
    pub friendly_name: String,
    /// The maker clients expect of an HDHomeRun.
    pub manufacturer: String,
    /// The HDHomeRun model emulated.
    pub model_number: String,
    /// Firmware name.
    pub firmware_name: String,
    /// Firmware version: shufflecast's.
    pub firmware_version: String,
    /// Eight hex digits, the last a check digit.
    #[serde(rename = "DeviceID")]
    pub device_id: String,
    /// An opaque, stable string.
    pub device_auth: String,
    /// Where these documents are.
    #[serde(rename = "BaseURL")]
    pub base_url: String,
    /// The channel list.
    #[serde(rename = "LineupURL")]
    pub lineup_url: String,
    /// Continuous streams that may be open at once (TUNER_COUNT).
    pub tuner_count: u32,
}

/// A channel in `lineup.json`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct LineupEntry {
    /// The channel's number, as text.
    pub guide_number: String,
    /// The channel's name.
    pub guide_name: String,
    /// Always H264.
    pub video_codec: String,
    /// Always AAC.
    pub audio_codec: String,
    /// 1 when the output is 720 lines or more.
    #[serde(rename = "HD")]
    pub hd: u8,
    /// The channel's continuous MPEG-TS, without a query string.
    #[serde(rename = "URL")]
    pub url: String,
}

/// `lineup_status.json`: the state of a channel scan.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct LineupStatus {
    /// Always 0.
    pub scan_in_progress: u8,
    /// Always 1.
    pub scan_possible: u8,
    /// The signal source.
    pub source: String,
    /// The sources a scan can use.
    pub source_list: Vec<String>,
}

// ---- the original tool's routes ------------------------------------------------------
// Its shapes, as its clients read them.

/// What a change made by the original's routes says.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Outcome {
    /// Always true: a failure is an error answer.
    pub success: bool,
    /// What was done, in words.
    pub message: String,
}

/// The body of `POST /api/delete_audio`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteAudioBody {
    /// The track: its path in the music folder (`Track.path`, as `/audio/<path>`
    /// takes it), or its full path inside the folder.
    pub path: String,
}

/// The answer of `POST /api/generate_test_chunk`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TestChunk {
    /// True when the chunk was made.
    pub success: bool,
    /// What was done, in words.
    pub message: String,
    /// The chunk (held back from the rotation: `POST /api/play_chunk` airs it).
    pub chunk: Chunk,
}

/// The answer of `POST /api/update_settings`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct UpdatedSettings {
    /// Always true: a failure is an error answer.
    pub success: bool,
    /// The names changed, as sent.
    pub updated: Vec<String>,
    /// Whether they apply now or at the next start.
    pub message: String,
}

/// `GET /api/cron`: the generation schedule.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct CronStatus {
    /// Always true: the scheduler is part of the server.
    pub available: bool,
    /// The cron expression, if one is set.
    pub schedule: Option<String>,
    /// What a run does.
    pub command: String,
}

/// The body of `POST /api/cron`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct CronBody {
    /// A cron expression, local time (`0 2 * * *`: 2 am).
    pub schedule: String,
}

/// The query of `GET /api/cron-run-history`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunHistoryQuery {
    /// The page, from 1 (default 1).
    pub page: Option<u64>,
    /// Runs a page, 1-100 (default 20).
    pub per_page: Option<u64>,
}

/// A generation run in the history.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct RunEntry {
    /// When it was asked for, RFC 3339.
    pub timestamp: String,
    /// Why: `schedule`, `manual` or `start`.
    pub trigger: String,
    /// Chunks asked for.
    pub chunks: u64,
}

/// `GET /api/cron-run-history`: a page of generation runs, newest first.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct RunHistory {
    /// The runs of the page.
    pub entries: Vec<RunEntry>,
    /// The page, from 1.
    pub page: u64,
    /// Runs a page.
    pub per_page: u64,
    /// Runs in all.
    pub total: u64,
    /// Pages in all (at least 1).
    pub total_pages: u64,
}

// ---- the guide (issue 15) --------------------------------------------------------------

/// `GET /api/guide`'s query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GuideQuery {
    /// Hours from now the guide covers: more than 0, at most GUIDE_HOURS (default 3).
    pub hours: Option<f64>,
    /// Programmes per channel at most, 1-1000 (default 1000).
    pub limit: Option<u64>,
}

/// `GET /api/guide`: every channel with its programmes, from the one on air on:
/// the same grid, titles and descriptions as `/epg.xml`.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Guide {
    /// The server's time when the guide was made, Unix seconds (where the now line
    /// goes).
    pub now: f64,
    /// The hours asked for: the programmes cover them, as far as the limit allows.
    pub hours: f64,
    /// The default channel's slug.
    pub default: String,
    /// The channels, by number.
    pub channels: Vec<GuideChannel>,
}

/// A channel of the guide.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct GuideChannel {
    /// Its URL id.
    pub slug: String,
    /// Its name.
    pub name: String,
    /// Its number in guides and tuners.
    pub number: u32,
    /// Its logo's URL.
    pub logo: String,
    /// Its live playlist's URL.
    pub stream: String,
    /// Whether it is the default channel.
    pub default: bool,
    /// Its programmes in order: the one on air first (it started before `now`),
    /// then each that follows it, start to stop without gaps.
    pub programmes: Vec<GuideProgramme>,
}

/// A programme of the guide: a slot of the channel's grid (PROGRAMME_MINUTES,
/// starting on its multiples in local time), whose start and stop never change
/// once listed, with what is known to air in it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct GuideProgramme {
    /// When it starts (or started), Unix seconds.
    pub start: f64,
    /// When it ends, Unix seconds.
    pub stop: f64,
    /// Its title: its clips' ("Big Buck Bunny, bikes and 12 more") once they are
    /// made, else the channel's programme title.
    pub title: String,
    /// Its description: its clips, a line each, then (while what airs is not
    /// known to its end) the channel's programme description.
    pub description: String,
    /// Its clips are known, some at least.
    pub known: bool,
    /// What airs is known to its end.
    pub whole: bool,
    /// It is on air now.
    pub on_air: bool,
    /// Every clip known in it airs for the first time.
    pub new: bool,
    /// The picture of its first chunk (a strip of clip pictures), else the
    /// channel's logo.
    pub thumbnail: String,
    /// The clips that air (or aired) within it, in order.
    pub clips: Vec<GuideClip>,
}

/// A clip of a programme.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct GuideClip {
    /// The chunk it belongs to (see `/api/chunks/{id}`).
    #[schema(required = true)]
    pub chunk: Option<String>,
    /// Its position in the chunk, from 0.
    pub index: u32,
    /// Title shown to viewers.
    pub title: String,
    /// Uploader, channel or artist, when known.
    #[schema(required = true)]
    pub creator: Option<String>,
    /// When it starts (started), Unix seconds.
    pub start: f64,
    /// Its length, seconds.
    pub duration: f64,
    /// Its picture; null until there is one.
    #[schema(required = true)]
    pub thumbnail: Option<String>,
}
