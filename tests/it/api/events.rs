//! Server-sent events, skip and play next as the stream shows them, and the
//! guide's times against the chunks that air.

use std::time::{Duration, Instant, SystemTime};

use reqwest::{Client, Method, StatusCode};
use serde_json::Value;
use shufflecast::testkit::http::{call, json, text};
use shufflecast::testkit::until;

use super::TOKEN;
use crate::harness;

/// POSTs as the admin, from no particular origin.
async fn post(client: &Client, url: &str, body: Option<&str>) -> (StatusCode, Value) {
    call(client, Method::POST, url, Some(TOKEN), body, None).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skip_play_next_events_and_the_guide_follow_the_stream() {
    let _limit = crate::limit::fast(600);
    let dir = tempfile::tempdir().unwrap();
    let server = super::on_air(dir.path(), &[]).await;
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
    let playlist = text(&c, &format!("{b}/hls/stream.m3u8")).await;
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
        shufflecast::testkit::PATIENCE,
        async || {
            let on_air = json(&c, &format!("{b}/api/stream-status")).await["chunk"].clone();
            let list = json(&c, &format!("{b}/api/chunks?limit=100")).await;
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
    let status = json(&c, &format!("{b}/api/stream-status")).await;
    assert!(
        status["next_chunk"] == target.as_str() || status["chunk"] == target.as_str(),
        "{status}"
    );

    // The guide: a real XML parser, the XMLTV structure, and times that match.
    let xml = text(&c, &format!("{b}/epg.xml")).await;
    let doc = super::xmltv_doc(&xml);
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
    // The chunk asked for airs next: its first clip is named by the programme on
    // air or the one after.
    let asked = json(&c, &format!("{b}/api/chunks/{target}")).await;
    let first_title = asked["titles"][0].as_str().unwrap().to_string();
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
        if let Some(prev) = prev_stop {
            assert_eq!(start, prev, "programmes follow each other");
        }
        if i == 0 {
            assert!(
                start <= now + time::Duration::seconds(2)
                    && stop >= now - time::Duration::seconds(4),
                "the first is on air"
            );
        }
        let desc = p
            .children()
            .find(|n| n.has_tag_name("desc"))
            .and_then(|n| n.text())
            .unwrap_or("");
        if i <= 1 && desc.contains(&first_title) {
            asked_for_seen = true;
        }
        prev_stop = Some(stop);
    }
    assert!(
        asked_for_seen,
        "the chunk asked for is on air or next in the guide:\n{xml}"
    );
    drop(events);
    server.stop().await;
}
