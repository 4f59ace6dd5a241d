//! The Prometheus page.

use reqwest::{Client, Method};
use shufflecast::testkit::http::call;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_the_stream_the_encodes_and_the_requests_by_route() {
    let dir = tempfile::tempdir().unwrap();
    let s = super::on_air(dir.path(), &[]).await;
    let c = Client::new();
    // What the counters below must have seen.
    c.get(s.url("/api/status")).send().await.unwrap();
    for _ in 0..2 {
        call(
            &c,
            Method::POST,
            &s.url("/api/skip_to_next"),
            None,
            None,
            None,
        )
        .await;
    }
    c.get(s.url("/api/nothing")).send().await.unwrap();

    let r = c.get(s.url("/metrics")).send().await.unwrap();
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let m = r.text().await.unwrap();
    let value = |line_start: &str| -> f64 {
        m.lines()
            .find(|l| l.starts_with(line_start))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {line_start} in:\n{m}"))
    };
    assert!(value("shufflecast_segments_published_total{channel=\"main\"} ") >= 1.0);
    value("shufflecast_underruns_total{channel=\"main\"} ");
    assert!(
        value(
            "shufflecast_http_requests_total{route=\"/api/status\",method=\"GET\",status=\"200\"}"
        ) >= 1.0
    );
    assert!(
        value(
            "shufflecast_http_requests_total{route=\"/api/skip_to_next\",method=\"POST\",status=\"401\"}"
        ) >= 2.0
    );
    assert!(
        value("shufflecast_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"}")
            >= 1.0
    );
    assert!(value("shufflecast_http_response_bytes_total ") > 0.0);
    assert!(value("shufflecast_ffmpeg_exits_total{outcome=\"success\"}") >= 1.0);
    assert!(value("shufflecast_clips_encoded_total{channel=\"main\"} ") >= 1.0);
    value("shufflecast_viewers ");
    value("shufflecast_chunks{channel=\"main\",state=\"ready\"}");
    for line in m.lines().filter(|l| !l.starts_with('#')) {
        assert!(
            line.starts_with("shufflecast_")
                && line.rsplit(' ').next().unwrap().parse::<f64>().is_ok(),
            "{line}"
        );
    }
    s.stop().await;
}
