//! The library: which source videos and music tracks exist, and which are usable.
//!
//! Folders are walked on demand (cheap for the sizes this issue targets); each file's
//! ffprobe facts are cached by (size, modification time), so an unchanged file is
//! probed once, and a file that failed is not retried until it changes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use crate::transcode::{Ffmpeg, ProbeInfo};

/// Video file extensions we take, compared case-insensitively.
pub const VIDEO_EXTENSIONS: &[&str] = &[
    "mp4", "mkv", "mov", "avi", "webm", "m4v", "ts", "m2ts", "mts", "mpg", "mpeg", "wmv", "flv",
    "3gp",
];
/// Music file extensions we take, compared case-insensitively.
pub const AUDIO_EXTENSIONS: &[&str] = &["mp3", "m4a", "aac", "flac", "ogg", "opus", "wav"];

/// A usable source video.
#[derive(Clone, Debug)]
pub struct Video {
    /// Where the file is.
    pub path: PathBuf,
    /// What ffprobe found: duration, size, frame rate, rotation.
    pub info: ProbeInfo,
}

impl Video {
    /// Title shown to viewers: the file name without its extension.
    pub fn title(&self) -> String {
        title_of(&self.path)
    }
}

/// Title of a media file: its name without the extension.
pub fn title_of(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

type Stamp = (u64, Option<SystemTime>);
/// A probe result (or the reason a file is unusable), valid while the stamp matches.
type Probed = (Stamp, Result<ProbeInfo, String>);

/// Source videos under one or more folders.
pub struct Library {
    folders: Vec<PathBuf>,
    probed: Mutex<HashMap<PathBuf, Probed>>,
}

impl Library {
    /// A library of the videos under `folders`; nothing is walked or probed until
    /// [`Library::videos`] is called.
    pub fn new(folders: Vec<PathBuf>) -> Library {
        Library {
            folders,
            probed: Mutex::new(HashMap::new()),
        }
    }

    /// Walks the folders and returns every usable video, probing new or changed files.
    /// Unusable ones (corrupt, empty, not video) are logged once with the reason.
    pub async fn videos(&self, ff: &Ffmpeg) -> Vec<Video> {
        let folders = self.folders.clone();
        let files = tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            for f in &folders {
                walk(f, VIDEO_EXTENSIONS, 0, &mut out);
            }
            out
        })
        .await
        .unwrap_or_default();

        let mut usable = Vec::with_capacity(files.len());
        for (path, stamp) in files {
            let cached = self
                .probed
                .lock()
                .unwrap()
                .get(&path)
                .filter(|(s, _)| *s == stamp)
                .map(|(_, r)| r.clone());
            let result = match cached {
                Some(r) => r,
                None => {
                    let r = ff.probe(&path).await.map_err(|e| e.to_string());
                    if let Err(reason) = &r {
                        tracing::warn!(file = %path.display(), %reason, "skipping unusable video");
                    }
                    self.probed
                        .lock()
                        .unwrap()
                        .insert(path.clone(), (stamp, r.clone()));
                    r
                }
            };
            if let Ok(info) = result {
                usable.push(Video { path, info });
            }
        }
        usable
    }
}

/// Every music file under `folder`, sorted.
pub fn audio_files(folder: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    walk(folder, AUDIO_EXTENSIONS, 0, &mut out);
    let mut files: Vec<PathBuf> = out.into_iter().map(|(p, _)| p).collect();
    files.sort();
    files
}

fn has_extension(path: &Path, exts: &[&str]) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| exts.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

/// Depth-limited so a symlink loop cannot recurse forever.
fn walk(dir: &Path, exts: &[&str], depth: usize, out: &mut Vec<(PathBuf, Stamp)>) {
    if depth > 32 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        tracing::warn!(folder = %dir.display(), "cannot read folder");
        return;
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let name = e.file_name();
        // Hidden files include our own temp files (".name.tmp") and OS litter.
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            walk(&path, exts, depth + 1, out);
        } else if meta.is_file() && has_extension(&path, exts) {
            out.push((path, (meta.len(), meta.modified().ok())));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_match_in_any_case() {
        assert!(has_extension(Path::new("a/B.MP4"), VIDEO_EXTENSIONS));
        assert!(has_extension(Path::new("x.Mkv"), VIDEO_EXTENSIONS));
        assert!(has_extension(Path::new("x.m2ts"), VIDEO_EXTENSIONS));
        assert!(!has_extension(Path::new("x.txt"), VIDEO_EXTENSIONS));
        assert!(!has_extension(Path::new("mp4"), VIDEO_EXTENSIONS));
        assert!(has_extension(Path::new("song.FLAC"), AUDIO_EXTENSIONS));
    }

    #[test]
    fn walk_is_recursive_and_skips_hidden_files() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("sub/deeper")).unwrap();
        for f in [
            "a.mp4",
            "sub/b.MOV",
            "sub/deeper/c.webm",
            "sub/notes.txt",
            ".hidden.mp4",
            "sub/.x.mp4.tmp",
        ] {
            std::fs::write(d.path().join(f), b"x").unwrap();
        }
        let mut out = Vec::new();
        walk(d.path(), VIDEO_EXTENSIONS, 0, &mut out);
        let names: Vec<String> = out
            .iter()
            .map(|(p, _)| p.strip_prefix(d.path()).unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["a.mp4", "sub/b.MOV", "sub/deeper/c.webm"]);
    }
}
