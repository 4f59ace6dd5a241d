//! The types a setting can have, and how each reads from text (a flag, a variable,
//! a `.env` line), reads and writes JSON (the API, the stored overrides) and
//! describes itself in a JSON schema (the API document, the web form).

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use serde_json::{Value as Json, json};

use crate::settings::cron::CronSchedule;
use crate::transcode::WatermarkMode;
use crate::transcode::{ColorGrade, HwAccel, Ladder, ParseLadderError};

/// A type a setting can have.
pub trait Kind: Clone + std::fmt::Debug + Send + Sync + 'static {
    /// Read from several values (a repeated flag) rather than one text.
    const LIST: bool = false;
    /// A number, whose bounds a declaration may give.
    const NUMBER: bool = false;

    /// Parses a value as written in a flag, a variable or `.env`.
    fn parse(text: &str) -> Result<Self, String>;
    /// Parses the values of a repeated flag, or the parts of a list variable.
    fn parse_all(texts: &[String]) -> Result<Self, String> {
        Self::parse(texts.last().map_or("", |s| s.as_str()))
    }
    /// The value as it would be written in `.env`.
    fn text(&self) -> String;
    /// The value on the wire.
    fn to_json(&self) -> Json;
    /// Reads the value from the wire.
    fn from_json(v: &Json) -> Result<Self, String>;
    /// The JSON schema of the type (without title, bounds and default).
    fn schema() -> Json;
    /// The value as a number, for bounds.
    fn number(&self) -> Option<f64> {
        None
    }
    /// What an absent value is on the wire (`Option<T>` of this type).
    fn none_json() -> Json {
        Json::Null
    }
    /// Whether a text means "none" (`Option<T>` of this type).
    fn none_text(_text: &str) -> bool {
        false
    }
}

fn expected(what: &str, v: &Json) -> String {
    format!("expected {what}, found {v}")
}

macro_rules! number_kind {
    ($($t:ty => $schema:literal, $get:ident);* $(;)?) => {$(
        impl Kind for $t {
            const NUMBER: bool = true;
            fn parse(text: &str) -> Result<Self, String> {
                text.trim().parse::<$t>().map_err(|e| e.to_string())
            }
            fn text(&self) -> String {
                self.to_string()
            }
            fn to_json(&self) -> Json {
                json!(*self)
            }
            fn from_json(v: &Json) -> Result<Self, String> {
                v.$get()
                    .and_then(|n| <$t>::try_from(n).ok())
                    .ok_or_else(|| expected(concat!("a ", $schema, " in range"), v))
            }
            fn schema() -> Json {
                json!({ "type": $schema })
            }
            fn number(&self) -> Option<f64> {
                Some(*self as f64)
            }
        }
    )*};
}

number_kind! {
    usize => "integer", as_u64;
    u64 => "integer", as_u64;
    u32 => "integer", as_u64;
    u16 => "integer", as_u64;
}

impl Kind for f64 {
    const NUMBER: bool = true;
    fn parse(text: &str) -> Result<Self, String> {
        let v: f64 = text.trim().parse().map_err(|e| format!("{e}"))?;
        if v.is_finite() {
            Ok(v)
        } else {
            Err("must be a finite number".into())
        }
    }
    fn text(&self) -> String {
        self.to_string()
    }
    fn to_json(&self) -> Json {
        json!(*self)
    }
    fn from_json(v: &Json) -> Result<Self, String> {
        v.as_f64().ok_or_else(|| expected("a number", v))
    }
    fn schema() -> Json {
        json!({ "type": "number" })
    }
    fn number(&self) -> Option<f64> {
        Some(*self)
    }
}

/// A yes/no setting: true/false, yes/no, on/off, 1/0, in any case.
impl Kind for bool {
    fn parse(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "" | "0" | "false" | "no" | "off" => Ok(false),
            _ => Err("expected true or false".into()),
        }
    }
    fn text(&self) -> String {
        self.to_string()
    }
    fn to_json(&self) -> Json {
        json!(*self)
    }
    fn from_json(v: &Json) -> Result<Self, String> {
        v.as_bool().ok_or_else(|| expected("true or false", v))
    }
    fn schema() -> Json {
        json!({ "type": "boolean" })
    }
}

/// Text, trimmed.
impl Kind for String {
    fn parse(text: &str) -> Result<Self, String> {
        Ok(text.trim().to_string())
    }
    fn text(&self) -> String {
        self.clone()
    }
    fn to_json(&self) -> Json {
        json!(self)
    }
    fn from_json(v: &Json) -> Result<Self, String> {
        v.as_str()
            .map(|s| s.trim().to_string())
            .ok_or_else(|| expected("a string", v))
    }
    fn schema() -> Json {
        json!({ "type": "string" })
    }
    fn none_json() -> Json {
        json!("")
    }
}

/// A path, as written (not trimmed: a name may end in a space).
impl Kind for PathBuf {
    fn parse(text: &str) -> Result<Self, String> {
        Ok(PathBuf::from(text))
    }
    fn text(&self) -> String {
        self.display().to_string()
    }
    fn to_json(&self) -> Json {
        json!(self.display().to_string())
    }
    fn from_json(v: &Json) -> Result<Self, String> {
        v.as_str()
            .map(PathBuf::from)
            .ok_or_else(|| expected("a path", v))
    }
    fn schema() -> Json {
        json!({ "type": "string" })
    }
}

/// Folders: a repeated flag, or one variable joined with ':' (like `PATH`).
impl Kind for Vec<PathBuf> {
    const LIST: bool = true;
    fn parse(text: &str) -> Result<Self, String> {
        Ok(std::env::split_paths(text)
            .filter(|p| !p.as_os_str().is_empty())
            .collect())
    }
    fn parse_all(texts: &[String]) -> Result<Self, String> {
        Ok(texts.iter().map(PathBuf::from).collect())
    }
    fn text(&self) -> String {
        std::env::join_paths(self)
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
    fn to_json(&self) -> Json {
        Json::Array(self.iter().map(|p| p.to_json()).collect())
    }
    fn from_json(v: &Json) -> Result<Self, String> {
        v.as_array()
            .ok_or_else(|| expected("a list of paths", v))?
            .iter()
            .map(PathBuf::from_json)
            .collect()
    }
    fn schema() -> Json {
        json!({ "type": "array", "items": { "type": "string" } })
    }
}

/// An optional value: unset (an empty variable is unset too) or `T`.
impl<T: Kind> Kind for Option<T> {
    const LIST: bool = T::LIST;
    const NUMBER: bool = T::NUMBER;
    fn parse(text: &str) -> Result<Self, String> {
        if T::none_text(text) {
            return Ok(None);
        }
        T::parse(text).map(Some)
    }
    fn parse_all(texts: &[String]) -> Result<Self, String> {
        T::parse_all(texts).map(Some)
    }
    fn text(&self) -> String {
        self.as_ref().map(T::text).unwrap_or_default()
    }
    fn to_json(&self) -> Json {
        self.as_ref().map_or_else(T::none_json, T::to_json)
    }
    fn from_json(v: &Json) -> Result<Self, String> {
        if v.is_null() || *v == T::none_json() {
            Ok(None)
        } else {
            T::from_json(v).map(Some)
        }
    }
    fn schema() -> Json {
        T::schema()
    }
    fn number(&self) -> Option<f64> {
        self.as_ref().and_then(T::number)
    }
}

/// A size in bytes (`DISK_BUDGET`): `500M`, `20G`, `1.5T`, `123456` in text (decimal
/// units, as disks are sold; `GiB`-style binary units accepted too), bytes on the
/// wire, where 0 means no limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bytes(pub u64);

/// The smallest size meant as a size (12 bytes is a typo).
const MIN_BYTES: u64 = 1_000_000;

impl Kind for Bytes {
    fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim().to_ascii_lowercase();
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let n: f64 = num
            .parse()
            .map_err(|_| "expected a size like 500M, 20G or 1T".to_string())?;
        let mult: f64 = match unit.trim() {
            "" | "b" => 1.0,
            "k" | "kb" => 1e3,
            "m" | "mb" => 1e6,
            "g" | "gb" => 1e9,
            "t" | "tb" => 1e12,
            "kib" => 1024.0,
            "mib" => 1024.0 * 1024.0,
            "gib" => 1024.0 * 1024.0 * 1024.0,
            "tib" => 1024.0f64.powi(4),
            other => return Err(format!("unknown unit {other:?}: use K, M, G or T")),
        };
        let bytes = n * mult;
        if !bytes.is_finite() || bytes < MIN_BYTES as f64 {
            return Err("must be at least 1M".into());
        }
        Ok(Bytes(bytes as u64))
    }
    fn text(&self) -> String {
        self.0.to_string()
    }
    fn to_json(&self) -> Json {
        json!(self.0)
    }
    fn from_json(v: &Json) -> Result<Self, String> {
        match v.as_u64() {
            Some(n) if n >= MIN_BYTES => Ok(Bytes(n)),
            Some(_) => Err(format!(
                "must be 0 (no limit) or at least {MIN_BYTES} bytes"
            )),
            None => Err(expected("a number of bytes", v)),
        }
    }
    fn schema() -> Json {
        json!({ "type": "integer", "minimum": 0 })
    }
    fn none_json() -> Json {
        json!(0)
    }
    fn none_text(text: &str) -> bool {
        matches!(text.trim().to_ascii_lowercase().as_str(), "0" | "none")
    }
}

/// A cron expression (`GENERATE_SCHEDULE`); "" on the wire when there is none.
impl Kind for CronSchedule {
    fn parse(text: &str) -> Result<Self, String> {
        text.trim()
            .parse()
            .map_err(|e: crate::settings::cron::CronError| e.to_string())
    }
    fn text(&self) -> String {
        self.to_string()
    }
    fn to_json(&self) -> Json {
        json!(self.to_string())
    }
    fn from_json(v: &Json) -> Result<Self, String> {
        Self::parse(v.as_str().ok_or_else(|| expected("a cron expression", v))?)
    }
    fn schema() -> Json {
        json!({ "type": "string" })
    }
    fn none_json() -> Json {
        json!("")
    }
}

/// A quality ladder (`RENDITIONS`); "none" when there is only the top rung.
impl Kind for Ladder {
    fn parse(text: &str) -> Result<Self, String> {
        text.parse().map_err(|e: ParseLadderError| e.to_string())
    }
    fn text(&self) -> String {
        self.to_string()
    }
    fn to_json(&self) -> Json {
        json!(self.to_string())
    }
    fn from_json(v: &Json) -> Result<Self, String> {
        Self::parse(
            v.as_str()
                .ok_or_else(|| expected("rungs such as \"480p@1400,360p\"", v))?,
        )
    }
    fn schema() -> Json {
        json!({ "type": "string" })
    }
}

/// `ADDR:PORT`, where ADDR may also be a host name (`localhost:8081`).
impl Kind for SocketAddr {
    fn parse(text: &str) -> Result<Self, String> {
        let v = text.trim();
        if let Ok(addr) = v.parse::<SocketAddr>() {
            return Ok(addr);
        }
        if !v.contains(':') {
            return Err("expected ADDR:PORT, e.g. 0.0.0.0:8081 or localhost:8081".into());
        }
        std::net::ToSocketAddrs::to_socket_addrs(v)
            .map_err(|e| e.to_string())?
            .next()
            .ok_or_else(|| "the host name has no address".into())
    }
    fn text(&self) -> String {
        self.to_string()
    }
    fn to_json(&self) -> Json {
        json!(self.to_string())
    }
    fn from_json(v: &Json) -> Result<Self, String> {
        Self::parse(v.as_str().ok_or_else(|| expected("ADDR:PORT", v))?)
    }
    fn schema() -> Json {
        json!({ "type": "string" })
    }
}

/// A setting with a fixed set of values, each written as its `Display` form.
pub trait Choice: Copy + std::str::FromStr + std::fmt::Display + 'static {
    /// Every value, in the order a form lists them.
    const ALL: &'static [Self];
}

impl Choice for ColorGrade {
    const ALL: &'static [Self] = &[
        ColorGrade::None,
        ColorGrade::Moody,
        ColorGrade::Warm,
        ColorGrade::Cool,
        ColorGrade::Mono,
    ];
}
impl Choice for WatermarkMode {
    const ALL: &'static [Self] = &[
        WatermarkMode::None,
        WatermarkMode::Creator,
        WatermarkMode::Title,
    ];
}
impl Choice for HwAccel {
    const ALL: &'static [Self] = &[
        HwAccel::None,
        HwAccel::Auto,
        HwAccel::Nvidia,
        HwAccel::Vaapi,
        HwAccel::Qsv,
    ];
}
impl Choice for LogFormat {
    const ALL: &'static [Self] = &[LogFormat::Text, LogFormat::Json];
}

macro_rules! choice_kind {
    ($($t:ty),*) => {$(
        impl Kind for $t {
            fn parse(text: &str) -> Result<Self, String> {
                text.parse::<$t>().map_err(|e| e.to_string())
            }
            fn text(&self) -> String {
                self.to_string()
            }
            fn to_json(&self) -> Json {
                json!(self.to_string())
            }
            fn from_json(v: &Json) -> Result<Self, String> {
                // Strictly one of the names: the wire is not a place for synonyms.
                let s = v.as_str().ok_or_else(|| expected("a string", v))?;
                <$t as Choice>::ALL
                    .iter()
                    .find(|c| c.to_string() == s)
                    .copied()
                    .ok_or_else(|| format!("unknown variant `{s}`, expected one of {}", names::<$t>()))
            }
            fn schema() -> Json {
                json!({ "type": "string", "enum": <$t as Choice>::ALL.iter().map(|c| c.to_string()).collect::<Vec<_>>() })
            }
        }
    )*};
}

choice_kind!(ColorGrade, WatermarkMode, HwAccel, LogFormat);

fn names<T: Choice>() -> String {
    T::ALL
        .iter()
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines (coloured on a terminal).
    #[default]
    Text,
    /// One JSON object a line, for log collectors (Loki, Elasticsearch, `docker logs`
    /// piped to jq).
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err("expected text or json"),
        }
    }
}

impl std::fmt::Display for LogFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        })
    }
}

/// The longest slug, in characters.
pub const SLUG_MAX: usize = 32;

/// A channel's URL id: 1 to 32 of `a-z`, `0-9` and `-`. Cheap to clone.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Slug(Arc<str>);

impl Slug {
    /// Checks `s`; the error says what a slug is, with a slug close to `s` when
    /// there is one.
    pub fn new(s: &str) -> Result<Slug, String> {
        let valid = (1..=SLUG_MAX).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if valid {
            return Ok(Slug(s.into()));
        }
        let mut reason = format!(
            "`{s}` is not a slug: 1 to {SLUG_MAX} characters, each a lower-case letter (a-z), a digit or -"
        );
        if let Some(close) = slugify(s) {
            reason.push_str(&format!(" (`{close}`?)"));
        }
        Err(reason)
    }

    /// The slug as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `s` made a slug (lower case, runs of anything else as one `-`), if anything
/// is left of it.
fn slugify(s: &str) -> Option<String> {
    let mut out = String::new();
    for c in s.trim().chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out: String = out.trim_matches('-').chars().take(SLUG_MAX).collect();
    let out = out.trim_end_matches('-');
    (!out.is_empty()).then(|| out.to_string())
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Slug {
    type Err = String;
    fn from_str(s: &str) -> Result<Slug, String> {
        Slug::new(s)
    }
}

/// Channels are kept by slug and looked up by the text of a URL: the order and
/// hash of a slug are those of its text.
impl std::borrow::Borrow<str> for Slug {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Slug {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// As its text (by hand: serde's `Arc` support is a feature this crate leaves off).
impl serde::Serialize for Slug {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Slug {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Slug::new(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        let p = |s| Option::<Bytes>::parse(s).map(|b| b.map(|b| b.0));
        assert_eq!(p("500M").unwrap(), Some(500_000_000));
        assert_eq!(p("2gib").unwrap(), Some(2 * 1024 * 1024 * 1024));
        assert_eq!(p("1.5T").unwrap(), Some(1_500_000_000_000));
        assert!(p("12").is_err(), "too small to be meant");
        assert_eq!(p("none").unwrap(), None);
        assert_eq!(p("0").unwrap(), None);
        assert!(p("5X").is_err());
        assert_eq!(Option::<Bytes>::from_json(&json!(0)).unwrap(), None);
        assert!(Option::<Bytes>::from_json(&json!(5)).is_err());
        assert_eq!(Option::<Bytes>::None.to_json(), json!(0));
    }

    #[test]
    fn optional_text_is_empty_on_the_wire_and_choices_are_strict() {
        assert_eq!(Option::<String>::None.to_json(), json!(""));
        assert_eq!(Option::<String>::from_json(&json!("")).unwrap(), None);
        assert_eq!(Option::<CronSchedule>::None.to_json(), json!(""));
        assert!(ColorGrade::from_json(&json!("sepia")).is_err());
        assert_eq!(
            ColorGrade::from_json(&json!("mono")).unwrap(),
            ColorGrade::Mono
        );
        assert_eq!(
            HwAccel::schema()["enum"],
            json!(["none", "auto", "nvidia", "vaapi", "qsv"])
        );
        assert!(bool::parse("maybe").is_err() && bool::parse("ON").unwrap());
        assert!(f64::parse("inf").is_err());
    }
}
