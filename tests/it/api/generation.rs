//! Asking for chunks and stopping the generator.

use std::time::Duration;

use reqwest::{Client, Method, StatusCode};
use shufflecast::testkit::http::{call, json};
use shufflecast::testkit::until;

use super::TOKEN;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generation_requests_are_checked_and_a_stop_stops() {
    let _limit = crate::limit::fast(600);
    let dir = tempfile::tempdir().unwrap();
    let s = super::quiet(dir.path(), &[]).await;
    let c = Client::new();
    let post = async |url: &str, body: Option<&str>| {
        call(&c, Method::POST, &s.url(url), Some(TOKEN), body, None).await
    };
    assert_eq!(
        post("/api/generate_chunk", Some(r#"{"count": 1000}"#))
            .await
            .0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let (st, v) = post("/api/generate_chunk", None).await;
    assert_eq!(
        (st, v["requested"].as_u64()),
        (StatusCode::ACCEPTED, Some(4)),
        "the original's empty POST works"
    );
    let (st, _) = post("/api/stop_generation", None).await;
    assert_eq!(st, StatusCode::ACCEPTED);
    until(
        "the generator to stop",
        Duration::from_secs(30),
        async || json(&c, &s.url("/api/jobs")).await["state"] == "stopped",
    )
    .await;
    s.stop().await;
}
