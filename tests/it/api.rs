//! The control API, the IPTV playlist and guide, and their security, on the real
//! server with the demo library.

use std::time::{Duration, Instant, SystemTime};

use reqwest::{Client, Method, StatusCode};
use serde_json::Value;

use crate::harness::{self, Server};

const TOKEN: &str = "test-admin-token-123";

/// A built web client, with a link that tries to lead out of it.
fn site(dir: &std::path::Path) -> String {
    let web = dir.join("site");
    std::fs::create_dir_all(web.join("assets")).unwrap();
    std::fs::write(
        web.join("index.html"),
        "<!doctype html><title>shufflecast</title>",
    )
    .unwrap();
    std::fs::write(web.join("assets/app-0123.js"), "console.log(1)").unwrap();
    std::fs::write(dir.join("secret.txt"), "secret").unwrap();
    let _ = std::os::unix::fs::symlink(dir.join("secret.txt"), web.join("leak.txt"));
    web.display().to_string()
}

async fn start(dir: &std::path::Path) -> Server {
    let web = site(dir);
    let mut server = Server::start(
        dir,
        &[
            "--web-dir",
            &web,
            "--admin-token",
            TOKEN,
            "--width",
            "320",
            "--height",
            "180",
            "--chunk-duration",
            "12",
            "--clip-min",
            "4",
            "--clip-max",
            "4",
        ],
    );
    server.wait_ready(Duration::from_secs(60)).await;
    server
}

async fn json(client: &Client, url: String) -> Value {
    let r = client.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200, "{url}");
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"),
        "{url}"
    );
    r.json().await.unwrap()
}

async fn text(client: &Client, url: String) -> String {
    client.get(url).send().await.unwrap().text().await.unwrap()
}

/// POSTs as the admin, from no particular origin.
async fn post(client: &Client, url: &str, body: Option<&str>) -> (StatusCode, Value) {
    call(client, Method::POST, url, Some(TOKEN), body, None).await
}

/// Sends a request; returns the status and the JSON body (Null when empty).
async fn call(
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
    let r = rb.send().await.unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    let v = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("{url}: not JSON: {text}"))
    };
    (status, v)
}

async fn until(what: &str, limit: Duration, mut f: impl AsyncFnMut() -> bool) {
    let t0 = Instant::now();
    while !f().await {
        assert!(t0.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_answer_and_refuse_what_they_must() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(dir.path()).await;
    let b = &server.base;
    let c = Client::new();

    let status = json(&c, format!("{b}/api/status")).await;
    assert_eq!(status["on_air"], true);
    assert!(status["library"]["present"].as_u64().unwrap() >= 1);
    let now = json(&c, format!("{b}/api/stream-status")).await;
    assert_eq!(now["on_air"], true);
    assert!(now["clip"]["title"].is_string() && now["clip"]["duration"].as_f64().unwrap() > 0.0);
    for route in [
        "/api/library",
        "/api/stats",
        "/api/jobs",
        "/api/chunks?limit=5&sort=size&order=asc&q=test",
    ] {
        json(&c, format!("{b}{route}")).await;
    }
    assert_eq!(
        c.get(format!("{b}/readyz")).send().await.unwrap().status(),
        200
    );
    assert_eq!(
        c.get(format!("{b}/healthz")).send().await.unwrap().status(),
        200
    );

    // Bad queries and unknown ids.
    let get = async |u: &str| call(&c, Method::GET, &format!("{b}{u}"), None, None, None).await;
    let (s, v) = get("/api/chunks?limit=0").await;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("limit"))
    );
    let (s, v) = get("/api/chunks?sort=bogus").await;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("sort"))
    );
    assert_eq!(
        get("/api/chunks?offset=minus").await.0,
        StatusCode::BAD_REQUEST
    );
    let (s, v) = get("/api/chunks/no-such-chunk").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(v["error"].is_string());
    for bad in [
        "/api/chunks/..%2F..%2Fetc%2Fpasswd",
        "/api/chunks/%252e%252e%252f",
        "/api/nothing",
        "/hls/..%2Fshufflecast.db",
    ] {
        assert_eq!(get(bad).await.0, StatusCode::NOT_FOUND, "{bad}");
    }

    // Mutating routes: token, origin, body.
    let skip = format!("{b}/api/skip_to_next");
    assert_eq!(
        call(&c, Method::POST, &skip, None, None, None).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(&c, Method::POST, &skip, Some("wrong-token"), None, None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(
            &c,
            Method::POST,
            &skip,
            Some(TOKEN),
            None,
            Some("https://evil.example")
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        call(&c, Method::POST, &skip, Some(TOKEN), None, Some(b))
            .await
            .0,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        call(&c, Method::GET, &skip, Some(TOKEN), None, None)
            .await
            .0,
        StatusCode::METHOD_NOT_ALLOWED
    );

    let play = format!("{b}/api/play_chunk");
    assert_eq!(
        post(&c, &play, Some("{nope")).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        post(&c, &play, Some(r#"{"chunk_name": 5}"#)).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let (s, v) = post(&c, &play, Some("{}")).await;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("chunk_name"))
    );
    assert_eq!(
        post(&c, &play, Some(r#"{"chunk_name": "nope"}"#)).await.0,
        StatusCode::NOT_FOUND
    );
    let huge = format!(r#"{{"chunk_name": "{}"}}"#, "x".repeat(40_000));
    assert_eq!(
        post(&c, &play, Some(&huge)).await.0,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    let gen_url = format!("{b}/api/generate_chunk");
    assert_eq!(
        post(&c, &gen_url, Some(r#"{"count": 1000}"#)).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let (s, v) = post(&c, &gen_url, None).await;
    assert_eq!(
        (s, v["requested"].as_u64()),
        (StatusCode::ACCEPTED, Some(4)),
        "the original's empty POST works"
    );

    // Music skip and stopping generation.
    let (s, _) = post(&c, &format!("{b}/api/skip_to_next_audio"), None).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let (s, _) = post(&c, &format!("{b}/api/stop_generation"), None).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    until(
        "the generator to stop",
        Duration::from_secs(30),
        async || json(&c, format!("{b}/api/jobs")).await["state"] == "stopped",
    )
    .await;

    // Deleting: never the chunk on air, never without the token.
    let on_air = json(&c, format!("{b}/api/stream-status")).await["chunk"]
        .as_str()
        .unwrap()
        .to_string();
    let del = format!("{b}/api/chunks/{on_air}");
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
            &format!("{b}/api/chunks/nope"),
            Some(TOKEN),
            None,
            None
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );

    // Music: the demo's tracks show up (once the music order has scanned them) and
    // one can be queued by the original's field name.
    let mut track = String::new();
    until("the music tracks", Duration::from_secs(60), async || {
        let list = json(&c, format!("{b}/api/audio")).await;
        match list["tracks"].as_array().and_then(|t| t.first()) {
            Some(t) => {
                track = t["name"].as_str().unwrap().to_string();
                true
            }
            None => false,
        }
    })
    .await;
    let play_audio = format!("{b}/api/play_audio");
    let (s, v) = post(
        &c,
        &play_audio,
        Some(&format!(r#"{{"audio_name": "/music/{track}"}}"#)),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    assert!(v["queued"].is_string());
    assert_eq!(
        post(
            &c,
            &play_audio,
            Some(r#"{"audio_name": "../../etc/passwd"}"#)
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(&c, Method::POST, &play_audio, None, Some("{}"), None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    // System usage: a sample within a few seconds.
    until("a system sample", Duration::from_secs(20), async || {
        !json(&c, format!("{b}/api/system-usage")).await["now"].is_null()
    })
    .await;
    let usage = json(&c, format!("{b}/api/system-usage")).await;
    assert!(
        usage["now"]["memory_percent"].as_f64().unwrap() > 0.0,
        "{usage}"
    );
    assert!(usage["now"]["data_bytes"].as_u64().unwrap() > 0, "{usage}");
    assert_eq!(usage["encoder"], "libx264 (CPU)");

    // Metrics: Prometheus text, with what happened above counted.
    let r = c.get(format!("{b}/metrics")).send().await.unwrap();
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let m = r.text().await.unwrap();
    let value = |line_start: &str| -> f64 {
        m.lines()
            .find(|l| l.starts_with(line_start))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {line_start} in:\n{m}"))
    };
    assert!(value("shufflecast_segments_published_total ") >= 1.0);
    value("shufflecast_underruns_total ");
    assert!(
        value(
            "shufflecast_http_requests_total{route=\"/api/status\",method=\"GET\",status=\"200\"}"
        ) >= 1.0
    );
    assert!(
        value(
            "shufflecast_http_requests_total{route=\"/api/skip_to_next\",method=\"POST\",status=\"401\"}"
        ) >= 2.0
    );
    assert!(
        value("shufflecast_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"}")
            >= 1.0
    );
    assert!(value("shufflecast_http_response_bytes_total ") > 0.0);
    assert!(value("shufflecast_ffmpeg_exits_total{outcome=\"success\"}") >= 1.0);
    assert!(value("shufflecast_clips_encoded_total ") >= 1.0);
    value("shufflecast_viewers ");
    value("shufflecast_chunks{state=\"ready\"}");
    for line in m.lines().filter(|l| !l.starts_with('#')) {
        assert!(
            line.starts_with("shufflecast_")
                && line.rsplit(' ').next().unwrap().parse::<f64>().is_ok(),
            "{line}"
        );
    }

    // The OpenAPI document describes routes that all answer.
    let doc = json(&c, format!("{b}/api/openapi.json")).await;
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 20);
    for (path, ops) in paths {
        if path.contains('{') || path == "/api/events" {
            continue;
        }
        for method in ops.as_object().unwrap().keys() {
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let r = c.request(m, format!("{b}{path}")).send().await.unwrap();
            let status = r.status();
            let body = r.text().await.unwrap();
            assert!(
                !body.contains("no such route"),
                "{method} {path} is documented but not routed"
            );
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        }
    }

    // The web client's files, and nothing beside them.
    let r = c.get(format!("{b}/")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let r = c
        .get(format!("{b}/assets/app-0123.js"))
        .send()
        .await
        .unwrap();
    assert!(
        r.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    assert_eq!(
        text(&c, format!("{b}/settings")).await,
        "<!doctype html><title>shufflecast</title>",
        "client-side routes get the app"
    );
    for bad in [
        "/leak.txt",
        "/%2e%2e/secret.txt",
        "/assets/%2e%2e%2f%2e%2e%2fsecret.txt",
        "/%252e%252e/secret.txt",
        "/.%2e/secret.txt",
    ] {
        let r = c.get(format!("{b}{bad}")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{bad}");
        assert!(!r.text().await.unwrap().contains("secret"), "{bad}");
    }

    // IPTV playlist.
    let m3u = text(&c, format!("{b}/iptv.m3u")).await;
    assert!(m3u.starts_with("#EXTM3U url-tvg=\""), "{m3u}");
    assert!(
        m3u.contains("tvg-id=\"shufflecast.local\"") && m3u.contains("tvg-logo="),
        "{m3u}"
    );
    assert!(m3u.contains(&format!("{b}/hls/stream.m3u8")), "{m3u}");

    // Settings: typed and validated; live ones apply now, the others at the next start.
    let url = format!("{b}/api/settings");
    let put = async |body: &str, token: Option<&str>| {
        call(&c, Method::PUT, &url, token, Some(body), None).await
    };
    assert_eq!(
        put(r#"{"clip_max": 8}"#, None).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (s, v) = put(r#"{"clip_min": 0.1}"#, Some(TOKEN)).await;
    assert_eq!(
        (s, v["field"].as_str()),
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
    let (s, v) = put(r#"{"schedule": "whenever"}"#, Some(TOKEN)).await;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("schedule"))
    );
    let (s, v) = put(
        r#"{"clip_max": 8, "width": 480, "height": 270, "schedule": "0 3 * * *"}"#,
        Some(TOKEN),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["settings"]["clip_max"], 8.0);
    assert_eq!(v["pending_restart"], serde_json::json!(["width", "height"]));
    // The generator takes the change on its next turn: moments, not a restart.
    until(
        "the schedule to apply live",
        Duration::from_secs(10),
        async || json(&c, format!("{b}/api/jobs")).await["next_run"].is_string(),
    )
    .await;
    // Saved in the database: the next start runs with them.
    server.stop();
    std::fs::rename(dir.path().join("server.log"), dir.path().join("first.log")).unwrap();
    let server = start(dir.path()).await;
    let v = json(&c, format!("{}/api/settings", server.base)).await;
    assert_eq!(v["settings"]["width"], 480);
    assert_eq!(v["settings"]["clip_max"], 8.0);
    assert_eq!(v["pending_restart"], serde_json::json!([]));
    assert!(
        !std::fs::read_to_string(dir.path().join(".env"))
            .unwrap_or_default()
            .contains("480"),
        "never written to .env"
    );
}

/// The guide passes the XMLTV project's own validator (`tv_validate_file`, from
/// Debian's xmltv-util, which `scripts/install-deps.sh --test` installs: a missing
/// tool fails the test), the playlist's `tvg-id` is the guide's channel id, and the
/// stats count the chunk on air and name the music that aired.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guide_validates_and_the_stats_name_what_aired() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(
        dir.path(),
        &[
            "--channel-name",
            "Late Night TV",
            "--width",
            "320",
            "--height",
            "180",
            "--chunk-duration",
            "12",
            "--clip-min",
            "4",
            "--clip-max",
            "4",
        ],
    );
    server.wait_ready(Duration::from_secs(60)).await;
    let b = &server.base;
    let c = Client::new();

    // A chunk is on air from the first segment, so it has been made.
    let now = json(&c, format!("{b}/api/stream-status")).await;
    assert!(now["chunk"].is_string(), "{now}");
    let stats = json(&c, format!("{b}/api/stats")).await;
    assert!(stats["chunks_created"].as_u64().unwrap() >= 1, "{stats}");

    // The guide, as the XMLTV project judges it.
    let xml = text(&c, format!("{b}/epg.xml")).await;
    let file = dir.path().join("epg.xml");
    std::fs::write(&file, &xml).unwrap();
    // The DTD xmltv-util ships, not the copy it would fetch from the web.
    let dtd = "/usr/share/xmltv/xmltv.dtd";
    assert!(
        std::path::Path::new(dtd).is_file(),
        "{dtd} missing: install xmltv-util (scripts/install-deps.sh --test)"
    );
    let out = std::process::Command::new("tv_validate_file")
        .args(["--dtd-file", dtd])
        .arg(&file)
        .output()
        .expect("tv_validate_file runs (xmltv-util: scripts/install-deps.sh --test installs it)");
    assert!(
        out.status.success(),
        "tv_validate_file: {}{}\n{xml}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = roxmltree::Document::parse_with_options(
        &xml,
        roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        },
    )
    .unwrap();
    let id = doc
        .descendants()
        .find(|n| n.has_tag_name("channel"))
        .and_then(|n| n.attribute("id"))
        .expect("a channel id")
        .to_string();
    assert_eq!(id, "late-night-tv.local");
    let m3u = text(&c, format!("{b}/iptv.m3u")).await;
    let tvg_id = m3u
        .split("tvg-id=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or_else(|| panic!("no tvg-id: {m3u}"));
    assert_eq!(tvg_id, id, "the playlist's channel is the guide's");

    // Once a track has aired, the stats name it as the music list does.
    let mut stats = Value::Null;
    until(
        "a track in the stats",
        Duration::from_secs(120),
        async || {
            stats = json(&c, format!("{b}/api/stats")).await;
            stats["top_tracks"]
                .as_array()
                .is_some_and(|t| !t.is_empty())
        },
    )
    .await;
    let audio = json(&c, format!("{b}/api/audio")).await;
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
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_token_guards_the_stream_and_the_guide() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(
        dir.path(),
        &[
            "--admin-token",
            TOKEN,
            "--viewer-token",
            "viewer-secret-1",
            "--width",
            "320",
            "--height",
            "180",
        ],
    );
    let b = server.base.clone();
    let c = Client::new();
    until("on air", Duration::from_secs(60), async || {
        c.get(format!("{b}/hls/stream.m3u8?token=viewer-secret-1"))
            .send()
            .await
            .unwrap()
            .status()
            == 200
    })
    .await;
    for route in [
        "/hls/stream.m3u8",
        "/iptv.m3u",
        "/epg.xml",
        "/api/status",
        "/api/stream-status",
    ] {
        let r = c.get(format!("{b}{route}")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{route}");
        let r = c
            .get(format!("{b}{route}?token=wrong"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{route}");
        let r = c
            .get(format!("{b}{route}"))
            .bearer_auth("viewer-secret-1")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{route}");
    }
    assert_eq!(
        c.get(format!("{b}/healthz")).send().await.unwrap().status(),
        200
    );
    // Players follow the URIs the playlist gives, so those carry the token.
    let playlist = text(&c, format!("{b}/hls/stream.m3u8?token=viewer-secret-1")).await;
    let (_, _, items) = harness::parse_playlist(&playlist);
    assert!(items[0].0.ends_with("?token=viewer-secret-1"), "{playlist}");
    let seg = c
        .get(format!("{b}/hls/{}", items[0].0))
        .send()
        .await
        .unwrap();
    assert_eq!(seg.status(), 200);
    let m3u = text(&c, format!("{b}/iptv.m3u?token=viewer-secret-1")).await;
    assert!(
        m3u.contains("/hls/stream.m3u8?token=viewer-secret-1"),
        "{m3u}"
    );
    // The viewer token does not open the admin routes.
    let (s, _) = call(
        &c,
        Method::POST,
        &format!("{b}/api/skip_to_next"),
        Some("viewer-secret-1"),
        None,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skip_play_next_events_and_the_guide_follow_the_stream() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let b = server.base.clone();
    let c = Client::new();

    // Server-sent events: the first is what is on air now.
    let mut events = c.get(format!("{b}/api/events")).send().await.unwrap();
    assert_eq!(events.headers()["content-type"], "text/event-stream");
    let mut buf = String::new();
    let read_event = async |events: &mut reqwest::Response, buf: &mut String| -> (String, Value) {
        loop {
            if let Some(end) = buf.find("\n\n") {
                let block: String = buf.drain(..end + 2).collect();
                let name = block
                    .lines()
                    .find_map(|l| l.strip_prefix("event: "))
                    .unwrap_or("")
                    .to_string();
                let data = block
                    .lines()
                    .find_map(|l| l.strip_prefix("data: "))
                    .unwrap_or("null");
                if name.is_empty() {
                    continue; // keep-alive comment
                }
                return (name, serde_json::from_str(data).unwrap());
            }
            let chunk = tokio::time::timeout(Duration::from_secs(30), events.chunk())
                .await
                .expect("an event in time")
                .unwrap()
                .expect("stream open");
            buf.push_str(&String::from_utf8_lossy(&chunk));
        }
    };
    let (name, first) = read_event(&mut events, &mut buf).await;
    assert_eq!(name, "now_playing");
    let clip_before = first["clip"]["id"].as_str().unwrap().to_string();

    // Skip: a now_playing event with another clip arrives within two segments.
    let t0 = Instant::now();
    let (s, _) = post(&c, &format!("{b}/api/skip_to_next"), None).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    loop {
        let (name, v) = read_event(&mut events, &mut buf).await;
        if name == "now_playing" && v["clip"]["id"].as_str() != Some(clip_before.as_str()) {
            break;
        }
    }
    assert!(
        t0.elapsed() < Duration::from_secs(6),
        "skip took {:?}",
        t0.elapsed()
    );

    // The timestamps run on across the skip: record segments around it and judge
    // them with ffprobe.
    let playlist = text(&c, format!("{b}/hls/stream.m3u8")).await;
    let (_, _, items) = harness::parse_playlist(&playlist);
    let mut capture = Vec::new();
    for (uri, _, _) in &items {
        capture.extend(
            c.get(format!("{b}/hls/{uri}"))
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap(),
        );
    }
    let path = dir.path().join("around-skip.ts");
    std::fs::write(&path, &capture).unwrap();
    let dts: Vec<i64> = harness::packets(&path)
        .iter()
        .filter(|p| p.kind == "video")
        .map(|p| p.dts)
        .collect();
    let bad: Vec<i64> = harness::steps(&dts)
        .into_iter()
        .filter(|s| *s != 3000)
        .collect();
    assert!(
        bad.is_empty() && dts.len() > 60,
        "DTS steps across the skip: {bad:?}"
    );

    // Play next: the chosen chunk airs after the current one.
    let mut target = String::new();
    until(
        "a ready chunk that is not on air",
        Duration::from_secs(90),
        async || {
            let on_air = json(&c, format!("{b}/api/stream-status")).await["chunk"].clone();
            let list = json(&c, format!("{b}/api/chunks?limit=100")).await;
            if let Some(ch) = list["chunks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|ch| ch["state"] == "ready" && ch["id"] != on_air)
            {
                target = ch["id"].as_str().unwrap().to_string();
                true
            } else {
                false
            }
        },
    )
    .await;
    let (s, v) = post(
        &c,
        &format!("{b}/api/play_chunk"),
        Some(&format!(r#"{{"chunk_name": "{target}"}}"#)),
    )
    .await;
    assert_eq!(
        (s, v["next"].as_str()),
        (StatusCode::ACCEPTED, Some(target.as_str()))
    );
    // Next, or already on air if the chunk before ended in the meantime.
    let status = json(&c, format!("{b}/api/stream-status")).await;
    assert!(
        status["next_chunk"] == target.as_str() || status["chunk"] == target.as_str(),
        "{status}"
    );

    // The guide: a real XML parser, the XMLTV structure, and times that match.
    let xml = text(&c, format!("{b}/epg.xml")).await;
    let doc = roxmltree::Document::parse_with_options(
        &xml,
        roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("{e}:\n{xml}"));
    let tv = doc.root_element();
    assert_eq!(tv.tag_name().name(), "tv");
    let channel = tv
        .children()
        .find(|n| n.has_tag_name("channel"))
        .expect("a channel");
    assert_eq!(channel.attribute("id"), Some("shufflecast.local"));
    assert!(channel.children().any(|n| n.has_tag_name("display-name")));
    let programmes: Vec<_> = tv
        .children()
        .filter(|n| n.has_tag_name("programme"))
        .collect();
    assert!(programmes.len() >= 2, "{xml}");
    let parse = |s: &str| {
        let f = time::macros::format_description!(
            "[year][month][day][hour][minute][second] [offset_hour sign:mandatory][offset_minute]"
        );
        time::OffsetDateTime::parse(s, &f).unwrap_or_else(|e| panic!("{s}: {e}"))
    };
    let now = time::OffsetDateTime::from(SystemTime::now());
    let mut prev_stop: Option<time::OffsetDateTime> = None;
    let mut asked_for_seen = false;
    for (i, p) in programmes.iter().enumerate() {
        assert_eq!(p.attribute("channel"), Some("shufflecast.local"));
        let (start, stop) = (
            parse(p.attribute("start").unwrap()),
            parse(p.attribute("stop").unwrap()),
        );
        assert!(
            p.children()
                .any(|n| n.has_tag_name("title") && n.text().is_some_and(|t| !t.is_empty()))
        );
        let id = p
            .children()
            .find(|n| n.has_tag_name("episode-num"))
            .and_then(|n| n.text())
            .expect("the chunk id");
        let chunk = json(&c, format!("{b}/api/chunks/{id}")).await;
        let secs = (stop - start).as_seconds_f64();
        assert!(
            (secs - chunk["duration"].as_f64().unwrap()).abs() <= 1.0,
            "programme {id}: {secs} s"
        );
        if let Some(prev) = prev_stop {
            assert!(
                (start - prev).as_seconds_f64().abs() <= 1.0,
                "programmes follow each other"
            );
        }
        if i == 0 {
            assert!(
                start <= now + time::Duration::seconds(2)
                    && stop >= now - time::Duration::seconds(4),
                "the first is on air"
            );
        }
        if i <= 1 && id == target {
            asked_for_seen = true;
        }
        prev_stop = Some(stop);
    }
    assert!(
        asked_for_seen,
        "the chunk asked for is on air or next in the guide:\n{xml}"
    );
    drop(events);
}
