use super::*;
use crate::lineup::def::CLASSIC;

fn profile() -> OutputProfile {
    OutputProfile::new(1280, 720, 30, 2)
}

struct Fixture {
    dir: tempfile::TempDir,
    db: Db,
    playout: Arc<Playout>,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("state.db")).unwrap();
        std::fs::create_dir_all(dir.path().join("chunks")).unwrap();
        let playout =
            Playout::load(db.clone(), CLASSIC, &dir.path().join("chunks"), &profile()).unwrap();
        Fixture { dir, db, playout }
    }

    fn chunks_dir(&self) -> PathBuf {
        self.dir.path().join("chunks")
    }

    /// The playout of a restart (the airings handed to the writer so far written).
    fn reload(&self, p: &OutputProfile) -> Arc<Playout> {
        self.playout.flush();
        Playout::load(self.db.clone(), CLASSIC, &self.chunks_dir(), p).unwrap()
    }

    fn begin(&self, id: &str) {
        let dir = self.chunks_dir().join(id);
        std::fs::create_dir_all(&dir).unwrap();
        self.playout
            .begin_chunk(id, dir, &profile(), "libx264", 12.0)
            .unwrap();
    }

    fn add(&self, id: &str, i: usize, size: u64) {
        self.add_on(&self.playout, id, i, size);
    }

    /// Adds a clip through `p` (a reloaded playout: the generator of a restart).
    fn add_on(&self, p: &Playout, id: &str, i: usize, size: u64) {
        let file = format!("clip-{i:04}.ts");
        let path = self.chunks_dir().join(id).join(&file);
        std::fs::write(&path, vec![0u8; size as usize]).unwrap();
        let info = Arc::new(ClipInfo {
            id: format!("{id}/{i}"),
            title: format!("{id} {i}"),
            chunk: Some(id.into()),
            source: Some(format!("/v/{id}.mp4").into()),
            source_start: i as f64 * 6.0,
            duration: 6.0,
            size_bytes: size,
            encoder: "libx264".into(),
            ..ClipInfo::default()
        });
        p.add_clip(id, ClipRef { path, info }).unwrap();
    }

    fn chunk(&self, id: &str, clips: usize) {
        self.begin(id);
        for i in 0..clips {
            self.add(id, i, 100);
        }
        assert!(self.playout.complete_chunk(id).unwrap().is_none());
    }
}

fn ids(p: &Playout, n: usize) -> Vec<String> {
    (0..n)
        .map(|_| {
            p.next_clip()
                .map(|c| c.info.id.clone())
                .unwrap_or_else(|| "-".into())
        })
        .collect()
}

#[test]
fn growing_chunk_airs_at_fresh_start_and_waits_for_clips() {
    let f = Fixture::new();
    assert!(f.playout.next_clip().is_none());
    f.begin("a");
    f.add("a", 0, 10);
    assert_eq!(ids(&f.playout, 2), ["a/0", "-"]);
    f.add("a", 1, 10);
    f.playout.complete_chunk("a").unwrap();
    // Only one chunk exists: it airs again rather than the stream stopping.
    assert_eq!(ids(&f.playout, 3), ["a/1", "a/0", "a/1"]);
}

#[test]
fn a_restart_mid_first_chunk_airs_the_growing_chunk_again_at_once() {
    let f = Fixture::new();
    f.begin("a");
    f.add("a", 0, 10);
    f.add("a", 1, 10);
    assert_eq!(ids(&f.playout, 2), ["a/0", "a/1"]);
    // The stop leaves a building, aired once, with two clips: the restart airs them
    // again rather than the slate, and goes on with the clips the generator adds.
    let p = f.reload(&profile());
    assert_eq!(p.chunks()[0].times_aired, 1);
    assert!(!p.chunks()[0].complete);
    assert_eq!(ids(&p, 3), ["a/0", "a/1", "-"]);
    let (current, next) = p.upcoming(2, false);
    let (current, _) = current.expect("a on air");
    assert_eq!(current.id, "a");
    assert_eq!(current.target_secs, 12.0);
    // Once a is complete it airs again (nothing else exists): the guide says so
    // rather than counting a as growing twice.
    assert_eq!(
        next.iter().map(|u| u.chunk.id.as_str()).collect::<Vec<_>>(),
        ["a", "a"]
    );
    assert!(
        next.iter().all(|u| !u.sure),
        "re-airs are not sure: a new chunk would come first"
    );
    f.add_on(&p, "a", 2, 10);
    assert_eq!(ids(&p, 1), ["a/2"]);
    p.complete_chunk("a").unwrap();
    assert_eq!(ids(&p, 2), ["a/0", "a/1"]);
}

#[test]
fn a_restart_with_a_complete_chunk_airs_it_rather_than_the_growing_one() {
    let f = Fixture::new();
    f.chunk("a", 1);
    assert_eq!(ids(&f.playout, 1), ["a/0"]);
    f.begin("b");
    f.add("b", 0, 10);
    assert_eq!(ids(&f.playout, 1), ["b/0"]);
    let p = f.reload(&profile());
    // b aired before the stop and is still growing: a (complete) re-airs first,
    // then b as it is made (nothing else is complete), not a twice in a row.
    assert_eq!(ids(&p, 3), ["a/0", "b/0", "-"]);
    f.add_on(&p, "b", 1, 10);
    assert_eq!(ids(&p, 1), ["b/1"]);
    p.complete_chunk("b").unwrap();
    assert_eq!(ids(&p, 1), ["a/0"]);
}

#[test]
fn never_aired_first_then_least_recently_aired_never_twice_in_a_row() {
    let f = Fixture::new();
    f.chunk("a", 1);
    f.chunk("b", 1);
    assert_eq!(ids(&f.playout, 2), ["a/0", "b/0"]);
    f.begin("c");
    f.add("c", 0, 10);
    // c is still growing and others are complete: re-air a (least recent), not c.
    assert_eq!(ids(&f.playout, 1), ["a/0"]);
    f.playout.complete_chunk("c").unwrap();
    assert_eq!(ids(&f.playout, 3), ["c/0", "b/0", "a/0"]);
}

#[test]
fn airings_persist_and_a_restart_goes_on_in_order() {
    let f = Fixture::new();
    f.chunk("a", 1);
    f.chunk("b", 1);
    f.chunk("c", 1);
    assert_eq!(ids(&f.playout, 2), ["a/0", "b/0"]);
    let p = f.reload(&profile());
    let chunks = p.chunks();
    let aired: Vec<(String, u32)> = chunks
        .iter()
        .map(|c| (c.id.clone(), c.times_aired))
        .collect();
    assert_eq!(aired, [("a".into(), 1), ("b".into(), 1), ("c".into(), 0)]);
    assert_eq!(chunks[0].size_bytes, 100);
    assert_eq!(chunks[0].duration, 6.0);
    // Never-aired c first, then a (aired longest ago).
    assert_eq!(ids(&p, 2), ["c/0", "a/0"]);
    p.flush();
    let n = f.db.meta("main/chunks_aired").unwrap();
    assert_eq!(n.as_deref(), Some("4"));
}

#[test]
fn play_next_airs_the_chosen_chunk_after_the_current_one() {
    let f = Fixture::new();
    for id in ["a", "b", "c"] {
        f.chunk(id, 2);
    }
    assert_eq!(ids(&f.playout, 1), ["a/0"]);
    assert!(f.playout.play_next("c"));
    assert!(!f.playout.play_next("nope"));
    assert_eq!(ids(&f.playout, 3), ["a/1", "c/0", "c/1"]);
    assert_eq!(ids(&f.playout, 1), ["b/0"]);
}

#[test]
fn play_next_takes_back_a_chunk_loaded_ahead_but_not_aired() {
    let f = Fixture::new();
    for id in ["a", "b", "c"] {
        f.chunk(id, 2);
    }
    // The engine loads ahead: a/1 airs while b/0 and b/1 are already pulled.
    let pulled: Vec<(ClipRef, u64)> = (0..4).map(|_| f.playout.next_cued().unwrap()).collect();
    assert_eq!(pulled[3].0.info.id, "b/1");
    assert_eq!(pulled[3].1, 0);
    let airing = pulled[1].0.info.clone();
    // No pick: nothing to take back.
    assert_eq!(f.playout.recue(Some(&airing)), None);
    assert!(f.playout.play_next("c"));
    let cue = f.playout.recue(Some(&airing)).expect("b is taken back");
    assert_eq!(cue, 1);
    let (next, next_cue) = f.playout.next_cued().unwrap();
    assert_eq!((next.info.id.as_str(), next_cue), ("c/0", 1));
    // b's airing is undone, in memory and in the database, so it still counts as new.
    let b = f
        .playout
        .chunks()
        .into_iter()
        .find(|c| c.id == "b")
        .unwrap();
    assert_eq!(b.times_aired, 0);
    assert_eq!(f.reload(&profile()).chunks()[1].times_aired, 0);
    assert_eq!(ids(&f.playout, 2), ["c/1", "b/0"]);
    // Once a chunk is on air there is nothing to take back.
    let b0 = f.playout.chunks()[1].clips[0].info.clone();
    assert!(f.playout.play_next("a"));
    assert_eq!(f.playout.recue(Some(&b0)), None);
}

#[test]
fn pulls_recues_and_picks_never_wait_on_sqlite_and_the_writer_records_them_in_order() {
    let f = Fixture::new();
    for id in ["a", "b", "c"] {
        f.chunk(id, 2);
    }
    let mut changed = f.playout.changed();
    changed.borrow_and_update();
    // A rescan holds the connection for its whole reconcile: the engine's side of
    // the playout goes on meanwhile.
    let held = f.db.hold();
    let playout = f.playout.clone();
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let pulled: Vec<ClipRef> = (0..3).map(|_| playout.next_clip().unwrap()).collect();
        assert!(playout.play_next("c"));
        let cue = playout.recue(Some(&pulled[1].info));
        let next = playout.next_clip().unwrap();
        done.send((cue, next.info.id.clone())).unwrap();
    });
    let (cue, next) = finished
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("the engine's calls waited on the database");
    // a/0 and a/1 pulled, then b/0: b is taken back for c.
    assert_eq!((cue, next.as_str()), (Some(1), "c/0"));
    assert!(changed.has_changed().unwrap(), "the loader was told");
    drop(held);
    // Written in order once the connection is free: a aired, b aired and undone, c aired.
    let p = f.reload(&profile());
    let aired: Vec<(String, u32)> = p
        .chunks()
        .iter()
        .map(|c| (c.id.clone(), c.times_aired))
        .collect();
    assert_eq!(aired, [("a".into(), 1), ("b".into(), 0), ("c".into(), 1)]);
    assert_eq!(
        f.db.meta("main/chunks_aired").unwrap().as_deref(),
        Some("2")
    );
    // The airing clock went on in memory, and so it is stored: b's tick is spent.
    assert_eq!(f.db.airings(CLASSIC).clock().unwrap(), 3);
    let (a, c) = (&p.chunks()[0], &p.chunks()[2]);
    assert!(a.last_aired < c.last_aired && c.last_aired == Some(3));
    assert!(c.last_aired_at.is_some());
}

#[test]
fn the_loader_is_told_when_a_clip_becomes_ready() {
    let f = Fixture::new();
    let mut changed = f.playout.changed();
    changed.borrow_and_update();
    f.begin("a");
    assert!(
        !changed.has_changed().unwrap(),
        "an empty chunk holds nothing to air"
    );
    f.add("a", 0, 10);
    assert!(changed.has_changed().unwrap(), "a clip added");
    changed.borrow_and_update();
    assert!(f.playout.complete_chunk("a").unwrap().is_none());
    assert!(changed.has_changed().unwrap(), "a chunk completed");
    changed.borrow_and_update();
    assert!(f.playout.play_next("a"));
    assert!(changed.has_changed().unwrap(), "an operator's pick");
}

#[test]
fn recue_midway_through_a_chunk_goes_on_after_the_airing_clip() {
    let f = Fixture::new();
    f.chunk("a", 3);
    f.chunk("b", 1);
    f.chunk("c", 1);
    // a/0 airs; a/1, a/2 and b/0 are loaded ahead.
    let pulled: Vec<ClipRef> = (0..4).map(|_| f.playout.next_clip().unwrap()).collect();
    assert_eq!(pulled[3].info.id, "b/0");
    assert!(f.playout.play_next("c"));
    assert_eq!(f.playout.recue(Some(&pulled[0].info)), Some(1));
    assert_eq!(ids(&f.playout, 4), ["a/1", "a/2", "c/0", "b/0"]);
}

#[test]
fn evict_keeps_max_chunks_and_spares_airing_unaired_and_queued() {
    let f = Fixture::new();
    for id in ["a", "b", "c", "d", "e"] {
        f.chunk(id, 1);
    }
    // a, b, c aired (c airing now, b maybe still on air); d queued; e unaired.
    assert_eq!(ids(&f.playout, 3), ["a/0", "b/0", "c/0"]);
    assert!(f.playout.play_next("d"));
    let gone = f.playout.evict(2, None).unwrap();
    assert_eq!(gone, vec![f.chunks_dir().join("a")]);
    let left: Vec<String> = f.playout.chunks().into_iter().map(|c| c.id).collect();
    assert_eq!(left, ["b", "c", "d", "e"], "nothing more may go");
    // The records go with the chunk: a playout loaded again has none of it.
    assert!(f.playout.chunk("a").is_none());
    assert!(f.reload(&profile()).chunk("a").is_none());
}

#[test]
fn evict_keeps_the_disk_budget_oldest_airing_first() {
    let f = Fixture::new();
    for id in ["a", "b", "c", "d"] {
        f.begin(id);
        f.add(id, 0, 1000);
        f.playout.complete_chunk(id).unwrap();
    }
    assert_eq!(ids(&f.playout, 4), ["a/0", "b/0", "c/0", "d/0"]);
    assert_eq!(ids(&f.playout, 1), ["a/0"]); // a re-aired: b is now the oldest airing
    let gone = f.playout.evict(100, Some(3500)).unwrap();
    assert_eq!(gone, vec![f.chunks_dir().join("b")]);
    let gone = f.playout.evict(100, Some(1500)).unwrap();
    // c next; then a and d are on air (current and previous): over budget, but kept.
    assert_eq!(gone, vec![f.chunks_dir().join("c")]);
}

#[test]
fn delete_refuses_the_airing_chunk() {
    let f = Fixture::new();
    f.chunk("a", 2);
    f.chunk("b", 1);
    assert_eq!(ids(&f.playout, 1), ["a/0"]);
    assert!(f.playout.delete("a").unwrap().is_none(), "a is on air");
    assert_eq!(
        f.playout.delete("b").unwrap(),
        Some(f.chunks_dir().join("b"))
    );
    assert!(f.playout.delete("b").unwrap().is_none(), "already gone");
}

#[test]
fn load_resumes_building_chunks_and_drops_other_profiles_and_strays() {
    let f = Fixture::new();
    f.chunk("a", 2);
    f.begin("b");
    f.add("b", 0, 10);
    // A clip file written but never recorded (the process died in between).
    std::fs::write(f.chunks_dir().join("b/clip-0001.ts"), b"half").unwrap();
    std::fs::create_dir_all(f.chunks_dir().join("stray")).unwrap();
    let p = f.reload(&profile());
    let chunks = p.chunks();
    assert_eq!(chunks.len(), 2);
    assert!(chunks[0].complete && !chunks[1].complete);
    assert_eq!(p.building().len(), 1);
    assert_eq!(p.clip_videos("b").unwrap(), Vec::<i64>::new());
    assert!(!f.chunks_dir().join("stray").exists());
    assert!(!f.chunks_dir().join("b/clip-0001.ts").exists());
    assert!(f.chunks_dir().join("b/clip-0000.ts").exists());
    // A clip whose file vanished is forgotten; a chunk with none left goes.
    std::fs::remove_file(f.chunks_dir().join("a/clip-0000.ts")).unwrap();
    std::fs::remove_file(f.chunks_dir().join("a/clip-0001.ts")).unwrap();
    let p = f.reload(&profile());
    assert_eq!(p.chunks().len(), 1);
    // Another size: nothing splices, everything goes.
    let p = f.reload(&OutputProfile::new(640, 360, 30, 2));
    assert!(p.chunks().is_empty());
    assert!(!f.chunks_dir().join("b").exists());
}

#[test]
fn a_restart_keeps_the_pictures_and_strips_and_knows_which_clips_have_one() {
    let f = Fixture::new();
    f.chunk("a", 2);
    let a = f.chunks_dir().join("a");
    // Clip 0 has its picture, clip 1 none (an older chunk); the chunk its strip.
    std::fs::write(a.join("clip-0000.jpg"), b"jpeg").unwrap();
    std::fs::write(a.join(STRIP_FILE), b"jpeg").unwrap();
    assert!(f.playout.set_strip("a", &a.join(STRIP_FILE)));
    assert!(!f.playout.set_strip("gone", &a.join(STRIP_FILE)));
    // The picture of a clip never recorded is a stray like its clip.
    std::fs::write(a.join("clip-0002.jpg"), b"jpeg").unwrap();
    let p = f.reload(&profile());
    let c = &p.chunks()[0];
    assert_eq!(c.strip.as_deref(), Some(a.join(STRIP_FILE).as_path()));
    let pictures: Vec<_> = c.clips.iter().map(|k| k.info.picture.clone()).collect();
    assert_eq!(pictures, [Some(a.join("clip-0000.jpg")), None]);
    assert!(a.join("clip-0000.jpg").is_file() && a.join(STRIP_FILE).is_file());
    assert!(!a.join("clip-0002.jpg").exists());
    // They go with their chunk's folder.
    let dir = p.delete("a").unwrap().unwrap();
    assert_eq!(dir, a);
}

#[test]
fn chunks_are_named_by_their_first_two_titles() {
    let t = |titles: &[&str]| human_title(titles.iter().copied());
    assert_eq!(t(&[]), None);
    assert_eq!(t(&["Big Buck Bunny"]).as_deref(), Some("Big Buck Bunny"));
    assert_eq!(t(&["A", "A"]).as_deref(), Some("A"));
    assert_eq!(t(&["A", "B"]).as_deref(), Some("A and B"));
    let many = ["Big Buck Bunny", "bikes", "Big Buck Bunny", "c", "d"];
    assert_eq!(
        t(&many).as_deref(),
        Some("Big Buck Bunny, bikes and 2 more")
    );
    let f = Fixture::new();
    f.begin("x");
    assert_eq!(f.playout.chunks()[0].title(), "x", "no clip yet: its id");
    f.add("x", 0, 1);
    assert_eq!(f.playout.chunks()[0].title(), "x 0");
}

#[test]
fn an_empty_chunk_is_dropped_when_completed() {
    let f = Fixture::new();
    f.begin("a");
    assert_eq!(
        f.playout.complete_chunk("a").unwrap(),
        Some(f.chunks_dir().join("a"))
    );
    assert!(f.playout.chunks().is_empty());
    assert!(f.playout.next_clip().is_none());
}

#[test]
fn splice_key_ignores_bitrate_and_encoder() {
    let mut p = profile();
    let k = splice_key(&p);
    p.video_kbps = 9000;
    assert_eq!(splice_key(&p), k);
    p.fps = 25;
    assert_ne!(splice_key(&p), k);
}

#[test]
fn chunks_and_airings_are_stamped_with_the_injected_clock() {
    use crate::clock::VirtualClock;
    let mut f = Fixture::new();
    // A clock set to September 2001: a time read from the wall would differ.
    let wall = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
    let clock: crate::clock::SharedClock = Arc::new(VirtualClock::new(wall));
    f.playout = Playout::load_with_clock(
        f.db.clone(),
        CLASSIC,
        &f.chunks_dir(),
        &profile(),
        clock.clone(),
    )
    .unwrap();
    f.chunk("a", 1);
    assert_eq!(ids(&f.playout, 1), ["a/0"]);
    let reloaded = f.reload(&profile());
    let a = reloaded.chunks().into_iter().find(|c| c.id == "a").unwrap();
    assert_eq!(a.created_at, clock.unix_now());
    assert_eq!(a.last_aired_at, Some(1_000_000_000));
}

#[test]
fn a_held_chunk_airs_only_when_an_operator_plays_it_and_stays_held_after_a_restart() {
    let f = Fixture::new();
    f.chunk("a", 1);
    f.begin("t");
    f.playout.hold("t").unwrap();
    f.add("t", 0, 10);
    f.playout.complete_chunk("t").unwrap();
    // Never aired, yet not ready stock: the generator keeps making chunks.
    assert_eq!(f.playout.unaired(), 1);
    assert!((f.playout.fresh_secs() - 6.0).abs() < 1e-9);
    // The rotation re-airs "a" rather than pick the held chunk, however often.
    assert_eq!(ids(&f.playout, 3), ["a/0", "a/0", "a/0"]);
    assert!(f.playout.play_next("t"));
    assert_eq!(ids(&f.playout, 2), ["t/0", "a/0"]);
    let p = f.reload(&profile());
    assert!(p.chunks().iter().any(|c| c.id == "t" && c.held));
    assert!(p.chunks().iter().any(|c| c.id == "a" && !c.held));
}

#[test]
fn a_chunk_being_made_airs_once_two_clips_are_ahead_and_a_rerun_gives_way_to_it() {
    let f = Fixture::new();
    f.chunk("a", 3);
    f.chunk("z", 1);
    assert_eq!(ids(&f.playout, 4), ["a/0", "a/1", "a/2", "z/0"]);
    f.begin("b");
    f.add("b", 0, 10);
    // One clip of b is not enough ahead: a re-airs.
    assert_eq!(ids(&f.playout, 1), ["a/0"]);
    f.add("b", 1, 10);
    // Two are: the re-run gives way at its next clip, and b airs as it is made.
    assert_eq!(ids(&f.playout, 3), ["b/0", "b/1", "-"]);
    f.add("b", 2, 10);
    f.playout.complete_chunk("b").unwrap();
    assert_eq!(ids(&f.playout, 2), ["b/2", "z/0"]);
    // A first airing is never cut short: only re-runs give way.
    f.chunk("c", 1);
    f.begin("d");
    f.add("d", 0, 10);
    f.add("d", 1, 10);
    assert_eq!(ids(&f.playout, 3), ["c/0", "d/0", "d/1"]);
}

#[test]
fn hurried_a_chunk_being_made_gives_way_to_a_rerun_and_its_rest_airs_fresh_later() {
    let f = Fixture::new();
    f.chunk("a", 2);
    assert_eq!(ids(&f.playout, 2), ["a/0", "a/1"]);
    f.begin("b");
    f.add("b", 0, 10);
    f.add("b", 1, 10);
    assert_eq!(ids(&f.playout, 3), ["b/0", "b/1", "-"]);
    assert!(
        f.playout.hurry(),
        "b's next clip is not made: a airs meanwhile"
    );
    // Nothing is missing when the next clip exists: ready, and nothing moves.
    assert!(f.playout.hurry(), "a's next clip is ready");
    assert_eq!(ids(&f.playout, 1), ["a/0"]);
    let b = f.playout.chunk("b").unwrap();
    assert_eq!((b.times_aired, b.resume_at), (0, 2), "b's airing undone");
    assert_eq!(f.playout.fresh_secs(), 0.0, "what is made of b has aired");
    f.add("b", 2, 10);
    f.add("b", 3, 10);
    assert_eq!(f.playout.fresh_secs(), 12.0);
    // b goes on after what aired, and once complete it re-airs whole.
    assert_eq!(ids(&f.playout, 3), ["b/2", "b/3", "-"]);
    f.playout.complete_chunk("b").unwrap();
    assert_eq!(ids(&f.playout, 3), ["a/0", "a/1", "b/0"]);
    // The record agrees: b's undone airing is gone; a aired whole, was cut short
    // by b and aired again.
    let p = f.reload(&profile());
    let times: Vec<(String, u32)> = p
        .chunks()
        .into_iter()
        .map(|c| (c.id, c.times_aired))
        .collect();
    assert_eq!(times, [("a".to_string(), 3), ("b".to_string(), 2)]);
}

#[test]
fn hurried_with_nothing_complete_what_is_made_of_the_chunk_airs_again_from_two_clips() {
    let f = Fixture::new();
    f.begin("a");
    assert!(
        !f.playout.hurry(),
        "nothing is made at all: the slate's case"
    );
    f.add("a", 0, 10);
    assert_eq!(ids(&f.playout, 2), ["a/0", "-"]);
    assert!(
        !f.playout.hurry(),
        "one clip: the engine airs it again itself"
    );
    f.add("a", 1, 10);
    assert_eq!(ids(&f.playout, 2), ["a/1", "-"]);
    assert!(f.playout.hurry());
    assert_eq!(ids(&f.playout, 1), ["a/0"]);
    f.add("a", 2, 10);
    assert_eq!(ids(&f.playout, 2), ["a/1", "a/2"]);
}

#[test]
fn an_operators_pick_airs_whole_even_with_fresh_clips_ready() {
    let f = Fixture::new();
    f.chunk("a", 2);
    f.chunk("b", 1);
    assert_eq!(ids(&f.playout, 3), ["a/0", "a/1", "b/0"]);
    // a aired before; c is fresh and ready: a re-run would give way to it, the
    // operator's pick does not.
    f.chunk("c", 1);
    assert!(f.playout.play_next("a"));
    assert_eq!(ids(&f.playout, 3), ["a/0", "a/1", "c/0"]);
}
