//! Watching a chunk before it airs: its VOD playlist over the clip files, and the
//! original's `/chunks/<name>` as one file (joined TS, or MP4 by `-c copy`), read by
//! ffprobe and ffmpeg; a test chunk held back from the rotation; the generator
//! restarted inside the process.

use std::path::Path;
use std::time::Duration;

use reqwest::{Client, Method, StatusCode};
use serde_json::Value;
use shufflecast::testkit::http::{call, json, text};
use shufflecast::testkit::media::{decode, ffprobe_json};
use shufflecast::testkit::until;

use super::TOKEN;

async fn download(c: &Client, url: &str, to: &Path) -> reqwest::header::HeaderMap {
    let r = c.get(url).send().await.unwrap();
    assert_eq!(r.status(), 200, "{url}");
    let headers = r.headers().clone();
    std::fs::write(to, r.bytes().await.unwrap()).unwrap();
    headers
}

fn duration_of(path: &Path) -> f64 {
    ffprobe_json(path, &["-show_format"])["format"]["duration"]
        .as_str()
        .and_then(|d| d.parse().ok())
        .unwrap_or_else(|| panic!("no duration for {}", path.display()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunk_plays_as_a_vod_playlist_and_as_one_file_with_its_duration() {
    let _limit = crate::limit::fast(600);
    let dir = tempfile::tempdir().unwrap();
    let s = super::on_air(dir.path(), &["--viewer-token", "lookahead1"]).await;
    let c = Client::new();
    let chunk = {
        let mut found = Value::Null;
        until(
            "a ready chunk",
            shufflecast::testkit::PATIENCE,
            async || {
                let list = json(&c, &s.url("/api/chunks?token=lookahead1")).await;
                if let Some(ch) = list["chunks"].as_array().and_then(|a| {
                    a.iter()
                        .find(|c| c["state"] == "ready" && c["clips"].as_u64() > Some(1))
                }) {
                    found = ch.clone();
                }
                !found.is_null()
            },
        )
        .await;
        found
    };
    let id = chunk["id"].as_str().unwrap().to_string();
    let clips = chunk["clips"].as_u64().unwrap() as usize;
    let secs = chunk["duration"].as_f64().unwrap();
    let preview = chunk["preview"].as_str().unwrap().to_string();
    assert_eq!(
        preview,
        format!("/api/chunks/{id}/playlist.m3u8?channel=main")
    );

    // The playlist: VOD, ended, one entry per clip with a discontinuity between,
    // and the viewer token carried on every URI (players do not add it).
    let r = c
        .get(s.url(&format!("{preview}&token=lookahead1")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/vnd.apple.mpegurl");
    let m3u = r.text().await.unwrap();
    assert!(m3u.contains("#EXT-X-PLAYLIST-TYPE:VOD"), "{m3u}");
    assert!(m3u.trim_end().ends_with("#EXT-X-ENDLIST"), "{m3u}");
    let uris: Vec<&str> = m3u.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(uris.len(), clips, "{m3u}");
    assert_eq!(m3u.matches("#EXT-X-DISCONTINUITY\n").count(), clips - 1);
    assert!(
        uris.iter().all(|u| u.ends_with("&token=lookahead1")),
        "{m3u}"
    );
    let listed: f64 = m3u
        .lines()
        .filter_map(|l| l.strip_prefix("#EXTINF:"))
        .map(|l| l.trim_end_matches(',').parse::<f64>().unwrap())
        .sum();
    assert!((listed - secs).abs() < 0.01, "{listed} vs {secs}");
    // Without the token: refused.
    assert_eq!(c.get(s.url(&preview)).send().await.unwrap().status(), 401);
    // ffprobe reads the playlist as a player would, through every clip.
    let played = ffprobe_json(
        Path::new(&s.url(&format!("{preview}&token=lookahead1"))),
        &["-show_format"],
    );
    let d: f64 = played["format"]["duration"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (d - secs).abs() < 0.2,
        "ffprobe says {d} s, the chunk is {secs} s"
    );
    let clip = dir.path().join("clip.ts");
    let h = download(&c, &s.url(uris[0]), &clip).await;
    assert_eq!(h["content-type"], "video/mp2t");
    assert!(h["cache-control"].to_str().unwrap().contains("immutable"));

    // The original's /chunks/<name>: one TS with continuous timestamps, decodable,
    // its duration the chunk's; and the same as MP4, copied, not re-encoded.
    let joined = dir.path().join("joined.ts");
    download(
        &c,
        &s.url(&format!("/chunks/{id}?token=lookahead1")),
        &joined,
    )
    .await;
    let d = duration_of(&joined);
    assert!(
        (d - secs).abs() < 0.1,
        "joined TS: {d} s, the chunk is {secs} s"
    );
    let (frames, errors) = decode(&joined);
    assert_eq!(frames, (secs * 30.0).round() as u64, "{errors}");
    assert!(errors.trim().is_empty(), "decode errors: {errors}");
    let ts_named = dir.path().join("named.ts");
    download(
        &c,
        &s.url(&format!("/chunks/{id}.ts?token=lookahead1")),
        &ts_named,
    )
    .await;
    assert_eq!(
        std::fs::read(&ts_named).unwrap(),
        std::fs::read(&joined).unwrap()
    );
    let mp4 = dir.path().join("chunk.mp4");
    let h = download(
        &c,
        &s.url(&format!("/chunks/{id}.mp4?token=lookahead1")),
        &mp4,
    )
    .await;
    assert_eq!(h["content-type"], "video/mp4");
    let probe = ffprobe_json(&mp4, &["-show_format", "-show_streams"]);
    assert!(
        probe["format"]["format_name"]
            .as_str()
            .unwrap()
            .contains("mp4")
    );
    let d: f64 = probe["format"]["duration"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((d - secs).abs() < 0.1, "MP4: {d} s, the chunk is {secs} s");
    assert_eq!(probe["streams"][0]["codec_name"], "h264");
    let (frames_mp4, errors) = decode(&mp4);
    assert_eq!(frames_mp4, frames, "{errors}");
    // No temporary file is left in the chunk's folder.
    let folder = dir.path().join("data/channels/main/chunks").join(&id);
    let names: Vec<String> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.starts_with(".join-")), "{names:?}");
    // Read over HTTP, as a player does: with its length, so ffprobe finds the
    // duration there too, and a range of it (a seek).
    for ext in ["ts", "mp4"] {
        let url = s.url(&format!("/chunks/{id}.{ext}?token=lookahead1"));
        let over_http = ffprobe_json(Path::new(&url), &["-show_format"]);
        let d: f64 = over_http["format"]["duration"]
            .as_str()
            .unwrap_or_else(|| panic!("no duration over HTTP for .{ext}: {over_http}"))
            .parse()
            .unwrap();
        assert!(
            (d - secs).abs() < 0.1,
            ".{ext} over HTTP: {d} s, the chunk is {secs} s"
        );
        let r = c
            .get(&url)
            .header("range", "bytes=188-375")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 206, ".{ext}");
        assert_eq!(r.bytes().await.unwrap().len(), 188);
    }

    // Ids only, never paths.
    for bad in [
        "/chunks/nope?token=lookahead1".to_string(),
        "/chunks/..%2f..%2fshufflecast.db?token=lookahead1".to_string(),
        "/api/chunks/nope/playlist.m3u8?token=lookahead1".to_string(),
        format!("/api/chunks/{id}/clips/99.ts?token=lookahead1"),
        format!("/api/chunks/{id}/clips/x.ts?token=lookahead1"),
        format!("/api/chunks/{id}/clips/..%2f..%2fshufflecast.db?token=lookahead1"),
        format!("/api/chunks/{id}/playlist.m3u8?channel=nope&token=lookahead1"),
    ] {
        let r = c.get(s.url(&bad)).send().await.unwrap();
        assert_eq!(r.status(), 404, "{bad}");
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_chunk_is_made_with_its_own_look_held_back_and_the_generator_restarts() {
    let _limit = crate::limit::fast(600);
    let dir = tempfile::tempdir().unwrap();
    let s = super::on_air(dir.path(), &[]).await;
    let c = Client::new();
    let post = async |path: &str, body: Option<&str>, token: Option<&str>| {
        call(&c, Method::POST, &s.url(path), token, body, None).await
    };
    let test = "/api/generate_test_chunk";
    assert_eq!(post(test, None, None).await.0, StatusCode::UNAUTHORIZED);
    for (body, field) in [
        (r#"{"color_grade": "sepia"}"#, "color_grade"),
        (r#"{"width": 640}"#, "width"),
        (r#"{"clip_min": "long"}"#, "clip_min"),
    ] {
        let (st, v) = post(test, Some(body), Some(TOKEN)).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
        assert_eq!(v["field"], field, "{body}: {v}");
    }
    let (st, v) = post(test, Some("[1]"), Some(TOKEN)).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");

    // A look tried: one clip, held, the setting not saved.
    let (st, v) = post(test, Some(r#"{"color_grade": "warm"}"#), Some(TOKEN)).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["success"], true);
    assert!(
        v["message"].as_str().unwrap().contains("color_grade"),
        "{v}"
    );
    let chunk = &v["chunk"];
    let id = chunk["id"].as_str().unwrap().to_string();
    assert_eq!(chunk["held"], true, "{v}");
    assert_eq!(chunk["state"], "ready", "{v}");
    assert_eq!(chunk["clips"], 1, "{v}");
    assert!(
        (chunk["duration"].as_f64().unwrap() - 4.0).abs() < 0.01,
        "{v}"
    );
    let settings = json(&c, &s.url("/api/settings")).await;
    assert_eq!(settings["settings"]["color_grade"], "none");
    // Its preview plays; it is in the list, and not next unless asked for.
    let m3u = text(&c, &s.url(chunk["preview"].as_str().unwrap())).await;
    assert!(m3u.contains("#EXT-X-ENDLIST"), "{m3u}");
    for _ in 0..4 {
        let status = json(&c, &s.url("/api/stream-status")).await;
        assert_ne!(status["next_chunk"], id.as_str(), "{status}");
        assert_ne!(status["chunk"], id.as_str(), "{status}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let (st, v) = post(
        "/api/play_chunk",
        Some(&format!(r#"{{"chunk_name": "{id}"}}"#)),
        Some(TOKEN),
    )
    .await;
    assert_eq!(st, StatusCode::ACCEPTED, "{v}");
    until(
        "the test chunk on air",
        shufflecast::testkit::PATIENCE,
        async || json(&c, &s.url("/api/stream-status")).await["chunk"] == id.as_str(),
    )
    .await;

    // The generator restarted in the process: it answers, and goes on making chunks.
    let restart = "/api/restart_chunk_generator";
    assert_eq!(post(restart, None, None).await.0, StatusCode::UNAUTHORIZED);
    let (st, v) = post(restart, None, Some(TOKEN)).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["success"], true);
    assert!(v["message"].as_str().unwrap().contains("restarted"), "{v}");
    let (st, _) = post("/api/generate_chunk", Some(r#"{"count": 1}"#), Some(TOKEN)).await;
    assert_eq!(st, StatusCode::ACCEPTED);
    until(
        "a chunk made after the restart",
        shufflecast::testkit::PATIENCE,
        async || {
            let list = json(&c, &s.url("/api/chunks?limit=100")).await;
            let n = list["chunks"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|c| c["state"] == "ready" && c["held"] == false)
                .count();
            n >= 3
        },
    )
    .await;
    let history = json(&c, &s.url("/api/cron-run-history")).await;
    let triggers: Vec<&str> = history["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["trigger"].as_str().unwrap())
        .collect();
    assert!(triggers.contains(&"test"), "{history}");
    s.stop().await;
}
