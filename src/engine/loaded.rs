//! Clips and music tracks as the splicer holds them: parsed once, off the hot path,
//! while the previous clip is still airing.

use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;

use crate::clip::ClipInfo;
use crate::media::h264::{self, ParameterSets};
use crate::media::{adts, ts};

/// A clip that failed to load: it is skipped, never aired.
#[derive(Debug, thiserror::Error)]
pub enum ClipError {
    /// The clip file could not be read.
    #[error("clip {id}: cannot read: {source}")]
    Io {
        /// The clip's id ([`ClipInfo::id`]).
        id: String,
        /// The read error.
        source: std::io::Error,
    },
    /// The file is not MPEG-TS the demuxer can read.
    #[error("clip {id}: not a readable MPEG-TS clip: {source}")]
    Demux {
        /// The clip's id ([`ClipInfo::id`]).
        id: String,
        /// What the demuxer found wrong.
        source: ts::TsError,
    },
    /// The file demuxes but breaks what the splicer relies on (IDR start, keyframe
    /// every GOP, one frame per frame interval).
    #[error("clip {id}: {reason}")]
    Invalid {
        /// The clip's id ([`ClipInfo::id`]).
        id: String,
        /// Which check failed, for the log.
        reason: String,
    },
}

/// One video frame of a clip, stamped relative to the clip's first frame.
#[derive(Clone, Debug)]
pub(crate) struct Frame {
    /// Presentation offset from the clip's first frame, in whole frames.
    pub pts_frames: i64,
    /// Decode offset from the clip's first frame, in ticks (negative with B-frames).
    pub dts: i64,
    pub keyframe: bool,
    pub data: Bytes,
}

/// A clip ready to splice: frames in decode order, validated against the profile.
/// `frames` and `params` are its top rung; `lower` its lower rungs, in the
/// channel's order.
#[derive(Debug)]
pub struct LoadedClip {
    /// What the clip is, for logs and "now playing".
    pub info: Arc<ClipInfo>,
    pub(crate) frames: Vec<Frame>,
    pub(crate) params: Option<ParameterSets>,
    /// The clip's lower rungs, by height; a rung of the channel the clip was not
    /// made in (a clip from before the ladder) is absent, and the splicer airs the
    /// top rung's frames in its place.
    pub(crate) lower: Vec<(u32, Rendition)>,
    /// The playout's cue generation when it was pulled (see [`super::ClipSource::recue`]).
    pub(crate) cue: u64,
}

/// One rung of a clip: its frames (in step with the top rung's: the same count,
/// keyframes at the same places) and its parameter sets.
#[derive(Debug)]
pub(crate) struct Rendition {
    pub frames: Vec<Frame>,
    pub params: Option<ParameterSets>,
}

impl Rendition {
    /// Parses a clip file written by `transcode`, checking what the splicer relies
    /// on: it opens on an IDR frame, a keyframe starts every `gop_frames` frames
    /// (so every segment can start on one), and timestamps sit on the
    /// `frame_ticks` grid.
    fn parse(
        id: &str,
        file: &[u8],
        frame_ticks: u64,
        gop_frames: usize,
    ) -> Result<Rendition, ClipError> {
        let aus = ts::read_video_access_units(file).map_err(|source| ClipError::Demux {
            id: id.to_string(),
            source,
        })?;
        let invalid = |reason: String| ClipError::Invalid {
            id: id.to_string(),
            reason,
        };
        let first = aus
            .first()
            .ok_or_else(|| invalid("no video frames".into()))?;
        if !first.keyframe {
            return Err(invalid("does not open on an IDR frame".into()));
        }
        let origin = first.pts as i64;
        let ft = frame_ticks as i64;
        let mut frames = Vec::with_capacity(aus.len());
        for (i, au) in aus.iter().enumerate() {
            if i % gop_frames == 0 && !au.keyframe {
                return Err(invalid(format!(
                    "frame {i} should be a keyframe (GOP of {gop_frames} frames)"
                )));
            }
            let rel = au.pts as i64 - origin;
            // Snap to the frame grid: the encoder wrote a constant frame rate, and
            // snapping guarantees the splice is exact even if a muxer rounded.
            let pts_frames = (rel as f64 / ft as f64).round() as i64;
            let dts = ((au.dts as i64 - origin) as f64 / ft as f64).round() as i64 * ft;
            frames.push(Frame {
                pts_frames,
                dts,
                keyframe: au.keyframe,
                data: au.data.clone(),
            });
        }
        let mut seen: Vec<i64> = frames.iter().map(|f| f.pts_frames).collect();
        seen.sort_unstable();
        if seen.iter().enumerate().any(|(i, p)| *p != i as i64) {
            return Err(invalid(
                "frames are not one per frame interval (dropped or duplicated frames)".into(),
            ));
        }
        Ok(Rendition {
            params: h264::parameter_sets(&first.data),
            frames,
        })
    }
}

impl LoadedClip {
    /// Parses a clip's top rung (see [`Rendition::parse`] for what is checked);
    /// its lower rungs are added by [`LoadedClip::add_rung`].
    pub fn parse(
        info: Arc<ClipInfo>,
        file: &[u8],
        frame_ticks: u64,
        gop_frames: usize,
    ) -> Result<LoadedClip, ClipError> {
        let r = Rendition::parse(&info.id, file, frame_ticks, gop_frames)?;
        Ok(LoadedClip {
            info,
            frames: r.frames,
            params: r.params,
            lower: Vec::new(),
            cue: 0,
        })
    }

    /// Adds its lower rung of `height`, read from `file` (see [`LoadedClip::parse`]);
    /// it must be in step with the top rung: as many frames, keyframes at the same
    /// places.
    pub fn add_rung(
        &mut self,
        height: u32,
        file: &[u8],
        frame_ticks: u64,
        gop_frames: usize,
    ) -> Result<(), ClipError> {
        let r = Rendition::parse(&self.info.id, file, frame_ticks, gop_frames)?;
        let keys = |f: &[Frame]| -> Vec<usize> {
            f.iter()
                .enumerate()
                .filter(|(_, f)| f.keyframe)
                .map(|(i, _)| i)
                .collect()
        };
        if r.frames.len() != self.frames.len() || keys(&r.frames) != keys(&self.frames) {
            return Err(ClipError::Invalid {
                id: self.info.id.clone(),
                reason: format!(
                    "its {height}p rung of {} frames is not in step with the top rung's {}",
                    r.frames.len(),
                    self.frames.len()
                ),
            });
        }
        self.lower.push((height, r));
        Ok(())
    }

    /// The frames and parameter sets of its rung of `height` (`None`: the top
    /// rung), the top rung's when the clip lacks that rung.
    pub(crate) fn rendition(&self, height: Option<u32>) -> (&[Frame], Option<&ParameterSets>) {
        match height.and_then(|h| self.lower.iter().find(|(rh, _)| *rh == h)) {
            Some((_, r)) => (&r.frames, r.params.as_ref()),
            None => (&self.frames, self.params.as_ref()),
        }
    }

    /// Frames in the clip.
    pub fn frame_count(&self) -> usize {
        self.frames.len()
    }
}

/// What a music track is, for logs and "now playing".
#[derive(Clone, Debug, PartialEq)]
pub struct TrackInfo {
    /// Title for logs and "now playing".
    pub title: String,
    /// The music file it was encoded from (none for silence).
    pub source: Option<PathBuf>,
    /// Duration in seconds.
    pub duration: f64,
}

/// A track's AAC frames, ready to be muxed: the whole encoded file in memory
/// (a few MB) and the byte range of each ADTS frame.
#[derive(Debug)]
pub struct LoadedTrack {
    /// Title, source and duration.
    pub info: Arc<TrackInfo>,
    pub(crate) data: Bytes,
    pub(crate) frames: Vec<Range<usize>>,
}

/// A music track that failed to load.
#[derive(Debug, thiserror::Error)]
#[error("music track {title}: {reason}")]
pub struct TrackError {
    /// Title of the track that failed.
    pub title: String,
    /// What is wrong with it.
    pub reason: String,
}

impl LoadedTrack {
    /// Parses an ADTS file, requiring the channel's audio format (AAC, 48 kHz, stereo)
    /// so tracks splice into one continuous audio stream.
    pub fn parse(
        title: &str,
        source: Option<PathBuf>,
        data: Bytes,
    ) -> Result<LoadedTrack, TrackError> {
        let err = |reason: String| TrackError {
            title: title.to_string(),
            reason,
        };
        let frames = adts::split_frames(&data).map_err(|e| err(e.to_string()))?;
        let first = frames.first().ok_or_else(|| err("no AAC frames".into()))?;
        let h = adts::parse_header(&data[first.clone()]).map_err(|e| err(e.to_string()))?;
        if h.sample_rate != crate::media::AUDIO_RATE || h.channels != 2 {
            return Err(err(format!(
                "expected 48 kHz stereo AAC, found {} Hz, {} channels",
                h.sample_rate, h.channels
            )));
        }
        let duration =
            frames.len() as f64 * adts::SAMPLES_PER_FRAME as f64 / crate::media::AUDIO_RATE as f64;
        let info = Arc::new(TrackInfo {
            title: title.to_string(),
            source,
            duration,
        });
        Ok(LoadedTrack { info, data, frames })
    }

    /// AAC frames in the track.
    pub fn frame_count(&self) -> usize {
        self.frames.len()
    }
}
