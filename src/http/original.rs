//! The original tool's routes that this server does another way, kept with the
//! original's request and response shapes so that its clients (its web page, its
//! Flutter app, scripts) keep working: settings by their upper-case names, the
//! generation schedule as a "cron", and the generation lock it needed.
//!
//! Each one goes through the same path as its newer form: the settings table's
//! rules, the stored overrides, the live defaults of every channel.

use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde_json::{Map, Value};

use super::api::{change_settings, check_settings, read_patch};
use super::error::ApiError;
use super::pick::{Ch, ChannelQuery};
use super::state::AppState;
use super::web::Confined;
use super::wire::{
    Chunk, CronBody, CronStatus, DeleteAudioBody, ErrorBody, Outcome, RunEntry, RunHistory,
    RunHistoryQuery, TestChunk, UpdatedSettings,
};
use crate::engine::Command;
use crate::schedule::generator::GeneratorCommand;
use crate::schedule::music::Removal;
use crate::settings;

type ApiResult<T> = Result<T, ApiError>;

/// Settings by the names the original's `.env` gave them (`MAX_CHUNKS`,
/// `CHUNK_DURATION`, `CLIP_MIN`, `CLIP_MAX`, `CHUNKS_PER_RUN`, `HW_ACCEL`, and any
/// other variable of an editable setting). All are checked before any is saved;
/// nothing is written to `.env`.
#[utoipa::path(post, path = "/api/update_settings", request_body = Object, responses(
    (status = 200, description = "Saved; what applies live does so at once.", body = UpdatedSettings),
    (status = 422, description = "An unknown name or a bad value (`field` names it).", body = ErrorBody),
))]
pub async fn update_settings(
    State(st): State<AppState>,
    body: Result<Json<Map<String, Value>>, JsonRejection>,
) -> ApiResult<Json<UpdatedSettings>> {
    let Json(body) = body?;
    let mut by_key = Map::new();
    let mut updated = Vec::new();
    for (name, value) in body {
        let spec = settings::SPECS
            .iter()
            .find(|s| s.meta.env.contains(&name.as_str()) || s.key == name)
            .filter(|s| s.meta.apply.editable())
            .ok_or_else(|| ApiError::invalid(&name, "not a setting that can be changed"))?;
        // Text is read as the original's `.env` line would be ("40", "20G"), by
        // the setting's own parser.
        let value = match value {
            Value::String(t) => {
                let mut c = crate::config::Config::default();
                (spec.ops.parse)(&mut c, &t)
                    .map_err(|reason| ApiError::invalid(spec.key, reason))?;
                (spec.ops.get)(&c)
            }
            v => v,
        };
        by_key.insert(spec.key.to_string(), value);
        updated.push(name);
    }
    let patch = change_settings(&st, by_key)?;
    let later = patch
        .fields()
        .any(|k| settings::spec(k).is_some_and(|s| s.meta.apply == settings::Apply::Restart));
    let message = match later {
        true => "settings saved; some apply at the next start",
        false => "settings saved and applied",
    };
    Ok(Json(UpdatedSettings {
        success: true,
        updated,
        message: message.into(),
    }))
}

/// The generation schedule: extra runs on a cron schedule, kept in process (no
/// crontab). `command` says what a run does.
#[utoipa::path(get, path = "/api/cron", responses(
    (status = 200, description = "The schedule, if any.", body = CronStatus),
))]
pub async fn get_cron(State(st): State<AppState>) -> Json<CronStatus> {
    let defaults = st.station.defaults();
    Json(CronStatus {
        available: true,
        schedule: defaults.channel.schedule.as_ref().map(|c| c.to_string()),
        command: format!(
            "generate {} chunks (CHUNKS_PER_RUN) on every channel without a schedule of its own, in the server process",
            defaults.channel.chunks_per_run
        ),
    })
}

/// Sets the generation schedule (a cron expression, local time).
#[utoipa::path(post, path = "/api/cron", request_body = CronBody, responses(
    (status = 200, description = "Set.", body = Outcome),
    (status = 422, description = "Not a cron expression (`field`: schedule).", body = ErrorBody),
))]
pub async fn set_cron(
    State(st): State<AppState>,
    body: Result<Json<CronBody>, JsonRejection>,
) -> ApiResult<Json<Outcome>> {
    let Json(CronBody { schedule }) = body?;
    if schedule.trim().is_empty() {
        return Err(ApiError::invalid(
            "schedule",
            "must not be empty: DELETE /api/cron removes it",
        ));
    }
    let mut map = Map::new();
    map.insert("schedule".into(), Value::String(schedule));
    let patch = change_settings(&st, map)?;
    let set = patch
        .values()
        .get("schedule")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    Ok(Json(Outcome {
        success: true,
        message: format!("generation scheduled at \"{set}\""),
    }))
}

/// Removes the generation schedule: chunks are still made to keep READY_CHUNKS.
#[utoipa::path(delete, path = "/api/cron", responses(
    (status = 200, description = "Removed.", body = Outcome),
))]
pub async fn delete_cron(State(st): State<AppState>) -> ApiResult<Json<Outcome>> {
    let mut map = Map::new();
    map.insert("schedule".into(), Value::String(String::new()));
    change_settings(&st, map)?;
    Ok(Json(Outcome {
        success: true,
        message: "generation schedule removed".into(),
    }))
}

/// The channel's generation runs, newest first: every run asked for, whether by
/// the schedule, an operator (`manual`) or a start.
#[utoipa::path(get, path = "/api/cron-run-history", params(RunHistoryQuery, ChannelQuery), responses(
    (status = 200, description = "A page of runs.", body = RunHistory),
    (status = 400, description = "A query parameter does not parse.", body = ErrorBody),
    (status = 422, description = "`page` or `per_page` is out of range.", body = ErrorBody),
))]
pub async fn run_history(
    State(st): State<AppState>,
    Ch(ch): Ch,
    q: Result<Query<RunHistoryQuery>, QueryRejection>,
) -> ApiResult<Json<RunHistory>> {
    let Query(q) = q?;
    let page = q.page.unwrap_or(1);
    let per_page = q.per_page.unwrap_or(20);
    if page == 0 {
        return Err(ApiError::invalid("page", "pages count from 1"));
    }
    if !(1..=100).contains(&per_page) {
        return Err(ApiError::invalid("per_page", "must be between 1 and 100"));
    }
    let offset = (page - 1).saturating_mul(per_page);
    let (runs, total) = st.db.runs(ch.slug.as_str()).page(offset, per_page)?;
    let entries = runs
        .into_iter()
        .map(|r| RunEntry {
            timestamp: time::OffsetDateTime::from_unix_timestamp(r.at)
                .ok()
                .and_then(|t| {
                    t.format(&time::format_description::well_known::Rfc3339)
                        .ok()
                })
                .unwrap_or_default(),
            trigger: r.trigger,
            chunks: r.chunks,
        })
        .collect();
    Ok(Json(RunHistory {
        entries,
        page,
        per_page,
        total,
        total_pages: total.div_ceil(per_page).max(1),
    }))
}

/// The original guarded generation with a lock file that a crash could leave
/// behind; here jobs are tasks of the process and no lock exists.
#[utoipa::path(post, path = "/api/clear_generation_lock", responses(
    (status = 200, description = "Nothing to clear.", body = Outcome),
))]
pub async fn clear_generation_lock() -> Json<Outcome> {
    Json(Outcome {
        success: true,
        message: "no generation lock exists in this design: jobs are tasks of the server, stopped with POST /api/stop_generation".into(),
    })
}

/// Takes a music track out of rotation for good (a track on air is skipped first).
/// Its file stays on disk unless DELETE_AUDIO_FILES is on and the folder lets it be
/// deleted. Only a file of the channel's music folder is taken: a path outside it,
/// however written (`..`, a prefix like `/audio2`, a symlink out), is refused.
#[utoipa::path(post, path = "/api/delete_audio", params(ChannelQuery), request_body = DeleteAudioBody, responses(
    (status = 200, description = "Removed from rotation (`message` says whether the file was deleted).", body = Outcome),
    (status = 404, description = "No track in rotation at that path, or no music folder.", body = ErrorBody),
    (status = 422, description = "No path, or a path outside the music folder.", body = ErrorBody),
))]
pub async fn delete_audio(
    Ch(ch): Ch,
    body: Result<Json<DeleteAudioBody>, JsonRejection>,
) -> ApiResult<Json<Outcome>> {
    let Json(DeleteAudioBody { path }) = body?;
    let Some(folder) = ch.music.folder() else {
        return Err(ApiError::not_found("this channel has no music folder"));
    };
    let file = music_file(folder, &path)?;
    let on_air = ch
        .live
        .now_playing()
        .track
        .as_ref()
        .is_some_and(|t| t.source.as_deref() == Some(file.as_path()));
    let delete = ch.generator.settings().channel.delete_audio_files;
    let music = ch.music.clone();
    let removed = {
        let file = file.clone();
        tokio::task::spawn_blocking(move || music.remove(&file, delete))
            .await
            .map_err(|e| ApiError::internal(e.to_string()))??
    };
    let file_deleted = match removed {
        Removal::NoSuchTrack => {
            return Err(ApiError::not_found(format!(
                "no track in rotation at {path:?}"
            )));
        }
        Removal::Removed { file_deleted } => file_deleted,
    };
    if on_air {
        ch.control.send(Command::SkipTrack);
    }
    let mut message = format!("{path} is out of rotation");
    message.push_str(match file_deleted {
        None => "; its file is kept (DELETE_AUDIO_FILES is off)",
        Some(true) => " and its file is deleted",
        Some(false) => "; its file could not be deleted (see the log) and is kept",
    });
    if on_air {
        message.push_str("; it was on air and is skipped");
    }
    Ok(Json(Outcome {
        success: true,
        message,
    }))
}

/// The file of `folder` a request names, by its path in the folder or its full
/// path, as the scanner recorded it (the folder as configured joined with the
/// path); 422 for anything outside the folder, 404 for no such file.
fn music_file(folder: &Path, asked: &str) -> ApiResult<PathBuf> {
    let outside = || ApiError::invalid("path", "is not a file of the music folder");
    if asked.trim().is_empty() {
        return Err(ApiError::invalid("path", "is required"));
    }
    // The original's clients may send the path the way `/audio/` serves it.
    let asked = asked.strip_prefix("/audio/").unwrap_or(asked);
    let asked = Path::new(asked);
    let rel = if asked.is_absolute() {
        // Component-wise: `/srv/music2/x` does not start with `/srv/music`.
        asked.strip_prefix(folder).map_err(|_| outside())?
    } else {
        asked
    };
    let rel_text = rel.to_str().ok_or_else(outside)?;
    let confined = Confined::open(folder).ok_or_else(|| {
        ApiError::not_found(format!(
            "the music folder {} is not there",
            folder.display()
        ))
    })?;
    if !crate::http::web::plain_relative(rel_text) {
        return Err(outside());
    }
    // Resolved through every symlink: still inside the folder, and a regular file.
    match confined.resolve(rel_text) {
        Some(_) => Ok(folder.join(rel)),
        None => Err(ApiError::not_found(format!(
            "no file {rel_text:?} in the music folder"
        ))),
    }
}

/// Restarts the channel's generator inside the process: running jobs stop and
/// their chunks resume at once (the clips made so far are kept), a stall or a stop
/// is forgotten, and what was asked for is read again.
#[utoipa::path(post, path = "/api/restart_chunk_generator", params(ChannelQuery), responses(
    (status = 200, description = "Restarted.", body = Outcome),
    (status = 503, description = "The generator has stopped (the server is stopping).", body = ErrorBody),
))]
pub async fn restart_chunk_generator(Ch(ch): Ch) -> ApiResult<Json<Outcome>> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let gone = || ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "the generator has stopped");
    if !ch.generator.send(GeneratorCommand::Restart(tx)) {
        return Err(gone());
    }
    let running = rx.await.map_err(|_| gone())?;
    Ok(Json(Outcome {
        success: true,
        message: match running {
            0 => "generator restarted".into(),
            n => format!("generator restarted; {n} chunk(s) being made resume where they were"),
        },
    }))
}

/// How long `POST /api/generate_test_chunk` waits for its clip (one encode).
const TEST_CHUNK_WAIT: Duration = Duration::from_secs(180);

/// Makes one short chunk (one clip) with the channel's settings, and with any
/// channel settings the body gives laid over them for this chunk only (a look
/// tried before it is saved: `{"color_grade": "warm"}`), and reports it once it is
/// made. It is held back from the rotation: preview it, then air it with
/// `POST /api/play_chunk` or delete it.
#[utoipa::path(post, path = "/api/generate_test_chunk", params(ChannelQuery), request_body = Option<Object>, responses(
    (status = 200, description = "Made.", body = TestChunk),
    (status = 422, description = "A setting unknown, not the channel's, or of a bad value (`field` names it); or no usable video.", body = ErrorBody),
    (status = 503, description = "The generator has stopped, or the chunk was stopped before it was made.", body = ErrorBody),
    (status = 504, description = "The clip takes longer than the wait; the chunk is still being made.", body = ErrorBody),
))]
pub async fn generate_test_chunk(
    State(st): State<AppState>,
    Ch(ch): Ch,
    body: axum::body::Bytes,
) -> ApiResult<Json<TestChunk>> {
    let overrides: Map<String, Value> = if body.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("the body is not a JSON object: {e}")))?
    };
    let patch = read_patch(overrides)?;
    if let Some(k) = patch
        .fields()
        .find(|k| settings::spec(k).is_none_or(|s| s.section != settings::Section::Channel))
    {
        return Err(ApiError::invalid(
            k,
            "is not a channel setting: a test chunk is made to the server's output",
        ));
    }
    let cfg = ch.def().config(&st.station.defaults()).with(&patch);
    check_settings(&cfg)?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let gone = || ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "the generator has stopped");
    if !ch.generator.send(GeneratorCommand::TestChunk {
        channel: Box::new(cfg.channel),
        reply: tx,
    }) {
        return Err(gone());
    }
    let made = tokio::time::timeout(TEST_CHUNK_WAIT, rx).await.map_err(|_| {
        ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "the test chunk takes longer than expected; it is still being made (GET /api/chunks)",
        )
    })?;
    let id = match made.map_err(|_| gone())? {
        Ok(id) => id,
        Err(reason) if reason.contains("resumes") => {
            return Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, reason));
        }
        Err(reason) => return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, reason)),
    };
    let chunk = ch
        .playout
        .chunk(&id)
        .ok_or_else(|| ApiError::not_found(format!("the test chunk {id} is gone already")))?;
    let changed: Vec<&str> = patch.fields().collect();
    let message = match changed.is_empty() {
        true => format!("test chunk {id} made with the channel's settings"),
        false => format!(
            "test chunk {id} made with {} (not saved)",
            changed.join(", ")
        ),
    };
    Ok(Json(TestChunk {
        success: true,
        message,
        chunk: Chunk::new(&chunk, ch.slug.as_str(), false),
    }))
}
