//! The settings saved through the API: one versioned JSON blob in `meta` (its form
//! is `settings::stored`'s business; this store only keeps it).

use super::meta::{get, set_meta};
use super::{Db, DbError};

/// Where the overrides are stored, in the `meta` table.
const KEY: &str = "settings_overrides";
/// Where a stored blob that cannot be read at all is set aside before a save
/// replaces it.
const UNREADABLE_KEY: &str = "settings_overrides_unreadable";

impl Db {
    /// The stored overrides, as saved.
    pub fn settings_overrides(&self) -> Result<Option<String>, DbError> {
        self.meta(KEY)
    }

    /// Replaces the stored overrides with what `f` makes of the stored ones, in one
    /// transaction (two saves cannot interleave). `f` returns the new blob and,
    /// optionally, a copy of the old one to set aside.
    pub fn update_settings_overrides<T>(
        &self,
        f: impl FnOnce(Option<String>) -> (String, Option<String>, T),
    ) -> Result<T, DbError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let stored = get(&tx, KEY)?;
        let (blob, aside, out) = f(stored);
        if let Some(old) = aside {
            set_meta(&tx, UNREADABLE_KEY, &old)?;
        }
        set_meta(&tx, KEY, &blob)?;
        tx.commit()?;
        Ok(out)
    }

    /// Replaces the stored overrides (tests set up earlier releases' forms).
    pub fn set_settings_overrides(&self, blob: &str) -> Result<(), DbError> {
        self.set_meta(KEY, blob)
    }

    /// The blob set aside by a save over one that could not be read.
    pub fn unreadable_settings_overrides(&self) -> Result<Option<String>, DbError> {
        self.meta(UNREADABLE_KEY)
    }
}
