//! The music list, play next and skip of the music bed.

use std::time::Duration;

use reqwest::{Client, Method, StatusCode};
use shufflecast::testkit::http::{call, json};
use shufflecast::testkit::until;

use super::TOKEN;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn music_lists_queues_by_the_original_field_and_skips() {
    let dir = tempfile::tempdir().unwrap();
    let s = super::on_air(dir.path(), &[]).await;
    let c = Client::new();
    let post = async |url: &str, token: Option<&str>, body: Option<&str>| {
        call(&c, Method::POST, &s.url(url), token, body, None).await
    };
    let (st, _) = post("/api/skip_to_next_audio", Some(TOKEN), None).await;
    assert_eq!(st, StatusCode::ACCEPTED);
    // The demo's tracks show up (once the music order has scanned them) and one can
    // be queued by the original's field name.
    let mut track = String::new();
    until("the music tracks", Duration::from_secs(60), async || {
        let list = json(&c, &s.url("/api/audio")).await;
        match list["tracks"].as_array().and_then(|t| t.first()) {
            Some(t) => {
                track = t["name"].as_str().unwrap().to_string();
                true
            }
            None => false,
        }
    })
    .await;
    let play = "/api/play_audio";
    let body = format!(r#"{{"audio_name": "/music/{track}"}}"#);
    let (st, v) = post(play, Some(TOKEN), Some(&body)).await;
    assert_eq!(st, StatusCode::ACCEPTED, "{v}");
    assert!(v["queued"].is_string());
    assert_eq!(
        post(
            play,
            Some(TOKEN),
            Some(r#"{"audio_name": "../../etc/passwd"}"#)
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        post(play, None, Some("{}")).await.0,
        StatusCode::UNAUTHORIZED
    );
    s.stop().await;
}
