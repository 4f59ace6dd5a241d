//! What IPTV apps and smart TVs read: an M3U playlist with one channel and an XMLTV
//! guide whose programmes are the chunk on air and the chunks queued after it, with
//! their real start and stop times.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;

use super::AppState;
use crate::channels::def::Origin;
use crate::schedule::Chunk;
use crate::station::OnAir;

/// A channel's id in the playlist and the guide: the classic channel keeps the id
/// made from its name (the IPTV apps of a one-channel release matched it), the
/// others are their slug, which is unique and never changes.
pub fn tvg_id(ch: &OnAir) -> String {
    let def = ch.def();
    match def.origin {
        Origin::Classic => channel_id(&def.name),
        _ => format!("{}.local", def.slug),
    }
}

/// A channel's logo URL, the one place it is made: a PNG or JPEG for every channel,
/// its own image or one drawn for it (`http::logos`), which every IPTV app and
/// media server decodes.
pub fn logo_url(base: &str, ch: &OnAir) -> String {
    format!("{base}/logos/{}", ch.slug)
}

/// The channel's id in the playlist (`tvg-id`) and the guide (`<channel id>`), made
/// from its name: XMLTV wants an RFC 2838 style id (`name.domain`, letters, digits
/// and `-`), so the name is slugified and `.local` added: `My Channel` gives
/// `my-channel.local`, the default name `shufflecast.local`. Both documents take it
/// from here, so an IPTV app always matches the guide to the channel.
pub fn channel_id(name: &str) -> String {
    let mut slug = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    format!(
        "{}.local",
        if slug.is_empty() { "shufflecast" } else { slug }
    )
}

/// The base URL the client used to reach us, from its Host header (and a proxy's
/// X-Forwarded-Proto); only characters a host can have are kept.
pub(super) fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
        })
        .unwrap_or("localhost");
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    format!("{}://{host}", if https { "https" } else { "http" })
}

/// `?token=…` for URLs in the playlist when a viewer token is required.
pub(super) fn token_query(st: &AppState) -> String {
    st.tokens
        .viewer
        .as_ref()
        .map(|t| format!("?token={}", urlencode(t)))
        .unwrap_or_default()
}

pub(super) fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// An M3U playlist with every channel, for IPTV apps.
#[utoipa::path(get, path = "/iptv.m3u", responses(
    (status = 200, description = "The playlist.", content_type = "audio/x-mpegurl", body = String),
))]
pub async fn m3u(State(st): State<AppState>, headers: HeaderMap) -> impl IntoResponse {
    let base = base_url(&headers);
    let q = token_query(&st);
    let mut body = format!("#EXTM3U url-tvg=\"{base}/epg.xml{q}\"\n");
    let group = attr(&st.station.defaults().channel.channel_name);
    for ch in st.station.list() {
        let def = ch.def();
        let name = attr(&def.name);
        let _ = write!(
            body,
            "#EXTINF:-1 tvg-id=\"{id}\" tvg-chno=\"{no}\" tvg-name=\"{name}\" tvg-logo=\"{logo}\" group-title=\"{group}\",{title}\n\
             {base}/hls/{slug}/stream.m3u8{q}\n",
            id = tvg_id(&ch),
            no = def.number,
            logo = logo_url(&base, &ch),
            title = def.name.replace(['\n', '\r', ','], " "),
            slug = def.slug,
        );
    }
    (
        [
            (header::CONTENT_TYPE, "audio/x-mpegurl; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=60"),
        ],
        body,
    )
}

/// shufflecast's own icon, an SVG (for the web client; channels' logos are
/// `/logos/{slug}`).
#[utoipa::path(get, path = "/logo.svg", responses(
    (status = 200, description = "An SVG picture.", content_type = "image/svg+xml", body = String),
))]
pub async fn logo() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 128 128"><rect width="128" height="128" rx="24" fill="#0b1320"/><path d="M36 40h56v48H36z" fill="none" stroke="#7aa2ff" stroke-width="8"/><path d="M58 52l18 12-18 12z" fill="#7aa2ff"/></svg>"##,
    )
}

/// XML text and attribute escaping.
pub(super) fn attr(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters are not allowed in XML 1.0.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// XMLTV's time format: `YYYYMMDDhhmmss +0000`.
fn xmltv_time(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    let dt =
        time::OffsetDateTime::from_unix_timestamp(secs).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02} +0000",
        dt.year(),
        dt.month() as u8,
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second()
    )
}

/// A programme of the guide.
#[derive(Debug, Clone, PartialEq)]
pub struct Programme {
    /// The chunk; empty for the slate.
    pub chunk: String,
    /// When it started or starts airing.
    pub start: SystemTime,
    /// When it ends.
    pub stop: SystemTime,
    /// Its clips' titles, in order.
    pub titles: Vec<String>,
    /// Its clips' creators, distinct.
    pub creators: Vec<String>,
    /// It is on air now (the first programme, when the stream is on air).
    pub on_air: bool,
}

impl Programme {
    /// Its title for people ([`crate::schedule::human_title`]); `None` for the slate.
    pub fn title(&self) -> Option<String> {
        crate::schedule::human_title(self.titles.iter().map(String::as_str))
    }
}

/// The programmes from what is on air onwards, at most `n + 2`: the chunk of the
/// airing clip (the engine loads ahead, so the playout may already be feeding the
/// next one), the chunk being fed if another, then the chunks that follow. While
/// the slate airs with no chunk at all, one programme of a minute (the guide is
/// fetched again before it ends) says the channel is on air with nothing else.
pub fn programmes(st: &OnAir, n: usize) -> Vec<Programme> {
    let now_playing = st.live.now_playing();
    let now = st.live.last_published().unwrap_or_else(SystemTime::now);
    let (current, upcoming) = st.playout.upcoming(n);
    let mut out = Vec::new();
    let describe = |c: &Chunk, start: SystemTime| {
        let mut creators: Vec<String> = Vec::new();
        for k in &c.clips {
            if let Some(cr) = &k.info.creator
                && !creators.contains(cr)
            {
                creators.push(cr.clone());
            }
        }
        // A chunk still growing ends when it is complete.
        let secs = if c.complete {
            c.duration
        } else {
            c.duration.max(c.target_secs)
        };
        Programme {
            chunk: c.id.clone(),
            start,
            stop: start + Duration::from_secs_f64(secs.max(0.0)),
            titles: c.clips.iter().map(|k| k.info.title.clone()).collect(),
            creators,
            on_air: false,
        }
    };
    let current = current.map(|(c, _)| c);
    let airing = now_playing.clip.as_ref().filter(|c| !c.is_slate());
    let on_air = airing
        .and_then(|a| a.chunk.as_deref())
        .and_then(|id| match &current {
            Some(c) if c.id == id => Some(c.clone()),
            _ => st.playout.chunk(id),
        });
    let mut at = now;
    if let Some(chunk) = &on_air {
        // Where in the chunk the newest segment is: the clips before the airing one,
        // plus the position in it.
        let before: f64 = airing
            .and_then(|a| chunk.clips.iter().position(|k| k.info.id == a.id))
            .map_or(0.0, |i| {
                let per = chunk.duration / chunk.clips.len().max(1) as f64;
                i as f64 * per
            });
        let into = before + now_playing.clip_position;
        let start = now
            .checked_sub(Duration::from_secs_f64(into.max(0.0)))
            .unwrap_or(now);
        let mut p = describe(chunk, start);
        p.on_air = true;
        at = p.stop.max(now);
        out.push(p);
    }
    match current {
        Some(c) if on_air.as_ref().is_none_or(|a| a.id != c.id) => {
            let p = describe(&c, at);
            at = p.stop;
            out.push(p);
        }
        Some(_) => {}
        None if on_air.is_none() && now_playing.clip.is_some() && upcoming.is_empty() => {
            // The slate, and no chunk to air yet.
            out.push(Programme {
                chunk: String::new(),
                start: now,
                stop: now + Duration::from_secs(60),
                titles: Vec::new(),
                creators: Vec::new(),
                on_air: true,
            });
            at = now + Duration::from_secs(60);
        }
        None => {}
    }
    for c in &upcoming {
        let p = describe(c, at);
        at = p.stop;
        out.push(p);
    }
    out
}

/// The programmes from what is on air onwards, until the first that starts at
/// `until` or later, at most `max` (the order goes on for ever: old chunks re-air),
/// or as far as the playout knows.
pub fn programmes_until(st: &OnAir, until: SystemTime, max: usize) -> Vec<Programme> {
    let mut n = 8.min(max);
    loop {
        let mut progs = programmes(st, n);
        // Fewer than asked: the playout has nothing more to predict.
        let known = progs.len() < n;
        if let Some(i) = progs.iter().position(|p| p.start >= until) {
            progs.truncate(i);
            progs.truncate(max);
            return progs;
        }
        if known || n >= max {
            progs.truncate(max);
            return progs;
        }
        n = (n * 2).min(max);
    }
}

/// An XMLTV guide: every channel, each with the chunk on air and the chunks queued
/// after it.
#[utoipa::path(get, path = "/epg.xml", responses(
    (status = 200, description = "The guide.", content_type = "application/xml", body = String),
))]
pub async fn epg(State(st): State<AppState>, headers: HeaderMap) -> impl IntoResponse {
    let base = base_url(&headers);
    let channels = st.station.list();
    let mut x = String::new();
    x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE tv SYSTEM \"xmltv.dtd\">\n");
    let _ = writeln!(
        x,
        "<tv generator-info-name=\"shufflecast\" source-info-url=\"{base}/\">"
    );
    // XMLTV's DTD: every <channel> before any <programme>.
    for ch in &channels {
        let def = ch.def();
        let _ = writeln!(
            x,
            "  <channel id=\"{}\">\n    <display-name>{name}</display-name>\n    <display-name>{no}</display-name>\n    <display-name>{no} {name}</display-name>\n    <icon src=\"{}\"/>\n  </channel>",
            tvg_id(ch),
            logo_url(&base, ch),
            name = attr(&def.name),
            no = def.number,
        );
    }
    let q = token_query(&st);
    for ch in &channels {
        programmes_xml(&mut x, ch, &base, &q);
    }
    x.push_str("</tv>\n");
    (
        [
            (header::CONTENT_TYPE, "application/xml; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=30"),
        ],
        x,
    )
}

/// A channel's programmes, as XMLTV; pictures at `base` (what the client reached),
/// with the viewer token query `q` (apps fetch them without our headers).
fn programmes_xml(x: &mut String, ch: &OnAir, base: &str, q: &str) {
    let id = tvg_id(ch);
    let name = ch.name();
    let strips: std::collections::HashMap<String, String> = ch
        .playout
        .chunks()
        .iter()
        .filter_map(|c| Some((c.id.clone(), super::thumbs::strip_url(ch.slug.as_str(), c)?)))
        .collect();
    for p in programmes(ch, 12) {
        let _ = writeln!(
            x,
            "  <programme start=\"{}\" stop=\"{}\" channel=\"{id}\">",
            xmltv_time(p.start),
            xmltv_time(p.stop)
        );
        let title = p.title().unwrap_or_else(|| name.clone());
        let _ = writeln!(x, "    <title lang=\"en\">{}</title>", attr(&title));
        // XMLTV: an empty desc is an error; leave it out instead.
        let desc = p.titles.join(" · ");
        if !desc.trim().is_empty() {
            let _ = writeln!(x, "    <desc lang=\"en\">{}</desc>", attr(&desc));
        }
        if !p.creators.is_empty() {
            x.push_str("    <credits>\n");
            for c in &p.creators {
                let _ = writeln!(x, "      <presenter>{}</presenter>", attr(c));
            }
            x.push_str("    </credits>\n");
        }
        let _ = writeln!(x, "    <category lang=\"en\">Entertainment</category>");
        // The DTD's order: icon after category (and keyword, language, length).
        if let Some(strip) = strips.get(&p.chunk) {
            let _ = writeln!(
                x,
                "    <icon src=\"{}\"/>",
                attr(&format!("{base}{strip}{q}"))
            );
        }
        // The chunk id, so a client can match a programme to /api/chunks/{id} (the
        // slate has none).
        if !p.chunk.is_empty() {
            let _ = writeln!(
                x,
                "    <episode-num system=\"shufflecast-chunk\">{}</episode-num>",
                attr(&p.chunk)
            );
        }
        x.push_str("  </programme>\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_and_times() {
        assert_eq!(attr("a&b<c>\"d'\u{1}"), "a&amp;b&lt;c&gt;&quot;d&apos; ");
        assert_eq!(
            xmltv_time(SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000)),
            "20261118110640 +0000"
        );
        let mut h = HeaderMap::new();
        assert_eq!(base_url(&h), "http://localhost");
        h.insert(header::HOST, "tv.local:8081".parse().unwrap());
        assert_eq!(base_url(&h), "http://tv.local:8081");
        h.insert("x-forwarded-proto", "https".parse().unwrap());
        assert_eq!(base_url(&h), "https://tv.local:8081");
        h.insert(header::HOST, "evil\"><x".parse().unwrap());
        assert_eq!(base_url(&h), "https://localhost");
        assert_eq!(urlencode("a b&c"), "a%20b%26c");
    }

    #[test]
    fn channel_ids_are_rfc_2838_style() {
        for (name, id) in [
            ("shufflecast", "shufflecast.local"),
            ("My Channel", "my-channel.local"),
            ("  Late -- Night TV! ", "late-night-tv.local"),
            ("Télé 2", "t-l-2.local"),
            ("???", "shufflecast.local"),
            ("", "shufflecast.local"),
        ] {
            let got = channel_id(name);
            assert_eq!(got, id, "{name:?}");
            // tv_validate_file's rule: /^[-a-zA-Z0-9]+(\.[-a-zA-Z0-9]+)+$/
            let parts: Vec<&str> = got.split('.').collect();
            assert!(parts.len() >= 2, "{got}");
            assert!(parts.iter().all(
                |p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            ));
        }
    }
}
