//! Just enough H.264 Annex B parsing to splice clips: NAL unit splitting, IDR
//! detection and parameter-set extraction.

/// NAL unit type of an IDR slice.
pub const NAL_IDR: u8 = 5;
/// NAL unit type of a sequence parameter set.
pub const NAL_SPS: u8 = 7;
/// NAL unit type of a picture parameter set.
pub const NAL_PPS: u8 = 8;
/// NAL unit type of an access unit delimiter.
pub const NAL_AUD: u8 = 9;

/// The SPS and PPS NAL units of an access unit, compared between clips to spot a
/// codec-parameter change that needs a discontinuity.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ParameterSets {
    /// Sequence parameter sets (type 7), without start codes, in stream order.
    pub sps: Vec<Vec<u8>>,
    /// Picture parameter sets (type 8), without start codes, in stream order.
    pub pps: Vec<Vec<u8>>,
}

impl ParameterSets {
    /// The RFC 6381 codec string of the stream these parameter sets begin,
    /// `avc1.PPCCLL` (profile, constraint flags and level of its first SPS, in
    /// hex), as HLS `CODECS` attributes name it; `None` without an SPS.
    pub fn codec_string(&self) -> Option<String> {
        let sps = self.sps.first()?;
        let [_, profile, flags, level, ..] = sps[..] else {
            return None;
        };
        Some(format!("avc1.{profile:02x}{flags:02x}{level:02x}"))
    }
}

/// Splits an Annex B byte stream (3- or 4-byte start codes) into NAL units, without
/// their start codes.
pub fn nal_units(annexb: &[u8]) -> impl Iterator<Item = &[u8]> {
    NalUnits {
        data: annexb,
        next: find_start_code(annexb, 0),
    }
}

/// The NAL unit type: the low 5 bits of the first byte (0, "unspecified", when empty).
pub fn nal_type(nal: &[u8]) -> u8 {
    nal.first().map_or(0, |b| b & 0x1F)
}

/// True if the access unit (Annex B) contains an IDR slice.
pub fn is_idr(access_unit: &[u8]) -> bool {
    nal_units(access_unit).any(|nal| nal_type(nal) == NAL_IDR)
}

/// The SPS and PPS NAL units found in the access unit (Annex B), None when it has
/// neither.
pub fn parameter_sets(access_unit: &[u8]) -> Option<ParameterSets> {
    let mut sets = ParameterSets {
        sps: Vec::new(),
        pps: Vec::new(),
    };
    for nal in nal_units(access_unit) {
        match nal_type(nal) {
            NAL_SPS => sets.sps.push(nal.to_vec()),
            NAL_PPS => sets.pps.push(nal.to_vec()),
            _ => {}
        }
    }
    (!sets.sps.is_empty() || !sets.pps.is_empty()).then_some(sets)
}

struct NalUnits<'a> {
    data: &'a [u8],
    /// Position of the next `00 00 01` to consume.
    next: Option<usize>,
}

impl<'a> Iterator for NalUnits<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        loop {
            let start = self.next? + 3;
            self.next = find_start_code(self.data, start);
            let end = self.next.unwrap_or(self.data.len());
            // A NAL unit never ends in a zero byte (rbsp_trailing_bits), so trailing
            // zeros belong to the next 4-byte start code or to trailing_zero_8bits.
            let mut nal = &self.data[start..end];
            while let [rest @ .., 0] = nal {
                nal = rest;
            }
            if !nal.is_empty() {
                return Some(nal);
            }
        }
    }
}

/// Index of the first `00 00 01` at or after `from`.
fn find_start_code(data: &[u8], mut i: usize) -> Option<usize> {
    // Looks at the third byte of each window first: a value above 1 rules out a
    // start code beginning at any of the three positions, so the scan mostly moves
    // three bytes at a time (as ffmpeg's finder does). Access units are megabytes.
    while i + 2 < data.len() {
        match data[i + 2] {
            0 => i += 1,
            1 if data[i] == 0 && data[i + 1] == 0 => return Some(i),
            _ => i += 3,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_three_and_four_byte_start_codes() {
        let stream = [
            0, 0, 0, 1, 0x09, 0xF0, // AUD, 4-byte start code
            0, 0, 1, 0x67, 1, 2, 3, // SPS, 3-byte start code
            0, 0, 0, 1, 0x68, 4, // PPS
            0, 0, 1, 0x65, 0, 0, 3, 1, 7, // IDR with an emulation-prevention byte
        ];
        let nals: Vec<&[u8]> = nal_units(&stream).collect();
        assert_eq!(
            nals,
            vec![
                &[0x09, 0xF0][..],
                &[0x67, 1, 2, 3][..],
                &[0x68, 4][..],
                &[0x65, 0, 0, 3, 1, 7][..],
            ]
        );
        let types: Vec<u8> = nals.iter().map(|n| nal_type(n)).collect();
        assert_eq!(types, vec![9, 7, 8, 5]);
    }

    #[test]
    fn ignores_leading_garbage_trailing_zeros_and_empty_units() {
        let stream = [
            0xAA, 0, 0, 1, 0, 0, 1, 0x41, 9, 0, 0, 0, 0, 0, 1, 0x01, 5, 0,
        ];
        let nals: Vec<&[u8]> = nal_units(&stream).collect();
        assert_eq!(nals, vec![&[0x41, 9][..], &[0x01, 5][..]]);
    }

    #[test]
    fn no_start_code_means_no_units() {
        assert_eq!(nal_units(&[]).count(), 0);
        assert_eq!(nal_units(&[0, 0]).count(), 0);
        assert_eq!(nal_units(&[0x65, 1, 2, 3]).count(), 0);
        assert_eq!(nal_type(&[]), 0);
    }

    #[test]
    fn start_code_right_after_a_one_byte() {
        // Exercises the three-byte skip of the finder next to a 0x01 that is data.
        let stream = [0, 0, 1, 0x41, 1, 0, 0, 1, 0x65, 2];
        let nals: Vec<&[u8]> = nal_units(&stream).collect();
        assert_eq!(nals, vec![&[0x41, 1][..], &[0x65, 2][..]]);
    }

    #[test]
    fn finds_idr_and_parameter_sets() {
        let idr = [
            0, 0, 0, 1, 0x09, 0x10, 0, 0, 0, 1, 0x67, 0x64, 0, 0x1F, 0, 0, 0, 1, 0x68, 0xEE, 0x3C,
            0x80, 0, 0, 1, 0x65, 0x88, 0x84,
        ];
        let non_idr = [0, 0, 0, 1, 0x09, 0x30, 0, 0, 1, 0x41, 0x9A, 0x02];
        assert!(is_idr(&idr));
        assert!(!is_idr(&non_idr));
        assert_eq!(
            parameter_sets(&idr),
            Some(ParameterSets {
                sps: vec![vec![0x67, 0x64, 0, 0x1F]],
                pps: vec![vec![0x68, 0xEE, 0x3C, 0x80]],
            })
        );
        assert_eq!(parameter_sets(&non_idr), None);
    }

    #[test]
    fn nal_ref_idc_bits_do_not_change_the_type() {
        assert_eq!(nal_type(&[0x25]), NAL_IDR);
        assert_eq!(nal_type(&[0x65]), NAL_IDR);
        assert_eq!(nal_type(&[0x27]), NAL_SPS);
    }

    #[test]
    fn the_codec_string_names_profile_flags_and_level() {
        let ps = ParameterSets {
            sps: vec![vec![0x67, 0x64, 0x00, 0x1f, 0xac]],
            pps: vec![vec![0x68]],
        };
        assert_eq!(ps.codec_string().as_deref(), Some("avc1.64001f"));
        let none = ParameterSets {
            sps: vec![],
            pps: vec![],
        };
        assert_eq!(none.codec_string(), None);
    }
}
