//! Where the stream stopped (`meta` keys), so the next run continues it.

use std::time::{Duration, SystemTime};

use rusqlite::Connection;

use super::{Db, DbError, meta};
use crate::media::Ticks;

/// The stream's continuity point.
#[derive(Clone)]
pub struct ContinuityStore {
    db: Db,
    channel: std::sync::Arc<str>,
}

impl Db {
    /// The continuity point of `channel`'s stream.
    pub fn continuity(&self, channel: &str) -> ContinuityStore {
        ContinuityStore {
            db: self.clone(),
            channel: channel.into(),
        }
    }
}

impl ContinuityStore {
    /// The point recorded, if any.
    pub fn load(&self) -> Result<Option<Continuity>, DbError> {
        let c = self.db.conn();
        let get = |k: &str| -> Result<Option<u64>, DbError> {
            Ok(meta::get(&c, &meta::scoped(&self.channel, k))?.and_then(|v| v.parse().ok()))
        };
        match (
            get("next_seq")?,
            get("next_pts")?,
            get("discontinuity_number")?,
        ) {
            (Some(next_seq), Some(pts), Some(discontinuity_number)) => Ok(Some(Continuity {
                next_seq,
                next_pts: Ticks(pts),
                discontinuity_number,
                next_pdt: get("next_pdt_ms")?
                    .map(|ms| SystemTime::UNIX_EPOCH + Duration::from_millis(ms)),
            })),
            _ => Ok(None),
        }
    }

    /// Records `point`.
    pub fn save(&self, point: &Continuity) -> Result<(), DbError> {
        self.db.transaction(|tx| save_on(tx, &self.channel, point))
    }
}

/// Records `point` on a connection already held (inside a transaction). A point
/// without a PROGRAM-DATE-TIME leaves the one recorded before.
pub(super) fn save_on(c: &Connection, channel: &str, point: &Continuity) -> Result<(), DbError> {
    let key = |k: &str| meta::scoped(channel, k);
    meta::set_meta(c, &key("next_seq"), &point.next_seq.to_string())?;
    meta::set_meta(c, &key("next_pts"), &point.next_pts.0.to_string())?;
    meta::set_meta(
        c,
        &key("discontinuity_number"),
        &point.discontinuity_number.to_string(),
    )?;
    if let Some(ms) = point
        .next_pdt
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map(|d| d.as_millis())
    {
        meta::set_meta(c, &key("next_pdt_ms"), &ms.to_string())?;
    }
    Ok(())
}

/// Where the last run's stream stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Continuity {
    /// Media sequence number of the next segment.
    pub next_seq: u64,
    /// Channel time of the next frame.
    pub next_pts: Ticks,
    /// Discontinuity number of the last segment.
    pub discontinuity_number: u64,
    /// PROGRAM-DATE-TIME at the end of the last segment (absent in databases of
    /// releases that did not record it).
    pub next_pdt: Option<SystemTime>,
}
