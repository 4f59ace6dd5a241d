//! Placeholder of the channel definition while the real one is written; replaced
//! whole by it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::Config;
use crate::settings::Patch;

/// A channel's URL id.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Slug(Arc<str>);

impl Slug {
    /// A slug, checked.
    pub fn new(s: &str) -> Result<Slug, String> {
        Ok(Slug(s.into()))
    }
    /// The slug.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Slug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The classic channel's slug.
pub const CLASSIC: &str = "main";

/// Where a channel was defined.
#[derive(Clone, Debug, PartialEq)]
pub enum Origin {
    /// From the classic settings.
    Classic,
    /// From the channels file.
    File {
        /// The file.
        path: PathBuf,
        /// Its line.
        line: usize,
    },
    /// Made through the API.
    Api,
}

impl Origin {
    /// Whether the API may change it.
    pub fn editable(&self) -> bool {
        matches!(self, Origin::Api)
    }
    /// Its name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Origin::Classic => "classic",
            Origin::File { .. } => "file",
            Origin::Api => "api",
        }
    }
}

/// Which videos belong.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sources {
    /// Globs.
    pub include: Vec<String>,
    /// Globs.
    pub exclude: Vec<String>,
    /// Creators.
    pub creators: Vec<String>,
}

/// Compiled sources.
pub struct Matcher {
    folders: Vec<PathBuf>,
}

impl Matcher {
    /// Compiles.
    pub fn new(folders: &[PathBuf], _sources: &Sources) -> Result<Matcher, String> {
        Ok(Matcher {
            folders: folders.to_vec(),
        })
    }
    /// Whether it belongs.
    pub fn matches(&self, path: &Path, _creator: Option<&str>) -> bool {
        self.folders.iter().any(|f| path.starts_with(f))
    }
}

/// A channel.
#[derive(Clone, Debug)]
pub struct ChannelDef {
    /// Slug.
    pub slug: Slug,
    /// Name.
    pub name: String,
    /// Number.
    pub number: u32,
    /// Logo.
    pub logo: Option<PathBuf>,
    /// Sources.
    pub sources: Sources,
    /// Settings.
    pub settings: Patch,
    /// Origin.
    pub origin: Origin,
}

impl ChannelDef {
    /// Effective settings.
    pub fn config(&self, defaults: &Config) -> Config {
        let mut c = defaults.with(&self.settings);
        c.channel.channel_name = self.name.clone();
        c
    }
    /// Matcher.
    pub fn matcher(&self, defaults: &Config) -> Result<Matcher, String> {
        Matcher::new(&self.config(defaults).channel.videos, &self.sources)
    }
    /// From a map.
    pub fn from_map(
        _map: serde_json::Map<String, serde_json::Value>,
        _origin: Origin,
    ) -> Result<ChannelDef, crate::settings::Invalid> {
        unimplemented!()
    }
    /// To a map.
    pub fn to_map(&self) -> serde_json::Map<String, serde_json::Value> {
        serde_json::Map::new()
    }
    /// Validate.
    pub fn validate(&self, _defaults: &Config) -> Result<(), crate::settings::Invalid> {
        Ok(())
    }
}
