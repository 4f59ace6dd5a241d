//! The rules of settings beyond their bounds. Each takes the values it looks at,
//! which the table's row gives it (`check: Some(|c| rules::clip_max(...))`), and
//! names the other setting it depends on as the API names it.

use std::path::{Path, PathBuf};

use super::kinds::Slug;
use super::spec::Problem;

fn folder(p: &Path) -> Result<(), Problem> {
    if p.is_dir() {
        Ok(())
    } else {
        Err(Problem::MissingFolder(p.to_path_buf()))
    }
}

/// Every path is a folder.
pub(super) fn folders(paths: &[PathBuf]) -> Result<(), Problem> {
    paths.iter().try_for_each(|p| folder(p))
}

/// The longest clip is not shorter than the shortest.
pub(super) fn clip_max(clip_max: f64, clip_min: f64) -> Result<(), Problem> {
    if clip_max < clip_min {
        return Err(format!("must not be below clip_min ({clip_min})").into());
    }
    Ok(())
}

/// Fewer chunks kept ready than kept at all.
pub(super) fn ready_chunks(ready_chunks: usize, max_chunks: usize) -> Result<(), Problem> {
    if ready_chunks >= max_chunks.max(2) {
        return Err(format!("must be below max_chunks ({max_chunks})").into());
    }
    Ok(())
}

fn whole_frames(segment: f64, fps: u32) -> bool {
    let gop = segment * fps as f64;
    (gop - gop.round()).abs() < 1e-9
}

/// A frame rate that divides the 90 kHz clock and makes whole-frame segments.
pub(super) fn fps(fps: u32, segment_duration: f64) -> Result<(), Problem> {
    if !(90_000u32.is_multiple_of(fps) && whole_frames(segment_duration, fps)) {
        return Err(format!(
            "must divide 90000 and make whole-frame segments of {segment_duration} s (24, 25, 30, 50, 60)"
        )
        .into());
    }
    Ok(())
}

/// A segment of whole frames.
pub(super) fn segment_duration(segment_duration: f64, fps: u32) -> Result<(), Problem> {
    if !whole_frames(segment_duration, fps) {
        return Err(format!("must be a whole number of frames at {fps} fps").into());
    }
    Ok(())
}

/// A name of 1 to 200 characters.
pub(super) fn channel_name(name: &str) -> Result<(), Problem> {
    if name.is_empty() || name.chars().count() > 200 {
        return Err(String::from("must be 1 to 200 characters").into());
    }
    Ok(())
}

/// A programme length that divides a day.
pub(super) fn programme_minutes(minutes: u32) -> Result<(), Problem> {
    if !1440u32.is_multiple_of(minutes.max(1)) {
        return Err(String::from(
            "must divide a day of 1440 minutes (e.g. 15, 30, 60, 120 or 1440)",
        )
        .into());
    }
    Ok(())
}

/// Unset, or a text of 1 to `most` characters, not only spaces.
pub(super) fn text_of_at_most(t: Option<&str>, most: usize) -> Result<(), Problem> {
    match t {
        Some(t) if t.trim().is_empty() || t.chars().count() > most => {
            Err(format!("must be 1 to {most} characters").into())
        }
        _ => Ok(()),
    }
}

/// Unset, or at most 200 characters (empty is allowed: no text).
pub(super) fn watermark_fallback(t: Option<&str>) -> Result<(), Problem> {
    match t {
        Some(t) if t.chars().count() > 200 => {
            Err(String::from("must be at most 200 characters").into())
        }
        _ => Ok(()),
    }
}

/// Unset, or a channel's slug.
pub(super) fn slug(s: Option<&str>) -> Result<(), Problem> {
    match s {
        Some(slug) => Slug::new(slug).map(drop).map_err(Problem::Reason),
        None => Ok(()),
    }
}

/// Unset, or an http(s) URL, with a token set too.
pub(super) fn tubearchivist(url: Option<&str>, token_set: bool) -> Result<(), Problem> {
    let Some(url) = url else {
        return Ok(());
    };
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(String::from("must be an http:// or https:// URL").into());
    }
    if !token_set {
        return Err(String::from(
            "needs TUBEARCHIVIST_TOKEN too (TubeArchivist: Settings > API token)",
        )
        .into());
    }
    Ok(())
}

/// Unset, or an http(s) URL without a query or a fragment.
pub(super) fn base_url(url: Option<&str>) -> Result<(), Problem> {
    let Some(url) = url else {
        return Ok(());
    };
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    match rest {
        Some(r) if !r.is_empty() && !r.contains(char::is_whitespace) && !r.contains(['?', '#']) => {
            Ok(())
        }
        _ => Err(String::from(
            "must be an http:// or https:// URL without a query, e.g. http://192.168.1.20:8081",
        )
        .into()),
    }
}

/// Unset, or a token of 8 characters or more, without spaces.
pub(super) fn token(t: Option<&str>) -> Result<(), Problem> {
    match t {
        Some(v) if v.len() < 8 || v.chars().any(|c| c.is_whitespace() || c.is_control()) => {
            Err(String::from("must be at least 8 characters, without spaces").into())
        }
        _ => Ok(()),
    }
}

/// A ladder whose rungs are all below the top rung.
pub(super) fn renditions(
    ladder: &crate::transcode::Ladder,
    top: &crate::transcode::OutputProfile,
) -> Result<(), Problem> {
    ladder.check(top).map_err(Problem::from)
}
