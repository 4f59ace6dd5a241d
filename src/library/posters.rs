//! Posters of source videos: one small JPEG per video, `<id>.jpg` in the posters
//! folder (`data/cache/posters`), made once, when the video is first probed (or,
//! for a video an older release probed, by `Library::backfill_posters`).
//!
//! From the best picture there is: a thumbnail the downloader left beside the file
//! (yt-dlp's `--write-thumbnail`: same stem, `.jpg`, `.jpeg`, `.png` or `.webp`),
//! else TubeArchivist's thumbnail of the video, else one frame from 10% into it.
//! A poster that cannot be made is logged and the video stays as usable as before.
//! Posters of videos gone for good stay (they are small, and a video that comes
//! back keeps its id).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use parking_lot::RwLock;

use super::metadata::TubeArchivist;
use crate::transcode::{Ffmpeg, ProbeInfo};

/// Extensions of a downloader's thumbnail beside a video, in order of preference.
pub const THUMBNAIL_EXTENSIONS: &[&str] = &["jpg", "jpeg", "png", "webp"];

/// How far into a video its poster frame is, as a fraction of its length: past
/// the black frames and titles many videos open with.
const FRAME_AT: f64 = 0.10;

/// Where a poster comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum PosterFrom {
    /// An image file beside the video.
    Image(PathBuf),
    /// TubeArchivist's thumbnail, by its path on the TubeArchivist server.
    TubeArchivist(String),
    /// A frame of the video itself.
    Frame,
}

/// The posters folder and which videos have a poster in it.
pub struct Posters {
    dir: PathBuf,
    /// Read from the folder once, then kept as posters are made: the API says which
    /// videos have one without touching the disk.
    have: RwLock<HashSet<i64>>,
}

impl Posters {
    /// The posters in `dir` (created if missing).
    pub fn open(dir: PathBuf) -> Posters {
        if let Err(e) = std::fs::create_dir_all(&dir) {
            tracing::warn!(dir = %dir.display(), error = %e, "cannot create the posters folder");
        }
        let have = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name();
                let id = name.to_str()?.strip_suffix(".jpg")?.parse::<i64>().ok()?;
                e.file_type().ok()?.is_file().then_some(id)
            })
            .collect();
        Posters {
            dir,
            have: RwLock::new(have),
        }
    }

    /// The poster of video `id`, when it has one.
    pub fn get(&self, id: i64) -> Option<PathBuf> {
        self.have.read().contains(&id).then(|| self.path(id))
    }

    fn path(&self, id: i64) -> PathBuf {
        self.dir.join(format!("{id}.jpg"))
    }

    /// Makes the poster of video `id` (at `path`, probed as `info`) from `from`,
    /// unless it has one. Falls back to a frame when the image will not do.
    pub async fn make(
        &self,
        ff: &Ffmpeg,
        ta: Option<&TubeArchivist>,
        id: i64,
        path: &Path,
        info: &ProbeInfo,
        from: PosterFrom,
    ) {
        if self.get(id).is_some() {
            return;
        }
        let out = self.path(id);
        let image = match &from {
            PosterFrom::Image(image) => Some(
                ff.picture_from_image(image, &out)
                    .await
                    .map_err(|e| e.to_string()),
            ),
            PosterFrom::TubeArchivist(thumb) => match ta {
                Some(ta) => Some(from_tubearchivist(ff, ta, thumb, &out).await),
                None => None,
            },
            PosterFrom::Frame => None,
        };
        let made = match image {
            Some(Ok(())) => Ok(()),
            other => {
                if let Some(Err(e)) = other {
                    tracing::warn!(file = %path.display(), error = %e, ?from, "the video's thumbnail will not do for a poster: using a frame");
                }
                ff.poster(path, info, info.duration * FRAME_AT, &out).await
            }
        };
        match made {
            Ok(()) => {
                self.have.write().insert(id);
            }
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "no poster for the video")
            }
        }
    }
}

/// The poster `out` from TubeArchivist's thumbnail `thumb`.
async fn from_tubearchivist(
    ff: &Ffmpeg,
    ta: &TubeArchivist,
    thumb: &str,
    out: &Path,
) -> Result<(), String> {
    let bytes = ta.thumbnail(thumb).await.map_err(|e| e.to_string())?;
    ff.picture_from_bytes(&bytes, out)
        .await
        .map_err(|e| e.to_string())
}

/// A downloader's thumbnail beside `video`: the same stem with an image extension
/// (lower or upper case). Blocking (reads the folder's entries); call from a blocking thread.
pub fn sidecar_thumbnail(video: &Path) -> Option<PathBuf> {
    let stem = video.file_stem()?;
    THUMBNAIL_EXTENSIONS.iter().find_map(|ext| {
        [ext.to_string(), ext.to_ascii_uppercase()]
            .into_iter()
            .map(|e| {
                let mut name = stem.to_os_string();
                name.push(".");
                name.push(e);
                video.with_file_name(name)
            })
            .find(|p| p.is_file())
    })
}
