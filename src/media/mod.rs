//! Pure media code: no IO, no tokio, no processes. Everything here works on byte
//! slices and 90 kHz timestamps, so it is unit-testable and fast.

pub mod adts;
pub mod h264;
pub mod hls;
pub mod params;
pub mod time;
pub mod ts;

pub use time::Ticks;

/// The music bed's sample rate: every track is encoded to it, and the engine
/// muxes nothing else.
pub const AUDIO_RATE: u32 = 48_000;
