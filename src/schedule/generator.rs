//! The chunk generator: keeps never-aired chunks ready ahead of the stream, each a
//! montage of clips cut from random source videos and encoded once by ffmpeg.
//!
//! Clips are handed to the playout one by one as they finish, so a fresh start goes
//! on air after one clip, not one chunk.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rand::RngExt;
use tokio_util::sync::CancellationToken;

use super::{Manifest, ManifestClip, Playout};
use crate::channel::{ClipInfo, ClipRef};
use crate::library::{Library, Video};
use crate::transcode::{ClipRequest, Encoder, Ffmpeg, OutputProfile};

/// What the generator needs to know.
pub struct GeneratorSettings {
    /// Folder under which each chunk gets its own folder.
    pub chunks_dir: PathBuf,
    /// What clips are encoded to.
    pub profile: OutputProfile,
    /// The video encoder ffmpeg uses.
    pub encoder: Encoder,
    /// Shortest clip, seconds (clips are rounded to whole GOPs).
    pub clip_min: f64,
    /// Longest clip, seconds (clips are rounded to whole GOPs).
    pub clip_max: f64,
    /// A chunk is closed once its clips add up to this many seconds.
    pub chunk_duration: f64,
    /// Most chunks kept on disk; beyond it the least recently aired are deleted.
    pub max_chunks: usize,
    /// Never-aired chunks to keep ready.
    pub ready_target: usize,
}

/// Consecutive failed encodes after which a chunk is closed with what it has,
/// so a library of broken files cannot spin forever.
const MAX_CONSECUTIVE_FAILURES: usize = 8;

/// Makes chunks until cancelled.
pub struct Generator {
    /// Runs the clip encodes.
    pub ff: Ffmpeg,
    /// Where source videos come from.
    pub library: Arc<Library>,
    /// Where each clip goes as soon as it is encoded.
    pub playout: Arc<Playout>,
    /// Sizes, durations and the output profile.
    pub settings: GeneratorSettings,
}

impl Generator {
    /// Makes chunks until cancelled: keeps `ready_target` unaired chunks ready,
    /// waits 10 s after a failure, and evicts chunks beyond `max_chunks` after each one.
    pub async fn run(self, cancel: CancellationToken) {
        let mut first_clip = true;
        let mut last_source: Option<PathBuf> = None;
        loop {
            if cancel.is_cancelled() {
                return;
            }
            if self.playout.unaired() >= self.settings.ready_target {
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                }
            }
            let id = chunk_id();
            let dir = self.settings.chunks_dir.join(&id);
            if let Err(e) = tokio::fs::create_dir_all(&dir).await {
                tracing::error!(error = %e, dir = %dir.display(), "cannot create chunk folder; retrying in 10 s");
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_secs(10)) => continue,
                }
            }
            self.playout.begin_chunk(&id, dir.clone());
            tracing::info!(chunk = %id, "generating chunk");
            let made = tokio::select! {
                _ = cancel.cancelled() => return,
                m = self.make_chunk(&id, &dir, &mut first_clip, &mut last_source) => m,
            };
            self.playout.complete_chunk(&id);
            match made {
                Ok(manifest) if !manifest.clips.is_empty() => {
                    let json = serde_json::to_vec_pretty(&manifest).expect("manifest serializes");
                    if let Err(e) = tokio::fs::write(dir.join("chunk.json"), json).await {
                        tracing::warn!(error = %e, "cannot write chunk manifest");
                    }
                    tracing::info!(chunk = %id, clips = manifest.clips.len(), "chunk ready");
                }
                Ok(_) | Err(_) => {
                    let _ = tokio::fs::remove_dir_all(&dir).await;
                    let reason = match made {
                        Err(r) => r,
                        Ok(_) => "no clip could be encoded".to_string(),
                    };
                    tracing::warn!(chunk = %id, %reason, "chunk abandoned; retrying in 10 s");
                    tokio::select! {
                        _ = cancel.cancelled() => return,
                        _ = tokio::time::sleep(Duration::from_secs(10)) => {}
                    }
                }
            }
            for old in self.playout.evict(self.settings.max_chunks) {
                tracing::info!(dir = %old.display(), "evicting chunk");
                let _ = tokio::fs::remove_dir_all(&old).await;
            }
        }
    }

    async fn make_chunk(
        &self,
        id: &str,
        dir: &Path,
        first_clip: &mut bool,
        last_source: &mut Option<PathBuf>,
    ) -> Result<Manifest, String> {
        let s = &self.settings;
        let p = &s.profile;
        let mut manifest = Manifest {
            id: id.to_string(),
            profile: p.key(&s.encoder),
            clips: Vec::new(),
        };
        let mut total = 0.0;
        let mut failures = 0;
        while total < s.chunk_duration {
            let videos = self.library.videos(&self.ff).await;
            if videos.is_empty() {
                return Err("no usable video in the library".into());
            }
            let (video, start, frames) = {
                let mut rng = rand::rng();
                let video = pick_video(&videos, last_source.as_deref(), &mut rng);
                // Fast start: the very first clip is one segment long, so it is on air quickly.
                let secs = if *first_clip {
                    0.0
                } else {
                    rng.random_range(s.clip_min..=s.clip_max)
                };
                let frames = clip_frames(secs, p.fps, p.gop_frames);
                let len = frames as f64 / p.fps as f64;
                let start = if video.info.duration > len {
                    rng.random_range(0.0..(video.info.duration - len))
                } else {
                    0.0
                };
                (video.clone(), start, frames)
            };
            let index = manifest.clips.len();
            let file = format!("clip-{index:04}.ts");
            let out = dir.join(&file);
            let req = ClipRequest {
                src: &video.path,
                info: &video.info,
                start,
                frames,
                profile: p,
                encoder: &s.encoder,
                out: &out,
            };
            let t0 = std::time::Instant::now();
            match self.ff.encode_clip(&req).await {
                Ok(()) => {
                    failures = 0;
                    *first_clip = false;
                    *last_source = Some(video.path.clone());
                    let secs = frames as f64 / p.fps as f64;
                    total += secs;
                    tracing::info!(
                        chunk = %id, clip = index, source = %video.path.display(), start = format!("{start:.1}"),
                        secs, encode_ms = t0.elapsed().as_millis() as u64, "clip encoded"
                    );
                    let info = Arc::new(ClipInfo {
                        id: format!("{id}/{index}"),
                        source: Some(video.path.clone()),
                        title: video.title(),
                        source_start: start,
                        chunk: Some(id.to_string()),
                    });
                    self.playout.add_clip(id, ClipRef { path: out, info });
                    manifest.clips.push(ManifestClip {
                        file,
                        source: Some(video.path.clone()),
                        title: video.title(),
                        source_start: start,
                    });
                }
                Err(e) => {
                    failures += 1;
                    tracing::warn!(source = %video.path.display(), error = %e, "clip encode failed; skipping it");
                    if failures >= MAX_CONSECUTIVE_FAILURES {
                        return if manifest.clips.is_empty() {
                            Err(format!("{failures} encodes in a row failed; last: {e}"))
                        } else {
                            Ok(manifest)
                        };
                    }
                }
            }
        }
        Ok(manifest)
    }
}

/// A random video, not the one just used when there is a choice.
fn pick_video<'a>(videos: &'a [Video], last: Option<&Path>, rng: &mut impl rand::Rng) -> &'a Video {
    let candidates: Vec<&Video> = videos
        .iter()
        .filter(|v| Some(v.path.as_path()) != last)
        .collect();
    let pool: Vec<&Video> = if candidates.is_empty() {
        videos.iter().collect()
    } else {
        candidates
    };
    pool[rng.random_range(0..pool.len())]
}

/// Frames of a clip of about `secs` seconds: a whole number of GOPs (so every
/// segment is a full GOP and starts on a keyframe), at least one.
pub fn clip_frames(secs: f64, fps: u32, gop_frames: u32) -> u32 {
    let gops = (secs * fps as f64 / gop_frames as f64).round().max(1.0);
    gops as u32 * gop_frames
}

/// A unique, sortable chunk id.
fn chunk_id() -> String {
    let now = time::OffsetDateTime::now_utc();
    let n: u16 = rand::rng().random();
    format!(
        "{:04}{:02}{:02}-{:02}{:02}{:02}-{n:04x}",
        now.year(),
        now.month() as u8,
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_frames_are_whole_gops() {
        assert_eq!(clip_frames(6.0, 30, 60), 180);
        assert_eq!(clip_frames(7.0, 30, 60), 240); // 3.5 GOPs rounds up to 4
        assert_eq!(clip_frames(0.0, 30, 60), 60);
        assert_eq!(clip_frames(5.0, 25, 50), 150);
    }
}
