//! The API's JSON: status, control, events.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::generation::Jobs;
use super::library::LibraryCounts;
use crate::engine::live::NowPlaying;

// ---- status -----------------------------------------------------------------

/// GET /api/status: on air or not, counters, the generator, the library.
#[derive(Debug, Serialize, ToSchema)]
pub struct Status {
    /// A segment has been published.
    pub on_air: bool,
    /// Seconds since the server started.
    pub uptime_secs: u64,
    /// Segments published since start.
    pub segments_published: u64,
    /// Segments of the slate aired after a clip because no clip was ready (only
    /// after a skip with nothing new: otherwise the clip before airs again).
    pub underruns: u64,
    /// Segments of the slate aired before the channel's first clip.
    pub waiting: u64,
    /// Clip switches that aired the clip before again because nothing new was
    /// ready.
    pub repeats: u64,
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
    /// The rungs of the channel's quality ladder, the top first: what each one is,
    /// its bit rate as aired, and who watches it.
    pub rungs: Vec<RungStatus>,
    /// Who watches the channel now.
    pub viewers: Viewers,
    /// Its fresh air: ready, and aired since start.
    pub air: FreshAir,
}

/// A channel's fresh air: what the encoders give it (they follow the viewers,
/// see `UNWATCHED_FRESH_EVERY`).
#[derive(Clone, Copy, Debug, Serialize, ToSchema)]
pub struct FreshAir {
    /// Seconds of clips made and never aired: how long it can go before it
    /// re-airs.
    pub ready_secs: f64,
    /// Seconds aired since start for the first time.
    pub aired_fresh_secs: f64,
    /// Seconds aired since start again (re-runs).
    pub aired_rerun_secs: f64,
    /// The share of the air since start that was fresh, 0 to 1.
    pub fresh_share: f64,
}

impl FreshAir {
    /// The fresh air of `playout`'s channel.
    pub fn of(playout: &crate::schedule::Playout) -> FreshAir {
        let t = playout.air_tally();
        FreshAir {
            ready_secs: playout.fresh_secs(),
            aired_fresh_secs: t.fresh_secs,
            aired_rerun_secs: t.rerun_secs,
            fresh_share: t.fresh_share(),
        }
    }
}

/// Who watches a channel now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Viewers {
    /// Distinct HLS clients (address and User-Agent) that fetched one of its
    /// segments in the last minute; players behind a cache count as one.
    pub players: u32,
    /// Clients of its continuous MPEG-TS connected now (tuners included).
    pub streams: u32,
    /// Both.
    pub total: u32,
}

impl From<crate::engine::audience::Viewers> for Viewers {
    fn from(v: crate::engine::audience::Viewers) -> Viewers {
        Viewers {
            players: v.players,
            streams: v.streams,
            total: v.total(),
        }
    }
}

impl Viewers {
    /// Channel `live`'s viewers now.
    pub fn of(live: &crate::engine::Live) -> Viewers {
        live.audience().viewers(std::time::Instant::now()).into()
    }
}

/// One rung of a channel's ladder in GET /api/status.
#[derive(Debug, Serialize, ToSchema)]
pub struct RungStatus {
    /// Its name in URLs: `480p`.
    pub name: String,
    /// Picture width.
    pub width: u32,
    /// Picture height.
    pub height: u32,
    /// The video bit rate it is encoded to, kb/s.
    pub video_kbps: u32,
    /// The highest bit rate of one segment held, bits per second.
    pub peak_bps: u64,
    /// The average bit rate of the segments held, bits per second.
    pub average_bps: u64,
    /// Requests since start: HLS segments, its playlist, continuous streams opened.
    pub requests: u64,
    /// Bytes served since start, as segments or as its continuous stream.
    pub bytes: u64,
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

// ---- control ----------------------------------------------------------------

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

// ---- events -----------------------------------------------------------------

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
    /// Who watches it now.
    pub viewers: Viewers,
    /// Its fresh air: ready, and aired since start.
    pub air: FreshAir,
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
