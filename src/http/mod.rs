//! HTTP: the live stream (playlist and segments), the JSON API, the IPTV playlist and
//! guide, and health.
//!
//! Segments are served from memory. Their names are unique for ever (a run id and a
//! sequence number), so they are marked immutable and any HTTP cache or CDN can hold
//! them; the playlist changes every segment, so it is cacheable for one second only.

mod api;
pub mod auth;
mod channels;
pub mod conn;
mod error;
mod files;
mod guide;
pub mod hdhomerun;
pub mod iptv;
pub mod logos;
pub mod metrics;
pub mod openapi;
mod original;
mod pick;
mod range;
pub mod stream;
pub mod thumbs;
pub mod web;
pub mod wire;
mod xmltv;

use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use tower_http::cors::{Any, CorsLayer};
use tower_http::trace::{DefaultOnFailure, TraceLayer};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use auth::Tokens;
pub use error::ApiError;
use openapi::Access;
use wire::{ErrorBody, MpegTs};

use crate::config::Config;
use crate::db::Db;
use crate::engine::live::PLAYLIST_NAME;
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
    pub http: Arc<metrics::HttpMetrics>,
    /// The configuration the server runs with (saved settings included).
    pub config: Arc<Config>,
    /// The built web client, when its folder exists.
    pub web: Option<web::WebRoot>,
    /// The continuous streams' tuners and counters.
    pub tuners: Arc<stream::Tuners>,
    /// Who the HDHomeRun tuner is.
    pub device: hdhomerun::Device,
    /// Every channel's logo as a PNG or JPEG, made once (`data/cache/logos`).
    pub logos: Arc<logos::Logos>,
    /// Cancelled as the server starts to stop: endless responses (the continuous
    /// streams, the events) end then, instead of holding the shutdown up.
    pub stopping: tokio_util::sync::CancellationToken,
}

/// Largest request body: the API takes small JSON objects only.
const MAX_BODY: usize = 16 * 1024;

const PLAYLIST_TYPE: &str = "application/vnd.apple.mpegurl";
const SEGMENT_TYPE: &str = "video/mp2t";
/// Half a 2 s segment: a cache never holds the live edge back by more than that.
const PLAYLIST_CACHE: &str = "public, max-age=1";
const SEGMENT_CACHE: &str = "public, max-age=31536000, immutable";

/// Every route, by who may call it. Each handler's `#[utoipa::path]` gives its path
/// and method once, for the router and the OpenAPI document alike (`routes!`); a
/// route added any other way is refused by a test in `openapi`.
fn routes() -> [(Access, OpenApiRouter<AppState>); 3] {
    let open = OpenApiRouter::new()
        .routes(routes!(index))
        .routes(routes!(healthz))
        .routes(routes!(api::readyz))
        .routes(routes!(metrics::render))
        .routes(routes!(openapi::serve))
        .routes(routes!(iptv::logo))
        .routes(routes!(logos::channel_logo))
        // These check the viewer token in their path themselves.
        .routes(routes!(stream::stream_with_token))
        .routes(routes!(hdhomerun::with_token))
        .routes(routes!(hdhomerun::lineup_post_with_token));
    // The stream, the guide and read-only status.
    let viewer = OpenApiRouter::new()
        .routes(routes!(hls_file))
        .routes(routes!(channel_hls_file))
        .routes(routes!(stream::stream))
        .routes(routes!(hdhomerun::discover))
        .routes(routes!(hdhomerun::lineup))
        .routes(routes!(hdhomerun::lineup_status))
        .routes(routes!(hdhomerun::lineup_post))
        .routes(routes!(hdhomerun::device_xml))
        .routes(routes!(iptv::m3u))
        .merge(
            // The guide is big and repetitive: gzip it for clients that take it.
            OpenApiRouter::new().routes(routes!(xmltv::epg)).layer(
                tower_http::compression::CompressionLayer::new()
                    .gzip(true)
                    .quality(tower_http::CompressionLevel::Fastest),
            ),
        )
        .routes(routes!(api::status))
        .routes(routes!(api::stream_status))
        .routes(routes!(api::chunks))
        .routes(routes!(api::chunk))
        .routes(routes!(api::library))
        .routes(routes!(api::audio))
        .routes(routes!(api::system_usage))
        .routes(routes!(api::stats))
        .routes(routes!(api::jobs))
        .routes(routes!(api::get_settings))
        .routes(routes!(api::settings_schema))
        .routes(routes!(api::events))
        .routes(routes!(original::get_cron))
        .routes(routes!(original::run_history))
        .routes(routes!(channels::list_channels))
        .routes(routes!(channels::get_channel))
        .routes(routes!(files::chunk_playlist))
        .routes(routes!(files::chunk_clip))
        .routes(routes!(files::chunk_file))
        .routes(routes!(files::audio_file))
        // Pictures (issue 15).
        .routes(routes!(thumbs::video_poster))
        .routes(routes!(thumbs::clip_picture))
        .routes(routes!(thumbs::chunk_strip))
        .routes(routes!(guide::guide));
    // Everything that changes something.
    let admin = OpenApiRouter::new()
        .routes(routes!(api::generate))
        .routes(routes!(api::stop_generation))
        .routes(routes!(api::skip_to_next))
        .routes(routes!(api::skip_to_next_audio))
        .routes(routes!(api::play_chunk))
        .routes(routes!(api::play_audio))
        .routes(routes!(api::put_settings))
        .routes(routes!(api::delete_chunk))
        .routes(routes!(channels::create_channel))
        .routes(routes!(original::update_settings))
        .routes(routes!(original::set_cron, original::delete_cron))
        .routes(routes!(original::clear_generation_lock))
        .routes(routes!(original::delete_audio))
        .routes(routes!(original::restart_chunk_generator))
        .routes(routes!(original::generate_test_chunk))
        .routes(routes!(channels::update_channel, channels::delete_channel));
    [
        (Access::Open, open),
        (Access::Viewer, viewer),
        (Access::Admin, admin),
    ]
}

/// The router, without a socket: tests can call it directly.
pub fn router(state: AppState) -> Router {
    // The stream is public by design: any origin may play it (hls.js in another site).
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::HEAD])
        .allow_headers([header::RANGE])
        .expose_headers([
            header::CONTENT_LENGTH,
            header::CONTENT_RANGE,
            header::ACCEPT_RANGES,
        ]);
    let tokens = state.tokens.clone();
    let mut all = OpenApiRouter::new();
    for (access, routes) in routes() {
        all = all.merge(match access {
            Access::Open => routes,
            // Open, or behind the viewer token; any origin may read.
            Access::Viewer => routes
                .layer(middleware::from_fn_with_state(
                    tokens.clone(),
                    auth::require_viewer,
                ))
                .layer(cors.clone()),
            // Admin token and same origin; no CORS (browsers on other sites are
            // refused by the origin check and get no CORS headers either).
            Access::Admin => routes.layer(middleware::from_fn_with_state(
                tokens.clone(),
                auth::require_admin,
            )),
        });
    }
    let (router, _) = all.split_for_parts();
    router
        .fallback(static_file)
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method not allowed on this route",
            )
        })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn_with_state(
            state.http.clone(),
            metrics::count,
        ))
        // A 5xx here is the 503 of a channel still starting: expected, not an error.
        .layer(
            TraceLayer::new_for_http()
                .on_failure(DefaultOnFailure::new().level(tracing::Level::DEBUG)),
        )
        .with_state(state)
}

/// With a viewer token in force, segment URIs carry it: players fetch segments by
/// the URIs the playlist lists and would not add it themselves.
fn with_viewer_token(playlist: bytes::Bytes, token: Option<&str>) -> bytes::Bytes {
    let Some(token) = token else {
        return playlist;
    };
    let q = iptv::urlencode(token);
    let text = String::from_utf8_lossy(&playlist);
    let mut out = String::with_capacity(text.len() + 64);
    for line in text.lines() {
        out.push_str(line);
        if !line.is_empty() && !line.starts_with('#') {
            out.push_str("?token=");
            out.push_str(&q);
        }
        out.push('\n');
    }
    bytes::Bytes::from(out)
}

/// Any GET no route answers: a file of the web client, if there is one.
async fn static_file(State(st): State<AppState>, method: Method, uri: axum::http::Uri) -> Response {
    if method == Method::GET || method == Method::HEAD {
        web::serve(st.web.as_ref(), uri.path()).await
    } else {
        ApiError::not_found("no such route").into_response()
    }
}

/// A short text saying where the stream is, or the web client when it is installed.
#[utoipa::path(get, path = "/", responses(
    (status = 200, description = "The web client's page, or a line of text.", content(
        ("text/html"),
        (String = "text/plain"),
    )),
))]
async fn index(State(st): State<AppState>) -> Response {
    if st.web.is_some() {
        return web::serve(st.web.as_ref(), "/").await;
    }
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "shufflecast is on air.\nPlay /hls/stream.m3u8 in VLC, mpv, Safari or any HLS player.\n",
    )
        .into_response()
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", responses(
    (status = 200, description = "ok", content_type = "text/plain", body = String),
))]
async fn healthz() -> &'static str {
    "ok\n"
}

/// The live playlist (stream.m3u8) or a segment (immutable, Range supported).
#[utoipa::path(get, path = "/hls/{file}",
    params(("file" = String, Path, description = "stream.m3u8, or a segment the playlist names.")),
    responses(
        (status = 200, description = "The playlist or a segment.", content(
            (String = "application/vnd.apple.mpegurl"),
            (MpegTs = "video/mp2t"),
        )),
        (status = 206, description = "Part of a segment.", content((MpegTs = "video/mp2t"))),
        (status = 404, description = "No such segment (it left the live window).", body = ErrorBody),
        (status = 416, description = "The range lies outside the segment."),
        (status = 503, description = "Not on air yet: retry in a second.", body = ErrorBody),
    ),
)]
async fn hls_file(
    State(st): State<AppState>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Response {
    match st.station.default_channel() {
        Some(ch) => serve_hls(&st, &ch.live, &file, &headers),
        None => ApiError::not_found("no channel on air").into_response(),
    }
}

/// A channel's live playlist (stream.m3u8) or a segment of it.
#[utoipa::path(get, path = "/hls/{channel}/{file}",
    params(
        ("channel" = String, Path, description = "The channel's slug."),
        ("file" = String, Path, description = "stream.m3u8, or a segment the playlist names."),
    ),
    responses(
        (status = 200, description = "The playlist or a segment.", content(
            (String = "application/vnd.apple.mpegurl"),
            (MpegTs = "video/mp2t"),
        )),
        (status = 206, description = "Part of a segment.", content((MpegTs = "video/mp2t"))),
        (status = 404, description = "No such channel, or no such segment (it left the live window).", body = ErrorBody),
        (status = 416, description = "The range lies outside the segment."),
        (status = 503, description = "Not on air yet: retry in a second.", body = ErrorBody),
    ),
)]
async fn channel_hls_file(
    State(st): State<AppState>,
    Path((channel, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    match st.station.get(&channel) {
        Some(ch) => serve_hls(&st, &ch.live, &file, &headers),
        None => (
            [(header::CACHE_CONTROL, "no-store")],
            ApiError::not_found(format!("no channel {channel:?}")),
        )
            .into_response(),
    }
}

fn serve_hls(
    st: &AppState,
    live: &crate::engine::Live,
    file: &str,
    headers: &HeaderMap,
) -> Response {
    if file == PLAYLIST_NAME {
        return match live.playlist() {
            Some(body) => (
                [
                    (
                        header::CONTENT_TYPE,
                        HeaderValue::from_static(PLAYLIST_TYPE),
                    ),
                    (
                        header::CACHE_CONTROL,
                        HeaderValue::from_static(PLAYLIST_CACHE),
                    ),
                ],
                with_viewer_token(body, st.tokens.viewer.as_deref()),
            )
                .into_response(),
            // Not on air yet (the first clip is being encoded): tell players to retry.
            None => (
                [
                    (header::RETRY_AFTER, "1"),
                    (header::CACHE_CONTROL, "no-store"),
                ],
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "stream starting, retry in a second",
                ),
            )
                .into_response(),
        };
    }
    // Segment names are looked up, never joined to a path: nothing here touches the disk.
    match live.segment(file) {
        Some(body) => range::respond(body, headers, SEGMENT_TYPE, SEGMENT_CACHE),
        None => (
            [(header::CACHE_CONTROL, "no-store")],
            ApiError::not_found("no such segment"),
        )
            .into_response(),
    }
}
