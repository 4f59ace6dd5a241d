//! The programme guide: `/api/guide` (the web client's) and `/epg.xml` (the apps')
//! list the same grid of programmes, whose times are promises kept across skips,
//! play next, generation, settings changes and restarts, and whose titles say what
//! is known to air in them.

use std::io::Write as _;
use std::time::{Duration, SystemTime};

use reqwest::{Client, Method, StatusCode};
use serde_json::Value;
use shufflecast::testkit::guide::{assert_grid, assert_promises_kept, programmes};
use shufflecast::testkit::http::{call, json, text};
use shufflecast::testkit::server::TestServer;
use shufflecast::testkit::until;

use super::TOKEN;
use super::iptv::validate_xmltv;

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The programme of `progs` (the JSON guide's) that holds `t`.
fn holding(progs: &[Value], t: f64) -> &Value {
    progs
        .iter()
        .find(|p| num(&p["start"]) <= t && t < num(&p["stop"]))
        .unwrap_or_else(|| panic!("no programme holds {t}: {progs:?}"))
}

/// Waits until `slug`'s channel has `n` ready chunks.
async fn ready_chunks(c: &Client, s: &TestServer, slug: &str, n: usize) {
    until(
        &format!("{n} ready chunks on {slug}"),
        shufflecast::testkit::PATIENCE,
        async || {
            let l = json(c, &s.url(&format!("/api/chunks?limit=100&channel={slug}"))).await;
            l["chunks"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|c| c["state"] == "ready")
                .count()
                >= n
        },
    )
    .await;
}

/// The clip on air on `slug` (`chunk/index`) lies within the programme the guide
/// gives for that moment, and that programme, known, lists it.
async fn what_airs_belongs_to_its_programme(c: &Client, s: &TestServer, slug: &str) {
    for _ in 0..5 {
        let status = json(c, &s.url(&format!("/api/stream-status?channel={slug}"))).await;
        let g = json(c, &s.url("/api/guide?hours=1")).await;
        let at = num(&g["now"]);
        let ch = g["channels"]
            .as_array()
            .unwrap()
            .iter()
            .find(|ch| ch["slug"] == slug)
            .unwrap();
        let progs = ch["programmes"].as_array().unwrap();
        let Some(id) = status["clip"]["id"].as_str() else {
            panic!("nothing on air on {slug}: {status}")
        };
        // The status and the guide are two requests: near a boundary the clip may be
        // the previous programme's last.
        let p = holding(progs, at);
        let listed = |p: &Value| {
            p["clips"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| format!("{}/{}", k["chunk"].as_str().unwrap_or(""), k["index"]) == id)
        };
        // The programme a moment before, when it is still listed: the guide
        // lists from the programme holding now, so within seconds after a
        // boundary the one before is gone.
        let before = progs
            .iter()
            .find(|p| num(&p["start"]) <= at - 4.0 && at - 4.0 < num(&p["stop"]));
        assert!(
            listed(p) || before.is_some_and(listed),
            "the clip on air {id} is not in the programme of {at}: {p}"
        );
        assert_eq!(p["known"], true, "{p}");
        let title = status["clip"]["title"].as_str().unwrap();
        let names = |p: &Value| p["description"].as_str().unwrap().contains(title);
        assert!(
            names(p) || before.is_some_and(names),
            "the description names {title}: {p}"
        );
        let wait = 1 + (now() % 4) as u64;
        tokio::time::sleep(Duration::from_secs(wait)).await;
    }
}

/// The grid of 5-minute programmes, three hours of it in JSON; the one on air
/// known and titled by its clips, those far ahead by the channel; the same
/// programmes in XMLTV (validated, gzipped when asked); `hours` and `limit`
/// checked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guide_is_a_grid_of_programmes_that_names_what_is_known() {
    let _limit = crate::limit::fast(600);
    let dir = tempfile::tempdir().unwrap();
    let s = super::on_air(dir.path(), &["--programme-minutes", "5"]).await;
    let c = Client::new();
    ready_chunks(&c, &s, "main", 2).await;

    let g = json(&c, &s.url("/api/guide")).await;
    assert_eq!(num(&g["hours"]), 3.0);
    let at = num(&g["now"]);
    let ch = &g["channels"][0];
    assert_eq!(ch["slug"], "main");
    let progs = ch["programmes"].as_array().unwrap();
    assert!((36..=38).contains(&progs.len()), "{}", progs.len());
    assert_eq!(progs[0]["on_air"], true, "{}", progs[0]);
    assert!(num(&progs[0]["start"]) <= at && at < num(&progs[0]["stop"]));
    for w in progs.windows(2) {
        assert_eq!(
            num(&w[0]["stop"]),
            num(&w[1]["start"]),
            "{} then {}",
            w[0],
            w[1]
        );
        assert_eq!(num(&w[1]["stop"]) - num(&w[1]["start"]), 300.0, "{}", w[1]);
    }
    // The one on air: its clips, titled by them, each with a picture.
    let first = &progs[0];
    assert_eq!(first["known"], true, "{first}");
    let clips = first["clips"].as_array().unwrap();
    let titles: Vec<&str> = clips.iter().map(|k| k["title"].as_str().unwrap()).collect();
    assert_eq!(
        first["title"].as_str(),
        shufflecast::schedule::human_title(titles.iter().copied()).as_deref()
    );
    for t in &titles {
        assert!(
            first["description"].as_str().unwrap().contains(t),
            "{first}"
        );
    }
    for w in clips.windows(2) {
        let end = num(&w[0]["start"]) + num(&w[0]["duration"]);
        assert!(
            (end - num(&w[1]["start"])).abs() < 1e-3,
            "back to back: {w:?}"
        );
    }
    for k in clips.iter().filter_map(|k| k["thumbnail"].as_str()).take(3) {
        let r = c.get(s.url(k)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{k}");
        assert_eq!(r.headers()["content-type"], "image/jpeg", "{k}");
    }
    // Far ahead nothing is made yet: the channel's title and description.
    let far = progs.last().unwrap();
    assert_eq!(far["known"], false, "{far}");
    assert_eq!(far["title"], "shufflecast", "{far}");
    assert!(
        far["description"]
            .as_str()
            .unwrap()
            .contains("demo library"),
        "{far}"
    );
    assert_eq!(far["thumbnail"], ch["logo"], "{far}");
    what_airs_belongs_to_its_programme(&c, &s, "main").await;
    // The channel list names the programme on air and the next one as the guide does.
    let list = json(&c, &s.url("/api/channels")).await;
    let info = &list["channels"][0];
    let g = json(&c, &s.url("/api/guide?hours=1")).await;
    let progs = g["channels"][0]["programmes"].as_array().unwrap();
    assert_eq!(info["programme"]["start"], progs[0]["start"], "{info}");
    assert_eq!(info["programme"]["stop"], progs[0]["stop"], "{info}");
    assert_eq!(info["next"], progs[1]["title"], "{info}");

    // The XMLTV guide: two days of the same programmes.
    let xml = text(&c, &s.url("/epg.xml")).await;
    validate_xmltv(dir.path(), &xml);
    assert_grid(&xml, now(), 48, &[5]);
    let listed = &programmes(&xml)["shufflecast.local"];
    for (p, x) in progs.iter().zip(listed) {
        assert_eq!(
            (num(&p["start"]) as i64, num(&p["stop"]) as i64),
            (x.start, x.stop)
        );
    }
    assert_eq!(listed.last().unwrap().title, "shufflecast");
    for tag in ["system=\"xmltv_ns\"", "system=\"onscreen\"", "<icon src="] {
        assert!(xml.contains(tag), "{tag}");
    }
    // The programme on air is known: new, or (a chunk aired before in it) shown before.
    assert!(
        xml.contains("<new/>") || xml.contains("<previously-shown/>"),
        "{xml}"
    );
    // Gzipped for a client that takes it: the same document.
    let r = c
        .get(s.url("/epg.xml"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-encoding"], "gzip");
    let gz = r.bytes().await.unwrap();
    assert!(
        gz.len() * 4 < xml.len(),
        "{} bytes gzipped of {}",
        gz.len(),
        xml.len()
    );
    let mut gunzip = std::process::Command::new("gzip")
        .arg("-dc")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    gunzip.stdin.take().unwrap().write_all(&gz).unwrap();
    let plain = String::from_utf8(gunzip.wait_with_output().unwrap().stdout).unwrap();
    assert!(
        plain.starts_with("<?xml") && plain.ends_with("</tv>\n"),
        "{plain}"
    );

    let g = json(&c, &s.url("/api/guide?limit=2")).await;
    assert_eq!(g["channels"][0]["programmes"].as_array().unwrap().len(), 2);
    for (q, status, field) in [
        ("hours=0", StatusCode::UNPROCESSABLE_ENTITY, Some("hours")),
        ("hours=49", StatusCode::UNPROCESSABLE_ENTITY, Some("hours")),
        ("hours=NaN", StatusCode::UNPROCESSABLE_ENTITY, Some("hours")),
        ("limit=0", StatusCode::UNPROCESSABLE_ENTITY, Some("limit")),
        (
            "limit=1001",
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("limit"),
        ),
        ("hours=three", StatusCode::BAD_REQUEST, None),
    ] {
        let r = c
            .get(s.url(&format!("/api/guide?{q}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status, "{q}");
        let body: Value = r.json().await.unwrap();
        assert!(body["error"].is_string(), "{q}: {body}");
        if let Some(f) = field {
            assert_eq!(body["field"], f, "{q}: {body}");
        }
    }
    s.stop().await;
}

/// Three channels; the guide fetched after each of: a skip, a chunk played next,
/// a generation, a change of the programme length, a graceful restart. Every
/// programme an app stored keeps its start and stop; every channel's programmes
/// run back to back for two days on the grid; the guide validates each time.
/// (A kill -9 is `it::restart`'s.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guides_times_are_kept_across_skips_play_next_generation_settings_and_a_restart() {
    let _limit = crate::limit::fast(600);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("channels.toml");
    std::fs::write(
        &file,
        "[[channel]]\nslug = \"alpha\"\nname = \"Alpha\"\nnumber = 2\nprogramme_minutes = 5\n\n\
         [[channel]]\nslug = \"beta\"\nname = \"Beta\"\nnumber = 3\n\n\
         [[channel]]\nslug = \"gamma\"\nname = \"Gamma\"\nnumber = 4\nprogramme_minutes = 60\n\
         programme_title = \"Gamma mix\"\n",
    )
    .unwrap();
    let file = file.display().to_string();
    let args = super::channels_args(&file);
    let s = TestServer::start(dir.path(), &args).await;
    let c = Client::new();
    for slug in ["alpha", "beta", "gamma"] {
        s.wait_200(
            &format!("/hls/{slug}/stream.m3u8"),
            shufflecast::testkit::PATIENCE,
        )
        .await;
    }
    let mut before = text(&c, &s.url("/epg.xml")).await;
    let mut lengths = vec![5, 30, 60];
    let check = |xml: &str, before: &str, what: &str, lengths: &[u32]| {
        validate_xmltv(dir.path(), xml);
        assert_grid(xml, now(), 48, lengths);
        assert_promises_kept(before, xml, now(), what);
    };
    check(&before, &before, "the first guide", &lengths);
    assert!(before.contains("<title lang=\"en\">Gamma mix</title>"));
    let post = async |path: &str, body: Option<&str>| {
        call(&c, Method::POST, &s.url(path), Some(TOKEN), body, None).await
    };

    let (st, _) = post("/api/skip_to_next?channel=alpha", None).await;
    assert!(st.is_success(), "{st}");
    let after = text(&c, &s.url("/epg.xml")).await;
    check(&after, &before, "a skip", &lengths);
    before = after;

    ready_chunks(&c, &s, "alpha", 2).await;
    let chunks = json(&c, &s.url("/api/chunks?limit=100&channel=alpha")).await;
    let target = chunks["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["state"] == "ready")
        .map(|k| k["id"].as_str().unwrap().to_string())
        .next_back()
        .unwrap();
    let (st, _) = post(
        "/api/play_chunk?channel=alpha",
        Some(&format!(r#"{{"chunk_name": "{target}"}}"#)),
    )
    .await;
    assert_eq!(st, StatusCode::ACCEPTED);
    let after = text(&c, &s.url("/epg.xml")).await;
    check(&after, &before, "a chunk played next", &lengths);
    before = after;

    let (st, _) = post("/api/generate_chunk?channel=beta", None).await;
    assert!(st.is_success(), "{st}");
    let after = text(&c, &s.url("/epg.xml")).await;
    check(&after, &before, "a generation", &lengths);
    before = after;
    what_airs_belongs_to_its_programme(&c, &s, "alpha").await;

    // Another programme length for every channel that does not set its own: the
    // programmes listed keep theirs, those listed later follow it.
    let (st, v) = call(
        &c,
        Method::PUT,
        &s.url("/api/settings"),
        Some(TOKEN),
        Some(r#"{"programme_minutes": 20}"#),
        None,
    )
    .await;
    assert!(st.is_success(), "{st}: {v}");
    lengths.push(20);
    let after = text(&c, &s.url("/epg.xml")).await;
    check(&after, &before, "a settings change", &lengths);
    before = after;

    s.stop().await;
    let s = TestServer::start(dir.path(), &args).await;
    s.wait_200("/hls/alpha/stream.m3u8", shufflecast::testkit::PATIENCE)
        .await;
    let after = text(&c, &s.url("/epg.xml")).await;
    check(&after, &before, "a graceful restart", &lengths);
    s.stop().await;
}
