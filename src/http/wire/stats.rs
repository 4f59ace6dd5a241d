//! The API's JSON: stats.

use serde::Serialize;
use utoipa::ToSchema;

// ---- stats ------------------------------------------------------------------

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
