//! Benchmarks of the library, on a real SQLite file:
//!  1. a rescan of 10,000 unchanged files (walk, stat, reconcile with the database);
//!  2. the next clip in a library of 1,000,000 videos (LRU pick, range choice and
//!     the transaction that records it), for one channel and for 200 channels
//!     sharing the library, each with a history of 5,000 videos it used; with the
//!     database's size.
//!
//! Run: cargo bench --bench library   (FILES=…, VIDEOS=…, CHANNELS=… and USED=…
//! change the sizes)

use std::time::Instant;

use rand::SeedableRng;
use rand::rngs::StdRng;
use shufflecast::db::Db;
use shufflecast::db::library::NewVideo;
use shufflecast::library::Library;
use shufflecast::library::everything;
use shufflecast::library::metadata::{MetaOrigin, SourceMeta};
use shufflecast::lineup::CLASSIC;
use shufflecast::transcode::ProbeInfo;

fn env_usize(k: &str, default: usize) -> usize {
    std::env::var(k)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn rescan(files: usize) {
    let dir = tempfile::tempdir().unwrap();
    let media = dir.path().join("media");
    for i in 0..files {
        let sub = media.join(format!("show-{:03}", i / 100));
        if i % 100 == 0 {
            std::fs::create_dir_all(&sub).unwrap();
        }
        std::fs::write(
            sub.join(format!("episode {i:05} [abcdefghijk].mp4")),
            i.to_string(),
        )
        .unwrap();
    }
    let db = Db::open(&dir.path().join("state.db")).unwrap();
    let lib = Library::new(db, vec![media], None);
    let t0 = Instant::now();
    let first = lib.scan().unwrap();
    let first_ms = t0.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(first.added, files);
    let mut times = Vec::new();
    for _ in 0..5 {
        let t0 = Instant::now();
        let r = lib.scan().unwrap();
        times.push(t0.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(r.unchanged, files);
    }
    println!(
        "rescan of {files} unchanged files: median {:.0} ms over 5 runs (first scan, inserting them all: {first_ms:.0} ms)",
        median(times)
    );
}

/// Next clips over a library of `videos` videos shared by `channels` channels,
/// each with a history of `used` videos it cut before (scattered through the
/// library): the pick alone and the whole next clip (pick, range, record), per
/// clip over every channel in turn; and the database's size.
fn pick(videos: usize, channels: usize, used: usize) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let db = Db::open(&path).unwrap();
    let info = ProbeInfo {
        duration: 1800.0,
        width: 1920,
        height: 1080,
        fps: 30.0,
        rotation: 0,
        interlaced: false,
        title: None,
        artist: None,
        color: Default::default(),
    };
    let slug = |c: usize| {
        if channels == 1 {
            CLASSIC.to_string()
        } else {
            format!("ch{c:03}")
        }
    };
    let t0 = Instant::now();
    // Channel c used every (videos / used)-th video from an offset of its own, at
    // scattered clock values.
    let step = (videos / used.max(1)).max(1);
    for start in (0..videos).step_by(100_000) {
        let rows: Vec<NewVideo> = (start..(start + 100_000).min(videos))
            .map(|i| NewVideo {
                path: format!("/media/show-{:04}/v{i}.mp4", i / 1000).into(),
                size: i as u64,
                info: info.clone(),
                meta: SourceMeta {
                    title: format!("v{i}"),
                    creator: None,
                    url: None,
                    origin: MetaOrigin::FileName,
                },
                used_by: (0..channels)
                    .filter(|c| (i + c * 7) % step == 0)
                    .map(|c| (slug(c), ((i * 7919 + c) % videos) as i64))
                    .collect(),
            })
            .collect();
        db.library().insert_usable(&rows).unwrap();
    }
    let filled = t0.elapsed().as_secs_f64();
    let library = Library::new(db, Vec::new(), None);
    let libs: Vec<_> = (0..channels)
        .map(|c| library.channel(&slug(c), everything()))
        .collect();
    let mut rng = StdRng::seed_from_u64(1);
    // Warm: each channel's first pick finds its frontier (once per start).
    for lib in &libs {
        lib.pick(&[]).unwrap();
    }
    let rounds = (4000 / channels).max(10);
    let (mut picks, mut clips) = (Vec::new(), Vec::new());
    let mut excludes = vec![Vec::new(); channels];
    for r in 0..rounds {
        for (lib, exclude) in libs.iter().zip(&mut excludes) {
            // As in a chunk: the clips so far are excluded (up to 50 of them).
            if r % 50 == 0 {
                exclude.clear();
            }
            let t = Instant::now();
            let v = lib.pick(exclude).unwrap().expect("a video");
            picks.push(t.elapsed().as_secs_f64() * 1e6);
            lib.take_clip(&v, 2.0, 3, 3, &mut rng).unwrap();
            clips.push(t.elapsed().as_secs_f64() * 1e6);
            exclude.push(v.id);
        }
    }
    let size: u64 = ["", "-wal"]
        .iter()
        .filter_map(|s| std::fs::metadata(format!("{}{s}", path.display())).ok())
        .map(|m| m.len())
        .sum();
    let n = picks.len();
    let pct = |v: &mut Vec<f64>, q: f64| {
        v.sort_by(f64::total_cmp);
        v[((v.len() as f64 * q) as usize).min(v.len() - 1)]
    };
    println!(
        "next clip, {videos} videos, {channels} channel(s) with {used} used each: pick median {:.0} µs p99 {:.0} µs; \
         pick + range + record median {:.0} µs p99 {:.0} µs ({n} clips); database {:.0} MB (filled in {filled:.0} s)",
        pct(&mut picks, 0.5),
        pct(&mut picks, 0.99),
        pct(&mut clips, 0.5),
        pct(&mut clips, 0.99),
        size as f64 / 1e6,
    );
}

fn main() {
    rescan(env_usize("FILES", 10_000));
    let videos = env_usize("VIDEOS", 1_000_000);
    let used = env_usize("USED", 5_000);
    pick(videos, 1, used);
    pick(videos, env_usize("CHANNELS", 200), used);
}
