//! System usage.

use std::time::Duration;

use reqwest::Client;
use shufflecast::testkit::http::json;
use shufflecast::testkit::until;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn system_usage_has_a_sample_within_seconds() {
    let _limit = crate::limit::fast(600);
    let dir = tempfile::tempdir().unwrap();
    let s = super::quiet(dir.path(), &[]).await;
    let c = Client::new();
    let url = s.url("/api/system-usage");
    until("a system sample", Duration::from_secs(20), async || {
        !json(&c, &url).await["now"].is_null()
    })
    .await;
    let usage = json(&c, &url).await;
    assert!(
        usage["now"]["memory_percent"].as_f64().unwrap() > 0.0,
        "{usage}"
    );
    assert!(usage["now"]["data_bytes"].as_u64().unwrap() > 0, "{usage}");
    assert_eq!(usage["encoder"], "libx264 (CPU)");
    s.stop().await;
}
