//! Every URL the server hands out in a body (the API's JSON, playlists, guides),
//! built here and nowhere else. A leaf: it imports nothing of `http`.

use crate::engine::ClipInfo;
use crate::schedule::Chunk;

/// Percent-encodes `s` for a URL's path segment or query value (RFC 3986's
/// unreserved characters stay as they are).
pub fn urlencode(s: &str) -> String {
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

/// The preview URL of chunk `id` of `channel`, as the API lists it.
pub fn preview_url(channel: &str, id: &str) -> String {
    format!(
        "/api/chunks/{}/playlist.m3u8?channel={}",
        urlencode(id),
        urlencode(channel)
    )
}

/// The URL of the picture of the clip `info` of channel `slug`, when it has one.
pub fn clip_url(slug: &str, info: &ClipInfo) -> Option<String> {
    info.picture.as_ref()?;
    let chunk = info.chunk.as_deref()?;
    let index = clip_index(info)?;
    Some(format!("/thumbs/{slug}/clips/{chunk}/{index}.jpg"))
}

/// The URL of the strip of chunk `c` of channel `slug`, once it has one.
pub fn strip_url(slug: &str, c: &Chunk) -> Option<String> {
    c.strip
        .as_ref()
        .map(|_| format!("/thumbs/{slug}/chunks/{}.jpg", c.id))
}

/// The index of a clip in its chunk, from its id (`<chunk>/<index>`).
pub fn clip_index(info: &ClipInfo) -> Option<usize> {
    info.id.rsplit_once('/')?.1.parse().ok()
}

/// A channel's live playlist, as the channel list and the guide name it.
pub fn stream_url(slug: &str) -> String {
    format!("/hls/{slug}/stream.m3u8")
}
