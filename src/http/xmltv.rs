//! The XMLTV guide (`/epg.xml`) that Plex, Jellyfin, Emby and Kodi's IPTV Simple
//! client read: every channel with its display names and logo, then its
//! programmes (the grid's slots, `GUIDE_HOURS` ahead) with what each app uses:
//! title, description, credits, category, icon, episode numbers (so apps keep a
//! description per airing and Jellyfin treats the programmes as a series) and
//! `<new/>` or `<previously-shown/>` where that is known. What each reader takes
//! is in `docs/guide.md`.

use std::fmt::Write as _;

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, TimeZone, Timelike};

use super::guide::{Listed, listed, picture};
use super::iptv::{attr, base_url, logo_url, token_query, tvg_id};
use super::state::AppState;

/// How long a cache may keep the guide: it changes as chunks are made.
const GUIDE_CACHE: &str = "public, max-age=30";

/// XMLTV's time format: `YYYYMMDDhhmmss +0000`.
fn xmltv_time(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .unwrap_or_default()
        .format("%Y%m%d%H%M%S +0000")
        .to_string()
}

/// The programme's episode number in both systems apps read: season the year,
/// episode its local start as month, day, hour and minute (`S2026E12071030` for
/// 10:30 on 7 December), unique per channel and readable. `xmltv_ns` counts from
/// zero.
fn episode_nums<Tz: TimeZone>(tz: &Tz, start: i64) -> (String, String) {
    let at = tz
        .timestamp_opt(start, 0)
        .single()
        .map(|d| d.naive_local())
        .unwrap_or_default();
    let episode = at.month() * 1_000_000 + at.day() * 10_000 + at.hour() * 100 + at.minute();
    (
        format!("{}.{}.", at.year() - 1, episode - 1),
        format!("S{}E{episode:08}", at.year()),
    )
}

/// An XMLTV guide: every channel, each with its programmes from the one on air
/// until GUIDE_HOURS ahead. Gzip-compressed when the client accepts it.
#[utoipa::path(get, path = "/epg.xml", responses(
    (status = 200, description = "The guide.", content_type = "application/xml", body = String),
))]
pub async fn epg(State(st): State<AppState>, headers: HeaderMap) -> Response {
    let hours = st.station.defaults().server.guide_hours as f64;
    let wall = st.station.shared().clock.wall_now();
    let channels = match listed(&st, wall, hours).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let base = base_url(&headers);
    let q = token_query(&st);
    let x = render(&channels, &base, &q);
    (
        [
            (header::CONTENT_TYPE, "application/xml; charset=utf-8"),
            (header::CACHE_CONTROL, GUIDE_CACHE),
        ],
        x,
    )
        .into_response()
}

/// The document for `channels`; URLs at `base` (what the client reached), pictures
/// with the viewer token query `q` (apps fetch them without our headers).
fn render(channels: &[Listed], base: &str, q: &str) -> String {
    let mut x = String::with_capacity(channels.len() * 64 * 1024);
    x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE tv SYSTEM \"xmltv.dtd\">\n");
    let _ = writeln!(
        x,
        "<tv generator-info-name=\"shufflecast\" source-info-url=\"{base}/\">"
    );
    // XMLTV's DTD: every <channel> before any <programme>.
    for l in channels {
        let ch = &l.channel;
        let def = ch.def();
        let _ = writeln!(
            x,
            "  <channel id=\"{}\">\n    <display-name>{name}</display-name>\n    <display-name>{no}</display-name>\n    <display-name>{no} {name}</display-name>\n    <icon src=\"{}\"/>\n  </channel>",
            tvg_id(ch),
            attr(&logo_url(base, ch)),
            name = attr(&def.name),
            no = def.number,
        );
    }
    for l in channels {
        programmes(&mut x, l, base, q);
    }
    x.push_str("</tv>\n");
    x
}

/// A channel's programmes, as XMLTV (elements in the DTD's order).
fn programmes(x: &mut String, l: &Listed, base: &str, q: &str) {
    let ch = &l.channel;
    let id = tvg_id(ch);
    for p in &l.programmes {
        let _ = writeln!(
            x,
            "  <programme start=\"{}\" stop=\"{}\" channel=\"{id}\">",
            xmltv_time(p.start),
            xmltv_time(p.stop)
        );
        let _ = writeln!(
            x,
            "    <title lang=\"en\">{}</title>",
            attr(&p.title(&l.text))
        );
        // XMLTV: an empty desc is an error; the channel's text is never empty.
        let desc = p.description(&l.text);
        if !desc.trim().is_empty() {
            let _ = writeln!(x, "    <desc lang=\"en\">{}</desc>", attr(&desc));
        }
        let creators = p.creators();
        if !creators.is_empty() {
            x.push_str("    <credits>\n");
            for c in &creators {
                let _ = writeln!(x, "      <presenter>{}</presenter>", attr(c));
            }
            x.push_str("    </credits>\n");
        }
        x.push_str("    <category lang=\"en\">Entertainment</category>\n");
        let _ = writeln!(
            x,
            "    <icon src=\"{}\"/>",
            attr(&format!("{base}{}{q}", picture(ch, p)))
        );
        let (ns, onscreen) = episode_nums(&chrono::Local, p.start);
        let _ = writeln!(
            x,
            "    <episode-num system=\"xmltv_ns\">{ns}</episode-num>\n    <episode-num system=\"onscreen\">{onscreen}</episode-num>"
        );
        if p.known() {
            x.push_str(if p.new_clips() {
                "    <new/>\n"
            } else {
                "    <previously-shown/>\n"
            });
        }
        x.push_str("  </programme>\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_episode_numbers() {
        assert_eq!(xmltv_time(1_795_000_000), "20261118110640 +0000");
        let t = chrono::NaiveDate::from_ymd_opt(2026, 12, 7)
            .unwrap()
            .and_hms_opt(10, 30, 0)
            .unwrap()
            .and_utc()
            .timestamp();
        assert_eq!(
            episode_nums(&chrono::Utc, t),
            ("2025.12071029.".to_string(), "S2026E12071030".to_string())
        );
        let jan = t - 340 * 86400 - 10 * 3600 - 30 * 60;
        assert_eq!(episode_nums(&chrono::Utc, jan).1, "S2026E01010000");
    }
}
