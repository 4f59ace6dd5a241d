//! One chunk: taken up where it stands, its clips made until it is long enough,
//! then closed (with its picture strip) or left 'building' to resume.

use std::path::PathBuf;

use tokio_util::sync::CancellationToken;

use super::clip::ChunkInProgress;
use super::handle::GeneratorSettings;
use super::shared::{Inner, Outcome, db_failed};

impl Inner {
    /// Builds (or finishes) one chunk.
    pub(super) async fn make_chunk(&self, id: &str, cancel: &CancellationToken) -> Outcome {
        self.make_chunk_as(id, None, cancel).await
    }

    /// [`Inner::make_chunk`] with settings of its own (a test chunk's) rather than
    /// the channel's.
    pub(super) async fn make_chunk_as(
        &self,
        id: &str,
        settings: Option<&GeneratorSettings>,
        cancel: &CancellationToken,
    ) -> Outcome {
        let s = settings.cloned().unwrap_or_else(|| self.settings());
        let Some(mut chunk) = self.resume_chunk(id, &s) else {
            return Outcome::Cancelled; // deleted meanwhile
        };
        let outcome = loop {
            if chunk.total + 1e-6 >= chunk.target {
                break Outcome::Done;
            }
            if let Some(stop) = self.make_clip(id, &s, &mut chunk, cancel).await {
                break stop;
            }
        };
        self.finish_chunk(id, &s, &chunk, outcome).await
    }

    /// Where chunk `id` stands (a restart finishes what the last run began).
    fn resume_chunk(&self, id: &str, s: &GeneratorSettings) -> Option<ChunkInProgress> {
        let chunk = self.playout.chunk(id)?;
        let progress = ChunkInProgress {
            // A chunk of the rotation is made to the channel's length as it is now;
            // a test chunk to the one clip it was begun for.
            target: if chunk.held {
                chunk.target_secs
            } else {
                s.channel.chunk_duration
            },
            used: self.playout.clip_videos(id).unwrap_or_default(),
            index: chunk.clips.len(),
            total: chunk.duration,
            dir: chunk.dir,
            failures: 0,
            last_error: String::new(),
        };
        self.update_job(id, |j| {
            j.target_secs = progress.target;
            j.secs_done = progress.total;
            j.clips_done = progress.index;
        });
        Some(progress)
    }

    /// Closes a chunk that is done, or stalled with clips worth airing; leaves a
    /// cancelled or paused one 'building' (never ready half made).
    async fn finish_chunk(
        &self,
        id: &str,
        s: &GeneratorSettings,
        chunk: &ChunkInProgress,
        outcome: Outcome,
    ) -> Outcome {
        match outcome {
            Outcome::Cancelled | Outcome::DiskFull(_) => return outcome,
            Outcome::Done | Outcome::Stalled(_) | Outcome::WaitingForLibrary => {}
        }
        match self.playout.complete_chunk(id) {
            Ok(Some(empty)) => {
                let _ = tokio::fs::remove_dir_all(&empty).await;
                tracing::warn!(chunk = %id, "chunk abandoned: no clip could be made");
            }
            Ok(None) => {
                tracing::info!(chunk = %id, clips = chunk.index, secs = chunk.total, "chunk ready");
                self.make_strip(id, &chunk.dir).await;
            }
            Err(e) => return db_failed(s, e),
        }
        outcome
    }

    /// The strip of a chunk just completed, from its clips' pictures. A chunk
    /// without one shows none: a failure is logged, never held against the chunk.
    async fn make_strip(&self, id: &str, dir: &std::path::Path) {
        let pictures: Vec<PathBuf> = self
            .playout
            .chunk(id)
            .map(|c| {
                c.clips
                    .iter()
                    .filter_map(|k| k.info.picture.clone())
                    .collect()
            })
            .unwrap_or_default();
        if pictures.is_empty() {
            return;
        }
        let out = dir.join(crate::schedule::STRIP_FILE);
        match self.ff.strip(&pictures, &out).await {
            Ok(()) => {
                if !self.playout.set_strip(id, &out) {
                    let _ = tokio::fs::remove_file(&out).await; // deleted meanwhile
                }
            }
            Err(e) => tracing::warn!(chunk = %id, error = %e, "no picture strip for the chunk"),
        }
    }
}
