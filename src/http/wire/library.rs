//! The API's JSON: library and music.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::library::{LibraryCounts as DomainCounts, VideoStatus};
use crate::schedule::music::TrackStatus;

// ---- library and music ------------------------------------------------------

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
        let segments: Vec<String> = t
            .rel_path
            .split('/')
            .map(crate::http::urls::urlencode)
            .collect();
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
                crate::http::urls::urlencode(channel)
            ),
            path: t.rel_path,
        }
    }
}
