//! Files people play before they air: a chunk as a VOD playlist over its clip
//! files (the web client's preview), a chunk as one file (the original's
//! `/chunks/<name>`: its clips joined with continuous timestamps, or that remuxed
//! to MP4; never re-encoded), and a music track (the original's `/audio/<path>`).
//!
//! Everything is named by id or by a path confined to its folder: a chunk and a
//! clip by the playout's ids, a track by its path inside the channel's music folder
//! (resolved through symlinks, and refused when it leads out).

use std::fmt::Write as _;

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::ServeFile;

use super::error::ApiError;
use super::pick::{Ch, ChannelQuery};
use super::state::AppState;
use super::urls;
use super::web::Confined;
use super::wire::{ErrorBody, MpegTs};
use crate::media::ts::join::Joiner;
use crate::schedule::Chunk;
use crate::station::OnAir;

type ApiResult<T> = Result<T, ApiError>;

/// A chunk may still grow, and a preview is made per request: caches may keep it
/// briefly, no more.
const PREVIEW_CACHE: &str = "public, max-age=5";

/// The query string of the URLs a preview playlist lists: the channel, and the
/// viewer token when one is in force (players fetch by the listed URI and would
/// not add it themselves).
fn query(st: &AppState, ch: &OnAir) -> String {
    let mut q = format!("?channel={}", urls::urlencode(ch.slug.as_str()));
    if let Some(t) = &st.tokens.viewer {
        let _ = write!(q, "&token={}", urls::urlencode(t));
    }
    q
}

fn find_chunk(ch: &OnAir, id: &str) -> ApiResult<Chunk> {
    ch.playout
        .chunk(id)
        .ok_or_else(|| ApiError::not_found(format!("no chunk {id:?}")))
}

/// A chunk as a VOD playlist: one entry per clip file, a discontinuity between
/// clips (each clip has its own timestamps). Clips carry video only: the music is
/// the channel's, muxed in on air.
#[utoipa::path(get, path = "/api/chunks/{id}/playlist.m3u8",
    params(ChannelQuery, ("id" = String, Path, description = "The chunk's id.")),
    responses(
        (status = 200, description = "The chunk's playlist, ending with EXT-X-ENDLIST.", content_type = "application/vnd.apple.mpegurl", body = String),
        (status = 404, description = "No such chunk, or no clip of it is made yet.", body = ErrorBody),
    ),
)]
pub async fn chunk_playlist(
    State(st): State<AppState>,
    Ch(ch): Ch,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let chunk = find_chunk(&ch, &id)?;
    let clips = &chunk.clips;
    if clips.is_empty() {
        return Err(ApiError::not_found(format!("chunk {id:?} has no clip yet")));
    }
    let target = clips
        .iter()
        .map(|c| c.info.duration.ceil() as u64)
        .max()
        .unwrap_or(1)
        .max(1);
    let q = query(&st, &ch);
    let mut m3u = format!(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-TARGETDURATION:{target}\n#EXT-X-MEDIA-SEQUENCE:0\n"
    );
    for (i, c) in clips.iter().enumerate() {
        let Some(index) = urls::clip_index(&c.info) else {
            continue;
        };
        if i > 0 {
            m3u.push_str("#EXT-X-DISCONTINUITY\n");
        }
        let _ = writeln!(
            m3u,
            "#EXTINF:{:.3},\n/api/chunks/{}/clips/{}.ts{q}",
            c.info.duration,
            urls::urlencode(&chunk.id),
            index
        );
    }
    // A chunk still being made is listed as far as it is: a player reloads a
    // playlist without ENDLIST, so it sees clips as they come.
    if chunk.complete {
        m3u.push_str("#EXT-X-ENDLIST\n");
    }
    Ok((
        [
            (header::CONTENT_TYPE, super::state::PLAYLIST_TYPE),
            (header::CACHE_CONTROL, PREVIEW_CACHE),
        ],
        m3u,
    )
        .into_response())
}

/// One clip file of a chunk, as encoded (video only), with Range.
#[utoipa::path(get, path = "/api/chunks/{id}/clips/{file}",
    params(
        ChannelQuery,
        ("id" = String, Path, description = "The chunk's id."),
        ("file" = String, Path, description = "`<index>.ts`, the clip's place in the chunk from 0."),
    ),
    responses(
        (status = 200, description = "The clip.", content((MpegTs = "video/mp2t"))),
        (status = 206, description = "Part of the clip.", content((MpegTs = "video/mp2t"))),
        (status = 404, description = "No such chunk or clip.", body = ErrorBody),
    ),
)]
pub async fn chunk_clip(
    Ch(ch): Ch,
    Path((id, file)): Path<(String, String)>,
    req: Request,
) -> ApiResult<Response> {
    let chunk = find_chunk(&ch, &id)?;
    let index: usize = file
        .strip_suffix(".ts")
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| ApiError::not_found(format!("no clip {file:?}: clips are <index>.ts")))?;
    let clip = chunk
        .clips
        .get(index)
        .ok_or_else(|| ApiError::not_found(format!("chunk {id:?} has no clip {index}")))?;
    // The lowest rung the clip was made in (cheap on a phone); the path is the
    // playout's, never the request's.
    let path = clip
        .rung_files()
        .last()
        .unwrap_or_else(|| clip.path.clone());
    let mut res = serve_file(&path, req).await?;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(super::state::SEGMENT_TYPE),
    );
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(super::state::SEGMENT_CACHE),
    );
    Ok(res)
}

/// A file from disk through tower-http (Range, If-Modified-Since, HEAD), with our
/// JSON error when it is not there.
async fn serve_file(path: &std::path::Path, req: Request) -> ApiResult<Response> {
    let res = ServeFile::new(path)
        .oneshot(req)
        .await
        .map_err(ApiError::internal)?;
    if res.status() == StatusCode::NOT_FOUND {
        return Err(ApiError::not_found("the file is gone"));
    }
    Ok(res.map(Body::new))
}

/// A chunk as one file (the original's `/chunks/<name>`): `<id>` or `<id>.ts`, its
/// clips joined into one MPEG-TS with continuous timestamps; `<id>.mp4`, that
/// remuxed to MP4 by ffmpeg (`-c copy`). Video only, the top rung. Sent with its
/// length, and Range honoured, so a player shows its duration and can seek.
#[utoipa::path(get, path = "/chunks/{name}",
    params(ChannelQuery, ("name" = String, Path, description = "`<id>`, `<id>.ts` or `<id>.mp4`.")),
    responses(
        (status = 200, description = "The chunk.", content((MpegTs = "video/mp2t"), (MpegTs = "video/mp4"))),
        (status = 206, description = "Part of the chunk.", content((MpegTs = "video/mp2t"), (MpegTs = "video/mp4"))),
        (status = 404, description = "No such chunk, or no clip of it is made yet.", body = ErrorBody),
        (status = 500, description = "A clip file could not be read or remuxed.", body = ErrorBody),
    ),
)]
pub async fn chunk_file(
    State(st): State<AppState>,
    Ch(ch): Ch,
    Path(name): Path<String>,
    req: Request,
) -> ApiResult<Response> {
    let (id, mp4) = match name.strip_suffix(".mp4") {
        Some(id) => (id, true),
        None => (name.strip_suffix(".ts").unwrap_or(&name), false),
    };
    let chunk = find_chunk(&ch, id)?;
    if chunk.clips.is_empty() {
        return Err(ApiError::not_found(format!("chunk {id:?} has no clip yet")));
    }
    let path = joined(&st, &chunk, mp4).await?;
    // The path is ours, never the request's: served with its length, Range and HEAD.
    let mut res = serve_file(&path, req).await?;
    let (kind, ext) = match mp4 {
        true => ("video/mp4", "mp4"),
        false => (super::state::SEGMENT_TYPE, "ts"),
    };
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(PREVIEW_CACHE),
    );
    h.insert(header::CONTENT_DISPOSITION, attachment(id, ext));
    Ok(res)
}

/// The chunk's clips joined into one MPEG-TS with continuous timestamps (never
/// re-encoded), or that remuxed to MP4 by ffmpeg (`-c copy`): a hidden file of the
/// chunk's folder, gone with the chunk, made once for each number of clips (a
/// chunk still being made is joined again as it grows; the file of fewer clips
/// goes then). Made through a temporary file, so a reader never sees half of it.
async fn joined(st: &AppState, chunk: &Chunk, mp4: bool) -> ApiResult<std::path::PathBuf> {
    let n = chunk.clips.len();
    let name = |ext: &str| chunk.dir.join(format!(".joined-{n}.{ext}"));
    let (ts, out) = (name("ts"), name(if mp4 { "mp4" } else { "ts" }));
    if out.is_file() {
        return Ok(out);
    }
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    if !ts.is_file() {
        let paths: Vec<std::path::PathBuf> = chunk.clips.iter().map(|c| c.path.clone()).collect();
        let (dir, tmp) = (
            chunk.dir.clone(),
            chunk.dir.join(format!(".join-{stamp}.ts")),
        );
        let target = ts.clone();
        tokio::task::spawn_blocking(move || -> Result<(), String> {
            let mut out = Vec::new();
            let mut j = Joiner::new();
            for p in &paths {
                let clip = std::fs::read(p).map_err(|e| format!("reading {}: {e}", p.display()))?;
                j.push(&clip, &mut out)
                    .map_err(|e| format!("{}: {e}", p.display()))?;
            }
            let written = std::fs::write(&tmp, &out).and_then(|()| std::fs::rename(&tmp, &target));
            if let Err(e) = written {
                let _ = std::fs::remove_file(&tmp);
                return Err(format!("writing {}: {e}", target.display()));
            }
            remove_older_joins(&dir, n);
            Ok(())
        })
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| ApiError::internal(format!("cannot join chunk {}: {e}", chunk.id)))?;
    }
    if mp4 {
        // By the niced ffmpeg (music's): a remux must not take CPU from the encodes
        // the stream needs.
        let tmp = chunk.dir.join(format!(".join-{stamp}.mp4"));
        let remuxed = st.station.shared().music_ff.remux_mp4(&ts, &tmp).await;
        let renamed = match remuxed {
            Ok(()) => tokio::fs::rename(&tmp, &out)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = renamed {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(ApiError::internal(format!(
                "cannot make {}.mp4: {e}",
                chunk.id
            )));
        }
    }
    Ok(out)
}

/// Removes the joined files of a chunk made of other than `n` clips.
fn remove_older_joins(dir: &std::path::Path, n: usize) {
    let keep = [format!(".joined-{n}.ts"), format!(".joined-{n}.mp4")];
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with(".joined-") && !keep.contains(&name) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

fn attachment(id: &str, ext: &str) -> HeaderValue {
    // Chunk ids are ASCII letters, digits and dashes; anything else is dropped.
    let safe: String = id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    HeaderValue::from_str(&format!("inline; filename=\"{safe}.{ext}\""))
        .unwrap_or(HeaderValue::from_static("inline"))
}

/// A music track from the channel's music folder (the original's `/audio/<path>`),
/// with Range. The path must stay inside the folder, however it is written: `..`,
/// a longer folder name with the same prefix (`/audio2`), a hidden file or a
/// symlink out are all refused.
#[utoipa::path(get, path = "/audio/{*path}",
    params(ChannelQuery, ("path" = String, Path, description = "The track's path in the music folder (`Track.path`).")),
    responses(
        (status = 200, description = "The file, typed by its extension.", content((MpegTs = "audio/*"))),
        (status = 206, description = "Part of the file.", content((MpegTs = "audio/*"))),
        (status = 404, description = "No such file in the music folder, or no music folder.", body = ErrorBody),
    ),
)]
pub async fn audio_file(Ch(ch): Ch, Path(path): Path<String>, req: Request) -> ApiResult<Response> {
    let Some(folder) = ch.music.folder().and_then(Confined::open) else {
        return Err(ApiError::not_found("this channel has no music folder"));
    };
    let Some(file) = folder.resolve(&path) else {
        return Err(ApiError::not_found(format!(
            "no track {path:?} in the music folder"
        )));
    };
    let mut res = serve_file(&file, req).await?;
    res.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    Ok(res)
}
