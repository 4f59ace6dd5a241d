//! What a channel is, and reading channel definitions.
//!
//! A channel is a slug (its URL id), a name, a number (its place in an IPTV
//! guide), an optional logo, the part of the shared library it airs ([`Sources`]:
//! folders, globs, creators), and its settings: any setting of the
//! [`Section::Channel`] section, laid over the server's own values, which are the
//! defaults of every channel.
//!
//! Definitions come from three places ([`Origin`]): the classic settings (a server
//! without a channels file has that one channel, [`CLASSIC`]), a channels file
//! ([`load_file`]), and the API ([`ChannelDef::from_map`]). A channels file is a
//! list of `[[channel]]` tables, one flat table of keys each:
//!
//! ```toml
//! [[channel]]
//! slug = "nature"
//! name = "Nature"
//! number = 2
//! videos = ["/srv/videos/nature", "/srv/videos/birds"]
//! include = ["**/*.mp4"]
//! exclude = ["**/trailers/**"]
//! audio = "/srv/music/calm"
//! clip_min = 4
//! clip_max = 8
//! color_grade = "warm"
//! ```
//!
//! The file and the API read the same keys through the same code (a table is
//! turned into the JSON map the API would send), so a value means the same and is
//! refused with the same words in both; the file's errors add where:
//!
//! ```text
//! channels.toml:7: channel `nature`: `clip_min`: expected a number, found "x"
//! ```

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use globset::{Candidate, GlobBuilder, GlobSet, GlobSetBuilder};
use serde_json::{Map, Value as Json, json};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

pub use crate::settings::Slug;
use crate::settings::{Config, Invalid, Kind, Patch, Problem, SPECS, Section, Spec, spec};

/// The slug of the one channel made from the classic settings. The state of a
/// one-channel release (its places, plays, chunks) belongs to it.
pub const CLASSIC: &str = "main";

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

/// Where a channel's definition comes from, which decides who may change it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The classic settings (flags, environment, `.env`): the one channel of a
    /// server without a channels file.
    Classic,
    /// A `[[channel]]` table of a channels file, at the line of its header.
    File {
        /// The channels file.
        path: PathBuf,
        /// The line of the table's `[[channel]]` header (from 1).
        line: usize,
    },
    /// Made through the API (the web UI), kept in the database.
    Api,
}

impl Origin {
    /// Whether the API may change or delete it: the others belong to files the
    /// server only reads.
    pub fn editable(&self) -> bool {
        matches!(self, Origin::Api)
    }

    /// `classic`, `file` or `api`, as the API reports it.
    pub fn as_str(&self) -> &'static str {
        match self {
            Origin::Classic => "classic",
            Origin::File { .. } => "file",
            Origin::Api => "api",
        }
    }
}

/// Which videos of the shared library belong to a channel, beyond its folders.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sources {
    /// Globs a video's path (relative to its folder) must match one of; none:
    /// every video.
    pub include: Vec<String>,
    /// Globs a video's path must match none of; they win over `include`.
    pub exclude: Vec<String>,
    /// Creators (case and surrounding spaces aside) a video must be by one of;
    /// none: any creator, or none known.
    pub creators: Vec<String>,
}

/// A channel's [`Sources`] compiled against its folders: whether a video is the
/// channel's.
#[derive(Clone, Debug)]
pub struct Matcher {
    /// The channel's folders, absolute, deepest first (a video under two nested
    /// folders is judged relative to the nearer one).
    folders: Vec<PathBuf>,
    /// None: everything is included.
    include: Option<GlobSet>,
    exclude: GlobSet,
    /// Trimmed and lower-cased.
    creators: Vec<String>,
}

impl Matcher {
    /// Compiles `sources` for videos under `folders`; the error names the key
    /// (`include: invalid glob ...`).
    pub fn new(folders: &[PathBuf], sources: &Sources) -> Result<Matcher, String> {
        Matcher::build(folders, sources).map_err(|e| e.to_string())
    }

    fn build(folders: &[PathBuf], sources: &Sources) -> Result<Matcher, Invalid> {
        let mut folders: Vec<PathBuf> = folders.iter().map(|f| absolute(f).into_owned()).collect();
        folders.sort_by_key(|f| std::cmp::Reverse(f.components().count()));
        let include = if sources.include.is_empty() {
            None
        } else {
            Some(glob_set("include", &sources.include)?)
        };
        Ok(Matcher {
            folders,
            include,
            exclude: glob_set("exclude", &sources.exclude)?,
            creators: sources.creators.iter().map(|c| creator_key(c)).collect(),
        })
    }

    /// Whether the video at `path` (under one of the folders; a relative path is
    /// taken from the working directory, as the folders are) by `creator` is the
    /// channel's: under one of its folders, its path relative to that folder
    /// included and not excluded, and by one of its creators if it names any.
    pub fn matches(&self, path: &Path, creator: Option<&str>) -> bool {
        let path = absolute(path);
        let Some(relative) = self
            .folders
            .iter()
            .find_map(|f| path.strip_prefix(f).ok())
            .filter(|r| !r.as_os_str().is_empty())
        else {
            return false;
        };
        let candidate = Candidate::new(relative);
        if self
            .include
            .as_ref()
            .is_some_and(|g| !g.is_match_candidate(&candidate))
            || self.exclude.is_match_candidate(&candidate)
        {
            return false;
        }
        self.creators.is_empty() || creator.is_some_and(|c| self.creators.contains(&creator_key(c)))
    }

    /// The folders it matches under, absolute, deepest first.
    pub fn folders(&self) -> &[PathBuf] {
        &self.folders
    }
}

/// A creator as compared: case and surrounding spaces do not count.
fn creator_key(c: &str) -> String {
    c.trim().to_lowercase()
}

/// `p` from the root, without touching the disk (no symlinks resolved), so that
/// relative folders and absolute paths compare; `p` itself if that fails.
fn absolute(p: &Path) -> Cow<'_, Path> {
    if p.is_absolute() {
        return Cow::Borrowed(p);
    }
    std::path::absolute(p).map_or(Cow::Borrowed(p), Cow::Owned)
}

/// One glob of `include` or `exclude`: `*` stays within a folder, `**` crosses
/// folders, `**/` also matches no folder.
fn glob(pattern: &str) -> Result<globset::Glob, String> {
    if pattern.is_empty() {
        return Err("a glob must not be empty".into());
    }
    if pattern.starts_with('/') {
        return Err(format!(
            "`{pattern}` starts with /: globs match paths relative to the channel's folders"
        ));
    }
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map_err(|e| format!("invalid glob `{pattern}`: {}", e.kind()))
}

fn glob_set(field: &'static str, patterns: &[String]) -> Result<GlobSet, Invalid> {
    let mut set = GlobSetBuilder::new();
    for p in patterns {
        set.add(glob(p).map_err(|reason| invalid(field, reason))?);
    }
    set.build().map_err(|e| invalid(field, e.to_string()))
}

/// One channel's definition, as a file or the API gives it.
#[derive(Clone, Debug, PartialEq)]
pub struct ChannelDef {
    /// Its URL id.
    pub slug: Slug,
    /// Its name in the web UI, the IPTV playlist and the guide.
    pub name: String,
    /// Its number in an IPTV guide, 1 to [`NUMBER_MAX`].
    pub number: u32,
    /// An image shown for it; checked to exist by [`ChannelDef::validate`].
    pub logo: Option<PathBuf>,
    /// Which videos of its folders it airs.
    pub sources: Sources,
    /// Every other key, as a settings patch over the server-wide Channel
    /// defaults (`videos`, `audio`, `clip_min`, ...). `name` is not in it:
    /// [`ChannelDef::config`] applies it as `channel_name`.
    pub settings: Patch,
    /// Where it comes from.
    pub origin: Origin,
}

impl ChannelDef {
    /// The one channel of a server without a channels file: the classic settings
    /// as they are (an empty patch), slug [`CLASSIC`], number 1, named by
    /// `channel_name`.
    pub fn classic(defaults: &Config) -> ChannelDef {
        ChannelDef {
            slug: Slug::new(CLASSIC).expect("the classic slug is valid"),
            name: defaults.channel.channel_name.clone(),
            number: 1,
            logo: None,
            sources: Sources::default(),
            settings: Patch::default(),
            origin: Origin::Classic,
        }
    }

    /// Reads one channel from a flat map of its keys (the API's JSON body, or one
    /// `[[channel]]` table turned into JSON). Checks each value on its own (types,
    /// slug, number, name, logo extension, globs); what depends on the disk or on
    /// other settings is [`ChannelDef::validate`]'s. The error names the key
    /// (`field`), except for a key that is none, which its reason names.
    pub fn from_map(map: Map<String, Json>, origin: Origin) -> Result<ChannelDef, Invalid> {
        let mut r = Reader::default();
        for (k, v) in map {
            r.key(k, v)?;
        }
        r.finish(origin)
    }

    /// The definition as a flat JSON map again: the inverse of
    /// [`ChannelDef::from_map`] (what is stored and what the API returns as
    /// `definition`). Keys left at their default are left out; the origin is not
    /// part of it.
    pub fn to_map(&self) -> Map<String, Json> {
        let mut m = Map::new();
        m.insert("slug".into(), json!(self.slug.as_str()));
        m.insert("name".into(), json!(self.name));
        m.insert("number".into(), json!(self.number));
        if let Some(logo) = &self.logo {
            m.insert("logo".into(), logo.to_json());
        }
        for (k, list) in [
            ("include", &self.sources.include),
            ("exclude", &self.sources.exclude),
            ("creators", &self.sources.creators),
        ] {
            if !list.is_empty() {
                m.insert(k.into(), json!(list));
            }
        }
        m.extend(self.settings.values().clone());
        m
    }

    /// The channel's effective settings: `defaults` (the server's) with this
    /// channel's patch laid over them, and `channel_name` its name.
    pub fn config(&self, defaults: &Config) -> Config {
        let mut c = defaults.with(&self.settings);
        c.channel.channel_name = self.name.clone();
        c
    }

    /// Checks the effective settings (bounds and rules, those across settings
    /// such as `clip_min <= clip_max` too, folders there), that the logo is a file
    /// and that the globs compile. The first problem, named by the channel's key
    /// (`name`, not `channel_name`).
    ///
    /// Only the [`Section::Channel`] settings are checked: a channel cannot change
    /// the others, so a problem there is the server's, reported at its start.
    pub fn validate(&self, defaults: &Config) -> Result<(), Invalid> {
        let c = self.config(defaults);
        SPECS
            .iter()
            .filter(|s| s.section == Section::Channel)
            .try_for_each(|s| {
                s.check(&c)
                    .map_err(|p| invalid(channel_field(s.key), problem_text(p)))
            })?;
        if let Some(logo) = &self.logo
            && !logo.is_file()
        {
            return Err(invalid(
                "logo",
                format!("file {} does not exist or is not a file", logo.display()),
            ));
        }
        Matcher::build(&c.channel.videos, &self.sources).map(drop)
    }

    /// The channel's [`Matcher`], over its effective folders (its own `videos`,
    /// else the server's).
    pub fn matcher(&self, defaults: &Config) -> Result<Matcher, String> {
        Matcher::new(&self.config(defaults).channel.videos, &self.sources)
    }
}

/// A channel read one key at a time, so that a file reports the first problem in
/// its own order (a JSON map is in the order of its keys).
#[derive(Default)]
struct Reader {
    slug: Option<Slug>,
    name: Option<String>,
    number: Option<u32>,
    logo: Option<PathBuf>,
    sources: Sources,
    settings: Map<String, Json>,
}

impl Reader {
    /// Reads key `k`, checking its value.
    fn key(&mut self, k: String, v: Json) -> Result<(), Invalid> {
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

    /// The channel, once every key is read.
    fn finish(self, origin: Origin) -> Result<ChannelDef, Invalid> {
        let required = |field| {
            invalid(
                field,
                "missing (every channel has a slug, a name and a number)".into(),
            )
        };
        Ok(ChannelDef {
            slug: self.slug.ok_or_else(|| required("slug"))?,
            name: self.name.ok_or_else(|| required("name"))?,
            number: self.number.ok_or_else(|| required("number"))?,
            logo: self.logo,
            sources: self.sources,
            // Each value was read by its setting's parser already.
            settings: Patch::channel_from_map(self.settings)?,
            origin,
        })
    }
}

/// `r`'s error as the problem of `field`.
fn named<T>(field: &'static str, r: Result<T, String>) -> Result<T, Invalid> {
    r.map_err(|reason| invalid(field, reason))
}

fn invalid(field: &'static str, reason: String) -> Invalid {
    Invalid {
        field: Some(field),
        reason,
    }
}

/// A problem of a setting in words.
fn problem_text(p: Problem) -> String {
    match p {
        Problem::Reason(r) => r,
        Problem::MissingFolder(p) => {
            format!("folder {} does not exist or is not a folder", p.display())
        }
    }
}

/// The channel key that sets the setting `key`.
fn channel_field(key: &'static str) -> &'static str {
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
fn channel_key(k: &str) -> Option<&'static str> {
    OWN_KEYS
        .iter()
        .copied()
        .chain(channel_settings().map(|s| s.key))
        .find(|key| *key == k)
}

/// Why `k` is refused, with the key meant when one is close.
fn unknown_key(k: &str) -> String {
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

/// Problems across channels, the first in order: a slug or a number that an
/// earlier channel has. Gives the later channel's index and the problem, named by
/// its key (`slug`, `number`).
pub fn check_unique(defs: &[ChannelDef]) -> Result<(), (usize, Invalid)> {
    let mut slugs: HashMap<&Slug, &ChannelDef> = HashMap::new();
    let mut numbers: HashMap<u32, &ChannelDef> = HashMap::new();
    for (i, d) in defs.iter().enumerate() {
        if let Some(first) = slugs.get(&d.slug) {
            let reason = format!("`{}` is already the slug of {}", d.slug, who(first));
            return Err((i, invalid("slug", reason)));
        }
        if let Some(first) = numbers.get(&d.number) {
            let reason = format!(
                "{} is already the number of {} (`{}`)",
                d.number,
                who(first),
                first.slug
            );
            return Err((i, invalid("number", reason)));
        }
        slugs.insert(&d.slug, d);
        numbers.insert(d.number, d);
    }
    Ok(())
}

/// A channel as a message points the reader to it: where it is defined.
fn who(d: &ChannelDef) -> String {
    match &d.origin {
        Origin::Classic => "the classic channel".into(),
        Origin::File { line, .. } => format!("the channel at line {line}"),
        Origin::Api => format!("the channel “{}”", d.name),
    }
}

/// A channels file that cannot be used. Displays as
///
/// ```text
/// <file>:<line>: channel `<slug>`: `<key>`: <reason>
/// ```
///
/// leaving out what is not known (the line of a file that cannot be read, the key
/// of a whole table), with `channel N` (its position) for a channel without a
/// valid slug.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    /// The channels file.
    pub file: PathBuf,
    /// The line (from 1) of the offending key, else of the `[[channel]]` header,
    /// else of the syntax error.
    pub line: Option<usize>,
    /// The position (from 1) of the offending `[[channel]]` table.
    pub channel: Option<usize>,
    /// The offending channel's slug, when it has a valid one.
    pub slug: Option<Slug>,
    /// The offending key.
    pub key: Option<String>,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        f.write_str(": ")?;
        match (&self.slug, self.channel) {
            (Some(slug), _) => write!(f, "channel `{slug}`: ")?,
            (None, Some(n)) => write!(f, "channel {n}: ")?,
            (None, None) => {}
        }
        if let Some(key) = &self.key {
            write!(f, "`{key}`: ")?;
        }
        f.write_str(&self.reason)
    }
}

impl std::error::Error for FileError {}

/// The line (from 1) of byte `offset` in `text`.
fn line_at(text: &str, offset: usize) -> usize {
    let upto = &text.as_bytes()[..offset.min(text.len())];
    upto.iter().filter(|b| **b == b'\n').count() + 1
}

/// A TOML table's entries in the order of the file.
fn in_order<'a, 'i>(
    t: &'a DeTable<'i>,
) -> Vec<(&'a Spanned<Cow<'i, str>>, &'a Spanned<DeValue<'i>>)> {
    let mut entries: Vec<_> = t.iter().collect();
    entries.sort_by_key(|(k, _)| k.span().start);
    entries
}

/// A TOML value as the JSON the API would send for it. Dates are text (no setting
/// is one, so its parser refuses them by name).
fn to_json(v: &DeValue<'_>) -> Result<Json, String> {
    Ok(match v {
        DeValue::String(s) => Json::String(s.to_string()),
        DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
            .map(Json::from)
            .or_else(|_| u64::from_str_radix(i.as_str(), i.radix()).map(Json::from))
            .map_err(|_| format!("{i} is out of range"))?,
        DeValue::Float(x) => x
            .as_str()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Json::Number)
            .ok_or_else(|| format!("{x} is not a finite number"))?,
        DeValue::Boolean(b) => Json::Bool(*b),
        DeValue::Datetime(d) => Json::String(d.to_string()),
        DeValue::Array(items) => Json::Array(
            items
                .iter()
                .map(|x| to_json(x.get_ref()))
                .collect::<Result<_, _>>()?,
        ),
        DeValue::Table(t) => Json::Object(
            in_order(t)
                .into_iter()
                .map(|(k, x)| Ok((k.get_ref().to_string(), to_json(x.get_ref())?)))
                .collect::<Result<_, String>>()?,
        ),
    })
}

/// A setting the file writes as text the way a flag or a variable would
/// (`disk_budget = "20G"`), read by the setting's text parser when its wire form
/// refuses it: a file takes what `.env` takes. Anything else is left as it is, for
/// the wire parser to refuse by name. Lists are left alone (`videos` is one
/// folder, not a `:`-joined list).
fn setting_text(key: &str, v: Json) -> Json {
    let (Some(s), Json::String(text)) = (spec(key), &v) else {
        return v;
    };
    if s.section != Section::Channel || s.ops.list {
        return v;
    }
    let mut c = Config::default();
    if (s.ops.set)(&mut c, &v).is_ok() {
        return v;
    }
    match (s.ops.parse)(&mut c, text) {
        Ok(()) => (s.ops.get)(&c),
        Err(_) => v,
    }
}

/// Loads a channels file: a list of `[[channel]]` tables, each read as
/// [`ChannelDef::from_map`] reads a map (key by key, in the order of the file),
/// checked by [`ChannelDef::validate`] over `defaults` and against the channels
/// before it by [`check_unique`]. The first problem in the order of the file.
///
/// Paths are taken as written, relative ones from the working directory, as the
/// settings' are.
pub fn load_file(path: &Path, defaults: &Config) -> Result<Vec<ChannelDef>, FileError> {
    let whole = |line: Option<usize>, reason: String| FileError {
        file: path.to_path_buf(),
        line,
        channel: None,
        slug: None,
        key: None,
        reason,
    };
    let text =
        std::fs::read_to_string(path).map_err(|e| whole(None, format!("cannot read it: {e}")))?;
    let root = DeTable::parse(&text).map_err(|e| {
        let mut reason = e.message().to_string();
        // toml says "duplicate key" and points at it: name it.
        if let Some(key) = e
            .span()
            .filter(|_| reason.starts_with("duplicate key"))
            .and_then(|s| text.get(s))
        {
            reason.push_str(&format!(" `{key}`"));
        }
        whole(e.span().map(|s| line_at(&text, s.start)), reason)
    })?;
    let line = |span: std::ops::Range<usize>| line_at(&text, span.start);

    let mut tables = Vec::new();
    for (k, v) in in_order(root.get_ref()) {
        let at = |reason| Err(whole(Some(line(k.span())), reason));
        if k.get_ref() != "channel" {
            return at(format!(
                "unknown top-level key `{}`: a channels file holds only [[channel]] tables",
                k.get_ref()
            ));
        }
        match v.get_ref() {
            DeValue::Array(items) => {
                for item in items.iter() {
                    match item.get_ref() {
                        DeValue::Table(t) => tables.push((line(item.span()), t)),
                        other => {
                            return at(format!(
                                "`channel` must be [[channel]] tables, found {}",
                                other.type_str()
                            ));
                        }
                    }
                }
            }
            DeValue::Table(_) => {
                return at(
                    "[channel] is one table: write [[channel]] (two brackets) before each channel"
                        .into(),
                );
            }
            other => {
                return at(format!(
                    "`channel` must be [[channel]] tables, found {}",
                    other.type_str()
                ));
            }
        }
    }
    if tables.is_empty() {
        return Err(whole(
            None,
            "no [[channel]] table: a channels file lists channels, each a [[channel]] table with slug, name and number"
                .into(),
        ));
    }

    let mut defs: Vec<ChannelDef> = Vec::with_capacity(tables.len());
    for (i, (header, table)) in tables.iter().enumerate() {
        let slug = table
            .get("slug")
            .and_then(|v| v.get_ref().as_str())
            .and_then(|s| Slug::new(s).ok());
        // A problem in this table: at its key's line if the key is in it, else
        // at the header's.
        let fail = |key: Option<&str>, reason: String| {
            let key_line = key.and_then(|key| {
                in_order(table)
                    .into_iter()
                    .find(|(k, _)| k.get_ref() == key)
                    .map(|(k, _)| line(k.span()))
            });
            FileError {
                file: path.to_path_buf(),
                line: Some(key_line.unwrap_or(*header)),
                channel: Some(i + 1),
                slug: slug.clone(),
                key: key.map(str::to_string),
                reason,
            }
        };
        let mut reader = Reader::default();
        for (k, v) in in_order(table) {
            let key = k.get_ref().as_ref();
            let at_key = |mut e: FileError| {
                e.line = Some(line(k.span()));
                e
            };
            if channel_key(key).is_none() {
                return Err(at_key(fail(None, unknown_key(key))));
            }
            let value = to_json(v.get_ref()).map_err(|reason| fail(Some(key), reason))?;
            reader
                .key(key.to_string(), setting_text(key, value))
                .map_err(|e| at_key(fail(e.field, e.reason)))?;
        }
        let origin = Origin::File {
            path: path.to_path_buf(),
            line: *header,
        };
        let def = reader.finish(origin).map_err(|e| fail(e.field, e.reason))?;
        def.validate(defaults)
            .map_err(|e| fail(e.field, e.reason))?;
        defs.push(def);
        // Only the newest can clash: those before it did not.
        check_unique(&defs).map_err(|(_, e)| fail(e.field, e.reason))?;
    }
    Ok(defs)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A library on disk: `nature`, `birds` and `music` folders and a logo, and a
    /// channels file written in it.
    struct Fixture {
        dir: tempfile::TempDir,
    }

    impl Fixture {
        fn new() -> Fixture {
            let dir = tempfile::tempdir().unwrap();
            for f in ["nature", "birds", "music"] {
                std::fs::create_dir(dir.path().join(f)).unwrap();
            }
            std::fs::write(dir.path().join("logo.png"), b"png").unwrap();
            Fixture { dir }
        }

        fn path(&self, name: &str) -> PathBuf {
            self.dir.path().join(name)
        }

        fn file(&self) -> PathBuf {
            self.path("channels.toml")
        }

        /// Writes `text` as the channels file, `$D` standing for the folder, and
        /// loads it over the default settings.
        fn load(&self, text: &str) -> Result<Vec<ChannelDef>, FileError> {
            let text = text.replace("$D", &self.dir.path().display().to_string());
            std::fs::write(self.file(), text).unwrap();
            load_file(&self.file(), &Config::default())
        }

        /// The error of loading `text`, displayed.
        fn error(&self, text: &str) -> String {
            self.load(text).unwrap_err().to_string()
        }

        /// `rest` as the error of line `line` of the channels file.
        fn at(&self, line: usize, rest: &str) -> String {
            format!("{}:{line}: {rest}", self.file().display())
        }
    }

    const EXAMPLE: &str = r#"[[channel]]
slug = "nature"
name = "Nature"
number = 2
videos = ["$D/nature", "$D/birds"]
include = ["**/*.mp4"]
exclude = ["**/trailers/**"]
audio = "$D/music"
clip_min = 4
clip_max = 8
color_grade = "warm"
"#;

    /// A valid channel `slug` numbered `number`, for files of several.
    fn table(slug: &str, number: u32) -> String {
        format!("[[channel]]\nslug = \"{slug}\"\nname = \"N\"\nnumber = {number}\n")
    }

    #[test]
    fn the_example_loads_with_every_field() {
        let fx = Fixture::new();
        let defs = fx.load(EXAMPLE).unwrap();
        assert_eq!(defs.len(), 1);
        let d = &defs[0];
        assert_eq!(d.slug.as_str(), "nature");
        assert_eq!(d.name, "Nature");
        assert_eq!(d.number, 2);
        assert_eq!(d.logo, None);
        assert_eq!(
            d.sources,
            Sources {
                include: vec!["**/*.mp4".into()],
                exclude: vec!["**/trailers/**".into()],
                creators: vec![],
            }
        );
        assert_eq!(
            d.origin,
            Origin::File {
                path: fx.file(),
                line: 1
            }
        );
        assert!(!d.origin.editable());
        assert_eq!(d.origin.as_str(), "file");
        let mut fields: Vec<_> = d.settings.fields().collect();
        fields.sort();
        assert_eq!(
            fields,
            ["audio", "clip_max", "clip_min", "color_grade", "videos"]
        );
        let c = d.config(&Config::default());
        assert_eq!(c.channel.channel_name, "Nature");
        assert_eq!(c.channel.videos, [fx.path("nature"), fx.path("birds")]);
        assert_eq!(c.channel.audio, Some(fx.path("music")));
        assert_eq!((c.channel.clip_min, c.channel.clip_max), (4.0, 8.0));
        assert_eq!(c.channel.color_grade, crate::transcode::ColorGrade::Warm);
        let m = d.matcher(&Config::default()).unwrap();
        assert!(m.matches(&fx.path("birds/owl.mp4"), None));
        assert!(!m.matches(&fx.path("birds/trailers/owl.mp4"), None));
        assert!(!m.matches(&fx.path("birds/owl.mkv"), None));
    }

    #[test]
    fn settings_read_as_text_as_in_env() {
        let fx = Fixture::new();
        let text = format!(
            "{}disk_budget = \"20G\"\nvideo_wall = \"yes\"\n",
            table("a", 1)
        );
        let d = &fx.load(&text).unwrap()[0];
        let c = d.config(&Config::default());
        assert_eq!(c.channel.disk_budget_bytes(), Some(20_000_000_000));
        assert!(c.channel.video_wall);
        assert_eq!(d.to_map()["disk_budget"], json!(20_000_000_000u64));
    }

    #[test]
    fn several_channels_load_in_order_each_at_its_header() {
        let fx = Fixture::new();
        let text = format!(
            "# channels\n\n{}logo = \"$D/logo.png\"\nvideos = \"$D/nature\"\n\n{}creators = [\"Attenborough\"]\n",
            table("a", 1),
            table("b", 2)
        );
        let defs = fx.load(&text).unwrap();
        let lines: Vec<_> = defs
            .iter()
            .map(|d| match &d.origin {
                Origin::File { line, .. } => *line,
                _ => 0,
            })
            .collect();
        assert_eq!(lines, [3, 10]);
        assert_eq!(defs[0].logo, Some(fx.path("logo.png")));
        assert_eq!(
            defs[0].settings.values()["videos"],
            json!([fx.path("nature").display().to_string()])
        );
        assert_eq!(defs[1].sources.creators, ["Attenborough"]);
        assert!(defs[1].settings.is_empty());
    }

    #[test]
    fn a_key_that_is_none_is_named_with_the_key_meant() {
        let fx = Fixture::new();
        let text = format!("{}clipmin = 4\n", table("nature", 2));
        assert_eq!(
            fx.error(&text),
            fx.at(
                5,
                "channel `nature`: unknown key `clipmin` (did you mean `clip_min`?)"
            )
        );
        let text = format!("{}channel_name = \"x\"\n", table("nature", 2));
        assert_eq!(
            fx.error(&text),
            fx.at(
                5,
                "channel `nature`: unknown key `channel_name` (did you mean `name`?)"
            )
        );
        let text = format!("{}Slug = \"x\"\n", table("nature", 2));
        assert!(
            fx.error(&text)
                .ends_with("unknown key `Slug` (did you mean `slug`?)")
        );
        let text = format!("{}wibble = 1\n", table("nature", 2));
        assert_eq!(
            fx.error(&text),
            fx.at(5, "channel `nature`: unknown key `wibble`")
        );
    }

    #[test]
    fn a_value_of_the_wrong_type_is_refused_by_the_settings_parser() {
        let fx = Fixture::new();
        let text = format!("{}\nclip_min = \"x\"\n", table("nature", 2));
        assert_eq!(
            fx.error(&text),
            fx.at(
                6,
                "channel `nature`: `clip_min`: expected a number, found \"x\""
            )
        );
        // The first problem in the order of the file, not of the keys.
        let text = format!("{}video_wall = 3\nclip_min = \"x\"\n", table("nature", 2));
        assert_eq!(
            fx.error(&text),
            fx.at(
                5,
                "channel `nature`: `video_wall`: expected true or false, found 3"
            )
        );
        let text = format!("{}color_grade = \"sepia\"\n", table("nature", 2));
        let e = fx.load(&text).unwrap_err();
        assert_eq!(
            (e.line, e.channel, e.key.as_deref()),
            (Some(5), Some(1), Some("color_grade"))
        );
        let text = format!("{}include = \"*.mp4\"\n", table("nature", 2));
        assert_eq!(
            fx.error(&text),
            fx.at(
                5,
                "channel `nature`: `include`: expected a list of strings, found \"*.mp4\""
            )
        );
        let text = format!("{}exclude = [\"[a\"]\n", table("nature", 2));
        assert!(
            fx.error(&text)
                .starts_with(&fx.at(5, "channel `nature`: `exclude`: invalid glob `[a`: ")),
            "{}",
            fx.error(&text)
        );
    }

    #[test]
    fn rules_across_settings_name_the_key_at_its_line() {
        let fx = Fixture::new();
        let text = format!("{}clip_min = 8\nclip_max = 4\n", table("nature", 2));
        assert_eq!(
            fx.error(&text),
            fx.at(
                6,
                "channel `nature`: `clip_max`: must not be below clip_min (8)"
            )
        );
        // clip_max is the server's (6): the key is not in the table, so the
        // header's line.
        let text = format!("{}clip_min = 8\n", table("nature", 2));
        assert_eq!(
            fx.error(&text),
            fx.at(
                1,
                "channel `nature`: `clip_max`: must not be below clip_min (8)"
            )
        );
        let text = format!("{}clip_min = 0.1\n", table("nature", 2));
        assert_eq!(
            fx.error(&text),
            fx.at(
                5,
                "channel `nature`: `clip_min`: must be at least 0.5 seconds"
            )
        );
        let text = "[[channel]]\nslug = \"nature\"\nname = \"\"\nnumber = 2\n";
        assert_eq!(
            fx.error(text),
            fx.at(3, "channel `nature`: `name`: must be 1 to 200 characters")
        );
    }

    #[test]
    fn a_slug_or_a_number_twice_is_refused_at_the_second() {
        let fx = Fixture::new();
        let text = format!("{}\n{}", table("nature", 1), table("nature", 2));
        assert_eq!(
            fx.error(&text),
            fx.at(
                7,
                "channel `nature`: `slug`: `nature` is already the slug of the channel at line 1"
            )
        );
        let text = format!("{}\n{}", table("nature", 7), table("birds", 7));
        assert_eq!(
            fx.error(&text),
            fx.at(
                9,
                "channel `birds`: `number`: 7 is already the number of the channel at line 1 (`nature`)"
            )
        );
    }

    #[test]
    fn missing_folders_and_logo_are_named() {
        let fx = Fixture::new();
        let gone = fx.path("gone");
        let text = format!(
            "{}videos = [\"$D/nature\", \"$D/gone\"]\n",
            table("nature", 2)
        );
        assert_eq!(
            fx.error(&text),
            fx.at(
                5,
                &format!(
                    "channel `nature`: `videos`: folder {} does not exist or is not a folder",
                    gone.display()
                )
            )
        );
        let text = format!("{}audio = \"$D/gone\"\n", table("nature", 2));
        assert_eq!(
            fx.error(&text),
            fx.at(
                5,
                &format!(
                    "channel `nature`: `audio`: folder {} does not exist or is not a folder",
                    gone.display()
                )
            )
        );
        let text = format!("{}logo = \"$D/gone.png\"\n", table("nature", 2));
        assert_eq!(
            fx.error(&text),
            fx.at(
                5,
                &format!(
                    "channel `nature`: `logo`: file {} does not exist or is not a file",
                    fx.path("gone.png").display()
                )
            )
        );
        let text = format!("{}logo = \"$D/logo.txt\"\n", table("nature", 2));
        assert!(
            fx.error(&text).ends_with(
                "is not an image: a logo is a .png, .jpg, .jpeg, .svg, .webp or .gif file"
            )
        );
    }

    #[test]
    fn a_bad_or_missing_slug_name_or_number_is_named() {
        let fx = Fixture::new();
        let text = "[[channel]]\nslug = \"Nature!\"\nname = \"N\"\nnumber = 2\n";
        assert_eq!(
            fx.error(text),
            fx.at(
                2,
                "channel 1: `slug`: `Nature!` is not a slug: 1 to 32 characters, each a lower-case letter (a-z), a digit or - (`nature`?)"
            )
        );
        let required = "missing (every channel has a slug, a name and a number)";
        for (key, text) in [
            ("slug", "name = \"N\"\nnumber = 2\n"),
            ("name", "slug = \"nature\"\nnumber = 2\n"),
            ("number", "slug = \"nature\"\nname = \"N\"\n"),
        ] {
            let text = format!("{}\n[[channel]]\n{text}", table("first", 1));
            let who = if key == "slug" {
                "channel 2".to_string()
            } else {
                "channel `nature`".to_string()
            };
            assert_eq!(
                fx.error(&text),
                fx.at(6, &format!("{who}: `{key}`: {required}")),
                "{key}"
            );
        }
        let text = "[[channel]]\nslug = \"nature\"\nname = \"N\"\nnumber = 0\n";
        assert_eq!(
            fx.error(text),
            fx.at(
                4,
                "channel `nature`: `number`: expected a whole number from 1 to 99999, found 0"
            )
        );
    }

    #[test]
    fn file_level_problems_name_the_file() {
        let fx = Fixture::new();
        // TOML's own words, at the line of the syntax error.
        let e = fx
            .load("[[channel]]\nslug = \"nature\nname = 1\n")
            .unwrap_err();
        assert_eq!((e.line, e.channel, &e.key), (Some(2), None, &None));
        assert_eq!(
            e.to_string(),
            fx.at(2, "invalid basic string, expected `\"`")
        );
        assert_eq!(
            fx.error("[[channel]]\nslug = \"a\"\nslug = \"b\"\n"),
            fx.at(3, "duplicate key `slug`")
        );
        let no_table = format!(
            "{}: no [[channel]] table: a channels file lists channels, each a [[channel]] table with slug, name and number",
            fx.file().display()
        );
        assert_eq!(fx.error(""), no_table);
        assert_eq!(fx.error("# nothing yet\n"), no_table);
        assert_eq!(
            fx.error(&format!("port = 1\n\n{}", table("nature", 2))),
            fx.at(
                1,
                "unknown top-level key `port`: a channels file holds only [[channel]] tables"
            )
        );
        // After a [[channel]] header a key is the channel's, as TOML has it.
        assert_eq!(
            fx.error(&format!("{}\nport = 1\n", table("nature", 2))),
            fx.at(6, "channel `nature`: unknown key `port`")
        );
        assert_eq!(
            fx.error("[channel]\nslug = \"nature\"\n"),
            fx.at(
                1,
                "[channel] is one table: write [[channel]] (two brackets) before each channel"
            )
        );
        assert_eq!(
            fx.error("channel = 1\n"),
            fx.at(1, "`channel` must be [[channel]] tables, found integer")
        );
        let gone = fx.path("gone.toml");
        let e = load_file(&gone, &Config::default()).unwrap_err();
        assert!(
            e.to_string()
                .starts_with(&format!("{}: cannot read it: ", gone.display())),
            "{e}"
        );
    }

    fn matcher(include: &[&str], exclude: &[&str], creators: &[&str]) -> Matcher {
        let list = |l: &[&str]| l.iter().map(|s| s.to_string()).collect();
        let sources = Sources {
            include: list(include),
            exclude: list(exclude),
            creators: list(creators),
        };
        Matcher::new(&["/lib/a".into(), "/lib/b".into()], &sources).unwrap()
    }

    fn yes(m: &Matcher, path: &str) -> bool {
        m.matches(Path::new(path), None)
    }

    #[test]
    fn globs_match_paths_relative_to_the_folder() {
        let all = matcher(&["**/*.mp4"], &[], &[]);
        assert!(yes(&all, "/lib/a/a.mp4"));
        assert!(yes(&all, "/lib/b/x/y/a.mp4"));
        assert!(!yes(&all, "/lib/a/a.mkv"));
        let top = matcher(&["*.mp4"], &[], &[]);
        assert!(yes(&top, "/lib/a/a.mp4"));
        assert!(!yes(&top, "/lib/a/x/a.mp4"), "* stays within a folder");
        let not_trailers = matcher(&[], &["**/trailers/**"], &[]);
        assert!(!yes(&not_trailers, "/lib/a/trailers/a.mp4"));
        assert!(!yes(&not_trailers, "/lib/b/x/trailers/b.mp4"));
        assert!(yes(&not_trailers, "/lib/b/x/trailer.mp4"));
        let both = matcher(&["**/*.mp4"], &["x/**"], &[]);
        assert!(yes(&both, "/lib/a/y/a.mp4"));
        assert!(!yes(&both, "/lib/a/x/a.mp4"), "exclude wins");
        // The folder's name is not part of what globs see.
        assert!(!yes(&matcher(&["a/**"], &[], &[]), "/lib/a/v.mp4"));
    }

    #[test]
    fn paths_outside_the_folders_never_match() {
        let m = matcher(&[], &[], &[]);
        assert!(yes(&m, "/lib/a/v.mp4"));
        assert!(!yes(&m, "/lib/c/v.mp4"));
        assert!(!yes(&m, "/lib/ab/v.mp4"), "a folder is whole components");
        assert!(!yes(&m, "/lib/a"), "the folder itself is no video");
        assert!(!yes(&m, "v.mp4"));
    }

    #[test]
    fn nested_folders_judge_by_the_nearer_one() {
        let sources = Sources {
            include: vec!["*.mp4".into()],
            ..Sources::default()
        };
        let m = Matcher::new(&["/lib".into(), "/lib/a".into()], &sources).unwrap();
        assert!(m.matches(Path::new("/lib/a/v.mp4"), None));
        assert_eq!(m.folders()[0], Path::new("/lib/a"));
    }

    #[test]
    fn creators_filter_case_and_spaces_aside() {
        let m = matcher(&[], &[], &[" David Attenborough ", "bbc"]);
        let by = |c| m.matches(Path::new("/lib/a/v.mp4"), c);
        assert!(by(Some("david attenborough")));
        assert!(by(Some("BBC ")));
        assert!(!by(Some("Someone")));
        assert!(!by(None), "an unknown creator is none of them");
        assert!(matcher(&[], &[], &[]).matches(Path::new("/lib/a/v.mp4"), None));
    }

    #[test]
    fn a_bad_glob_is_named_by_its_key() {
        let bad = Sources {
            exclude: vec!["{a".into()],
            ..Sources::default()
        };
        let e = Matcher::new(&[], &bad).unwrap_err();
        assert!(e.starts_with("exclude: invalid glob `{a`: "), "{e}");
    }

    fn api(body: Json) -> Result<ChannelDef, Invalid> {
        match body {
            Json::Object(map) => ChannelDef::from_map(map, Origin::Api),
            _ => unreachable!("a test gives an object"),
        }
    }

    #[test]
    fn to_map_is_the_inverse_of_from_map() {
        let body = json!({
            "slug": "nature",
            "name": "Nature",
            "number": 2,
            "logo": "/srv/nature.svg",
            "videos": ["/srv/videos/nature"],
            "include": ["**/*.mp4"],
            "exclude": ["**/trailers/**"],
            "creators": ["BBC"],
            "audio": "/srv/music",
            "clip_min": 4.0,
            "disk_budget": 20_000_000_000u64,
            "schedule": "0 2 * * *",
            "video_wall": true,
            "watermark": "creator",
        });
        let d = api(body.clone()).unwrap();
        assert_eq!(Json::Object(d.to_map()), body);
        assert_eq!(ChannelDef::from_map(d.to_map(), Origin::Api).unwrap(), d);
        assert!(d.origin.editable());
        // The forms the API accepts for convenience come back as the setting writes them.
        let short = api(json!({
            "slug": "a", "name": " A ", "number": 1, "videos": "/v", "logo": null, "clip_min": 4,
        }))
        .unwrap();
        assert_eq!(
            Json::Object(short.to_map()),
            json!({"slug": "a", "name": "A", "number": 1, "videos": ["/v"], "clip_min": 4.0})
        );
    }

    #[test]
    fn api_errors_name_the_field() {
        let field = |body| api(body).unwrap_err().field;
        assert_eq!(
            field(json!({"slug": "a", "name": "A", "number": 1, "clip_max": "x"})),
            Some("clip_max")
        );
        assert_eq!(
            field(json!({"slug": "a b", "name": "A", "number": 1})),
            Some("slug")
        );
        assert_eq!(
            field(json!({"slug": "a", "name": "A", "number": 1.5})),
            Some("number")
        );
        assert_eq!(field(json!({"slug": "a", "number": 1})), Some("name"));
        assert_eq!(
            field(json!({"slug": "a", "name": "A", "number": 1, "videos": []})),
            Some("videos")
        );
        let e = api(json!({"slug": "a", "name": "A", "number": 1, "colour_grade": "warm"}))
            .unwrap_err();
        assert_eq!(e.field, None);
        assert_eq!(
            e.reason,
            "unknown key `colour_grade` (did you mean `color_grade`?)"
        );
    }

    #[test]
    fn config_lays_the_channel_over_the_defaults() {
        let mut defaults = Config::default();
        defaults.channel.clip_max = 9.0;
        defaults.channel.chunk_duration = 120.0;
        defaults.output.width = 1920;
        let d = api(json!({
            "slug": "a", "name": "Birds", "number": 1, "clip_min": 2, "chunk_duration": 60,
        }))
        .unwrap();
        let c = d.config(&defaults);
        assert_eq!(c.channel.channel_name, "Birds");
        assert_eq!(c.channel.clip_min, 2.0, "the channel's own");
        assert_eq!(c.channel.chunk_duration, 60.0, "the channel's own wins");
        assert_eq!(c.channel.clip_max, 9.0, "the server's falls through");
        assert_eq!(c.output.width, 1920);
        assert_eq!(defaults.channel.channel_name, "shufflecast", "untouched");
        d.validate(&defaults).unwrap();
    }

    #[test]
    fn unique_checks_name_the_later_channel() {
        let c = Config::default();
        let classic = ChannelDef::classic(&c);
        assert_eq!((classic.slug.as_str(), classic.number), (CLASSIC, 1));
        assert_eq!(classic.config(&c).channel.channel_name, "shufflecast");
        let other = api(json!({"slug": "main", "name": "Other", "number": 3})).unwrap();
        let (i, e) = check_unique(&[classic.clone(), other]).unwrap_err();
        assert_eq!(i, 1);
        assert_eq!(
            e.to_string(),
            "slug: `main` is already the slug of the classic channel"
        );
        let other = api(json!({"slug": "b", "name": "B", "number": 3})).unwrap();
        let third = api(json!({"slug": "c", "name": "C", "number": 3})).unwrap();
        let (i, e) = check_unique(&[classic, other, third]).unwrap_err();
        assert_eq!(i, 2);
        assert_eq!(
            e.to_string(),
            "number: 3 is already the number of the channel “B” (`b`)"
        );
    }

    #[test]
    fn slugs() {
        assert_eq!(Slug::new("nature-2").unwrap().as_str(), "nature-2");
        assert_eq!("a".parse::<Slug>().unwrap().to_string(), "a");
        for bad in ["", "Nature", "a_b", "é", &"a".repeat(33)] {
            assert!(Slug::new(bad).is_err(), "{bad:?}");
        }
        assert!(Slug::new(&"a".repeat(32)).is_ok());
        assert!(
            Slug::new("  ").unwrap_err().ends_with("or -"),
            "no suggestion from nothing"
        );
        assert!(
            Slug::new("Nature & Birds")
                .unwrap_err()
                .ends_with("(`nature-birds`?)")
        );
        let s: Slug = serde_json::from_value(json!("abc")).unwrap();
        assert_eq!(serde_json::to_value(&s).unwrap(), json!("abc"));
        assert!(serde_json::from_value::<Slug>(json!("A")).is_err());
    }

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("clipmin", "clip_min"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
