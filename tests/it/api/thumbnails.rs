//! Pictures: each clip's (made by its own encode), each chunk's strip, each source
//! video's poster; their URLs in the API and the guide, served by id only, and gone
//! with their chunk. Judged by ffprobe, an independent reader.

use std::io::{Read, Write};
use std::path::Path;

use reqwest::{Client, Method, StatusCode};
use serde_json::Value;
use shufflecast::testkit::http::{call, until};
use shufflecast::testkit::media::{self, args, ffmpeg};
use shufflecast::testkit::server::TestServer;

use super::TOKEN;

const VIEWER: &str = "viewer-pictures-1";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// Sources from three encoders in three containers, one with a yt-dlp thumbnail.
fn sources(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    media::make_video(
        &dir.join("h264.mp4"),
        "testsrc2=size=640x360:rate=25:duration=9",
    );
    for (name, codec) in [("mpeg2.mpg", "mpeg2video"), ("mpeg4.avi", "mpeg4")] {
        let mut a = args([
            "-f",
            "lavfi",
            "-i",
            "smptehdbars=size=480x270:rate=25:duration=9",
            "-c:v",
            codec,
            "-q:v",
            "5",
        ]);
        a.push(dir.join(name).into());
        ffmpeg(a);
    }
    media::make_video_with(
        &dir.join("Trip [dQw4w9WgXcQ].mkv"),
        "mandelbrot=size=320x240:rate=25",
        &["-t", "9"],
    );
    // yt-dlp's --write-thumbnail: a WebP beside the video, 4:3 where frames are 16:9.
    let mut a = args([
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=400x300",
        "-frames:v",
        "1",
    ]);
    a.push(dir.join("Trip [dQw4w9WgXcQ].webp").into());
    ffmpeg(a);
}

/// GET `path` with the viewer token: (status, content type, cache control, body).
async fn get(c: &Client, s: &TestServer, path: &str) -> (StatusCode, String, String, Vec<u8>) {
    let r = c
        .get(s.url(path))
        .bearer_auth(VIEWER)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    let header = |h: &str| {
        r.headers()
            .get(h)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    let (ty, cache) = (header("content-type"), header("cache-control"));
    (r.status(), ty, cache, r.bytes().await.unwrap().to_vec())
}

async fn api(c: &Client, s: &TestServer, path: &str) -> Value {
    let (status, ty, _, body) = get(c, s, path).await;
    assert_eq!(status, StatusCode::OK, "{path}");
    assert!(ty.starts_with("application/json"), "{path}: {ty}");
    serde_json::from_slice(&body).unwrap()
}

/// Fetches the picture at `url` (as the API gives it) and returns ffprobe's codec,
/// width and height of it; it must be served as an immutable JPEG.
async fn picture(c: &Client, s: &TestServer, url: &str, dir: &Path) -> (String, u64, u64) {
    assert!(url.starts_with("/thumbs/"), "{url}");
    let (status, ty, cache, body) = get(c, s, url).await;
    assert_eq!(status, StatusCode::OK, "{url}");
    assert_eq!(ty, "image/jpeg", "{url}");
    assert_eq!(cache, IMMUTABLE, "{url}");
    let file = dir.join("got.jpg");
    std::fs::write(&file, body).unwrap();
    let st = &media::streams(&file)[0];
    (
        st["codec_name"].as_str().unwrap().to_string(),
        st["width"].as_u64().unwrap(),
        st["height"].as_u64().unwrap(),
    )
}

/// The status of a raw `GET path` (sent as written: no client tidies `..` away).
fn raw_status(s: &TestServer, path: &str) -> u16 {
    let addr = s.base.trim_start_matches("http://");
    let mut tcp = std::net::TcpStream::connect(addr).unwrap();
    write!(
        tcp,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {VIEWER}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    let _ = tcp.read_to_string(&mut answer);
    answer
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("{path}: {answer}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clips_chunks_and_videos_have_pictures_served_by_id_and_gone_with_their_chunk() {
    let _limit = crate::limit::fast(600);
    let dir = tempfile::tempdir().unwrap();
    let videos = dir.path().join("videos");
    sources(&videos);
    let videos = videos.display().to_string();
    let mut flags = vec![
        "--admin-token",
        TOKEN,
        "--viewer-token",
        VIEWER,
        "--videos",
        &videos,
    ];
    flags.extend(super::SMALL);
    let s = TestServer::start(dir.path(), &flags).await;
    let c = Client::new();
    let work = dir.path().join("judged");
    std::fs::create_dir_all(&work).unwrap();

    // Two complete chunks with their strips: one to look at, one to delete.
    let limit = shufflecast::testkit::PATIENCE;
    until("two chunks with a strip", limit, async || {
        let list = api(&c, &s, "/api/chunks").await;
        list["chunks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|k| k["thumbnail"].is_string())
            .count()
            >= 2
    })
    .await;
    let list = api(&c, &s, "/api/chunks").await;
    let chunks = list["chunks"].as_array().unwrap();
    for k in chunks.iter().filter(|k| k["state"] == "ready") {
        let id = k["id"].as_str().unwrap();
        assert!(!k["title"].as_str().unwrap().is_empty(), "{k}");
        if k["thumbnail"].is_null() {
            continue; // completed a moment ago: its strip comes next
        }
        assert_eq!(k["thumbnail"], format!("/thumbs/main/chunks/{id}.jpg"));
        // The strip: up to 6 tiles of 160x90 (the clips are 320x180) side by side.
        let tiles = k["clips"].as_u64().unwrap().min(6);
        let url = k["thumbnail"].as_str().unwrap();
        assert_eq!(
            picture(&c, &s, url, &work).await,
            ("mjpeg".into(), 160 * tiles, 90)
        );
        // Each clip's picture: 320 px wide, the clip's aspect.
        let detail = api(&c, &s, &format!("/api/chunks/{id}")).await;
        assert_eq!(detail["thumbnail"], k["thumbnail"]);
        for (i, clip) in detail["clip_list"].as_array().unwrap().iter().enumerate() {
            let url = clip["thumbnail"]
                .as_str()
                .unwrap_or_else(|| panic!("{clip}"));
            assert_eq!(url, format!("/thumbs/main/clips/{id}/{i}.jpg"));
            assert_eq!(
                picture(&c, &s, url, &work).await,
                ("mjpeg".into(), 320, 180)
            );
        }
    }

    // Posters: every source, the one with a thumbnail from it (4:3), the others
    // from a frame (16:9).
    until("a poster for every video", limit, async || {
        let lib = api(&c, &s, "/api/library").await;
        let v = lib["videos"].as_array().unwrap();
        v.len() == 4 && v.iter().all(|v| v["thumbnail"].is_string())
    })
    .await;
    let lib = api(&c, &s, "/api/library").await;
    for v in lib["videos"].as_array().unwrap() {
        let url = v["thumbnail"].as_str().unwrap();
        assert_eq!(url, format!("/thumbs/videos/{}.jpg", v["id"]));
        let height = if v["path"].as_str().unwrap().contains("Trip") {
            240
        } else {
            180
        };
        assert_eq!(
            picture(&c, &s, url, &work).await,
            ("mjpeg".into(), 320, height),
            "{v}"
        );
    }

    // On air: the clip's picture, and the next chunk's strip once it has one.
    until("the next chunk's strip on air", limit, async || {
        let now = api(&c, &s, "/api/stream-status").await;
        now["clip"]["thumbnail"].is_string() && now["next_thumbnail"].is_string()
    })
    .await;
    let now = api(&c, &s, "/api/stream-status").await;
    let clip_id = now["clip"]["id"].as_str().unwrap();
    assert_eq!(
        now["clip"]["thumbnail"],
        format!("/thumbs/main/clips/{clip_id}.jpg")
    );
    let next = now["next_chunk"].as_str().unwrap();
    assert_eq!(
        now["next_thumbnail"],
        format!("/thumbs/main/chunks/{next}.jpg")
    );
    for url in [&now["clip"]["thumbnail"], &now["next_thumbnail"]] {
        let (codec, ..) = picture(&c, &s, url.as_str().unwrap(), &work).await;
        assert_eq!(codec, "mjpeg");
    }

    // The guide: each programme with a strip has its absolute URL as its icon, the
    // viewer token in it (apps fetch it as it is), and it still validates.
    let xml = String::from_utf8(get(&c, &s, "/epg.xml").await.3).unwrap();
    super::iptv::validate_xmltv(dir.path(), &xml);
    let icons: Vec<&str> = xml
        .split("<icon src=\"")
        .skip(1)
        .map(|r| r.split('"').next().unwrap())
        .filter(|u| u.contains("/thumbs/"))
        .collect();
    assert!(!icons.is_empty(), "{xml}");
    for icon in icons {
        let host = s.base.trim_start_matches("http://");
        let want = format!("http://{host}/thumbs/main/chunks/");
        assert!(
            icon.starts_with(&want) && icon.ends_with(&format!(".jpg?token={VIEWER}")),
            "{icon}"
        );
        let r = Client::new().get(icon).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{icon}");
        assert_eq!(r.headers()["content-type"], "image/jpeg");
    }

    // By id only: anything else is refused, never looked up as a path.
    let chunk = chunks.iter().find(|k| k["thumbnail"].is_string()).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    for bad in [
        "/thumbs/videos/abc.jpg".to_string(),
        "/thumbs/videos/-1.jpg".into(),
        "/thumbs/videos/1.png".into(),
        "/thumbs/videos/999999.jpg".into(),
        "/thumbs/videos/..%2F..%2Fshufflecast.db".into(),
        "/thumbs/videos/%2e%2e%2f%2e%2e%2fshufflecast.db".into(),
        format!("/thumbs/nowhere/chunks/{chunk}.jpg"),
        format!("/thumbs/main/chunks/{chunk}"),
        "/thumbs/main/chunks/..%2F..%2Fshufflecast.db".into(),
        format!("/thumbs/main/clips/{chunk}/x.jpg"),
        format!("/thumbs/main/clips/{chunk}/99.jpg"),
        format!("/thumbs/main/clips/{chunk}/0.jpg%2F..%2F..%2Fshufflecast.db"),
        "/thumbs/main/clips/..%2F..%2F/0.jpg".into(),
        "/thumbs/main/clips/no-such-chunk/0.jpg".into(),
    ] {
        let (status, _, cache, body) = get(&c, &s, &bad).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{bad}");
        assert_eq!(cache, "no-store", "{bad}");
        let v: Value = serde_json::from_slice(&body).unwrap_or_else(|_| panic!("{bad}"));
        assert!(v["error"].is_string(), "{bad}: {v}");
    }
    for raw in [
        "/thumbs/videos/../../shufflecast.db",
        "/thumbs/main/clips/../../../shufflecast.db",
        "/thumbs/main/chunks/../../channels/main/chunks",
    ] {
        let status = raw_status(&s, raw);
        assert!((400..500).contains(&status), "{raw}: {status}");
    }
    // Behind the viewer token like the stream.
    let r = Client::new()
        .get(s.url(&format!("/thumbs/main/chunks/{chunk}.jpg")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // Deleting a chunk takes its pictures along.
    let mut gone = None;
    until("a chunk deleted", limit, async || {
        let list = api(&c, &s, "/api/chunks").await;
        let on_air = api(&c, &s, "/api/stream-status").await["chunk"].clone();
        for k in list["chunks"].as_array().unwrap() {
            if k["state"] != "ready" || k["thumbnail"].is_null() || k["id"] == on_air {
                continue;
            }
            let id = k["id"].as_str().unwrap();
            let del = s.url(&format!("/api/chunks/{id}"));
            let (st, _) = call(&c, Method::DELETE, &del, Some(TOKEN), None, None).await;
            if st == StatusCode::NO_CONTENT {
                gone = Some((id.to_string(), k["clips"].as_u64().unwrap()));
                return true;
            }
        }
        false
    })
    .await;
    let (id, clips) = gone.unwrap();
    let folder = s.data.join("channels/main/chunks").join(&id);
    assert!(!folder.exists(), "{}", folder.display());
    let (status, ..) = get(&c, &s, &format!("/thumbs/main/chunks/{id}.jpg")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for i in 0..clips {
        let (status, ..) = get(&c, &s, &format!("/thumbs/main/clips/{id}/{i}.jpg")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    s.stop().await;
}
