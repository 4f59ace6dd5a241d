//! The router: every route, by who may call it, and the OpenAPI document made
//! from the same list.

use std::sync::LazyLock;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use tower_http::cors::{Any, CorsLayer};
use tower_http::trace::{DefaultOnFailure, TraceLayer};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ApiError;
use super::openapi::Access;
use super::state::{AppState, MAX_BODY};
use super::{
    api, auth, channels, files, guide, hdhomerun, hls, iptv, metrics, openapi, original, requests,
    stream, thumbs, web, xmltv,
};

/// Every route, by who may call it. Each handler's `#[utoipa::path]` gives its path
/// and method once, for the router and the OpenAPI document alike (`routes!`); a
/// route added any other way is refused by a test in `openapi`.
pub(super) fn routes() -> [(Access, OpenApiRouter<AppState>); 3] {
    [
        (Access::Open, open_routes()),
        (Access::Viewer, viewer_routes()),
        (Access::Admin, admin_routes()),
    ]
}

/// Health, the document, logos, and the routes that check a token in their path.
fn open_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(index))
        .routes(routes!(healthz))
        .routes(routes!(api::readyz))
        .routes(routes!(metrics::render))
        .routes(routes!(serve))
        .routes(routes!(iptv::logo))
        .routes(routes!(thumbs::channel_logo))
        // These check the viewer token in their path themselves.
        .routes(routes!(stream::stream_with_token))
        .routes(routes!(stream::rung_stream_with_token))
        .routes(routes!(hdhomerun::with_token))
        .routes(routes!(hdhomerun::lineup_post_with_token))
}

/// The stream, the guide and read-only status.
fn viewer_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(
            // Playlists gzipped for clients that take them (Apple's authoring rule
            // 10.1), segments as they are: video does not compress.
            OpenApiRouter::new()
                .routes(routes!(hls::hls_file))
                .routes(routes!(hls::channel_hls_file))
                .routes(routes!(hls::rung_hls_file))
                .layer(
                    tower_http::compression::CompressionLayer::new()
                        .gzip(true)
                        .quality(tower_http::CompressionLevel::Fastest)
                        .compress_when(is_playlist),
                ),
        )
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
        .routes(routes!(guide::guide))
}

/// Whether a response is a playlist (by its content type): what the HLS routes
/// compress.
fn is_playlist(
    _: axum::http::StatusCode,
    _: axum::http::Version,
    headers: &axum::http::HeaderMap,
    _: &axum::http::Extensions,
) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes() == super::state::PLAYLIST_TYPE.as_bytes())
}

/// Everything that changes something.
fn admin_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
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
        .routes(routes!(channels::update_channel, channels::delete_channel))
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
            requests::count,
        ))
        // A 5xx here is the 503 of a channel still starting: expected, not an error.
        .layer(
            TraceLayer::new_for_http()
                .on_failure(DefaultOnFailure::new().level(tracing::Level::DEBUG)),
        )
        .with_state(state)
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

/// The OpenAPI document of every route.
pub fn document() -> utoipa::openapi::OpenApi {
    openapi::document(routes())
}

/// The document as served: made once.
static DOCUMENT: LazyLock<String> =
    LazyLock::new(|| document().to_json().expect("the document serializes"));

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", responses(
    (status = 200, description = "The OpenAPI 3.1 document of this server.", body = Object),
))]
async fn serve() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        DOCUMENT.as_str(),
    )
}
