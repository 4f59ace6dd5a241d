//! HTTP as tests use it: one client call returning the status and the JSON body,
//! GETs that must answer JSON, and a "wait until" loop.

use std::time::{Duration, Instant};

use reqwest::{Client, Method, StatusCode};
use serde_json::Value;

/// Sends `method url` with an optional bearer `token`, JSON `body` and `origin`;
/// returns the status and the JSON body (`Null` when empty). Panics on a body that
/// is not JSON, naming the URL.
pub async fn call(
    client: &Client,
    method: Method,
    url: &str,
    token: Option<&str>,
    body: Option<&str>,
    origin: Option<&str>,
) -> (StatusCode, Value) {
    let mut rb = client.request(method, url);
    if let Some(t) = token {
        rb = rb.header("authorization", format!("Bearer {t}"));
    }
    if let Some(o) = origin {
        rb = rb.header("origin", o);
    }
    if let Some(b) = body {
        rb = rb
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    let r = rb.send().await.unwrap_or_else(|e| panic!("{url}: {e}"));
    let status = r.status();
    let text = r.text().await.unwrap();
    let v = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("{url}: not JSON: {text}"))
    };
    (status, v)
}

/// GET `url`, which must answer 200 with a JSON body; returns the body.
pub async fn json(client: &Client, url: &str) -> Value {
    let r = client
        .get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    assert_eq!(r.status(), 200, "{url}");
    let ct = r.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("application/json"), "{url}: {ct}");
    r.json().await.unwrap()
}

/// GET `url`'s body as text, whatever the status.
pub async fn text(client: &Client, url: &str) -> String {
    client
        .get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"))
        .text()
        .await
        .unwrap()
}

/// GET `path` of `base`: (status, body); status 0 when the server does not answer
/// (not up yet, or gone).
pub async fn get_text(base: &str, path: &str) -> (u16, String) {
    match Client::new()
        .get(format!("{base}{path}"))
        .timeout(Duration::from_secs(10))
        .send()
        .await
    {
        Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
        Err(_) => (0, String::new()),
    }
}

/// GET `path` of `base` as JSON, which must answer 200.
pub async fn get_json(base: &str, path: &str) -> Value {
    let (status, body) = get_text(base, path).await;
    assert_eq!(status, 200, "GET {path}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// Polls `url` every 50 ms until it answers 200; returns the time it took, or
/// `None` after `limit`. Before each try `alive` says whether the server still
/// runs (`Err` with why: the test fails at once rather than at `limit`).
pub async fn wait_200(
    url: &str,
    limit: Duration,
    mut alive: impl FnMut() -> Result<(), String>,
) -> Option<Duration> {
    let t0 = Instant::now();
    let client = Client::new();
    while t0.elapsed() < limit {
        if let Err(why) = alive() {
            panic!("{url}: {why}");
        }
        let r = client.get(url).timeout(Duration::from_secs(5)).send().await;
        if r.is_ok_and(|r| r.status() == 200) {
            return Some(t0.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

/// Calls `f` every 50 ms until it returns true; panics naming `what` after `limit`.
pub async fn until(what: &str, limit: Duration, mut f: impl AsyncFnMut() -> bool) {
    let t0 = Instant::now();
    while !f().await {
        assert!(
            t0.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The value of the first sample of Prometheus `text` whose line starts with
/// `sample` (a metric's name, with its labels where they matter); fails naming it.
pub fn metric(text: &str, sample: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(sample))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {sample} in /metrics:\n{text}"))
}
