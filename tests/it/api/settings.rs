//! The settings API: typed and validated; live settings apply at once, the others
//! at the next start, and all are saved in the database (never in `.env`).

use std::time::Duration;

use reqwest::{Client, Method, StatusCode};
use shufflecast::testkit::http::{call, json};
use shufflecast::testkit::until;

use super::TOKEN;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_are_validated_applied_live_and_kept_for_the_next_start() {
    let _limit = crate::limit::fast(600);
    let dir = tempfile::tempdir().unwrap();
    let s = super::quiet(dir.path(), &[]).await;
    let c = Client::new();
    let url = s.url("/api/settings");
    let put = async |body: &str, token: Option<&str>| {
        call(&c, Method::PUT, &url, token, Some(body), None).await
    };
    assert_eq!(
        put(r#"{"clip_max": 8}"#, None).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (st, v) = put(r#"{"clip_min": 0.1}"#, Some(TOKEN)).await;
    assert_eq!(
        (st, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("clip_min"))
    );
    assert_eq!(
        put(r#"{"clip_min": "six"}"#, Some(TOKEN)).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        put(r#"{"no_such_setting": 1}"#, Some(TOKEN)).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let (st, v) = put(r#"{"schedule": "whenever"}"#, Some(TOKEN)).await;
    assert_eq!(
        (st, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("schedule"))
    );
    let (st, v) = put(
        r#"{"clip_max": 8, "width": 480, "height": 270, "schedule": "0 3 * * *"}"#,
        Some(TOKEN),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["settings"]["clip_max"], 8.0);
    assert_eq!(v["pending_restart"], serde_json::json!(["width", "height"]));
    // The generator takes the change on its next turn: moments, not a restart.
    until(
        "the schedule to apply live",
        Duration::from_secs(10),
        async || json(&c, &s.url("/api/jobs")).await["next_run"].is_string(),
    )
    .await;

    // Saved in the database: the next start runs with them.
    s.stop().await;
    let s = super::quiet(dir.path(), &[]).await;
    let v = json(&c, &s.url("/api/settings")).await;
    assert_eq!(v["settings"]["width"], 480);
    assert_eq!(v["settings"]["clip_max"], 8.0);
    assert_eq!(v["pending_restart"], serde_json::json!([]));
    assert!(
        !std::fs::read_to_string(dir.path().join(".env"))
            .unwrap_or_default()
            .contains("480"),
        "never written to .env"
    );
    s.stop().await;
}
