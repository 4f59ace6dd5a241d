//! What every handler shares: the server's state, and the media types and cache
//! lifetimes the stream is answered with.

use std::sync::Arc;
use std::time::SystemTime;

use super::auth::Tokens;
use super::logos::Logos;
use super::requests::HttpMetrics;
use super::tuners::Tuners;
use super::web::WebRoot;
use crate::config::Config;
use crate::db::Db;
use crate::hdhomerun::Device;
use crate::library::Library;
use crate::station::Station;
use crate::system::Monitor;

/// Everything handlers need.
#[derive(Clone)]
pub struct AppState {
    /// Every channel on air: each one's live window, playout, generator, engine
    /// and music (a route picks one with `?channel=`, see `pick`).
    pub station: Arc<Station>,
    /// The database, for details the in-memory copies do not hold.
    pub db: Db,
    /// The source videos, shared by every channel.
    pub library: Arc<Library>,
    /// CPU, memory, GPU and disk, sampled.
    pub monitor: Arc<Monitor>,
    /// Who may do what.
    pub tokens: Tokens,
    /// When the server started.
    pub started: SystemTime,
    /// The video encoder in use, e.g. "libx264 (CPU)".
    pub encoder: String,
    /// HTTP counters for /metrics.
    pub http: Arc<HttpMetrics>,
    /// The configuration the server runs with (saved settings included).
    pub config: Arc<Config>,
    /// The built web client, when its folder exists.
    pub web: Option<WebRoot>,
    /// The continuous streams' tuners and counters.
    pub tuners: Arc<Tuners>,
    /// Requests and bytes of each channel's rungs.
    pub viewing: Arc<super::viewing::Viewing>,
    /// Who the HDHomeRun tuner is.
    pub device: Device,
    /// Every channel's logo as a PNG or JPEG, made once (`data/cache/logos`).
    pub logos: Arc<Logos>,
    /// Cancelled as the server starts to stop: endless responses (the continuous
    /// streams, the events) end then, instead of holding the shutdown up.
    pub stopping: tokio_util::sync::CancellationToken,
}

/// Largest request body: the API takes small JSON objects only.
pub const MAX_BODY: usize = 16 * 1024;

/// The live and preview playlists' media type.
pub const PLAYLIST_TYPE: &str = "application/vnd.apple.mpegurl";
/// Segments' and clips' media type.
pub const SEGMENT_TYPE: &str = "video/mp2t";
/// Half a 2 s segment: a cache never holds the live edge back by more than that.
pub const PLAYLIST_CACHE: &str = "public, max-age=1";
/// Segments and clips never change: any cache may keep them for a year.
pub const SEGMENT_CACHE: &str = "public, max-age=31536000, immutable";
