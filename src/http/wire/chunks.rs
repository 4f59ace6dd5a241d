//! The API's JSON: chunks.

use crate::clip::ClipInfo;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

// ---- chunks -----------------------------------------------------------------

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
            thumbnail: crate::http::urls::strip_url(channel, c),
            preview: crate::http::urls::preview_url(channel, &c.id),
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

impl From<&ClipInfo> for ChunkClip {
    fn from(c: &ClipInfo) -> Self {
        ChunkClip {
            index: crate::http::urls::clip_index(c).unwrap_or(0) as i64,
            source: c.source.as_ref().map(|p| p.display().to_string()),
            title: c.title.clone(),
            creator: c.creator.clone(),
            start: c.source_start,
            duration: c.duration,
            size_bytes: c.size_bytes as i64,
            encoder: c.encoder.clone(),
            thumbnail: None,
        }
    }
}
