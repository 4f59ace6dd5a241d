//! The original tool's routes with its request and response shapes: settings by
//! their upper-case names, the generation schedule as a "cron" and its run
//! history, the generation lock; each needs the admin token and goes through the settings table's rules.

use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use shufflecast::testkit::PATIENCE;
use shufflecast::testkit::http::{call, json as get_json, until};

use super::TOKEN;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_originals_settings_and_cron_routes_answer_in_its_shapes() {
    let _limit = crate::limit::fast(600);
    let dir = tempfile::tempdir().unwrap();
    let s = super::quiet(dir.path(), &[]).await;
    let c = Client::new();
    let send = |m: Method, path: &str, body: Option<Value>, token: Option<&str>| {
        let (c, url, token) = (c.clone(), s.url(path), token.map(str::to_string));
        async move {
            let body = body.map(|b| b.to_string());
            call(&c, m, &url, token.as_deref(), body.as_deref(), None).await
        }
    };

    // Settings by the original's names; numbers as its form sent them, as text.
    let body = json!({"MAX_CHUNKS": "40", "CLIP_MIN": 3, "CLIP_MAX": "5", "CHUNKS_PER_RUN": 2});
    let (st, _) = send(
        Method::POST,
        "/api/update_settings",
        Some(body.clone()),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, v) = send(
        Method::POST,
        "/api/update_settings",
        Some(body),
        Some(TOKEN),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["success"], true);
    assert_eq!(
        v["updated"],
        json!(["CHUNKS_PER_RUN", "CLIP_MAX", "CLIP_MIN", "MAX_CHUNKS"])
    );
    assert!(v["message"].is_string());
    let settings = get_json(&c, &s.url("/api/settings")).await;
    let values = &settings["settings"];
    assert_eq!(values["max_chunks"], 40, "{settings}");
    assert_eq!(values["clip_min"], 3.0);
    assert_eq!(values["clip_max"], 5.0);
    assert!(!dir.path().join(".env").exists(), "nothing written to .env");
    // A setting that applies at the next start says so.
    let (st, v) = send(
        Method::POST,
        "/api/update_settings",
        Some(json!({"HW_ACCEL": "none"})),
        Some(TOKEN),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert!(v["message"].as_str().unwrap().contains("next start"), "{v}");
    // Our rules, with the reason; nothing of a refused body is saved.
    for (bad, field) in [
        (json!({"CLIP_MIN": 10, "CLIP_MAX": 2}), "clip_max"),
        (json!({"MAX_CHUNKS": "many"}), "max_chunks"),
        (json!({"NOT_A_SETTING": 1}), "NOT_A_SETTING"),
        (json!({"DATA_DIR": "/tmp"}), "DATA_DIR"),
    ] {
        let (st, v) = send(
            Method::POST,
            "/api/update_settings",
            Some(bad.clone()),
            Some(TOKEN),
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {v}");
        assert_eq!(v["field"], field, "{bad}: {v}");
        assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()));
    }
    let settings = get_json(&c, &s.url("/api/settings")).await;
    assert_eq!(settings["settings"]["clip_min"], 3.0, "unchanged");

    // The schedule.
    let cron = get_json(&c, &s.url("/api/cron")).await;
    assert_eq!(cron["available"], true);
    assert_eq!(cron["schedule"], Value::Null);
    assert!(
        cron["command"].as_str().unwrap().contains("2 chunks"),
        "{cron}"
    );
    let (st, _) = send(
        Method::POST,
        "/api/cron",
        Some(json!({"schedule": "0 2 * * *"})),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, v) = send(
        Method::POST,
        "/api/cron",
        Some(json!({"schedule": "0 2 * * *"})),
        Some(TOKEN),
    )
    .await;
    assert_eq!((st, &v["success"]), (StatusCode::OK, &json!(true)), "{v}");
    assert_eq!(
        get_json(&c, &s.url("/api/cron")).await["schedule"],
        "0 2 * * *"
    );
    assert_eq!(
        get_json(&c, &s.url("/api/settings")).await["settings"]["schedule"],
        "0 2 * * *"
    );
    for bad in [
        json!({"schedule": "61 * * * *"}),
        json!({"schedule": ""}),
        json!({}),
    ] {
        let (st, v) = send(Method::POST, "/api/cron", Some(bad.clone()), Some(TOKEN)).await;
        assert!(st.is_client_error(), "{bad}: {st} {v}");
    }
    assert_eq!(
        get_json(&c, &s.url("/api/cron")).await["schedule"],
        "0 2 * * *"
    );
    let (st, v) = send(Method::DELETE, "/api/cron", None, Some(TOKEN)).await;
    assert_eq!((st, &v["success"]), (StatusCode::OK, &json!(true)), "{v}");
    assert_eq!(
        get_json(&c, &s.url("/api/cron")).await["schedule"],
        Value::Null
    );

    // The history of generation runs: the start's, then one asked for.
    let (st, v) = send(
        Method::POST,
        "/api/generate_chunk",
        Some(json!({"count": 2})),
        Some(TOKEN),
    )
    .await;
    assert!(st.is_success(), "{v}");
    // The run is recorded when the generator takes it up, a moment after the answer.
    let history = s.url("/api/cron-run-history?per_page=1");
    until("the run asked for in the history", PATIENCE, async || {
        get_json(&c, &history).await["total"] == 2
    })
    .await;
    let h = get_json(&c, &history).await;
    assert_eq!(
        (h["total"].as_u64(), h["total_pages"].as_u64()),
        (Some(2), Some(2)),
        "{h}"
    );
    assert_eq!(
        (h["page"].as_u64(), h["per_page"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(h["entries"][0]["trigger"], "manual", "newest first: {h}");
    assert_eq!(h["entries"][0]["chunks"], 2);
    let at = h["entries"][0]["timestamp"].as_str().unwrap();
    assert!(
        time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).is_ok(),
        "{at}"
    );
    let h = get_json(&c, &s.url("/api/cron-run-history?page=2&per_page=1")).await;
    assert_eq!(h["entries"][0]["trigger"], "start", "{h}");
    for bad in ["page=0", "per_page=0", "per_page=101", "page=x"] {
        let (st, _) = send(
            Method::GET,
            &format!("/api/cron-run-history?{bad}"),
            None,
            None,
        )
        .await;
        assert!(st.is_client_error(), "{bad}: {st}");
    }

    // The lock the original needed.
    let (st, _) = send(Method::POST, "/api/clear_generation_lock", None, None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, v) = send(
        Method::POST,
        "/api/clear_generation_lock",
        None,
        Some(TOKEN),
    )
    .await;
    assert_eq!((st, &v["success"]), (StatusCode::OK, &json!(true)), "{v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("no generation lock")
    );
    s.stop().await;
}
