//! Single-range byte requests (RFC 9110 14) on in-memory bodies: players and
//! download tools resume segments with them.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

/// A parsed `Range` header against a body of `len` bytes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ByteRange {
    /// No usable range: send everything (also for multi-range requests, which RFC 9110 allows).
    Full,
    /// Inclusive start and end.
    Part(u64, u64),
    Unsatisfiable,
}

pub(crate) fn parse(value: Option<&str>, len: u64) -> ByteRange {
    let Some(spec) = value.and_then(|v| v.trim().strip_prefix("bytes=")) else {
        return ByteRange::Full;
    };
    if spec.contains(',') {
        return ByteRange::Full;
    }
    let Some((a, b)) = spec.split_once('-') else {
        return ByteRange::Full;
    };
    let (a, b) = (a.trim(), b.trim());
    match (a.parse::<u64>().ok(), b.parse::<u64>().ok()) {
        (Some(start), end) if a.chars().all(|c| c.is_ascii_digit()) => {
            if start >= len {
                return ByteRange::Unsatisfiable;
            }
            match end {
                Some(end) if end < start => ByteRange::Full,
                Some(end) => ByteRange::Part(start, end.min(len - 1)),
                None if b.is_empty() => ByteRange::Part(start, len - 1),
                None => ByteRange::Full,
            }
        }
        (None, Some(suffix)) if a.is_empty() => {
            if suffix == 0 || len == 0 {
                ByteRange::Unsatisfiable
            } else {
                ByteRange::Part(len.saturating_sub(suffix), len - 1)
            }
        }
        _ => ByteRange::Full,
    }
}

/// A 200, 206 or 416 response for `body` according to the request's Range header.
pub(crate) fn respond(
    body: Bytes,
    headers: &HeaderMap,
    content_type: &'static str,
    cache: &'static str,
) -> Response {
    let len = body.len() as u64;
    let range = parse(
        headers.get(header::RANGE).and_then(|v| v.to_str().ok()),
        len,
    );
    let common = [
        (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
        (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        (header::ACCEPT_RANGES, HeaderValue::from_static("bytes")),
    ];
    match range {
        ByteRange::Full => (common, body).into_response(),
        ByteRange::Part(start, end) => {
            let cr = HeaderValue::from_str(&format!("bytes {start}-{end}/{len}")).expect("ascii");
            let part = body.slice(start as usize..=end as usize);
            (
                StatusCode::PARTIAL_CONTENT,
                common,
                [(header::CONTENT_RANGE, cr)],
                part,
            )
                .into_response()
        }
        ByteRange::Unsatisfiable => {
            let cr = HeaderValue::from_str(&format!("bytes */{len}")).expect("ascii");
            (
                StatusCode::RANGE_NOT_SATISFIABLE,
                [(header::CONTENT_RANGE, cr)],
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ByteRange::*;

    #[test]
    fn parses_ranges() {
        assert_eq!(parse(None, 100), Full);
        assert_eq!(parse(Some("bytes=0-9"), 100), Part(0, 9));
        assert_eq!(parse(Some("bytes=90-"), 100), Part(90, 99));
        assert_eq!(parse(Some("bytes=-10"), 100), Part(90, 99));
        assert_eq!(parse(Some("bytes=-1000"), 100), Part(0, 99));
        assert_eq!(parse(Some("bytes=50-1000"), 100), Part(50, 99));
        assert_eq!(parse(Some("bytes=100-"), 100), Unsatisfiable);
        assert_eq!(parse(Some("bytes=-0"), 100), Unsatisfiable);
        assert_eq!(parse(Some("bytes=0-1,5-6"), 100), Full);
        assert_eq!(parse(Some("bytes=9-3"), 100), Full);
        assert_eq!(parse(Some("items=0-3"), 100), Full);
        assert_eq!(parse(Some("bytes=x-3"), 100), Full);
        assert_eq!(parse(Some("bytes=+1-3"), 100), Full);
    }
}
