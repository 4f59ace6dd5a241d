//! The channels: listed with what airs now and next; made, edited and deleted
//! through the API (admin token) when not owned by the channels file.

use std::time::SystemTime;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Map, Value};

use super::error::ApiError;
use super::iptv;
use super::state::AppState;
use super::urls;
use super::wire::{ChannelInfo, ChannelList, ErrorBody, FreshAir, ProgrammeTimes, Viewers};
use crate::guide::{self, ChannelText};
use crate::lineup::def::{ChannelDef, Origin};
use crate::station::OnAir;

type ApiResult<T> = Result<T, ApiError>;

/// A channel as the API shows it, with its programme now and next as the guide
/// lists them (slots already listed only: this never writes).
fn info(st: &AppState, ch: &OnAir, default: &str) -> ChannelInfo {
    let def = ch.def();
    let text = ChannelText::new(&def, &def.config(&st.station.defaults()));
    let wall = st.station.shared().clock.wall_now();
    let now = guide::unix(wall) as i64;
    let mut slots = ch.grid.kept(now, now + 1);
    if let Some(on) = slots.first().copied() {
        slots.extend(ch.grid.kept(on.stop, on.stop + 1));
    }
    let progs = guide::programmes_of(&ch.live, &ch.playout, &slots, wall);
    ChannelInfo {
        slug: def.slug.to_string(),
        name: def.name.clone(),
        number: def.number,
        logo: iptv::logo_url("", ch),
        stream: urls::stream_url(def.slug.as_str()),
        origin: def.origin.as_str().to_string(),
        editable: def.origin.editable(),
        default: def.slug.as_str() == default,
        now: super::api::now_playing(ch),
        viewers: Viewers::of(&ch.live),
        air: FreshAir::of(&ch.playout),
        next: progs.get(1).map(|p| p.title(&text)),
        programme: progs.first().map(|p| ProgrammeTimes {
            title: p.title(&text),
            start: p.start as f64,
            stop: p.stop as f64,
        }),
        definition: def.to_map(),
    }
}

/// Every channel, by number, with what airs on each now and next.
#[utoipa::path(get, path = "/api/channels", responses(
    (status = 200, description = "The channels.", body = ChannelList),
))]
pub async fn list_channels(State(st): State<AppState>) -> Json<ChannelList> {
    let default = st.station.default_slug().to_string();
    Json(ChannelList {
        channels: st
            .station
            .list()
            .iter()
            .map(|c| info(&st, c, &default))
            .collect(),
        default,
    })
}

/// One channel.
#[utoipa::path(get, path = "/api/channels/{slug}",
    params(("slug" = String, Path, description = "The channel's slug.")),
    responses(
        (status = 200, description = "The channel.", body = ChannelInfo),
        (status = 404, description = "No such channel.", body = ErrorBody),
    ),
)]
pub async fn get_channel(
    State(st): State<AppState>,
    Path(slug): Path<String>,
) -> ApiResult<Json<ChannelInfo>> {
    let ch = found(&st, &slug)?;
    Ok(Json(info(&st, &ch, st.station.default_slug().as_str())))
}

fn found(st: &AppState, slug: &str) -> ApiResult<std::sync::Arc<OnAir>> {
    st.station
        .get(slug)
        .ok_or_else(|| ApiError::not_found(format!("no channel {slug:?}")))
}

/// Reads and checks a definition: its keys, its values, its folders, and that its
/// slug and number are free among the other channels.
fn read_def(
    st: &AppState,
    body: Map<String, Value>,
    replacing: Option<&str>,
) -> ApiResult<ChannelDef> {
    let def = ChannelDef::from_map(body, Origin::Api).map_err(invalid)?;
    def.validate(&st.station.defaults()).map_err(invalid)?;
    for other in st.station.list() {
        if Some(other.slug.as_str()) == replacing {
            continue;
        }
        let o = other.def();
        if o.slug == def.slug {
            return Err(ApiError::invalid("slug", format!("{} is taken", def.slug)));
        }
        if o.number == def.number {
            return Err(ApiError::invalid(
                "number",
                format!("{} is channel {}'s number", def.number, o.slug),
            ));
        }
    }
    Ok(def)
}

fn invalid(e: crate::settings::Invalid) -> ApiError {
    match e.field {
        Some(field) => ApiError::invalid(field, e.reason),
        None => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.reason),
    }
}

fn save(st: &AppState, def: &ChannelDef) -> ApiResult<()> {
    let json = serde_json::to_string(&def.to_map()).map_err(ApiError::internal)?;
    let now = guide::unix(SystemTime::now()) as i64;
    st.db.channels().put(def.slug.as_str(), &json, now)?;
    Ok(())
}

/// Makes a channel and puts it on air.
///
/// The body has the keys of a `[[channel]]` table of the channels file: `slug`,
/// `name`, `number`, optional `logo`, `videos`, `include`, `exclude`, `creators`,
/// `audio`, and any channel setting (`clip_min`, `color_grade`...).
#[utoipa::path(post, path = "/api/channels", request_body = Object, responses(
    (status = 201, description = "On air.", body = ChannelInfo),
    (status = 422, description = "A key is unknown, a value wrong (`field` names it), a folder missing, or the slug or number taken.", body = ErrorBody),
))]
pub async fn create_channel(
    State(st): State<AppState>,
    body: Result<Json<Map<String, Value>>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<ChannelInfo>)> {
    let Json(body) = body?;
    let def = read_def(&st, body, None)?;
    save(&st, &def)?;
    let ch = st.station.add(def).map_err(ApiError::internal)?;
    tracing::info!(channel = %ch.slug, "channel made");
    let default = st.station.default_slug();
    Ok((StatusCode::CREATED, Json(info(&st, &ch, default.as_str()))))
}

/// Replaces a channel's definition; it stays on air (a new music folder restarts
/// its stream after one discontinuity).
#[utoipa::path(put, path = "/api/channels/{slug}",
    params(("slug" = String, Path, description = "The channel's slug.")),
    request_body = Object,
    responses(
        (status = 200, description = "Changed.", body = ChannelInfo),
        (status = 404, description = "No such channel.", body = ErrorBody),
        (status = 409, description = "The channel is owned by the channels file or the settings.", body = ErrorBody),
        (status = 422, description = "A key is unknown or a value wrong (`field` names it).", body = ErrorBody),
    ),
)]
pub async fn update_channel(
    State(st): State<AppState>,
    Path(slug): Path<String>,
    body: Result<Json<Map<String, Value>>, JsonRejection>,
) -> ApiResult<Json<ChannelInfo>> {
    let ch = found(&st, &slug)?;
    owned_here(&ch)?;
    let Json(mut body) = body?;
    match body.get("slug") {
        None => {
            body.insert("slug".into(), Value::String(slug.clone()));
        }
        Some(Value::String(s)) if *s == slug => {}
        Some(_) => {
            return Err(ApiError::invalid(
                "slug",
                "cannot change: it is the channel's URL",
            ));
        }
    }
    let def = read_def(&st, body, Some(&slug))?;
    save(&st, &def)?;
    let ch = st.station.edit(def).await.map_err(ApiError::internal)?;
    tracing::info!(channel = %ch.slug, "channel changed");
    Ok(Json(info(&st, &ch, st.station.default_slug().as_str())))
}

/// Takes a channel off the air and deletes its chunks and segments; what it aired
/// stays in the stats.
#[utoipa::path(delete, path = "/api/channels/{slug}",
    params(("slug" = String, Path, description = "The channel's slug.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, description = "No such channel.", body = ErrorBody),
        (status = 409, description = "The channel is owned by the channels file or the settings.", body = ErrorBody),
    ),
)]
pub async fn delete_channel(
    State(st): State<AppState>,
    Path(slug): Path<String>,
) -> ApiResult<StatusCode> {
    let ch = found(&st, &slug)?;
    owned_here(&ch)?;
    st.db.channels().delete(&slug)?;
    st.station.remove(&slug).await.map_err(ApiError::internal)?;
    Ok(StatusCode::NO_CONTENT)
}

fn owned_here(ch: &OnAir) -> ApiResult<()> {
    match ch.def().origin {
        Origin::Api => Ok(()),
        Origin::File { path, line } => Err(ApiError::conflict(format!(
            "channel {} is defined in {}:{line}: edit the file",
            ch.slug,
            path.display()
        ))),
        Origin::Classic => Err(ApiError::conflict(format!(
            "channel {} is made from the settings: change them instead",
            ch.slug
        ))),
    }
}
