//! Reading a channels file: its TOML `[[channel]]` tables turned into the maps
//! the API would send, read key by key in the order of the file, each problem a
//! [`FileError`] at its line.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde_json::Value as Json;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::def::{ChannelDef, Origin, check_unique};
use super::keys::{Reader, channel_key, unknown_key};
use crate::settings::{Config, Section, Slug, spec};

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

impl FileError {
    /// A problem of the whole file rather than of one channel, at `line` if known.
    fn whole(path: &Path, line: Option<usize>, reason: String) -> FileError {
        FileError {
            file: path.to_path_buf(),
            line,
            channel: None,
            slug: None,
            key: None,
            reason,
        }
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
    let text = std::fs::read_to_string(path)
        .map_err(|e| FileError::whole(path, None, format!("cannot read it: {e}")))?;
    let file = Text { path, text: &text };
    let root = parse_toml(&file)?;
    let tables = channel_tables(&file, root.get_ref())?;
    let mut defs: Vec<ChannelDef> = Vec::with_capacity(tables.len());
    for (index, (header, table)) in tables.into_iter().enumerate() {
        let at = TableAt::new(&file, index, header, table);
        defs.push(read_table(&at, defaults)?);
        // Only the newest can clash: those before it did not.
        check_unique(&defs).map_err(|(_, e)| at.fail(e.field, e.reason))?;
    }
    Ok(defs)
}

/// A channels file's text, to say at which line a problem is.
struct Text<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Text<'_> {
    /// The line (from 1) where `span` starts.
    fn line(&self, span: Range<usize>) -> usize {
        line_at(self.text, span.start)
    }

    /// A problem of the whole file, at `line` if known.
    fn whole(&self, line: Option<usize>, reason: String) -> FileError {
        FileError::whole(self.path, line, reason)
    }
}

/// The file as TOML, or TOML's own words at the line of the syntax error.
fn parse_toml<'i>(file: &Text<'i>) -> Result<Spanned<DeTable<'i>>, FileError> {
    DeTable::parse(file.text).map_err(|e| {
        let mut reason = e.message().to_string();
        // toml says "duplicate key" and points at it: name it.
        if let Some(key) = e
            .span()
            .filter(|_| reason.starts_with("duplicate key"))
            .and_then(|s| file.text.get(s))
        {
            reason.push_str(&format!(" `{key}`"));
        }
        file.whole(e.span().map(|s| file.line(s)), reason)
    })
}

/// The file's `[[channel]]` tables in order, each with the line of its header.
/// Anything else at the top, or no table at all, is refused.
fn channel_tables<'a, 'i>(
    file: &Text<'_>,
    root: &'a DeTable<'i>,
) -> Result<Vec<(usize, &'a DeTable<'i>)>, FileError> {
    let mut tables = Vec::new();
    for (k, v) in in_order(root) {
        let at = |reason: String| file.whole(Some(file.line(k.span())), reason);
        if k.get_ref() != "channel" {
            return Err(at(format!(
                "unknown top-level key `{}`: a channels file holds only [[channel]] tables",
                k.get_ref()
            )));
        }
        let not_tables = |other: &DeValue<'_>| {
            at(format!(
                "`channel` must be [[channel]] tables, found {}",
                other.type_str()
            ))
        };
        match v.get_ref() {
            DeValue::Array(items) => {
                for item in items.iter() {
                    match item.get_ref() {
                        DeValue::Table(t) => tables.push((file.line(item.span()), t)),
                        other => return Err(not_tables(other)),
                    }
                }
            }
            DeValue::Table(_) => {
                return Err(at(
                    "[channel] is one table: write [[channel]] (two brackets) before each channel"
                        .into(),
                ));
            }
            other => return Err(not_tables(other)),
        }
    }
    if tables.is_empty() {
        return Err(file.whole(
            None,
            "no [[channel]] table: a channels file lists channels, each a [[channel]] table with slug, name and number"
                .into(),
        ));
    }
    Ok(tables)
}

/// One `[[channel]]` table of the file, to say where its problems are.
struct TableAt<'a, 'i> {
    file: &'a Text<'a>,
    /// Its position among the tables, from 0.
    index: usize,
    /// The line of its `[[channel]]` header.
    header: usize,
    table: &'a DeTable<'i>,
    /// Its slug, if it has a valid one: what its problems name it by.
    slug: Option<Slug>,
}

impl<'a, 'i> TableAt<'a, 'i> {
    fn new(file: &'a Text<'a>, index: usize, header: usize, table: &'a DeTable<'i>) -> Self {
        let slug = table
            .get("slug")
            .and_then(|v| v.get_ref().as_str())
            .and_then(|s| Slug::new(s).ok());
        TableAt {
            file,
            index,
            header,
            table,
            slug,
        }
    }

    /// A problem in this table: at its key's line if the key is in it, else at
    /// the header's.
    fn fail(&self, key: Option<&str>, reason: String) -> FileError {
        let key_line = key.and_then(|key| {
            in_order(self.table)
                .into_iter()
                .find(|(k, _)| k.get_ref() == key)
                .map(|(k, _)| self.file.line(k.span()))
        });
        FileError {
            file: self.file.path.to_path_buf(),
            line: Some(key_line.unwrap_or(self.header)),
            channel: Some(self.index + 1),
            slug: self.slug.clone(),
            key: key.map(str::to_string),
            reason,
        }
    }
}

/// Reads one table as [`ChannelDef::from_map`] reads a map, key by key in the
/// order of the file, and checks it by [`ChannelDef::validate`] over `defaults`.
fn read_table(t: &TableAt<'_, '_>, defaults: &Config) -> Result<ChannelDef, FileError> {
    let mut reader = Reader::default();
    for (k, v) in in_order(t.table) {
        let key = k.get_ref().as_ref();
        let at_key = |mut e: FileError| {
            e.line = Some(t.file.line(k.span()));
            e
        };
        if channel_key(key).is_none() {
            return Err(at_key(t.fail(None, unknown_key(key))));
        }
        let value = to_json(v.get_ref()).map_err(|reason| t.fail(Some(key), reason))?;
        reader
            .key(key.to_string(), setting_text(key, value))
            .map_err(|e| at_key(t.fail(e.field, e.reason)))?;
    }
    let origin = Origin::File {
        path: t.file.path.to_path_buf(),
        line: t.header,
    };
    let def = ChannelDef::from_reader(reader, origin).map_err(|e| t.fail(e.field, e.reason))?;
    def.validate(defaults)
        .map_err(|e| t.fail(e.field, e.reason))?;
    Ok(def)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::lineup::Sources;

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
}
