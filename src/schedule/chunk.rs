//! A chunk: a montage of clips that airs as a unit, and the names of its files.

use std::path::{Path, PathBuf};

use crate::clip::ClipRef;

/// The file name of a chunk's strip of pictures, in its folder.
pub const STRIP_FILE: &str = "strip.jpg";

/// Where the picture of the clip at `clip` goes: beside it, `clip-0003.ts` →
/// `clip-0003.jpg` (in the chunk's folder, so it goes with the chunk).
pub fn clip_picture(clip: &Path) -> PathBuf {
    clip.with_extension("jpg")
}

/// A chunk in the playout.
#[derive(Clone, Debug)]
pub struct Chunk {
    /// Unique, sortable id; also the name of its folder.
    pub id: String,
    /// Folder holding its clip files.
    pub dir: PathBuf,
    /// Clips in airing order, as far as they are encoded.
    pub clips: Vec<ClipRef>,
    /// All clips are encoded. A chunk still growing airs as it is made when enough
    /// of it is ahead or no other chunk is complete (see the playout's order).
    pub complete: bool,
    /// Times it has started airing.
    pub times_aired: u32,
    /// Airing clock of its last airing; `None`: never aired.
    pub last_aired: Option<i64>,
    /// When it last started airing, Unix seconds.
    pub last_aired_at: Option<i64>,
    /// Size of its clip files, bytes.
    pub size_bytes: u64,
    /// Seconds of video in it.
    pub duration: f64,
    /// Seconds of video it is being made to: its length once complete.
    pub target_secs: f64,
    /// When it was created, Unix seconds.
    pub created_at: i64,
    /// The encoder of its clips.
    pub encoder: String,
    /// Made to try the settings (`POST /api/generate_test_chunk`): it airs only
    /// when an operator plays it, and counts for nothing in the ready stock.
    pub held: bool,
    /// Its strip of pictures (see [`STRIP_FILE`]), once made.
    pub strip: Option<PathBuf>,
    /// Clips of it that aired in a first airing cut short while it was being made:
    /// its next first airing starts after them. In memory only (a restart airs it
    /// whole).
    pub resume_at: usize,
}

impl Chunk {
    /// Its name for people (see [`human_title`]); its id while it has no clip.
    pub fn title(&self) -> String {
        human_title(self.clips.iter().map(|k| k.info.title.as_str()))
            .unwrap_or_else(|| self.id.clone())
    }
}

/// A name for people of a montage of clips titled `titles` (in airing order): its
/// first two distinct titles, then how many other titles there are ("Big Buck
/// Bunny, bikes and 12 more"); one title alone; `None` without any.
pub fn human_title<'a>(titles: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mut distinct: Vec<&str> = Vec::new();
    for t in titles {
        if !distinct.contains(&t) {
            distinct.push(t);
        }
    }
    Some(match distinct.as_slice() {
        [] => return None,
        [a] => a.to_string(),
        [a, b] => format!("{a} and {b}"),
        [a, b, rest @ ..] => format!("{a}, {b} and {} more", rest.len()),
    })
}
