//! Benchmarks of the library, on a real SQLite file:
//!  1. a rescan of 10,000 unchanged files (walk, stat, reconcile with the database);
//!  2. picking the next clip in a library of 100,000 videos (LRU pick, range choice
//!     and the transaction that records it).
//!
//! Run: cargo bench --bench library   (FILES=… and VIDEOS=… change the sizes)

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

fn pick(videos: usize) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("state.db")).unwrap();
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
    let rows: Vec<NewVideo> = (0..videos)
        .map(|i| NewVideo {
            path: format!("/media/v{i}.mp4").into(),
            size: i as u64,
            info: info.clone(),
            meta: SourceMeta {
                title: format!("v{i}"),
                creator: None,
                url: None,
                origin: MetaOrigin::FileName,
            },
            // Half never used, half used in a scattered order.
            last_used: (i % 2 == 0).then(|| (CLASSIC.to_string(), ((i * 7919) % videos) as i64)),
        })
        .collect();
    db.library().insert_usable(&rows).unwrap();
    let lib = Library::new(db, Vec::new(), None).channel(CLASSIC, everything());
    let mut rng = StdRng::seed_from_u64(1);
    let n = 2000;
    let t0 = Instant::now();
    let mut exclude = Vec::new();
    for i in 0..n {
        // As in a chunk: the clips so far are excluded (up to 50 of them).
        if i % 50 == 0 {
            exclude.clear();
        }
        let v = lib.pick(&exclude).unwrap().expect("a video");
        lib.take_clip(&v, 2.0, 3, 3, &mut rng).unwrap();
        exclude.push(v.id);
    }
    let per = t0.elapsed().as_secs_f64() / n as f64 * 1e6;
    println!(
        "next clip in a library of {videos} videos (pick + range + record): {per:.0} µs per clip over {n} clips"
    );
}

fn main() {
    rescan(env_usize("FILES", 10_000));
    pick(env_usize("VIDEOS", 100_000));
}
