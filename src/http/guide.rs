//! The programme guide as JSON, for the web client's guide view, and the listing
//! both guides share: every channel's programmes (slots of its grid, listed and
//! saved before they are given out) with what its forecast knows of each. The
//! XMLTV guide (`xmltv`) renders the very same programmes.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};

use super::error::ApiError;
use super::iptv;
use super::state::AppState;
use super::urls;
use super::wire::{ErrorBody, Guide, GuideChannel, GuideClip, GuideProgramme, GuideQuery, Viewers};
use crate::guide::{self, ChannelText, Programme};
use crate::station::OnAir;

/// Hours the JSON guide covers unless asked.
const DEFAULT_HOURS: f64 = 3.0;
/// The most programmes a channel lists (two days of 5-minute programmes is 576).
const MAX_PROGRAMMES: u64 = 1000;

/// A channel's programmes and what it says of those not known yet.
pub(super) struct Listed {
    /// The channel.
    pub channel: Arc<OnAir>,
    /// From the one on air on, without gaps.
    pub programmes: Vec<Programme>,
    /// Its programme title and description.
    pub text: ChannelText,
}

/// Every channel's programmes from `wall` (the one reading of the clock a request
/// makes, so the `now` it answers lies in the first programme, even a moment before
/// a slot's boundary) for `hours`: its grid's slots (those missing are listed and
/// saved first, off the async threads), each with what the forecast knows of it.
pub(super) async fn listed(
    st: &AppState,
    wall: std::time::SystemTime,
    hours: f64,
) -> Result<Vec<Listed>, ApiError> {
    let station = st.station.clone();
    tokio::task::spawn_blocking(move || {
        let defaults = station.defaults();
        let now = guide::unix(wall) as i64;
        let until = now + (hours * 3600.0).ceil() as i64;
        let mut out = Vec::new();
        for ch in station.list() {
            let def = ch.def();
            let c = def.config(&defaults);
            // A slot is given out only once saved: when saving fails (a full
            // disk), the guide lists what was saved before, and says so in the log.
            let slots = ch
                .grid
                .list(&chrono::Local, c.channel.programme_minutes, now, until)
                .unwrap_or_else(|e| {
                    tracing::warn!(channel = %ch.slug, error = %e, "cannot save the guide's new programme slots; listing those saved before");
                    ch.grid.kept(now, until)
                });
            out.push(Listed {
                programmes: guide::programmes_of(&ch.live, &ch.playout, &slots, wall),
                text: ChannelText::new(&def, &c),
                channel: ch,
            });
        }
        out
    })
    .await
    .map_err(ApiError::internal)
}

/// A programme's picture: its first chunk's strip, else the channel's logo (URLs
/// from the server's root).
pub(super) fn picture(ch: &OnAir, p: &Programme) -> String {
    p.first_chunk()
        .and_then(|id| ch.playout.chunk(id))
        .and_then(|c| urls::strip_url(ch.slug.as_str(), &c))
        .unwrap_or_else(|| iptv::logo_url("", ch))
}

/// Every channel, by number, with its programmes from the one on air on: start and
/// stop, title, description, picture, and each clip known with its own.
#[utoipa::path(get, path = "/api/guide", params(GuideQuery), responses(
    (status = 200, description = "The guide.", body = Guide),
    (status = 400, description = "A query parameter does not parse.", body = ErrorBody),
    (status = 422, description = "`hours` or `limit` is out of range.", body = ErrorBody),
))]
pub async fn guide(
    State(st): State<AppState>,
    q: Result<Query<GuideQuery>, QueryRejection>,
) -> Result<Json<Guide>, ApiError> {
    let Query(q) = q?;
    let most = st.station.defaults().server.guide_hours as f64;
    let hours = q.hours.unwrap_or(DEFAULT_HOURS.min(most));
    if !(hours > 0.0 && hours <= most) {
        return Err(ApiError::invalid(
            "hours",
            format!("must be more than 0 and at most {most} (GUIDE_HOURS)"),
        ));
    }
    let limit = q.limit.unwrap_or(MAX_PROGRAMMES);
    if !(1..=MAX_PROGRAMMES).contains(&limit) {
        return Err(ApiError::invalid(
            "limit",
            format!("must be between 1 and {MAX_PROGRAMMES}"),
        ));
    }
    let default = st.station.default_slug().to_string();
    let wall = st.station.shared().clock.wall_now();
    let now = guide::unix(wall);
    let channels = listed(&st, wall, hours)
        .await?
        .into_iter()
        .map(|l| channel(l, &default, limit as usize))
        .collect();
    Ok(Json(Guide {
        now,
        hours,
        default,
        channels,
    }))
}

/// A channel and its programmes, at most `limit`.
fn channel(l: Listed, default: &str, limit: usize) -> GuideChannel {
    let ch = &l.channel;
    let def = ch.def();
    let slug = def.slug.as_str();
    let programmes = l
        .programmes
        .iter()
        .take(limit)
        .map(|p| GuideProgramme {
            start: p.start as f64,
            stop: p.stop as f64,
            title: p.title(&l.text),
            description: p.description(&l.text),
            known: p.known(),
            whole: p.whole,
            on_air: p.on_air,
            new: p.new_clips(),
            thumbnail: picture(ch, p),
            clips: p
                .clips
                .iter()
                .map(|a| GuideClip {
                    chunk: a.clip.chunk.clone(),
                    index: urls::clip_index(&a.clip).unwrap_or(0) as u32,
                    title: a.clip.title.clone(),
                    creator: a.clip.creator.clone(),
                    start: a.start,
                    duration: a.stop - a.start,
                    thumbnail: urls::clip_url(slug, &a.clip),
                })
                .collect(),
        })
        .collect();
    GuideChannel {
        slug: slug.to_string(),
        name: def.name.clone(),
        number: def.number,
        logo: iptv::logo_url("", ch),
        stream: urls::stream_url(slug),
        default: slug == default,
        viewers: Viewers::of(&ch.live),
        programmes,
    }
}
