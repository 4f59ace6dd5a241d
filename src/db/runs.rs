//! The `generation_runs` table: each generation run of a channel, newest first.

use rusqlite::params;

use super::{Db, DbError};

/// A channel's generation runs.
#[derive(Clone)]
pub struct RunsStore {
    db: Db,
    channel: std::sync::Arc<str>,
}

/// One generation run.
#[derive(Clone, Debug, PartialEq)]
pub struct GenerationRun {
    /// When it was asked for, unix seconds.
    pub at: i64,
    /// Why: `schedule`, `manual` or `start`.
    pub trigger: String,
    /// Chunks asked for.
    pub chunks: u64,
}

impl Db {
    /// The generation runs of `channel`.
    pub fn runs(&self, channel: &str) -> RunsStore {
        RunsStore {
            db: self.clone(),
            channel: channel.into(),
        }
    }
}

impl RunsStore {
    /// Records a run.
    pub fn record(&self, run: &GenerationRun) -> Result<(), DbError> {
        self.db
            .conn()
            .prepare_cached(
                "INSERT INTO generation_runs (channel, at, trigger, chunks) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![&*self.channel, run.at, run.trigger, run.chunks as i64])?;
        Ok(())
    }

    /// `limit` runs from `offset`, newest first, and how many there are in all.
    pub fn page(&self, offset: u64, limit: u64) -> Result<(Vec<GenerationRun>, u64), DbError> {
        let c = self.db.conn();
        let total: i64 = c
            .prepare_cached("SELECT COUNT(*) FROM generation_runs WHERE channel = ?1")?
            .query_row([&*self.channel], |r| r.get(0))?;
        let runs = c
            .prepare_cached(
                "SELECT at, trigger, chunks FROM generation_runs WHERE channel = ?1 \
                 ORDER BY at DESC, id DESC LIMIT ?2 OFFSET ?3",
            )?
            .query_map(params![&*self.channel, limit as i64, offset as i64], |r| {
                Ok(GenerationRun {
                    at: r.get(0)?,
                    trigger: r.get(1)?,
                    chunks: r.get::<_, i64>(2)? as u64,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok((runs, total as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_kept_per_channel_newest_first_in_pages() {
        let d = tempfile::tempdir().unwrap();
        let db = Db::open(&d.path().join("t.db")).unwrap();
        let (a, b) = (db.runs("a"), db.runs("b"));
        for (at, trigger) in [(10, "start"), (20, "manual"), (30, "schedule")] {
            a.record(&GenerationRun {
                at,
                trigger: trigger.into(),
                chunks: 4,
            })
            .unwrap();
        }
        b.record(&GenerationRun {
            at: 15,
            trigger: "manual".into(),
            chunks: 1,
        })
        .unwrap();
        let (page, total) = a.page(0, 2).unwrap();
        assert_eq!(total, 3);
        assert_eq!(
            page.iter().map(|r| r.trigger.as_str()).collect::<Vec<_>>(),
            ["schedule", "manual"]
        );
        let (rest, _) = a.page(2, 2).unwrap();
        assert_eq!(
            rest,
            [GenerationRun {
                at: 10,
                trigger: "start".into(),
                chunks: 4
            }]
        );
        assert_eq!(b.page(0, 10).unwrap().1, 1);
    }
}
