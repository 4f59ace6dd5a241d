//! The encodes of clips and slates, with the real ffmpeg: what the splicer relies
//! on (one SPS/PPS, an IDR every GOP, the exact frame count), pictures, looks,
//! progress, failures, and the watchdog.

use super::*;
use crate::testkit::clip::{TEST_PROFILE, source_info};
use crate::testkit::media::{self, args, ff, ffmpeg};
use crate::transcode::probe::ProbeInfo;
use crate::transcode::profile::{Encoder, OutputProfile};
use crate::transcode::slate::slate_args;
use crate::transcode::{ColorGrade, Look};
use std::path::PathBuf;

#[test]
fn parses_progress() {
    let out = b"frame=10\nfps=0.0\nprogress=continue\nframe=60\nprogress=end\n";
    assert_eq!(progress_frames(out), Some(60));
    assert_eq!(progress_frames(b""), None);
}

// ---- real encodes ----

fn make_source(dir: &Path, name: &str, lavfi: &str, extra: &[&str]) -> PathBuf {
    let path = dir.join(name);
    media::make_video_with(&path, lavfi, extra);
    path
}

/// Encodes a clip and checks everything the splicer relies on; returns its parameter sets.
async fn encode_and_check(
    ff: &Ffmpeg,
    src: &Path,
    start: f64,
    frames: u32,
    out: &Path,
) -> media::H264Summary {
    let info = ff.probe(src).await.unwrap();
    let req = ClipRequest::test(src, &info, out).at(start).frames(frames);
    ff.encode_clip(&req).await.unwrap();
    check_clip(out, frames).await
}

async fn check_clip(out: &Path, frames: u32) -> media::H264Summary {
    let streams = media::streams(out);
    assert_eq!(streams.len(), 1, "video only: {streams:?}");
    let v = &streams[0];
    assert_eq!(v["codec_type"], "video");
    assert_eq!(v["width"], 320);
    assert_eq!(v["height"], 180);
    assert_eq!(v["pix_fmt"], "yuv420p");
    assert_eq!(v["profile"], "High");
    assert_eq!(v["nb_read_frames"], frames.to_string());
    let h264 = media::h264_summary(out);
    assert_eq!(h264.access_units, frames as usize);
    let gop = TEST_PROFILE.gop_frames as usize;
    let want: Vec<usize> = (0..frames as usize).step_by(gop).collect();
    assert_eq!(
        h264.idr_positions, want,
        "IDR exactly every GOP, first frame IDR"
    );
    assert_eq!(h264.sps.len(), 1);
    assert_eq!(h264.pps.len(), 1);
    // No stray temporary files beside the output.
    let dir = out.parent().unwrap();
    for e in std::fs::read_dir(dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!name.ends_with(".part"), "{name}");
    }
    h264
}

#[tokio::test]
async fn clips_from_different_sources_are_spliceable() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ff = ff().await;
    // 16:9 at 25 fps, tagged BT.601, with an audio track that must not come through.
    let wide = d.join("wide.mp4");
    let mut a = args([
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=640x360:rate=25:duration=3",
    ]);
    a.extend(args(["-f", "lavfi", "-i", "sine=d=3"]));
    a.extend(args([
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-threads",
        "1",
    ]));
    a.extend(args(["-c:a", "aac", "-color_primaries", "bt470bg"]));
    a.extend(args(["-colorspace", "bt470bg", "-color_trc", "gamma28"]));
    a.push(wide.clone().into());
    ffmpeg(a);
    // Portrait by rotation: stored 640x360, displayed 360x640, at 30 fps, full range.
    let stored = make_source(
        d,
        "stored.mp4",
        "testsrc2=size=640x360:rate=30:duration=3",
        &["-pix_fmt", "yuvj420p"],
    );
    let rotated = d.join("rotated.mp4");
    let mut a = args(["-i"]);
    a.push(stored.into());
    a.extend(args(["-c", "copy", "-metadata:s:v:0", "rotate=90"]));
    a.push(rotated.clone().into());
    ffmpeg(a);
    // Interlaced PAL.
    let pal = make_source(
        d,
        "pal.mp4",
        "testsrc2=size=720x576:rate=25:duration=3",
        &["-flags", "+ilme+ildct", "-top", "1", "-aspect", "16:9"],
    );

    // 10-bit 4:2:2, full range, 60 fps, in Matroska.
    let deep = make_source(
        d,
        "deep.mkv",
        "testsrc2=size=320x240:rate=60:duration=2",
        &["-pix_fmt", "yuv422p10le", "-color_range", "pc"],
    );

    let out = d.join("clips");
    let a = encode_and_check(&ff, &wide, 0.0, 60, &out.join("a.ts")).await;
    let b = encode_and_check(&ff, &rotated, 1.0, 60, &out.join("b.ts")).await;
    let c = encode_and_check(&ff, &pal, 0.5, 60, &out.join("c.ts")).await;
    // Another thread count must not change the parameter sets either.
    let ff2 = ff.clone().with_threads(2);
    let e = encode_and_check(&ff2, &wide, 1.2, 30, &out.join("e.ts")).await;
    let f = encode_and_check(&ff, &deep, 0.0, 30, &out.join("f.ts")).await;
    let slate = out.join("slate.ts");
    ff.encode_slate(&TEST_PROFILE, &Encoder::X264, 45, &slate)
        .await
        .unwrap();
    let s = check_clip(&slate, 45).await;
    // The font-less fallback slate too.
    let plain = out.join("plain.ts");
    let args = slate_args(&TEST_PROFILE, &Encoder::X264, 30, Some(1), false, &plain);
    ff.encode(&args, 30, TEST_PROFILE.fps).await.unwrap();
    let p = check_clip(&plain, 30).await;
    for other in [&b, &c, &e, &f, &s, &p] {
        assert_eq!(a.sps, other.sps, "SPS differs");
        assert_eq!(a.pps, other.pps, "PPS differs");
    }

    // Geometry: the portrait (rotated) source is pillarboxed to 102x180; the anamorphic
    // 16:9 PAL source fills the frame instead of being squeezed to 4:3 by its storage size.
    // (pad aligns x to the chroma grid: 108, not 109)
    assert_eq!(picture_columns(&out.join("b.ts")).await, (108, 209));
    assert_eq!(picture_columns(&out.join("c.ts")).await, (0, 319));
}

/// The invariant of pictures: made by the clip's own ffmpeg run, they change
/// nothing of the clip, not a byte.
#[tokio::test]
async fn a_clip_with_its_picture_is_the_same_clip_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // ff() runs one thread: libx264 with more is not deterministic from run to
    // run (its frame threads), picture or not.
    let ff = ff().await;
    let src = make_source(
        d,
        "src.mp4",
        "testsrc2=size=640x360:rate=30:duration=4",
        &[],
    );
    let info = ff.probe(&src).await.unwrap();
    let wall = Look {
        grade: ColorGrade::None,
        video_wall: true,
    };
    for (name, look) in [("plain", &Look::NONE), ("wall", &wall)] {
        let (without, with) = (
            d.join(format!("{name}-a.ts")),
            d.join(format!("{name}-b.ts")),
        );
        let pic = d.join(format!("{name}-b.jpg"));
        let req = ClipRequest::test(&src, &info, &without)
            .at(0.5)
            .frames(60)
            .look(look);
        ff.encode_clip(&req).await.unwrap();
        let req = ClipRequest { out: &with, ..req }.thumbnail(Some(&pic));
        ff.encode_clip(&req).await.unwrap();
        assert!(
            std::fs::read(&without).unwrap() == std::fs::read(&with).unwrap(),
            "{name}: the clip changed with its picture"
        );
        let p = &media::streams(&pic)[0];
        assert_eq!(p["codec_name"], "mjpeg", "{name}");
        assert_eq!(
            (&p["width"], &p["height"]),
            (&320.into(), &180.into()),
            "{name}"
        );
        // Its middle frame: the picture is the clip's frame 30 (within JPEG's loss).
        if name == "plain" {
            let frame = |path: &Path, at: &str| {
                let mut a = args(["-i"]);
                a.push(run::file_arg(path));
                a.extend(args([
                    "-vf",
                    at,
                    "-frames:v",
                    "1",
                    "-f",
                    "rawvideo",
                    "-pix_fmt",
                    "gray",
                    "pipe:1",
                ]));
                ffmpeg(a)
            };
            let shot = frame(&pic, "null");
            let diff = |n: u32| {
                let f = frame(&with, &format!("select=eq(n\\,{n})"));
                f.iter()
                    .zip(&shot)
                    .map(|(a, b)| (*a as i64 - *b as i64).abs())
                    .sum::<i64>()
                    / f.len() as i64
            };
            assert!(
                diff(30) < 4 && diff(30) < diff(10),
                "{} {}",
                diff(30),
                diff(10)
            );
        }
    }
    assert!(
        std::fs::read_dir(d).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".part"))
    );
}

#[tokio::test]
async fn looks_keep_the_codec_parameters_and_change_the_picture() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ff = ff().await;
    let src = make_source(
        d,
        "src.mp4",
        "testsrc2=size=640x360:rate=30:duration=4",
        &[],
    );
    let info = ff.probe(&src).await.unwrap();
    let plain = encode_and_check(&ff, &src, 0.5, 30, &d.join("plain.ts")).await;
    // Text that would break a filter string if it were ever put in one.
    let hostile = "it's a \\ test: 100% [x],{y};'\"\n\u{1F3AC} %{pts} $(rm -rf /)";
    let looks = [
        (
            Look {
                grade: ColorGrade::Moody,
                video_wall: false,
            },
            None,
        ),
        (
            Look {
                grade: ColorGrade::Mono,
                video_wall: false,
            },
            Some(hostile),
        ),
        (
            Look {
                grade: ColorGrade::Warm,
                video_wall: true,
            },
            Some("Creator"),
        ),
        (
            Look {
                grade: ColorGrade::None,
                video_wall: true,
            },
            None,
        ),
        (Look::NONE, Some(hostile)),
    ];
    for (i, (look, watermark)) in looks.iter().enumerate() {
        let out = d.join(format!("look-{i}.ts"));
        let req = ClipRequest::test(&src, &info, &out)
            .at(0.5)
            .frames(30)
            .look(look)
            .watermark(*watermark);
        ff.encode_clip(&req)
            .await
            .unwrap_or_else(|e| panic!("{look:?} {watermark:?}: {e}"));
        let h = check_clip(&out, 30).await;
        assert_eq!(plain.sps, h.sps, "SPS differs with {look:?}");
        assert_eq!(plain.pps, h.pps, "PPS differs with {look:?}");
        let leftovers: Vec<_> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.'))
            .collect();
        assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    }
    // Mono has no colour: every chroma sample of the first frame is neutral.
    let chroma = first_frame_chroma(&d.join("look-1.ts")).await;
    assert!(
        chroma.iter().all(|&c| (126..=130).contains(&c)),
        "chroma not neutral"
    );
    let chroma = first_frame_chroma(&d.join("plain.ts")).await;
    assert!(
        chroma.iter().any(|&c| !(120..=136).contains(&c)),
        "the source has colour"
    );
    // The wall: three panels side by side, not one picture.
    let wall = media::first_frame_gray(&d.join("look-3.ts"));
    let one = media::first_frame_gray(&d.join("plain.ts"));
    assert_ne!(wall, one);
    // The watermark changes the bottom-right corner only.
    let marked = media::first_frame_gray(&d.join("look-4.ts"));
    let (w, h) = (TEST_PROFILE.width as usize, TEST_PROFILE.height as usize);
    let diff = |x0: usize, y0: usize, x1: usize, y1: usize| {
        (y0..y1)
            .flat_map(|y| (x0..x1).map(move |x| (x, y)))
            .filter(|&(x, y)| (marked[y * w + x] as i32 - one[y * w + x] as i32).abs() > 24)
            .count()
    };
    assert!(
        diff(w / 2, h * 3 / 4, w, h) > 50,
        "watermark drawn bottom right"
    );
    assert_eq!(diff(0, 0, w / 2, h / 2), 0, "nothing drawn top left");
}

/// The U and V planes of the first frame.
async fn first_frame_chroma(path: &Path) -> Vec<u8> {
    let mut a = args(["-i"]);
    a.push(run::file_arg(path));
    a.extend(args([
        "-frames:v",
        "1",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "yuv420p",
        "pipe:1",
    ]));
    let frame = ffmpeg(a);
    let luma = (TEST_PROFILE.width * TEST_PROFILE.height) as usize;
    frame[luma..].to_vec()
}

#[tokio::test]
async fn progress_is_reported_while_encoding() {
    let dir = tempfile::tempdir().unwrap();
    let ff = ff().await;
    let src = make_source(
        dir.path(),
        "src.mp4",
        "testsrc2=size=640x360:rate=30:duration=12",
        &[],
    );
    let info = ff.probe(&src).await.unwrap();
    let out = dir.path().join("clip.ts");
    let req = ClipRequest::test(&src, &info, &out).frames(300);
    let (tx, mut rx) = tokio::sync::watch::channel(EncodeProgress::default());
    let seen = tokio::spawn(async move {
        let mut updates = Vec::new();
        while rx.changed().await.is_ok() {
            updates.push(rx.borrow_and_update().clone());
        }
        updates
    });
    ff.encode_clip_with_progress(&req, &tx).await.unwrap();
    drop(tx);
    let updates = seen.await.unwrap();
    let last = updates.last().expect("progress reported");
    assert_eq!(last.frames, 300);
    assert!((last.out_time.as_secs_f64() - 10.0).abs() < 0.2, "{last:?}");
    assert!(last.speed.is_some_and(|s| s > 0.0), "{last:?}");
    assert!(updates.windows(2).all(|w| w[0].frames <= w[1].frames));
}

#[test]
fn progress_parser_reads_blocks() {
    let mut p = ProgressParser::default();
    let block = "frame=42\nfps=30.1\nout_time_us=1400000\nout_time_ms=1400000\nspeed=1.52x\nprogress=continue\n";
    let got: Vec<EncodeProgress> = block.lines().filter_map(|l| p.line(l)).collect();
    assert_eq!(
        got,
        [EncodeProgress {
            frames: 42,
            out_time: Duration::from_millis(1400),
            speed: Some(1.52)
        }]
    );
    // Early blocks say N/A for speed; garbage lines are ignored.
    let mut p = ProgressParser::default();
    for l in ["frame=0", "speed=N/A", "nonsense", "out_time_us=N/A"] {
        assert!(p.line(l).is_none());
    }
    assert_eq!(p.line("progress=end").unwrap().speed, None);
}

/// The first and last column of the first frame holding anything brighter than black.
async fn picture_columns(clip: &Path) -> (usize, usize) {
    let luma = media::first_frame_gray(clip);
    let (w, h) = (TEST_PROFILE.width as usize, TEST_PROFILE.height as usize);
    assert_eq!(luma.len(), w * h);
    let lit: Vec<usize> = (0..w)
        .filter(|&x| (0..h).any(|y| luma[y * w + x] > 40))
        .collect();
    (lit[0], *lit.last().unwrap())
}

#[tokio::test]
async fn short_source_is_padded_to_the_frame_count() {
    let dir = tempfile::tempdir().unwrap();
    let ff = ff().await;
    let src = make_source(
        dir.path(),
        "short.mp4",
        "testsrc=size=160x120:rate=10:duration=1",
        &[],
    );
    // 1 s of source, 2.5 s asked, starting half-way through.
    encode_and_check(&ff, &src, 0.5, 75, &dir.path().join("out.ts")).await;
}

#[tokio::test]
async fn start_beyond_the_end_fails() {
    let dir = tempfile::tempdir().unwrap();
    let ff = ff().await;
    let src = make_source(
        dir.path(),
        "short.mp4",
        "testsrc=size=160x120:rate=10:duration=1",
        &[],
    );
    let info = ff.probe(&src).await.unwrap();
    let out = dir.path().join("out.ts");
    let req = ClipRequest::test(&src, &info, &out).at(50.0).frames(30);
    let err = ff.encode_clip(&req).await.unwrap_err();
    assert!(matches!(err, TranscodeError::Failed { .. }), "{err:?}");
    assert!(!out.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temp file left"
    );
}

#[tokio::test]
async fn corrupt_source_fails_with_ffmpeg_lines() {
    let dir = tempfile::tempdir().unwrap();
    let ff = ff().await;
    let src = dir.path().join("corrupt.mp4");
    std::fs::write(&src, "definitely not a video\n".repeat(100)).unwrap();
    let out = dir.path().join("out.ts");
    let info = source_info(false);
    let req = ClipRequest::test(&src, &info, &out).at(1.0).frames(30);
    match ff.encode_clip(&req).await {
        Err(TranscodeError::Failed {
            program,
            status,
            last_lines,
        }) => {
            assert_eq!(program, "ffmpeg");
            assert!(status.contains("exit status"), "{status}");
            assert!(last_lines.contains("corrupt.mp4"), "{last_lines}");
        }
        other => panic!("{other:?}"),
    }
    assert!(!out.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temp file left"
    );
}

#[tokio::test]
async fn dropping_an_encode_kills_ffmpeg_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let ff = ff().await;
    let src = make_source(
        dir.path(),
        "src.mp4",
        "testsrc=size=160x120:rate=10:duration=1",
        &[],
    );
    let info = ff.probe(&src).await.unwrap();
    let out = dir.path().join("out.ts");
    let profile = OutputProfile::new(640, 360, 30, 2);
    let req = ClipRequest::test(&src, &info, &out)
        .frames(100_000)
        .profile(&profile);
    // Dropped once ffmpeg is writing its (temporary) output, not after a guess.
    let files = || std::fs::read_dir(dir.path()).unwrap().count();
    tokio::select! {
        r = ff.encode_clip(&req) => panic!("the encode ended: {r:?}"),
        () = crate::testkit::until("ffmpeg to write", Duration::from_secs(30), async || {
            files() == 2
        }) => {}
    }
    assert!(!out.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "temp file removed"
    );
}

/// An Ffmpeg whose "ffmpeg" is a shell script with `body` (it gets the clip
/// arguments; `$out` is the output path, and it writes its pid to `pid`).
fn fake_ffmpeg(bin: &Path, body: &str, stall: Duration) -> Ffmpeg {
    use std::os::unix::fs::PermissionsExt;
    let script = bin.join("ffmpeg");
    let pid = bin.join("pid");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nfor a in \"$@\"; do out=\"${{a#file:}}\"; done\necho $$ > '{}'\n{body}\n",
            pid.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    Ffmpeg {
        ffmpeg: script,
        ffprobe: PathBuf::from("/nonexistent/ffprobe"),
        threads: Some(1),
        nice: 0,
        stall: Duration::from_secs(60),
        version: "fake".into(),
    }
    .with_stall_limit(stall)
}

fn fake_request<'a>(info: &'a ProbeInfo, out: &'a Path, frames: u32) -> ClipRequest<'a> {
    ClipRequest::test(Path::new("/nonexistent/source.mp4"), info, out).frames(frames)
}

#[tokio::test]
async fn a_hung_ffmpeg_is_killed_after_the_stall_limit() {
    let bin = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    // One progress block, a partial output, then nothing: a hung decoder.
    let ff = fake_ffmpeg(
        bin.path(),
        "echo partial > \"$out\"\nprintf 'frame=3\\nfps=0.0\\nprogress=continue\\n'\nexec sleep 600",
        Duration::from_secs(1),
    );
    let info = source_info(false);
    let out = dir.path().join("out.ts");
    let started = std::time::Instant::now();
    let e = ff
        .encode_clip(&fake_request(&info, &out, 30))
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert_eq!(e.to_string(), "ffmpeg made no progress for 1 s: killed");
    assert!(
        matches!(e, TranscodeError::Stalled { secs: 1, .. }),
        "{e:?}"
    );
    assert!(took >= Duration::from_secs(1), "killed too early: {took:?}");
    assert!(
        took < Duration::from_secs(60),
        "the watchdog fired, not the timeout"
    );
    // Killed and reaped: not even a zombie is left.
    let pid = std::fs::read_to_string(bin.path().join("pid")).unwrap();
    let pid = pid.trim();
    assert!(!pid.is_empty());
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "process {pid} still there"
    );
    assert!(!out.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "the partial output is removed"
    );
}

#[tokio::test]
async fn a_slow_encode_that_progresses_is_not_killed() {
    let bin = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Slower overall than the stall limit, but a new frame count every 0.2 s.
    let ff = fake_ffmpeg(
        bin.path(),
        "echo clip > \"$out\"\nfor n in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do\n\
         printf 'frame=%s\\nprogress=continue\\n' $n; sleep 0.2\ndone\n\
         printf 'frame=15\\nprogress=end\\n'",
        Duration::from_secs(2),
    );
    let info = source_info(false);
    let out = dir.path().join("out.ts");
    ff.encode_clip(&fake_request(&info, &out, 15))
        .await
        .unwrap();
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "clip\n");
}
