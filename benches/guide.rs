//! Benchmark: the XMLTV guide (`/epg.xml`) of CHANNELS (200) channels, GUIDE_HOURS
//! (48) ahead in 30-minute programmes: the time to answer (the first request, which
//! lists and saves every channel's slots, then the median and worst of ROUNDS
//! (20) more), and its size plain and gzipped. Goal: under 100 ms on a 2-core
//! machine. The server runs in this process (`TestServer`) with an empty video
//! folder, so nothing is encoded meanwhile and every programme is the channel's
//! own (the programmes whose clips are made cost a lookup of their chunk more).
//!
//! Run: cargo bench --bench guide (CHANNELS and ROUNDS to change the figures).

use std::time::{Duration, Instant};

use shufflecast::testkit::server::TestServer;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn fetch(c: &reqwest::Client, url: &str, gzip: bool) -> (Duration, usize) {
    let mut rb = c.get(url);
    if gzip {
        rb = rb.header("accept-encoding", "gzip");
    }
    let t = Instant::now();
    let r = rb.send().await.expect("the guide answers");
    assert_eq!(r.status(), 200);
    let n = r.bytes().await.expect("the whole guide").len();
    (t.elapsed(), n)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let channels = env("CHANNELS", 200);
    let rounds = env("ROUNDS", 20).max(1);
    let dir = tempfile::tempdir().unwrap();
    let videos = dir.path().join("no-videos");
    std::fs::create_dir_all(&videos).unwrap();
    let mut file = String::new();
    for i in 1..=channels {
        file.push_str(&format!(
            "[[channel]]\nslug = \"c{i}\"\nname = \"Channel {i}\"\nnumber = {i}\nvideos = \"{}\"\n\n",
            videos.display()
        ));
    }
    let path = dir.path().join("channels.toml");
    std::fs::write(&path, file).unwrap();
    let path = path.display().to_string();
    let videos = videos.display().to_string();
    let s = TestServer::start(
        dir.path(),
        &[
            "--channels",
            &path,
            "--videos",
            &videos,
            "--discovery",
            "false",
        ],
    )
    .await;
    let c = reqwest::Client::new();
    let url = s.url("/epg.xml");
    let (first, plain) = fetch(&c, &url, false).await;
    let mut times = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        times.push(fetch(&c, &url, false).await.0);
    }
    times.sort();
    let (gz_time, gzipped) = fetch(&c, &url, true).await;
    let xml = reqwest::get(&url).await.unwrap().text().await.unwrap();
    let programmes = xml.matches("<programme ").count();
    println!(
        "guide: {channels} channels, {programmes} programmes ({:.0} a channel)",
        programmes as f64 / channels as f64
    );
    println!(
        "  first request (lists and saves every slot): {:.1} ms",
        ms(first)
    );
    println!(
        "  then, {rounds} requests: median {:.1} ms, worst {:.1} ms (goal: under 100 ms)",
        ms(times[times.len() / 2]),
        ms(times[times.len() - 1])
    );
    println!(
        "  size: {:.2} MB plain, {:.2} MB gzipped ({:.1} ms with gzip), {:.1}x smaller",
        plain as f64 / 1e6,
        gzipped as f64 / 1e6,
        ms(gz_time),
        plain as f64 / gzipped.max(1) as f64
    );
    s.stop().await;
}
