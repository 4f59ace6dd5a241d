//! HDHomeRun emulation: Plex, Jellyfin and Emby look for network tuners the way
//! SiliconDust's libhdhomerun does, so to be found we need a device id of the form
//! they accept and an answer to their UDP discovery ([`discovery`]).

pub mod discovery;

pub use discovery::{Advert, DISCOVERY_PORT, bind, bind_to, serve};

use rand::RngExt;

/// An HDHomeRun device id: 32 bits whose last hex digit is libhdhomerun's check digit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DeviceId(u32);

/// libhdhomerun's `hdhomerun_discover_validate_device_id` table: the digits in odd
/// places (counting from the left, from one) go through it, the others are XORed as
/// they are, and a valid id XORs to zero.
const CHECK_TABLE: [u8; 16] = [
    0xA, 0x5, 0xF, 0x6, 0x7, 0xC, 0x1, 0xB, 0x9, 0x2, 0x8, 0xD, 0x4, 0x3, 0xE, 0x0,
];

/// The last hex digit that makes the first seven digits of `v` a valid id.
fn check_digit(v: u32) -> u32 {
    let digit = |place: u32| ((v >> (place * 4)) & 0xF) as usize;
    let sum = CHECK_TABLE[digit(7)]
        ^ digit(6) as u8
        ^ CHECK_TABLE[digit(5)]
        ^ digit(4) as u8
        ^ CHECK_TABLE[digit(3)]
        ^ digit(2) as u8
        ^ CHECK_TABLE[digit(1)];
    u32::from(sum)
}

/// Ids libhdhomerun marks as early models (`hdhomerun_discover_is_legacy`), which
/// clients expect to lack the HTTP API: a generated id must not look like one.
fn is_legacy(v: u32) -> bool {
    match v >> 20 {
        0x100 => v < 0x1004_0000,
        0x120 => v < 0x1203_0000,
        0x101 | 0x102 | 0x103 | 0x111 | 0x121 | 0x122 => true,
        _ => false,
    }
}

/// Why a device id was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum DeviceIdError {
    /// Not eight hex digits.
    #[error("device id {0:?}: expected 8 hex digits, e.g. 1053C0CA")]
    Format(String),
    /// The last digit does not match the others.
    #[error("device id {given}: wrong check digit, the last digit should be {expected:X}")]
    CheckDigit {
        /// The id as given.
        given: String,
        /// The digit that would make it valid.
        expected: u32,
    },
    /// 00000000 and FFFFFFFF pass the check, but clients skip the first and take the
    /// second for "any device".
    #[error("device id {0:08X} is reserved")]
    Reserved(u32),
}

impl DeviceId {
    /// A random valid id. Real ids start with 1, so ours does too, outside the
    /// legacy ranges.
    pub fn generate() -> DeviceId {
        let mut rng = rand::rng();
        loop {
            let v = 0x1000_0000 | (rng.random::<u32>() & 0x0FFF_FFF0);
            let v = v | check_digit(v);
            if !is_legacy(v) {
                return DeviceId(v);
            }
        }
    }

    /// None when the check digit is wrong, or for the reserved 00000000 and FFFFFFFF.
    pub fn from_u32(v: u32) -> Option<DeviceId> {
        Self::check(v).ok()
    }

    fn check(v: u32) -> Result<DeviceId, DeviceIdError> {
        if v == 0 || v == u32::MAX {
            return Err(DeviceIdError::Reserved(v));
        }
        let expected = check_digit(v);
        if v & 0xF != expected {
            return Err(DeviceIdError::CheckDigit {
                given: format!("{v:08X}"),
                expected,
            });
        }
        Ok(DeviceId(v))
    }

    /// The id as a number, as it goes on the wire.
    pub fn value(self) -> u32 {
        self.0
    }
}

impl std::fmt::Display for DeviceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:08X}", self.0)
    }
}

impl std::str::FromStr for DeviceId {
    type Err = DeviceIdError;

    fn from_str(s: &str) -> Result<DeviceId, DeviceIdError> {
        // from_str_radix alone would take "+1234567" or fewer digits.
        if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(DeviceIdError::Format(s.to_string()));
        }
        let v = u32::from_str_radix(s, 16).map_err(|_| DeviceIdError::Format(s.to_string()))?;
        Self::check(v)
    }
}

/// Who the tuner is, made once and kept in the database.
#[derive(Clone, Debug)]
pub struct Device {
    /// Its HDHomeRun device id.
    pub id: DeviceId,
    /// The DeviceAuth string clients pass on to SiliconDust's guide service; ours
    /// is only an opaque, stable value.
    pub auth: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Worked by hand (and by a Python transcription of libhdhomerun's C) from
    /// `hdhomerun_discover_validate_device_id`.
    #[test]
    fn check_digit_matches_libhdhomerun() {
        for valid in [
            0x1053_C0CA,
            0x10A1_2347,
            0x1234_5674,
            0xDEAD_BEE5,
            0x101A_BCD8,
        ] {
            assert!(DeviceId::from_u32(valid).is_some(), "{valid:08X} is valid");
        }
        for invalid in [0x1053_C0CB, 0x1234_5678, 0xDEAD_BEEF, 0x10A1_2345] {
            assert_eq!(DeviceId::from_u32(invalid), None, "{invalid:08X} is not");
        }
        // Exactly one last digit fits any seven.
        for v in [0x1053_C0C0u32, 0, 0xABCD_EF00] {
            let fits = (0..16).filter(|d| check_digit(v) == *d).count();
            assert_eq!(fits, 1);
        }
    }

    #[test]
    fn wildcard_and_zero_pass_the_check_but_are_refused() {
        assert_eq!(check_digit(0xFFFF_FFF0), 0xF);
        assert_eq!(check_digit(0), 0);
        assert_eq!(DeviceId::from_u32(u32::MAX), None);
        assert_eq!(DeviceId::from_u32(0), None);
        assert_eq!(
            "ffffffff".parse::<DeviceId>(),
            Err(DeviceIdError::Reserved(u32::MAX))
        );
    }

    #[test]
    fn generated_ids_are_always_valid_and_not_legacy() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..10_000 {
            let id = DeviceId::generate();
            assert_eq!(DeviceId::from_u32(id.value()), Some(id), "{id}");
            assert!(!is_legacy(id.value()), "{id}");
            assert_eq!(id.value() >> 28, 1, "{id}");
            seen.insert(id);
        }
        assert!(seen.len() > 9_900, "random: {} distinct", seen.len());
    }

    #[test]
    fn display_and_from_str_round_trip() {
        let id = DeviceId::from_u32(0x1053_C0CA).unwrap();
        assert_eq!(id.to_string(), "1053C0CA");
        assert_eq!("1053c0ca".parse::<DeviceId>(), Ok(id));
        for _ in 0..100 {
            let id = DeviceId::generate();
            assert_eq!(id.to_string().parse::<DeviceId>(), Ok(id));
        }
        let small = DeviceId::from_u32(0xA0 | check_digit(0xA0)).unwrap();
        assert_eq!(small.to_string(), "000000A2");
    }

    #[test]
    fn from_str_errors_say_what_is_wrong() {
        for bad in [
            "",
            "1053C0C",
            "1053C0CA0",
            "+053C0CA",
            "1053C0CG",
            " 053C0CA",
        ] {
            assert_eq!(
                bad.parse::<DeviceId>(),
                Err(DeviceIdError::Format(bad.to_string()))
            );
        }
        let err = "1053C0CB".parse::<DeviceId>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "device id 1053C0CB: wrong check digit, the last digit should be A"
        );
    }
}
