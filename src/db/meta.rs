//! The `meta` table: named values that are not rows of their own. The LRU and
//! airing clocks (which must only move forward), the stats counters, the
//! continuity point, the generator's requests and the settings' overrides.

use rusqlite::{Connection, OptionalExtension, params};

use super::{Db, DbError};

impl Db {
    /// A value from the `meta` table.
    pub fn meta(&self, key: &str) -> Result<Option<String>, DbError> {
        get(&self.conn(), key)
    }

    /// Sets a value in the `meta` table.
    pub fn set_meta(&self, key: &str, value: &str) -> Result<(), DbError> {
        set_meta(&self.conn(), key, value)
    }
}

/// The key of a channel's own value `key` (its counters, requests and continuity
/// point): `<channel>/<key>`.
pub(crate) fn scoped(channel: &str, key: &str) -> String {
    format!("{channel}/{key}")
}

/// A `meta` value, on a connection already held.
pub(super) fn get(conn: &Connection, key: &str) -> Result<Option<String>, DbError> {
    Ok(conn
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?)
}

/// A numeric `meta` value; 0 when unset or not a number.
pub(super) fn number(conn: &Connection, key: &str) -> Result<f64, DbError> {
    Ok(get(conn, key)?.and_then(|v| v.parse().ok()).unwrap_or(0.0))
}

/// Sets a `meta` value on a connection already held (inside a transaction).
pub(crate) fn set_meta(conn: &Connection, key: &str, value: &str) -> Result<(), DbError> {
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![key, value])?;
    Ok(())
}

/// Adds `by` to a numeric `meta` value and returns the new value. Used for the
/// LRU clock, which must only move forward, and for counters.
pub(super) fn bump(conn: &Connection, key: &str, by: i64) -> Result<i64, DbError> {
    Ok(conn
        .prepare_cached(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + ?2
             RETURNING CAST(value AS INTEGER)",
        )?
        .query_row(params![key, by], |r| r.get(0))?)
}

/// Adds `by` to a real-valued `meta` value (seconds streamed).
pub(super) fn add_real(conn: &Connection, key: &str, by: f64) -> Result<(), DbError> {
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = CAST(value AS REAL) + ?2",
    )?
    .execute(params![key, by])?;
    Ok(())
}
