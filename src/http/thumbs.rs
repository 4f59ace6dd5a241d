//! Pictures by id: a source video's poster, a clip's picture, a chunk's strip.
//!
//! Never a path from the URL: a video id is parsed and its poster looked up in the
//! library's list of posters, a chunk is looked up by id in its channel's playout
//! and a clip by index in that chunk; the file served is the one they name. A
//! picture never changes under its URL (ids are never reused), so every one is
//! immutable for caches. The URLs are made here too, and only for pictures that
//! exist, from what is in memory: no disk access per request.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::state::AppState;
use super::urls;
use super::wire::{ErrorBody, Jpeg};
use crate::engine::ClipInfo;
use crate::schedule::Chunk;

const JPEG: &str = "image/jpeg";

/// The URL of the poster of video `id`, when it has one.
pub fn video_url(st: &AppState, id: i64) -> Option<String> {
    st.library
        .poster(id)
        .map(|_| format!("/thumbs/videos/{id}.jpg"))
}

/// The clip at `index` of chunk `c` (by its id: a clip whose file went missing is
/// not in the chunk, so positions may differ).
pub(super) fn clip_of(c: &Chunk, index: usize) -> Option<&ClipInfo> {
    c.clips
        .iter()
        .map(|k| &*k.info)
        .find(|info| urls::clip_index(info) == Some(index))
}

/// `name` without its `.jpg`, parsed as a `T`: a number, nothing else.
fn id_of<T: std::str::FromStr>(name: &str) -> Option<T> {
    let id = name.strip_suffix(".jpg")?;
    id.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| id.parse().ok())
        .flatten()
}

/// Chunk ids are made of these only (see the generator's `chunk_id`): anything else
/// is no chunk, and is refused before any lookup.
fn is_chunk_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn missing(what: impl Into<String>) -> Response {
    // A picture may come later (a strip once its chunk completes): no cached 404.
    (
        [(header::CACHE_CONTROL, "no-store")],
        ApiError::not_found(what),
    )
        .into_response()
}

async fn serve(path: &std::path::Path) -> Response {
    match tokio::fs::read(path).await {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, JPEG),
                // A picture never changes under its URL, like a segment.
                (header::CACHE_CONTROL, super::state::SEGMENT_CACHE),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => {
            tracing::debug!(file = %path.display(), error = %e, "picture not readable");
            missing("no such picture")
        }
    }
}

/// A source video's poster.
#[utoipa::path(get, path = "/thumbs/videos/{file}",
    params(("file" = String, Path, description = "`<video id>.jpg`.")),
    responses(
        (status = 200, description = "The poster, 320 px wide.", content((Jpeg = "image/jpeg"))),
        (status = 404, description = "No such video, or it has no poster (yet).", body = ErrorBody),
    ),
)]
pub async fn video_poster(State(st): State<AppState>, Path(file): Path<String>) -> Response {
    let Some(id) = id_of::<i64>(&file) else {
        return missing("not a poster: `<video id>.jpg`");
    };
    match st.library.poster(id) {
        Some(path) => serve(&path).await,
        None => missing(format!("no poster of video {id}")),
    }
}

/// The picture of a clip: its middle frame, made by its encode.
#[utoipa::path(get, path = "/thumbs/{channel}/clips/{chunk}/{file}",
    params(
        ("channel" = String, Path, description = "The channel's slug."),
        ("chunk" = String, Path, description = "The chunk's id."),
        ("file" = String, Path, description = "`<clip index>.jpg`, the index from 0."),
    ),
    responses(
        (status = 200, description = "The picture, 320 px wide.", content((Jpeg = "image/jpeg"))),
        (status = 404, description = "No such channel, chunk or clip, or the clip has no picture.", body = ErrorBody),
    ),
)]
pub async fn clip_picture(
    State(st): State<AppState>,
    Path((channel, chunk, file)): Path<(String, String, String)>,
) -> Response {
    let (Some(index), true) = (id_of::<usize>(&file), is_chunk_id(&chunk)) else {
        return missing("not a clip picture: `<chunk id>/<clip index>.jpg`");
    };
    let Some(ch) = st.station.get(&channel) else {
        return missing(format!("no channel {channel:?}"));
    };
    let picture = ch
        .playout
        .chunk(&chunk)
        .and_then(|c| clip_of(&c, index).and_then(|k| k.picture.clone()));
    match picture {
        Some(path) => serve(&path).await,
        None => missing(format!("no picture of clip {index} of chunk {chunk:?}")),
    }
}

/// A chunk's strip: up to 6 of its clips' pictures side by side, each 160 px wide.
#[utoipa::path(get, path = "/thumbs/{channel}/chunks/{file}",
    params(
        ("channel" = String, Path, description = "The channel's slug."),
        ("file" = String, Path, description = "`<chunk id>.jpg`."),
    ),
    responses(
        (status = 200, description = "The strip.", content((Jpeg = "image/jpeg"))),
        (status = 404, description = "No such channel or chunk, or the chunk has no strip (yet).", body = ErrorBody),
    ),
)]
pub async fn chunk_strip(
    State(st): State<AppState>,
    Path((channel, file)): Path<(String, String)>,
) -> Response {
    let Some(chunk) = file.strip_suffix(".jpg").filter(|c| is_chunk_id(c)) else {
        return missing("not a chunk strip: `<chunk id>.jpg`");
    };
    let Some(ch) = st.station.get(&channel) else {
        return missing(format!("no channel {channel:?}"));
    };
    let strip = ch.playout.chunk(chunk).and_then(|c| c.strip);
    match strip {
        Some(path) => serve(&path).await,
        None => missing(format!("no strip of chunk {chunk:?}")),
    }
}

/// A channel's logo, for IPTV apps, media servers and the web client: its own PNG
/// or JPEG as it is, its SVG, WebP or GIF converted to PNG, else a PNG of its
/// number and name.
#[utoipa::path(get, path = "/logos/{slug}",
    params(("slug" = String, Path, description = "The channel's slug.")),
    responses(
        (status = 200, description = "The image: the channel's own PNG or JPEG as it is; its SVG, WebP or GIF converted to PNG (at most 512 px); else (none, or one that cannot be read or converted) a 400x400 PNG of its number and name.", content(
            (Vec<u8> = "image/png"), (Vec<u8> = "image/jpeg"),
        )),
        (status = 404, description = "No such channel.", body = ErrorBody),
    ),
)]
pub async fn channel_logo(State(st): State<AppState>, Path(slug): Path<String>) -> Response {
    let Some(ch) = st.station.get(&slug) else {
        return ApiError::not_found(format!("no channel {slug:?}")).into_response();
    };
    match st.logos.get(&ch.def()).await {
        Ok(logo) => (
            [
                (header::CONTENT_TYPE, logo.content_type),
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            logo.bytes,
        )
            .into_response(),
        Err(e) => ApiError::internal(format!("channel {slug}: no logo could be drawn: {e}"))
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::urls::clip_url;

    #[test]
    fn only_numbers_and_chunk_ids_pass() {
        assert_eq!(id_of::<i64>("12.jpg"), Some(12));
        assert_eq!(id_of::<usize>("0.jpg"), Some(0));
        for bad in [
            "",
            ".jpg",
            "-1.jpg",
            "+1.jpg",
            "1.png",
            "1",
            "../1.jpg",
            "1.jpg/",
            "١.jpg",
            "99999999999999999999999.jpg",
        ] {
            assert_eq!(id_of::<i64>(bad), None, "{bad}");
        }
        assert!(is_chunk_id("20261201-081923-c28c"));
        for bad in ["", "..", "a/b", "a%2Fb", "a.b", "a b", &"x".repeat(65)] {
            assert!(!is_chunk_id(bad), "{bad}");
        }
    }

    #[test]
    fn urls_only_for_pictures_that_exist() {
        let mut info = ClipInfo {
            id: "c1/3".into(),
            chunk: Some("c1".into()),
            ..ClipInfo::default()
        };
        assert_eq!(clip_url("main", &info), None);
        info.picture = Some("/d/c1/clip-0003.jpg".into());
        assert_eq!(
            clip_url("main", &info).as_deref(),
            Some("/thumbs/main/clips/c1/3.jpg")
        );
        info.chunk = None;
        assert_eq!(clip_url("main", &info), None, "the slate has no picture");
    }
}
