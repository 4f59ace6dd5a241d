//! The `programme_slots` table: the programme slots a channel's guide has listed.
//! Rows are added at the end and dropped once long past, never changed: each is a
//! promise to an app that stored the guide.

use rusqlite::params;

use super::{Db, DbError};

/// A programme slot: from `start` to `stop`, Unix seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    /// When it starts.
    pub start: i64,
    /// When it ends (the next slot's start).
    pub stop: i64,
}

/// A channel's listed programme slots.
#[derive(Clone)]
pub struct SlotStore {
    db: Db,
    channel: std::sync::Arc<str>,
}

impl Db {
    /// The programme slots of `channel`.
    pub fn slots(&self, channel: &str) -> SlotStore {
        SlotStore {
            db: self.clone(),
            channel: channel.into(),
        }
    }
}

impl SlotStore {
    /// Every slot kept, by start.
    pub fn all(&self) -> Result<Vec<Slot>, DbError> {
        let c = self.db.conn();
        let rows = c
            .prepare_cached(
                "SELECT start, stop FROM programme_slots WHERE channel = ?1 ORDER BY start",
            )?
            .query_map([&*self.channel], |r| {
                Ok(Slot {
                    start: r.get(0)?,
                    stop: r.get(1)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Adds `slots` in one transaction: all of them or none.
    pub fn add(&self, slots: &[Slot]) -> Result<(), DbError> {
        self.db.transaction(|tx| {
            let mut st = tx.prepare_cached(
                "INSERT INTO programme_slots (channel, start, stop) VALUES (?1, ?2, ?3)",
            )?;
            for s in slots {
                st.execute(params![&*self.channel, s.start, s.stop])?;
            }
            Ok(())
        })
    }

    /// Drops the slots that ended before `t`.
    pub fn drop_ended_before(&self, t: i64) -> Result<usize, DbError> {
        Ok(self
            .db
            .conn()
            .prepare_cached("DELETE FROM programme_slots WHERE channel = ?1 AND stop < ?2")?
            .execute(params![&*self.channel, t])?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_kept_per_channel_in_order_and_survive_a_reopen() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("t.db");
        let db = Db::open(&path).unwrap();
        let a = db.slots("a");
        a.add(&[
            Slot { start: 0, stop: 10 },
            Slot {
                start: 10,
                stop: 20,
            },
        ])
        .unwrap();
        db.slots("b").add(&[Slot { start: 5, stop: 7 }]).unwrap();
        // A slot already listed cannot be listed again with other times.
        assert!(
            a.add(&[Slot {
                start: 10,
                stop: 30
            }])
            .is_err()
        );
        assert_eq!(a.all().unwrap().len(), 2);
        assert_eq!(a.drop_ended_before(15).unwrap(), 1);
        drop(db);
        let db = Db::open(&path).unwrap();
        assert_eq!(
            db.slots("a").all().unwrap(),
            [Slot {
                start: 10,
                stop: 20
            }]
        );
        assert_eq!(db.slots("b").all().unwrap(), [Slot { start: 5, stop: 7 }]);
    }
}
