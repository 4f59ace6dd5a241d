//! The splicer: turns clips and music tracks into one continuous MPEG-TS stream,
//! cut into segments, without re-encoding anything.
//!
//! Video: each clip's frames are re-stamped onto the channel timeline, so the first
//! frame of a clip comes exactly one frame after the last frame of the one before.
//! Audio: AAC frames of the music bed are stamped by their own counter, which never
//! restarts: clip switches do not touch it, and a track change is just the next
//! frame coming from another file.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;

use super::clip::{ClipInfo, LoadedClip, LoadedTrack, TrackInfo};
use crate::media::Ticks;
use crate::media::h264::ParameterSets;
use crate::media::ts::TsMuxer;

/// AAC frames per audio PES: fewer PES headers and less TS padding, yet small
/// enough (~85 ms) that audio interleaves finely with video.
const AUDIO_FRAMES_PER_PES: usize = 4;

/// Ticks per AAC frame at 48 kHz: 1024 samples * 90000 / 48000, exactly.
pub const AUDIO_FRAME_TICKS: u64 = 1920;

/// One finished segment, as the splicer cut it.
#[derive(Clone, Debug)]
pub struct SplicedSegment {
    pub seq: u64,
    /// Channel time of its first frame.
    pub start: Ticks,
    pub duration: Ticks,
    pub data: Bytes,
    /// Codec parameters changed at its start: the playlist needs EXT-X-DISCONTINUITY.
    pub discontinuity: bool,
    /// The clip its first frame comes from, and where in that clip (seconds).
    pub clip: Arc<ClipInfo>,
    pub clip_position: f64,
    pub clip_duration: f64,
    /// The track playing at its start, and where in that track (seconds).
    pub track: Option<Arc<TrackInfo>>,
    pub track_position: f64,
    pub video_frames: usize,
    pub audio_frames: usize,
}

struct Airing {
    clip: Arc<LoadedClip>,
    /// Next frame to emit (decode order).
    pos: usize,
    /// Channel pts of the clip's first frame.
    base: Ticks,
}

/// Cuts segments from clips and the music bed. Synchronous and IO-free: the engine
/// feeds it clips and tracks that are already in memory.
pub struct Splicer {
    frame_ticks: u64,
    segment_frames: usize,
    next_pts: Ticks,
    seq: u64,
    mux: TsMuxer,
    airing: Option<Airing>,
    last_params: Option<ParameterSets>,
    pending_discontinuity: bool,
    music: MusicBed,
}

impl Splicer {
    /// `start` is the channel time of the first frame, `first_seq` the first segment's
    /// media sequence number (both continue after a restart).
    pub fn new(
        frame_ticks: u64,
        segment_frames: usize,
        start: Ticks,
        first_seq: u64,
        silence: Arc<LoadedTrack>,
    ) -> Splicer {
        Splicer {
            frame_ticks,
            segment_frames,
            next_pts: start,
            seq: first_seq,
            mux: TsMuxer::new(),
            airing: None,
            last_params: None,
            pending_discontinuity: false,
            music: MusicBed::new(start, silence),
        }
    }

    /// True when the airing clip is used up and the next one must be given.
    pub fn needs_clip(&self) -> bool {
        self.airing
            .as_ref()
            .is_none_or(|a| a.pos >= a.clip.frames.len())
    }

    /// The clip now airing, if any.
    pub fn airing(&self) -> Option<&Arc<ClipInfo>> {
        self.airing.as_ref().map(|a| &a.clip.info)
    }

    /// Starts `clip` at the next segment boundary, cutting the airing one short if
    /// it is not finished (a skip). Timestamps go on seamlessly either way.
    pub fn start_clip(&mut self, clip: Arc<LoadedClip>) {
        if clip.params.is_some() {
            if self.last_params.is_some() && self.last_params != clip.params {
                self.pending_discontinuity = true;
            }
            self.last_params = clip.params.clone();
        }
        self.airing = Some(Airing {
            clip,
            pos: 0,
            base: self.next_pts,
        });
    }

    /// The music bed, to queue tracks.
    pub fn music(&mut self) -> &mut MusicBed {
        &mut self.music
    }

    /// Channel time of the next segment's first frame.
    pub fn next_pts(&self) -> Ticks {
        self.next_pts
    }

    /// Sequence number of the next segment.
    pub fn next_seq(&self) -> u64 {
        self.seq
    }

    /// Cuts the next segment from the airing clip: one GOP, or the rest of the clip
    /// when less is left. Panics if no clip is airing: call `start_clip` first.
    pub fn next_segment(&mut self) -> SplicedSegment {
        let airing = self
            .airing
            .as_mut()
            .expect("start_clip before next_segment");
        let clip = airing.clip.clone();
        let from = airing.pos;
        let to = (from + self.segment_frames).min(clip.frames.len());
        airing.pos = to;
        let base = airing.base;

        let start = self.next_pts;
        let n = to - from;
        let end = start + Ticks(n as u64 * self.frame_ticks);
        self.next_pts = end;

        let track = self.music.current_info();
        let track_position = self.music.position_secs();
        let audio = self.music.take_until(end);

        let video_bytes: usize = clip.frames[from..to].iter().map(|f| f.data.len()).sum();
        let audio_bytes: usize = audio.iter().map(|a| a.1.len()).sum();
        // TS overhead is ~2-5%; over-reserve a little so the buffer never regrows.
        let mut out = Vec::with_capacity((video_bytes + audio_bytes) * 110 / 100 + 4 * 188);
        self.mux.begin_segment(&mut out);

        let ft = self.frame_ticks as i64;
        let mut audio_iter = audio.iter().peekable();
        for f in &clip.frames[from..to] {
            let pts = Ticks((base.0 as i64 + f.pts_frames * ft) as u64);
            let dts = Ticks((base.0 as i64 + f.dts) as u64);
            while let Some((apts, bytes, _)) = audio_iter.peek() {
                if *apts > dts {
                    break;
                }
                self.mux.write_audio(&mut out, *apts, bytes);
                audio_iter.next();
            }
            self.mux
                .write_video(&mut out, pts, dts, f.keyframe, &f.data);
        }
        for (apts, bytes, _) in audio_iter {
            self.mux.write_audio(&mut out, *apts, bytes);
        }

        let seq = self.seq;
        self.seq += 1;
        let discontinuity = std::mem::take(&mut self.pending_discontinuity) && from == 0;
        let fps_ticks = self.frame_ticks as f64 / crate::media::time::TICKS_PER_SECOND as f64;
        SplicedSegment {
            seq,
            start,
            duration: end - start,
            data: Bytes::from(out),
            discontinuity,
            clip: clip.info.clone(),
            clip_position: from as f64 * fps_ticks,
            clip_duration: clip.frames.len() as f64 * fps_ticks,
            track,
            track_position,
            video_frames: n,
            audio_frames: audio.iter().map(|a| a.2).sum(),
        }
    }
}

struct Playing {
    track: Arc<LoadedTrack>,
    next_frame: usize,
    is_silence: bool,
}

/// The music bed: one AAC stream that runs for as long as the channel does.
/// Tracks play to their end, then the next queued one starts; with nothing queued,
/// silence fills in, and a track that arrives starts at the next frame.
pub struct MusicBed {
    next_pts: Ticks,
    playing: Playing,
    queue: VecDeque<Arc<LoadedTrack>>,
    silence: Arc<LoadedTrack>,
    skip: bool,
}

impl MusicBed {
    fn new(start: Ticks, silence: Arc<LoadedTrack>) -> MusicBed {
        MusicBed {
            next_pts: start,
            playing: Playing {
                track: silence.clone(),
                next_frame: 0,
                is_silence: true,
            },
            queue: VecDeque::new(),
            silence,
            skip: false,
        }
    }

    /// Queues a track to play after the current one.
    pub fn push(&mut self, track: Arc<LoadedTrack>) {
        self.queue.push_back(track);
    }

    /// Tracks queued behind the current one.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Ends the current track at the next audio frame.
    pub fn skip(&mut self) {
        self.skip = true;
    }

    /// The track playing now (None while silence fills in).
    pub fn current_info(&self) -> Option<Arc<TrackInfo>> {
        (!self.playing.is_silence).then(|| self.playing.track.info.clone())
    }

    fn position_secs(&self) -> f64 {
        self.playing.next_frame as f64 * AUDIO_FRAME_TICKS as f64
            / crate::media::time::TICKS_PER_SECOND as f64
    }

    fn advance(&mut self) {
        let ended = self.playing.next_frame >= self.playing.track.frames.len();
        if self.skip || ended || self.playing.is_silence {
            if let Some(next) = self.queue.pop_front() {
                self.playing = Playing {
                    track: next,
                    next_frame: 0,
                    is_silence: false,
                };
            } else if self.skip || ended {
                self.playing = Playing {
                    track: self.silence.clone(),
                    next_frame: 0,
                    is_silence: true,
                };
            }
            self.skip = false;
        }
    }

    /// Takes every AAC frame that starts before `end`, grouped for PES packets:
    /// (pts, contiguous ADTS bytes, frame count).
    fn take_until(&mut self, end: Ticks) -> Vec<(Ticks, Bytes, usize)> {
        let mut out: Vec<(Ticks, Bytes, usize)> = Vec::new();
        while self.next_pts < end {
            self.advance();
            let p = &mut self.playing;
            let start_frame = p.next_frame;
            let start_pts = self.next_pts;
            while self.next_pts < end
                && p.next_frame < p.track.frames.len()
                && p.next_frame - start_frame < AUDIO_FRAMES_PER_PES
            {
                p.next_frame += 1;
                self.next_pts += Ticks(AUDIO_FRAME_TICKS);
            }
            let n = p.next_frame - start_frame;
            if n == 0 {
                // An empty track (cannot happen for parsed tracks): move on.
                p.next_frame = p.track.frames.len();
                continue;
            }
            let bytes = p
                .track
                .data
                .slice(p.track.frames[start_frame].start..p.track.frames[p.next_frame - 1].end);
            out.push((start_pts, bytes, n));
            if p.is_silence && p.next_frame >= p.track.frames.len() {
                p.next_frame = 0; // silence loops
            }
        }
        out
    }
}
