//! Many channels in one server: each airs its own sources, seamlessly, with its
//! own LRU order; channels are made, edited and deleted through the API while the
//! others air; the channels file owns its channels.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use shufflecast::testkit::http::{call, json as get_json, text, until};
use shufflecast::testkit::media::{decode, make_tone, make_video, timestamp_steps};
use shufflecast::testkit::server::TestServer;

use super::TOKEN;

/// Segments of `playlist` as a player takes them, `n` in a row, joined in one file.
async fn capture(c: &Client, base: &str, playlist: &str, n: usize, out: &Path) {
    let mut seen: Vec<String> = Vec::new();
    let mut bytes = Vec::new();
    let t0 = std::time::Instant::now();
    while seen.len() < n {
        assert!(
            t0.elapsed() < shufflecast::testkit::PATIENCE,
            "{playlist}: {} segments in 120 s",
            seen.len()
        );
        let body = text(c, &format!("{base}{playlist}")).await;
        let dir = playlist.rsplit_once('/').map_or("", |(d, _)| d);
        for uri in body
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            if seen.iter().any(|s| s == uri) {
                continue;
            }
            let seg = c.get(format!("{base}{dir}/{uri}")).send().await.unwrap();
            assert_eq!(seg.status(), 200, "{uri}");
            bytes.extend_from_slice(&seg.bytes().await.unwrap());
            seen.push(uri.to_string());
        }
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    std::fs::write(out, bytes).unwrap();
}

/// Every clip's source file name of `slug`'s chunks, through `/api/chunks/{id}`.
async fn sources(c: &Client, s: &TestServer, slug: &str) -> BTreeSet<String> {
    let list = get_json(c, &s.url(&format!("/api/chunks?channel={slug}&limit=100"))).await;
    let mut out = BTreeSet::new();
    for chunk in list["chunks"].as_array().unwrap() {
        let id = chunk["id"].as_str().unwrap();
        let d = get_json(c, &s.url(&format!("/api/chunks/{id}?channel={slug}"))).await;
        for clip in d["clip_list"].as_array().unwrap() {
            let src = clip["source"].as_str().unwrap();
            out.insert(
                Path::new(src)
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
            );
        }
    }
    out
}

fn channels_file(dir: &Path, body: &str) -> String {
    let f = dir.join("channels.toml");
    std::fs::write(&f, body).unwrap();
    f.to_string_lossy().into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_channels_air_their_own_sources_seamlessly_and_the_api_adds_edits_and_deletes_others()
{
    let _limit = crate::limit::fast(600);
    let dir = tempfile::tempdir().unwrap();
    let (a, b, m) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("music"),
    );
    for d in [&a, &b.join("trailers"), &m] {
        std::fs::create_dir_all(d).unwrap();
    }
    // Different encoders, containers and sizes.
    make_video(
        &a.join("a1.mp4"),
        "testsrc2=size=320x240:rate=25:duration=5",
    );
    make_video(
        &a.join("a2.mkv"),
        "smptebars=size=256x144:rate=30:duration=5",
    );
    make_video(
        &b.join("b1.mp4"),
        "rgbtestsrc=size=200x200:rate=24:duration=5",
    );
    make_video(
        &b.join("b2.mov"),
        "smptehdbars=size=320x180:rate=25:duration=5",
    );
    make_video(
        &b.join("trailers/t.mp4"),
        "testsrc=size=160x90:rate=25:duration=5",
    );
    make_tone(&m.join("tone.mp3"), 440, 30.0);
    let file = channels_file(
        dir.path(),
        &format!(
            r#"
[[channel]]
slug = "alpha"
name = "Alpha"
number = 2
videos = "{a}"
audio = "{m}"

[[channel]]
slug = "beta"
name = "Beta"
number = 3
videos = "{b}"
include = ["**/*.mp4"]
exclude = ["**/trailers/**"]

[[channel]]
slug = "both"
name = "Both"
number = 4
videos = ["{a}", "{b}"]
"#,
            a = a.display(),
            b = b.display(),
            m = m.display()
        ),
    );
    let args = super::channels_args(&file);
    let s = TestServer::start(dir.path(), &args).await;
    let c = Client::new();

    // The guide: every channel, by number; the file's first is the default.
    let list = get_json(&c, &s.url("/api/channels")).await;
    let slugs: Vec<&str> = list["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|ch| ch["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["alpha", "beta", "both"], "{list}");
    assert_eq!(list["default"], "alpha");
    assert_eq!(list["channels"][1]["origin"], "file");
    assert_eq!(list["channels"][1]["editable"], false);

    // Each channel airs, seamlessly, in segments an independent reader decodes.
    for slug in ["alpha", "beta", "both"] {
        s.wait_200(
            &format!("/hls/{slug}/stream.m3u8"),
            shufflecast::testkit::PATIENCE,
        )
        .await;
    }
    for slug in ["alpha", "beta", "both"] {
        let out = dir.path().join(format!("{slug}.ts"));
        capture(&c, &s.url(""), &format!("/hls/{slug}/stream.m3u8"), 4, &out).await;
        let (frames, errors) = decode(&out);
        assert!(
            frames > 0 && errors.trim().is_empty(),
            "{slug}: {frames} frames, {errors}"
        );
        let (video, audio) = timestamp_steps(&out);
        let v: BTreeSet<i64> = video.iter().copied().collect();
        assert_eq!(v.len(), 1, "{slug}: video DTS steps {v:?}");
        assert!(
            audio.iter().all(|d| (1900..=1940).contains(d)),
            "{slug}: audio steps {audio:?}"
        );
    }
    // The default channel is also at the original URL.
    s.wait_200("/hls/stream.m3u8", Duration::from_secs(10))
        .await;

    // Each clip's source lies inside its channel's sources and patterns.
    until(
        "every channel has cut clips",
        shufflecast::testkit::PATIENCE,
        async || {
            let mut all = true;
            for slug in ["alpha", "beta", "both"] {
                all &= !sources(&c, &s, slug).await.is_empty();
            }
            all
        },
    )
    .await;
    let alpha = sources(&c, &s, "alpha").await;
    let beta = sources(&c, &s, "beta").await;
    let both = sources(&c, &s, "both").await;
    assert!(
        alpha.is_subset(&["a1.mp4", "a2.mkv"].map(String::from).into()),
        "{alpha:?}"
    );
    assert_eq!(
        beta,
        ["b1.mp4".to_string()].into(),
        "only the mp4 outside trailers"
    );
    let all: BTreeSet<String> = ["a1.mp4", "a2.mkv", "b1.mp4", "b2.mov", "t.mp4"]
        .map(String::from)
        .into();
    assert!(both.is_subset(&all), "{both:?}");
    // Each channel's library is what its sources and patterns hold (its LRU order
    // and ranges are its own: see library::tests).
    let lib = |slug: &str| {
        let (c, url) = (c.clone(), s.url(&format!("/api/library?channel={slug}")));
        async move { get_json(&c, &url).await }
    };
    assert_eq!(lib("beta").await["counts"]["usable"], 1);
    assert_eq!(lib("both").await["counts"]["usable"], 5);
    assert_eq!(lib("alpha").await["counts"]["usable"], 2);

    // A file channel refuses edits.
    let admin = |m: Method, path: &str, body: Option<Value>| {
        let (c, url) = (c.clone(), s.url(path));
        async move {
            let body = body.map(|b| b.to_string());
            call(&c, m, &url, Some(TOKEN), body.as_deref(), None).await
        }
    };
    let (st, v) = admin(
        Method::PUT,
        "/api/channels/beta",
        Some(json!({"name": "B", "number": 3})),
    )
    .await;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");
    assert!(
        v["error"].as_str().unwrap().contains("channels.toml"),
        "{v}"
    );
    // A new channel: a wrong value is named, a taken number too.
    let (st, v) = admin(
        Method::POST,
        "/api/channels",
        Some(json!({"slug": "gamma", "name": "Gamma", "number": 9, "videos": [a], "clip_min": 0})),
    )
    .await;
    assert_eq!(
        (st, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("clip_min")),
        "{v}"
    );
    let (st, v) = admin(
        Method::POST,
        "/api/channels",
        Some(json!({"slug": "gamma", "name": "Gamma", "number": 3, "videos": [a]})),
    )
    .await;
    assert_eq!(
        (st, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("number")),
        "{v}"
    );
    let (st, v) = admin(Method::POST, "/api/channels", None).await;
    assert!(st.is_client_error(), "{v}");
    let unauth = call(
        &c,
        Method::POST,
        &s.url("/api/channels"),
        None,
        Some("{}"),
        None,
    )
    .await;
    assert_eq!(unauth.0, StatusCode::UNAUTHORIZED);
    let before = text(&c, &s.url("/hls/alpha/stream.m3u8")).await;
    let (st, v) = admin(
        Method::POST,
        "/api/channels",
        Some(json!({"slug": "gamma", "name": "Gamma", "number": 9, "videos": [a], "clip_min": 4, "clip_max": 4})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(v["editable"], true);
    s.wait_200("/hls/gamma/stream.m3u8", shufflecast::testkit::PATIENCE)
        .await;
    let (st, v) = admin(
        Method::PUT,
        "/api/channels/gamma",
        Some(json!({"name": "Gamma Two", "number": 9, "videos": [a], "color_grade": "warm"})),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["name"], "Gamma Two");
    assert_eq!(v["definition"]["color_grade"], "warm");
    let m3u = text(&c, &s.url("/iptv.m3u")).await;
    assert!(
        m3u.contains("tvg-name=\"Gamma Two\"") && m3u.contains("tvg-chno=\"9\""),
        "{m3u}"
    );
    let (st, _) = admin(Method::DELETE, "/api/channels/gamma", None).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let gone = c.get(s.url("/hls/gamma/stream.m3u8")).send().await.unwrap();
    assert_eq!(gone.status(), 404);
    assert!(
        !shufflecast::station::channel_dir(&dir.path().join("data"), "gamma").exists(),
        "its chunks and segments are gone"
    );
    // The others aired on, with no discontinuity.
    let out = dir.path().join("alpha-after.ts");
    capture(&c, &s.url(""), "/hls/alpha/stream.m3u8", 3, &out).await;
    let after = text(&c, &s.url("/hls/alpha/stream.m3u8")).await;
    assert!(
        !after.contains("#EXT-X-DISCONTINUITY\n") || before.contains("#EXT-X-DISCONTINUITY\n"),
        "{after}"
    );
    let (video, _) = timestamp_steps(&out);
    assert_eq!(
        video.iter().copied().collect::<BTreeSet<_>>().len(),
        1,
        "{video:?}"
    );
    // A restart: each channel's stream goes on from where it stopped.
    let mut last = Vec::new();
    for slug in ["alpha", "beta", "both"] {
        let p = text(&c, &s.url(&format!("/hls/{slug}/stream.m3u8"))).await;
        last.push((slug, sequence(&p) + segments(&p) - 1));
    }
    s.stop().await;
    let s = TestServer::start(dir.path(), &args).await;
    for (slug, was) in last {
        let url = format!("/hls/{slug}/stream.m3u8");
        s.wait_200(&url, shufflecast::testkit::PATIENCE).await;
        let p = text(&c, &s.url(&url)).await;
        assert!(sequence(&p) > was, "{slug}: it goes on after {was}:\n{p}");
        assert!(
            p.contains("#EXT-X-DISCONTINUITY"),
            "{slug}: one discontinuity at the restart:\n{p}"
        );
    }
    s.stop().await;
}

fn sequence(playlist: &str) -> u64 {
    playlist
        .lines()
        .find_map(|l| l.strip_prefix("#EXT-X-MEDIA-SEQUENCE:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no media sequence in {playlist}"))
}

fn segments(playlist: &str) -> u64 {
    playlist
        .lines()
        .filter(|l| l.starts_with("#EXTINF"))
        .count() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_budget_of_every_channel_together_evicts_the_chunk_aired_longest_ago() {
    let _limit = crate::limit::fast(600);
    let dir = tempfile::tempdir().unwrap();
    let v = dir.path().join("v");
    std::fs::create_dir_all(&v).unwrap();
    make_video(&v.join("a.mp4"), "testsrc2=size=320x240:rate=25:duration=6");
    make_video(
        &v.join("b.mkv"),
        "smptebars=size=256x144:rate=30:duration=6",
    );
    let file = channels_file(
        dir.path(),
        &format!(
            "[[channel]]\nslug = \"one\"\nname = \"One\"\nnumber = 1\nvideos = \"{v}\"\n\n\
             [[channel]]\nslug = \"two\"\nname = \"Two\"\nnumber = 2\nvideos = \"{v}\"\n",
            v = v.display()
        ),
    );
    // Chunks of one 2 s clip: each airs in 2 s, so aired chunks pile up quickly.
    let args = [
        "--admin-token",
        TOKEN,
        "--channels",
        &file,
        "--width",
        "320",
        "--height",
        "180",
        "--chunk-duration",
        "2",
        "--clip-min",
        "2",
        "--clip-max",
        "2",
        "--ready-chunks",
        "2",
        "--max-chunks",
        "100",
        "--total-disk-budget",
        "1M",
    ];
    let s = TestServer::start(dir.path(), &args).await;
    let c = Client::new();
    let stat = |slug: &'static str, path: &'static str| {
        let (c, url) = (
            c.clone(),
            s.url(&format!("{path}?channel={slug}&limit=100")),
        );
        async move { get_json(&c, &url).await }
    };
    until(
        "chunks aired on both channels",
        shufflecast::testkit::PATIENCE,
        async || {
            let n = async |slug| stat(slug, "/api/stats").await["chunks_aired"].as_u64();
            n("one").await.unwrap_or(0) >= 4 && n("two").await.unwrap_or(0) >= 4
        },
    )
    .await;
    // Over a budget of 1 MB (less than a few chunks), every aired chunk goes but
    // the one on air, the one before it (its last frames may still be airing)
    // and one aired since the last check, on either channel: the once-a-second
    // budget task gets there.
    let aired = async |slug| {
        let list = stat(slug, "/api/chunks").await;
        list["chunks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|k| k["times_aired"].as_u64().unwrap() > 0)
            .count()
    };
    until(
        "the budget to evict aired chunks",
        shufflecast::testkit::PATIENCE,
        async || aired("one").await <= 3 && aired("two").await <= 3,
    )
    .await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mistake_in_the_channels_file_stops_the_start_naming_file_line_channel_and_key() {
    let _limit = crate::limit::fast(600);
    let dir = tempfile::tempdir().unwrap();
    let videos = dir.path().join("v");
    std::fs::create_dir_all(&videos).unwrap();
    let file = channels_file(
        dir.path(),
        &format!(
            "[[channel]]\nslug = \"news\"\nname = \"News\"\nnumber = 1\nvideos = \"{}\"\nclip_min = \"soon\"\n",
            videos.display()
        ),
    );
    let config = shufflecast::testkit::server::config(dir.path(), &["--channels", &file]);
    let e = shufflecast::app::App::build(config, Default::default())
        .await
        .err()
        .expect("the file is refused");
    let msg = e.to_string();
    assert!(msg.contains("channels.toml:6"), "{msg}");
    assert!(msg.contains("news") && msg.contains("clip_min"), "{msg}");
}
