//! The programme guide as JSON, for the web client's guide view: every channel
//! with its programmes from the one on air on, as `iptv::programmes` predicts them
//! (the XMLTV guide's own), each with its clips.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};

use super::AppState;
use super::error::ApiError;
use super::iptv::{self, Programme};
use super::thumbs;
use super::wire::{ErrorBody, Guide, GuideChannel, GuideClip, GuideProgramme, GuideQuery};
use crate::db::chunks::ClipRow;
use crate::schedule::Chunk;
use crate::station::OnAir;

/// Hours the guide covers unless asked.
const DEFAULT_HOURS: f64 = 3.0;
/// The most hours it covers.
const MAX_HOURS: f64 = 24.0;
/// The most programmes a channel lists (a day of 5-minute chunks is 288).
const MAX_PROGRAMMES: u64 = 300;

fn unix(t: SystemTime) -> f64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Every channel, by number, with its programmes from the one on air on: start and
/// stop, the title people read, the picture, and each clip with its own.
#[utoipa::path(get, path = "/api/guide", params(GuideQuery), responses(
    (status = 200, description = "The guide.", body = Guide),
    (status = 400, description = "A query parameter does not parse.", body = ErrorBody),
    (status = 422, description = "`hours` or `limit` is out of range.", body = ErrorBody),
))]
pub async fn guide(
    State(st): State<AppState>,
    q: Result<Query<GuideQuery>, QueryRejection>,
) -> Result<Json<Guide>, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let hours = q.hours.unwrap_or(DEFAULT_HOURS);
    if !(hours > 0.0 && hours <= MAX_HOURS) {
        return Err(ApiError::invalid(
            "hours",
            format!("must be more than 0 and at most {MAX_HOURS}"),
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
    let now = st.station.shared().clock.wall_now();
    let mut channels = Vec::new();
    for ch in st.station.list() {
        // From the channel's newest segment, as the XMLTV guide counts.
        let from = ch.live.last_published().unwrap_or(now);
        let until = from + Duration::from_secs_f64(hours * 3600.0);
        let progs = iptv::programmes_until(&ch, until, limit as usize);
        channels.push(channel(&ch, &default, progs)?);
    }
    Ok(Json(Guide {
        now: unix(now),
        hours,
        default,
        channels,
    }))
}

/// A channel and its programmes. The clips' lengths are read once per chunk (an
/// old chunk re-airs in a long guide); the pictures are the playout's.
fn channel(ch: &OnAir, default: &str, progs: Vec<Programme>) -> Result<GuideChannel, ApiError> {
    let def = ch.def();
    let slug = def.slug.as_str();
    let chunks: HashMap<String, Chunk> = ch
        .playout
        .chunks()
        .into_iter()
        .map(|c| (c.id.clone(), c))
        .collect();
    let mut clips: HashMap<String, Vec<ClipRow>> = HashMap::new();
    let mut programmes = Vec::with_capacity(progs.len());
    for p in progs {
        let title = p.title().unwrap_or_else(|| def.name.clone());
        let chunk = (!p.chunk.is_empty()).then(|| p.chunk.clone());
        let known = chunk.as_deref().and_then(|id| chunks.get(id));
        let rows = match &chunk {
            Some(id) => match clips.get(id) {
                Some(rows) => rows,
                None => {
                    let rows = ch.playout.clip_records(id).map_err(ApiError::internal)?;
                    clips.entry(id.clone()).or_insert(rows)
                }
            },
            None => &Vec::new(),
        };
        programmes.push(GuideProgramme {
            thumbnail: known.and_then(|c| thumbs::strip_url(slug, c)),
            clips: rows
                .iter()
                .map(|r| GuideClip {
                    index: r.idx as u32,
                    title: r.rec.title.clone(),
                    creator: r.rec.creator.clone(),
                    duration: r.rec.duration,
                    thumbnail: known
                        .and_then(|c| thumbs::clip_of(c, r.idx))
                        .and_then(|info| thumbs::clip_url(slug, info)),
                })
                .collect(),
            chunk,
            start: unix(p.start),
            stop: unix(p.stop),
            title,
            on_air: p.on_air,
        });
    }
    Ok(GuideChannel {
        slug: def.slug.to_string(),
        name: def.name.clone(),
        number: def.number,
        logo: iptv::logo_url("", ch),
        stream: format!("/hls/{}/stream.m3u8", def.slug),
        default: def.slug.as_str() == default,
        programmes,
    })
}
