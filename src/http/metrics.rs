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

use super::state::AppState;
use crate::engine::live::{Lateness, LiveStats};
use crate::library::LibraryCounts;
use crate::schedule::Chunk;
use crate::schedule::generator::{GeneratorState, GeneratorStatus};

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

/// Label values escaped per the text format.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A metric's type, as the text format names it.
#[derive(Clone, Copy)]
enum Kind {
    Counter,
    Gauge,
}

/// The page being written: each metric with its `# HELP` and `# TYPE` lines, then
/// its samples. Every name gets the `shufflecast_` prefix.
#[derive(Default)]
struct Page(String);

impl Page {
    /// A metric with labelled samples: `(labels, value)`, labels in braces or empty.
    fn metric(&mut self, name: &str, kind: Kind, help: &str, samples: &[(String, f64)]) {
        let kind = match kind {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
        };
        let o = &mut self.0;
        let _ = writeln!(o, "# HELP shufflecast_{name} {help}");
        let _ = writeln!(o, "# TYPE shufflecast_{name} {kind}");
        for (labels, v) in samples {
            let _ = writeln!(o, "shufflecast_{name}{labels} {v}");
        }
    }

    /// A metric with one sample and no labels.
    fn one(&mut self, name: &str, kind: Kind, help: &str, v: impl Into<f64>) {
        self.metric(name, kind, help, &[(String::new(), v.into())]);
    }

    /// A metric with one sample per value of one label.
    fn by(&mut self, name: &str, kind: Kind, help: &str, label: &str, samples: &[(&str, f64)]) {
        let samples: Vec<(String, f64)> = samples
            .iter()
            .map(|(value, v)| (format!("{{{label}=\"{value}\"}}"), *v))
            .collect();
        self.metric(name, kind, help, &samples);
    }
}

/// One sample per channel, labelled with its slug, of what `f` reads of it.
fn per_channel<T>(
    page: &mut Page,
    name: &str,
    kind: Kind,
    help: &str,
    channels: &[(String, T)],
    f: impl Fn(&T) -> f64,
) {
    let samples: Vec<(String, f64)> = channels
        .iter()
        .map(|(slug, t)| (format!("{{channel=\"{}\"}}", label(slug)), f(t)))
        .collect();
    page.metric(name, kind, help, &samples);
}

/// Each channel's live stream counters.
fn stream(page: &mut Page, live: &[(String, LiveStats)]) {
    use Kind::Counter;
    per_channel(
        page,
        "segments_published_total",
        Counter,
        "Segments published since start.",
        live,
        |l| l.segments_published as f64,
    );
    per_channel(
        page,
        "underruns_total",
        Counter,
        "Segments filled with a fallback because no clip was ready.",
        live,
        |l| l.underruns as f64,
    );
    per_channel(
        page,
        "discontinuities_total",
        Counter,
        "Segments preceded by a discontinuity.",
        live,
        |l| l.discontinuities as f64,
    );
    per_channel(
        page,
        "bytes_published_total",
        Counter,
        "Bytes of segments published.",
        live,
        |l| l.bytes_published as f64,
    );
}

/// Upper bounds of the lateness histogram's buckets, milliseconds (at most
/// [`Lateness::BUCKETS`], the last one told apart).
const LATENESS_BUCKETS_MS: [usize; 16] =
    [1, 2, 3, 4, 5, 7, 10, 15, 20, 30, 50, 75, 100, 150, 200, 250];

/// How late segments were published against their schedule: each channel's p99
/// and worst since start, and one histogram of every channel's segments, whose
/// counters a scraper (or a benchmark) subtracts to get the figures of a window.
/// A bucket `le="x"` counts the segments less than x seconds late (whole ms).
fn lateness(page: &mut Page, live: &[(String, LiveStats)]) {
    use Kind::Gauge;
    per_channel(
        page,
        "segment_lateness_p99_seconds",
        Gauge,
        "Lateness 99% of the segments published since start were at most (whole ms).",
        live,
        |l| l.lateness.quantile(0.99).as_secs_f64(),
    );
    per_channel(
        page,
        "segment_lateness_max_seconds",
        Gauge,
        "The latest a segment was published since start.",
        live,
        |l| l.lateness.max.as_secs_f64(),
    );
    let mut all = Lateness::default();
    for (_, l) in live {
        all.merge(&l.lateness);
    }
    let o = &mut page.0;
    let name = "shufflecast_segment_lateness_seconds";
    let _ = writeln!(
        o,
        "# HELP {name} How late segments of every channel were published against their schedule, since start."
    );
    let _ = writeln!(o, "# TYPE {name} histogram");
    for ms in LATENESS_BUCKETS_MS {
        let le = ms as f64 / 1000.0;
        let _ = writeln!(o, "{name}_bucket{{le=\"{le}\"}} {}", all.under(ms));
    }
    let _ = writeln!(o, "{name}_bucket{{le=\"+Inf\"}} {}", all.count());
    let _ = writeln!(o, "{name}_sum {}", all.total.as_secs_f64());
    let _ = writeln!(o, "{name}_count {}", all.count());
}

/// Each channel's chunks by state.
fn chunks(page: &mut Page, channels: &[(String, Vec<Chunk>)]) {
    let mut samples = Vec::new();
    for (slug, chunks) in channels {
        let count = |f: fn(&Chunk) -> bool| chunks.iter().filter(|c| f(c)).count() as f64;
        for (state, n) in [
            ("ready", count(|c| c.complete)),
            ("never_aired", count(|c| c.complete && c.times_aired == 0)),
            ("building", count(|c| !c.complete)),
        ] {
            samples.push((
                format!("{{channel=\"{}\",state=\"{state}\"}}", label(slug)),
                n,
            ));
        }
    }
    page.metric(
        "chunks",
        Kind::Gauge,
        "Chunks by channel and state.",
        &samples,
    );
}

/// Each channel's generator: jobs and encodes.
fn generator(page: &mut Page, status: &[(String, GeneratorStatus)]) {
    use Kind::{Counter, Gauge};
    per_channel(
        page,
        "generator_jobs",
        Gauge,
        "Generation jobs running.",
        status,
        |s| s.jobs.len() as f64,
    );
    per_channel(
        page,
        "generator_stalled",
        Gauge,
        "1 when generation cannot make progress.",
        status,
        |s| matches!(s.state, GeneratorState::Stalled { .. }) as u8 as f64,
    );
    per_channel(
        page,
        "clips_encoded_total",
        Counter,
        "Clips encoded since start.",
        status,
        |s| s.clips_encoded as f64,
    );
    per_channel(
        page,
        "encode_failures_total",
        Counter,
        "Clip encodes that failed since start.",
        status,
        |s| s.encode_failures as f64,
    );
}

/// The continuous MPEG-TS streams: tuners in use, and each channel's clients.
fn tuners(page: &mut Page, tuners: &super::tuners::Tuners) {
    use Kind::{Counter, Gauge};
    use std::sync::atomic::Ordering::Relaxed;
    page.one(
        "tuners",
        Gauge,
        "Continuous streams that may be open at once (TUNER_COUNT).",
        tuners.count() as f64,
    );
    page.one(
        "tuners_in_use",
        Gauge,
        "Continuous streams open now.",
        tuners.in_use() as f64,
    );
    page.one(
        "tuner_refusals_total",
        Counter,
        "Continuous streams refused because every tuner was in use.",
        tuners.refused() as f64,
    );
    let all = tuners.all();
    per_channel(
        page,
        "ts_clients",
        Gauge,
        "Clients of the channel's continuous MPEG-TS now.",
        &all,
        |c| c.clients.load(Relaxed) as f64,
    );
    per_channel(
        page,
        "ts_clients_opened_total",
        Counter,
        "Continuous MPEG-TS clients since start.",
        &all,
        |c| c.opened.load(Relaxed) as f64,
    );
    per_channel(
        page,
        "ts_clients_dropped_total",
        Counter,
        "Continuous MPEG-TS clients disconnected for falling more than the live window behind.",
        &all,
        |c| c.dropped.load(Relaxed) as f64,
    );
    per_channel(
        page,
        "ts_bytes_total",
        Counter,
        "Bytes of continuous MPEG-TS handed to clients.",
        &all,
        |c| c.bytes.load(Relaxed) as f64,
    );
}

/// What `transcode` counts: clips whose parameters differed, ffmpeg runs.
fn ffmpeg(page: &mut Page) {
    use Kind::Counter;
    let (mismatched, corrected) = crate::transcode::verify::mismatch_counts();
    page.by(
        "clip_parameter_mismatches_total",
        Counter,
        "Clip encodes whose SPS/PPS differed from the channel's reference, and how many a retry with a correction fixed.",
        "outcome",
        &[
            ("differed", mismatched as f64),
            ("corrected", corrected as f64),
        ],
    );
    let (runs, failures) = crate::transcode::process_counts();
    page.by(
        "ffmpeg_exits_total",
        Counter,
        "ffmpeg and ffprobe runs that ended, by outcome.",
        "outcome",
        &[
            ("success", runs.saturating_sub(failures) as f64),
            ("failure", failures as f64),
        ],
    );
}

/// Source videos by state.
fn library(page: &mut Page, counts: &LibraryCounts) {
    page.by(
        "library_videos",
        Kind::Gauge,
        "Source videos by state.",
        "state",
        &[
            ("usable", counts.usable as f64),
            ("unusable", counts.unusable as f64),
            ("pending", counts.pending as f64),
        ],
    );
}

/// Requests by route, method and status; bytes sent; viewers.
fn http(page: &mut Page, http: &HttpMetrics, segment_secs: f64) {
    use Kind::{Counter, Gauge};
    let (requests, bytes) = {
        let i = http.inner.lock();
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
    page.metric(
        "http_requests_total",
        Counter,
        "HTTP requests by route, method and status.",
        &samples,
    );
    page.one(
        "http_response_bytes_total",
        Counter,
        "Bytes of HTTP response bodies sent.",
        bytes as f64,
    );
    page.one(
        "viewers",
        Gauge,
        "Players watching, estimated from segment requests in the last 30 s.",
        http.viewers(segment_secs),
    );
}

/// What `f` reads of each channel, by slug.
fn each<T>(
    channels: &[std::sync::Arc<crate::station::OnAir>],
    f: impl Fn(&crate::station::OnAir) -> T,
) -> Vec<(String, T)> {
    channels
        .iter()
        .map(|c| (c.slug.to_string(), f(c)))
        .collect()
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", responses(
    (status = 200, description = "The metrics, in Prometheus' text format 0.0.4.", content_type = "text/plain", body = String),
))]
pub async fn render(State(st): State<AppState>) -> impl IntoResponse {
    let mut page = Page::default();
    let channels = st.station.list();
    let live = each(&channels, |c| c.live.stats());
    stream(&mut page, &live);
    lateness(&mut page, &live);
    chunks(&mut page, &each(&channels, |c| c.playout.chunks()));
    generator(&mut page, &each(&channels, |c| c.generator.status()));
    page.one(
        "channels",
        Kind::Gauge,
        "Channels on air.",
        channels.len() as f64,
    );
    let (busy, waiting) = st.station.shared().pool.load();
    page.one(
        "encode_slots_busy",
        Kind::Gauge,
        "Encode slots of the shared pool in use.",
        busy as f64,
    );
    page.one(
        "encode_waiting_channels",
        Kind::Gauge,
        "Channels waiting for an encode slot.",
        waiting as f64,
    );
    tuners(&mut page, &st.tuners);
    ffmpeg(&mut page);
    library(&mut page, &st.library.counts().unwrap_or_default());
    http(&mut page, &st.http, st.config.output.segment_duration);
    let uptime = st.started.elapsed().map_or(0.0, |d| d.as_secs_f64());
    page.one(
        "uptime_seconds",
        Kind::Gauge,
        "Seconds since start.",
        uptime,
    );
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        page.0,
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
    fn a_page_is_help_type_then_samples() {
        let mut page = Page::default();
        page.one("up", Kind::Gauge, "Up.", 1u8);
        page.by(
            "runs_total",
            Kind::Counter,
            "Runs.",
            "outcome",
            &[("ok", 2.0), ("failed", 0.5)],
        );
        assert_eq!(
            page.0,
            "# HELP shufflecast_up Up.\n# TYPE shufflecast_up gauge\nshufflecast_up 1\n\
             # HELP shufflecast_runs_total Runs.\n# TYPE shufflecast_runs_total counter\n\
             shufflecast_runs_total{outcome=\"ok\"} 2\nshufflecast_runs_total{outcome=\"failed\"} 0.5\n"
        );
    }

    #[test]
    fn lateness_is_each_channels_p99_and_worst_and_one_histogram() {
        let stats = |ms: &[u64]| {
            let mut l = LiveStats::default();
            for &m in ms {
                l.lateness.record(Duration::from_micros(m * 1000 + 500));
            }
            l
        };
        let live = [
            ("a".to_string(), stats(&[0, 0, 4])),
            ("b".to_string(), stats(&[120, 400])),
        ];
        let mut page = Page::default();
        lateness(&mut page, &live);
        let p = &page.0;
        for line in [
            "shufflecast_segment_lateness_p99_seconds{channel=\"a\"} 0.0045",
            "shufflecast_segment_lateness_max_seconds{channel=\"b\"} 0.4005",
            "# TYPE shufflecast_segment_lateness_seconds histogram",
            "shufflecast_segment_lateness_seconds_bucket{le=\"0.001\"} 2",
            "shufflecast_segment_lateness_seconds_bucket{le=\"0.004\"} 2",
            "shufflecast_segment_lateness_seconds_bucket{le=\"0.005\"} 3",
            "shufflecast_segment_lateness_seconds_bucket{le=\"0.15\"} 4",
            "shufflecast_segment_lateness_seconds_bucket{le=\"0.25\"} 4",
            "shufflecast_segment_lateness_seconds_bucket{le=\"+Inf\"} 5",
            "shufflecast_segment_lateness_seconds_count 5",
        ] {
            assert!(p.lines().any(|l| l == line), "{line} not in:\n{p}");
        }
        let sum: f64 = p
            .lines()
            .find_map(|l| l.strip_prefix("shufflecast_segment_lateness_seconds_sum "))
            .unwrap()
            .parse()
            .unwrap();
        assert!((sum - 0.5265).abs() < 1e-9, "{sum}");
    }

    #[test]
    fn labels_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
