//! The API's JSON, as types: every request and response body of `src/http`, and the
//! `From` impls that map domain values onto them. The OpenAPI document (`openapi`)
//! and the web client's types (`web/src/api.gen.ts`) are generated from these.
//!
//! Field names and shapes are the original tool's and the web client's contract: a
//! rename here breaks them. Domain types do not serialize themselves for the wire;
//! a field added to one reaches clients only once it is added here.
//!
//! Numbers the domain keeps as `f32` are `f64` here: the JSON then carries the same
//! digits as before (`98.75311279296875`, not `98.75311`).

use serde::Serialize;
use utoipa::ToSchema;

mod chunks;
mod generation;
mod guide;
mod library;
mod original;
mod stats;
mod status;
mod system;
#[cfg(test)]
mod tests;
mod tuner;

pub use chunks::*;
pub use generation::*;
pub use guide::*;
pub use library::*;
pub use original::*;
pub use stats::*;
pub use status::*;
pub use system::*;
pub use tuner::*;

// ---- errors -----------------------------------------------------------------

/// An error: what went wrong, and the field at fault when one is (422).
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong, in words.
    pub error: String,
    /// The request field at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub field: Option<String>,
}

// ---- not JSON ---------------------------------------------------------------

/// An MPEG-TS segment's bytes (`video/mp2t`): documented only, the body is the
/// segment as published.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct MpegTs(pub bytes::Bytes);

/// A JPEG picture's bytes (`image/jpeg`): documented only.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct Jpeg(pub Vec<u8>);
