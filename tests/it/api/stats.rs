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
    let _limit = crate::limit::fast(600);
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
        shufflecast::testkit::PATIENCE,
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

    // Airtime per UTC day: the last 30 days, today last, every day present.
    let days = stats["airtime_by_day"].as_array().unwrap();
    assert_eq!(days.len(), 30, "{stats}");
    let today = |t: std::time::SystemTime| {
        let secs = t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
        let d = time::OffsetDateTime::from_unix_timestamp(secs)
            .unwrap()
            .date();
        format!("{:04}-{:02}-{:02}", d.year(), d.month() as u8, d.day())
    };
    let last = days[29]["day"].as_str().unwrap();
    assert!(
        last == today(std::time::SystemTime::now())
            || last == today(std::time::SystemTime::now() - Duration::from_secs(60)),
        "{last}"
    );
    let mut seen = Vec::new();
    for d in days {
        let day = d["day"].as_str().unwrap();
        let date = time::Date::parse(
            day,
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .unwrap_or_else(|e| panic!("{day}: {e}"));
        if let Some(prev) = seen.last() {
            assert_eq!(date, time::Date::next_day(*prev).unwrap(), "{stats}");
        }
        seen.push(date);
    }
    let aired: f64 = days.iter().map(|d| d["seconds"].as_f64().unwrap()).sum();
    let streamed = stats["hours_streamed"].as_f64().unwrap() * 3600.0;
    assert!(
        aired > 0.0 && (aired - streamed).abs() < 1e-6,
        "{aired} s by day, {streamed} s streamed"
    );
    // Top sources with their posters (made once the library is probed), each the
    // one the library lists for that video.
    until(
        "posters of the top sources",
        shufflecast::testkit::PATIENCE,
        async || {
            stats = json(&c, &s.url("/api/stats")).await;
            stats["top_videos"]
                .as_array()
                .is_some_and(|v| !v.is_empty() && v.iter().all(|v| v["thumbnail"].is_string()))
        },
    )
    .await;
    let library = json(&c, &s.url("/api/library?limit=100")).await;
    for v in stats["top_videos"].as_array().unwrap() {
        let t = v["thumbnail"].as_str().unwrap();
        assert!(
            t.starts_with("/thumbs/videos/") && t.ends_with(".jpg"),
            "{t}"
        );
        let listed = library["videos"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["title"] == v["title"])
            .unwrap_or_else(|| panic!("{v} not in the library"));
        assert_eq!(listed["thumbnail"], t, "{v}");
        let r = c.get(s.url(t)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{t}");
        assert_eq!(r.headers()["content-type"], "image/jpeg", "{t}");
    }
    assert!(stats["top_tracks"][0]["thumbnail"].is_null(), "{stats}");
    assert!(
        stats["top_creators"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["thumbnail"].is_null())
    );
    s.stop().await;
}
