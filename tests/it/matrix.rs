//! A library as varied as real collections (scripts/source-matrix.sh: MPEG-2
//! interlaced and anamorphic, chroma locations, full range, 10-bit and 4:2:2, HDR10
//! and HLG, VP9, AV1, MJPEG, ProRes with alpha, DV, odd frame rates, VFR, rotations,
//! odd and huge sizes, extra streams, non-videos), aired as one channel: every clip
//! carries the reference's SPS/PPS byte for byte (read by ffmpeg, not by us), the
//! picture's geometry is right, and the live stream has no discontinuity, no bad
//! timestamp step and no decode error.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::harness::{self, Server};

const W: u32 = 640;
const H: u32 = 360;
/// Seconds of live stream judged: longer than a chunk of one clip per source.
const WATCH_SECS: u64 = 36;

/// The display aspect each source must keep (16:9 unless listed).
fn display_aspect(name: &str) -> f64 {
    match name {
        "mpeg2-ntsc-bff-4x3.mpg" | "mjpeg-422.avi" | "mjpeg-422.mov" | "dv-pal-4x3.dv" => 4.0 / 3.0,
        "rotate-90.mp4" | "rotate-270.mp4" => 9.0 / 16.0,
        "size-177x97.mkv" => 177.0 / 97.0,
        "size-853x480.mkv" => 853.0 / 480.0,
        _ => 16.0 / 9.0,
    }
}

/// Bounding box (x0, y0, x1, y1) of the pixels `keep` selects.
fn bbox(luma: &[u8], keep: impl Fn(u8) -> bool) -> Option<(u32, u32, u32, u32)> {
    let mut b: Option<(u32, u32, u32, u32)> = None;
    for (i, &v) in luma.iter().enumerate() {
        if keep(v) {
            let (x, y) = (i as u32 % W, i as u32 / W);
            b = Some(match b {
                None => (x, y, x, y),
                Some((x0, y0, x1, y1)) => (x0.min(x), y0.min(y), x1.max(x), y1.max(y)),
            });
        }
    }
    b
}

/// The picture of a clip from `source` (grey, white marker in its top-left quarter)
/// is centred, keeps the source's display aspect, and is the right way up.
fn check_geometry(clip: &Path, source: &str) {
    let luma = harness::first_frame_gray(clip);
    assert_eq!(luma.len(), (W * H) as usize, "{}", clip.display());
    let (px0, py0, px1, py1) =
        bbox(&luma, |v| v > 40).unwrap_or_else(|| panic!("{source}: a black frame"));
    let (pw, ph) = (f64::from(px1 - px0 + 1), f64::from(py1 - py0 + 1));
    let dar = display_aspect(source);
    let (want_w, want_h) = if dar >= f64::from(W) / f64::from(H) {
        (f64::from(W), f64::from(W) / dar)
    } else {
        (f64::from(H) * dar, f64::from(H))
    };
    assert!(
        (pw - want_w).abs() <= 4.0 && (ph - want_h).abs() <= 4.0,
        "{source}: picture {pw}x{ph}, want about {want_w:.0}x{want_h:.0} (aspect {dar:.3})"
    );
    let (left, right) = (px0, W - 1 - px1);
    let (top, bottom) = (py0, H - 1 - py1);
    assert!(
        left.abs_diff(right) <= 3 && top.abs_diff(bottom) <= 3,
        "{source}: picture not centred: {left} {right} {top} {bottom}"
    );
    let max = *luma.iter().max().unwrap();
    let (mx0, my0, mx1, my1) = bbox(&luma, |v| u16::from(v) + 30 > u16::from(max)).unwrap();
    let (mw, mh) = (f64::from(mx1 - mx0 + 1), f64::from(my1 - my0 + 1));
    assert!(
        mx0.abs_diff(px0) <= 2
            && my0.abs_diff(py0) <= 2
            && (mw - pw / 2.0).abs() <= 3.0
            && (mh - ph / 2.0).abs() <= 3.0,
        "{source}: the marker should fill the top-left quarter of {px0},{py0} {pw}x{ph}, \
         found at {mx0},{my0} {mw}x{mh} (rotated or stretched)"
    );
}

/// hls-seams (../shared/tools, beside the project when there) recording the channel
/// while the test watches it too.
fn spawn_hls_seams(base: &str, out: &Path) -> Option<std::thread::JoinHandle<String>> {
    let tool = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/tools/hls-seams");
    if !tool.is_file() {
        eprintln!(
            "hls-seams not beside the project ({}): judged with ffprobe only",
            tool.display()
        );
        return None;
    }
    let (url, out) = (format!("{base}/hls/stream.m3u8"), out.to_path_buf());
    Some(std::thread::spawn(move || {
        let o = Command::new(tool)
            .arg(url)
            .arg((WATCH_SECS - 4).to_string())
            .arg(out)
            .output()
            .expect("hls-seams runs");
        String::from_utf8_lossy(&o.stdout).into_owned()
    }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_varied_real_world_library_airs_without_a_single_discontinuity() {
    let Some(limit) = crate::limit::slow(1200) else {
        return;
    };
    let _cpu = harness::exclusive(&limit).await;
    let dir = tempfile::tempdir().unwrap();
    let videos = dir.path().join("videos");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/source-matrix.sh");
    let made = Command::new(&script).arg(&videos).output().unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let names: Vec<String> = std::fs::read_dir(&videos)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let usable = names.iter().filter(|n| !n.starts_with("not-video")).count();
    assert!(usable >= 29, "{names:?}");

    // One second per clip (and per segment), one chunk with a clip of every source.
    let mut server = Server::start(
        dir.path(),
        &[
            "--videos",
            videos.to_str().unwrap(),
            "--width",
            &W.to_string(),
            "--height",
            &H.to_string(),
            "--fps",
            "30",
            "--segment-duration",
            "1",
            "--clip-min",
            "1",
            "--clip-max",
            "1",
            "--chunk-duration",
            &usable.to_string(),
            "--ready-chunks",
            "1",
        ],
    );
    server.wait_ready(shufflecast::testkit::PATIENCE).await;
    let client = reqwest::Client::new();
    let base = server.base.clone();

    // Every source probed; the two that are not videos say why, in words.
    let t0 = std::time::Instant::now();
    let first_chunk = loop {
        let chunks = harness::get_json(&base, "/api/chunks").await;
        let ready = chunks["chunks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["state"] == "ready")
            .cloned();
        if let Some(c) = ready {
            break c;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(300),
            "no chunk ready: {}",
            server.logs()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let library = harness::get_json(&base, "/api/library?limit=100").await;
    let reason = |file: &str| {
        library["videos"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["path"].as_str().unwrap().ends_with(file))
            .map(|v| v["error"].clone())
            .unwrap_or_else(|| panic!("{file} not in the library: {library}"))
    };
    assert!(
        reason("not-video-audio-only.mp4")
            .as_str()
            .is_some_and(|r| r.contains("audio only: no video stream")),
        "{library}"
    );
    assert!(
        reason("not-video-cover-art.mp4")
            .as_str()
            .is_some_and(|r| r.contains("only cover art")),
        "{library}"
    );
    for n in names.iter().filter(|n| !n.starts_with("not-video")) {
        assert_eq!(reason(n), Value::Null, "{n} is usable");
    }

    // Watch the channel while checking the clips on disk.
    let seams = spawn_hls_seams(&base, &dir.path().join("seams"));
    let watching = tokio::spawn({
        let base = base.clone();
        async move { harness::watch_live(&base, WATCH_SECS).await }
    });

    // The first chunk has a clip of every usable source, each with the reference's
    // parameter sets, byte for byte (and so has the slate), each picture right.
    let id = first_chunk["id"].as_str().unwrap();
    let chunk = harness::get_json(&base, &format!("/api/chunks/{id}")).await;
    let clips = chunk["clip_list"].as_array().unwrap();
    let cache = server.data.join("cache");
    let reference = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("reference-")
        })
        .expect("the reference encode is cached");
    let want = harness::parameter_set_bytes(&reference);
    assert!(!want.is_empty());
    let mut seen: Vec<String> = Vec::new();
    for c in clips {
        let source = Path::new(c["source"].as_str().unwrap())
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let path = harness::classic(&server.data)
            .join("chunks")
            .join(id)
            .join(format!("clip-{:04}.ts", c["index"].as_u64().unwrap()));
        assert_eq!(
            harness::parameter_set_bytes(&path),
            want,
            "{source}: SPS/PPS differ from the reference"
        );
        check_geometry(&path, &source);
        seen.push(source);
    }
    for n in names.iter().filter(|n| !n.starts_with("not-video")) {
        assert!(
            seen.contains(n),
            "no clip of {n} in the first chunk: {seen:?}"
        );
    }
    let metrics = shufflecast::testkit::http::text(&client, &format!("{base}/metrics")).await;
    assert!(
        metrics.contains("shufflecast_clip_parameter_mismatches_total{outcome=\"differed\"} 0"),
        "{metrics}"
    );

    // What a player saw: no discontinuity, every step one frame, nothing undecodable.
    let watched = watching.await.unwrap();
    assert!(
        watched.seqs.len() as u64 >= WATCH_SECS - 6,
        "{:?}",
        watched.seqs
    );
    assert!(watched.seqs.windows(2).all(|w| w[1] == w[0] + 1));
    assert_eq!(watched.discontinuities, 0, "discontinuity tags");
    let capture = dir.path().join("capture.ts");
    watched.save(&capture);
    let (video, audio) = harness::timestamp_steps(&capture);
    let bad_video = video.iter().filter(|s| **s != 3000).count();
    let bad_audio = audio.iter().filter(|s| **s != 1920).count();
    assert_eq!((bad_video, bad_audio), (0, 0), "bad timestamp steps");
    let (frames, errors) = harness::decode(&capture);
    assert!(errors.trim().is_empty(), "decode errors: {errors}");
    assert!(frames >= (WATCH_SECS - 6) * 30, "{frames} frames");
    for (i, seg) in watched.segments.iter().enumerate() {
        let f = dir.path().join(format!("seg-{i}.ts"));
        std::fs::write(&f, seg).unwrap();
        let first = harness::packets(&f).into_iter().find(|p| p.kind == "video");
        assert!(
            first.is_some_and(|p| p.key),
            "segment {i} opens on a keyframe"
        );
    }
    if let Some(seams) = seams {
        let verdict = seams.join().unwrap();
        eprintln!("hls-seams on the matrix channel: {verdict}");
        let v: Value = serde_json::from_str(verdict.trim().lines().last().unwrap_or("{}"))
            .unwrap_or_else(|e| panic!("hls-seams printed {verdict:?}: {e}"));
        assert_eq!(v["ok"], true, "{verdict}");
        assert_eq!(v["discontinuity_tags"], 0, "{verdict}");
        assert_eq!(v["decode_errors"], 0, "{verdict}");
    }
    eprintln!(
        "matrix: {} sources aired, {} segments watched, 0 discontinuities",
        seen.len(),
        watched.seqs.len()
    );
}
