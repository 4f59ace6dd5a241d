//! The JSON API, at the original tool's paths so its clients keep working.
//! Read-only routes are open (or behind the viewer token); the rest need the admin
//! token (see `auth`). Bodies are the types of `wire`; each handler's
//! `#[utoipa::path]` is its entry in the OpenAPI document.

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;

use super::error::ApiError;
use super::pick::{Ch, ChannelQuery};
use super::state::AppState;
use super::thumbs;
use super::urls;
use super::wire::{
    AudioPage, Chunk, ChunkClip, ChunkDetail, ChunkList, ChunkSort, ChunksQuery, ErrorBody,
    FreshAir, GenerateRequest, Jobs, LibraryPage, Next, PageQuery, PlayAudioRequest,
    PlayChunkRequest, Queued, Requested, RungStatus, SearchQuery, ServerEvent, SettingsResponse,
    SkipTarget, Skipping, Stats, Status, Stopping, StreamStatus, SystemUsage, Track, Usage, Video,
    Viewers,
};
use crate::engine::Command;
use crate::schedule::generator::GeneratorCommand;
use crate::settings;
use crate::station::OnAir;
use std::sync::Arc;

type ApiResult<T> = Result<T, ApiError>;

/// On air or not, counters, generator state, library counts.
#[utoipa::path(get, path = "/api/status", params(ChannelQuery), responses(
    (status = 200, description = "The channel's status.", body = Status),
))]
pub async fn status(State(st): State<AppState>, Ch(ch): Ch) -> ApiResult<Json<Status>> {
    let live = ch.live.stats();
    let counts = ch.library.counts()?;
    let chunks = ch.playout.chunks();
    Ok(Json(Status {
        on_air: live.segments_published > 0,
        uptime_secs: st.started.elapsed().map_or(0, |d| d.as_secs()),
        segments_published: live.segments_published,
        underruns: live.underruns,
        waiting: live.waiting,
        repeats: live.repeats,
        discontinuities: live.discontinuities,
        chunks: chunks.iter().filter(|c| c.complete).count(),
        chunks_building: chunks.iter().filter(|c| !c.complete).count(),
        chunks_never_aired: chunks
            .iter()
            .filter(|c| c.complete && c.times_aired == 0)
            .count(),
        generator: ch.generator.status().into(),
        library: counts.into(),
        rungs: rungs(&st, &ch),
        viewers: Viewers::of(&ch.live),
        air: FreshAir::of(&ch.playout),
    }))
}

/// The rungs of `ch`'s ladder, as aired and as watched.
fn rungs(st: &AppState, ch: &OnAir) -> Vec<RungStatus> {
    let measured = ch.live.bandwidth();
    ch.live
        .rungs()
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let name = ch.live.rung_name(i);
            let served = st.viewing.rung(ch.slug.as_str(), &name);
            let m = measured.get(i).cloned().unwrap_or_default();
            RungStatus {
                name,
                width: r.width,
                height: r.height,
                video_kbps: r.video_kbps,
                peak_bps: m.peak_bps,
                average_bps: m.average_bps,
                requests: served.requests(),
                bytes: served.bytes(),
            }
        })
        .collect()
}

/// The chunk, clip and track on air, and the next chunk.
///
/// `slate` is true (clip and chunk null) while the slate airs.
#[utoipa::path(get, path = "/api/stream-status", params(ChannelQuery), responses(
    (status = 200, description = "What is on air.", body = StreamStatus),
))]
pub async fn stream_status(Ch(ch): Ch) -> Json<StreamStatus> {
    Json(now_playing(&ch))
}

/// What airs on `ch` now, and its next chunk.
pub(super) fn now_playing(ch: &OnAir) -> StreamStatus {
    let (_, next_chunk) = ch.playout.now_and_next();
    let now = ch.live.now_playing();
    let mut status = StreamStatus::new(&now, next_chunk);
    // Pictures (issue 15): the clip on air's, and the next chunk's strip.
    if let (Some(clip), Some(info)) = (status.clip.as_mut(), now.clip.as_ref()) {
        clip.thumbnail = urls::clip_url(ch.slug.as_str(), info);
    }
    let next = status
        .next_chunk
        .as_ref()
        .and_then(|id| ch.playout.chunk(id));
    status.next_thumbnail = next
        .as_ref()
        .and_then(|c| urls::strip_url(ch.slug.as_str(), c));
    status.next_title = next.as_ref().map(|c| c.title());
    status.chunk_title = status
        .chunk
        .as_ref()
        .and_then(|id| ch.playout.chunk(id))
        .map(|c| c.title());
    status
}

/// `offset` and `limit` of a list route, checked.
fn page(offset: Option<u64>, limit: Option<u64>) -> ApiResult<(usize, usize)> {
    let limit = limit.unwrap_or(50);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::invalid("limit", "must be between 1 and 100"));
    }
    Ok((offset.unwrap_or(0) as usize, limit as usize))
}

/// Chunks, with paging, search and sort.
#[utoipa::path(get, path = "/api/chunks", params(ChunksQuery, ChannelQuery), responses(
    (status = 200, description = "A page of chunks.", body = ChunkList),
    (status = 400, description = "A query parameter does not parse.", body = ErrorBody),
    (status = 422, description = "`limit`, `sort` or `order` is out of range.", body = ErrorBody),
))]
pub async fn chunks(
    Ch(ch): Ch,
    q: Result<Query<ChunksQuery>, QueryRejection>,
) -> ApiResult<Json<ChunkList>> {
    let Query(q) = q?;
    let (offset, limit) = page(q.offset, q.limit)?;
    let mut all = ch.playout.chunks();
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
    let sort = q.sort.as_deref().unwrap_or("created");
    let Some(&(_, sort)) = ChunkSort::ALL.iter().find(|(name, _)| *name == sort) else {
        return Err(ApiError::invalid(
            "sort",
            "must be one of created, aired, times_aired, size, duration",
        ));
    };
    match sort {
        ChunkSort::Created => {
            all.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)))
        }
        ChunkSort::Aired => all.sort_by_key(|c| c.last_aired),
        ChunkSort::TimesAired => all.sort_by_key(|c| c.times_aired),
        ChunkSort::Size => all.sort_by_key(|c| c.size_bytes),
        ChunkSort::Duration => all.sort_by(|a, b| a.duration.total_cmp(&b.duration)),
    }
    match q.order.as_deref().unwrap_or("desc") {
        "asc" => {}
        "desc" => all.reverse(),
        _ => return Err(ApiError::invalid("order", "must be asc or desc")),
    }
    let airing = ch.playout.airing();
    let on_air = |c: &crate::schedule::Chunk| airing.first() == Some(&c.id);
    Ok(Json(ChunkList {
        total: all.len(),
        offset,
        limit,
        chunks: all
            .iter()
            .skip(offset)
            .take(limit)
            .map(|c| Chunk::new(c, ch.slug.as_str(), on_air(c)))
            .collect(),
    }))
}

/// A chunk with its clips (source, time range, encoder).
#[utoipa::path(get, path = "/api/chunks/{id}",
    params(ChannelQuery, ("id" = String, Path, description = "The chunk's id.")),
    responses(
        (status = 200, description = "The chunk and its clips.", body = ChunkDetail),
        (status = 404, description = "No such chunk.", body = ErrorBody),
    ),
)]
pub async fn chunk(Ch(ch): Ch, Path(id): Path<String>) -> ApiResult<Json<ChunkDetail>> {
    let Some(c) = ch.playout.chunk(&id) else {
        return Err(ApiError::not_found(format!("no chunk {id:?}")));
    };
    let on_air = ch.playout.airing().first() == Some(&c.id);
    let clip_list = c
        .clips
        .iter()
        .map(|clip| ChunkClip {
            thumbnail: urls::clip_url(ch.slug.as_str(), &clip.info),
            ..ChunkClip::from(&*clip.info)
        })
        .collect();
    Ok(Json(ChunkDetail {
        chunk: Chunk::new(&c, ch.slug.as_str(), on_air),
        clip_list,
    }))
}

/// Deletes a chunk; never the one on air or one being made (409).
#[utoipa::path(delete, path = "/api/chunks/{id}",
    params(ChannelQuery, ("id" = String, Path, description = "The chunk's id.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, description = "No such chunk.", body = ErrorBody),
        (status = 409, description = "The chunk is on air or still being made.", body = ErrorBody),
    ),
)]
pub async fn delete_chunk(Ch(ch): Ch, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let Some(c) = ch.playout.chunk(&id) else {
        return Err(ApiError::not_found(format!("no chunk {id:?}")));
    };
    if !c.complete {
        return Err(ApiError::conflict("the chunk is still being made"));
    }
    match ch.playout.delete(&id)? {
        Some(dir) => {
            let _ = tokio::fs::remove_dir_all(&dir).await;
            tracing::info!(chunk = %id, "chunk deleted on request");
            Ok(StatusCode::NO_CONTENT)
        }
        None => Err(ApiError::conflict("the chunk is on air")),
    }
}

/// Source videos in LRU order, with used ranges and errors.
#[utoipa::path(get, path = "/api/library", params(PageQuery, ChannelQuery), responses(
    (status = 200, description = "A page of source videos.", body = LibraryPage),
    (status = 400, description = "A query parameter does not parse.", body = ErrorBody),
    (status = 422, description = "`limit` is out of range.", body = ErrorBody),
))]
pub async fn library(
    State(st): State<AppState>,
    Ch(ch): Ch,
    q: Result<Query<PageQuery>, QueryRejection>,
) -> ApiResult<Json<LibraryPage>> {
    let Query(q) = q?;
    let (offset, limit) = page(q.offset, q.limit)?;
    let videos = ch.library.list(offset as u64, limit as u64)?;
    // The list is in LRU order, usable videos first: the rank is the position.
    let videos = videos
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            let rank = v.duration.is_some().then_some(offset + i + 1);
            let thumbnail = thumbs::video_url(&st, v.id);
            Video {
                thumbnail,
                ..Video::new(v, rank)
            }
        })
        .collect();
    Ok(Json(LibraryPage {
        counts: ch.library.counts()?.into(),
        offset,
        limit,
        videos,
    }))
}

/// Music tracks, least played first, with search.
#[utoipa::path(get, path = "/api/audio", params(SearchQuery, ChannelQuery), responses(
    (status = 200, description = "A page of music tracks.", body = AudioPage),
    (status = 400, description = "A query parameter does not parse.", body = ErrorBody),
    (status = 422, description = "`limit` is out of range.", body = ErrorBody),
))]
pub async fn audio(
    Ch(ch): Ch,
    q: Result<Query<SearchQuery>, QueryRejection>,
) -> ApiResult<Json<AudioPage>> {
    let Query(q) = q?;
    let (offset, limit) = page(q.offset, q.limit)?;
    let (total, tracks) = ch.music.list(q.q.as_deref(), offset as u64, limit as u64)?;
    let now = ch.live.now_playing();
    Ok(Json(AudioPage {
        total,
        offset,
        limit,
        now_playing: now.track.as_ref().map(|t| t.title.clone()),
        tracks: tracks
            .into_iter()
            .map(|t| Track::new(t, ch.slug.as_str()))
            .collect(),
    }))
}

/// The track plays after the one already queued.
#[utoipa::path(post, path = "/api/play_audio", params(ChannelQuery), request_body = PlayAudioRequest, responses(
    (status = 202, description = "Queued.", body = Queued),
    (status = 404, description = "No playable track of that name.", body = ErrorBody),
    (status = 422, description = "No track named, or a field of the wrong type or unknown.", body = ErrorBody),
))]
pub async fn play_audio(
    Ch(ch): Ch,
    body: Result<Json<PlayAudioRequest>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Queued>)> {
    let Json(b) = body?;
    let Some(name) = b.track_id.or(b.audio_name) else {
        return Err(ApiError::invalid("audio_name", "is required"));
    };
    // A path from the original's clients: only the file name counts.
    let name = name.rsplit('/').next().unwrap_or_default().to_string();
    match ch.music.play_next(&name)? {
        Some(queued) => Ok((StatusCode::ACCEPTED, Json(Queued { queued }))),
        None => Err(ApiError::not_found(format!("no playable track {name:?}"))),
    }
}

/// CPU, memory, GPU and disk use, now and for the last ten minutes.
#[utoipa::path(get, path = "/api/system-usage", responses(
    (status = 200, description = "The machine's load.", body = SystemUsage),
))]
pub async fn system_usage(State(st): State<AppState>) -> Json<SystemUsage> {
    Json(SystemUsage {
        now: st.monitor.latest().map(Usage::from),
        history: st.monitor.history().into_iter().map(Usage::from).collect(),
        encoder: st.encoder.clone(),
    })
}

/// The settings in force, those saved for the next start, and which differ.
fn settings_value(st: &AppState) -> ApiResult<SettingsResponse> {
    let running = &st.config;
    let effective = running.with(&settings::saved(&st.db)?);
    Ok(SettingsResponse {
        settings: settings::view(&effective),
        restart_fields: settings::restart_fields()
            .into_iter()
            .map(str::to_string)
            .collect(),
        pending_restart: effective
            .differences(running, settings::Apply::Restart)
            .into_iter()
            .map(str::to_string)
            .collect(),
    })
}

/// Every editable setting, and those waiting for a restart.
#[utoipa::path(get, path = "/api/settings", responses(
    (status = 200, description = "The settings.", body = SettingsResponse),
))]
pub async fn get_settings(State(st): State<AppState>) -> ApiResult<Json<SettingsResponse>> {
    Ok(Json(settings_value(&st)?))
}

/// The JSON schema of the editable settings (bounds, choices, labels, groups), from
/// which forms are made.
#[utoipa::path(get, path = "/api/settings/schema", responses(
    (status = 200, description = "A JSON Schema (draft 2020-12) with `x-` annotations for forms: `x-order`, and per setting `x-apply` (live or restart), `x-group`, `x-step`, `x-unit`, `x-scope`, `x-env`.", body = Object),
))]
pub async fn settings_schema() -> Json<serde_json::Value> {
    Json(settings::schema())
}

/// Changes settings (any subset); all are checked before any is saved.
///
/// Live fields apply to the next clip and chunk; the others at the next start.
#[utoipa::path(put, path = "/api/settings", request_body = settings::Patch, responses(
    (status = 200, description = "The settings, changed.", body = SettingsResponse),
    (status = 422, description = "A value is out of range (`field` names it), of the wrong type, or unknown.", body = ErrorBody),
))]
pub async fn put_settings(
    State(st): State<AppState>,
    body: Result<Json<serde_json::Map<String, serde_json::Value>>, JsonRejection>,
) -> ApiResult<Json<SettingsResponse>> {
    let Json(body) = body?;
    change_settings(&st, body)?;
    Ok(Json(settings_value(&st)?))
}

/// A settings change read from JSON; 422 names the first unknown or malformed field.
pub(super) fn read_patch(
    body: serde_json::Map<String, serde_json::Value>,
) -> ApiResult<settings::Patch> {
    settings::Patch::from_map(body).map_err(|e| match e.field {
        Some(field) => ApiError::invalid(field, e.reason),
        None => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.reason),
    })
}

/// The settings table's rules over `c`; 422 names the first setting that breaks one.
pub(super) fn check_settings(c: &crate::config::Config) -> ApiResult<()> {
    settings::validate(c, settings::Scope::Editable).map_err(|(spec, problem)| {
        let reason = match problem {
            settings::Problem::Reason(r) => r,
            settings::Problem::MissingFolder(p) => format!("{} is not a folder", p.display()),
        };
        ApiError::invalid(spec.key, reason)
    })
}

/// Checks `body` (settings by key) whole, saves it and lays it under every channel:
/// what `PUT /api/settings` does, and the original's `update_settings`.
pub(super) fn change_settings(
    st: &AppState,
    body: serde_json::Map<String, serde_json::Value>,
) -> ApiResult<settings::Patch> {
    // Read here rather than by the extractor, so a value of the wrong type is named.
    let patch = read_patch(body)?;
    let next = st.config.with(&settings::saved(&st.db)?).with(&patch);
    check_settings(&next)?;
    settings::save(&st.db, &patch)?;
    // The server-wide defaults of every channel (a channel's own values win).
    st.station.set_defaults(next);
    tracing::info!(changes = %serde_json::to_string(&patch).unwrap_or_default(), "settings changed");
    Ok(patch)
}

/// Hours streamed, chunks created and aired, top videos, tracks and creators, and
/// airtime per day for the last 30 days.
#[utoipa::path(get, path = "/api/stats", params(ChannelQuery), responses(
    (status = 200, description = "What the channel has aired.", body = Stats),
))]
pub async fn stats(State(st): State<AppState>, Ch(ch): Ch) -> ApiResult<Json<Stats>> {
    let s = crate::stats::read(
        &st.db,
        ch.slug.as_str(),
        20,
        st.station.shared().clock.wall_now(),
    )?;
    Ok(Json(Stats::new(s, |id| thumbs::video_url(&st, id))))
}

/// The generator's state and each job's percent, speed and ETA.
#[utoipa::path(get, path = "/api/jobs", params(ChannelQuery), responses(
    (status = 200, description = "The generator.", body = Jobs),
))]
pub async fn jobs(Ch(ch): Ch) -> Json<Jobs> {
    Json(ch.generator.status().into())
}

/// Makes chunks (CHUNKS_PER_RUN by default). The body is optional.
#[utoipa::path(post, path = "/api/generate_chunk", params(ChannelQuery), request_body = Option<GenerateRequest>, responses(
    (status = 202, description = "Asked for.", body = Requested),
    (status = 400, description = "The body is not JSON.", body = ErrorBody),
    (status = 422, description = "`count` is out of range, of the wrong type, or unknown.", body = ErrorBody),
))]
pub async fn generate(
    Ch(ch): Ch,
    body: axum::body::Bytes,
) -> ApiResult<(StatusCode, Json<Requested>)> {
    // The original's clients post no body at all.
    let body: GenerateRequest = if body.iter().all(u8::is_ascii_whitespace) {
        GenerateRequest::default()
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
        .unwrap_or(ch.generator.settings().channel.chunks_per_run as u32);
    if !(1..=100).contains(&count) {
        return Err(ApiError::invalid("count", "must be between 1 and 100"));
    }
    ch.generator
        .send(GeneratorCommand::Generate(count as usize));
    Ok((StatusCode::ACCEPTED, Json(Requested { requested: count })))
}

/// Stops the running jobs and pending requests.
#[utoipa::path(post, path = "/api/stop_generation", params(ChannelQuery), responses(
    (status = 202, description = "Stopping.", body = Stopping),
))]
pub async fn stop_generation(Ch(ch): Ch) -> (StatusCode, Json<Stopping>) {
    ch.generator.send(GeneratorCommand::Stop);
    (StatusCode::ACCEPTED, Json(Stopping { stopping: true }))
}

/// The next segment comes from the next clip.
#[utoipa::path(post, path = "/api/skip_to_next", params(ChannelQuery), responses(
    (status = 202, description = "Skipping.", body = Skipping),
))]
pub async fn skip_to_next(Ch(ch): Ch) -> (StatusCode, Json<Skipping>) {
    ch.control.send(Command::SkipClip);
    let skipping = SkipTarget::Clip;
    (StatusCode::ACCEPTED, Json(Skipping { skipping }))
}

/// The music goes on with the next track.
#[utoipa::path(post, path = "/api/skip_to_next_audio", params(ChannelQuery), responses(
    (status = 202, description = "Skipping.", body = Skipping),
))]
pub async fn skip_to_next_audio(Ch(ch): Ch) -> (StatusCode, Json<Skipping>) {
    ch.control.send(Command::SkipTrack);
    let skipping = SkipTarget::Track;
    (StatusCode::ACCEPTED, Json(Skipping { skipping }))
}

/// The chunk airs after the current one.
#[utoipa::path(post, path = "/api/play_chunk", params(ChannelQuery), request_body = PlayChunkRequest, responses(
    (status = 202, description = "Queued.", body = Next),
    (status = 404, description = "No ready chunk of that id.", body = ErrorBody),
    (status = 422, description = "No chunk named, or a field of the wrong type or unknown.", body = ErrorBody),
))]
pub async fn play_chunk(
    Ch(ch): Ch,
    body: Result<Json<PlayChunkRequest>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Next>)> {
    let Json(b) = body?;
    let Some(name) = b.chunk_id.or(b.chunk_name) else {
        return Err(ApiError::invalid("chunk_name", "is required"));
    };
    // The original named chunks by file; ours are folders: accept either.
    let id = name
        .trim_end_matches(".mp4")
        .trim_end_matches(".ts")
        .to_string();
    if ch.playout.play_next(&id) {
        // The engine may have loaded the start of another chunk already.
        ch.control.send(Command::Recue);
        Ok((StatusCode::ACCEPTED, Json(Next { next: id })))
    } else {
        Err(ApiError::not_found(format!("no ready chunk {id:?}")))
    }
}

/// Server-sent events: now_playing, jobs, library, so clients need not poll.
///
/// Each event's `event:` line names it and its `data:` line is JSON: the schema is
/// one event, `event` and `data` as the two fields. `now_playing` comes at once,
/// then at each change of clip, track or next chunk; `jobs` at each change of the
/// generator; `library` at each change of the library.
#[utoipa::path(get, path = "/api/events", params(ChannelQuery), responses(
    (status = 200, description = "An endless stream of events.", content_type = "text/event-stream", body = ServerEvent),
))]
pub async fn events(
    State(st): State<AppState>,
    Ch(ch): Ch,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    struct S {
        ch: Arc<OnAir>,
        live: tokio::sync::watch::Receiver<u64>,
        jobs: tokio::sync::watch::Receiver<crate::schedule::generator::GeneratorStatus>,
        library: tokio::sync::watch::Receiver<u64>,
        last_now: Option<StreamStatus>,
    }
    let s = S {
        live: ch.live.subscribe(),
        jobs: ch.generator.subscribe(),
        library: ch.library.subscribe(),
        ch,
        last_now: None,
    };
    let stream = futures::stream::unfold(s, |mut s| async move {
        loop {
            if s.last_now.is_none() {
                let now = now_playing(&s.ch);
                let ev = ServerEvent::NowPlaying(Box::new(now.clone())).to_sse(s.ch.slug.as_str());
                s.last_now = Some(now);
                return Some((Ok(ev), s));
            }
            tokio::select! {
                r = s.live.changed() => {
                    r.ok()?;
                    // One event per change of clip or track, not per segment.
                    let now = now_playing(&s.ch);
                    if s.last_now.as_ref().map(StreamStatus::key) != Some(now.key()) {
                        let ev = ServerEvent::NowPlaying(Box::new(now.clone())).to_sse(s.ch.slug.as_str());
                        s.last_now = Some(now);
                        return Some((Ok(ev), s));
                    }
                }
                r = s.jobs.changed() => {
                    r.ok()?;
                    let jobs = s.jobs.borrow_and_update().clone();
                    return Some((Ok(ServerEvent::Jobs(jobs.into()).to_sse(s.ch.slug.as_str())), s));
                }
                r = s.library.changed() => {
                    r.ok()?;
                    let counts = s.ch.library.counts().unwrap_or_default();
                    return Some((Ok(ServerEvent::Library(counts.into()).to_sse(s.ch.slug.as_str())), s));
                }
            }
        }
    });
    let stream = futures::StreamExt::take_until(stream, st.stopping.clone().cancelled_owned());
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

/// Readiness: a segment was published in the last 10 s (else 503).
#[utoipa::path(get, path = "/readyz", params(ChannelQuery), responses(
    (status = 200, description = "Segments are flowing.", content_type = "text/plain", body = String),
    (status = 503, description = "No segment in the last 10 s.", content_type = "text/plain", body = String),
))]
pub async fn readyz(Ch(ch): Ch) -> (StatusCode, &'static str) {
    let recent = ch
        .live
        .last_published()
        .is_some_and(|t| t.elapsed().unwrap_or_default() < Duration::from_secs(10));
    if recent {
        (StatusCode::OK, "ready\n")
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "no segment in the last 10 s\n",
        )
    }
}
