//! Channels: several never-ending channels from one shared library.
//!
//! [`def`] says what a channel is and reads definitions from a channels file
//! (`CHANNELS_FILE`) and from the API; a server without a channels file has one
//! channel made from the classic settings, [`CLASSIC`].

pub mod def;

pub use def::{
    CLASSIC, ChannelDef, FileError, Matcher, Origin, Slug, Sources, check_unique, load_file,
};
