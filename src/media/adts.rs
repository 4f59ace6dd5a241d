//! ADTS (AAC in MPEG-TS) framing: splitting a `.aac` file into whole frames and
//! reading the fixed header fields the muxer and the splicer care about.

use std::ops::Range;

/// PCM samples per channel in one AAC raw data block.
pub const SAMPLES_PER_FRAME: u64 = 1024;

/// ADTS header length without CRC (protection_absent = 1).
const HEADER_LEN: usize = 7;
/// ADTS header length with its 16-bit CRC (protection_absent = 0).
const HEADER_LEN_WITH_CRC: usize = 9;

/// Sample rates by sampling_frequency_index (ISO/IEC 14496-3, 1.6.3.4).
const SAMPLE_RATES: [u32; 13] = [
    96_000, 88_200, 64_000, 48_000, 44_100, 32_000, 24_000, 22_050, 16_000, 12_000, 11_025, 8_000,
    7_350,
];

/// Why ADTS data could not be parsed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AdtsError {
    /// Fewer bytes than an ADTS header needs.
    #[error("ADTS header needs {needed} bytes, only {available} available")]
    Truncated {
        /// Bytes the header needs.
        needed: usize,
        /// Bytes there are.
        available: usize,
    },
    /// The first 12 bits are not the 0xFFF sync word.
    #[error("no ADTS sync word (0xFFF)")]
    NoSync,
    /// The layer field must be 0 in ADTS; anything else is MPEG audio or garbage.
    #[error("ADTS layer must be 0, found {0}")]
    BadLayer(u8),
    /// frame_length cannot even hold the header it is part of.
    #[error("ADTS frame_length {frame_length} is shorter than its {header_length}-byte header")]
    BadFrameLength {
        /// The frame_length field.
        frame_length: usize,
        /// The header length implied by protection_absent.
        header_length: usize,
    },
    /// sampling_frequency_index 13..=15 are reserved.
    #[error("reserved ADTS sampling_frequency_index {0}")]
    BadSampleRateIndex(u8),
    /// A frame inside a stream failed to parse.
    #[error("invalid ADTS frame at byte {offset}: {source}")]
    InvalidFrame {
        /// Byte offset of the bad frame in the data given to [`split_frames`].
        offset: usize,
        /// What was wrong with it.
        #[source]
        source: Box<AdtsError>,
    },
}

/// The fields of an ADTS header that matter to shufflecast.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AdtsHeader {
    /// MPEG-4 audio object type (the 2-bit profile field + 1): 2 is AAC LC.
    pub profile: u8,
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// channel_configuration (0 means "defined in a PCE inside the payload").
    pub channels: u8,
    /// Whole frame length in bytes, header included.
    pub frame_length: usize,
    /// Number of raw data blocks in the frame (the 2-bit field + 1), each
    /// [`SAMPLES_PER_FRAME`] samples long.
    pub raw_blocks: u8,
}

/// Parses the ADTS header at the start of `frame` (the frame itself may be cut
/// short: only the header bytes are needed).
pub fn parse_header(frame: &[u8]) -> Result<AdtsHeader, AdtsError> {
    if frame.len() < HEADER_LEN {
        return Err(AdtsError::Truncated {
            needed: HEADER_LEN,
            available: frame.len(),
        });
    }
    if frame[0] != 0xFF || frame[1] & 0xF0 != 0xF0 {
        return Err(AdtsError::NoSync);
    }
    let layer = (frame[1] >> 1) & 0b11;
    if layer != 0 {
        return Err(AdtsError::BadLayer(layer));
    }
    let protection_absent = frame[1] & 1 == 1;
    let header_length = if protection_absent {
        HEADER_LEN
    } else {
        HEADER_LEN_WITH_CRC
    };
    let profile = (frame[2] >> 6) + 1;
    let rate_index = (frame[2] >> 2) & 0b1111;
    let sample_rate = *SAMPLE_RATES
        .get(usize::from(rate_index))
        .ok_or(AdtsError::BadSampleRateIndex(rate_index))?;
    let channels = ((frame[2] & 1) << 2) | (frame[3] >> 6);
    let frame_length = (usize::from(frame[3] & 0b11) << 11)
        | (usize::from(frame[4]) << 3)
        | usize::from(frame[5] >> 5);
    if frame_length < header_length {
        return Err(AdtsError::BadFrameLength {
            frame_length,
            header_length,
        });
    }
    let raw_blocks = (frame[6] & 0b11) + 1;
    Ok(AdtsHeader {
        profile,
        sample_rate,
        channels,
        frame_length,
        raw_blocks,
    })
}

/// Byte ranges of the whole ADTS frames (header included) in `data`, in order. A
/// truncated last frame is dropped; anything that is not ADTS is an error.
pub fn split_frames(data: &[u8]) -> Result<Vec<Range<usize>>, AdtsError> {
    let mut frames = Vec::with_capacity(data.len() / 256);
    let mut offset = 0;
    while offset < data.len() {
        let rest = &data[offset..];
        let header = match parse_header(rest) {
            Ok(header) => header,
            // A cut-off header is the tail of an interrupted write, not garbage,
            // as long as what is there still looks like the start of a header.
            Err(AdtsError::Truncated { .. }) if looks_like_header_start(rest) => break,
            Err(source) => {
                return Err(AdtsError::InvalidFrame {
                    offset,
                    source: Box::new(source),
                });
            }
        };
        let end = offset + header.frame_length;
        if end > data.len() {
            break;
        }
        frames.push(offset..end);
        offset = end;
    }
    Ok(frames)
}

fn looks_like_header_start(rest: &[u8]) -> bool {
    match rest {
        [0xFF] => true,
        [0xFF, second, ..] => second & 0xF6 == 0xF0,
        _ => false,
    }
}

/// An AAC LC, 48 kHz, stereo ADTS frame of `len` bytes (header included) filled
/// with `fill`: test media for this module and its users.
#[cfg(test)]
pub(crate) fn test_frame(len: usize, fill: u8) -> Vec<u8> {
    let mut f = vec![
        0xFF,
        0xF1,
        (1 << 6) | (3 << 2),
        (2 << 6) | ((len >> 11) as u8 & 0b11),
        (len >> 3) as u8,
        ((len as u8 & 0b111) << 5) | 0x1F,
        0xFC,
    ];
    f.resize(len, fill);
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::test_frame as frame;
    use crate::testkit::media;

    #[test]
    fn parses_header_fields() {
        let h = parse_header(&frame(371, 0)).unwrap();
        assert_eq!(
            h,
            AdtsHeader {
                profile: 2,
                sample_rate: 48_000,
                channels: 2,
                frame_length: 371,
                raw_blocks: 1,
            }
        );
    }

    #[test]
    fn header_errors() {
        assert_eq!(
            parse_header(&[0xFF, 0xF1]),
            Err(AdtsError::Truncated {
                needed: 7,
                available: 2
            })
        );
        assert_eq!(parse_header(b"hello world"), Err(AdtsError::NoSync));
        let mut mp3ish = frame(100, 0);
        mp3ish[1] = 0xFB; // layer 1
        assert_eq!(parse_header(&mp3ish), Err(AdtsError::BadLayer(1)));
        let mut short = frame(100, 0);
        short[4] = 0;
        short[5] &= 0x1F;
        assert!(matches!(
            parse_header(&short),
            Err(AdtsError::BadFrameLength {
                frame_length: 0,
                ..
            })
        ));
        let mut rate = frame(100, 0);
        rate[2] |= 0b1111 << 2;
        assert_eq!(parse_header(&rate), Err(AdtsError::BadSampleRateIndex(15)));
    }

    #[test]
    fn splits_frames_and_drops_a_truncated_tail() {
        let mut data = frame(10, 1);
        data.extend(frame(300, 2));
        data.extend(frame(8191, 3));
        assert_eq!(
            split_frames(&data).unwrap(),
            vec![0..10, 10..310, 310..8501]
        );
        let whole = data.len();
        data.extend(&frame(50, 4)[..20]);
        assert_eq!(split_frames(&data).unwrap().len(), 3);
        data.truncate(whole + 3);
        assert_eq!(split_frames(&data).unwrap().len(), 3);
        data.truncate(whole + 1);
        assert_eq!(split_frames(&data).unwrap().len(), 3);
        assert_eq!(
            split_frames(&[]).unwrap(),
            Vec::<std::ops::Range<usize>>::new()
        );
    }

    #[test]
    fn garbage_is_an_error_with_its_offset() {
        let mut data = frame(10, 1);
        data.extend(b"garbage garbage");
        let err = split_frames(&data).unwrap_err();
        assert!(
            matches!(&err, AdtsError::InvalidFrame { offset: 10, source } if **source == AdtsError::NoSync),
            "{err}"
        );
        // Short trailing garbage is garbage too, not a truncated frame.
        let mut data = frame(10, 1);
        data.extend(b"ab");
        assert!(split_frames(&data).is_err());
        assert!(split_frames(b"not an aac file at all").is_err());
    }

    #[test]
    fn real_ffmpeg_aac() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.aac");
        let mut a = media::args(["-f", "lavfi", "-i", "sine=f=440:d=1"]);
        a.extend(media::args([
            "-c:a", "aac", "-ar", "48000", "-ac", "2", "-f", "adts",
        ]));
        a.push(path.clone().into());
        media::ffmpeg(a);
        let data = std::fs::read(&path).unwrap();
        let frames = split_frames(&data).unwrap();
        // 1 s at 48 kHz is 46.9 frames; the encoder adds priming and a flush.
        assert!((47..=50).contains(&frames.len()), "{} frames", frames.len());
        assert_eq!(frames.last().unwrap().end, data.len());
        for range in &frames {
            let h = parse_header(&data[range.clone()]).unwrap();
            assert_eq!(h.profile, 2);
            assert_eq!(h.sample_rate, 48_000);
            assert_eq!(h.channels, 2);
            assert_eq!(h.raw_blocks, 1);
            assert_eq!(h.frame_length, range.len());
        }
    }
}
