//! The programme guide as JSON (`/api/guide`), which the web client's guide view
//! draws: every channel, its programmes from the one on air on, their clips.

use std::time::Duration;

use reqwest::{Client, StatusCode};
use serde_json::Value;
use shufflecast::testkit::http::{json, text};
use shufflecast::testkit::until;

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// The programmes are the XMLTV guide's (the same prediction), from the one on
/// air, back to back; each is titled as people read it and lists its clips as
/// `/api/chunks/{id}` does; `hours` and `limit` bound them, and are checked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guide_lists_each_channels_programmes_from_the_one_on_air_with_their_clips() {
    let dir = tempfile::tempdir().unwrap();
    let s = super::on_air(dir.path(), &[]).await;
    let c = Client::new();
    until("two ready chunks", Duration::from_secs(150), async || {
        let l = json(&c, &s.url("/api/chunks?limit=100")).await;
        l["chunks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["state"] == "ready")
            .count()
            >= 2
    })
    .await;

    let g = json(&c, &s.url("/api/guide")).await;
    assert_eq!(num(&g["hours"]), 3.0);
    assert_eq!(g["default"], "main");
    let now = num(&g["now"]);
    let channels = g["channels"].as_array().unwrap();
    assert_eq!(channels.len(), 1, "{g}");
    let ch = &channels[0];
    assert_eq!(ch["slug"], "main");
    assert_eq!(ch["stream"], "/hls/main/stream.m3u8");
    assert_eq!(ch["default"], true);
    let progs = ch["programmes"].as_array().unwrap();
    // Chunks of 12 s re-air for ever: 3 hours is more than the 300 listed.
    assert_eq!(progs.len(), 300, "{}", progs.len());
    let first = &progs[0];
    assert_eq!(first["on_air"], true, "{first}");
    assert!(
        num(&first["start"]) <= now && num(&first["stop"]) > now - 4.0,
        "the first programme is on air at {now}: {first}"
    );
    assert!(progs[1..].iter().all(|p| p["on_air"] == false));
    for w in progs.windows(2) {
        let (stop, start) = (num(&w[0]["stop"]), num(&w[1]["start"]));
        assert!(
            (start - stop).abs() < 1e-3 || (w[0] == *first && start >= stop),
            "a gap or an overlap: {} then {}",
            w[0],
            w[1]
        );
        assert!(num(&w[1]["stop"]) > start);
    }
    // Each programme as `/api/chunks/{id}` describes its chunk: its title, its
    // strip, its clips and their pictures.
    let mut seen = std::collections::HashSet::new();
    let mut pictures = Vec::new();
    let mut strips = 0;
    for p in progs {
        let id = p["chunk"].as_str().expect("a chunk, not the slate");
        if !seen.insert(id.to_string()) {
            continue;
        }
        let d = json(&c, &s.url(&format!("/api/chunks/{id}"))).await;
        assert_eq!(p["title"], d["title"], "the chunk's own title");
        let titles: Vec<&str> = d["titles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        assert_eq!(
            p["title"].as_str(),
            shufflecast::schedule::human_title(titles).as_deref()
        );
        // The strip is made once the chunk is complete: it may come between the
        // two answers, never go.
        if p["thumbnail"].is_string() {
            assert_eq!(p["thumbnail"], d["thumbnail"], "{p}");
            strips += 1;
        }
        pictures.extend(p["thumbnail"].as_str().map(str::to_string));
        let clips = p["clips"].as_array().unwrap();
        let list = d["clip_list"].as_array().unwrap();
        assert_eq!(clips.len(), list.len(), "{p}");
        for (k, r) in clips.iter().zip(list) {
            assert_eq!(k["index"], r["index"]);
            assert_eq!(k["title"], r["title"]);
            assert_eq!(k["creator"], r["creator"]);
            assert_eq!(k["duration"], r["duration"]);
            assert_eq!(k["thumbnail"], r["thumbnail"]);
            let t = k["thumbnail"].as_str().unwrap_or_else(|| panic!("{k}"));
            pictures.push(t.to_string());
        }
        let secs: f64 = clips.iter().map(|k| num(&k["duration"])).sum();
        assert!(
            (secs - (num(&p["stop"]) - num(&p["start"]))).abs() < 0.5,
            "the clips fill the programme: {p}"
        );
    }
    assert!(seen.len() >= 2, "{seen:?}");
    assert!(strips >= 1, "no programme with its strip");
    for t in &pictures {
        assert!(t.starts_with("/thumbs/main/"), "{t}");
        let r = c.get(s.url(t)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{t}");
        assert_eq!(r.headers()["content-type"], "image/jpeg", "{t}");
    }

    // The same prediction as the XMLTV guide's (asked again if a chunk ended
    // between the two answers).
    let mut same = false;
    for _ in 0..5 {
        let ids = |g: &Value| -> Vec<String> {
            g["channels"][0]["programmes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["chunk"].as_str().unwrap().to_string())
                .collect()
        };
        let before = ids(&json(&c, &s.url("/api/guide?hours=1")).await);
        let xml = text(&c, &s.url("/epg.xml")).await;
        let after = ids(&json(&c, &s.url("/api/guide?hours=1")).await);
        if before.first() != after.first() {
            continue;
        }
        let xmltv: Vec<String> = xml
            .split("<episode-num system=\"shufflecast-chunk\">")
            .skip(1)
            .map(|r| r.split('<').next().unwrap().to_string())
            .collect();
        assert!(xmltv.len() >= 2, "{xml}");
        assert_eq!(after[..xmltv.len()], xmltv[..], "the guide is the XMLTV's");
        same = true;
        break;
    }
    assert!(same, "the programme on air changed at every try");

    // A short span: the programmes up to the first that starts after it.
    let g = json(&c, &s.url("/api/guide?hours=0.01")).await;
    let progs = g["channels"][0]["programmes"].as_array().unwrap();
    let (from, until_) = (num(&g["now"]) - 4.0, num(&g["now"]) + 36.0);
    assert!(progs.len() >= 3, "{g}");
    assert!(num(&progs[progs.len() - 1]["stop"]) >= until_ - 4.0, "{g}");
    assert!(progs.iter().all(|p| num(&p["start"]) < until_), "{g}");
    assert!(num(&progs[0]["stop"]) > from);
    let g = json(&c, &s.url("/api/guide?limit=2")).await;
    assert_eq!(g["channels"][0]["programmes"].as_array().unwrap().len(), 2);

    for (q, status, field) in [
        ("hours=0", StatusCode::UNPROCESSABLE_ENTITY, Some("hours")),
        ("hours=25", StatusCode::UNPROCESSABLE_ENTITY, Some("hours")),
        ("hours=NaN", StatusCode::UNPROCESSABLE_ENTITY, Some("hours")),
        ("limit=0", StatusCode::UNPROCESSABLE_ENTITY, Some("limit")),
        ("limit=301", StatusCode::UNPROCESSABLE_ENTITY, Some("limit")),
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
