//! Fresh air where people watch: sixty channels over one folder share one
//! encoder. Three have players from the start and air nothing twice; a fourth,
//! unwatched, gets a player and airs fresh clips within a minute; the others keep
//! airing on re-runs; no channel airs the slate after its first clip.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use reqwest::Client;
use serde_json::Value;
use shufflecast::testkit::http::{json, until};
use shufflecast::testkit::media::{make_long_sources, make_video_with};
use shufflecast::testkit::server::TestServer;
use tokio_util::sync::CancellationToken;

use crate::harness;

const CHANNELS: usize = 60;
const WATCHED: [&str; 3] = ["c00", "c01", "c02"];
/// Unwatched until the middle of the test.
const LATE: &str = "c03";

fn slug(i: usize) -> String {
    format!("c{i:02}")
}

/// A player of `slug`'s HLS stream: the playlist and its newest segment every
/// two seconds, as `player-<slug>`, until `stop`.
fn play(base: String, slug: &str, stop: CancellationToken) -> tokio::task::JoinHandle<()> {
    let slug = slug.to_string();
    tokio::spawn(async move {
        let c = Client::new();
        let agent = format!("player-{slug}");
        while !stop.is_cancelled() {
            let get = |url: String| c.get(url).header("user-agent", &agent).send();
            if let Ok(r) = get(format!("{base}/hls/{slug}/stream.m3u8")).await
                && let Ok(text) = r.text().await
            {
                let (_, _, items) = harness::parse_playlist(&text);
                if let Some((uri, _, _)) = items.last() {
                    let url = if uri.starts_with('/') {
                        format!("{base}{uri}")
                    } else {
                        format!("{base}/hls/{slug}/{uri}")
                    };
                    if let Ok(r) = get(url).await {
                        let _ = r.bytes().await;
                    }
                }
            }
            tokio::select! {
                _ = stop.cancelled() => {}
                _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            }
        }
    })
}

/// Every channel's status, by slug.
async fn statuses(c: &Client, s: &TestServer) -> HashMap<String, Value> {
    let mut out = HashMap::new();
    for i in 0..CHANNELS {
        let slug = slug(i);
        let v = json(c, &s.url(&format!("/api/status?channel={slug}"))).await;
        out.insert(slug, v);
    }
    out
}

/// How many times each of `slug`'s chunks aired, by id.
async fn times_aired(c: &Client, s: &TestServer, slug: &str) -> HashMap<String, u64> {
    let list = json(c, &s.url(&format!("/api/chunks?channel={slug}&limit=100"))).await;
    list["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_string(),
                c["times_aired"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn secs(v: &Value, key: &str) -> f64 {
    v["air"][key]
        .as_f64()
        .unwrap_or_else(|| panic!("air.{key} in {v}"))
}

fn count(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("{key} in {v}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_channels_one_encoder_the_watched_air_nothing_twice_and_a_new_viewer_gets_fresh_air_within_a_minute()
 {
    let Some(limit) = crate::limit::slow(900) else {
        return;
    };
    // One encoder busy the whole time: never beside the other heavy scenarios.
    let _cpu = harness::exclusive(&limit).await;
    let dir = tempfile::tempdir().unwrap();
    let videos = dir.path().join("videos");
    make_long_sources(&videos);
    // Another encoder's file, portrait and rotated, at another frame rate.
    make_video_with(
        &videos.join("portrait.mov"),
        "smptebars=size=240x320:rate=30",
        &["-t", "30", "-metadata:s:v:0", "rotate=90"],
    );
    let mut file = String::new();
    for i in 0..CHANNELS {
        file += &format!(
            "[[channel]]\nslug = \"{s}\"\nname = \"Channel {i}\"\nnumber = {n}\nvideos = \"{v}\"\n\n",
            s = slug(i),
            n = i + 1,
            v = videos.display()
        );
    }
    let channels = dir.path().join("channels.toml");
    std::fs::write(&channels, file).unwrap();
    let channels = channels.display().to_string();
    // 8 s clips in chunks of three, one chunk kept ready, one encoder for all.
    let args = [
        "--channels",
        &channels,
        "--width",
        "320",
        "--height",
        "180",
        "--fps",
        "15",
        "--chunk-duration",
        "24",
        "--clip-min",
        "8",
        "--clip-max",
        "8",
        "--ready-chunks",
        "1",
        "--generator-jobs",
        "1",
    ];
    let s = TestServer::start(dir.path(), &args).await;
    let stop = CancellationToken::new();
    let mut players: Vec<_> = WATCHED
        .iter()
        .map(|w| play(s.base.clone(), w, stop.clone()))
        .collect();
    let c = Client::new();

    // Every channel airs a clip: the watched ones first, then the rest.
    let t0 = Instant::now();
    until(
        "every channel to air a clip",
        Duration::from_secs(300),
        async || {
            let all = statuses(&c, &s).await;
            all.values()
                .all(|v| secs(v, "aired_fresh_secs") + secs(v, "aired_rerun_secs") > 0.0)
        },
    )
    .await;
    eprintln!("every channel aired a clip after {:?}", t0.elapsed());

    // A minute of the encoder following the three watched channels.
    tokio::time::sleep(Duration::from_secs(60)).await;
    let before = statuses(&c, &s).await;
    let mut aired_before = HashMap::new();
    for w in WATCHED {
        aired_before.insert(w, times_aired(&c, &s, w).await);
    }
    let rerun_unwatched: f64 = before
        .iter()
        .filter(|(k, _)| !WATCHED.contains(&k.as_str()))
        .map(|(_, v)| secs(v, "aired_rerun_secs"))
        .sum();
    assert!(
        rerun_unwatched > 0.0,
        "one encoder cannot keep sixty channels fresh: the unwatched re-air"
    );

    // A viewer tunes to a channel nobody watched: fresh air within a minute, two
    // clips of it in a row with no re-run between.
    players.push(play(s.base.clone(), LATE, stop.clone()));
    let tuned = Instant::now();
    let mut seen: Vec<(Instant, f64, f64)> = Vec::new();
    until(
        "the newly watched channel to air fresh clips only",
        Duration::from_secs(60),
        async || {
            let v = json(&c, &s.url(&format!("/api/status?channel={LATE}"))).await;
            let now = (
                Instant::now(),
                secs(&v, "aired_fresh_secs"),
                secs(&v, "aired_rerun_secs"),
            );
            seen.push(now);
            seen.iter().any(|(t, fresh, rerun)| {
                now.0.duration_since(*t) >= Duration::from_secs(16)
                    && now.2 == *rerun
                    && now.1 - fresh >= 12.0
            })
        },
    )
    .await;
    eprintln!(
        "{LATE} aired fresh only {:?} after its viewer came",
        tuned.elapsed()
    );

    let after = statuses(&c, &s).await;
    let share = |watched: bool| {
        let (fresh, rerun) = after
            .iter()
            .filter(|(k, _)| WATCHED.contains(&k.as_str()) == watched)
            .fold((0.0, 0.0), |(f, r), (_, v)| {
                (
                    f + secs(v, "aired_fresh_secs"),
                    r + secs(v, "aired_rerun_secs"),
                )
            });
        fresh / (fresh + rerun)
    };
    eprintln!(
        "fresh share of the air since start: watched {:.3}, the others {:.3}",
        share(true),
        share(false)
    );
    stop.cancel();
    for p in players {
        p.await.unwrap();
    }
    for (slug, v) in &after {
        assert_eq!(
            count(v, "underruns"),
            0,
            "{slug}: the slate after a clip: {v}"
        );
        assert!(
            count(v, "segments_published") > count(&before[slug], "segments_published"),
            "{slug} keeps airing"
        );
    }
    // Once every channel is on air (before it, the first clips of sixty channels
    // share the encoder, and a busy machine may not keep up), the watched air
    // nothing twice: no clip again, no chunk again.
    for w in WATCHED {
        let (b, v) = (&before[w], &after[w]);
        let key = "aired_rerun_secs";
        assert_eq!(secs(v, key), secs(b, key), "{w} aired something again: {v}");
        assert_eq!(count(v, "repeats"), count(b, "repeats"), "{w}: {v}");
        for (chunk, times) in times_aired(&c, &s, w).await {
            let was = aired_before[w].get(&chunk).copied().unwrap_or(0);
            assert!(
                times == was || (was == 0 && times == 1),
                "{w}: chunk {chunk} aired {was} times before, {times} after"
            );
        }
        assert!(v["viewers"]["players"].as_u64() >= Some(1), "{w}: {v}");
    }
    s.stop().await;
}
