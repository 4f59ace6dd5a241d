//! Benchmark: fresh air where people watch. 200 channels over one folder, 5 of
//! them with a simulated HLS player each, the encoders busy the whole time (every
//! channel keeps a chunk in the making: nothing is ever all made), for BENCH_SECS
//! (600) seconds after every channel has aired a clip.
//!
//! The whole server runs in process ([`TestServer`]): 320x180 at 25 fps, 2 s
//! segments, 4 s clips in 16 s chunks, one ready chunk a channel, 2 encode slots.
//! From two scrapes of /metrics around the phase: the share of aired time that was
//! fresh (aired for the first time) for the watched and the unwatched channels,
//! the slate after a first clip (underruns) and clips aired again for want of a
//! new one (repeats), segments published 100 ms late or more, the recorder's
//! transactions; and the server's CPU per channel (this process: ffmpeg's runs are
//! other processes, shown apart).
//!
//! Run: cargo bench --bench audience   (CHANNELS=…, WATCHED=…, BENCH_SECS=…,
//! SETUP_SECS=… change it; BENCH_DIR the folder of the sources and data)

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use shufflecast::testkit::media::make_long_sources;
use shufflecast::testkit::procfs::{cpu_seconds, machine_ticks};
use shufflecast::testkit::server::TestServer;
use tokio_util::sync::CancellationToken;

fn env_u64(k: &str, default: u64) -> u64 {
    std::env::var(k)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One scrape of /metrics: every sample by its name with labels.
struct Metrics(BTreeMap<String, f64>);

impl Metrics {
    async fn get(c: &reqwest::Client, s: &TestServer) -> Metrics {
        let body = c
            .get(s.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        Metrics(
            body.lines()
                .filter(|l| !l.starts_with('#'))
                .filter_map(|l| l.rsplit_once(' '))
                .filter_map(|(k, v)| Some((k.to_string(), v.parse().ok()?)))
                .collect(),
        )
    }

    fn get1(&self, key: &str) -> f64 {
        self.0.get(key).copied().unwrap_or(0.0)
    }

    /// `name` of channel `slug`, with `extra` labels after the channel's.
    fn of(&self, name: &str, slug: &str, extra: &str) -> f64 {
        self.get1(&format!("shufflecast_{name}{{channel=\"{slug}\"{extra}}}"))
    }

    /// The lateness histogram's count of segments at most `le` seconds late.
    fn within(&self, le: &str) -> f64 {
        self.get1(&format!(
            "shufflecast_segment_lateness_seconds_bucket{{le=\"{le}\"}}"
        ))
    }
}

/// A player of `slug`: its playlist and newest segment every 2 s, until `stop`.
fn play(base: String, slug: String, stop: CancellationToken) -> tokio::task::JoinHandle<u64> {
    tokio::spawn(async move {
        let c = reqwest::Client::new();
        let agent = format!("bench-player-{slug}");
        let mut errors = 0;
        while !stop.is_cancelled() {
            let get = |url: String| c.get(url).header("user-agent", &agent).send();
            match get(format!("{base}/hls/{slug}/stream.m3u8")).await {
                Ok(r) if r.status().is_success() => {
                    let text = r.text().await.unwrap_or_default();
                    if let Some(uri) = text.lines().rfind(|l| !l.is_empty() && !l.starts_with('#'))
                    {
                        let url = if uri.starts_with('/') {
                            format!("{base}{uri}")
                        } else {
                            format!("{base}/hls/{slug}/{uri}")
                        };
                        match get(url).await {
                            Ok(r) if r.status().is_success() => {
                                let _ = r.bytes().await;
                            }
                            _ => errors += 1,
                        }
                    }
                }
                _ => errors += 1,
            }
            tokio::select! {
                _ = stop.cancelled() => {}
                _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            }
        }
        errors
    })
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n = env_u64("CHANNELS", 200) as usize;
    let watched = env_u64("WATCHED", 5) as usize;
    let secs = env_u64("BENCH_SECS", 600);
    let base_dir = std::env::var("BENCH_DIR").map_or_else(|_| std::env::temp_dir(), Into::into);
    let dir = tempfile::tempdir_in(base_dir).unwrap();
    let videos = dir.path().join("videos");
    make_long_sources(&videos);
    let slugs: Vec<String> = (0..n).map(|i| format!("ch-{i:03}")).collect();
    let mut file = String::new();
    for (i, slug) in slugs.iter().enumerate() {
        file += &format!(
            "[[channel]]\nslug = \"{slug}\"\nname = \"Bench {i}\"\nnumber = {}\nvideos = \"{}\"\n\n",
            i + 1,
            videos.display()
        );
    }
    let channels = dir.path().join("channels.toml");
    std::fs::write(&channels, file).unwrap();
    let channels = channels.display().to_string();
    let args = [
        "--channels",
        &channels,
        "--width",
        "320",
        "--height",
        "180",
        "--fps",
        "25",
        "--segment-duration",
        "2",
        "--clip-min",
        "4",
        "--clip-max",
        "4",
        "--chunk-duration",
        "16",
        "--ready-chunks",
        "1",
        "--generator-jobs",
        "2",
        "--playlist-segments",
        "6",
        "--seed",
        "1",
    ];
    let t0 = Instant::now();
    let s = TestServer::start(dir.path(), &args).await;
    let c = reqwest::Client::new();
    let stop = CancellationToken::new();
    let players: Vec<_> = slugs[..watched]
        .iter()
        .map(|slug| play(s.base.clone(), slug.clone(), stop.clone()))
        .collect();
    // Setup: every channel has aired a clip.
    let setup_limit = Duration::from_secs(env_u64("SETUP_SECS", 900));
    loop {
        let m = Metrics::get(&c, &s).await;
        let on = slugs
            .iter()
            .filter(|slug| {
                m.of("aired_seconds_total", slug, ",air=\"fresh\"")
                    + m.of("aired_seconds_total", slug, ",air=\"rerun\"")
                    > 0.0
            })
            .count();
        if on == n || t0.elapsed() > setup_limit {
            eprintln!(
                "setup: {on} of {n} channels aired a clip after {:.0} s",
                t0.elapsed().as_secs_f64()
            );
            break;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let m0 = Metrics::get(&c, &s).await;
    let (cpu0, kids0) = cpu_seconds("self");
    let mach0 = machine_ticks();
    let t1 = Instant::now();
    let mut busy = Vec::new();
    while t1.elapsed() < Duration::from_secs(secs) {
        tokio::time::sleep(Duration::from_secs(5)).await;
        busy.push(
            Metrics::get(&c, &s)
                .await
                .get1("shufflecast_encode_slots_busy"),
        );
    }
    let wall = t1.elapsed().as_secs_f64();
    let (cpu1, kids1) = cpu_seconds("self");
    let mach1 = machine_ticks();
    let m1 = Metrics::get(&c, &s).await;
    stop.cancel();
    let mut player_errors = 0;
    for p in players {
        player_errors += p.await.unwrap();
    }
    let delta =
        |slug: &str, name: &str, extra: &str| m1.of(name, slug, extra) - m0.of(name, slug, extra);
    let share = |set: &[String]| {
        let (mut fresh, mut rerun) = (0.0, 0.0);
        for slug in set {
            fresh += delta(slug, "aired_seconds_total", ",air=\"fresh\"");
            rerun += delta(slug, "aired_seconds_total", ",air=\"rerun\"");
        }
        (fresh / (fresh + rerun).max(1e-9), fresh + rerun)
    };
    let (w_share, w_secs) = share(&slugs[..watched]);
    let (u_share, u_secs) = share(&slugs[watched..]);
    let sum = |name: &str| slugs.iter().map(|s| delta(s, name, "")).sum::<f64>();
    let segments = sum("segments_published_total");
    let late = (m1.within("+Inf") - m0.within("+Inf")) - (m1.within("0.1") - m0.within("0.1"));
    let transactions = m1.get1("shufflecast_recorder_transactions_total")
        - m0.get1("shufflecast_recorder_transactions_total");
    let recorded = m1.get1("shufflecast_recorder_segments_total")
        - m0.get1("shufflecast_recorder_segments_total");
    let mean_busy = busy.iter().sum::<f64>() / busy.len().max(1) as f64;
    println!(
        "{n} channels, {watched} watched, {wall:.0} s under encode load (slots busy {mean_busy:.2} of 2 on average; machine {:.0}% busy):",
        (mach1.0 - mach0.0) / (mach1.1 - mach0.1).max(1.0) * 100.0
    );
    println!(
        "  fresh share of the air: watched {:.1}% of {w_secs:.0} s, unwatched {:.1}% of {u_secs:.0} s",
        w_share * 100.0,
        u_share * 100.0
    );
    println!(
        "  underruns (slate after a first clip) {}, repeats {}, slate before a first clip {}; segments 100 ms late or more: {late} of {segments}",
        sum("underruns_total"),
        sum("repeats_total"),
        sum("waiting_segments_total"),
    );
    println!(
        "  server CPU {:.2}% of a core in all, {:.4}% per channel; ffmpeg {:.0}% of a core; recorder: {recorded} segments in {transactions} transactions; player errors {player_errors}",
        (cpu1 - cpu0) / wall * 100.0,
        (cpu1 - cpu0) / wall * 100.0 / n as f64,
        (kids1 - kids0) / wall * 100.0,
    );
    s.stop().await;
}
