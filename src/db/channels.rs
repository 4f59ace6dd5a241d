//! The `channels` table: channels made through the API, each kept as the
//! definition the API took (JSON). Channels of the channels file and the classic
//! one are not stored: the file and the settings are their record.

use rusqlite::params;

use super::{Db, DbError};

/// The channels made through the API.
#[derive(Clone)]
pub struct ChannelStore {
    db: Db,
}

impl Db {
    /// The channels made through the API.
    pub fn channels(&self) -> ChannelStore {
        ChannelStore { db: self.clone() }
    }
}

impl ChannelStore {
    /// Every stored channel: `(slug, definition)`, oldest first.
    pub fn all(&self) -> Result<Vec<(String, String)>, DbError> {
        let c = self.db.conn();
        let mut st =
            c.prepare_cached("SELECT slug, definition FROM channels ORDER BY created_at, slug")?;
        let v = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        Ok(v)
    }

    /// Stores `slug`'s definition, replacing the one stored before.
    pub fn put(&self, slug: &str, definition: &str, now: i64) -> Result<(), DbError> {
        self.db.conn().execute(
            "INSERT INTO channels (slug, definition, created_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (slug) DO UPDATE SET definition = excluded.definition",
            params![slug, definition, now],
        )?;
        Ok(())
    }

    /// Forgets `slug`'s definition (its history in the stats stays).
    pub fn delete(&self, slug: &str) -> Result<(), DbError> {
        self.db
            .conn()
            .execute("DELETE FROM channels WHERE slug = ?1", [slug])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_are_kept_replaced_and_forgotten() {
        let db = Db::in_memory().unwrap();
        let s = db.channels();
        s.put("b", r#"{"name":"B"}"#, 2).unwrap();
        s.put("a", r#"{"name":"A"}"#, 1).unwrap();
        s.put("b", r#"{"name":"B2"}"#, 9).unwrap();
        assert_eq!(
            s.all().unwrap(),
            [
                ("a".to_string(), r#"{"name":"A"}"#.to_string()),
                ("b".to_string(), r#"{"name":"B2"}"#.to_string())
            ]
        );
        s.delete("a").unwrap();
        assert_eq!(s.all().unwrap().len(), 1);
    }
}
