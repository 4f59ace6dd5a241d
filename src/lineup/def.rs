//! What a channel is ([`ChannelDef`]: a slug, a name, a number, a logo, its
//! [`Sources`] and its own settings), where its definition comes from
//! ([`Origin`]), and what must differ between channels ([`check_unique`]).

use std::collections::HashMap;
use std::path::PathBuf;

use serde_json::{Map, Value as Json, json};

use super::keys::{Reader, channel_field, problem_text};
pub use super::matcher::{Matcher, Sources};
pub use crate::settings::Slug;
use crate::settings::{Config, Invalid, Kind, Patch, SPECS, Section};

/// The slug of the one channel made from the classic settings. The state of a
/// one-channel release (its places, plays, chunks) belongs to it.
pub const CLASSIC: &str = "main";

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

/// One channel's definition, as a file or the API gives it.
#[derive(Clone, Debug, PartialEq)]
pub struct ChannelDef {
    /// Its URL id.
    pub slug: Slug,
    /// Its name in the web UI, the IPTV playlist and the guide.
    pub name: String,
    /// Its number in an IPTV guide, 1 to [`NUMBER_MAX`](super::NUMBER_MAX).
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
        ChannelDef::from_reader(r, origin)
    }

    /// The channel `r` read, once every key is read: a slug, a name and a number
    /// are required.
    pub(super) fn from_reader(r: Reader, origin: Origin) -> Result<ChannelDef, Invalid> {
        let required = |field| {
            Invalid::of(
                field,
                "missing (every channel has a slug, a name and a number)".into(),
            )
        };
        Ok(ChannelDef {
            slug: r.slug.ok_or_else(|| required("slug"))?,
            name: r.name.ok_or_else(|| required("name"))?,
            number: r.number.ok_or_else(|| required("number"))?,
            logo: r.logo,
            sources: r.sources,
            // Each value was read by its setting's parser already.
            settings: Patch::channel_from_map(r.settings)?,
            origin,
        })
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
                    .map_err(|p| Invalid::of(channel_field(s.key), problem_text(p)))
            })?;
        if let Some(logo) = &self.logo
            && !logo.is_file()
        {
            return Err(Invalid::of(
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

/// Problems across channels, the first in order: a slug or a number that an
/// earlier channel has. Gives the later channel's index and the problem, named by
/// its key (`slug`, `number`).
pub fn check_unique(defs: &[ChannelDef]) -> Result<(), (usize, Invalid)> {
    let mut slugs: HashMap<&Slug, &ChannelDef> = HashMap::new();
    let mut numbers: HashMap<u32, &ChannelDef> = HashMap::new();
    for (i, d) in defs.iter().enumerate() {
        if let Some(first) = slugs.get(&d.slug) {
            let reason = format!("`{}` is already the slug of {}", d.slug, who(first));
            return Err((i, Invalid::of("slug", reason)));
        }
        if let Some(first) = numbers.get(&d.number) {
            let reason = format!(
                "{} is already the number of {} (`{}`)",
                d.number,
                who(first),
                first.slug
            );
            return Err((i, Invalid::of("number", reason)));
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
