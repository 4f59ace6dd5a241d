use std::path::Path;

use rand::SeedableRng;
use rand::rngs::StdRng;

use super::*;
use crate::testkit::media::make_video;

fn probe(duration: f64) -> ProbeInfo {
    ProbeInfo {
        duration,
        width: 640,
        height: 360,
        fps: 30.0,
        rotation: 0,
        interlaced: false,
        title: None,
        artist: None,
        color: Default::default(),
    }
}

fn touch(dir: &Path, name: &str, bytes: &[u8]) {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

/// Scans and marks every pending video usable with a fake probe of `duration`
/// (what ffprobe finds is tested in transcode; here it is the bookkeeping).
fn scan_and_fake_probe(lib: &Arc<Library>, duration: f64) -> ScanReport {
    let report = lib.scan().unwrap();
    for (id, path) in lib.store.pending_probes().unwrap() {
        let meta = SourceMeta::from_file_name(&path);
        lib.record_probe(id, &probe(duration), &meta).unwrap();
    }
    report
}

fn names(lib: &Arc<Library>) -> Vec<String> {
    classic(lib)
        .list(0, 1000)
        .unwrap()
        .iter()
        .map(|v| v.path.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

fn cut_next(lib: &Arc<Library>, rng: &mut StdRng) -> String {
    let v = classic(lib).pick(&[]).unwrap().expect("a usable video");
    classic(lib).take_clip(&v, 2.0, 3, 3, rng).unwrap();
    v.path.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn rescan_sees_added_removed_renamed_and_changed_files() {
    let d = tempfile::tempdir().unwrap();
    let lib = Library::new(Db::in_memory().unwrap(), vec![d.path().to_path_buf()], None);
    touch(d.path(), "a.mp4", b"aaaa");
    touch(d.path(), "sub/b.MKV", b"bbbbb");
    touch(d.path(), "c.webm", b"cc");
    touch(d.path(), "notes.txt", b"not a video");
    let r = scan_and_fake_probe(&lib, 60.0);
    assert_eq!(
        (r.added, r.removed, r.renamed, r.changed, r.unchanged),
        (3, 0, 0, 0, 0)
    );
    // Give b some history, to see it survive the rename.
    let mut rng = StdRng::seed_from_u64(1);
    let others: Vec<i64> = classic(&lib)
        .list(0, 10)
        .unwrap()
        .iter()
        .filter(|v| !v.path.ends_with("sub/b.MKV"))
        .map(|v| v.id)
        .collect();
    let b = classic(&lib).pick(&others).unwrap().unwrap();
    assert!(b.path.ends_with("sub/b.MKV"));
    classic(&lib).take_clip(&b, 2.0, 3, 3, &mut rng).unwrap();
    let before = classic(&lib).used_ranges(b.id).unwrap();

    let r = lib.scan().unwrap();
    assert_eq!(
        (r.added, r.unchanged),
        (0, 3),
        "an unchanged folder changes nothing"
    );

    std::fs::rename(d.path().join("sub/b.MKV"), d.path().join("b renamed.mkv")).unwrap();
    std::fs::remove_file(d.path().join("c.webm")).unwrap();
    touch(d.path(), "d.m4v", b"dddddd");
    std::fs::write(d.path().join("a.mp4"), b"a changed").unwrap();
    let r = scan_and_fake_probe(&lib, 60.0);
    assert_eq!(
        (r.added, r.removed, r.renamed, r.changed, r.unchanged),
        (1, 1, 1, 1, 0),
        "{r:?}"
    );
    let all = classic(&lib).list(0, 100).unwrap();
    let b2 = all
        .iter()
        .find(|v| v.path.ends_with("b renamed.mkv"))
        .unwrap();
    assert_eq!(b2.id, b.id, "a renamed file keeps its row");
    assert_eq!(
        classic(&lib).used_ranges(b2.id).unwrap(),
        before,
        "and its used ranges"
    );
    assert_eq!(b2.clips_cut, 1);
    assert!(
        all.iter().all(|v| !v.path.ends_with("c.webm")),
        "removed files drop out"
    );
    assert_eq!(classic(&lib).counts().unwrap().present, 3);

    // A removed file that comes back resumes its history.
    touch(d.path(), "c.webm", b"cc");
    let r = lib.scan().unwrap();
    assert_eq!(r.added, 1);
}

#[test]
fn strict_lru_new_videos_first_and_it_persists_across_a_restart() {
    let d = tempfile::tempdir().unwrap();
    let media = d.path().join("media");
    let db_path = d.path().join("state.db");
    for n in ["1.mp4", "2.mp4", "3.mp4"] {
        touch(&media, n, n.as_bytes());
    }
    let mut rng = StdRng::seed_from_u64(3);
    {
        let lib = Library::new(Db::open(&db_path).unwrap(), vec![media.clone()], None);
        scan_and_fake_probe(&lib, 100.0);
        let order: Vec<String> = (0..4).map(|_| cut_next(&lib, &mut rng)).collect();
        assert_eq!(order, ["1.mp4", "2.mp4", "3.mp4", "1.mp4"]);
    }
    // A restart: the LRU goes on where it stopped, and a new video jumps the queue.
    touch(&media, "4.mp4", b"four");
    let lib = Library::new(Db::open(&db_path).unwrap(), vec![media.clone()], None);
    scan_and_fake_probe(&lib, 100.0);
    assert_eq!(names(&lib), ["4.mp4", "2.mp4", "3.mp4", "1.mp4"]);
    let order: Vec<String> = (0..4).map(|_| cut_next(&lib, &mut rng)).collect();
    assert_eq!(order, ["4.mp4", "2.mp4", "3.mp4", "1.mp4"]);
    // Exclusions skip to the next in LRU order.
    let v = classic(&lib).pick(&[]).unwrap().unwrap();
    let w = classic(&lib).pick(&[v.id]).unwrap().unwrap();
    assert_ne!(v.id, w.id);
    assert_eq!(
        names(&lib)[1],
        w.path.file_name().unwrap().to_string_lossy()
    );
}

#[test]
fn ranges_are_recorded_and_start_over_once_the_video_is_used_up() {
    let d = tempfile::tempdir().unwrap();
    let lib = Library::new(Db::in_memory().unwrap(), vec![d.path().to_path_buf()], None);
    touch(d.path(), "v.mp4", b"v");
    scan_and_fake_probe(&lib, 12.0);
    let v = classic(&lib).pick(&[]).unwrap().unwrap();
    let mut rng = StdRng::seed_from_u64(9);
    let mut resets = 0;
    let mut covered = Vec::new();
    for _ in 0..4 {
        let cut = classic(&lib).take_clip(&v, 2.0, 2, 2, &mut rng).unwrap();
        resets += cut.reset as u32;
        covered.push(cut);
    }
    // 12 s holds three 4 s clips at most: the fourth had to start over.
    assert!(resets >= 1, "{covered:?}");
    let status = &classic(&lib).list(0, 10).unwrap()[0];
    assert_eq!(status.clips_cut, 4);
    assert_eq!(status.resets, resets as i64);
    assert!(!status.used.is_empty());
}

#[test]
fn corrupt_files_are_recorded_and_not_probed_again_until_they_change() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let ff = Ffmpeg::locate().await.unwrap();
        let d = tempfile::tempdir().unwrap();
        touch(d.path(), "broken.mp4", b"this is not a video at all");
        touch(d.path(), "empty.mkv", b"");
        let lib = Library::new(Db::in_memory().unwrap(), vec![d.path().to_path_buf()], None);
        lib.scan().unwrap();
        assert_eq!(lib.probe_pending(&ff).await.unwrap(), 2);
        let c = classic(&lib).counts().unwrap();
        assert_eq!((c.present, c.usable, c.unusable, c.pending), (2, 0, 2, 0));
        assert!(classic(&lib).pick(&[]).unwrap().is_none());
        let errors: Vec<String> = classic(&lib)
            .list(0, 10)
            .unwrap()
            .into_iter()
            .filter_map(|v| v.error)
            .collect();
        assert_eq!(errors.len(), 2);
        assert!(errors.iter().all(|e| !e.is_empty()), "{errors:?}");
        // Nothing changed: nothing is probed again.
        lib.scan().unwrap();
        assert_eq!(lib.probe_pending(&ff).await.unwrap(), 0);
        // The file changes: it gets another chance.
        std::fs::write(
            d.path().join("broken.mp4"),
            b"still not a video, but longer",
        )
        .unwrap();
        lib.scan().unwrap();
        assert_eq!(lib.probe_pending(&ff).await.unwrap(), 1);
    });
}

#[test]
fn the_watcher_picks_up_added_renamed_and_removed_files_while_running() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let ff = Ffmpeg::locate().await.unwrap().with_threads(1);
        let d = tempfile::tempdir().unwrap();
        let media = d.path().join("media");
        std::fs::create_dir_all(media.join("sub")).unwrap();
        let lib = Library::new(Db::in_memory().unwrap(), vec![media.clone()], None);
        let cancel = tokio_util::sync::CancellationToken::new();
        let task = tokio::spawn(lib.clone().run(ff, cancel.clone()));
        let wait = |what: &'static str, want: Want| {
            let lib = lib.clone();
            async move {
                let t0 = std::time::Instant::now();
                while !want(&lib) {
                    assert!(t0.elapsed().as_secs() < 60, "timed out waiting for {what}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
        };
        // Made elsewhere and moved in, as a download manager would.
        let made = d.path().join("made.mp4");
        make_video(&made, "testsrc2=size=160x90:rate=25:duration=2");
        std::fs::rename(&made, media.join("sub/new.mp4")).unwrap();
        wait(
            "the new file",
            Box::new(|l| l.counts().unwrap().usable == 1),
        )
        .await;
        let id = classic(&lib).list(0, 10).unwrap()[0].id;
        std::fs::rename(media.join("sub/new.mp4"), media.join("renamed.mp4")).unwrap();
        wait(
            "the rename",
            Box::new(|l| {
                classic(l)
                    .list(0, 10)
                    .unwrap()
                    .iter()
                    .any(|v| v.path.ends_with("renamed.mp4"))
            }),
        )
        .await;
        assert_eq!(
            classic(&lib).list(0, 10).unwrap()[0].id,
            id,
            "same video, same history"
        );
        std::fs::remove_file(media.join("renamed.mp4")).unwrap();
        wait(
            "the removal",
            Box::new(|l| l.counts().unwrap().present == 0),
        )
        .await;
        cancel.cancel();
        task.await.unwrap();
    });
}

/// `(present, last_used, clips_cut)` of a video row.
type RowState = (bool, Option<i64>, i64);

fn row_state(lib: &Arc<Library>, id: i64) -> RowState {
    let r = lib.store.row(id).unwrap();
    (r.present, r.last_used, r.clips_cut)
}

#[test]
fn a_folder_that_goes_away_keeps_its_videos_as_missing_until_it_returns() {
    let d = tempfile::tempdir().unwrap();
    let nas = d.path().join("nas");
    let local = d.path().join("local");
    touch(&nas, "n1.mp4", b"nas one");
    touch(&nas, "sub/n2.mkv", b"nas two!");
    touch(&local, "l1.mp4", b"local one");
    let db_path = d.path().join("state.db");
    let lib = Library::new(
        Db::open(&db_path).unwrap(),
        vec![nas.clone(), local.clone()],
        None,
    );
    scan_and_fake_probe(&lib, 100.0);
    // History on both NAS videos.
    let mut rng = StdRng::seed_from_u64(7);
    for _ in 0..3 {
        cut_next(&lib, &mut rng);
    }
    let nas_videos: Vec<VideoStatus> = classic(&lib)
        .list(0, 10)
        .unwrap()
        .into_iter()
        .filter(|v| v.path.starts_with(&nas))
        .collect();
    assert_eq!(nas_videos.len(), 2);
    let before: Vec<(i64, Vec<Range>, RowState)> = nas_videos
        .iter()
        .map(|v| {
            let ranges = classic(&lib).used_ranges(v.id).unwrap();
            assert!(!ranges.is_empty(), "{v:?} has history");
            (v.id, ranges, row_state(&lib, v.id))
        })
        .collect();

    // The share is unmounted: the folder is gone.
    let away = d.path().join("nas-away");
    std::fs::rename(&nas, &away).unwrap();
    let r = lib.scan().unwrap();
    assert_eq!(r.unreachable, vec![(nas.clone(), 2)], "{r:?}");
    assert_eq!((r.removed, r.went_missing, r.unchanged), (0, 2, 1), "{r:?}");
    for (id, ranges, (_, last_used, clips)) in &before {
        assert_eq!(
            row_state(&lib, *id),
            (false, *last_used, *clips),
            "missing, history kept"
        );
        assert_eq!(
            &classic(&lib).used_ranges(*id).unwrap(),
            ranges,
            "used ranges kept"
        );
    }
    assert_eq!(classic(&lib).counts().unwrap().present, 1);
    // The channel goes on with what it still has.
    for _ in 0..3 {
        assert_eq!(cut_next(&lib, &mut rng), "l1.mp4");
    }
    // An unmounted share leaves an empty mount point behind: still not reachable,
    // and a rescan changes nothing more.
    std::fs::create_dir(&nas).unwrap();
    let r = lib.scan().unwrap();
    assert_eq!(r.unreachable, vec![(nas.clone(), 2)]);
    assert_eq!((r.removed, r.went_missing, r.added), (0, 0, 0), "{r:?}");

    // It comes back (and the database survives a restart meanwhile).
    std::fs::remove_dir(&nas).unwrap();
    std::fs::rename(&away, &nas).unwrap();
    drop(lib);
    let lib = Library::new(
        Db::open(&db_path).unwrap(),
        vec![nas.clone(), local.clone()],
        None,
    );
    let r = lib.scan().unwrap();
    assert!(r.unreachable.is_empty(), "{r:?}");
    assert_eq!((r.added, r.removed, r.changed), (2, 0, 0), "{r:?}");
    for (id, ranges, (_, last_used, clips)) in &before {
        assert_eq!(
            row_state(&lib, *id),
            (true, *last_used, *clips),
            "same id, back"
        );
        assert_eq!(
            &classic(&lib).used_ranges(*id).unwrap(),
            ranges,
            "with its used ranges"
        );
    }
    assert_eq!(classic(&lib).counts().unwrap().present, 3);
    assert_eq!(
        classic(&lib).counts().unwrap().usable,
        3,
        "usable again, no probe needed"
    );
}

/// The classic channel's view of the whole library, as a one-channel release had.
/// What a test waits for the library to show.
type Want = Box<dyn Fn(&Arc<Library>) -> bool + Send>;

fn classic(lib: &Arc<Library>) -> Arc<super::ChannelLibrary> {
    lib.channel(crate::lineup::def::CLASSIC, super::everything())
}

#[tokio::test]
async fn each_channel_has_its_own_lru_order_and_used_ranges() {
    let d = tempfile::tempdir().unwrap();
    make_video(
        &d.path().join("a.mp4"),
        "testsrc2=size=160x90:rate=25:duration=4",
    );
    make_video(
        &d.path().join("b.mp4"),
        "testsrc2=size=160x90:rate=25:duration=4",
    );
    let lib = Library::new(Db::in_memory().unwrap(), vec![d.path().to_path_buf()], None);
    lib.scan().unwrap();
    lib.probe_pending(&crate::testkit::media::ff().await)
        .await
        .unwrap();
    let (one, two) = (
        lib.channel("one", everything()),
        lib.channel("two", everything()),
    );
    let mut rng = StdRng::seed_from_u64(1);
    let first = one.pick(&[]).unwrap().unwrap();
    one.take_clip(&first, 2.0, 1, 1, &mut rng).unwrap();
    // Channel one moves on; channel two has cut nothing, so it starts where one did.
    assert_ne!(one.pick(&[]).unwrap().unwrap().id, first.id);
    assert_eq!(two.pick(&[]).unwrap().unwrap().id, first.id);
    assert_eq!(one.used_ranges(first.id).unwrap().len(), 1);
    assert!(two.used_ranges(first.id).unwrap().is_empty());
    // A channel sees only what belongs to it.
    let only_b = lib.channel(
        "b",
        Arc::new(|p: &Path, _: Option<&str>| p.ends_with("b.mp4")),
    );
    assert_eq!(only_b.counts().unwrap().usable, 1);
    assert!(only_b.pick(&[]).unwrap().unwrap().path.ends_with("b.mp4"));
    assert_eq!(only_b.list(0, 10).unwrap().len(), 1);
}

#[tokio::test]
async fn a_video_first_probed_gets_a_poster_from_its_thumbnail_or_a_frame() {
    let d = tempfile::tempdir().unwrap();
    let media = d.path().join("media");
    make_video(
        &media.join("plain.mp4"),
        "testsrc2=size=640x360:rate=25:duration=3",
    );
    make_video(
        &media.join("Trip [dQw4w9WgXcQ].mp4"),
        "testsrc2=size=640x360:rate=25:duration=3",
    );
    // yt-dlp's --write-thumbnail: same stem, here a 4:3 PNG (a frame would be 16:9).
    let mut a = crate::testkit::media::args([
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=400x300",
        "-frames:v",
        "1",
    ]);
    a.push(media.join("Trip [dQw4w9WgXcQ].png").into());
    crate::testkit::media::ffmpeg(a);
    let posters = d.path().join("posters");
    let lib = Library::new(Db::in_memory().unwrap(), vec![media.clone()], None);
    lib.keep_posters_in(posters.clone());
    lib.scan().unwrap();
    let ff = crate::testkit::media::ff().await;
    assert_eq!(lib.probe_pending(&ff).await.unwrap(), 2);
    let size = |name: &str| {
        let v = classic(&lib)
            .list(0, 10)
            .unwrap()
            .into_iter()
            .find(|v| v.path.ends_with(name))
            .unwrap();
        let poster = lib.poster(v.id).expect("a poster");
        assert_eq!(poster, posters.join(format!("{}.jpg", v.id)));
        let s = &crate::testkit::media::streams(&poster)[0];
        assert_eq!(s["codec_name"], "mjpeg");
        (s["width"].as_u64().unwrap(), s["height"].as_u64().unwrap())
    };
    assert_eq!(size("plain.mp4"), (320, 180), "a frame");
    assert_eq!(
        size("Trip [dQw4w9WgXcQ].mp4"),
        (320, 240),
        "the sidecar thumbnail"
    );
    // A restart knows them from the folder; a video without one has none.
    let again = Library::new(Db::in_memory().unwrap(), Vec::new(), None);
    again.keep_posters_in(posters.clone());
    assert!(again.poster(1).is_some() && again.poster(2).is_some());
    assert_eq!(again.poster(3), None);
    assert_eq!(
        Library::new(Db::in_memory().unwrap(), Vec::new(), None).poster(1),
        None
    );
}

#[tokio::test]
async fn videos_probed_before_posters_existed_get_one_once() {
    let d = tempfile::tempdir().unwrap();
    let media = d.path().join("media");
    make_video(
        &media.join("old.mp4"),
        "testsrc2=size=320x180:rate=25:duration=3",
    );
    let db = Db::in_memory().unwrap();
    let ff = crate::testkit::media::ff().await;
    // A release without posters probed it.
    let before = Library::new(db.clone(), vec![media.clone()], None);
    before.scan().unwrap();
    assert_eq!(before.probe_pending(&ff).await.unwrap(), 1);
    // This one keeps posters: nothing is pending a probe, yet the video gets one.
    let lib = Library::new(db, vec![media.clone()], None);
    lib.keep_posters_in(d.path().join("posters"));
    lib.scan().unwrap();
    assert_eq!(lib.probe_pending(&ff).await.unwrap(), 0);
    let id = classic(&lib).list(0, 10).unwrap()[0].id;
    assert!(lib.poster(id).is_none());
    assert_eq!(lib.backfill_posters(&ff).await.unwrap(), 1);
    let poster = lib.poster(id).expect("a poster");
    assert_eq!(crate::testkit::media::streams(&poster)[0]["width"], 320);
    assert_eq!(lib.backfill_posters(&ff).await.unwrap(), 0, "made once");
}
