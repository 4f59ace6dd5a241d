//! What airs next: the playout order of chunks, the generator that makes them,
//! and the music order.
//!
//! A chunk is a montage of clips (each a separate normalized file) that airs as a
//! unit. The playout prefers chunks never aired, then the least recently aired, and
//! never runs dry: with nothing new it re-airs an old chunk.

pub mod generator;
pub mod music;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::channel::{ClipInfo, ClipRef, ClipSource};

/// A chunk in the playout.
#[derive(Clone, Debug)]
pub struct Chunk {
    /// Unique, sortable id; also the name of its folder.
    pub id: String,
    /// Folder holding its clip files and manifest.
    pub dir: PathBuf,
    /// Clips in airing order, as far as they are encoded.
    pub clips: Vec<ClipRef>,
    /// All clips are encoded; a chunk still growing can air only at a fresh start.
    pub complete: bool,
    /// Times it has started airing (a chunk found on disk at start counts once).
    pub times_aired: u32,
    /// Order of the last airing (0: never aired).
    pub last_aired: u64,
}

/// The chunk manifest, `chunk.json` in the chunk's folder, written when it is complete.
#[derive(Debug, Serialize, Deserialize)]
pub struct Manifest {
    /// The chunk's id.
    pub id: String,
    /// The output profile and encoder its clips were made with
    /// (`OutputProfile::key`): clips made for another profile are never aired.
    #[serde(default)]
    pub profile: String,
    /// Its clips, in airing order.
    pub clips: Vec<ManifestClip>,
}

/// One clip of a manifest.
#[derive(Debug, Serialize, Deserialize)]
pub struct ManifestClip {
    /// Clip file name, relative to the chunk's folder.
    pub file: String,
    /// Source video it was cut from.
    pub source: Option<PathBuf>,
    /// Title shown to viewers.
    pub title: String,
    /// Where in the source the clip starts, seconds.
    pub source_start: f64,
}

#[derive(Default)]
struct State {
    chunks: Vec<Chunk>,
    /// Airing chunk id and the index of its next clip.
    cursor: Option<(String, usize)>,
    airings: u64,
}

/// The playout order. The engine pulls clips from it; the generator pushes them in.
#[derive(Default)]
pub struct Playout {
    state: Mutex<State>,
}

impl Playout {
    /// An empty playout, shared by the engine (which pulls) and the generator (which pushes).
    pub fn new() -> Arc<Playout> {
        Arc::new(Playout::default())
    }

    /// Adds a complete chunk found on disk at start: counted as aired once, in
    /// the order found, so freshly made chunks come first.
    pub fn add_existing(&self, mut chunk: Chunk) {
        let mut s = self.state.lock().unwrap();
        s.airings += 1;
        chunk.complete = true;
        chunk.times_aired = chunk.times_aired.max(1);
        chunk.last_aired = s.airings;
        s.chunks.push(chunk);
    }

    /// Starts a new, empty chunk that clips will be added to.
    pub fn begin_chunk(&self, id: &str, dir: PathBuf) {
        let mut s = self.state.lock().unwrap();
        s.chunks.push(Chunk {
            id: id.into(),
            dir,
            clips: Vec::new(),
            complete: false,
            times_aired: 0,
            last_aired: 0,
        });
    }

    /// Appends an encoded clip to a chunk: it can air right away.
    pub fn add_clip(&self, chunk: &str, clip: ClipRef) {
        let mut s = self.state.lock().unwrap();
        if let Some(c) = s.chunks.iter_mut().find(|c| c.id == chunk) {
            c.clips.push(clip);
        }
    }

    /// Marks a chunk complete; an empty one (every encode failed) is dropped.
    pub fn complete_chunk(&self, chunk: &str) {
        let mut s = self.state.lock().unwrap();
        if let Some(c) = s.chunks.iter_mut().find(|c| c.id == chunk) {
            c.complete = true;
        }
        s.chunks.retain(|c| !(c.complete && c.clips.is_empty()));
    }

    /// True once any chunk holds a clip that can air.
    pub fn has_clip(&self) -> bool {
        self.state
            .lock()
            .unwrap()
            .chunks
            .iter()
            .any(|c| !c.clips.is_empty())
    }

    /// Chunks made but not aired yet, the growing one included.
    pub fn unaired(&self) -> usize {
        self.state
            .lock()
            .unwrap()
            .chunks
            .iter()
            .filter(|c| c.times_aired == 0)
            .count()
    }

    /// A snapshot of the chunks, for status and tests.
    pub fn chunks(&self) -> Vec<Chunk> {
        self.state.lock().unwrap().chunks.clone()
    }

    /// Removes chunks beyond `max`, least recently aired first, never the airing one
    /// and never one not aired yet. Returns the folders to delete.
    pub fn evict(&self, max: usize) -> Vec<PathBuf> {
        let mut s = self.state.lock().unwrap();
        let airing = s.cursor.as_ref().map(|c| c.0.clone());
        let mut out = Vec::new();
        while s.chunks.len() > max {
            let victim = s
                .chunks
                .iter()
                .enumerate()
                .filter(|(_, c)| c.complete && c.times_aired > 0 && Some(&c.id) != airing.as_ref())
                .min_by_key(|(_, c)| c.last_aired)
                .map(|(i, _)| i);
            match victim {
                Some(i) => out.push(s.chunks.remove(i).dir),
                None => break,
            }
        }
        out
    }
}

impl State {
    /// The chunk to air after the current one.
    fn pick_next(&self) -> Option<usize> {
        let current = self.cursor.as_ref().map(|c| c.0.as_str());
        let ready = |c: &Chunk| !c.clips.is_empty();
        // 1. A complete chunk never aired, oldest first.
        if let Some(i) = self
            .chunks
            .iter()
            .position(|c| c.complete && c.times_aired == 0 && ready(c))
        {
            return Some(i);
        }
        let others_complete = self
            .chunks
            .iter()
            .any(|c| c.complete && Some(c.id.as_str()) != current);
        // 2. At a fresh start nothing is complete: air the growing chunk as it is made.
        if !others_complete
            && let Some(i) = self
                .chunks
                .iter()
                .position(|c| !c.complete && c.times_aired == 0 && ready(c))
        {
            return Some(i);
        }
        // 3. The least recently aired complete chunk, not the same one twice in a row.
        let rerun = self
            .chunks
            .iter()
            .enumerate()
            .filter(|(_, c)| c.complete && ready(c) && Some(c.id.as_str()) != current)
            .min_by_key(|(_, c)| c.last_aired)
            .map(|(i, _)| i);
        rerun.or_else(|| self.chunks.iter().position(|c| c.complete && ready(c)))
    }
}

impl ClipSource for Playout {
    fn next_clip(&self) -> Option<ClipRef> {
        let mut s = self.state.lock().unwrap();
        // At most two passes: finish the current chunk, or move to the next one.
        for _ in 0..2 {
            if let Some((id, next)) = s.cursor.clone()
                && let Some(c) = s.chunks.iter().find(|c| c.id == id)
            {
                if let Some(clip) = c.clips.get(next) {
                    let clip = clip.clone();
                    s.cursor = Some((id, next + 1));
                    return Some(clip);
                }
                if !c.complete {
                    return None; // the generator is still making its next clip
                }
            }
            let i = s.pick_next()?;
            s.airings += 1;
            let airings = s.airings;
            let c = &mut s.chunks[i];
            c.times_aired += 1;
            c.last_aired = airings;
            tracing::info!(chunk = %c.id, clips = c.clips.len(), times_aired = c.times_aired, "chunk up next");
            s.cursor = Some((c.id.clone(), 0));
        }
        None
    }
}

/// Loads the chunks a previous run left in `dir`. Folders without a manifest (a
/// chunk cut short by a stop) and chunks made for another output profile than
/// `profile` (the user changed the size, frame rate, bitrate or encoder) are deleted:
/// their clips could not be spliced into this channel.
pub fn load_chunks(dir: &std::path::Path, profile: &str) -> Vec<Chunk> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let mut out = Vec::new();
    for d in dirs {
        let manifest = std::fs::read(d.join("chunk.json"))
            .ok()
            .and_then(|b| serde_json::from_slice::<Manifest>(&b).ok());
        let Some(m) = manifest else {
            tracing::info!(dir = %d.display(), "removing unfinished chunk");
            let _ = std::fs::remove_dir_all(&d);
            continue;
        };
        if m.profile != profile {
            tracing::info!(dir = %d.display(), made_for = %m.profile, now = %profile, "removing chunk made for another output profile");
            let _ = std::fs::remove_dir_all(&d);
            continue;
        }
        let clips: Vec<ClipRef> = m
            .clips
            .iter()
            .enumerate()
            .filter(|(_, c)| !c.file.contains('/') && d.join(&c.file).is_file())
            .map(|(i, c)| ClipRef {
                path: d.join(&c.file),
                info: Arc::new(ClipInfo {
                    id: format!("{}/{i}", m.id),
                    source: c.source.clone(),
                    title: c.title.clone(),
                    source_start: c.source_start,
                    chunk: Some(m.id.clone()),
                }),
            })
            .collect();
        if !clips.is_empty() {
            out.push(Chunk {
                id: m.id,
                dir: d,
                clips,
                complete: true,
                times_aired: 1,
                last_aired: 0,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clip(chunk: &str, i: usize) -> ClipRef {
        ClipRef {
            path: PathBuf::from(format!("/x/{chunk}/{i}.ts")),
            info: Arc::new(ClipInfo {
                id: format!("{chunk}/{i}"),
                source: None,
                title: String::new(),
                source_start: 0.0,
                chunk: Some(chunk.into()),
            }),
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
        let p = Playout::new();
        assert!(p.next_clip().is_none());
        p.begin_chunk("a", "/x/a".into());
        p.add_clip("a", clip("a", 0));
        assert_eq!(ids(&p, 2), ["a/0", "-"]);
        p.add_clip("a", clip("a", 1));
        p.complete_chunk("a");
        // Only one chunk exists: it airs again rather than the stream stopping.
        assert_eq!(ids(&p, 3), ["a/1", "a/0", "a/1"]);
    }

    #[test]
    fn never_aired_first_then_least_recently_aired_never_twice_in_a_row() {
        let p = Playout::new();
        for id in ["a", "b"] {
            p.begin_chunk(id, format!("/x/{id}").into());
            p.add_clip(id, clip(id, 0));
            p.complete_chunk(id);
        }
        assert_eq!(ids(&p, 2), ["a/0", "b/0"]);
        p.begin_chunk("c", "/x/c".into());
        p.add_clip("c", clip("c", 0));
        // c is still growing and others are complete: re-air a (least recent), not c.
        assert_eq!(ids(&p, 1), ["a/0"]);
        p.complete_chunk("c");
        assert_eq!(ids(&p, 3), ["c/0", "b/0", "a/0"]);
    }

    #[test]
    fn evict_spares_airing_and_unaired() {
        let p = Playout::new();
        for id in ["a", "b", "c", "d"] {
            p.begin_chunk(id, format!("/x/{id}").into());
            p.add_clip(id, clip(id, 0));
            p.complete_chunk(id);
        }
        assert_eq!(ids(&p, 2), ["a/0", "b/0"]); // b airing; c, d unaired
        let gone = p.evict(2);
        assert_eq!(gone, vec![PathBuf::from("/x/a")]);
        assert_eq!(
            p.chunks().len(),
            3,
            "b airing, c and d unaired: nothing more to evict"
        );
    }

    #[test]
    fn empty_complete_chunk_is_dropped() {
        let p = Playout::new();
        p.begin_chunk("a", "/x/a".into());
        p.complete_chunk("a");
        assert!(p.chunks().is_empty());
        assert!(p.next_clip().is_none());
    }

    #[test]
    fn load_chunks_keeps_complete_chunks_of_this_profile_only() {
        let d = tempfile::tempdir().unwrap();
        let write = |id: &str, profile: &str, manifest: bool| {
            let dir = d.path().join(id);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("clip-0000.ts"), b"x").unwrap();
            if manifest {
                let m = Manifest {
                    id: id.into(),
                    profile: profile.into(),
                    clips: vec![ManifestClip {
                        file: "clip-0000.ts".into(),
                        source: Some("/v/a.mp4".into()),
                        title: "a".into(),
                        source_start: 1.5,
                    }],
                };
                std::fs::write(dir.join("chunk.json"), serde_json::to_vec(&m).unwrap()).unwrap();
            }
        };
        write("a-good", "720p", true);
        write("b-other-profile", "1080p", true);
        write("c-unfinished", "720p", false);
        let chunks = load_chunks(d.path(), "720p");
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].id, "a-good");
        assert_eq!(chunks[0].clips[0].info.title, "a");
        assert!(chunks[0].complete && chunks[0].times_aired == 1);
        assert!(d.path().join("a-good").is_dir());
        assert!(
            !d.path().join("b-other-profile").exists(),
            "another profile's clips cannot splice"
        );
        assert!(!d.path().join("c-unfinished").exists());
    }
}
