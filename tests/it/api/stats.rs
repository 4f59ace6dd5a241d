//! The stats: chunks made, what aired.

use std::time::Duration;

use reqwest::Client;
use serde_json::Value;
use shufflecast::testkit::http::json;
use shufflecast::testkit::until;

/// The stats count the chunk on air and, once a track has aired, name it as the
/// music list does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stats_count_the_chunks_and_name_the_music_that_aired() {
    let dir = tempfile::tempdir().unwrap();
    let s = super::on_air(dir.path(), &[]).await;
    let c = Client::new();

    // A chunk is on air from the first segment, so it has been made.
    let now = json(&c, &s.url("/api/stream-status")).await;
    assert!(now["chunk"].is_string(), "{now}");
    let stats = json(&c, &s.url("/api/stats")).await;
    assert!(stats["chunks_created"].as_u64().unwrap() >= 1, "{stats}");

    let mut stats = Value::Null;
    until(
        "a track in the stats",
        Duration::from_secs(120),
        async || {
            stats = json(&c, &s.url("/api/stats")).await;
            stats["top_tracks"]
                .as_array()
                .is_some_and(|t| !t.is_empty())
        },
    )
    .await;
    let audio = json(&c, &s.url("/api/audio")).await;
    let titles: Vec<&str> = audio["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap())
        .collect();
    for t in stats["top_tracks"].as_array().unwrap() {
        let title = t["title"].as_str().unwrap();
        assert!(
            !title.is_empty() && titles.contains(&title),
            "{title:?} not in {titles:?}"
        );
        assert!(t["airtime"].as_f64().unwrap() > 0.0, "{t}");
    }
    assert!(stats["chunks_created"].as_u64().unwrap() >= 1, "{stats}");
    s.stop().await;
}
