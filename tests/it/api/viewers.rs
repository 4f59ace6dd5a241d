//! Who watches a channel: HLS players (each client once, by address and
//! User-Agent, for a minute after its last segment) and continuous-stream clients,
//! in `/api/channels`, `/api/status`, the guide and `/metrics`.

use std::time::Duration;

use reqwest::Client;
use shufflecast::testkit::http::{json, metric, text};

use super::on_air;

/// A player: fetches the playlist and its newest segment as `agent`.
async fn play(c: &Client, base: &str, agent: &str) {
    let playlist = c
        .get(format!("{base}/hls/stream.m3u8"))
        .header("user-agent", agent)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (_, _, items) = crate::harness::parse_playlist(&playlist);
    let uri = &items.last().expect("a segment").0;
    let r = c
        .get(format!("{base}/hls/{uri}"))
        .header("user-agent", agent)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.bytes().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn players_and_stream_clients_are_counted_per_channel() {
    let _limit = crate::limit::fast(300);
    let dir = tempfile::tempdir().unwrap();
    let s = on_air(dir.path(), &[]).await;
    let c = Client::new();
    let viewers =
        async || json(&c, &s.url("/api/channels")).await["channels"][0]["viewers"].clone();
    assert_eq!(
        viewers().await,
        serde_json::json!({"players": 0, "streams": 0, "total": 0})
    );

    // Two players (a phone and a TV behind one address), one of them twice; the
    // playlist alone counts no one.
    for agent in ["phone", "tv", "phone"] {
        play(&c, &s.base, agent).await;
    }
    text(&c, &s.url("/hls/stream.m3u8")).await;
    // A continuous-stream client, held open.
    let stream = c.get(s.url("/stream/main.ts")).send().await.unwrap();
    assert_eq!(stream.status(), 200);
    let want = serde_json::json!({"players": 2, "streams": 1, "total": 3});
    assert_eq!(viewers().await, want);
    assert_eq!(json(&c, &s.url("/api/status")).await["viewers"], want);
    assert_eq!(
        json(&c, &s.url("/api/guide")).await["channels"][0]["viewers"],
        want
    );
    let page = text(&c, &s.url("/metrics")).await;
    for (name, v) in [("viewers", 3.0), ("hls_players", 2.0), ("ts_clients", 1.0)] {
        assert_eq!(
            metric(&page, &format!("shufflecast_{name}{{channel=\"main\"}}")),
            v,
            "{name}"
        );
    }

    // The stream client leaves: it no longer counts (once the server sees it go).
    drop(stream);
    shufflecast::testkit::until(
        "the stream client to leave",
        Duration::from_secs(30),
        async || viewers().await["streams"] == 0,
    )
    .await;
    assert_eq!(viewers().await["players"], 2, "players count for a minute");
    s.stop().await;
}
