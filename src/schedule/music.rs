//! The music order: tracks from the audio folder in shuffled order, each encoded
//! once to the channel's AAC format and cached in the data folder.

use std::collections::{HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::seq::SliceRandom;
use tokio_util::sync::CancellationToken;

use crate::channel::{TrackRef, TrackSource};
use crate::library::{audio_files, title_of};
use crate::transcode::Ffmpeg;

/// Encoded tracks kept ready for the engine.
const READY_AHEAD: usize = 2;

/// Music tracks in shuffled order, encoded ahead of need.
pub struct Music {
    ff: Ffmpeg,
    folder: Option<PathBuf>,
    cache: PathBuf,
    ready: Mutex<VecDeque<TrackRef>>,
}

impl Music {
    /// Music from `folder` (`None`: silence), each track encoded once into `cache`.
    /// Nothing is encoded until [`Music::run`] is called.
    pub fn new(ff: Ffmpeg, folder: Option<PathBuf>, cache: PathBuf) -> Arc<Music> {
        Arc::new(Music {
            ff,
            folder,
            cache,
            ready: Mutex::new(VecDeque::new()),
        })
    }

    /// Encodes tracks ahead until cancelled. Without a folder (or with an empty one)
    /// nothing is ever ready, and the engine's silence fills in.
    pub async fn run(self: Arc<Self>, cancel: CancellationToken) {
        let Some(folder) = self.folder.clone() else {
            return;
        };
        let mut order: VecDeque<PathBuf> = VecDeque::new();
        let mut last: Option<PathBuf> = None;
        let mut failed: HashSet<(PathBuf, u64, Option<std::time::SystemTime>)> = HashSet::new();
        loop {
            let wait = if self.ready.lock().unwrap().len() >= READY_AHEAD {
                Some(Duration::from_millis(500))
            } else if order.is_empty() {
                let f = folder.clone();
                let mut files = tokio::task::spawn_blocking(move || audio_files(&f))
                    .await
                    .unwrap_or_default();
                files.retain(|p| !failed.contains(&stamp(p)));
                if files.is_empty() {
                    Some(Duration::from_secs(5))
                } else {
                    files.shuffle(&mut rand::rng());
                    // A fresh shuffle never repeats the track that just played.
                    if files.len() > 1 && last.as_ref() == files.first() {
                        files.swap(0, 1);
                    }
                    order = files.into();
                    None
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
            let Some(src) = order.pop_front() else {
                continue;
            };
            let out = self.cache.join(cache_name(&src));
            if !out.is_file() {
                let t0 = std::time::Instant::now();
                let r = tokio::select! {
                    _ = cancel.cancelled() => return,
                    r = self.ff.encode_track(&src, &out) => r,
                };
                match r {
                    Ok(()) => {
                        tracing::info!(track = %src.display(), ms = t0.elapsed().as_millis() as u64, "music track encoded")
                    }
                    Err(e) => {
                        tracing::warn!(track = %src.display(), error = %e, "skipping music track");
                        failed.insert(stamp(&src));
                        continue;
                    }
                }
            }
            last = Some(src.clone());
            self.ready.lock().unwrap().push_back(TrackRef {
                path: out,
                title: title_of(&src),
                source: Some(src),
            });
        }
    }
}

impl TrackSource for Music {
    fn next_track(&self) -> Option<TrackRef> {
        self.ready.lock().unwrap().pop_front()
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
fn cache_name(src: &Path) -> String {
    let (path, len, modified) = stamp(src);
    let secs = modified
        .and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    let key = format!("{}\u{0}{len}\u{0}{secs}", path.display());
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
        let a = cache_name(&p);
        std::fs::write(&p, b"three").unwrap();
        assert_ne!(a, cache_name(&p));
        assert!(a.ends_with(".aac"));
    }
}
