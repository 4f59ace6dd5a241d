//! Which channel a request is about: `?channel=SLUG`, the default channel when
//! absent, so the original's clients (which know of one channel) keep working.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::Deserialize;
use utoipa::IntoParams;

use super::error::ApiError;
use super::state::AppState;
use crate::station::OnAir;

/// The `channel` query parameter every channel route takes.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChannelQuery {
    /// The channel's slug; the default channel when absent.
    pub channel: Option<String>,
}

/// The channel a request names (or the default one); 404 for an unknown slug.
pub struct Ch(pub Arc<OnAir>);

impl FromRequestParts<AppState> for Ch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Ch, ApiError> {
        let slug = axum::extract::Query::<ChannelQuery>::try_from_uri(&parts.uri)?
            .0
            .channel;
        let found = match &slug {
            Some(s) => st.station.get(s),
            None => st.station.default_channel(),
        };
        found.map(Ch).ok_or_else(|| match slug {
            Some(s) => ApiError::not_found(format!("no channel {s:?}")),
            None => ApiError::not_found("no channel on air"),
        })
    }
}
