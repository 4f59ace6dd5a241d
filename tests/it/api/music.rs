//! The music list, play next and skip of the music bed.

use reqwest::{Client, Method, StatusCode};
use shufflecast::testkit::http::{call, json};
use shufflecast::testkit::until;

use super::TOKEN;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn music_lists_queues_by_the_original_field_and_skips() {
    let _limit = crate::limit::fast(600);
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
    until(
        "the music tracks",
        shufflecast::testkit::PATIENCE,
        async || {
            let list = json(&c, &s.url("/api/audio")).await;
            match list["tracks"].as_array().and_then(|t| t.first()) {
                Some(t) => {
                    track = t["name"].as_str().unwrap().to_string();
                    true
                }
                None => false,
            }
        },
    )
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

/// `GET /audio/<path>` answers the status line of a raw request (no client-side
/// normalisation of `..`).
async fn raw_status(base: &str, path: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(base.trim_start_matches("http://"))
        .await
        .unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut head = vec![0u8; 64];
    let n = stream.read(&mut head).await.unwrap();
    let line = String::from_utf8_lossy(&head[..n]).to_string();
    line.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracks_play_from_their_folder_only_and_delete_audio_takes_one_out_for_good() {
    let _limit = crate::limit::fast(600);
    use shufflecast::testkit::media::make_tone;
    let dir = tempfile::tempdir().unwrap();
    let music = dir.path().join("audio");
    make_tone(&music.join("album/a 440.mp3"), 440, 3.0);
    make_tone(&music.join("b-660.flac"), 660, 4.0);
    make_tone(&music.join("100% c.ogg"), 550, 2.0);
    // A sibling whose name starts like the folder's, a file beside them, a hidden
    // file, and a symlink leading out: none of them may be served or deleted.
    make_tone(&dir.path().join("audio2/secret.mp3"), 330, 1.0);
    std::fs::write(dir.path().join("secret.txt"), "secret").unwrap();
    std::fs::write(music.join(".hidden.mp3"), "x").unwrap();
    std::os::unix::fs::symlink(dir.path().join("audio2/secret.mp3"), music.join("out.mp3"))
        .unwrap();
    let folder = music.display().to_string();
    let s = super::on_air(dir.path(), &["--audio", &folder]).await;
    let c = Client::new();

    // Every track, with its length (read once) and the URL that plays it.
    let mut tracks = Vec::new();
    until(
        "the tracks and their lengths",
        shufflecast::testkit::PATIENCE,
        async || {
            let list = json(&c, &s.url("/api/audio?limit=100")).await;
            tracks = list["tracks"].as_array().cloned().unwrap_or_default();
            tracks.len() >= 3 && tracks.iter().all(|t| t["duration"].is_number())
        },
    )
    .await;
    let by_path = |p: &str| {
        tracks
            .iter()
            .find(|t| t["path"] == p)
            .unwrap_or_else(|| panic!("{p} in {tracks:?}"))
            .clone()
    };
    let a = by_path("album/a 440.mp3");
    let d = a["duration"].as_f64().unwrap();
    assert!((d - 3.0).abs() < 0.2, "{a}");
    assert_eq!(a["url"], "/audio/album/a%20440.mp3?channel=main");
    let r = c
        .get(s.url(a["url"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "audio/mpeg");
    let bytes = r.bytes().await.unwrap();
    assert_eq!(bytes, std::fs::read(music.join("album/a 440.mp3")).unwrap());
    let r = c
        .get(s.url(a["url"].as_str().unwrap()))
        .header("range", "bytes=10-109")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(r.bytes().await.unwrap(), bytes[10..110]);
    let pct = by_path("100% c.ogg");
    let r = c
        .get(s.url(pct["url"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "a % in a name is a character of the name");

    // Outside the folder, however written: 404, never the file.
    for bad in [
        "/audio/../audio2/secret.mp3",
        "/audio/album/../../audio2/secret.mp3",
        "/audio/%2e%2e/audio2/secret.mp3",
        "/audio/%2e%2e%2faudio2%2fsecret.mp3",
        "/audio/%252e%252e/audio2/secret.mp3",
        "/audio2/secret.mp3",
        "/audio/../secret.txt",
        "/audio//etc/passwd",
        "/audio/out.mp3",
        "/audio/.hidden.mp3",
        "/audio/album",
        "/audio/a%00.mp3",
    ] {
        let status = raw_status(&s.url(""), bad).await;
        assert!(status == 404 || status == 400, "{bad}: {status}");
    }

    // delete_audio: the admin token; the original's body; nothing outside the folder.
    let post = async |body: &str, token: Option<&str>| {
        call(
            &c,
            Method::POST,
            &s.url("/api/delete_audio"),
            token,
            Some(body),
            None,
        )
        .await
    };
    assert_eq!(
        post(r#"{"path": "b-660.flac"}"#, None).await.0,
        StatusCode::UNAUTHORIZED
    );
    let secret = dir.path().join("audio2/secret.mp3").display().to_string();
    let outside = format!("{}/../audio2/secret.mp3", folder);
    for (body, want) in [
        (
            r#"{"path": "../audio2/secret.mp3"}"#.to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            serde_json::json!({ "path": secret }).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            serde_json::json!({ "path": outside }).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            r#"{"path": "/etc/passwd"}"#.to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            r#"{"path": ".hidden.mp3"}"#.to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (r#"{"path": "out.mp3"}"#.to_string(), StatusCode::NOT_FOUND),
        (r#"{"path": "nope.mp3"}"#.to_string(), StatusCode::NOT_FOUND),
        (
            r#"{"path": ""}"#.to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            r#"{"file": "b-660.flac"}"#.to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let (st, v) = post(&body, Some(TOKEN)).await;
        assert_eq!(st, want, "{body}: {v}");
    }
    assert!(dir.path().join("audio2/secret.mp3").exists());

    // Kept on disk by default; out of the list and of rotation.
    let (st, v) = post(r#"{"path": "b-660.flac"}"#, Some(TOKEN)).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["success"], true);
    assert!(v["message"].as_str().unwrap().contains("kept"), "{v}");
    assert!(music.join("b-660.flac").exists());
    let list = json(&c, &s.url("/api/audio?limit=100")).await;
    assert!(
        list["tracks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["path"] != "b-660.flac"),
        "{list}"
    );
    // Again: it is not in rotation any more.
    assert_eq!(
        post(r#"{"path": "b-660.flac"}"#, Some(TOKEN)).await.0,
        StatusCode::NOT_FOUND
    );
    let (st, _) = post(r#"{"path": "b-660.flac"}"#, Some(TOKEN)).await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // DELETE_AUDIO_FILES on (live): the file goes too; by its full path this time.
    let (st, v) = call(
        &c,
        Method::PUT,
        &s.url("/api/settings"),
        Some(TOKEN),
        Some(r#"{"delete_audio_files": true}"#),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let full = music.join("album/a 440.mp3").display().to_string();
    let (st, v) = post(
        &serde_json::json!({ "path": full }).to_string(),
        Some(TOKEN),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert!(v["message"].as_str().unwrap().contains("deleted"), "{v}");
    assert!(!music.join("album/a 440.mp3").exists());
    s.stop().await;
}
