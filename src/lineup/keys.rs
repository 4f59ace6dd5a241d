//! One key of a channel's definition at a time, the same for a channels file and
//! the API: which keys a channel has (its own and the settings of the Channel
//! section), how each value reads ([`Reader`], the `read_*` functions), and why a
//! key is refused, with the key meant when one is close.

use std::path::PathBuf;

use serde_json::{Map, Value as Json};

use super::matcher::{Sources, glob};
use crate::settings::{Config, Invalid, Kind, Patch, Problem, SPECS, Section, Slug, Spec, spec};

/// The highest channel number (IPTV guides show five digits).
pub const NUMBER_MAX: u32 = 99_999;

/// What a logo may be: images a browser and an IPTV player show.
const LOGO_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "svg", "webp", "gif"];

/// The keys of a channel that are not settings.
const OWN_KEYS: &[&str] = &[
    "slug", "name", "number", "logo", "include", "exclude", "creators",
];

/// The setting a channel's `name` sets. It is not a channel key itself: one name
/// for one thing.
const NAME_SETTING: &str = "channel_name";

/// A channel read one key at a time, so that a file reports the first problem in
/// its own order (a JSON map is in the order of its keys).
#[derive(Default)]
pub(super) struct Reader {
    pub(super) slug: Option<Slug>,
    pub(super) name: Option<String>,
    pub(super) number: Option<u32>,
    pub(super) logo: Option<PathBuf>,
    pub(super) sources: Sources,
    pub(super) settings: Map<String, Json>,
}

impl Reader {
    /// Reads key `k`, checking its value.
    pub(super) fn key(&mut self, k: String, v: Json) -> Result<(), Invalid> {
        let key = channel_key(&k).ok_or_else(|| Invalid {
            field: None,
            reason: unknown_key(&k),
        })?;
        match key {
            "slug" => self.slug = Some(named(key, read_slug(&v))?),
            "name" => self.name = Some(named(key, read_name(&v))?),
            "number" => self.number = Some(named(key, read_number(&v))?),
            "logo" => self.logo = named(key, read_logo(&v))?,
            "include" => self.sources.include = named(key, read_globs(&v))?,
            "exclude" => self.sources.exclude = named(key, read_globs(&v))?,
            "creators" => self.sources.creators = named(key, read_strings(&v))?,
            _ => {
                let v = if key == "videos" {
                    named(key, read_videos(v))?
                } else {
                    v
                };
                // The setting's own parser, so that a value reads as it does
                // everywhere; kept as the setting writes it.
                let one = Patch::channel_from_map(Map::from_iter([(k, v)]))?;
                self.settings.extend(one.values().clone());
            }
        }
        Ok(())
    }
}

/// `r`'s error as the problem of `field`.
fn named<T>(field: &'static str, r: Result<T, String>) -> Result<T, Invalid> {
    r.map_err(|reason| Invalid::of(field, reason))
}

/// A problem of a setting in words.
pub(super) fn problem_text(p: Problem) -> String {
    match p {
        Problem::Reason(r) => r,
        Problem::MissingFolder(p) => {
            format!("folder {} does not exist or is not a folder", p.display())
        }
    }
}

/// The channel key that sets the setting `key`.
pub(super) fn channel_field(key: &'static str) -> &'static str {
    if key == NAME_SETTING { "name" } else { key }
}

/// The settings a channel may set by their own key: the Channel section but the
/// name, which is `name`.
fn channel_settings() -> impl Iterator<Item = &'static Spec> {
    SPECS
        .iter()
        .filter(|s| s.section == Section::Channel && s.key != NAME_SETTING)
}

/// `k` as a channel key, if it is one.
pub(super) fn channel_key(k: &str) -> Option<&'static str> {
    OWN_KEYS
        .iter()
        .copied()
        .chain(channel_settings().map(|s| s.key))
        .find(|key| *key == k)
}

/// Why `k` is refused, with the key meant when one is close.
pub(super) fn unknown_key(k: &str) -> String {
    let meant = if k == NAME_SETTING {
        Some("name")
    } else {
        let lower = k.to_lowercase();
        OWN_KEYS
            .iter()
            .copied()
            .chain(channel_settings().map(|s| s.key))
            .map(|key| (edit_distance(&lower, key), key))
            .filter(|(d, key)| *d <= 2 && *d < key.len().min(lower.len()))
            .min()
            .map(|(_, key)| key)
    };
    match meant {
        Some(m) => format!("unknown key `{k}` (did you mean `{m}`?)"),
        None => format!("unknown key `{k}`"),
    }
}

/// Levenshtein distance, in characters: how many to insert, delete or replace.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(above + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}

fn read_slug(v: &Json) -> Result<Slug, String> {
    Slug::new(&String::from_json(v)?)
}

/// The name, trimmed, held to the rule of `channel_name` (which it sets).
fn read_name(v: &Json) -> Result<String, String> {
    let mut c = Config::default();
    c.channel.channel_name = String::from_json(v)?;
    if let Some(s) = spec(NAME_SETTING) {
        s.check(&c).map_err(problem_text)?;
    }
    Ok(c.channel.channel_name)
}

fn read_number(v: &Json) -> Result<u32, String> {
    v.as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .filter(|n| (1..=NUMBER_MAX).contains(n))
        .ok_or_else(|| format!("expected a whole number from 1 to {NUMBER_MAX}, found {v}"))
}

/// A logo: an image's path; null or empty text for none.
fn read_logo(v: &Json) -> Result<Option<PathBuf>, String> {
    let Some(path) = Option::<PathBuf>::from_json(v)?.filter(|p| !p.as_os_str().is_empty()) else {
        return Ok(None);
    };
    let image = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| LOGO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
    if !image {
        return Err(format!(
            "{} is not an image: a logo is a .png, .jpg, .jpeg, .svg, .webp or .gif file",
            path.display()
        ));
    }
    Ok(Some(path))
}

/// A list of text; null for none.
fn read_strings(v: &Json) -> Result<Vec<String>, String> {
    if v.is_null() {
        return Ok(Vec::new());
    }
    let items = v.as_array().filter(|a| a.iter().all(Json::is_string));
    items
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .ok_or_else(|| format!("expected a list of strings, found {v}"))
}

/// Globs, each checked to compile.
fn read_globs(v: &Json) -> Result<Vec<String>, String> {
    let globs = read_strings(v)?;
    globs.iter().try_for_each(|g| glob(g).map(drop))?;
    Ok(globs)
}

/// `videos`: one folder or a list of them, as the list the setting reads.
fn read_videos(v: Json) -> Result<Json, String> {
    match v {
        Json::String(_) => Ok(Json::Array(vec![v])),
        Json::Array(ref a) if a.is_empty() => {
            Err("names no folder (leave `videos` out for the server's folders)".into())
        }
        v => Ok(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("clipmin", "clip_min"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
