//! Clips joined into one transport stream with continuous timestamps: a chunk as
//! one playable file (`/chunks/<name>`), without re-encoding. Each clip's frames
//! are moved onto one timeline, the next clip starting one frame after the last;
//! a PAT and a PMT precede every keyframe, so a player may start or seek anywhere.

use super::{TsError, TsMuxer, read_video_access_units};
use crate::media::Ticks;

/// Where the first frame of a joined stream is presented: one second in, so that
/// decode timestamps (earlier by the reorder delay) never go below zero.
const START: Ticks = Ticks(90_000);

/// Joins clips, one at a time, into one stream (video only, like the clips).
#[derive(Debug)]
pub struct Joiner {
    mux: TsMuxer,
    /// Presentation time of the next clip's first frame.
    next: Ticks,
}

impl Default for Joiner {
    fn default() -> Self {
        Self::new()
    }
}

impl Joiner {
    /// A stream that begins at [`START`].
    pub fn new() -> Joiner {
        Joiner {
            mux: TsMuxer::with_audio(false),
            next: START,
        }
    }

    /// Appends the clip `ts` (a clip file: H.264 in MPEG-TS, constant frame rate)
    /// to `out`.
    pub fn push(&mut self, ts: &[u8], out: &mut Vec<u8>) -> Result<(), TsError> {
        let aus = read_video_access_units(ts)?;
        let Some(first_pts) = aus.iter().map(|a| a.pts).min() else {
            return Ok(());
        };
        let last_pts = aus.iter().map(|a| a.pts).max().unwrap_or(first_pts);
        // A constant frame rate: the frame duration is the span over the frames.
        let frame = match aus.len() {
            0 | 1 => 3000,
            n => (last_pts - first_pts) / (n as u64 - 1),
        };
        let base = self.next.0;
        // Decode times may precede the first presentation time by the reorder
        // delay, never by more than the lead START leaves.
        let at = |t: u64| Ticks((base + t).saturating_sub(first_pts));
        out.reserve(ts.len());
        for au in &aus {
            if au.keyframe {
                self.mux.begin_segment(out);
            }
            self.mux
                .write_video(out, at(au.pts), at(au.dts), au.keyframe, &au.data);
        }
        self.next = Ticks(base + (last_pts - first_pts) + frame);
        Ok(())
    }

    /// Seconds of video joined so far.
    pub fn duration(&self) -> f64 {
        (self.next.0 - START.0) as f64 / 90_000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::ts::read_video_access_units;

    /// A clip as the muxer would write one: `frames` frames at 3000 ticks from
    /// `origin`, a keyframe every `gop`, with B-frame-like reordering (DTS one frame
    /// behind PTS).
    fn clip(frames: u64, gop: u64, origin: u64) -> Vec<u8> {
        let mut mux = TsMuxer::with_audio(false);
        let mut out = Vec::new();
        for i in 0..frames {
            let key = i % gop == 0;
            if key {
                mux.begin_segment(&mut out);
            }
            // An IDR slice NAL (type 5) for keyframes, else a non-IDR slice (1).
            let nal: &[u8] = if key {
                &[0, 0, 0, 1, 0x65, 0x88, 0x84]
            } else {
                &[0, 0, 0, 1, 0x41, 0x9a, 0x02]
            };
            let pts = Ticks(origin + i * 3000 + 3000);
            let dts = Ticks(origin + i * 3000);
            mux.write_video(&mut out, pts, dts, key, nal);
        }
        out
    }

    #[test]
    fn clips_follow_each_other_one_frame_apart_on_one_timeline() {
        let mut j = Joiner::new();
        let mut out = Vec::new();
        // Clips begin where their encoder put them: 1.4 s, and far on.
        j.push(&clip(50, 25, 126_000), &mut out).unwrap();
        j.push(&clip(25, 25, 900_000_000), &mut out).unwrap();
        // 75 frames at 30 per second.
        assert!((j.duration() - 2.5).abs() < 1e-9, "{}", j.duration());
        let aus = read_video_access_units(&out).unwrap();
        assert_eq!(aus.len(), 75);
        let mut pts: Vec<u64> = aus.iter().map(|a| a.pts).collect();
        pts.sort_unstable();
        assert_eq!(pts[0], START.0);
        assert!(pts.windows(2).all(|w| w[1] - w[0] == 3000), "{pts:?}");
        assert!(aus.iter().all(|a| a.dts <= a.pts));
        assert!(aus.windows(2).all(|w| w[1].dts > w[0].dts));
        assert_eq!(aus.iter().filter(|a| a.keyframe).count(), 3);
    }

    #[test]
    fn a_damaged_clip_is_an_error_not_a_panic() {
        let mut out = Vec::new();
        assert!(
            Joiner::new()
                .push(b"not a transport stream", &mut out)
                .is_err()
        );
        assert!(Joiner::new().push(&[], &mut out).is_err());
    }
}
