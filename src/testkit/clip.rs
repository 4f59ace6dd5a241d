//! Clip requests as tests write them: the test profile, libx264, no look, no
//! watermark and no picture unless a test says otherwise.

use std::path::Path;

use crate::transcode::{ClipRequest, Encoder, Look, OutputProfile, ProbeInfo};

/// The small profile clip tests encode to: 320x180 at 30 fps, 1 s GOPs.
pub const TEST_PROFILE: OutputProfile = OutputProfile {
    width: 320,
    height: 180,
    fps: 30,
    gop_frames: 30,
    video_kbps: 800,
};

static X264: Encoder = Encoder::X264;

/// What ffprobe would say of a 30 s 1080p25 source, interlaced or not, for
/// tests that build arguments or never get as far as reading the source.
pub fn source_info(interlaced: bool) -> ProbeInfo {
    ProbeInfo {
        duration: 30.0,
        width: 1920,
        height: 1080,
        fps: 25.0,
        rotation: 0,
        interlaced,
        title: None,
        artist: None,
        color: Default::default(),
    }
}

impl<'a> ClipRequest<'a> {
    /// One GOP of [`TEST_PROFILE`] from the start of `src` (whose probe is `info`)
    /// to `out`, with libx264, no look and no watermark; the setters below change
    /// one thing each.
    pub fn test(src: &'a Path, info: &'a ProbeInfo, out: &'a Path) -> ClipRequest<'a> {
        ClipRequest {
            src,
            info,
            start: 0.0,
            frames: TEST_PROFILE.gop_frames,
            profile: &TEST_PROFILE,
            encoder: &X264,
            out,
            look: &Look::NONE,
            watermark: None,
            thumbnail: None,
            rungs: &[],
        }
    }

    /// Starts `secs` into the source.
    pub fn at(mut self, secs: f64) -> Self {
        self.start = secs;
        self
    }

    /// Makes exactly `frames` frames.
    pub fn frames(mut self, frames: u32) -> Self {
        self.frames = frames;
        self
    }

    /// Encodes to `profile`.
    pub fn profile(mut self, profile: &'a OutputProfile) -> Self {
        self.profile = profile;
        self
    }

    /// Encodes with `encoder`.
    pub fn encoder(mut self, encoder: &'a Encoder) -> Self {
        self.encoder = encoder;
        self
    }

    /// Applies `look`.
    pub fn look(mut self, look: &'a Look) -> Self {
        self.look = look;
        self
    }

    /// Burns in `text`, if any.
    pub fn watermark(mut self, text: Option<&'a str>) -> Self {
        self.watermark = text;
        self
    }

    /// Writes the clip's picture to `path`, if any.
    pub fn thumbnail(mut self, path: Option<&'a Path>) -> Self {
        self.thumbnail = path;
        self
    }
}
