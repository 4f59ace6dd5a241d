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

use super::loaded::{LoadedClip, LoadedTrack, TrackInfo};
use crate::clip::ClipInfo;
use crate::media::Ticks;
use crate::media::h264::ParameterSets;
use crate::media::ts::TsMuxer;

/// AAC frames per audio PES: fewer PES headers and less TS padding, yet small
/// enough (~85 ms) that audio interleaves finely with video.
const AUDIO_FRAMES_PER_PES: usize = 4;

/// Ticks per AAC frame at 48 kHz: 1024 samples * 90000 / 48000, exactly.
pub const AUDIO_FRAME_TICKS: u64 = crate::media::adts::SAMPLES_PER_FRAME
    * crate::media::time::TICKS_PER_SECOND
    / crate::media::AUDIO_RATE as u64;

// The audio timeline is exact only if a frame is a whole number of ticks.
const _: () = assert!(
    (crate::media::adts::SAMPLES_PER_FRAME * crate::media::time::TICKS_PER_SECOND)
        .is_multiple_of(crate::media::AUDIO_RATE as u64)
);

/// One finished segment, as the splicer cut it.
#[derive(Clone, Debug)]
pub struct SplicedSegment {
    /// Media sequence number.
    pub seq: u64,
    /// Channel time of its first frame.
    pub start: Ticks,
    /// Its length on the channel timeline, in 90 kHz ticks.
    pub duration: Ticks,
    /// The segment's MPEG-TS bytes in the top rung: video and the music bed, muxed.
    pub data: Bytes,
    /// The same segment in each lower rung of the ladder, highest first: the same
    /// timestamps, the same audio frames, the rung's video.
    pub lower: Vec<Bytes>,
    /// Each rung's video codec (RFC 6381, `avc1.64001f`), the top first, as the
    /// clip airing says; `None` where it has no SPS.
    pub codecs: Vec<Option<String>>,
    /// Codec parameters changed at its start: the playlist needs EXT-X-DISCONTINUITY.
    pub discontinuity: bool,
    /// The clip its first frame comes from, and where in that clip (seconds).
    pub clip: Arc<ClipInfo>,
    /// Where in the clip its first frame is, seconds.
    pub clip_position: f64,
    /// The clip's whole length, seconds.
    pub clip_duration: f64,
    /// The track playing at its start, and where in that track (seconds).
    pub track: Option<Arc<TrackInfo>>,
    /// Where in the track (or the silence loop) its audio starts, seconds.
    pub track_position: f64,
    /// Video frames in the segment.
    pub video_frames: usize,
    /// AAC frames in the segment.
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
    /// One muxer per rung (the top first): each rung is its own stream, with its
    /// own continuity counters.
    mux: Vec<TsMuxer>,
    /// The rungs' heights, in `mux`'s order (`None`: the top).
    heights: Vec<Option<u32>>,
    airing: Option<Airing>,
    /// The parameter sets each rung aired last.
    last_params: Vec<Option<ParameterSets>>,
    pending_discontinuity: bool,
    music: MusicBed,
}

impl Splicer {
    /// `start` is the channel time of the first frame, `first_seq` the first segment's
    /// media sequence number (both continue after a restart). One rung (the top).
    pub fn new(
        frame_ticks: u64,
        segment_frames: usize,
        start: Ticks,
        first_seq: u64,
        silence: Arc<LoadedTrack>,
    ) -> Splicer {
        Splicer::with_rungs(frame_ticks, segment_frames, start, first_seq, silence, &[])
    }

    /// [`Splicer::new`] for a ladder whose lower rungs are `lower` (heights, highest
    /// first): every segment is cut in every rung at the same frames.
    pub fn with_rungs(
        frame_ticks: u64,
        segment_frames: usize,
        start: Ticks,
        first_seq: u64,
        silence: Arc<LoadedTrack>,
        lower: &[u32],
    ) -> Splicer {
        let heights: Vec<Option<u32>> = std::iter::once(None)
            .chain(lower.iter().map(|h| Some(*h)))
            .collect();
        let mux = heights
            .iter()
            .map(|_| {
                let mut mux = TsMuxer::new();
                if first_seq > 0 {
                    // Continuing an earlier run's stream (whose playlist shows a
                    // discontinuity): the counters start again.
                    mux.mark_discontinuity();
                }
                mux
            })
            .collect::<Vec<_>>();
        Splicer {
            frame_ticks,
            segment_frames,
            next_pts: start,
            seq: first_seq,
            last_params: vec![None; mux.len()],
            mux,
            heights,
            airing: None,
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

    /// Frames of the airing clip not cut yet (0 without one).
    pub fn frames_left(&self) -> usize {
        self.airing
            .as_ref()
            .map_or(0, |a| a.clip.frames.len().saturating_sub(a.pos))
    }

    /// The clip now airing, if any.
    pub fn airing(&self) -> Option<&Arc<ClipInfo>> {
        self.airing.as_ref().map(|a| &a.clip.info)
    }

    /// Starts `clip` at the next segment boundary, cutting the airing one short if
    /// it is not finished (a skip). Timestamps go on seamlessly either way.
    pub fn start_clip(&mut self, clip: Arc<LoadedClip>) {
        // A change in any rung is a discontinuity in all of them: players switch
        // rungs only where their discontinuities agree.
        for (h, last) in self.heights.iter().zip(&mut self.last_params) {
            if let (_, Some(params)) = clip.rendition(*h) {
                if last.as_ref().is_some_and(|l| l != params) {
                    self.pending_discontinuity = true;
                }
                *last = Some(params.clone());
            }
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

        // Settle the bed first, so "now playing" names what the segment's audio opens with.
        self.music.advance();
        let track = self.music.current_info();
        let track_position = self.music.position_secs();
        let audio = self.music.take_until(end);

        let ft = self.frame_ticks as i64;
        let mut rungs: Vec<Bytes> = self
            .mux
            .iter_mut()
            .zip(&self.heights)
            .map(|(mux, h)| {
                let (frames, _) = clip.rendition(*h);
                mux_segment(mux, &frames[from..to], base, ft, &audio)
            })
            .collect();
        let data = rungs.remove(0);

        let seq = self.seq;
        self.seq += 1;
        let discontinuity = std::mem::take(&mut self.pending_discontinuity) && from == 0;
        let fps_ticks = self.frame_ticks as f64 / crate::media::time::TICKS_PER_SECOND as f64;
        SplicedSegment {
            seq,
            start,
            duration: end - start,
            data,
            lower: rungs,
            codecs: self
                .last_params
                .iter()
                .map(|p| p.as_ref().and_then(ParameterSets::codec_string))
                .collect(),
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

/// One rung's segment: its `frames` re-stamped from `base` (`ft` ticks a frame),
/// interleaved in decode order with the music bed's `audio`.
fn mux_segment(
    mux: &mut TsMuxer,
    frames: &[super::loaded::Frame],
    base: Ticks,
    ft: i64,
    audio: &[(Ticks, Bytes, usize)],
) -> Bytes {
    let video_bytes: usize = frames.iter().map(|f| f.data.len()).sum();
    let audio_bytes: usize = audio.iter().map(|a| a.1.len()).sum();
    // TS overhead is ~2-5%; over-reserve a little so the buffer never regrows.
    let mut out = Vec::with_capacity((video_bytes + audio_bytes) * 110 / 100 + 4 * 188);
    mux.begin_segment(&mut out);
    let mut audio_iter = audio.iter().peekable();
    for f in frames {
        let pts = Ticks((base.0 as i64 + f.pts_frames * ft) as u64);
        let dts = Ticks((base.0 as i64 + f.dts) as u64);
        while let Some((apts, bytes, _)) = audio_iter.peek() {
            if *apts > dts {
                break;
            }
            mux.write_audio(&mut out, *apts, bytes);
            audio_iter.next();
        }
        mux.write_video(&mut out, pts, dts, f.keyframe, &f.data);
    }
    for (apts, bytes, _) in audio_iter {
        mux.write_audio(&mut out, *apts, bytes);
    }
    Bytes::from(out)
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

    /// Whether the music runs out before `end` with nothing queued to follow:
    /// silence plays now, or the current track (or a skip) ends before then.
    pub fn runs_out_before(&self, end: Ticks) -> bool {
        if !self.queue.is_empty() {
            return false;
        }
        let p = &self.playing;
        let left = p.track.frames.len().saturating_sub(p.next_frame) as u64;
        p.is_silence || self.skip || self.next_pts + Ticks(left * AUDIO_FRAME_TICKS) < end
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::engine::loaded::Frame;
    use crate::media::ts;

    const FT: u64 = 3000;
    const GOP: usize = 3;

    /// Annex B access unit: optional SPS/PPS (distinct per `params`), then a slice.
    fn au(idr: bool, params: u8, tag: u8) -> Bytes {
        let mut v = vec![0, 0, 0, 1, 0x09, 0xf0];
        if idr {
            v.extend_from_slice(&[0, 0, 0, 1, 0x67, 0x64, 0x00, 0x1f, params]);
            v.extend_from_slice(&[0, 0, 0, 1, 0x68, 0xee, 0x3c, 0x80]);
            v.extend_from_slice(&[0, 0, 1, 0x65, 0x88, tag]);
        } else {
            v.extend_from_slice(&[0, 0, 1, 0x41, 0x9a, tag]);
        }
        v.extend(std::iter::repeat_n(tag, 300)); // spans several TS packets
        Bytes::from(v)
    }

    /// A clip of `gops` closed GOPs with B-frame-like reordering (I P B per GOP).
    pub(crate) fn clip(id: &str, gops: usize, params: u8) -> Arc<LoadedClip> {
        let mut frames = Vec::new();
        for g in 0..gops {
            let base = (g * GOP) as i64;
            // Decode order I(0) P(2) B(1): DTS one frame apart, one frame of delay.
            for (k, pts) in [0i64, 2, 1].into_iter().enumerate() {
                frames.push(Frame {
                    pts_frames: base + pts,
                    dts: (base + k as i64 - 1) * FT as i64,
                    keyframe: k == 0,
                    data: au(k == 0, params, (g * 3 + k) as u8),
                });
            }
        }
        let params = crate::media::h264::parameter_sets(&frames[0].data);
        let info = Arc::new(ClipInfo {
            id: id.into(),
            source: None,
            title: id.into(),
            creator: None,
            source_start: 0.0,
            chunk: None,
            picture: None,
            duration: 0.0,
            ..ClipInfo::default()
        });
        Arc::new(LoadedClip {
            info,
            frames,
            params,
            lower: Vec::new(),
            cue: 0,
        })
    }

    /// An ADTS file of `n` frames (AAC-LC, 48 kHz, stereo) whose payload bytes are `tag`.
    pub(crate) fn track(title: &str, n: usize, tag: u8) -> Arc<LoadedTrack> {
        let data: Vec<u8> = (0..n)
            .flat_map(|_| crate::media::adts::test_frame(27, tag))
            .collect();
        Arc::new(LoadedTrack::parse(title, None, Bytes::from(data)).unwrap())
    }

    fn splicer(start: u64) -> Splicer {
        Splicer::new(FT, GOP, Ticks(start), 7, track("silence", 10, 0))
    }

    fn concat(segs: &[SplicedSegment]) -> Vec<u8> {
        segs.iter().flat_map(|s| s.data.iter().copied()).collect()
    }

    #[test]
    fn switches_keep_timestamps_continuous_and_segments_open_on_idr() {
        let mut s = splicer(900_000);
        let mut segs = Vec::new();
        for c in [clip("a", 2, 1), clip("b", 1, 1), clip("c", 2, 1)] {
            s.start_clip(c);
            while !s.needs_clip() {
                segs.push(s.next_segment());
            }
        }
        assert_eq!(segs.len(), 5);
        assert_eq!(
            segs.iter().map(|s| s.seq).collect::<Vec<_>>(),
            [7, 8, 9, 10, 11]
        );
        assert!(
            segs.iter().all(|s| !s.discontinuity),
            "same parameters: no discontinuity"
        );
        assert!(segs.iter().all(|s| s.duration == Ticks(3 * FT)));
        for seg in &segs {
            let aus = ts::read_video_access_units(&seg.data).unwrap();
            assert!(aus[0].keyframe, "segment opens on an IDR frame");
            assert_eq!(seg.start, Ticks(aus[0].pts));
        }
        let aus = ts::read_video_access_units(&concat(&segs)).unwrap();
        assert_eq!(aus.len(), 15);
        assert!(
            aus.windows(2).all(|w| w[1].dts == w[0].dts + FT),
            "DTS one frame apart across switches"
        );
        let mut pts: Vec<u64> = aus.iter().map(|a| a.pts).collect();
        pts.sort_unstable();
        assert!(
            pts.iter()
                .enumerate()
                .all(|(i, p)| *p == 900_000 + i as u64 * FT)
        );
        assert!(aus.iter().all(|a| a.dts <= a.pts));
    }

    #[test]
    fn discontinuity_exactly_where_codec_parameters_change() {
        let mut s = splicer(900_000);
        let mut flags = Vec::new();
        for c in [
            clip("a", 2, 1),
            clip("b", 2, 1),
            clip("c", 2, 2),
            clip("d", 1, 2),
            clip("e", 1, 1),
        ] {
            s.start_clip(c);
            while !s.needs_clip() {
                flags.push(s.next_segment().discontinuity);
            }
        }
        assert_eq!(
            flags,
            [false, false, false, false, true, false, false, true]
        );
    }

    /// `top` with a lower rung of 144 lines: `low`'s frames (same timing).
    fn with_rung(top: Arc<LoadedClip>, low: Arc<LoadedClip>) -> Arc<LoadedClip> {
        let mut c = Arc::try_unwrap(top).unwrap();
        let low = Arc::try_unwrap(low).unwrap();
        c.lower.push((
            144,
            crate::engine::loaded::Rendition {
                frames: low.frames,
                params: low.params,
            },
        ));
        Arc::new(c)
    }

    /// Every segment is cut in every rung at the same frames, each rung from its
    /// own frames (the top's where a clip lacks the rung); a change of parameters
    /// in any rung is a discontinuity of all of them.
    #[test]
    fn rungs_are_cut_in_step_and_a_change_in_one_is_a_discontinuity_in_all() {
        let mut s =
            Splicer::with_rungs(FT, GOP, Ticks(900_000), 7, track("silence", 10, 0), &[144]);
        let mut segs = Vec::new();
        for c in [
            with_rung(clip("a", 2, 1), clip("a-low", 2, 5)),
            // Same top parameters, other ones in the lower rung.
            with_rung(clip("b", 1, 1), clip("b-low", 1, 6)),
            // No lower rung: its top airs there (parameters 1 in both).
            clip("c", 1, 1),
        ] {
            s.start_clip(c);
            while !s.needs_clip() {
                segs.push(s.next_segment());
            }
        }
        let flags: Vec<bool> = segs.iter().map(|g| g.discontinuity).collect();
        assert_eq!(flags, [false, false, true, true]);
        for g in &segs {
            assert_eq!(g.lower.len(), 1);
            // The same timestamps in both rungs, in the same order.
            let ts = |b: &[u8]| -> Vec<(u64, u64)> {
                let aus = ts::read_video_access_units(b).unwrap();
                aus.iter().map(|a| (a.pts, a.dts)).collect()
            };
            assert_eq!(ts(&g.data), ts(&g.lower[0]));
            assert_eq!(g.codecs.len(), 2);
        }
        // The lower rung carries its own frames, then the top's for `c`.
        let low_params = |b: &[u8]| {
            let aus = ts::read_video_access_units(b).unwrap();
            crate::media::h264::parameter_sets(&aus[0].data)
        };
        assert_eq!(low_params(&segs[0].lower[0]), clip("x", 1, 5).params);
        assert_eq!(low_params(&segs[3].lower[0]), clip("x", 1, 1).params);
    }

    /// Whether each TS packet of `ts` carries discontinuity_indicator.
    fn flagged_pids(ts: &[u8]) -> Vec<u16> {
        ts.chunks(ts::PACKET_SIZE)
            .filter(|p| p[3] & 0x20 != 0 && p[4] > 0 && p[5] & 0x80 != 0)
            .map(|p| u16::from_be_bytes([p[1] & 0x1F, p[2]]))
            .collect()
    }

    #[test]
    fn a_continued_stream_flags_its_restarted_counters_once_and_a_new_one_not_at_all() {
        // first_seq 7: the stream of an earlier run goes on, its counters from 0.
        let mut s = splicer(900_000);
        s.start_clip(clip("a", 2, 1));
        let (a, b) = (s.next_segment(), s.next_segment());
        let mut pids = flagged_pids(&a.data);
        pids.sort_unstable();
        assert_eq!(pids, [0, ts::VIDEO_PID, ts::AUDIO_PID, ts::PMT_PID]);
        assert!(flagged_pids(&b.data).is_empty());
        let mut fresh = Splicer::new(FT, GOP, Ticks(0), 0, track("silence", 10, 0));
        fresh.start_clip(clip("a", 1, 1));
        assert!(flagged_pids(&fresh.next_segment().data).is_empty());
    }

    #[test]
    fn a_skip_cuts_the_clip_at_the_next_segment_and_stays_continuous() {
        let mut s = splicer(0);
        s.start_clip(clip("long", 4, 1));
        let first = s.next_segment();
        s.start_clip(clip("next", 1, 1));
        let second = s.next_segment();
        assert_eq!(second.clip.id, "next");
        assert_eq!(second.start, first.start + first.duration);
        assert!(s.needs_clip());
    }

    #[test]
    fn music_runs_on_across_switches_and_changes_track_at_its_end() {
        let mut s = splicer(900_000);
        let mut segs = Vec::new();
        s.music().push(track("one", 5, 1)); // 5 frames = 106.7 ms
        s.music().push(track("two", 1000, 2));
        for c in [clip("a", 1, 1), clip("b", 1, 1)] {
            s.start_clip(c);
            segs.push(s.next_segment());
        }
        let audio = ts::read_audio_pes(&concat(&segs)).unwrap();
        let mut frames = Vec::new();
        for (pts, data) in &audio {
            let ranges = crate::media::adts::split_frames(data).unwrap();
            for (i, r) in ranges.iter().enumerate() {
                frames.push((pts + i as u64 * AUDIO_FRAME_TICKS, data[r.start + 7]));
            }
        }
        assert!(
            frames
                .windows(2)
                .all(|w| w[1].0 == w[0].0 + AUDIO_FRAME_TICKS),
            "one AAC frame apart"
        );
        assert_eq!(frames[0].0, 900_000, "audio starts with the video");
        let end = 900_000 + 6 * FT;
        assert!(
            frames.last().unwrap().0 < end && frames.last().unwrap().0 + AUDIO_FRAME_TICKS >= end
        );
        let tags: Vec<u8> = frames.iter().map(|f| f.1).collect();
        assert_eq!(&tags[..5], &[1; 5], "track one plays whole");
        assert!(tags[5..].iter().all(|t| *t == 2), "then track two, no gap");
        assert_eq!(segs[1].track.as_ref().unwrap().title, "two");
    }

    #[test]
    fn silence_fills_in_until_a_track_arrives_and_after_a_skip() {
        let mut s = splicer(0);
        s.start_clip(clip("a", 3, 1));
        let seg = s.next_segment();
        assert!(seg.track.is_none(), "silence is not a track");
        assert_eq!(
            seg.audio_frames,
            (3 * FT).div_ceil(AUDIO_FRAME_TICKS) as usize
        );
        s.music().push(track("song", 1000, 5));
        let seg = s.next_segment();
        assert_eq!(
            seg.track.as_ref().unwrap().title,
            "song",
            "a track replaces silence at once"
        );
        assert!(seg.track_position == 0.0);
        s.music().skip();
        let seg = s.next_segment();
        assert!(seg.track.is_none(), "skipped, nothing queued: silence");
        let seg = s.next_segment();
        assert!(seg.track.is_none());
    }

    #[test]
    fn timestamps_cross_the_33_bit_wrap() {
        let start = crate::media::time::PTS_WRAP - 4 * FT;
        let mut s = splicer(start);
        let mut segs = Vec::new();
        for c in [clip("a", 2, 1), clip("b", 2, 1)] {
            s.start_clip(c);
            while !s.needs_clip() {
                segs.push(s.next_segment());
            }
        }
        // Our demuxer unwraps, so the stream reads as one monotonic timeline.
        let aus = ts::read_video_access_units(&concat(&segs)).unwrap();
        assert!(aus.windows(2).all(|w| w[1].dts == w[0].dts + FT));
        assert!(aus.last().unwrap().pts > crate::media::time::PTS_WRAP);
        // And on the wire every value is 33 bits.
        let raw = concat(&segs);
        assert!(raw.chunks(188).all(|p| p[0] == 0x47));
    }
}
