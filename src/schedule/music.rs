//! The music order: tracks from the audio folder, least played first, in a fresh
//! shuffle each pass, each encoded once (loudness-normalized, EBU R128) to the
//! channel's AAC format and cached in the data folder. Plays are counted on air by
//! the stats recorder and kept in the database, so the order survives restarts.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use rand::seq::SliceRandom;
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

use crate::clock::SharedClock;
use crate::db::music::MusicStore;
use crate::db::{Db, DbError};
use crate::engine::{TrackRef, TrackSource};
use crate::library::scan;
use crate::library::{AUDIO_EXTENSIONS, title_of};
use crate::transcode::{Ffmpeg, file_stamp};

/// Encoded tracks kept ready for the engine.
const READY_AHEAD: usize = 2;

/// With no track to play (an empty or unreachable folder, or the order unreadable)
/// the folder is read again this often: nothing watches it, so this is how new
/// music is found.
const EMPTY_RETRY: Duration = Duration::from_secs(5);

/// Music tracks in least-played order, encoded ahead of need.
pub struct Music {
    ff: Ffmpeg,
    store: MusicStore,
    folder: Option<PathBuf>,
    cache: PathBuf,
    lufs: f64,
    ready: Mutex<VecDeque<TrackRef>>,
    /// Ticks when a track is queued in `ready` (the engine's loader waits on it).
    queued: watch::Sender<u64>,
    /// Wakes the encoder: room in `ready`, or a track asked for.
    wake: Notify,
    /// A track an operator asked for: encoded and queued before the order goes on.
    asked: Mutex<Option<PathBuf>>,
    /// Tracks taken out of rotation since this process started: dropped from the
    /// pass already drawn (the database keeps them out of the next ones).
    gone: Mutex<Vec<PathBuf>>,
    /// Whether the folder was unreachable at the last pass (logged once).
    reach: scan::Reachability,
    /// When things happen.
    clock: SharedClock,
}

/// A music track's state, for the API.
#[derive(Clone, Debug)]
pub struct TrackStatus {
    /// Database id.
    pub id: i64,
    /// Title shown to viewers.
    pub title: String,
    /// File name (the original tool's `audio_name`).
    pub name: String,
    /// Times it went on air.
    pub plays: i64,
    /// Seconds aired.
    pub airtime: f64,
    /// Why it is skipped, if it is.
    pub error: Option<String>,
    /// Seconds, once read.
    pub duration: Option<f64>,
    /// Its path inside the music folder (what `/audio/<path>` takes).
    pub rel_path: String,
}

/// What [`Music::remove`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Removal {
    /// Out of rotation; the file is kept (`None`) or deleted (`Some(true)`), or
    /// could not be deleted (`Some(false)`: the folder is read-only, the reason logged).
    Removed {
        /// Whether its file was deleted (`None`: not asked to).
        file_deleted: Option<bool>,
    },
    /// No track in rotation has that path.
    NoSuchTrack,
}

/// Tracks whose length is read per pass of the encoder's loop (each one ffprobe run).
const DURATIONS_PER_TURN: usize = 16;

impl Music {
    /// `channel`'s music from `folder` (`None`: silence), each track encoded once into `cache`
    /// at `lufs` integrated loudness. Nothing is encoded until [`Music::run`].
    pub fn new(
        ff: Ffmpeg,
        db: Db,
        channel: &str,
        folder: Option<PathBuf>,
        cache: PathBuf,
        lufs: f64,
    ) -> Arc<Music> {
        let clock = crate::clock::system_clock();
        Music::with_clock(ff, db, channel, folder, cache, lufs, clock)
    }

    /// [`Music::new`], its times (tracks first seen, removed) read from `clock`.
    pub fn with_clock(
        ff: Ffmpeg,
        db: Db,
        channel: &str,
        folder: Option<PathBuf>,
        cache: PathBuf,
        lufs: f64,
        clock: SharedClock,
    ) -> Arc<Music> {
        Arc::new(Music {
            ff,
            store: db.music(channel),
            folder,
            cache,
            lufs,
            ready: Mutex::new(VecDeque::new()),
            queued: watch::channel(0).0,
            wake: Notify::new(),
            asked: Mutex::new(None),
            gone: Mutex::new(Vec::new()),
            reach: scan::Reachability::default(),
            clock,
        })
    }

    /// The order of the next pass: every usable track once, least played first,
    /// shuffled among equals, not starting with `last`.
    pub fn next_pass(&self, last: Option<&Path>) -> Result<Vec<PathBuf>, DbError> {
        let Some(folder) = &self.folder else {
            return Ok(Vec::new());
        };
        let roots = std::slice::from_ref(folder);
        let walk = scan::walk_roots(roots, AUDIO_EXTENSIONS);
        let report = self.store.scan(|tx| {
            scan::reconcile(tx, &walk.files, &walk.unreachable, self.clock.unix_now())
        })?;
        self.reach.note("music", "tracks", roots, &report);
        let mut tracks: Vec<(PathBuf, i64)> = self
            .store
            .playable()?
            .into_iter()
            .map(|t| (t.path, t.plays))
            .collect();
        tracks.shuffle(&mut rand::rng());
        tracks.sort_by_key(|t| t.1); // stable: the shuffle decides among equals
        let mut order: Vec<PathBuf> = tracks.into_iter().map(|t| t.0).collect();
        if order.len() > 1 && last.is_some_and(|l| order[0] == l) {
            order.swap(0, 1);
        }
        Ok(order)
    }

    /// Present tracks, least played first, optionally those whose title or file name
    /// contains `q` (case-insensitive).
    pub fn list(
        &self,
        q: Option<&str>,
        offset: u64,
        limit: u64,
    ) -> Result<(u64, Vec<TrackStatus>), DbError> {
        let (total, rows) = self.store.search(q, offset, limit)?;
        let tracks = rows
            .into_iter()
            .map(|r| TrackStatus {
                id: r.id,
                title: track_title(&r.title, &r.path),
                name: r
                    .path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                plays: r.plays,
                airtime: r.airtime,
                error: r.error,
                duration: r.duration,
                rel_path: self
                    .folder
                    .as_deref()
                    .and_then(|f| r.path.strip_prefix(f).ok())
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            })
            .collect();
        Ok((total, tracks))
    }

    /// Queues the track named `name` (its file name, or its id) to play after the
    /// track already queued. False when no usable track has that name.
    pub fn play_next(&self, name: &str) -> Result<Option<String>, DbError> {
        let found = self.store.playable()?.into_iter().find(|t| {
            t.id.to_string() == name
                || t.path
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy() == name)
        });
        Ok(found.map(|t| {
            let title = title_of(&t.path);
            *self.asked.lock() = Some(t.path);
            self.wake.notify_one();
            title
        }))
    }

    /// The music folder, if the channel has one.
    pub fn folder(&self) -> Option<&Path> {
        self.folder.as_deref()
    }

    /// Takes the track at `path` (a file of the music folder) out of rotation for
    /// good: out of the pass drawn and of the encoded queue, and with `delete_file`
    /// its file deleted too. Skipping it on air is the caller's (the engine's) part.
    pub fn remove(&self, path: &Path, delete_file: bool) -> Result<Removal, DbError> {
        if !self.store.remove(path, self.clock.unix_now())? {
            return Ok(Removal::NoSuchTrack);
        }
        self.gone.lock().push(path.to_path_buf());
        self.ready
            .lock()
            .retain(|t| t.source.as_deref() != Some(path));
        let mut asked = self.asked.lock();
        if asked.as_deref() == Some(path) {
            *asked = None;
        }
        drop(asked);
        // Room in the queue, if the track was in it.
        self.wake.notify_one();
        let file_deleted = delete_file.then(|| match std::fs::remove_file(path) {
            Ok(()) => {
                tracing::info!(track = %path.display(), "music track deleted");
                true
            }
            Err(e) => {
                tracing::warn!(track = %path.display(), error = %e, "cannot delete a removed music track; it stays on disk, out of rotation");
                false
            }
        });
        Ok(Removal::Removed { file_deleted })
    }

    /// Reads the length of a few tracks not measured yet (the music view shows it);
    /// false when none is left.
    async fn measure(&self) -> bool {
        let Ok(paths) = self.store.without_duration(DURATIONS_PER_TURN) else {
            return false;
        };
        if paths.is_empty() {
            return false;
        }
        for p in paths {
            let r = self.ff.probe_audio(&p).await;
            let stored = match r {
                Ok(secs) => self.store.set_duration(&p, secs),
                Err(e) => {
                    tracing::warn!(track = %p.display(), error = %e, "skipping music track until it changes");
                    self.store.set_aside(&p, &e.to_string())
                }
            };
            if let Err(e) = stored {
                tracing::warn!(error = %e, "cannot record a track's length");
                return false;
            }
        }
        true
    }

    fn set_aside(&self, src: &Path, reason: &str) {
        if let Err(e) = self.store.set_aside(src, reason) {
            tracing::warn!(error = %e, "cannot record a track's error");
        }
    }

    /// Encodes tracks ahead until cancelled. Without a folder (or with an empty one)
    /// nothing is ever ready, and the engine's silence fills in.
    pub async fn run(self: Arc<Self>, cancel: CancellationToken) {
        if self.folder.is_none() {
            return;
        }
        let mut rotation = Rotation {
            order: VecDeque::new(),
            last: None,
            unmeasured: true,
        };
        loop {
            let asked = self.asked.lock().take();
            if asked.is_none()
                && let Some(wait) = self.wait_needed(&mut rotation).await
            {
                if !self.idle(wait, &mut rotation, &cancel).await {
                    return;
                }
                continue;
            }
            let Some(src) = rotation.next(asked.as_deref()) else {
                continue;
            };
            if self.gone.lock().contains(&src) {
                continue;
            }
            let out = match self.encoded(&src, &cancel).await {
                Encoded::Ready(out) => out,
                Encoded::Skipped => continue,
                Encoded::Cancelled => return,
            };
            rotation.last = Some(src.clone());
            self.queue_track(src, out, asked.is_some());
        }
    }

    /// What the encoder must wait for before its next track, if anything: room in
    /// the queue, or music to play (a new pass is drawn when the last one is done).
    async fn wait_needed(self: &Arc<Self>, rotation: &mut Rotation) -> Option<Wait> {
        if self.ready.lock().len() >= READY_AHEAD {
            return Some(Wait::Room);
        }
        if !rotation.order.is_empty() {
            return None;
        }
        let (me, l) = (self.clone(), rotation.last.clone());
        let pass = tokio::task::spawn_blocking(move || me.next_pass(l.as_deref()))
            .await
            .expect("next_pass does not panic");
        match pass {
            Ok(p) if !p.is_empty() => {
                rotation.order = p.into();
                rotation.unmeasured = true;
                None
            }
            Ok(_) => Some(Wait::Music),
            Err(e) => {
                tracing::error!(error = %e, "cannot read the music order");
                Some(Wait::Music)
            }
        }
    }

    /// Waits for `wait` (or a track asked for), measuring tracks meanwhile; false
    /// when cancelled.
    async fn idle(&self, wait: Wait, rotation: &mut Rotation, cancel: &CancellationToken) -> bool {
        // Room in `ready` and a track asked for both wake `wake`.
        let retry = async {
            match wait {
                Wait::Room => std::future::pending().await,
                Wait::Music => tokio::time::sleep(EMPTY_RETRY).await,
            }
        };
        tokio::select! {
            _ = cancel.cancelled() => false,
            _ = self.wake.notified() => true,
            _ = retry => true,
            // Idle: the time to measure tracks for the music view, a few at
            // a time (whatever wakes the loop comes first).
            more = self.measure(), if rotation.unmeasured => {
                rotation.unmeasured = more;
                true
            }
        }
    }

    /// The cached encode of `src`, made now if there is none.
    async fn encoded(&self, src: &Path, cancel: &CancellationToken) -> Encoded {
        let out = self.cache.join(cache_name(src, self.lufs));
        if out.is_file() {
            return Encoded::Ready(out);
        }
        let t0 = std::time::Instant::now();
        let r = tokio::select! {
            _ = cancel.cancelled() => return Encoded::Cancelled,
            r = self.ff.encode_track(src, &out, self.lufs) => r,
        };
        match r {
            Ok(()) => {
                tracing::info!(track = %src.display(), ms = t0.elapsed().as_millis() as u64, "music track encoded");
                Encoded::Ready(out)
            }
            Err(e) => {
                tracing::warn!(track = %src.display(), error = %e, "skipping music track until it changes");
                self.set_aside(src, &e.to_string());
                Encoded::Skipped
            }
        }
    }

    /// Queues the encode `out` of `src` to air: next when it was asked for, else last.
    fn queue_track(&self, src: PathBuf, out: PathBuf, asked: bool) {
        let track = TrackRef {
            path: out,
            title: title_of(&src),
            source: Some(src),
        };
        {
            let mut ready = self.ready.lock();
            if asked {
                ready.push_front(track);
            } else {
                ready.push_back(track);
            }
        }
        self.queued.send_modify(|n| *n += 1);
    }
}

/// The encoder's place in the rotation, kept between its turns.
struct Rotation {
    /// The rest of the current pass.
    order: VecDeque<PathBuf>,
    /// The last track queued: the next pass does not start with it.
    last: Option<PathBuf>,
    /// Tracks may lack their length (new ones; set false when all are measured,
    /// true again at each new pass, which may have found new files).
    unmeasured: bool,
}

impl Rotation {
    /// The next track to encode: the one asked for (taken out of the pass), else
    /// the pass's next.
    fn next(&mut self, asked: Option<&Path>) -> Option<PathBuf> {
        match asked {
            Some(src) => {
                self.order.retain(|p| p != src);
                Some(src.to_path_buf())
            }
            None => self.order.pop_front(),
        }
    }
}

/// How the encode of one track went.
enum Encoded {
    /// Encoded (or already in the cache) at this path.
    Ready(PathBuf),
    /// It failed: the track is set aside until it changes.
    Skipped,
    /// The encoder was cancelled.
    Cancelled,
}

/// What the encoder waits for before it goes on.
enum Wait {
    /// Room in `ready` (or a track asked for).
    Room,
    /// A track to play: the folder is read again after [`EMPTY_RETRY`].
    Music,
}

impl TrackSource for Music {
    fn next_track(&self) -> Option<TrackRef> {
        let t = self.ready.lock().pop_front();
        if t.is_some() {
            // Room for the next one.
            self.wake.notify_one();
        }
        t
    }

    fn changed(&self) -> watch::Receiver<u64> {
        self.queued.subscribe()
    }
}

/// A track's title: the one stored in its row if any, else its file name, as on
/// air. The scanner records no title (music has no metadata step), so the music
/// list and the stats name a track with this, never with the bare column.
pub fn track_title(stored: &str, path: &Path) -> String {
    if stored.trim().is_empty() {
        title_of(path)
    } else {
        stored.to_string()
    }
}

/// Cache file name for a source: its [`file_stamp`], with the loudness target (a new
/// target encodes again).
fn cache_name(src: &Path, lufs: f64) -> String {
    format!("{:016x}.aac", file_stamp(src, &lufs.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_name_changes_with_the_file() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("song.mp3");
        std::fs::write(&p, b"one").unwrap();
        let a = cache_name(&p, -16.0);
        std::fs::write(&p, b"three").unwrap();
        assert_ne!(a, cache_name(&p, -16.0));
        assert_ne!(cache_name(&p, -16.0), cache_name(&p, -23.0));
        assert!(a.ends_with(".aac"));
    }

    #[tokio::test]
    async fn least_played_first_never_the_last_track_again_and_broken_tracks_left_out() {
        let d = tempfile::tempdir().unwrap();
        let folder = d.path().join("music");
        std::fs::create_dir_all(folder.join("sub")).unwrap();
        for n in ["a.mp3", "b.flac", "c.ogg", "sub/d.MP3", "notes.txt"] {
            std::fs::write(folder.join(n), n).unwrap();
        }
        let db = Db::in_memory().unwrap();
        let ff = Ffmpeg::locate().await.unwrap();
        let music = Music::new(
            ff,
            db.clone(),
            crate::lineup::def::CLASSIC,
            Some(folder.clone()),
            d.path().join("cache"),
            -16.0,
        );
        let names = |v: Vec<PathBuf>| -> Vec<String> {
            v.iter()
                .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
                .collect()
        };
        let mut all = names(music.next_pass(None).unwrap());
        all.sort();
        assert_eq!(all, ["a.mp3", "b.flac", "c.ogg", "d.MP3"]);
        let set = |name: &str, plays: i64| {
            db.music(crate::lineup::def::CLASSIC)
                .set_plays(name, plays)
                .unwrap()
        };
        set("a.mp3", 2);
        set("c.ogg", 1);
        let b = folder.join("b.flac");
        for _ in 0..20 {
            let order = names(music.next_pass(Some(&b)).unwrap());
            assert_eq!(
                order[0], "d.MP3",
                "least played first, and never the track just played"
            );
            assert_eq!(&order[1..], ["b.flac", "c.ogg", "a.mp3"]);
        }
        // A track that failed to encode is left out until it changes.
        music.set_aside(&folder.join("c.ogg"), "not audio");
        assert!(!names(music.next_pass(None).unwrap()).contains(&"c.ogg".to_string()));
        std::fs::write(folder.join("c.ogg"), "changed content").unwrap();
        assert!(names(music.next_pass(None).unwrap()).contains(&"c.ogg".to_string()));
    }

    // On one thread: the wait for room is watched on the paused clock, which only
    // such a runtime has.
    #[tokio::test]
    async fn tracks_are_announced_when_ready_and_the_encoder_wakes_when_one_is_taken() {
        use crate::testkit::media::{ff, make_tone};
        let d = tempfile::tempdir().unwrap();
        let folder = d.path().join("music");
        std::fs::create_dir_all(&folder).unwrap();
        for n in ["a", "b", "c"] {
            make_tone(&folder.join(format!("{n}.wav")), 440, 1.0);
        }
        let cache = d.path().join("cache");
        std::fs::create_dir_all(&cache).unwrap();
        let music = Music::new(
            ff().await,
            Db::in_memory().unwrap(),
            crate::lineup::def::CLASSIC,
            Some(folder),
            cache.clone(),
            -16.0,
        );
        let mut changed = music.changed();
        let cancel = CancellationToken::new();
        let task = tokio::spawn(music.clone().run(cancel.clone()));
        let tick = |changed: &mut watch::Receiver<u64>| {
            let mut changed = changed.clone();
            async move {
                tokio::time::timeout(Duration::from_secs(60), changed.changed())
                    .await
                    .expect("a track is announced")
                    .unwrap();
                *changed.borrow_and_update()
            }
        };
        // The encoder fills the queue, announcing each track, then waits for room.
        while *changed.borrow_and_update() < READY_AHEAD as u64 {
            tick(&mut changed).await;
        }
        // Idle, it measures the tracks (ffprobe); then it waits for room alone, on
        // no timer. An hour passes in no time on the paused clock, once no real
        // process runs (one would see its time limits come early).
        let measured = || {
            let (_, tracks) = music.list(None, 0, 10).unwrap();
            tracks.len() == 3 && tracks.iter().all(|t| t.duration.is_some())
        };
        crate::testkit::until("the tracks measured", Duration::from_secs(60), async || {
            measured()
        })
        .await;
        tokio::time::pause();
        tokio::time::sleep(Duration::from_secs(3600)).await;
        tokio::time::resume();
        assert_eq!(
            *changed.borrow_and_update(),
            READY_AHEAD as u64,
            "no room: no encode"
        );
        assert_eq!(music.ready.lock().len(), READY_AHEAD);
        assert_eq!(
            std::fs::read_dir(&cache).unwrap().count(),
            READY_AHEAD,
            "nothing else encoded"
        );
        // The engine takes one: the next is encoded and announced without being asked.
        assert!(music.next_track().is_some());
        assert_eq!(tick(&mut changed).await, READY_AHEAD as u64 + 1);
        assert_eq!(music.ready.lock().len(), READY_AHEAD);
        cancel.cancel();
        task.await.unwrap();
    }

    /// With no track, nothing watches the folder: it is read again after
    /// EMPTY_RETRY, not before. On the paused clock, once ffmpeg is located.
    #[tokio::test]
    async fn an_empty_folder_is_read_again_after_the_retry() {
        let d = tempfile::tempdir().unwrap();
        let folder = d.path().join("music");
        std::fs::create_dir_all(&folder).unwrap();
        let music = Music::new(
            crate::testkit::media::ff().await,
            Db::in_memory().unwrap(),
            crate::lineup::def::CLASSIC,
            Some(folder.clone()),
            d.path().join("cache"),
            -16.0,
        );
        tokio::time::pause();
        let cancel = CancellationToken::new();
        let task = tokio::spawn(music.clone().run(cancel.clone()));
        let found = || music.list(None, 0, 10).unwrap().0;
        // Its first pass (on the blocking pool, which holds the paused clock) found
        // nothing; a track arrives.
        tokio::time::sleep(EMPTY_RETRY / 2).await;
        std::fs::write(folder.join("a.mp3"), b"a").unwrap();
        tokio::time::sleep(EMPTY_RETRY / 2 - Duration::from_millis(1)).await;
        assert_eq!(found(), 0, "not read again before the retry");
        tokio::time::sleep(Duration::from_millis(2)).await;
        assert_eq!(found(), 1, "read again at the retry");
        cancel.cancel();
        task.await.unwrap();
    }

    #[tokio::test]
    async fn a_music_folder_that_goes_away_keeps_its_tracks_until_it_returns() {
        let d = tempfile::tempdir().unwrap();
        let folder = d.path().join("music");
        std::fs::create_dir_all(&folder).unwrap();
        for n in ["a.mp3", "b.flac"] {
            std::fs::write(folder.join(n), n).unwrap();
        }
        let db = Db::open(&d.path().join("state.db")).unwrap();
        let ff = Ffmpeg::locate().await.unwrap();
        let music = Music::new(
            ff,
            db.clone(),
            crate::lineup::def::CLASSIC,
            Some(folder.clone()),
            d.path().join("cache"),
            -16.0,
        );
        assert_eq!(music.next_pass(None).unwrap().len(), 2);
        db.music(crate::lineup::def::CLASSIC)
            .set_plays("a.mp3", 3)
            .unwrap();
        let rows = || db.music(crate::lineup::def::CLASSIC).rows().unwrap();
        let before = rows();

        let away = d.path().join("music-away");
        std::fs::rename(&folder, &away).unwrap();
        // Nothing to queue (the engine's silence fills in), nothing forgotten.
        assert!(music.next_pass(None).unwrap().is_empty());
        assert_eq!(
            rows(),
            before
                .iter()
                .map(|&(id, _, plays)| (id, false, plays))
                .collect::<Vec<_>>()
        );

        std::fs::rename(&away, &folder).unwrap();
        let order = music.next_pass(None).unwrap();
        assert_eq!(order.len(), 2);
        assert!(
            order[0].ends_with("b.flac"),
            "least played first: {order:?}"
        );
        assert_eq!(rows(), before, "same ids and play counts");
    }
}
