//! MPEG transport stream: the channel's live muxer and the clip demuxer.
//!
//! The channel's stream has one program with fixed PIDs, so every segment and every
//! clip splice looks the same to players.

pub mod demux;
pub mod join;
pub mod mux;

pub use demux::{VideoAccessUnit, read_audio_pes, read_video_access_units};
pub use mux::{PCR_LEAD, TsMuxer};

/// Size of one transport stream packet.
pub const PACKET_SIZE: usize = 188;
/// PID of the channel's program map table.
pub const PMT_PID: u16 = 0x1000;
/// PID of the channel's H.264 stream (also its PCR PID).
pub const VIDEO_PID: u16 = 0x100;
/// PID of the channel's ADTS AAC stream.
pub const AUDIO_PID: u16 = 0x101;
/// program_number of the channel's only program.
pub const PROGRAM_NUMBER: u16 = 1;

/// Why a transport stream could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TsError {
    /// Zero bytes: nothing to demux.
    #[error("empty input: not an MPEG transport stream")]
    Empty,
    /// The data does not start with a sync byte, so it is some other kind of file.
    #[error("not an MPEG transport stream: first byte is 0x{found:02x}, not the 0x47 sync byte")]
    NotTransportStream {
        /// The first byte of the input.
        found: u8,
    },
    /// A packet boundary without a sync byte: corruption, or not 188-byte packets.
    #[error("lost MPEG-TS sync at byte {offset}: expected 0x47, found 0x{found:02x}")]
    LostSync {
        /// Byte offset of the packet that should have started there.
        offset: usize,
        /// The byte found instead of 0x47.
        found: u8,
    },
    /// The length is not a whole number of packets (usually a truncated file).
    #[error("MPEG-TS length {len} is not a multiple of {PACKET_SIZE} (truncated file?)")]
    PartialPacket {
        /// Length of the input.
        len: usize,
    },
    /// A packet, table or PES header failed to parse.
    #[error("malformed MPEG-TS packet at byte {offset}: {reason}")]
    Malformed {
        /// Byte offset of the packet.
        offset: usize,
        /// What the parser objected to.
        reason: String,
    },
    /// No PAT/PMT was found, so no stream can be identified.
    #[error("no program (PAT/PMT) found in the transport stream")]
    NoProgram,
    /// The program has no elementary stream of the wanted kind.
    #[error("no {0} stream in the transport stream's program")]
    NoStream(&'static str),
}
