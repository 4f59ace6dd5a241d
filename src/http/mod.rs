//! HTTP: the live stream (playlist and segments), the JSON API, the IPTV playlist and
//! guide, and health.
//!
//! Segments are served from memory. Their names are unique for ever (a run id and a
//! sequence number), so they are marked immutable and any HTTP cache or CDN can hold
//! them; the playlist changes every segment, so it is cacheable for one second only.

mod api;
pub mod api_docs;
pub mod auth;
mod channels;
pub mod conn;
mod error;
mod files;
mod guide;
pub mod hdhomerun;
mod hls;
pub mod iptv;
pub mod logos;
pub mod metrics;
pub mod openapi;
mod original;
mod pick;
mod range;
pub mod requests;
pub mod router;
pub mod state;
pub mod stream;
pub mod thumbs;
pub mod tuners;
pub mod urls;
pub mod viewing;
pub mod web;
pub mod wire;
mod xmltv;

pub use auth::Tokens;
pub use error::ApiError;
pub use router::{document, router};
pub use state::AppState;
