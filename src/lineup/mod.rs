//! Channels: several never-ending channels from one shared library.
//!
//! A channel is a slug (its URL id), a name, a number (its place in an IPTV
//! guide), an optional logo, the part of the shared library it airs ([`Sources`]:
//! folders, globs, creators), and its settings: any setting of the
//! [`Section::Channel`](crate::settings::Section::Channel) section, laid over the server's own values, which are the
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
//!
//! [`def`] says what a channel is; `keys.rs` reads one key of a definition (for
//! the file and the API alike); [`matcher`] decides which videos a channel airs;
//! [`file`](mod@file) reads a channels file. They import one another one way only:
//! `matcher` < `keys` < `def` < `file`.

pub mod def;
pub mod file;
mod keys;
pub mod matcher;

pub use def::{CLASSIC, ChannelDef, Origin, Slug, check_unique};
pub use file::{FileError, load_file};
pub use keys::NUMBER_MAX;
pub use matcher::{Matcher, Sources};
