//! An encoded clip, described: where it came from, what viewers are told about
//! it, its length and its file. The engine airs it, the playout orders it, the
//! database records it and the API and guides show it: one type for all of them,
//! at the bottom of the layers so each can hold it.

use std::path::PathBuf;
use std::sync::Arc;

/// What a clip is: the one description of it, made once when it is encoded,
/// recorded whole (`db::chunks`), held whole in memory by the playout, and read
/// as it is by the engine ("now playing"), the API, previews and the guide.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClipInfo {
    /// Stable id: `<chunk>/<index>`, or `slate`.
    pub id: String,
    /// Source video it was cut from (none for the slate).
    pub source: Option<PathBuf>,
    /// Title shown to viewers.
    pub title: String,
    /// Creator shown to viewers (uploader, artist), when known.
    pub creator: Option<String>,
    /// Where in the source the clip starts, seconds.
    pub source_start: f64,
    /// The chunk it belongs to.
    pub chunk: Option<String>,
    /// Its picture (a JPEG beside it, made by its own encode), when it has one.
    pub picture: Option<PathBuf>,
    /// Its length, seconds (what the guide's forecast adds up).
    pub duration: f64,
    /// The source video's id in the library (none for the slate).
    pub video_id: Option<i64>,
    /// Its file's size, bytes.
    pub size_bytes: u64,
    /// The encoder that made it (`libx264`, `h264_nvenc`…).
    pub encoder: String,
    /// The heights of the lower rungs of the ladder made with it, highest first,
    /// each in its own file beside it ([`rung_file`]); empty for a clip made
    /// before the channel had a ladder (or with none).
    pub rungs: Vec<u32>,
}

/// The file of the lower rung `height` of the clip whose top-rung file is `top`:
/// `clip-0001.ts` has its 480p rung in `clip-0001.480p.ts`.
pub fn rung_file(top: &std::path::Path, height: u32) -> PathBuf {
    top.with_extension(format!("{height}p.ts"))
}

/// The id of the slate: what airs when no clip is ready. It is no clip of any
/// chunk, and status and the guide say so.
pub const SLATE_ID: &str = "slate";

impl ClipInfo {
    /// True for the slate (see [`SLATE_ID`]), false for a real clip.
    pub fn is_slate(&self) -> bool {
        self.id == SLATE_ID && self.chunk.is_none()
    }
}

/// A clip the schedule wants aired next.
#[derive(Clone, Debug)]
pub struct ClipRef {
    /// The encoded clip file (MPEG-TS, in its chunk's folder).
    pub path: PathBuf,
    /// What the clip is, for logs and "now playing".
    pub info: Arc<ClipInfo>,
}

impl ClipRef {
    /// The files of its lower rungs, highest first.
    pub fn rung_files(&self) -> impl Iterator<Item = PathBuf> + '_ {
        self.info.rungs.iter().map(|h| rung_file(&self.path, *h))
    }
}
