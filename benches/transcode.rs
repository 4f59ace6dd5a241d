//! Benchmark: how long ffmpeg takes for what the server asks of it, on this
//! machine: the demo library, clips of a few lengths and sizes (with the default
//! threads and with one), the slate, a music track, the encoder selection, and the
//! fresh-install path of a first start (first demo video, then the first clip and
//! the slate side by side).
//!
//! Run: cargo bench --bench transcode   (or, unoptimized, cargo test --bench transcode)

use std::time::Instant;

use shufflecast::transcode::{
    ClipRequest, DEFAULT_MUSIC_LUFS, Encoder, Ffmpeg, HwAccel, OutputProfile, make_demo_library,
    make_first_demo_video,
};

/// Timings of each kind of encode, one after the other.
async fn encodes(ff: &Ffmpeg) {
    let dir = tempfile::tempdir().unwrap();
    let t = Instant::now();
    let lib = make_first_demo_video(ff, dir.path()).await.unwrap();
    println!("first demo video:              {:?}", t.elapsed());
    let t2 = Instant::now();
    make_demo_library(ff, dir.path()).await.unwrap();
    println!(
        "rest of the demo library:      {:?} (all: {:?})",
        t2.elapsed(),
        t.elapsed()
    );

    let src = lib.videos.join("01-test-card.mp4");
    let info = ff.probe(&src).await.unwrap();
    for (threads, label) in [(None, "default threads"), (Some(1), "1 thread")] {
        let ff = match threads {
            Some(n) => ff.clone().with_threads(n),
            None => ff.clone(),
        };
        for (secs, w, h) in [(6, 1280, 720), (2, 1280, 720), (6, 640, 360)] {
            let profile = OutputProfile::new(w, h, 30, 2);
            let out = dir.path().join(format!("clip-{secs}-{w}.ts"));
            let req = ClipRequest::test(&src, &info, &out)
                .at(7.3)
                .frames(secs * 30)
                .profile(&profile);
            let t = Instant::now();
            ff.encode_clip(&req).await.unwrap();
            println!("{secs} s clip at {w}x{h}@30 ({label}): {:?}", t.elapsed());
        }
    }
    let profile = OutputProfile::new(1280, 720, 30, 2);
    let t = Instant::now();
    ff.encode_slate(&profile, &Encoder::X264, 60, &dir.path().join("slate.ts"))
        .await
        .unwrap();
    println!("2 s slate at 1280x720@30:      {:?}", t.elapsed());
    let t = Instant::now();
    ff.encode_track(
        &lib.music.join("01-drift.mp3"),
        &dir.path().join("t.aac"),
        DEFAULT_MUSIC_LUFS,
    )
    .await
    .unwrap();
    println!("the 48 s demo track to AAC:    {:?}", t.elapsed());
    let t = Instant::now();
    let _ = ff.select_encoder(HwAccel::Auto, &profile).await;
    println!("select_encoder(auto):          {:?}", t.elapsed());
}

/// The fresh-install path of a first start, as the app takes it.
async fn fast_start() {
    let t = Instant::now();
    let ff = Ffmpeg::locate().await.unwrap();
    println!("locate ffmpeg:                 {:?}", t.elapsed());
    let dir = tempfile::tempdir().unwrap();
    let lib = make_first_demo_video(&ff, dir.path()).await.unwrap();
    println!("first demo video:              {:?}", t.elapsed());
    let (ff2, d2) = (ff.clone(), dir.path().to_path_buf());
    let rest = tokio::spawn(async move {
        make_demo_library(&ff2, &d2).await.unwrap();
    });
    let profile = OutputProfile::new(1280, 720, 30, 2);
    let src = lib.videos.join("01-test-card.mp4");
    let info = ff.probe(&src).await.unwrap();
    let out = dir.path().join("first.ts");
    let req = ClipRequest::test(&src, &info, &out)
        .at(3.0)
        .frames(60)
        .profile(&profile);
    let slate = dir.path().join("slate.ts");
    let (a, b) = tokio::join!(
        ff.encode_clip(&req),
        ff.encode_slate(&profile, &Encoder::X264, 60, &slate)
    );
    a.unwrap();
    b.unwrap();
    println!("first 2 s clip and slate:      {:?}", t.elapsed());
    rest.await.unwrap();
    println!("whole demo library:            {:?}", t.elapsed());
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        println!("fast start (a fresh install):");
        fast_start().await;
        println!("encodes, one at a time:");
        let ff = Ffmpeg::locate().await.expect("ffmpeg installed");
        encodes(&ff).await;
    });
}
