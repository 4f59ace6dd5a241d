//! HTTP: the live stream (playlist and segments) and health.
//!
//! Segments are served from memory. Their names are unique for ever (a run id and a
//! sequence number), so they are marked immutable and any HTTP cache or CDN can hold
//! them; the playlist changes every segment, so it is cacheable for one second only.

mod range;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::cors::{Any, CorsLayer};
use tower_http::trace::{DefaultOnFailure, TraceLayer};

use crate::channel::Live;
use crate::channel::live::PLAYLIST_NAME;

/// Everything handlers need.
#[derive(Clone)]
pub struct AppState {
    /// The live window: playlist, segments and "now playing".
    pub live: Arc<Live>,
}

const PLAYLIST_TYPE: &str = "application/vnd.apple.mpegurl";
const SEGMENT_TYPE: &str = "video/mp2t";
/// Half a 2 s segment: a cache never holds the live edge back by more than that.
const PLAYLIST_CACHE: &str = "public, max-age=1";
const SEGMENT_CACHE: &str = "public, max-age=31536000, immutable";

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
    Router::new()
        .route("/", get(index))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/hls/{file}", get(hls_file))
        .layer(cors)
        // A 5xx here is the 503 of a channel still starting: expected, not an error.
        .layer(
            TraceLayer::new_for_http()
                .on_failure(DefaultOnFailure::new().level(tracing::Level::DEBUG)),
        )
        .with_state(state)
}

async fn index() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "shufflecast is on air.\nPlay /hls/stream.m3u8 in VLC, mpv, Safari or any HLS player.\n",
    )
}

async fn hls_file(
    State(st): State<AppState>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Response {
    if file == PLAYLIST_NAME {
        return match st.live.playlist() {
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
                body,
            )
                .into_response(),
            // Not on air yet (the first clip is being encoded): tell players to retry.
            None => (
                StatusCode::SERVICE_UNAVAILABLE,
                [
                    (header::RETRY_AFTER, "1"),
                    (header::CACHE_CONTROL, "no-store"),
                ],
                "stream starting, retry in a second\n",
            )
                .into_response(),
        };
    }
    // Segment names are looked up, never joined to a path: nothing here touches the disk.
    match st.live.segment(&file) {
        Some(body) => range::respond(body, &headers, SEGMENT_TYPE, SEGMENT_CACHE),
        None => (
            StatusCode::NOT_FOUND,
            [(header::CACHE_CONTROL, "no-store")],
            "no such segment\n",
        )
            .into_response(),
    }
}
