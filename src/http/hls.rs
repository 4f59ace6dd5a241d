//! The live HLS stream: each channel's playlist and its segments, from memory.

use std::sync::atomic::Ordering::Relaxed;

use axum::Extension;
use axum::extract::connect_info::ConnectInfo;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::conn::Peer;
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
    peer: Option<Extension<ConnectInfo<Peer>>>,
) -> Response {
    let peer = peer.map(|Extension(ConnectInfo(p))| p.addr.ip());
    match st.station.default_channel() {
        Some(ch) => serve_hls(&st, &ch, None, &file, &headers, peer),
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
    peer: Option<Extension<ConnectInfo<Peer>>>,
) -> Response {
    let peer = peer.map(|Extension(ConnectInfo(p))| p.addr.ip());
    if let Some(ch) = st.station.get(&channel) {
        return serve_hls(&st, &ch, None, &file, &headers, peer);
    }
    // `/hls/480p/…`: a rung of the default channel, which `/hls/stream.m3u8` names
    // relative to itself.
    if let Some(ch) = st.station.default_channel()
        && let Some(rung) = ch.live.rung_named(&channel)
    {
        return serve_hls(&st, &ch, Some(rung), &file, &headers, peer);
    }
    no_channel(&channel)
}

fn no_channel(channel: &str) -> Response {
    (
        [(header::CACHE_CONTROL, "no-store")],
        ApiError::not_found(format!("no channel {channel:?}")),
    )
        .into_response()
}

/// A rung's media playlist (stream.m3u8) or one of its segments.
#[utoipa::path(get, path = "/hls/{channel}/{rung}/{file}",
    params(
        ("channel" = String, Path, description = "The channel's slug."),
        ("rung" = String, Path, description = "The rung, by its height: 720p, 480p, ..."),
        ("file" = String, Path, description = "stream.m3u8, or a segment the rung's playlist names."),
    ),
    responses(
        (status = 200, description = "The rung's playlist or a segment.", content(
            (String = "application/vnd.apple.mpegurl"),
            (MpegTs = "video/mp2t"),
        )),
        (status = 206, description = "Part of a segment.", content((MpegTs = "video/mp2t"))),
        (status = 404, description = "No such channel or rung, or no such segment (it left the live window).", body = ErrorBody),
        (status = 416, description = "The range lies outside the segment."),
        (status = 503, description = "Not on air yet: retry in a second.", body = ErrorBody),
    ),
)]
pub async fn rung_hls_file(
    State(st): State<AppState>,
    Path((channel, rung, file)): Path<(String, String, String)>,
    headers: HeaderMap,
    peer: Option<Extension<ConnectInfo<Peer>>>,
) -> Response {
    let peer = peer.map(|Extension(ConnectInfo(p))| p.addr.ip());
    let Some(ch) = st.station.get(&channel) else {
        return no_channel(&channel);
    };
    match ch.live.rung_named(&rung) {
        Some(i) => serve_hls(&st, &ch, Some(i), &file, &headers, peer),
        None => (
            [(header::CACHE_CONTROL, "no-store")],
            ApiError::not_found(format!("channel {channel:?} has no rung {rung:?}")),
        )
            .into_response(),
    }
}

/// The multivariant playlist of a channel airing a ladder: each rung's media
/// playlist by its folder, with its peak and average bit rate as aired (never
/// under what it was encoded to), its codecs, picture and frame rate. The rung
/// nearest 2 Mb/s comes first (where Safari and many TVs start; hls.js and
/// ExoPlayer adapt from there), then the others from the top down.
fn multivariant_of(live: &crate::engine::Live) -> Option<bytes::Bytes> {
    let rungs = live.rungs();
    let measured = live.bandwidth();
    let top_codec = measured.first().and_then(|b| b.codecs.clone())?;
    let mut variants: Vec<crate::media::hls::Variant> = rungs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let m = measured.get(i).cloned().unwrap_or_default();
            // What it was encoded to: the video's cap (a segment runs up to a
            // quarter over it as the encoder's buffer drains: 16% seen on the
            // demo), the music, and the transport's 5%.
            let nominal = (u64::from(r.video_kbps) * 1250
                + u64::from(crate::transcode::MUSIC_KBPS) * 1000)
                * 105
                / 100;
            crate::media::hls::Variant {
                uri: format!("{}/{PLAYLIST_NAME}", crate::engine::rungs::folder(r.height)),
                bandwidth: m.peak_bps.max(nominal),
                average_bandwidth: m.average_bps.max(1).min(m.peak_bps.max(nominal)),
                codecs: format!(
                    "{},mp4a.40.2",
                    m.codecs.unwrap_or_else(|| top_codec.clone())
                ),
                resolution: (r.width, r.height),
                frame_rate: r.fps,
            }
        })
        .collect();
    variants.sort_by_key(|v| std::cmp::Reverse(v.bandwidth));
    if let Some(first) =
        (0..variants.len()).min_by_key(|i| variants[*i].bandwidth.abs_diff(2_000_000))
    {
        let v = variants.remove(first);
        variants.insert(0, v);
    }
    Some(bytes::Bytes::from(crate::media::hls::render_multivariant(
        &variants,
    )))
}

fn playlist_response(st: &AppState, body: bytes::Bytes) -> Response {
    (
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
        .into_response()
}

/// A playlist or segment of channel `ch`: of rung `rung`, or (`None`) the
/// channel's own URL: its multivariant playlist when it airs a ladder, its top
/// rung's segments. Each rung's playlists, segments and bytes are counted.
fn serve_hls(
    st: &AppState,
    ch: &crate::station::OnAir,
    rung: Option<usize>,
    file: &str,
    headers: &HeaderMap,
    peer: Option<std::net::IpAddr>,
) -> Response {
    let live = &ch.live;
    let served = |i: usize| st.viewing.rung(ch.slug.as_str(), &live.rung_name(i));
    if file == PLAYLIST_NAME {
        let multivariant = rung.is_none() && live.rung_count() > 1;
        let body = match live.playlist() {
            Some(media) if multivariant => Some(multivariant_of(live).unwrap_or(media)),
            other => other,
        };
        return match body {
            Some(body) => {
                if !multivariant {
                    served(rung.unwrap_or(0)).playlists.fetch_add(1, Relaxed);
                }
                playlist_response(st, body)
            }
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
    match live.rung_segment(rung.unwrap_or(0), file) {
        Some(body) => {
            live.audience()
                .saw_player(player_key(peer, headers), std::time::Instant::now());
            let counts = served(rung.unwrap_or(0));
            counts.segments.fetch_add(1, Relaxed);
            counts.segment_bytes.fetch_add(body.len() as u64, Relaxed);
            range::respond(body, headers, SEGMENT_TYPE, SEGMENT_CACHE)
        }
        None => (
            [(header::CACHE_CONTROL, "no-store")],
            ApiError::not_found("no such segment"),
        )
            .into_response(),
    }
}

/// Who an HLS player is, as far as a server can tell: its address and its
/// User-Agent (two players behind one address, a phone and a TV, count as two).
/// Players behind a cache are the cache: one player.
fn player_key(peer: Option<std::net::IpAddr>, headers: &HeaderMap) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    peer.hash(&mut h);
    headers
        .get(header::USER_AGENT)
        .map(|v| v.as_bytes())
        .hash(&mut h);
    h.finish()
}
