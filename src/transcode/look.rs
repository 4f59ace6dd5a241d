//! The original tool's look, as options: a colour grade, a three-panel video wall and
//! a burned-in watermark. All of it is filters before the encoder, so clips keep the
//! same codec parameters with or without a look and still splice.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use super::profile::OutputProfile;

/// A colour-grade preset (`COLOR_GRADE`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ColorGrade {
    /// The source's colours.
    #[default]
    None,
    /// The original tool's look: a soft glow, lower saturation, more contrast, a
    /// vignette, a slight hue shift, sharpened.
    Moody,
    /// Warmer: more red, less blue.
    Warm,
    /// Cooler: more blue, less red.
    Cool,
    /// Black and white.
    Mono,
}

/// An unknown `COLOR_GRADE` value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid colour grade {0:?}: valid values are none, moody, warm, cool, mono")]
pub struct ParseColorGradeError(
    /// The rejected value.
    pub String,
);

impl FromStr for ColorGrade {
    type Err = ParseColorGradeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "none" | "off" => Ok(ColorGrade::None),
            "moody" => Ok(ColorGrade::Moody),
            "warm" => Ok(ColorGrade::Warm),
            "cool" => Ok(ColorGrade::Cool),
            "mono" | "bw" => Ok(ColorGrade::Mono),
            _ => Err(ParseColorGradeError(s.to_string())),
        }
    }
}

impl ColorGrade {
    /// The setting's value for this preset.
    pub fn as_str(self) -> &'static str {
        match self {
            ColorGrade::None => "none",
            ColorGrade::Moody => "moody",
            ColorGrade::Warm => "warm",
            ColorGrade::Cool => "cool",
            ColorGrade::Mono => "mono",
        }
    }

    /// The filters of the grade, in a chain of yuv420p frames; `None` for no grade.
    pub(crate) fn filter(self) -> Option<&'static str> {
        match self {
            ColorGrade::None => None,
            // The glow: a blurred copy screened over the frame.
            ColorGrade::Moody => Some(
                "split[mg0][mg1];[mg1]gblur=sigma=14[mg2];[mg0][mg2]blend=all_mode=screen:all_opacity=0.22,\
                 eq=contrast=1.12:brightness=-0.03:saturation=0.78,curves=preset=medium_contrast,\
                 vignette=angle=PI/5,hue=h=-6,unsharp=5:5:0.6",
            ),
            ColorGrade::Warm => Some("colorbalance=rs=0.08:gs=0.02:bs=-0.08:rm=0.06:bm=-0.06"),
            ColorGrade::Cool => Some("colorbalance=rs=-0.07:bs=0.08:rm=-0.05:bm=0.07"),
            ColorGrade::Mono => Some("hue=s=0"),
        }
    }
}

impl fmt::Display for ColorGrade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How clips look, beyond fitting the output profile.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Look {
    /// Colour grade.
    pub grade: ColorGrade,
    /// Three panels side by side, each the same source at another moment.
    pub video_wall: bool,
}

impl Look {
    /// No grade, no wall.
    pub const NONE: Look = Look {
        grade: ColorGrade::None,
        video_wall: false,
    };
}

/// Longest watermark, in characters: a title is a caption, not a paragraph.
const WATERMARK_MAX_CHARS: usize = 80;

/// The watermark text as written to its text file: one line, trimmed, cut.
pub(crate) fn watermark_text(text: &str) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let t = one_line.split_whitespace().collect::<Vec<_>>().join(" ");
    if t.chars().count() > WATERMARK_MAX_CHARS {
        let cut: String = t.chars().take(WATERMARK_MAX_CHARS - 1).collect();
        format!("{}…", cut.trim_end())
    } else {
        t
    }
}

/// The drawtext filter that burns in the text of `textfile`, bottom right, on a
/// translucent box. The text itself never enters the filter string (it is user
/// metadata: quotes, colons, backslashes…); only our own file's path does, escaped.
pub(crate) fn watermark_filter(p: &OutputProfile, textfile: &Path) -> String {
    let size = (p.height / 26).max(10);
    let margin = (p.height / 30).max(4);
    format!(
        "drawtext=textfile={}:expansion=none:fontcolor=white@0.85:fontsize={size}\
         :box=1:boxcolor=black@0.45:boxborderw={}:x=w-text_w-{margin}:y=h-text_h-{margin}",
        escape_filter_value(&textfile.to_string_lossy()),
        (size / 3).max(2)
    )
}

/// Escapes a filter option value for both levels ffmpeg parses: the option string
/// (where `\ ' :` are special) and then the filter graph (where `\ ' [ ] , ;` are).
pub(crate) fn escape_filter_value(v: &str) -> String {
    let mut opt = String::with_capacity(v.len());
    for c in v.chars() {
        if matches!(c, '\\' | '\'' | ':') {
            opt.push('\\');
        }
        opt.push(c);
    }
    let mut graph = String::with_capacity(opt.len());
    for c in opt.chars() {
        if matches!(c, '\\' | '\'' | '[' | ']' | ',' | ';') {
            graph.push('\\');
        }
        graph.push(c);
    }
    graph
}

/// Which text is burned into clips (`WATERMARK`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WatermarkMode {
    /// No watermark.
    #[default]
    None,
    /// The source's creator (uploader, artist), else the fallback text, else the title.
    Creator,
    /// The source's title.
    Title,
}

/// An unknown `WATERMARK` value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid watermark {0:?}: valid values are none, creator, title")]
pub struct ParseWatermarkError(
    /// The rejected value.
    pub String,
);

impl std::str::FromStr for WatermarkMode {
    type Err = ParseWatermarkError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "none" | "off" | "false" | "0" => Ok(WatermarkMode::None),
            "creator" | "true" | "on" | "1" => Ok(WatermarkMode::Creator),
            "title" => Ok(WatermarkMode::Title),
            _ => Err(ParseWatermarkError(s.to_string())),
        }
    }
}

impl std::fmt::Display for WatermarkMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            WatermarkMode::None => "none",
            WatermarkMode::Creator => "creator",
            WatermarkMode::Title => "title",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grades_parse_in_any_case() {
        assert_eq!("".parse::<ColorGrade>().unwrap(), ColorGrade::None);
        assert_eq!("Moody".parse::<ColorGrade>().unwrap(), ColorGrade::Moody);
        assert_eq!("MONO".parse::<ColorGrade>().unwrap(), ColorGrade::Mono);
        let e = "sepia".parse::<ColorGrade>().unwrap_err();
        assert!(e.to_string().contains("none, moody, warm, cool, mono"));
        for g in [
            ColorGrade::Moody,
            ColorGrade::Warm,
            ColorGrade::Cool,
            ColorGrade::Mono,
        ] {
            assert_eq!(g.as_str().parse::<ColorGrade>().unwrap(), g);
            assert!(g.filter().is_some());
        }
        assert!(ColorGrade::None.filter().is_none());
    }

    #[test]
    fn watermark_text_is_one_short_line() {
        assert_eq!(watermark_text("  a\nb\tc  "), "a b c");
        let long = "x".repeat(200);
        assert_eq!(watermark_text(&long).chars().count(), WATERMARK_MAX_CHARS);
    }

    #[test]
    fn filter_values_are_escaped_for_both_levels() {
        assert_eq!(escape_filter_value("/data/a b/x.txt"), "/data/a b/x.txt");
        assert_eq!(escape_filter_value("a:b"), "a\\\\:b");
        assert_eq!(escape_filter_value("a,b"), "a\\,b");
        assert_eq!(escape_filter_value("it's"), "it\\\\\\'s");
    }
}
