//! The rungs of a channel's ladder as the live window knows them: what each one
//! is, its bit rate as aired, and its folder. Rung 0 is the top one; the lower
//! ones follow, highest first.

/// A lower rung's part of URLs: `480p`.
pub fn folder(height: u32) -> String {
    format!("{height}p")
}

/// A rung's bit rate over the segments held, as the multivariant playlist
/// announces it, and its video codec.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RungBandwidth {
    /// The highest bit rate of one segment, bits per second.
    pub peak_bps: u64,
    /// All the segments' bits over all their seconds.
    pub average_bps: u64,
    /// The video codec (RFC 6381) of the newest segment, when it has an SPS.
    pub codecs: Option<String>,
}

/// A rung as the channel airs it: its picture and the bit rate it was encoded to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RungSpec {
    /// Picture width.
    pub width: u32,
    /// Picture height.
    pub height: u32,
    /// Frames per second.
    pub fps: u32,
    /// The video bit rate cap it was encoded to, kb/s.
    pub video_kbps: u32,
}
