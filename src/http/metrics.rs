//! /metrics in Prometheus text format: the stream, the generator, ffmpeg, and HTTP
//! (requests by route and status, bytes served, an estimate of viewers).
//!
//! The HTTP counters are kept by a middleware here; everything else is read from
//! where it already lives when the page is scraped.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;

use super::AppState;
use crate::schedule::generator::GeneratorState;

/// A window long enough to hold several segment fetches per viewer.
const VIEWER_WINDOW: Duration = Duration::from_secs(30);

/// HTTP counters.
#[derive(Default)]
pub struct HttpMetrics {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// (route, method, status) → requests.
    requests: BTreeMap<(String, String, u16), u64>,
    bytes: u64,
    /// When recent segment requests came, for the viewer estimate.
    segment_fetches: VecDeque<Instant>,
}

impl HttpMetrics {
    fn record(&self, route: &str, method: &str, status: u16, bytes: u64, segment: bool) {
        let mut i = self.inner.lock();
        *i.requests
            .entry((route.to_string(), method.to_string(), status))
            .or_default() += 1;
        i.bytes += bytes;
        if segment && status < 300 {
            let now = Instant::now();
            i.segment_fetches.push_back(now);
            while i
                .segment_fetches
                .front()
                .is_some_and(|t| now.duration_since(*t) > VIEWER_WINDOW)
            {
                i.segment_fetches.pop_front();
            }
        }
    }

    /// Viewers, estimated: segment fetches in the window divided by the segments a
    /// player needs in that time. Counts players, not people; a CDN in front counts
    /// as one per edge.
    fn viewers(&self, segment_secs: f64) -> f64 {
        let mut i = self.inner.lock();
        let now = Instant::now();
        while i
            .segment_fetches
            .front()
            .is_some_and(|t| now.duration_since(*t) > VIEWER_WINDOW)
        {
            i.segment_fetches.pop_front();
        }
        let per_viewer = VIEWER_WINDOW.as_secs_f64() / segment_secs.max(0.1);
        (i.segment_fetches.len() as f64 / per_viewer * 10.0).round() / 10.0
    }
}

/// Middleware counting every request by route template (never the raw path, so a
/// scanner cannot blow up the label set) and status.
pub async fn count(
    State(m): State<std::sync::Arc<HttpMetrics>>,
    req: Request,
    next: Next,
) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = req.method().as_str().to_string();
    let segment = route == "/hls/{file}" && req.uri().path().ends_with(".ts");
    let resp = next.run(req).await;
    // The body's exact size when known (segments, JSON); streams (events) count 0.
    let bytes = resp
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .or_else(|| axum::body::HttpBody::size_hint(resp.body()).exact())
        .unwrap_or(0);
    m.record(&route, &method, resp.status().as_u16(), bytes, segment);
    resp
}

fn metric(out: &mut String, name: &str, kind: &str, help: &str, samples: &[(String, f64)]) {
    let _ = writeln!(out, "# HELP shufflecast_{name} {help}");
    let _ = writeln!(out, "# TYPE shufflecast_{name} {kind}");
    for (labels, v) in samples {
        let _ = writeln!(out, "shufflecast_{name}{labels} {v}");
    }
}

fn one(v: impl Into<f64>) -> Vec<(String, f64)> {
    vec![(String::new(), v.into())]
}

/// Label values escaped per the text format.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", responses(
    (status = 200, description = "The metrics, in Prometheus' text format 0.0.4.", content_type = "text/plain", body = String),
))]
pub async fn render(State(st): State<AppState>) -> impl IntoResponse {
    let live = st.live.stats();
    let chunks = st.playout.chunks();
    let gen_status = st.generator.status();
    let counts = st.library.counts().unwrap_or_default();
    let (runs, failures) = crate::transcode::process_counts();
    let mut o = String::new();
    metric(
        &mut o,
        "segments_published_total",
        "counter",
        "Segments published since start.",
        &one(live.segments_published as f64),
    );
    metric(
        &mut o,
        "underruns_total",
        "counter",
        "Segments filled with a fallback because no clip was ready.",
        &one(live.underruns as f64),
    );
    metric(
        &mut o,
        "discontinuities_total",
        "counter",
        "Segments preceded by a discontinuity.",
        &one(live.discontinuities as f64),
    );
    metric(
        &mut o,
        "bytes_published_total",
        "counter",
        "Bytes of segments published.",
        &one(live.bytes_published as f64),
    );
    metric(
        &mut o,
        "chunks",
        "gauge",
        "Chunks by state.",
        &[
            (
                "{state=\"ready\"}".into(),
                chunks.iter().filter(|c| c.complete).count() as f64,
            ),
            (
                "{state=\"never_aired\"}".into(),
                chunks
                    .iter()
                    .filter(|c| c.complete && c.times_aired == 0)
                    .count() as f64,
            ),
            (
                "{state=\"building\"}".into(),
                chunks.iter().filter(|c| !c.complete).count() as f64,
            ),
        ],
    );
    metric(
        &mut o,
        "generator_jobs",
        "gauge",
        "Generation jobs running.",
        &one(gen_status.jobs.len() as f64),
    );
    metric(
        &mut o,
        "generator_stalled",
        "gauge",
        "1 when generation cannot make progress.",
        &one(matches!(gen_status.state, GeneratorState::Stalled { .. }) as u8),
    );
    metric(
        &mut o,
        "clips_encoded_total",
        "counter",
        "Clips encoded since start.",
        &one(gen_status.clips_encoded as f64),
    );
    metric(
        &mut o,
        "encode_failures_total",
        "counter",
        "Clip encodes that failed since start.",
        &one(gen_status.encode_failures as f64),
    );
    let (mismatched, corrected) = crate::transcode::verify::mismatch_counts();
    metric(
        &mut o,
        "clip_parameter_mismatches_total",
        "counter",
        "Clip encodes whose SPS/PPS differed from the channel's reference, and how many a retry with a correction fixed.",
        &[
            ("{outcome=\"differed\"}".into(), mismatched as f64),
            ("{outcome=\"corrected\"}".into(), corrected as f64),
        ],
    );
    metric(
        &mut o,
        "ffmpeg_exits_total",
        "counter",
        "ffmpeg and ffprobe runs that ended, by outcome.",
        &[
            (
                "{outcome=\"success\"}".into(),
                runs.saturating_sub(failures) as f64,
            ),
            ("{outcome=\"failure\"}".into(), failures as f64),
        ],
    );
    metric(
        &mut o,
        "library_videos",
        "gauge",
        "Source videos by state.",
        &[
            ("{state=\"usable\"}".into(), counts.usable as f64),
            ("{state=\"unusable\"}".into(), counts.unusable as f64),
            ("{state=\"pending\"}".into(), counts.pending as f64),
        ],
    );
    let (requests, bytes) = {
        let i = st.http.inner.lock();
        (i.requests.clone(), i.bytes)
    };
    let samples: Vec<(String, f64)> = requests
        .iter()
        .map(|((route, method, status), n)| {
            (
                format!(
                    "{{route=\"{}\",method=\"{}\",status=\"{status}\"}}",
                    label(route),
                    label(method)
                ),
                *n as f64,
            )
        })
        .collect();
    metric(
        &mut o,
        "http_requests_total",
        "counter",
        "HTTP requests by route, method and status.",
        &samples,
    );
    metric(
        &mut o,
        "http_response_bytes_total",
        "counter",
        "Bytes of HTTP response bodies sent.",
        &one(bytes as f64),
    );
    metric(
        &mut o,
        "viewers",
        "gauge",
        "Players watching, estimated from segment requests in the last 30 s.",
        &one(st.http.viewers(st.segment_secs)),
    );
    metric(
        &mut o,
        "uptime_seconds",
        "gauge",
        "Seconds since start.",
        &one(st.started.elapsed().map_or(0.0, |d| d.as_secs_f64())),
    );
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        o,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viewers_are_segment_fetches_per_player_need() {
        let m = HttpMetrics::default();
        // Two players fetching a 2 s segment each for 30 s: 30 fetches.
        for _ in 0..30 {
            m.record("/hls/{file}", "GET", 200, 1000, true);
        }
        m.record("/hls/{file}", "GET", 404, 10, true);
        m.record("/api/status", "GET", 200, 10, false);
        assert_eq!(m.viewers(2.0), 2.0);
        let i = m.inner.lock();
        assert_eq!(
            i.requests[&("/hls/{file}".to_string(), "GET".to_string(), 200)],
            30
        );
        assert_eq!(i.bytes, 30_020);
    }

    #[test]
    fn labels_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
