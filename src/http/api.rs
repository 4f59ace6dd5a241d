//! The JSON API, at the original tool's paths so its clients keep working.
//! Read-only routes are open (or behind the viewer token); the rest need the admin
//! token (see `auth`).

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::Stream;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use crate::channel::Command;
use crate::schedule::Chunk;
use crate::schedule::generator::GeneratorCommand;
use crate::settings;

type ApiResult<T> = Result<T, ApiError>;

/// GET /api/status: is it on air, and how is it doing.
pub async fn status(State(st): State<AppState>) -> ApiResult<Json<Value>> {
    let live = st.live.stats();
    let counts = st.library.counts()?;
    let chunks = st.playout.chunks();
    Ok(Json(json!({
        "on_air": live.segments_published > 0,
        "uptime_secs": st.started.elapsed().map_or(0, |d| d.as_secs()),
        "segments_published": live.segments_published,
        "underruns": live.underruns,
        "discontinuities": live.discontinuities,
        "chunks": chunks.iter().filter(|c| c.complete).count(),
        "chunks_building": chunks.iter().filter(|c| !c.complete).count(),
        "chunks_never_aired": chunks.iter().filter(|c| c.complete && c.times_aired == 0).count(),
        "generator": st.generator.status(),
        "library": counts,
    })))
}

/// What is on air and what comes next.
#[derive(Serialize)]
struct StreamStatus {
    on_air: bool,
    /// The slate airs (no clip was ready): `clip` and `chunk` are then null.
    slate: bool,
    chunk: Option<String>,
    clip: Option<Value>,
    track: Option<Value>,
    next_chunk: Option<String>,
    sequence: u64,
}

/// GET /api/stream-status
pub async fn stream_status(State(st): State<AppState>) -> Json<Value> {
    Json(stream_status_value(&st))
}

pub(crate) fn stream_status_value(st: &AppState) -> Value {
    let now = st.live.now_playing();
    let (_, next_chunk) = st.playout.now_and_next();
    // The slate is no clip: reported as the slate, never as a clip "shufflecast".
    let slate = now.clip.as_ref().is_some_and(|c| c.is_slate());
    let airing = now.clip.as_ref().filter(|c| !c.is_slate());
    let clip = airing.map(|c| {
        json!({
            "id": c.id,
            "title": c.title,
            "creator": c.creator,
            "source": c.source.as_ref().and_then(|p| p.file_name()).map(|n| n.to_string_lossy()),
            "source_start": c.source_start,
            "position": now.clip_position,
            "duration": now.clip_duration,
        })
    });
    let track = now.track.as_ref().map(|t| {
        json!({
            "title": t.title,
            "position": now.track_position,
            "duration": t.duration,
        })
    });
    serde_json::to_value(StreamStatus {
        on_air: now.clip.is_some(),
        slate,
        chunk: airing.and_then(|c| c.chunk.clone()),
        clip,
        track,
        next_chunk,
        sequence: now.seq,
    })
    .expect("serializes")
}

/// Paging and search of list routes.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    offset: Option<u64>,
    limit: Option<u64>,
    /// Substring of the id or of a clip's title (case-insensitive).
    q: Option<String>,
    /// created | aired | times_aired | size | duration
    sort: Option<String>,
    /// asc | desc
    order: Option<String>,
}

fn page(q: &ListQuery) -> ApiResult<(usize, usize)> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::invalid("limit", "must be between 1 and 100"));
    }
    Ok((q.offset.unwrap_or(0) as usize, limit as usize))
}

fn chunk_json(c: &Chunk, airing: &[String]) -> Value {
    json!({
        "id": c.id,
        "name": c.id,
        "state": if c.complete { "ready" } else { "building" },
        "clips": c.clips.len(),
        "duration": c.duration,
        "size_bytes": c.size_bytes,
        "times_aired": c.times_aired,
        "created_at": c.created_at,
        "encoder": c.encoder,
        "on_air": airing.first() == Some(&c.id),
        "titles": c.clips.iter().map(|k| k.info.title.clone()).collect::<Vec<_>>(),
    })
}

/// GET /api/chunks
pub async fn chunks(
    State(st): State<AppState>,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(q) = q.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let (offset, limit) = page(&q)?;
    let mut all = st.playout.chunks();
    if let Some(needle) =
        q.q.as_deref()
            .map(str::to_lowercase)
            .filter(|n| !n.is_empty())
    {
        all.retain(|c| {
            c.id.to_lowercase().contains(&needle)
                || c.clips
                    .iter()
                    .any(|k| k.info.title.to_lowercase().contains(&needle))
        });
    }
    match q.sort.as_deref().unwrap_or("created") {
        "created" => all.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id))),
        "aired" => all.sort_by_key(|c| c.last_aired),
        "times_aired" => all.sort_by_key(|c| c.times_aired),
        "size" => all.sort_by_key(|c| c.size_bytes),
        "duration" => all.sort_by(|a, b| a.duration.total_cmp(&b.duration)),
        _ => {
            return Err(ApiError::invalid(
                "sort",
                "must be one of created, aired, times_aired, size, duration",
            ));
        }
    }
    match q.order.as_deref().unwrap_or("desc") {
        "asc" => {}
        "desc" => all.reverse(),
        _ => return Err(ApiError::invalid("order", "must be asc or desc")),
    }
    let airing = st.playout.airing();
    let total = all.len();
    let items: Vec<Value> = all
        .iter()
        .skip(offset)
        .take(limit)
        .map(|c| chunk_json(c, &airing))
        .collect();
    Ok(Json(
        json!({ "total": total, "offset": offset, "limit": limit, "chunks": items }),
    ))
}

/// GET /api/chunks/{id}: a chunk with its clips (source, time range).
pub async fn chunk(State(st): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let Some(c) = st.playout.chunks().into_iter().find(|c| c.id == id) else {
        return Err(ApiError::not_found(format!("no chunk {id:?}")));
    };
    let mut v = chunk_json(&c, &st.playout.airing());
    let clips: Vec<Value> = st
        .playout
        .clip_records(&id)
        .map_err(ApiError::internal)?
        .into_iter()
        .map(|c| {
            json!({
                "index": c.idx,
                "source": c.rec.source,
                "title": c.rec.title,
                "creator": c.rec.creator,
                "start": c.rec.start,
                "duration": c.rec.duration,
                "size_bytes": c.rec.size_bytes,
                "encoder": c.rec.encoder,
            })
        })
        .collect();
    v["clip_list"] = Value::Array(clips);
    Ok(Json(v))
}

/// DELETE /api/chunks/{id}: never the one on air or one being built.
pub async fn delete_chunk(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let Some(c) = st.playout.chunks().into_iter().find(|c| c.id == id) else {
        return Err(ApiError::not_found(format!("no chunk {id:?}")));
    };
    if !c.complete {
        return Err(ApiError::conflict("the chunk is still being made"));
    }
    match st.playout.delete(&id)? {
        Some(dir) => {
            let _ = tokio::fs::remove_dir_all(&dir).await;
            tracing::info!(chunk = %id, "chunk deleted on request");
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        None => Err(ApiError::conflict("the chunk is on air")),
    }
}

/// GET /api/library: source videos in LRU order, with used ranges and errors.
pub async fn library(
    State(st): State<AppState>,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(q) = q.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let (offset, limit) = page(&q)?;
    let videos = st.library.list(offset as u64, limit as u64)?;
    // The list is in LRU order, usable videos first: the rank is the position.
    let videos: Vec<Value> = videos
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            let usable = v.duration.is_some();
            let mut j = serde_json::to_value(v).expect("serializes");
            j["lru_rank"] = if usable {
                json!(offset + i + 1)
            } else {
                Value::Null
            };
            j
        })
        .collect();
    Ok(Json(
        json!({ "counts": st.library.counts()?, "offset": offset, "limit": limit, "videos": videos }),
    ))
}

/// GET /api/audio: music tracks, least played first, with search.
pub async fn audio(
    State(st): State<AppState>,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(q) = q.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let (offset, limit) = page(&q)?;
    let (total, tracks) = st.music.list(q.q.as_deref(), offset as u64, limit as u64)?;
    let now = st.live.now_playing();
    Ok(Json(json!({
        "total": total,
        "offset": offset,
        "limit": limit,
        "now_playing": now.track.as_ref().map(|t| t.title.clone()),
        "tracks": tracks,
    })))
}

/// Body of POST /api/play_audio; `audio_name` is the original tool's name.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlayAudioBody {
    audio_name: Option<String>,
    track_id: Option<String>,
}

/// POST /api/play_audio: the track plays after the one already queued.
pub async fn play_audio(
    State(st): State<AppState>,
    body: Result<Json<PlayAudioBody>, JsonRejection>,
) -> ApiResult<Response> {
    let Json(b) = body?;
    let Some(name) = b.track_id.or(b.audio_name) else {
        return Err(ApiError::invalid("audio_name", "is required"));
    };
    // A path from the original's clients: only the file name counts.
    let name = name.rsplit('/').next().unwrap_or_default().to_string();
    match st.music.play_next(&name)? {
        Some(title) => Ok((StatusCode::ACCEPTED, Json(json!({ "queued": title }))).into_response()),
        None => Err(ApiError::not_found(format!("no playable track {name:?}"))),
    }
}

/// GET /api/system-usage: the newest sample and the last minutes of them.
pub async fn system_usage(State(st): State<AppState>) -> Json<Value> {
    Json(json!({
        "now": st.monitor.latest(),
        "history": st.monitor.history(),
        "encoder": st.encoder,
    }))
}

/// The settings in force, those saved for the next start, and which differ.
fn settings_value(st: &AppState) -> ApiResult<Value> {
    let running = &st.config;
    let effective = running.with(&settings::saved(&st.db)?);
    Ok(json!({
        "settings": settings::view(&effective),
        "restart_fields": settings::restart_fields(),
        "pending_restart": effective.differences(running, settings::Apply::Restart),
    }))
}

/// GET /api/settings
pub async fn get_settings(State(st): State<AppState>) -> ApiResult<Json<Value>> {
    Ok(Json(settings_value(&st)?))
}

/// GET /api/settings/schema: the JSON schema of the editable settings, from which
/// the web client renders its form.
pub async fn settings_schema() -> Json<Value> {
    Json(settings::schema())
}

/// PUT /api/settings: any subset of the fields; all are checked before any is
/// saved. Live fields apply to the next clip and chunk; the others at the next start.
pub async fn put_settings(
    State(st): State<AppState>,
    body: Result<Json<settings::Patch>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let Json(patch) = body?;
    let next = st.config.with(&settings::saved(&st.db)?).with(&patch);
    settings::validate(&next, settings::Scope::Editable).map_err(|(spec, problem)| {
        let reason = match problem {
            settings::Problem::Reason(r) => r,
            settings::Problem::MissingFolder(p) => format!("{} is not a folder", p.display()),
        };
        ApiError::invalid(spec.key, reason)
    })?;
    settings::save(&st.db, &patch)?;
    st.generator
        .update_settings(|g| g.channel = next.channel.clone());
    tracing::info!(changes = %serde_json::to_string(&patch).unwrap_or_default(), "settings changed");
    Ok(Json(settings_value(&st)?))
}

/// GET /api/stats
pub async fn stats(State(st): State<AppState>) -> ApiResult<Json<Value>> {
    Ok(Json(
        serde_json::to_value(crate::stats::read(&st.db, 20)?).expect("serializes"),
    ))
}

/// GET /api/jobs: the generator's state and each job's progress.
pub async fn jobs(State(st): State<AppState>) -> Json<Value> {
    Json(serde_json::to_value(st.generator.status()).expect("serializes"))
}

/// Body of POST /api/generate_chunk (optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerateBody {
    count: Option<u32>,
}

/// POST /api/generate_chunk: makes `count` chunks (CHUNKS_PER_RUN by default).
pub async fn generate(State(st): State<AppState>, body: axum::body::Bytes) -> ApiResult<Response> {
    // The original's clients post no body at all.
    let body: GenerateBody = if body.iter().all(u8::is_ascii_whitespace) {
        GenerateBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            if e.is_data() {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string())
            } else {
                ApiError::bad_request(format!("malformed JSON: {e}"))
            }
        })?
    };
    let count = body
        .count
        .unwrap_or(st.generator.settings().channel.chunks_per_run as u32);
    if !(1..=100).contains(&count) {
        return Err(ApiError::invalid("count", "must be between 1 and 100"));
    }
    st.generator
        .send(GeneratorCommand::Generate(count as usize));
    Ok((StatusCode::ACCEPTED, Json(json!({ "requested": count }))).into_response())
}

/// POST /api/stop_generation
pub async fn stop_generation(State(st): State<AppState>) -> Response {
    st.generator.send(GeneratorCommand::Stop);
    (StatusCode::ACCEPTED, Json(json!({ "stopping": true }))).into_response()
}

/// POST /api/skip_to_next: the next segment comes from the next clip.
pub async fn skip_to_next(State(st): State<AppState>) -> Response {
    st.control.send(Command::SkipClip);
    (StatusCode::ACCEPTED, Json(json!({ "skipping": "clip" }))).into_response()
}

/// POST /api/skip_to_next_audio
pub async fn skip_to_next_audio(State(st): State<AppState>) -> Response {
    st.control.send(Command::SkipTrack);
    (StatusCode::ACCEPTED, Json(json!({ "skipping": "track" }))).into_response()
}

/// Body of POST /api/play_chunk; `chunk_name` is the original tool's name.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlayChunkBody {
    chunk_name: Option<String>,
    chunk_id: Option<String>,
}

/// POST /api/play_chunk: the chunk airs after the current one.
pub async fn play_chunk(
    State(st): State<AppState>,
    body: Result<Json<PlayChunkBody>, JsonRejection>,
) -> ApiResult<Response> {
    let Json(b) = body?;
    let Some(name) = b.chunk_id.or(b.chunk_name) else {
        return Err(ApiError::invalid("chunk_name", "is required"));
    };
    // The original named chunks by file; ours are folders: accept either.
    let id = name
        .trim_end_matches(".mp4")
        .trim_end_matches(".ts")
        .to_string();
    if st.playout.play_next(&id) {
        // The engine may have loaded the start of another chunk already.
        st.control.send(Command::Recue);
        Ok((StatusCode::ACCEPTED, Json(json!({ "next": id }))).into_response())
    } else {
        Err(ApiError::not_found(format!("no ready chunk {id:?}")))
    }
}

/// GET /api/events: server-sent events (now_playing, jobs, library), so clients
/// need not poll.
pub async fn events(
    State(st): State<AppState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    struct S {
        st: AppState,
        live: tokio::sync::watch::Receiver<u64>,
        jobs: tokio::sync::watch::Receiver<crate::schedule::generator::GeneratorStatus>,
        library: tokio::sync::watch::Receiver<u64>,
        last_now: Option<Value>,
        first: bool,
    }
    let s = S {
        live: st.live.subscribe(),
        jobs: st.generator.subscribe(),
        library: st.library.subscribe(),
        st,
        last_now: None,
        first: true,
    };
    let stream = futures::stream::unfold(s, |mut s| async move {
        loop {
            if std::mem::take(&mut s.first) {
                let v = stream_status_value(&s.st);
                s.last_now = Some(strip_positions(&v));
                let ev = Event::default()
                    .event("now_playing")
                    .json_data(v)
                    .expect("json");
                return Some((Ok(ev), s));
            }
            tokio::select! {
                r = s.live.changed() => {
                    r.ok()?;
                    // One event per change of clip or track, not per segment.
                    let v = stream_status_value(&s.st);
                    let key = strip_positions(&v);
                    if s.last_now.as_ref() != Some(&key) {
                        s.last_now = Some(key);
                        let ev = Event::default().event("now_playing").json_data(v).expect("json");
                        return Some((Ok(ev), s));
                    }
                }
                r = s.jobs.changed() => {
                    r.ok()?;
                    let v = s.jobs.borrow_and_update().clone();
                    let ev = Event::default().event("jobs").json_data(v).expect("json");
                    return Some((Ok(ev), s));
                }
                r = s.library.changed() => {
                    r.ok()?;
                    let counts = s.st.library.counts().unwrap_or_default();
                    let ev = Event::default().event("library").json_data(counts).expect("json");
                    return Some((Ok(ev), s));
                }
            }
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

/// The now-playing value without the positions that change every segment.
fn strip_positions(v: &Value) -> Value {
    json!([
        v["chunk"],
        v["clip"]["id"],
        v["track"]["title"],
        v["next_chunk"]
    ])
}

/// GET /readyz: 200 while segments are flowing.
pub async fn readyz(State(st): State<AppState>) -> Response {
    let recent = st
        .live
        .last_published()
        .is_some_and(|t| t.elapsed().unwrap_or_default() < Duration::from_secs(10));
    if recent {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "no segment in the last 10 s\n",
        )
            .into_response()
    }
}
