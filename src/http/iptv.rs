//! What IPTV apps and smart TVs read: an M3U playlist of every channel, and what
//! it and the XMLTV guide (`xmltv`) share: the channels' ids, logos and the base URL.

use std::fmt::Write as _;

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;

use super::state::AppState;
use super::urls;
use crate::lineup::def::Origin;
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
        .map(|t| format!("?token={}", urls::urlencode(t)))
        .unwrap_or_default()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::urls::urlencode;

    #[test]
    fn escaping_and_times() {
        assert_eq!(attr("a&b<c>\"d'\u{1}"), "a&amp;b&lt;c&gt;&quot;d&apos; ");
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
