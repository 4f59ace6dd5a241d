//! Running a clip's encode: its arguments to one ffmpeg run, a watchdog on its
//! progress, the frame count checked, the clip's parameter sets compared with the
//! reference when one is given, and the clip and its picture committed only then.

use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use super::clip::{ClipRequest, Fix, RungOut, fixed_clip_args, watermark_path};
use super::error::TranscodeError;
use super::ffmpeg::Ffmpeg;
use super::look;
use super::run::{self, TempOut};
use crate::media::h264::ParameterSets;
use crate::media::params;
use crate::media::ts;

/// Where an encode is, from ffmpeg's `-progress` output.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EncodeProgress {
    /// Frames written so far.
    pub frames: u64,
    /// Output time written so far.
    pub out_time: Duration,
    /// Encode speed, 1.0 = real time; `None` until ffmpeg knows.
    pub speed: Option<f64>,
}

/// Reads ffmpeg's `-progress` lines (`key=value`, a block ending in `progress=…`).
#[derive(Default)]
pub(crate) struct ProgressParser {
    current: EncodeProgress,
}

impl ProgressParser {
    /// Takes one line; returns the progress at the end of each block.
    pub(crate) fn line(&mut self, line: &str) -> Option<EncodeProgress> {
        let (key, value) = line.trim().split_once('=')?;
        let value = value.trim();
        match key {
            "frame" => self.current.frames = value.parse().unwrap_or(self.current.frames),
            // out_time_ms is in microseconds too (an old ffmpeg misnomer); prefer _us.
            "out_time_us" | "out_time_ms" => {
                if let Ok(us) = value.parse::<u64>() {
                    self.current.out_time = Duration::from_micros(us);
                }
            }
            "speed" => {
                self.current.speed = value
                    .trim_end_matches('x')
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|s| s.is_finite() && *s > 0.0)
            }
            "progress" => return Some(self.current.clone()),
            _ => {}
        }
        None
    }
}

/// The number of frames ffmpeg's `-progress` output says it wrote.
fn progress_frames(stdout: &[u8]) -> Option<u32> {
    String::from_utf8_lossy(stdout)
        .lines()
        .rev()
        .filter_map(|l| l.trim().strip_prefix("frame="))
        .find_map(|n| n.trim().parse().ok())
}

/// An encode may legitimately take long on a slow CPU, but must not hang the channel forever.
fn encode_timeout(frames: u32, fps: u32) -> Duration {
    let secs = f64::from(frames) / f64::from(fps.max(1));
    Duration::from_secs(120) + Duration::from_secs_f64(secs * 30.0)
}

impl Ffmpeg {
    /// Cuts `req.frames` frames from `req.start` in `req.src` and encodes them to `req.out` (MPEG-TS, video only).
    pub async fn encode_clip(&self, req: &ClipRequest<'_>) -> Result<(), TranscodeError> {
        let (tx, _) = tokio::sync::watch::channel(EncodeProgress::default());
        self.encode_clip_with_progress(req, &tx).await
    }

    /// [`Ffmpeg::encode_clip`], publishing progress on `progress` as ffmpeg reports it
    /// (about twice a second).
    pub async fn encode_clip_with_progress(
        &self,
        req: &ClipRequest<'_>,
        progress: &tokio::sync::watch::Sender<EncodeProgress>,
    ) -> Result<(), TranscodeError> {
        self.encode_clip_fixed(req, progress, &Fix::default(), None)
            .await
    }

    /// One encode of a clip (every rung of it), with `fix` applied; when
    /// `references` are given (one per rung, the top first), each rung's parameter
    /// sets must equal its own, or nothing is written and the error is
    /// [`TranscodeError::Mismatch`].
    pub(crate) async fn encode_clip_fixed(
        &self,
        req: &ClipRequest<'_>,
        progress: &tokio::sync::watch::Sender<EncodeProgress>,
        fix: &Fix,
        references: Option<&[ParameterSets]>,
    ) -> Result<(), TranscodeError> {
        let tmp = TempOut::beside(req.out).await?;
        let mut rung_tmps = Vec::with_capacity(req.rungs.len());
        for r in req.rungs {
            rung_tmps.push(TempOut::beside(r.out).await?);
        }
        let picture = match req.thumbnail {
            Some(p) => Some((p, TempOut::beside(p).await?)),
            None => None,
        };
        let rungs: Vec<RungOut<'_>> = req
            .rungs
            .iter()
            .zip(&rung_tmps)
            .map(|(r, t)| RungOut {
                profile: r.profile,
                out: t.path(),
            })
            .collect();
        let req = ClipRequest {
            out: tmp.path(),
            thumbnail: picture.as_ref().map(|(_, t)| t.path()),
            rungs: &rungs,
            ..*req
        };
        let text_file = watermark_path(req.out);
        if let Some(text) = req.watermark {
            tokio::fs::write(&text_file, look::watermark_text(text))
                .await
                .map_err(|e| TranscodeError::io(format!("writing {}", text_file.display()), e))?;
        }
        let args = fixed_clip_args(&req, self.threads, fix);
        let mut parser = ProgressParser::default();
        let mut on_line = |line: &str| {
            if let Some(p) = parser.line(line) {
                progress.send_replace(p);
            }
        };
        let result = self
            .encode_with(&args, req.frames, req.profile.fps, &mut on_line)
            .await;
        if req.watermark.is_some() {
            let _ = tokio::fs::remove_file(&text_file).await;
        }
        result?;
        if let Some(references) = references {
            let outs = std::iter::once(tmp.path()).chain(rung_tmps.iter().map(TempOut::path));
            for (out, reference) in outs.zip(references) {
                check(out, reference).await?;
            }
        }
        // The lower rungs first: a clip's top file never exists without them.
        for t in rung_tmps {
            t.commit().await?;
        }
        tmp.commit().await?;
        // After the clip, so a picture never exists without its clip. A clip without
        // its picture is still a clip: it shows none.
        if let Some((target, pic)) = picture {
            if pic.path().is_file() {
                if let Err(e) = pic.commit().await {
                    tracing::warn!(picture = %target.display(), error = %e, "the clip's picture could not be kept");
                }
            } else {
                tracing::warn!(picture = %target.display(), "ffmpeg wrote no picture for the clip");
            }
        }
        Ok(())
    }

    /// Runs one encode and checks that it wrote exactly `frames` frames.
    pub(crate) async fn encode(
        &self,
        args: &[OsString],
        frames: u32,
        fps: u32,
    ) -> Result<(), TranscodeError> {
        self.encode_with(args, frames, fps, &mut |_| {}).await
    }

    /// [`Self::encode`], with each line of ffmpeg's progress output handed to `on_line`.
    async fn encode_with(
        &self,
        args: &[OsString],
        frames: u32,
        fps: u32,
        on_line: &mut (dyn FnMut(&str) + Send),
    ) -> Result<(), TranscodeError> {
        if frames == 0 {
            return Err(TranscodeError::Failed {
                program: "ffmpeg".into(),
                status: "not run".into(),
                last_lines: "asked for 0 frames".into(),
            });
        }
        // The no-progress watchdog: the frame count of the -progress lines must grow.
        let (seen, progress) = tokio::sync::watch::channel(0u64);
        let mut watch_line = |line: &str| {
            if let Some(n) = line
                .strip_prefix("frame=")
                .and_then(|n| n.trim().parse::<u64>().ok())
            {
                seen.send_if_modified(|best| {
                    let grew = n > *best;
                    *best = (*best).max(n);
                    grew
                });
            }
            on_line(line);
        };
        let stall = run::Stall {
            limit: self.stall,
            progress,
        };
        let stdout = run::run_watched(
            &self.ffmpeg,
            args,
            encode_timeout(frames, fps),
            self.nice,
            &mut watch_line,
            stall,
        )
        .await?;
        match progress_frames(&stdout) {
            Some(n) if n == frames => Ok(()),
            got => Err(TranscodeError::Failed {
                program: run::program_name(&self.ffmpeg),
                status: "exit status: 0".into(),
                last_lines: format!(
                    "wrote {} frames instead of {frames} (clip start beyond the end of the source?)",
                    got.map_or("an unknown number of".to_string(), |n| n.to_string())
                ),
            }),
        }
    }
}

/// Reads a clip file's parameter sets (those of its IDR frames, which must agree).
pub async fn read_parameter_sets(path: &Path) -> Result<ParameterSets, TranscodeError> {
    let bytes = tokio::fs::read(path)
        .await
        .map_err(|e| TranscodeError::io(format!("reading {}", path.display()), e))?;
    let name = path.display().to_string();
    tokio::task::spawn_blocking(move || {
        let aus = ts::read_video_access_units(&bytes).map_err(|e| e.to_string())?;
        params::clip_parameter_sets(aus.iter().map(|au| &au.data[..]))
    })
    .await
    .map_err(|e| TranscodeError::io("checking a clip", std::io::Error::other(e)))?
    .map_err(|reason| TranscodeError::Failed {
        program: "shufflecast".into(),
        status: "clip check".into(),
        last_lines: format!("{name}: {reason}"),
    })
}

/// Fails with [`TranscodeError::Mismatch`] when the clip at `path` does not carry
/// exactly `reference`.
async fn check(path: &Path, reference: &ParameterSets) -> Result<(), TranscodeError> {
    let got = read_parameter_sets(path).await?;
    let diffs = params::differences(reference, &got);
    if diffs.is_empty() {
        Ok(())
    } else {
        Err(TranscodeError::Mismatch { diffs })
    }
}

#[cfg(test)]
mod tests;
