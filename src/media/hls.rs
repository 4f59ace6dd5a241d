//! HLS media playlists (RFC 8216) for a live sliding window.
//!
//! Written by hand: a live playlist is a dozen lines, and we need exact control over
//! which tags appear (no ENDLIST, DISCONTINUITY only where codec parameters change).

use std::fmt::Write;
use std::time::SystemTime;

/// One segment as listed in the playlist.
#[derive(Clone, Debug, PartialEq)]
pub struct PlaylistEntry {
    /// URI relative to the playlist.
    pub uri: String,
    /// Duration in seconds (EXTINF).
    pub duration: f64,
    /// Wall-clock time of the segment's first frame (EXT-X-PROGRAM-DATE-TIME).
    pub program_date_time: SystemTime,
    /// An EXT-X-DISCONTINUITY precedes this segment.
    pub discontinuity: bool,
}

/// The live window: what a media playlist shows at one moment.
#[derive(Clone, Debug, PartialEq)]
pub struct LivePlaylist<'a> {
    /// EXT-X-TARGETDURATION, whole seconds.
    pub target_duration: u32,
    /// Sequence number of the first entry.
    pub media_sequence: u64,
    /// Discontinuities that have slid out of the window (EXT-X-DISCONTINUITY-SEQUENCE).
    pub discontinuity_sequence: u64,
    /// The segments listed, oldest first.
    pub entries: &'a [PlaylistEntry],
}

/// The smallest EXT-X-TARGETDURATION valid for segments of `max_duration` seconds:
/// every EXTINF rounded to the nearest integer must not exceed it (RFC 8216 4.3.3.1).
pub fn target_duration(max_duration: f64) -> u32 {
    (max_duration.round() as u32).max(1)
}

/// Renders the media playlist text.
pub fn render(p: &LivePlaylist<'_>) -> String {
    let mut s = String::with_capacity(128 + p.entries.len() * 96);
    // Version 3 for decimal EXTINF; every other tag used here is allowed in it.
    let _ = write!(
        s,
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:{}\n#EXT-X-MEDIA-SEQUENCE:{}\n",
        p.target_duration, p.media_sequence
    );
    if p.discontinuity_sequence > 0 {
        let _ = writeln!(
            s,
            "#EXT-X-DISCONTINUITY-SEQUENCE:{}",
            p.discontinuity_sequence
        );
    }
    s.push_str("#EXT-X-INDEPENDENT-SEGMENTS\n");
    for e in p.entries {
        if e.discontinuity {
            s.push_str("#EXT-X-DISCONTINUITY\n");
        }
        let _ = write!(
            s,
            "#EXT-X-PROGRAM-DATE-TIME:{}\n#EXTINF:{:.3},\n{}\n",
            rfc3339_millis(e.program_date_time),
            e.duration,
            e.uri
        );
    }
    s
}

/// One variant stream of a multivariant playlist: a rung of the ladder.
#[derive(Clone, Debug, PartialEq)]
pub struct Variant {
    /// URI of its media playlist, relative to the multivariant playlist.
    pub uri: String,
    /// Peak segment bit rate, bits per second (BANDWIDTH).
    pub bandwidth: u64,
    /// Average bit rate, bits per second (AVERAGE-BANDWIDTH).
    pub average_bandwidth: u64,
    /// RFC 6381 codecs, e.g. `avc1.64001f,mp4a.40.2` (CODECS).
    pub codecs: String,
    /// Picture width and height (RESOLUTION).
    pub resolution: (u32, u32),
    /// Frames per second (FRAME-RATE).
    pub frame_rate: u32,
}

/// Renders a multivariant playlist of `variants`, in the order given: players
/// that start on the first (Safari, many TVs) start there.
pub fn render_multivariant(variants: &[Variant]) -> String {
    let mut s = String::with_capacity(64 + variants.len() * 160);
    // Every variant's segments open on an IDR frame (RFC 8216 4.3.5.1).
    s.push_str("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n");
    for v in variants {
        let _ = write!(
            s,
            "#EXT-X-STREAM-INF:BANDWIDTH={},AVERAGE-BANDWIDTH={},CODECS=\"{}\",RESOLUTION={}x{},FRAME-RATE={:.3}\n{}\n",
            v.bandwidth,
            v.average_bandwidth,
            v.codecs,
            v.resolution.0,
            v.resolution.1,
            f64::from(v.frame_rate),
            v.uri
        );
    }
    s
}

/// `2026-11-24T10:00:00.000Z`: the ISO 8601 form RFC 8216 requires, in UTC.
pub fn rfc3339_millis(t: SystemTime) -> String {
    let t = time::OffsetDateTime::from(t);
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    t.format(&fmt).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn entry(i: u64, disc: bool) -> PlaylistEntry {
        PlaylistEntry {
            uri: format!("r-{i}.ts"),
            duration: 2.0,
            program_date_time: UNIX_EPOCH + Duration::from_millis(1_790_000_000_000 + i * 2000),
            discontinuity: disc,
        }
    }

    #[test]
    fn renders_a_live_window_exactly() {
        let entries = [entry(7, false), entry(8, true)];
        let text = render(&LivePlaylist {
            target_duration: 2,
            media_sequence: 7,
            discontinuity_sequence: 0,
            entries: &entries,
        });
        assert_eq!(
            text,
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:7\n\
             #EXT-X-INDEPENDENT-SEGMENTS\n\
             #EXT-X-PROGRAM-DATE-TIME:2026-09-21T14:13:34.000Z\n#EXTINF:2.000,\nr-7.ts\n\
             #EXT-X-DISCONTINUITY\n\
             #EXT-X-PROGRAM-DATE-TIME:2026-09-21T14:13:36.000Z\n#EXTINF:2.000,\nr-8.ts\n"
        );
        assert!(!text.contains("ENDLIST"));
    }

    #[test]
    fn discontinuity_sequence_only_when_nonzero() {
        let entries = [entry(1, false)];
        let mut p = LivePlaylist {
            target_duration: 2,
            media_sequence: 1,
            discontinuity_sequence: 0,
            entries: &entries,
        };
        assert!(!render(&p).contains("DISCONTINUITY-SEQUENCE"));
        p.discontinuity_sequence = 3;
        assert!(render(&p).contains("#EXT-X-DISCONTINUITY-SEQUENCE:3\n"));
    }

    #[test]
    fn target_duration_rounds_to_nearest() {
        assert_eq!(target_duration(2.0), 2);
        assert_eq!(target_duration(2.4), 2);
        assert_eq!(target_duration(2.5), 3);
        assert_eq!(target_duration(0.5), 1);
        assert_eq!(target_duration(6.0), 6);
    }

    #[test]
    fn a_multivariant_playlist_lists_each_rung_with_what_players_need() {
        let v = |uri: &str, w, h, bw| Variant {
            uri: uri.into(),
            bandwidth: bw,
            average_bandwidth: bw * 3 / 4,
            codecs: "avc1.64001e,mp4a.40.2".into(),
            resolution: (w, h),
            frame_rate: 30,
        };
        let text = render_multivariant(&[
            v("480p/stream.m3u8", 854, 480, 1_800_000),
            v("720p/stream.m3u8", 1280, 720, 3_600_000),
        ]);
        assert_eq!(
            text,
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n\
             #EXT-X-STREAM-INF:BANDWIDTH=1800000,AVERAGE-BANDWIDTH=1350000,CODECS=\"avc1.64001e,mp4a.40.2\",RESOLUTION=854x480,FRAME-RATE=30.000\n480p/stream.m3u8\n\
             #EXT-X-STREAM-INF:BANDWIDTH=3600000,AVERAGE-BANDWIDTH=2700000,CODECS=\"avc1.64001e,mp4a.40.2\",RESOLUTION=1280x720,FRAME-RATE=30.000\n720p/stream.m3u8\n"
        );
    }
}
