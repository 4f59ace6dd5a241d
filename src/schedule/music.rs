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
use rusqlite::params;
use tokio_util::sync::CancellationToken;

use crate::channel::{TrackRef, TrackSource};
use crate::db::{Db, DbError};
use crate::library::scan::{self, Table};
use crate::library::{AUDIO_EXTENSIONS, title_of};
use crate::transcode::Ffmpeg;

/// Encoded tracks kept ready for the engine.
const READY_AHEAD: usize = 2;

/// Music tracks in least-played order, encoded ahead of need.
pub struct Music {
    ff: Ffmpeg,
    db: Db,
    folder: Option<PathBuf>,
    cache: PathBuf,
    lufs: f64,
    ready: Mutex<VecDeque<TrackRef>>,
    /// A track an operator asked for: encoded and queued before the order goes on.
    asked: Mutex<Option<PathBuf>>,
    /// Whether the folder was unreachable at the last pass (logged once).
    reach: scan::Reachability,
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
}

impl Music {
    /// Music from `folder` (`None`: silence), each track encoded once into `cache`
    /// at `lufs` integrated loudness. Nothing is encoded until [`Music::run`].
    pub fn new(
        ff: Ffmpeg,
        db: Db,
        folder: Option<PathBuf>,
        cache: PathBuf,
        lufs: f64,
    ) -> Arc<Music> {
        Arc::new(Music {
            ff,
            db,
            folder,
            cache,
            lufs,
            ready: Mutex::new(VecDeque::new()),
            asked: Mutex::new(None),
            reach: scan::Reachability::default(),
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
        let report = scan::reconcile(
            &mut self.db.conn(),
            Table::Tracks,
            &walk.files,
            &walk.unreachable,
        )?;
        self.reach.note("music", "tracks", roots, &report);
        let c = self.db.conn();
        let mut st =
            c.prepare("SELECT path, plays FROM tracks WHERE present = 1 AND error IS NULL")?;
        let mut tracks: Vec<(PathBuf, i64)> = st
            .query_map([], |r| {
                Ok((PathBuf::from(r.get::<_, String>(0)?), r.get(1)?))
            })?
            .collect::<Result<_, _>>()?;
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
        let c = self.db.conn();
        let pattern = format!("%{}%", q.unwrap_or("").replace(['%', '_'], ""));
        let total: i64 = c.query_row(
            "SELECT count(*) FROM tracks WHERE present = 1 AND (title LIKE ?1 OR path LIKE ?1)",
            [&pattern],
            |r| r.get(0),
        )?;
        let mut st = c.prepare(
            "SELECT id, title, path, plays, airtime, error FROM tracks
             WHERE present = 1 AND (title LIKE ?1 OR path LIKE ?1)
             ORDER BY plays, path LIMIT ?2 OFFSET ?3",
        )?;
        let rows = st
            .query_map(params![pattern, limit as i64, offset as i64], |r| {
                let path = PathBuf::from(r.get::<_, String>(2)?);
                let title: String = r.get(1)?;
                Ok(TrackStatus {
                    id: r.get(0)?,
                    title: track_title(&title, &path),
                    name: path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    plays: r.get(3)?,
                    airtime: r.get(4)?,
                    error: r.get(5)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok((total as u64, rows))
    }

    /// Queues the track named `name` (its file name, or its id) to play after the
    /// track already queued. False when no usable track has that name.
    pub fn play_next(&self, name: &str) -> Result<Option<String>, DbError> {
        let c = self.db.conn();
        let mut st = c.prepare(
            "SELECT id, path FROM tracks WHERE present = 1 AND error IS NULL ORDER BY path",
        )?;
        let rows: Vec<(i64, String)> = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        let found = rows.into_iter().find(|(id, path)| {
            id.to_string() == name
                || Path::new(path)
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy() == name)
        });
        Ok(found.map(|(_, path)| {
            let path = PathBuf::from(path);
            let title = title_of(&path);
            *self.asked.lock() = Some(path);
            title
        }))
    }

    fn set_aside(&self, src: &Path, reason: &str) {
        if let Some(p) = src.to_str()
            && let Err(e) = self.db.conn().execute(
                "UPDATE tracks SET error = ?2 WHERE path = ?1",
                params![p, reason],
            )
        {
            tracing::warn!(error = %e, "cannot record a track's error");
        }
    }

    /// Encodes tracks ahead until cancelled. Without a folder (or with an empty one)
    /// nothing is ever ready, and the engine's silence fills in.
    pub async fn run(self: Arc<Self>, cancel: CancellationToken) {
        if self.folder.is_none() {
            return;
        }
        let mut order: VecDeque<PathBuf> = VecDeque::new();
        let mut last: Option<PathBuf> = None;
        loop {
            let asked = self.asked.lock().take();
            let wait = if asked.is_some() {
                None
            } else if self.ready.lock().len() >= READY_AHEAD {
                Some(Duration::from_millis(500))
            } else if order.is_empty() {
                let (me, l) = (self.clone(), last.clone());
                let pass = tokio::task::spawn_blocking(move || me.next_pass(l.as_deref()))
                    .await
                    .expect("next_pass does not panic");
                match pass {
                    Ok(p) if !p.is_empty() => {
                        order = p.into();
                        None
                    }
                    Ok(_) => Some(Duration::from_secs(5)),
                    Err(e) => {
                        tracing::error!(error = %e, "cannot read the music order");
                        Some(Duration::from_secs(5))
                    }
                }
            } else {
                None
            };
            if let Some(d) = wait {
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep(d) => continue,
                }
            }
            let Some(src) = asked.clone().or_else(|| order.pop_front()) else {
                continue;
            };
            if asked.is_some() {
                order.retain(|p| *p != src);
            }
            let out = self.cache.join(cache_name(&src, self.lufs));
            if !out.is_file() {
                let t0 = std::time::Instant::now();
                let r = tokio::select! {
                    _ = cancel.cancelled() => return,
                    r = self.ff.encode_track(&src, &out, self.lufs) => r,
                };
                match r {
                    Ok(()) => {
                        tracing::info!(track = %src.display(), ms = t0.elapsed().as_millis() as u64, "music track encoded")
                    }
                    Err(e) => {
                        tracing::warn!(track = %src.display(), error = %e, "skipping music track until it changes");
                        self.set_aside(&src, &e.to_string());
                        continue;
                    }
                }
            }
            last = Some(src.clone());
            let track = TrackRef {
                path: out,
                title: title_of(&src),
                source: Some(src),
            };
            let mut ready = self.ready.lock();
            if asked.is_some() {
                ready.push_front(track);
            } else {
                ready.push_back(track);
            }
        }
    }
}

impl TrackSource for Music {
    fn next_track(&self) -> Option<TrackRef> {
        self.ready.lock().pop_front()
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

fn stamp(p: &Path) -> (PathBuf, u64, Option<std::time::SystemTime>) {
    let m = std::fs::metadata(p).ok();
    (
        p.to_path_buf(),
        m.as_ref().map_or(0, |m| m.len()),
        m.and_then(|m| m.modified().ok()),
    )
}

/// Cache file name for a source: a stable hash of its path, size and modification
/// time, so an edited file is encoded again and an unchanged one never is.
fn cache_name(src: &Path, lufs: f64) -> String {
    let (path, len, modified) = stamp(src);
    let secs = modified
        .and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    // The loudness target shapes the output: a new target encodes again.
    let key = format!("{}\u{0}{len}\u{0}{secs}\u{0}{lufs}", path.display());
    format!("{:016x}.aac", fnv1a(key.as_bytes()))
}

/// FNV-1a, 64-bit: stable across Rust versions, unlike std's hasher.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ *b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_is_stable() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

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
            db.conn()
                .execute(
                    "UPDATE tracks SET plays = ?2 WHERE path LIKE '%' || ?1",
                    rusqlite::params![name, plays],
                )
                .unwrap();
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
            Some(folder.clone()),
            d.path().join("cache"),
            -16.0,
        );
        assert_eq!(music.next_pass(None).unwrap().len(), 2);
        db.conn()
            .execute("UPDATE tracks SET plays = 3 WHERE path LIKE '%a.mp3'", [])
            .unwrap();
        let rows = || -> Vec<(i64, bool, i64)> {
            db.conn()
                .prepare("SELECT id, present, plays FROM tracks ORDER BY id")
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
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
