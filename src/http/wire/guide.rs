//! The API's JSON: the guide (issue 15).

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

// ---- the guide (issue 15) ---------------------------------------------------

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
    /// Who watches it now.
    pub viewers: super::status::Viewers,
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
