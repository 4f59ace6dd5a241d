//! The HTTP request counters, one set per server: requests by route, method and
//! status, and bytes sent. Kept by a middleware; written on the /metrics page
//! (`metrics`). Who watches each channel is the channel's own count
//! (`engine::audience`).

use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

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
}

impl HttpMetrics {
    pub(super) fn record(&self, route: &str, method: &str, status: u16, bytes: u64) {
        let labels = RequestLabels {
            route: route.to_string(),
            method: method.to_string(),
            status,
        };
        self.requests.get_or_create(&labels).inc();
        self.bytes.inc_by(bytes);
    }

    /// Requests by route, method and status; bytes sent.
    pub fn register(&self, reg: &mut Registry) {
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
    let resp = next.run(req).await;
    // The body's exact size when known (segments, JSON); streams (events) count 0.
    let bytes = resp
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .or_else(|| axum::body::HttpBody::size_hint(resp.body()).exact())
        .unwrap_or(0);
    m.record(&route, &method, resp.status().as_u16(), bytes);
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_count_by_route_method_and_status_and_bytes_in_all() {
        let m = HttpMetrics::default();
        for _ in 0..30 {
            m.record("/hls/{file}", "GET", 200, 1000);
        }
        m.record("/hls/{file}", "GET", 404, 10);
        m.record("/api/status", "GET", 200, 10);
        let labels = RequestLabels {
            route: "/hls/{file}".to_string(),
            method: "GET".to_string(),
            status: 200,
        };
        assert_eq!(m.requests.get_or_create(&labels).get(), 30);
        assert_eq!(m.bytes.get(), 30_020);
    }
}
