//! /metrics in Prometheus' text format 0.0.4: the stream, the generator, ffmpeg, and
//! HTTP (requests by route and status, bytes served, an estimate of viewers).
//!
//! The HTTP counters are kept by a middleware here; everything else is read from
//! where it already lives when the page is scraped.
//!
//! The page is made by `prometheus-client`, the Prometheus project's own crate, not
//! by `metrics` with `metrics-exporter-prometheus`:
//! - its `Registry` is a value, not a process-wide recorder: every scrape builds one
//!   from its server's [`AppState`], so the servers that tests run side by side in
//!   one process never share a figure;
//! - almost every figure is read when scraped, and the crate encodes such values as
//!   they are (`ConstCounter`, `ConstGauge`, a histogram's bucket counts through
//!   `EncodeMetric`). The `metrics` facade would need each pushed into the
//!   recorder's own copy on every scrape, would keep a removed channel's series,
//!   and could not take the lateness histogram at all: its histograms only take
//!   observations, and ours are counted in buckets by the live window;
//! - its `prometheus_text` encoder writes the names the hand-written page had, the
//!   `_total` of a counter included in HELP and TYPE.
//!
//! Two conventions of the crate: a counter is registered without its `_total`, and
//! a HELP without its final full stop; the encoder adds both. The families the page
//! has are checked against `tests/it/api/metrics_families.txt`.

use std::fmt::Debug;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::{
    EncodeLabelSet, EncodeMetric, MetricEncoder, NoLabelSet, prometheus_text,
};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::{Metric, Registry};

use super::error::ApiError;
use super::state::AppState;
use super::wire::FreshAir;
use crate::engine::live::{Lateness, LiveStats};
use crate::library::LibraryCounts;
use crate::schedule::Chunk;
use crate::schedule::generator::{GeneratorState, GeneratorStatus};

/// The prefix of every name on the page.
const PREFIX: &str = "shufflecast";

/// Figures read at scrape time, one per label set: a family of the crate's constant
/// metrics (`ConstCounter`, `ConstGauge`), written even when it has no sample.
#[derive(Debug)]
struct Read<L, M>(Vec<(L, M)>);

impl<L: EncodeLabelSet, M: EncodeMetric + TypedMetric> EncodeMetric for Read<L, M> {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        for (labels, m) in &self.0 {
            m.encode(encoder.encode_family(labels)?)?;
        }
        Ok(())
    }

    fn metric_type(&self) -> MetricType {
        M::TYPE
    }
}

/// A channel's label.
type ChannelLabel = [(&'static str, String); 1];

/// One sample per channel, labelled with its slug, of what `f` reads of it.
fn per_channel<T, M>(
    reg: &mut Registry,
    name: &str,
    help: &str,
    channels: &[(String, T)],
    f: impl Fn(&T) -> M,
) where
    M: EncodeMetric + TypedMetric + Metric,
{
    let samples: Vec<(ChannelLabel, M)> = channels
        .iter()
        .map(|(slug, t)| ([("channel", slug.clone())], f(t)))
        .collect();
    reg.register(name, help, Read(samples));
}

/// One sample per value of one label whose values are fixed.
fn by<M: EncodeMetric + TypedMetric + Metric>(
    reg: &mut Registry,
    name: &str,
    help: &str,
    label: &'static str,
    samples: [(&'static str, M); 2],
) {
    let samples: Vec<_> = samples
        .into_iter()
        .map(|(v, m)| ([(label, v)], m))
        .collect();
    reg.register(name, help, Read(samples));
}

/// Each channel's live stream counters.
fn stream(reg: &mut Registry, live: &[(String, LiveStats)]) {
    let c = ConstCounter::new;
    per_channel(
        reg,
        "segments_published",
        "Segments published since start",
        live,
        |l| c(l.segments_published),
    );
    per_channel(
        reg,
        "underruns",
        "Segments of the slate aired after a clip because no clip was ready",
        live,
        |l| c(l.underruns),
    );
    per_channel(
        reg,
        "waiting_segments",
        "Segments of the slate aired before the channel's first clip",
        live,
        |l| c(l.waiting),
    );
    per_channel(
        reg,
        "repeats",
        "Clip switches that aired the clip before again because nothing new was ready",
        live,
        |l| c(l.repeats),
    );
    per_channel(
        reg,
        "discontinuities",
        "Segments preceded by a discontinuity",
        live,
        |l| c(l.discontinuities),
    );
    per_channel(
        reg,
        "bytes_published",
        "Bytes of segments published",
        live,
        |l| c(l.bytes_published),
    );
}

/// Upper bounds of the lateness histogram's buckets, milliseconds (at most
/// [`Lateness::BUCKETS`], the last one told apart).
const LATENESS_BUCKETS_MS: [usize; 16] =
    [1, 2, 3, 4, 5, 7, 10, 15, 20, 30, 50, 75, 100, 150, 200, 250];

/// Every channel's segments' lateness as a Prometheus histogram: bucket
/// `le="x"` counts the segments less than x seconds late (whole ms).
#[derive(Debug)]
struct LatenessHistogram(Lateness);

impl EncodeMetric for LatenessHistogram {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let l = &self.0;
        // The encoder adds the buckets up: each one's own segments.
        let mut below = 0;
        let buckets: Vec<(f64, u64)> = LATENESS_BUCKETS_MS
            .iter()
            .map(|&ms| {
                let under = l.under(ms);
                let bucket = (ms as f64 / 1000.0, under - below);
                below = under;
                bucket
            })
            .collect();
        encoder.encode_histogram::<NoLabelSet>(l.total.as_secs_f64(), l.count(), &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

/// How late segments were published against their schedule: each channel's p99
/// and worst since start, and one histogram of every channel's segments, whose
/// counters a scraper (or a benchmark) subtracts to get the figures of a window.
fn lateness(reg: &mut Registry, live: &[(String, LiveStats)]) {
    per_channel(
        reg,
        "segment_lateness_p99_seconds",
        "Lateness 99% of the segments published since start were at most (whole ms)",
        live,
        |l| ConstGauge::new(l.lateness.quantile(0.99).as_secs_f64()),
    );
    per_channel(
        reg,
        "segment_lateness_max_seconds",
        "The latest a segment was published since start",
        live,
        |l| ConstGauge::new(l.lateness.max.as_secs_f64()),
    );
    let mut all = Lateness::default();
    for (_, l) in live {
        all.merge(&l.lateness);
    }
    reg.register(
        "segment_lateness_seconds",
        "How late segments of every channel were published against their schedule, since start",
        LatenessHistogram(all),
    );
}

/// Each channel's chunks by state.
fn chunks(reg: &mut Registry, channels: &[(String, Vec<Chunk>)]) {
    let mut samples = Vec::new();
    for (slug, chunks) in channels {
        let count = |f: fn(&Chunk) -> bool| chunks.iter().filter(|c| f(c)).count();
        for (state, n) in [
            ("ready", count(|c| c.complete)),
            ("never_aired", count(|c| c.complete && c.times_aired == 0)),
            ("building", count(|c| !c.complete)),
        ] {
            let labels = [("channel", slug.clone()), ("state", state.to_string())];
            samples.push((labels, ConstGauge::new(n)));
        }
    }
    reg.register("chunks", "Chunks by channel and state", Read(samples));
}

/// Each channel's fresh air: ready, and aired fresh or again.
fn fresh_air(reg: &mut Registry, air: &[(String, FreshAir)]) {
    per_channel(
        reg,
        "fresh_ready_seconds",
        "Seconds of clips made and never aired",
        air,
        |a| ConstGauge::new(a.ready_secs),
    );
    let mut samples = Vec::new();
    for (slug, a) in air {
        for (kind, secs) in [("fresh", a.aired_fresh_secs), ("rerun", a.aired_rerun_secs)] {
            let labels = [("channel", slug.clone()), ("air", kind.to_string())];
            samples.push((labels, ConstCounter::new(secs)));
        }
    }
    reg.register(
        "aired_seconds",
        "Seconds aired since start, for the first time (fresh) or again (rerun)",
        Read(samples),
    );
}

/// Each channel's generator: jobs and encodes.
fn generator(reg: &mut Registry, status: &[(String, GeneratorStatus)]) {
    per_channel(
        reg,
        "generator_jobs",
        "Generation jobs running",
        status,
        |s| ConstGauge::new(s.jobs.len()),
    );
    per_channel(
        reg,
        "generator_stalled",
        "1 when generation cannot make progress",
        status,
        |s| ConstGauge::new(u32::from(matches!(s.state, GeneratorState::Stalled { .. }))),
    );
    per_channel(
        reg,
        "clips_encoded",
        "Clips encoded since start",
        status,
        |s| ConstCounter::new(s.clips_encoded),
    );
    per_channel(
        reg,
        "encode_failures",
        "Clip encodes that failed since start",
        status,
        |s| ConstCounter::new(s.encode_failures),
    );
}

/// The continuous MPEG-TS streams: tuners in use, and each channel's clients.
fn tuners(reg: &mut Registry, tuners: &super::tuners::Tuners) {
    use std::sync::atomic::Ordering::Relaxed;
    reg.register(
        "tuners",
        "Continuous streams that may be open at once (TUNER_COUNT)",
        ConstGauge::new(tuners.count()),
    );
    reg.register(
        "tuners_in_use",
        "Continuous streams open now",
        ConstGauge::new(tuners.in_use()),
    );
    reg.register(
        "tuner_refusals",
        "Continuous streams refused because every tuner was in use",
        ConstCounter::new(tuners.refused()),
    );
    let all = tuners.all();
    per_channel(
        reg,
        "ts_clients_opened",
        "Continuous MPEG-TS clients since start",
        &all,
        |c| ConstCounter::new(c.opened.load(Relaxed)),
    );
    per_channel(
        reg,
        "ts_clients_dropped",
        "Continuous MPEG-TS clients disconnected for falling more than the live window behind",
        &all,
        |c| ConstCounter::new(c.dropped.load(Relaxed)),
    );
    per_channel(
        reg,
        "ts_bytes",
        "Bytes of continuous MPEG-TS handed to clients",
        &all,
        |c| ConstCounter::new(c.bytes.load(Relaxed)),
    );
}

/// Who watches each channel now: its HLS players and continuous-stream clients.
fn viewers(reg: &mut Registry, viewers: &[(String, crate::engine::audience::Viewers)]) {
    per_channel(
        reg,
        "ts_clients",
        "Clients of the channel's continuous MPEG-TS now",
        viewers,
        |v| ConstGauge::new(v.streams),
    );
    per_channel(
        reg,
        "hls_players",
        "Distinct HLS clients that fetched a segment of the channel in the last minute",
        viewers,
        |v| ConstGauge::new(v.players),
    );
    per_channel(
        reg,
        "viewers",
        "The channel's viewers now: its HLS players and continuous-stream clients",
        viewers,
        |v| ConstGauge::new(v.total()),
    );
}

/// Who watches what: each rung's requests and bytes, by how they were fetched.
fn rungs(reg: &mut Registry, viewing: &super::viewing::Viewing) {
    use std::sync::atomic::Ordering::Relaxed;
    let all = viewing.all();
    let label = |k: &(String, String), how: &'static str| {
        [
            ("channel", k.0.clone()),
            ("rung", k.1.clone()),
            ("kind", how.to_string()),
        ]
    };
    let requests: Vec<_> = all
        .iter()
        .flat_map(|(k, r)| {
            [
                (
                    label(k, "segment"),
                    ConstCounter::new(r.segments.load(Relaxed)),
                ),
                (
                    label(k, "playlist"),
                    ConstCounter::new(r.playlists.load(Relaxed)),
                ),
                (
                    label(k, "stream"),
                    ConstCounter::new(r.streams.load(Relaxed)),
                ),
            ]
        })
        .collect();
    reg.register(
        "rung_requests",
        "Requests of each rung of a channel's ladder: HLS segments, its media playlist, continuous streams opened",
        Read(requests),
    );
    let bytes: Vec<_> = all
        .iter()
        .flat_map(|(k, r)| {
            [
                (
                    label(k, "segment"),
                    ConstCounter::new(r.segment_bytes.load(Relaxed)),
                ),
                (
                    label(k, "stream"),
                    ConstCounter::new(r.stream_bytes.load(Relaxed)),
                ),
            ]
        })
        .collect();
    reg.register(
        "rung_bytes",
        "Bytes of each rung of a channel's ladder served, as HLS segments or as its continuous stream",
        Read(bytes),
    );
}

/// What `transcode` counts: clips whose parameters differed, ffmpeg runs.
fn ffmpeg(reg: &mut Registry) {
    let (mismatched, corrected) = crate::transcode::verify::mismatch_counts();
    by(
        reg,
        "clip_parameter_mismatches",
        "Clip encodes whose SPS/PPS differed from the channel's reference, and how many a retry with a correction fixed",
        "outcome",
        [
            ("differed", ConstCounter::new(mismatched)),
            ("corrected", ConstCounter::new(corrected)),
        ],
    );
    let (runs, failures) = crate::transcode::process_counts();
    by(
        reg,
        "ffmpeg_exits",
        "ffmpeg and ffprobe runs that ended, by outcome",
        "outcome",
        [
            ("success", ConstCounter::new(runs.saturating_sub(failures))),
            ("failure", ConstCounter::new(failures)),
        ],
    );
}

/// Source videos by state.
fn library(reg: &mut Registry, counts: &LibraryCounts) {
    let samples: Vec<_> = [
        ("usable", counts.usable),
        ("unusable", counts.unusable),
        ("pending", counts.pending),
    ]
    .into_iter()
    .map(|(state, n)| ([("state", state)], ConstGauge::new(n)))
    .collect();
    reg.register("library_videos", "Source videos by state", Read(samples));
}

/// The station: channels on air and the shared encode pool.
fn station(reg: &mut Registry, channels: usize, st: &AppState) {
    reg.register("channels", "Channels on air", ConstGauge::new(channels));
    let (busy, waiting) = st.station.shared().pool.load();
    reg.register(
        "encode_slots_busy",
        "Encode slots of the shared pool in use",
        ConstGauge::new(busy),
    );
    reg.register(
        "encode_waiting_channels",
        "Channels waiting for an encode slot",
        ConstGauge::new(waiting),
    );
    let written = st.station.shared().recorder.written();
    let load = |n: &std::sync::atomic::AtomicU64| n.load(std::sync::atomic::Ordering::Relaxed);
    reg.register(
        "recorder_transactions",
        "Transactions of aired segments written, every channel's together",
        ConstCounter::new(load(&written.transactions)),
    );
    reg.register(
        "recorder_segments",
        "Aired segments recorded, of every channel",
        ConstCounter::new(load(&written.segments)),
    );
}

/// What `f` reads of each channel, by slug.
fn each<T>(
    channels: &[Arc<crate::station::OnAir>],
    f: impl Fn(&crate::station::OnAir) -> T,
) -> Vec<(String, T)> {
    channels
        .iter()
        .map(|c| (c.slug.to_string(), f(c)))
        .collect()
}

/// Every metric of the server, read now.
fn registry(st: &AppState) -> Registry {
    let mut reg = Registry::with_prefix(PREFIX);
    let channels = st.station.list();
    let now = std::time::Instant::now();
    let live = each(&channels, |c| c.live.stats());
    stream(&mut reg, &live);
    lateness(&mut reg, &live);
    chunks(&mut reg, &each(&channels, |c| c.playout.chunks()));
    fresh_air(&mut reg, &each(&channels, |c| FreshAir::of(&c.playout)));
    generator(&mut reg, &each(&channels, |c| c.generator.status()));
    station(&mut reg, channels.len(), st);
    tuners(&mut reg, &st.tuners);
    viewers(
        &mut reg,
        &each(&channels, |c| c.live.audience().viewers(now)),
    );
    rungs(&mut reg, &st.viewing);
    ffmpeg(&mut reg);
    library(&mut reg, &st.library.counts().unwrap_or_default());
    st.http.register(&mut reg);
    let uptime = st.started.elapsed().map_or(0.0, |d| d.as_secs_f64());
    reg.register(
        "uptime_seconds",
        "Seconds since start",
        ConstGauge::new(uptime),
    );
    reg
}

/// The text format of `reg`.
fn text(reg: &Registry) -> Result<String, std::fmt::Error> {
    let mut page = String::new();
    prometheus_text::encode(&mut page, reg)?;
    Ok(page)
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", responses(
    (status = 200, description = "The metrics, in Prometheus' text format 0.0.4.", content_type = "text/plain", body = String),
))]
pub async fn render(State(st): State<AppState>) -> Response {
    match text(&registry(&st)) {
        Ok(page) => (
            [(header::CONTENT_TYPE, prometheus_text::CONTENT_TYPE)],
            page,
        )
            .into_response(),
        Err(_) => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the metrics could not be written",
        )
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::requests::HttpMetrics;
    use std::time::Duration;

    /// The crate's conventions give the names and HELP the hand-written page had.
    #[test]
    fn a_page_is_help_type_then_samples_under_the_old_names() {
        let mut reg = Registry::with_prefix(PREFIX);
        reg.register("up", "Up", ConstGauge::new(1));
        by(
            &mut reg,
            "runs",
            "Runs",
            "outcome",
            [
                ("ok", ConstCounter::new(2u64)),
                ("failed", ConstCounter::new(0u64)),
            ],
        );
        assert_eq!(
            text(&reg).unwrap(),
            "# HELP shufflecast_up Up.\n# TYPE shufflecast_up gauge\nshufflecast_up 1\n\
             # HELP shufflecast_runs_total Runs.\n# TYPE shufflecast_runs_total counter\n\
             shufflecast_runs_total{outcome=\"ok\"} 2\nshufflecast_runs_total{outcome=\"failed\"} 0\n"
        );
    }

    #[test]
    fn requests_are_counted_by_route_method_and_status() {
        let m = HttpMetrics::default();
        m.record("/api/status", "GET", 200, 10);
        m.record("/api/status", "GET", 200, 5);
        let mut reg = Registry::with_prefix(PREFIX);
        m.register(&mut reg);
        let page = text(&reg).unwrap();
        for line in [
            "# TYPE shufflecast_http_requests_total counter",
            "shufflecast_http_requests_total{route=\"/api/status\",method=\"GET\",status=\"200\"} 2",
            "shufflecast_http_response_bytes_total 15",
        ] {
            assert!(page.lines().any(|l| l == line), "{line} not in:\n{page}");
        }
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
        let mut reg = Registry::with_prefix(PREFIX);
        lateness(&mut reg, &live);
        let p = text(&reg).unwrap();
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
        let mut reg = Registry::default();
        per_channel(
            &mut reg,
            "x",
            "X",
            &[("a\"b\\c\nd".to_string(), ())],
            |_| ConstGauge::new(1),
        );
        let page = text(&reg).unwrap();
        assert!(
            page.contains("x{channel=\"a\\\"b\\\\c\\nd\"} 1\n"),
            "{page}"
        );
    }
}
