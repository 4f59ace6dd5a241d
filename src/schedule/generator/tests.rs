//! The generator against a real ffmpeg: chunks cut in LRU order and resumed after a
//! restart, stalls and their recovery, requests, hung and failing encodes, sources
//! changed mid-encode, and a full data disk.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::scheduler::local_time;
use super::*;
use crate::db::Db;
use crate::library::Library;
use crate::lineup::def::CLASSIC;
use crate::schedule::Playout;
use crate::schedule::pool::EncodePool;
use crate::testkit::media::make_video;
use crate::transcode::{Encoder, Ffmpeg, OutputProfile, WatermarkMode};

#[test]
fn clip_frames_are_whole_gops() {
    assert_eq!(clip_frames(6.0, 30, 60), 180);
    assert_eq!(clip_frames(7.0, 30, 60), 240); // 3.5 GOPs rounds up to 4
    assert_eq!(clip_frames(0.0, 30, 60), 60);
    assert_eq!(clip_frames(5.0, 25, 50), 150);
}

#[test]
fn watermark_modes_parse() {
    assert_eq!("".parse::<WatermarkMode>().unwrap(), WatermarkMode::None);
    assert_eq!(
        "Creator".parse::<WatermarkMode>().unwrap(),
        WatermarkMode::Creator
    );
    assert_eq!(
        "true".parse::<WatermarkMode>().unwrap(),
        WatermarkMode::Creator
    );
    assert_eq!(
        "title".parse::<WatermarkMode>().unwrap(),
        WatermarkMode::Title
    );
    let e = "logo".parse::<WatermarkMode>().unwrap_err();
    assert!(e.to_string().contains("none, creator, title"));
}

fn settings(chunks_dir: PathBuf) -> GeneratorSettings {
    GeneratorSettings {
        cache_dir: chunks_dir.join(".cache"),
        chunks_dir,
        profile: OutputProfile {
            width: 320,
            height: 180,
            fps: 30,
            gop_frames: 30,
            video_kbps: 600,
        },
        encoder: Encoder::X264,
        parallel: 1,
        seed: Some(7),
        channel: crate::settings::Channel {
            clip_min: 1.0,
            clip_max: 1.0,
            chunk_duration: 3.0,
            max_chunks: 10,
            ready_chunks: 1,
            chunks_per_run: 1,
            watermark: WatermarkMode::Title,
            ..Default::default()
        },
    }
}

async fn source(dir: &Path, name: &str) {
    let out = dir.join(name);
    tokio::task::spawn_blocking(move || {
        make_video(&out, "testsrc2=size=320x180:rate=30:duration=6")
    })
    .await
    .unwrap();
}

struct Rig {
    ff: Ffmpeg,
    db: Db,
    library: Arc<Library>,
    chunks: PathBuf,
}

impl Rig {
    async fn new(dir: &Path) -> Rig {
        let ff = Ffmpeg::locate().await.unwrap().with_threads(1);
        let db = Db::open(&dir.join("state.db")).unwrap();
        let library = Library::new(db.clone(), vec![dir.join("videos")], None);
        let chunks = dir.join("chunks");
        std::fs::create_dir_all(&chunks).unwrap();
        Rig {
            ff,
            db,
            library,
            chunks,
        }
    }

    fn classic(&self) -> Arc<crate::library::ChannelLibrary> {
        self.library.channel(CLASSIC, crate::library::everything())
    }

    async fn refresh(&self) {
        self.library.scan().unwrap();
        self.library.probe_pending(&self.ff).await.unwrap();
    }

    fn start(
        &self,
    ) -> (
        Arc<Playout>,
        GeneratorHandle,
        CancellationToken,
        tokio::task::JoinHandle<()>,
    ) {
        self.start_with(settings(self.chunks.clone()))
    }

    fn start_with(
        &self,
        p: GeneratorSettings,
    ) -> (
        Arc<Playout>,
        GeneratorHandle,
        CancellationToken,
        tokio::task::JoinHandle<()>,
    ) {
        let playout = Playout::load(self.db.clone(), CLASSIC, &self.chunks, &p.profile).unwrap();
        let (g, handle) = Generator::new(
            self.ff.clone(),
            self.db.clone(),
            self.library.channel(CLASSIC, crate::library::everything()),
            playout.clone(),
            EncodePool::new(p.parallel),
            p,
        );
        let cancel = CancellationToken::new();
        let task = tokio::spawn(g.run(cancel.clone()));
        (playout, handle, cancel, task)
    }
}

async fn until(what: &str, mut f: impl FnMut() -> bool) {
    crate::testkit::until(what, Duration::from_secs(120), async || f()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunks_take_each_clip_from_another_video_in_lru_order_and_resume_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    for n in ["a.mp4", "b.mp4", "c.mp4", "d.mp4"] {
        source(&dir.path().join("videos"), n).await;
    }
    let rig = Rig::new(dir.path()).await;
    rig.refresh().await;
    let (playout, handle, cancel, task) = rig.start();
    // Stop it as soon as the first clip exists: the chunk is a job left half done.
    until("a first clip", || {
        playout
            .chunks()
            .first()
            .is_some_and(|c| !c.clips.is_empty())
    })
    .await;
    let status = handle.status();
    assert_eq!(status.state, GeneratorState::Generating);
    cancel.cancel();
    task.await.unwrap();
    let first = playout.chunks()[0].clone();
    assert!(!first.complete);

    // The next run finishes the same chunk rather than starting another.
    let (playout, _handle, cancel, task) = rig.start();
    // Its strip is made once it is complete.
    until("the chunk to complete with its strip", || {
        playout
            .chunks()
            .first()
            .is_some_and(|c| c.complete && c.strip.is_some())
    })
    .await;
    cancel.cancel();
    task.await.unwrap();
    let chunk = playout.chunks()[0].clone();
    assert_eq!(chunk.id, first.id);
    assert_eq!(chunk.clips.len(), 3, "3 s of 1 s clips");
    let videos = playout.clip_videos(&chunk.id).unwrap();
    assert_eq!(
        videos,
        [1, 2, 3],
        "never-used videos first, in order, each once"
    );
    for v in &videos {
        assert_eq!(rig.classic().used_ranges(*v).unwrap().len(), 1);
    }
    // d was never used, so it is next; a is now the least recently used after it.
    let next = rig.classic().pick(&[]).unwrap().unwrap();
    assert!(next.path.ends_with("d.mp4"));
    let after = rig.classic().pick(&[next.id]).unwrap().unwrap();
    assert!(after.path.ends_with("a.mp4"));
    // Files on disk are exactly the clips recorded, their pictures and the
    // chunk's strip, made when it completed.
    let mut files = walk_names(&chunk.dir);
    files.sort();
    let clips = ["clip-0000", "clip-0001", "clip-0002"];
    let mut want: Vec<String> = clips
        .iter()
        .flat_map(|c| [format!("{c}.jpg"), format!("{c}.ts")])
        .collect();
    want.push(super::super::STRIP_FILE.to_string());
    assert_eq!(files, want);
    assert!(chunk.clips.iter().all(|k| k.info.picture.is_some()));
    assert_eq!(chunk.strip, Some(chunk.dir.join(super::super::STRIP_FILE)));
}

/// With a ladder, every clip is made in every rung by one run: each rung's file
/// beside the clip, its height recorded with the clip (and read back by a
/// restarted playout), and the clip's size counting every rung.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ladder_makes_every_clip_in_every_rung_and_counts_them_all() {
    let dir = tempfile::tempdir().unwrap();
    for n in ["a.mp4", "b.mp4", "c.mp4"] {
        source(&dir.path().join("videos"), n).await;
    }
    let rig = Rig::new(dir.path()).await;
    rig.refresh().await;
    let mut p = settings(rig.chunks.clone());
    p.channel.renditions = "144p@200".parse().unwrap();
    let (playout, _handle, cancel, task) = rig.start_with(p.clone());
    until("a complete chunk", || {
        playout.chunks().first().is_some_and(|c| c.complete)
    })
    .await;
    cancel.cancel();
    task.await.unwrap();
    // Read back from the database, as a restart would.
    let playout = Playout::load(rig.db.clone(), CLASSIC, &rig.chunks, &p.profile).unwrap();
    let chunk = playout.chunks()[0].clone();
    assert_eq!(chunk.clips.len(), 3);
    for k in &chunk.clips {
        assert_eq!(k.info.rungs, [144]);
        let low = crate::clip::rung_file(&k.path, 144);
        let v = &crate::testkit::media::streams(&low)[0];
        assert_eq!(
            (v["width"].as_u64(), v["height"].as_u64()),
            (Some(256), Some(144))
        );
        let both =
            std::fs::metadata(&k.path).unwrap().len() + std::fs::metadata(&low).unwrap().len();
        assert_eq!(k.info.size_bytes, both, "the size counts every rung");
    }
    let names = walk_names(&chunk.dir);
    assert!(
        names.contains(&"clip-0002.144p.ts".to_string()),
        "{names:?}"
    );
}

// On one thread: its stall is watched on the paused clock, which only such a
// runtime has.
#[tokio::test]
async fn a_generation_that_cannot_progress_stalls_with_a_reason_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let videos = dir.path().join("videos");
    std::fs::create_dir_all(&videos).unwrap();
    let rig = Rig::new(dir.path()).await;
    let (playout, handle, cancel, task) = rig.start();
    // An empty folder: waiting, not failing.
    let mut rx = handle.subscribe();
    until("waiting for the library", || {
        rx.borrow_and_update().state == GeneratorState::WaitingForLibrary
    })
    .await;
    // Only broken files: stalled, with the reason, and no chunk churn.
    std::fs::write(videos.join("broken.mp4"), b"not a video").unwrap();
    std::fs::write(videos.join("empty.mkv"), b"").unwrap();
    rig.refresh().await;
    until("a stall", || {
        matches!(handle.status().state, GeneratorState::Stalled { .. })
    })
    .await;
    let GeneratorState::Stalled { reason } = handle.status().state else {
        unreachable!()
    };
    assert!(
        reason.contains("none of the 2 videos is usable"),
        "{reason}"
    );
    // It stays stalled, with no churn, until something changes: no timer brings
    // it back (the retry is a full disk's only). An hour passes in no time on the
    // paused clock, once the reference encode is done: a real process running
    // then would see its time limits come early.
    until("the reference encode", || {
        walk_names(&rig.chunks.join(".cache"))
            .iter()
            .any(|n| n.starts_with("reference-") && n.ends_with(".ts"))
    })
    .await;
    rx.mark_unchanged();
    tokio::time::pause();
    tokio::time::sleep(Duration::from_secs(3600)).await;
    tokio::time::resume();
    assert!(
        !rx.has_changed().unwrap(),
        "the status changed: {:?}",
        *rx.borrow()
    );
    assert!(matches!(
        handle.status().state,
        GeneratorState::Stalled { .. }
    ));
    assert!(playout.chunks().is_empty(), "no empty chunk left behind");
    assert!(
        rig.db.chunks(CLASSIC).all().unwrap().is_empty(),
        "nor its record"
    );
    // A usable video arrives: the generator goes on by itself.
    source(&videos, "good.mp4").await;
    rig.refresh().await;
    until("a ready chunk", || {
        playout.chunks().iter().any(|c| c.complete)
    })
    .await;
    cancel.cancel();
    task.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_make_chunks_beyond_the_ready_target_and_persist() {
    let dir = tempfile::tempdir().unwrap();
    for n in ["a.mp4", "b.mp4"] {
        source(&dir.path().join("videos"), n).await;
    }
    let rig = Rig::new(dir.path()).await;
    rig.refresh().await;
    let (playout, handle, cancel, task) = rig.start();
    until("the ready target", || {
        playout.chunks().iter().filter(|c| c.complete).count() == 1
    })
    .await;
    until("idle", || handle.status().state == GeneratorState::Idle).await;
    assert!(handle.send(GeneratorCommand::Generate(2)));
    until("two more chunks", || {
        playout.chunks().iter().filter(|c| c.complete).count() == 3
    })
    .await;
    until("idle again", || {
        handle.status().state == GeneratorState::Idle && handle.status().requested == 0
    })
    .await;
    // A request outlives a restart.
    assert!(handle.send(GeneratorCommand::Stop));
    until("stopped", || {
        handle.status().state == GeneratorState::Stopped
    })
    .await;
    cancel.cancel();
    task.await.unwrap();
    rig.db.set_meta("main/requested_chunks", "1").unwrap();
    let (playout, _handle, cancel, task) = rig.start();
    until("the persisted request", || {
        playout.chunks().iter().filter(|c| c.complete).count() == 4
    })
    .await;
    cancel.cancel();
    task.await.unwrap();
    let made: i64 = rig
        .db
        .meta("main/chunks_created")
        .unwrap()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(made, 4);
}

/// A real ffmpeg behind a shell script that runs `on_match` instead when an
/// argument ends in `name` (stdout is the -progress pipe).
async fn wrapped_ffmpeg(dir: &Path, name: &str, on_match: &str) -> Ffmpeg {
    use std::os::unix::fs::PermissionsExt;
    let real = Ffmpeg::locate().await.unwrap();
    // Named ffmpeg, as errors name the program by its file name.
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = bin.join("ffmpeg");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nfor a in \"$@\"; do case \"$a\" in *{name}) {on_match};; esac; done\nexec '{}' \"$@\"\n",
            real.ffmpeg_path().display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    Ffmpeg::locate_with(Some(&script), Some(real.ffprobe_path()))
        .await
        .unwrap()
        .with_threads(1)
}

/// `(id, present, error)` of the video whose path ends in `name`.
fn video_row(db: &Db, name: &str) -> (i64, bool, Option<String>) {
    let r = db.library().row_named(name).unwrap();
    (r.id, r.present, r.error)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_encode_is_killed_and_counted_against_its_source_and_the_chunk_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let videos = dir.path().join("videos");
    // The first in line hangs after one progress block.
    for n in ["0-hangs.mp4", "a.mp4", "b.mp4", "c.mp4"] {
        source(&videos, n).await;
    }
    let mut rig = Rig::new(dir.path()).await;
    rig.ff = wrapped_ffmpeg(
        dir.path(),
        "0-hangs.mp4",
        "printf 'frame=0\\nprogress=continue\\n'; exec sleep 600",
    )
    .await
    .with_stall_limit(Duration::from_secs(5));
    rig.refresh().await;
    let (playout, handle, cancel, task) = rig.start();
    until("a complete chunk", || {
        playout.chunks().first().is_some_and(|c| c.complete)
    })
    .await;
    cancel.cancel();
    task.await.unwrap();
    let (id, present, error) = video_row(&rig.db, "0-hangs.mp4");
    assert!(present);
    assert_eq!(
        error.as_deref(),
        Some("encode failed: ffmpeg made no progress for 5 s: killed"),
        "set aside with the reason"
    );
    assert!(handle.status().encode_failures >= 1);
    let chunk = playout.chunks()[0].clone();
    assert_eq!(chunk.clips.len(), 3, "the chunk went on without it");
    assert!(!playout.clip_videos(&chunk.id).unwrap().contains(&id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_whose_folder_goes_away_mid_encode_is_missing_not_broken() {
    let dir = tempfile::tempdir().unwrap();
    let nas = dir.path().join("nas");
    let away = dir.path().join("nas-away");
    let videos = dir.path().join("videos");
    source(&nas, "0-on-nas.mp4").await;
    for n in ["a.mp4", "b.mp4", "c.mp4"] {
        source(&videos, n).await;
    }
    let ff = wrapped_ffmpeg(
        dir.path(),
        "0-on-nas.mp4",
        &format!(
            "mv '{}' '{}'; echo 'No such file or directory' >&2; exit 1",
            nas.display(),
            away.display()
        ),
    )
    .await;
    let db = Db::open(&dir.path().join("state.db")).unwrap();
    let library = Library::new(db.clone(), vec![nas.clone(), videos.clone()], None);
    let chunks = dir.path().join("chunks");
    std::fs::create_dir_all(&chunks).unwrap();
    let rig = Rig {
        ff,
        db,
        library,
        chunks,
    };
    rig.refresh().await;
    let (playout, handle, cancel, task) = rig.start();
    until("a complete chunk", || {
        playout.chunks().first().is_some_and(|c| c.complete)
    })
    .await;
    cancel.cancel();
    task.await.unwrap();
    assert!(away.exists(), "the wrapper took the folder away");
    let (id, present, error) = video_row(&rig.db, "0-on-nas.mp4");
    assert_eq!((present, error), (false, None), "missing, not set aside");
    assert_eq!(handle.status().encode_failures, 0);
    assert_eq!(playout.chunks()[0].clips.len(), 3);
    // Back: the same video, usable again.
    std::fs::rename(&away, &nas).unwrap();
    rig.library.scan().unwrap();
    assert_eq!(video_row(&rig.db, "0-on-nas.mp4"), (id, true, None));
    assert_eq!(rig.library.counts().unwrap().usable, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_data_disk_pauses_generation_with_the_reason_and_it_resumes_by_itself() {
    let disk = crate::testkit::disk::Tmpfs::mount(8 * 1024);
    let dir = tempfile::tempdir().unwrap();
    for n in ["a.mp4", "b.mp4", "c.mp4"] {
        source(&dir.path().join("videos"), n).await;
    }
    let mut rig = Rig::new(dir.path()).await;
    rig.chunks = disk.path().join("chunks");
    std::fs::create_dir_all(&rig.chunks).unwrap();
    // Each clip encode (its argument naming a source) is one line here.
    let log = dir.path().join("encodes");
    rig.ff = wrapped_ffmpeg(
        dir.path(),
        "/videos/*.mp4",
        &format!("echo \"$a\" >> '{}'", log.display()),
    )
    .await;
    let encodes = || {
        std::fs::read_to_string(&log)
            .map(|s| s.lines().count())
            .unwrap_or(0)
    };
    rig.refresh().await;
    // A few KiB left: every clip encode meets ENOSPC (a real one, from the
    // kernel; ffmpeg says "No space left on device" and still exits 0).
    disk.fill(8 * 1024);
    assert!(free_bytes(disk.path()) <= 16 * 1024, "the disk is full");
    let (playout, handle, cancel, task) = rig.start();
    let paused = || {
        matches!(&handle.status().state, GeneratorState::Stalled { reason }
            if reason.starts_with("the data disk is full: "))
    };
    until("a pause for the full disk", paused).await;
    // It tries again (DISK_FULL_RETRY is 1 s here) and pauses again, for as long
    // as the disk stays full, and never counts that against the sources. Real
    // time: each retry runs ffmpeg, which the paused clock would hurry.
    let first = encodes();
    assert!(first >= 1, "the pause came from an encode");
    until("two retries, each an encode", || encodes() >= first + 2).await;
    until("a pause for the full disk, after retries", paused).await;
    let status = handle.status();
    assert_eq!(status.encode_failures, 0, "not the sources' fault");
    assert_eq!(status.clips_encoded, 0);
    let counts = rig.library.counts().unwrap();
    assert_eq!((counts.usable, counts.unusable), (3, 0), "none set aside");
    for n in ["a.mp4", "b.mp4", "c.mp4"] {
        let (id, present, error) = video_row(&rig.db, n);
        assert_eq!((present, error), (true, None));
        assert!(
            rig.classic().used_ranges(id).unwrap().is_empty(),
            "nothing used up"
        );
    }
    let chunks = playout.chunks();
    assert_eq!(chunks.len(), 1, "one chunk, taken up again at each retry");
    assert!(
        !chunks[0].complete,
        "it stays 'building': nothing half-written is ready"
    );
    assert!(chunks[0].clips.is_empty());
    let partials = |root: &Path| -> Vec<String> {
        walk_names(root)
            .into_iter()
            .filter(|n| n.ends_with(".part"))
            .collect()
    };
    assert!(
        partials(&rig.chunks).is_empty(),
        "{:?}",
        partials(&rig.chunks)
    );
    // Space returns: generation resumes by itself, the same chunk.
    disk.free();
    assert!(free_bytes(disk.path()) > 4 << 20);
    until("a complete chunk", || {
        playout.chunks().iter().any(|c| c.complete)
    })
    .await;
    cancel.cancel();
    task.await.unwrap();
    let chunk = playout.chunks().into_iter().find(|c| c.complete).unwrap();
    assert_eq!(chunk.id, chunks[0].id);
    assert_eq!(chunk.clips.len(), 3, "3 s of 1 s clips");
    for clip in &chunk.clips {
        assert_eq!(
            crate::testkit::media::frame_count(&clip.path),
            30,
            "{} is whole",
            clip.path.display()
        );
    }
    assert_eq!(handle.status().encode_failures, 0);
    assert!(
        partials(&rig.chunks).is_empty(),
        "{:?}",
        partials(&rig.chunks)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_replaced_or_truncated_mid_encode_is_rescanned_not_set_aside() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let videos = dir.path().join("videos");
    for n in [
        "0-replaced.mp4",
        "1-truncated.mp4",
        "a.mp4",
        "b.mp4",
        "c.mp4",
    ] {
        source(&videos, n).await;
    }
    // What 0-replaced.mp4 becomes: another video, 8 s long.
    let other = dir.path().join("other.mp4");
    {
        let other = other.clone();
        tokio::task::spawn_blocking(move || {
            make_video(&other, "testsrc2=size=320x180:rate=30:duration=8")
        })
        .await
        .unwrap();
    }
    let mut rig = Rig::new(dir.path()).await;
    rig.refresh().await;
    let before = |n| {
        let (id, ..) = video_row(&rig.db, n);
        id
    };
    let (replaced, truncated) = (before("0-replaced.mp4"), before("1-truncated.mp4"));
    // A real ffmpeg behind a script, once per source: 0-replaced.mp4 is encoded
    // whole and then replaced before ffmpeg has exited; 1-truncated.mp4 is cut
    // short after its encode began, before ffmpeg reads it.
    let real = Ffmpeg::locate().await.unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = bin.join("ffmpeg");
    let (src_r, src_t, marks) = (
        videos.join("0-replaced.mp4"),
        videos.join("1-truncated.mp4"),
        dir.path(),
    );
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nreal='{real}'\n\
             for a in \"$@\"; do case \"$a\" in\n\
             *0-replaced.mp4) [ -e '{m}/r' ] || {{ touch '{m}/r'; \"$real\" \"$@\"; rc=$?; \
               cp '{other}' '{src_r}.new' && mv '{src_r}.new' '{src_r}'; exit $rc; }};;\n\
             *1-truncated.mp4) [ -e '{m}/t' ] || {{ touch '{m}/t'; truncate -s 20000 '{src_t}'; }};;\n\
             esac; done\nexec \"$real\" \"$@\"\n",
            real = real.ffmpeg_path().display(),
            m = marks.display(),
            other = other.display(),
            src_r = src_r.display(),
            src_t = src_t.display(),
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    rig.ff = Ffmpeg::locate_with(Some(&script), Some(real.ffprobe_path()))
        .await
        .unwrap()
        .with_threads(1);
    let (playout, handle, cancel, task) = rig.start();
    until("a complete chunk", || {
        playout.chunks().first().is_some_and(|c| c.complete)
    })
    .await;
    cancel.cancel();
    task.await.unwrap();
    assert!(dir.path().join("r").exists() && dir.path().join("t").exists());
    assert_eq!(handle.status().encode_failures, 0, "not the sources' fault");
    let chunk = playout.chunks()[0].clone();
    assert_eq!(chunk.clips.len(), 3, "the chunk went on without them");
    let used = playout.clip_videos(&chunk.id).unwrap();
    assert!(
        !used.contains(&replaced) && !used.contains(&truncated),
        "{used:?}"
    );
    let files = walk_names(&chunk.dir);
    let count = |ext: &str| {
        files
            .iter()
            .filter(|f| f.starts_with("clip-") && f.ends_with(ext))
            .count()
    };
    assert_eq!(
        (count(".ts"), count(".jpg")),
        (3, 3),
        "clip and picture dropped: {files:?}"
    );
    for (id, name) in [(replaced, "0-replaced.mp4"), (truncated, "1-truncated.mp4")] {
        assert_eq!(
            video_row(&rig.db, name),
            (id, true, None),
            "kept, not set aside"
        );
        assert!(
            rig.classic().used_ranges(id).unwrap().is_empty(),
            "nothing used up"
        );
    }
    // The rescan found both changed: probed again, as any changed file is.
    assert_eq!(rig.library.counts().unwrap().pending, 2);
    rig.refresh().await;
    let duration = rig.db.library().row(replaced).unwrap().duration.unwrap();
    assert!(
        (duration - 8.0).abs() < 0.1,
        "re-probed as the new file: {duration}"
    );
    assert_eq!(video_row(&rig.db, "0-replaced.mp4"), (replaced, true, None));
    // The cut-short file is judged by the probe, as a file, not as a failed encode.
    let (_, _, error) = video_row(&rig.db, "1-truncated.mp4");
    assert!(
        error
            .as_deref()
            .is_none_or(|e| !e.starts_with("encode failed")),
        "{error:?}"
    );
}

/// Bytes free on the file system holding `path`.
fn free_bytes(path: &Path) -> u64 {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: a valid C string and a statvfs to fill in.
    assert_eq!(unsafe { libc::statvfs(c.as_ptr(), &mut st) }, 0);
    st.f_bavail as u64 * st.f_frsize as u64
}

fn walk_names(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk_names(&p));
        } else {
            out.push(e.file_name().to_string_lossy().into_owned());
        }
    }
    out
}

#[test]
fn local_now_follows_the_time_zone_with_threads_running() {
    // A thread is running, as under tokio: the offset must still be local.
    let _t = std::thread::spawn(|| std::thread::sleep(std::time::Duration::from_millis(200)));
    let expected = chrono::Local::now().offset().local_minus_utc();
    let now = local_time(std::time::SystemTime::now());
    assert_eq!(now.offset().whole_seconds(), expected);
}
