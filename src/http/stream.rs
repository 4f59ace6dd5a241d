//! The continuous MPEG-TS of a channel, for Plex, Jellyfin, Emby and any player
//! that wants one endless stream rather than HLS: the live window's segments sent
//! back to back. They already form one transport stream (the muxer carries
//! timestamps and continuity counters on across segments and clip switches), so
//! a client costs a reference to the same bytes every other client gets, and no
//! remuxing at all.
//!
//! A client starts a few segments behind the live edge, at the start of one (PAT,
//! PMT, then a keyframe with its SPS and PPS), and is handed at once the segments
//! that hold more than ffmpeg's probe window ([`TUNE_IN_SECS`]); then it gets
//! each one as it is published. One that falls more than the live window behind
//! is hung up on (logged, counted): nothing waits for it, and it holds nothing but
//! its place in the sequence.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use axum::Extension;
use axum::body::Body;
use axum::extract::connect_info::ConnectInfo;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use tokio::sync::{OwnedSemaphorePermit, watch};
use tokio_util::sync::{CancellationToken, DropGuard};

use super::conn::{Hangup, Peer};
use super::error::ApiError;
use super::state::AppState;
use super::tuners::StreamCounters;
use super::wire::{ErrorBody, MpegTs};
use crate::engine::Live;
use crate::engine::live::Retained;
use crate::station::Station;

/// `?transcode=PROFILE`, which Jellyfin appends for a tuner it believes
/// transcodes: it picks a rung of the ladder.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct StreamQuery {
    /// Jellyfin's transcode profile: `heavy` (the top rung), `mobile` and
    /// `internet720` (720p), `internet540`, `internet480`, `internet360`,
    /// `internet240`: the highest rung at or below that height (else the lowest).
    pub transcode: Option<String>,
}

/// A channel's continuous MPEG-TS: an endless response, starting a few segments
/// behind the live edge, more than 5 s of stream at once (`TUNE_IN_SECS`). The
/// top rung of the ladder, or the rung `?transcode=` asks for.
#[utoipa::path(get, path = "/stream/{file}",
    params(("file" = String, Path, description = "The channel's slug and `.ts`, e.g. `main.ts`."), StreamQuery),
    responses(
        (status = 200, description = "The stream, without end (chunked).", content((MpegTs = "video/mp2t"))),
        (status = 404, description = "No such channel.", body = ErrorBody),
        (status = 503, description = "Every tuner is in use, or the channel is not on air yet.", body = ErrorBody),
    ),
)]
pub async fn stream(
    State(st): State<AppState>,
    Path(file): Path<String>,
    Query(q): Query<StreamQuery>,
    peer: Option<Extension<ConnectInfo<Peer>>>,
) -> Response {
    let peer = peer.map(|Extension(ConnectInfo(p))| p);
    match file.strip_suffix(".ts") {
        Some(slug) => open(&st, slug, Rung::Transcode(q.transcode.as_deref()), peer),
        None => ApiError::not_found("no such stream: names end in .ts").into_response(),
    }
}

/// A channel's continuous MPEG-TS with the viewer token in the path, for clients
/// that drop query strings and cannot send headers (Plex); or, as
/// `/stream/{channel}/{rung}.ts`, one rung of a channel's ladder (`480p.ts`).
#[utoipa::path(get, path = "/stream/{token}/{file}",
    params(
        ("token" = String, Path, description = "The viewer token (VIEWER_TOKEN); or a channel's slug, for a rung."),
        ("file" = String, Path, description = "The channel's slug and `.ts`; or, after a slug, a rung and `.ts` (`480p.ts`)."),
        StreamQuery,
    ),
    responses(
        (status = 200, description = "The stream, without end (chunked).", content((MpegTs = "video/mp2t"))),
        (status = 401, description = "Wrong token.", body = ErrorBody),
        (status = 404, description = "No such channel, or no such rung.", body = ErrorBody),
        (status = 503, description = "Every tuner is in use, or the channel is not on air yet.", body = ErrorBody),
    ),
)]
pub async fn stream_with_token(
    State(st): State<AppState>,
    Path((token, file)): Path<(String, String)>,
    Query(q): Query<StreamQuery>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    peer: Option<Extension<ConnectInfo<Peer>>>,
) -> Response {
    let peer = peer.map(|Extension(ConnectInfo(p))| p);
    // `/stream/{channel}/{rung}.ts`: the token, if one is needed, comes as for any
    // viewer route.
    if let Some(rung) = file.strip_suffix(".ts").filter(|r| is_rung_name(r))
        && st.station.get(&token).is_some()
    {
        if !st.tokens.viewer_presented(&headers, uri.query()) {
            return ApiError::new(StatusCode::UNAUTHORIZED, "a viewer token is needed")
                .into_response();
        }
        return open(&st, &token, Rung::Named(rung), peer);
    }
    if !st.tokens.viewer_in_path(&token) {
        return ApiError::new(StatusCode::UNAUTHORIZED, "wrong viewer token").into_response();
    }
    match file.strip_suffix(".ts") {
        Some(slug) => open(&st, slug, Rung::Transcode(q.transcode.as_deref()), peer),
        None => ApiError::not_found("no such stream: names end in .ts").into_response(),
    }
}

/// One rung of a channel's continuous MPEG-TS, with the viewer token in the path.
#[utoipa::path(get, path = "/stream/{token}/{channel}/{file}",
    params(
        ("token" = String, Path, description = "The viewer token (VIEWER_TOKEN)."),
        ("channel" = String, Path, description = "The channel's slug."),
        ("file" = String, Path, description = "The rung and `.ts`: `480p.ts`."),
    ),
    responses(
        (status = 200, description = "The stream, without end (chunked).", content((MpegTs = "video/mp2t"))),
        (status = 401, description = "Wrong token.", body = ErrorBody),
        (status = 404, description = "No such channel, or no such rung.", body = ErrorBody),
        (status = 503, description = "Every tuner is in use, or the channel is not on air yet.", body = ErrorBody),
    ),
)]
pub async fn rung_stream_with_token(
    State(st): State<AppState>,
    Path((token, channel, file)): Path<(String, String, String)>,
    peer: Option<Extension<ConnectInfo<Peer>>>,
) -> Response {
    if !st.tokens.viewer_in_path(&token) {
        return ApiError::new(StatusCode::UNAUTHORIZED, "wrong viewer token").into_response();
    }
    let peer = peer.map(|Extension(ConnectInfo(p))| p);
    match file.strip_suffix(".ts") {
        Some(rung) => open(&st, &channel, Rung::Named(rung), peer),
        None => ApiError::not_found("no such stream: names end in .ts").into_response(),
    }
}

/// Which rung of the ladder a request asks for.
enum Rung<'a> {
    /// By its folder name (`480p`).
    Named(&'a str),
    /// By Jellyfin's `?transcode=` profile, if any (none: the top).
    Transcode(Option<&'a str>),
}

/// `480p`, `1080p`: the name of a rung.
fn is_rung_name(s: &str) -> bool {
    s.strip_suffix('p')
        .is_some_and(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_digit()))
}

/// The height Jellyfin's transcode profile `p` asks for (`None`: the top rung).
fn profile_height(p: &str) -> Option<u32> {
    match p.to_ascii_lowercase().as_str() {
        "mobile" | "internet720" => Some(720),
        "internet540" => Some(540),
        "internet480" => Some(480),
        "internet360" => Some(360),
        "internet240" => Some(240),
        _ => None,
    }
}

/// The index (0: the top) of the rung `r` names on `live`, or why there is none.
fn rung_index(live: &Live, r: &Rung<'_>) -> Result<usize, String> {
    match r {
        Rung::Named(name) => live
            .rung_named(name)
            .ok_or_else(|| format!("no rung {name:?} on this channel")),
        Rung::Transcode(p) => {
            let Some(height) = p.and_then(profile_height) else {
                return Ok(0);
            };
            let rungs = live.rungs();
            // Rungs are listed highest first: the first at or below, else the last.
            Ok(rungs
                .iter()
                .position(|r| r.height <= height)
                .unwrap_or(rungs.len().saturating_sub(1)))
        }
    }
}

/// How often a stream with no new segment checks its channel is still on air.
const STILL_ON_AIR: Duration = Duration::from_secs(5);

/// A new client is handed at once the newest segments that hold more than this
/// much stream: more than libavformat's default `analyzeduration` (5 s). ffmpeg,
/// ffprobe and ffplay (and the tuner readers built on them: Plex's, Jellyfin's)
/// open MPEG-TS with `scan_all_pmts`, with which the demuxer never declares that it
/// has found every stream, so `avformat_find_stream_info` reads on until 5 s of
/// stream (or 5 MB) whatever it already knows. From the newest segment alone (2 s)
/// such a client waited about 3.9 s of real time for the rest before its first
/// picture, against 0.2 s for HLS, whose player starts 3 segments back with them
/// all at hand (`scripts/first-picture-bench.sh`).
pub const TUNE_IN_SECS: f64 = 5.0;

fn open(st: &AppState, slug: &str, rung: Rung<'_>, peer: Option<Peer>) -> Response {
    let Some(ch) = st.station.get(slug) else {
        return ApiError::not_found(format!("no channel {slug:?}")).into_response();
    };
    let rung = match rung_index(&ch.live, &rung) {
        Ok(i) => i,
        Err(e) => return ApiError::not_found(e).into_response(),
    };
    let served = st.viewing.rung(slug, &ch.live.rung_name(rung));
    // At most one segment less than the window behind, so a client reading its
    // first segments at once is never near the pace watch's limit.
    let most = ch.live.window().saturating_sub(1);
    let Some(first) = ch.live.tune_in(TUNE_IN_SECS, most) else {
        return (
            [(header::RETRY_AFTER, "1")],
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "stream starting, retry in a second",
            ),
        )
            .into_response();
    };
    let tuners = &st.tuners;
    let Some(permit) = tuners.take() else {
        tracing::info!(channel = %slug, tuners = tuners.count(), "continuous stream refused: every tuner is in use");
        return (
            [(header::RETRY_AFTER, "5")],
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "all {} tuners are in use (TUNER_COUNT); close a stream or raise it",
                    tuners.count()
                ),
            ),
        )
            .into_response();
    };
    let counters = tuners.counters(slug);
    ch.live.audience().stream_opened();
    counters.opened.fetch_add(1, Ordering::Relaxed);
    let client = Arc::new(Client {
        slug: slug.to_string(),
        addr: peer.as_ref().map(|p| p.addr),
        hangup: peer.map(|p| p.hangup),
        next: AtomicU64::new(first),
        dropped: AtomicBool::new(false),
        counters,
    });
    tracing::debug!(channel = %slug, peer = ?client.addr, from = first, "continuous stream opened");
    let watching = CancellationToken::new();
    tokio::spawn(watch_pace(
        ch.live.clone(),
        client.clone(),
        watching.clone(),
    ));
    served.streams.fetch_add(1, Ordering::Relaxed);
    let feed = Feed {
        rung,
        served,
        stopping: st.stopping.clone(),
        rx: ch.live.subscribe(),
        live: ch.live.clone(),
        station: st.station.clone(),
        client,
        _permit: permit,
        _watching: watching.drop_guard(),
    };
    let body = futures::stream::unfold(feed, Feed::next);
    (
        [
            (header::CONTENT_TYPE, "video/mp2t"),
            // Live: every request is a new tune-in, never a cached one.
            (header::CACHE_CONTROL, "no-store"),
            // A proxy in front (nginx) must pass it on as it comes.
            (header::HeaderName::from_static("x-accel-buffering"), "no"),
        ],
        Body::from_stream(body),
    )
        .into_response()
}

/// One client of a channel's continuous stream.
struct Client {
    slug: String,
    addr: Option<SocketAddr>,
    hangup: Option<Arc<Hangup>>,
    /// The next segment to hand to its socket.
    next: AtomicU64,
    dropped: AtomicBool,
    counters: Arc<StreamCounters>,
}

impl Client {
    /// Hangs up on a client `behind` segments behind the live edge, once.
    fn drop_behind(&self, behind: u64) {
        if self.dropped.swap(true, Ordering::AcqRel) {
            return;
        }
        self.counters.dropped.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(channel = %self.slug, peer = ?self.addr, behind, "continuous stream: the client fell behind the live window; disconnected");
        if let Some(h) = &self.hangup {
            h.hang_up();
        }
    }
}

/// Hangs up on `client` once it is more than the live window behind. The body
/// alone cannot tell: a client that stopped reading is never asked for more.
async fn watch_pace(live: Arc<Live>, client: Arc<Client>, done: CancellationToken) {
    let mut rx = live.subscribe();
    let window = live.window() as u64;
    loop {
        tokio::select! {
            _ = done.cancelled() => return,
            changed = rx.changed() => if changed.is_err() { return },
        }
        let newest = *rx.borrow_and_update();
        let behind = (newest + 1).saturating_sub(client.next.load(Ordering::Acquire));
        if behind > window {
            client.drop_behind(behind);
            return;
        }
    }
}

/// The body of one continuous stream.
struct Feed {
    /// The rung it sends (0: the top), and that rung's counters.
    rung: usize,
    served: Arc<super::viewing::RungServed>,
    /// The server stopping: the stream ends, rather than hold the shutdown up.
    stopping: CancellationToken,
    live: Arc<Live>,
    rx: watch::Receiver<u64>,
    station: Arc<Station>,
    client: Arc<Client>,
    _permit: OwnedSemaphorePermit,
    _watching: DropGuard,
}

impl Drop for Feed {
    fn drop(&mut self) {
        self.live.audience().stream_closed();
        tracing::debug!(channel = %self.client.slug, peer = ?self.client.addr, "continuous stream closed");
    }
}

impl Feed {
    /// The next segment, once it is published. An error ends the response without
    /// its closing chunk, so the client sees a cut, not an end of stream.
    async fn next(mut self) -> Option<(io::Result<Bytes>, Feed)> {
        loop {
            if self.client.dropped.load(Ordering::Acquire) {
                return None;
            }
            let seq = self.client.next.load(Ordering::Acquire);
            match self.live.rung_segment_at(self.rung, seq) {
                Retained::Here(data) => {
                    self.client.next.store(seq + 1, Ordering::Release);
                    (self.client.counters.bytes).fetch_add(data.len() as u64, Ordering::Relaxed);
                    (self.served.stream_bytes).fetch_add(data.len() as u64, Ordering::Relaxed);
                    return Some((Ok(data), self));
                }
                Retained::Gone => {
                    let newest = self.live.newest_seq().unwrap_or(seq);
                    self.client.drop_behind(newest + 1 - seq);
                    return Some((Err(io::Error::other("fell behind the live window")), self));
                }
                Retained::NotYet => {
                    tokio::select! {
                        _ = self.stopping.cancelled() => return None,
                        changed = self.rx.changed() => if changed.is_err() { return None },
                        _ = tokio::time::sleep(STILL_ON_AIR) => {
                            let on_air = self.station.get(&self.client.slug)
                                .is_some_and(|c| Arc::ptr_eq(&c.live, &self.live));
                            if !on_air {
                                return None;
                            }
                        }
                    }
                }
            }
        }
    }
}
