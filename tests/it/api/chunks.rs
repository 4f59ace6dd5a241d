//! The chunk list and a chunk's details, play next and delete.

use reqwest::{Client, Method, StatusCode};
use shufflecast::testkit::http::{call, json};

use super::TOKEN;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunk_queries_ids_play_next_and_delete_are_checked() {
    let _limit = crate::limit::fast(600);
    let dir = tempfile::tempdir().unwrap();
    let s = super::on_air(dir.path(), &[]).await;
    let c = Client::new();

    // Bad queries and unknown ids.
    let get = async |u: &str| call(&c, Method::GET, &s.url(u), None, None, None).await;
    let (st, v) = get("/api/chunks?limit=0").await;
    assert_eq!(
        (st, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("limit"))
    );
    let (st, v) = get("/api/chunks?sort=bogus").await;
    assert_eq!(
        (st, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("sort"))
    );
    assert_eq!(
        get("/api/chunks?offset=minus").await.0,
        StatusCode::BAD_REQUEST
    );
    let (st, v) = get("/api/chunks/no-such-chunk").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert!(v["error"].is_string());
    for bad in [
        "/api/chunks/..%2F..%2Fetc%2Fpasswd",
        "/api/chunks/%252e%252e%252f",
        "/api/nothing",
        "/hls/..%2Fshufflecast.db",
    ] {
        assert_eq!(get(bad).await.0, StatusCode::NOT_FOUND, "{bad}");
    }

    // Play next: the body is checked.
    let post = async |url: &str, body: Option<&str>| {
        call(&c, Method::POST, &s.url(url), Some(TOKEN), body, None).await
    };
    let play = "/api/play_chunk";
    assert_eq!(post(play, Some("{nope")).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(
        post(play, Some(r#"{"chunk_name": 5}"#)).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let (st, v) = post(play, Some("{}")).await;
    assert_eq!(
        (st, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("chunk_name"))
    );
    assert_eq!(
        post(play, Some(r#"{"chunk_name": "nope"}"#)).await.0,
        StatusCode::NOT_FOUND
    );
    let huge = format!(r#"{{"chunk_name": "{}"}}"#, "x".repeat(40_000));
    assert_eq!(
        post(play, Some(&huge)).await.0,
        StatusCode::PAYLOAD_TOO_LARGE
    );

    // Deleting: never the chunk on air, never without the token.
    let on_air = json(&c, &s.url("/api/stream-status")).await["chunk"]
        .as_str()
        .unwrap()
        .to_string();
    let del = s.url(&format!("/api/chunks/{on_air}"));
    assert_eq!(
        call(&c, Method::DELETE, &del, None, None, None).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(&c, Method::DELETE, &del, Some(TOKEN), None, None)
            .await
            .0,
        StatusCode::CONFLICT
    );
    assert_eq!(
        call(
            &c,
            Method::DELETE,
            &s.url("/api/chunks/nope"),
            Some(TOKEN),
            None,
            None
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    s.stop().await;
}
