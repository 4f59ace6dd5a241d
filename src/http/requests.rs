//! The HTTP request counters, one set per server: requests by route, method and
//! status, bytes sent, and segment fetches for the viewer estimate. Kept by a
//! middleware; written on the /metrics page (`metrics`).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use parking_lot::Mutex;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

/// A window long enough to hold several segment fetches per viewer.
const VIEWER_WINDOW: Duration = Duration::from_secs(30);

/// The labels of an HTTP request.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    /// The route template, never the raw path.
    route: String,
    method: String,
    status: u16,
}

/// HTTP counters, one set per server.
#[derive(Default)]
pub struct HttpMetrics {
    requests: Family<RequestLabels, Counter>,
    bytes: Counter,
    /// When recent segment requests came, for the viewer estimate.
    segment_fetches: Mutex<VecDeque<Instant>>,
}

impl HttpMetrics {
    pub(super) fn record(&self, route: &str, method: &str, status: u16, bytes: u64, segment: bool) {
        let labels = RequestLabels {
            route: route.to_string(),
            method: method.to_string(),
            status,
        };
        self.requests.get_or_create(&labels).inc();
        self.bytes.inc_by(bytes);
        if segment && status < 300 {
            let now = Instant::now();
            let mut fetches = self.segment_fetches.lock();
            fetches.push_back(now);
            forget_before(&mut fetches, now);
        }
    }

    /// Viewers, estimated: segment fetches in the window divided by the segments a
    /// player needs in that time. Counts players, not people; a CDN in front counts
    /// as one per edge.
    fn viewers(&self, segment_secs: f64) -> f64 {
        let mut fetches = self.segment_fetches.lock();
        forget_before(&mut fetches, Instant::now());
        let per_viewer = VIEWER_WINDOW.as_secs_f64() / segment_secs.max(0.1);
        (fetches.len() as f64 / per_viewer * 10.0).round() / 10.0
    }

    /// Requests by route, method and status; bytes sent; viewers.
    pub fn register(&self, reg: &mut Registry, segment_secs: f64) {
        reg.register(
            "http_requests",
            "HTTP requests by route, method and status",
            self.requests.clone(),
        );
        reg.register(
            "http_response_bytes",
            "Bytes of HTTP response bodies sent",
            self.bytes.clone(),
        );
        reg.register(
            "viewers",
            "Players watching, estimated from segment requests in the last 30 s",
            ConstGauge::new(self.viewers(segment_secs)),
        );
    }
}

/// Drops the fetches older than the viewer window.
fn forget_before(fetches: &mut VecDeque<Instant>, now: Instant) {
    while fetches
        .front()
        .is_some_and(|t| now.duration_since(*t) > VIEWER_WINDOW)
    {
        fetches.pop_front();
    }
}

/// Middleware counting every request by route template (never the raw path, so a
/// scanner cannot blow up the label set) and status. tower-http has nothing for
/// this (its `metrics` counts requests in flight only); its `TraceLayer` could count
/// body chunks, but would add the endless streams' bytes that `ts_bytes_total`
/// already counts.
pub async fn count(State(m): State<Arc<HttpMetrics>>, req: Request, next: Next) -> Response {
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
        let labels = RequestLabels {
            route: "/hls/{file}".to_string(),
            method: "GET".to_string(),
            status: 200,
        };
        assert_eq!(m.requests.get_or_create(&labels).get(), 30);
        assert_eq!(m.bytes.get(), 30_020);
    }
}
