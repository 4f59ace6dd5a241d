//! The original tool's routes that this server does another way, kept with the
//! original's request and response shapes so that its clients (its web page, its
//! Flutter app, scripts) keep working: settings by their upper-case names, the
//! generation schedule as a "cron", and the generation lock it needed.
//!
//! Each one goes through the same path as its newer form: the settings table's
//! rules, the stored overrides, the live defaults of every channel.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Query, State};
use serde_json::{Map, Value};

use super::AppState;
use super::api::change_settings;
use super::error::ApiError;
use super::pick::{Ch, ChannelQuery};
use super::wire::{
    CronBody, CronStatus, ErrorBody, Outcome, RunEntry, RunHistory, RunHistoryQuery,
    UpdatedSettings,
};
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
    let Query(q) = q.map_err(|e| ApiError::bad_request(e.body_text()))?;
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
