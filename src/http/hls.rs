//! The live HLS stream: each channel's playlist and its segments, from memory.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::range;
use super::state::{AppState, PLAYLIST_CACHE, PLAYLIST_TYPE, SEGMENT_CACHE, SEGMENT_TYPE};
use super::urls;
use super::wire::{ErrorBody, MpegTs};
use crate::engine::live::PLAYLIST_NAME;

/// With a viewer token in force, segment URIs carry it: players fetch segments by
/// the URIs the playlist lists and would not add it themselves.
fn with_viewer_token(playlist: bytes::Bytes, token: Option<&str>) -> bytes::Bytes {
    let Some(token) = token else {
        return playlist;
    };
    let q = urls::urlencode(token);
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
pub async fn hls_file(
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
pub async fn channel_hls_file(
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
