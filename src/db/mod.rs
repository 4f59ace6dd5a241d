//! The embedded database: everything that must survive a restart (the library and
//! its LRU, used ranges, chunks and their airings, music plays, stats, stream
//! continuity, settings).
//!
//! One SQLite file in the data folder, opened in WAL mode; the schema is versioned by
//! the migrations under `src/db/migrations/`, applied at open. This module is the
//! only one that speaks SQL (a test in `src/lib.rs` keeps it so): one store per
//! subject, each with typed methods that only read and write, while the rules (the
//! LRU policy, the reconciliation of a scan, eviction) stay with the logic that
//! owns them.
//!
//! - [`library`]: the `videos` table (probe results, the LRU pick, cuts recorded);
//! - [`ranges`]: the used ranges of each video;
//! - [`scan`]: what a folder scan reconciles, for videos and tracks alike;
//! - [`chunks`]: the `chunks` and `clips` tables of the playout;
//! - [`airings`]: chunk airings, written in order by one writer thread so that the
//!   engine never waits on SQLite;
//! - [`music`]: the `tracks` table;
//! - [`stats`]: airtime and counters recorded per segment, and the stats page;
//! - [`continuity`]: where the stream stopped;
//! - [`meta`]: the `meta` key-value table and its counters;
//! - `settings`: the overrides saved through the settings API.
//!
//! Calls are synchronous and short (one indexed query or one small transaction);
//! the few big ones (a library scan) run on a blocking thread. Callers on the
//! engine's path never call them: the playout hands its airings to
//! [`airings::AiringWriter`].

pub mod airings;
pub mod channels;
pub mod chunks;
pub mod continuity;
pub mod library;
pub mod lru;
pub mod meta;
pub mod music;
pub mod ranges;
pub mod runs;
pub mod scan;
pub mod slots;
pub mod stats;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard};
use rusqlite::Connection;
use rusqlite_migration::{M, Migrations};

mod settings;

/// What can go wrong with the database.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The file could not be opened or migrated.
    #[error("database {}: {source}", path.display())]
    Open {
        /// The database file.
        path: PathBuf,
        /// What SQLite or the migration said.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A query failed.
    #[error("database: {0}")]
    Sql(#[from] rusqlite::Error),
}

impl DbError {
    /// SQLite's "database or disk is full": the data disk has no room, which is
    /// not the fault of what was being written.
    pub fn is_disk_full(&self) -> bool {
        matches!(self, DbError::Sql(rusqlite::Error::SqliteFailure(f, _))
            if f.code == rusqlite::ErrorCode::DiskFull)
    }
}

/// The schema, one migration per file, applied in order and never edited once
/// released: a new change is a new file.
fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(include_str!("migrations/001_init.sql")),
        M::up(include_str!("migrations/002_reprobe_colour.sql")),
        M::up(include_str!("migrations/003_channels.sql")),
        M::up(include_str!("migrations/004_generation_runs.sql")),
        M::up(include_str!("migrations/005_tracks_and_test_chunks.sql")),
        M::up(include_str!("migrations/006_airtime_by_day.sql")),
        M::up(include_str!("migrations/007_programme_slots.sql")),
        M::up(include_str!("migrations/008_clip_rungs.sql")),
        M::up(include_str!("migrations/009_used_videos_only.sql")),
    ])
}

/// A handle to the database, cheap to clone.
#[derive(Clone)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
}

impl Db {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Db, DbError> {
        let open_err = |e: Box<dyn std::error::Error + Send + Sync>| DbError::Open {
            path: path.to_path_buf(),
            source: e,
        };
        let mut conn = Connection::open(path).map_err(|e| open_err(e.into()))?;
        Self::setup(&mut conn).map_err(open_err)?;
        Ok(Db {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// A private in-memory database, for tests and benchmarks.
    pub fn in_memory() -> Result<Db, DbError> {
        let mut conn = Connection::open_in_memory()?;
        Self::setup(&mut conn).map_err(|source| DbError::Open {
            path: ":memory:".into(),
            source,
        })?;
        Ok(Db {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    fn setup(conn: &mut Connection) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        // WAL: readers never block the writer; NORMAL sync is durable across a
        // process crash (a power cut may lose the last commits, never corrupt).
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // Room for every statement of a scan, a pick and a cut at once.
        conn.set_prepared_statement_cache_capacity(64);
        migrations().to_latest(conn)?;
        Ok(())
    }

    /// The connection, for one query or transaction. Hold it briefly. Only the
    /// stores use it.
    pub(crate) fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (transactions roll
        // back on drop), and parking_lot's locks do not poison: the next caller goes on.
        self.conn.lock()
    }

    /// Holds the connection as a library rescan does for its whole reconcile: for
    /// tests that show a path never waits on SQLite.
    #[cfg(test)]
    pub(crate) fn hold(&self) -> MutexGuard<'_, Connection> {
        self.conn()
    }

    /// Runs `f` in one transaction, committed when it returns `Ok`.
    fn transaction<R>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<R, DbError>,
    ) -> Result<R, DbError> {
        let mut c = self.conn();
        let tx = c.transaction()?;
        let r = f(&tx)?;
        tx.commit()?;
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::meta::{add_real, bump};
    use super::*;
    use rusqlite_migration::{M, Migrations};

    #[test]
    fn migrations_are_valid() {
        migrations().validate().unwrap();
    }

    #[test]
    fn probes_without_colour_tags_are_probed_again_and_keep_their_history() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("state.db");
        {
            // A database of the release before: schema 1 only.
            let mut c = Connection::open(&path).unwrap();
            Migrations::new(vec![M::up(include_str!("migrations/001_init.sql"))])
                .to_latest(&mut c)
                .unwrap();
            c.execute_batch(
                r#"INSERT INTO videos (id, path, size, mtime_ns, added_at, probe, duration, last_used, clips_cut)
                       VALUES (1, '/v/old.mp4', 1, 1, 0, '{"duration":9.0,"width":2,"height":2,"fps":25.0,"rotation":0,"interlaced":false}', 9.0, 7, 3);
                   INSERT INTO videos (id, path, size, mtime_ns, added_at, probe, duration)
                       VALUES (2, '/v/new.mp4', 1, 1, 0, '{"duration":9.0,"width":2,"height":2,"fps":25.0,"rotation":0,"interlaced":false,"color":{}}', 9.0);
                   INSERT INTO videos (id, path, size, mtime_ns, added_at, error)
                       VALUES (3, '/v/song.mp4', 1, 1, 0, '/v/song.mp4: not usable: no video stream');"#,
            )
            .unwrap();
        }
        let db = Db::open(&path).unwrap();
        let c = db.conn();
        let row = |id: i64| -> (
            Option<String>,
            Option<f64>,
            Option<String>,
            Option<i64>,
            i64,
        ) {
            c.query_row(
                "SELECT probe, duration, error, last_used, clips_cut FROM videos WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .unwrap()
        };
        assert_eq!(
            row(1),
            (None, None, None, Some(7), 3),
            "probed again, history kept"
        );
        assert!(row(2).0.is_some(), "a probe with colour tags stays");
        assert_eq!(row(3).2, None, "probed again for the reason in words");
    }

    #[test]
    fn a_one_channel_database_becomes_the_classic_channels_state() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("state.db");
        {
            // A database of the one-channel release: schemas 1 and 2.
            let mut c = Connection::open(&path).unwrap();
            Migrations::new(vec![
                M::up(include_str!("migrations/001_init.sql")),
                M::up(include_str!("migrations/002_reprobe_colour.sql")),
            ])
            .to_latest(&mut c)
            .unwrap();
            c.execute_batch(
                r#"INSERT INTO videos (id, path, size, mtime_ns, added_at, probe, duration, last_used, clips_cut, plays, airtime)
                       VALUES (1, '/v/a.mp4', 1, 1, 0, '{"duration":9.0,"width":2,"height":2,"fps":25.0,"rotation":0,"interlaced":false,"color":{}}', 9.0, 7, 3, 2, 12.5),
                              (2, '/v/b.mp4', 1, 1, 0, '{"duration":9.0,"width":2,"height":2,"fps":25.0,"rotation":0,"interlaced":false,"color":{}}', 9.0, NULL, 0, 0, 0);
                   INSERT INTO video_ranges (video_id, start, end) VALUES (1, 0.0, 4.0);
                   INSERT INTO chunks (id, state, profile, encoder, target_secs, created_at, times_aired)
                       VALUES ('c1', 'ready', 'p', 'libx264', 12.0, 0, 1);
                   INSERT INTO tracks (path, size, mtime_ns, added_at, plays, airtime) VALUES ('/m/t.mp3', 1, 1, 0, 4, 60.0);
                   INSERT INTO meta (key, value) VALUES ('next_seq', '41'), ('next_pts', '900000'),
                       ('discontinuity_number', '2'), ('seconds_streamed', '82.0'), ('chunks_aired', '5'),
                       ('lru_clock', '7'), ('airing_clock', '5');"#,
            )
            .unwrap();
        }
        let db = Db::open(&path).unwrap();
        let main = crate::lineup::CLASSIC;
        let point = db
            .continuity(main)
            .load()
            .unwrap()
            .expect("the continuity point");
        assert_eq!(
            (point.next_seq, point.next_pts.0, point.discontinuity_number),
            (41, 900000, 2)
        );
        assert!(db.continuity("other").load().unwrap().is_none());
        let stats = db.stats(main).read(5).unwrap();
        assert_eq!((stats.seconds_streamed, stats.chunks_aired), (82.0, 5));
        assert_eq!(stats.top_videos[0].plays, 2);
        assert_eq!(stats.top_tracks[0].airtime, 60.0);
        assert_eq!(db.chunks(main).all().unwrap().len(), 1);
        assert!(db.chunks("other").all().unwrap().is_empty());
        assert_eq!(db.ranges().used(main, 1).unwrap().len(), 1);
        assert!(db.ranges().used("other", 1).unwrap().is_empty());
        // The LRU: the classic channel goes on with the never-used video; another
        // channel starts with the first.
        let all = |_: &Path, _: Option<&str>| true;
        let lib = db.library();
        let pick = |channel: &str| {
            let frontier = lru::Frontier::default();
            let v = lib.least_recently_used(channel, &[], &all, &frontier);
            v.unwrap().unwrap().id
        };
        assert_eq!(pick(main), 2);
        assert_eq!(pick("other"), 1);
        assert_eq!(db.music(main).playable().unwrap()[0].plays, 4);
        assert_eq!(
            db.airings(main).clock().unwrap(),
            5,
            "the airing order goes on"
        );
        assert_eq!(db.airings("other").clock().unwrap(), 0);
        assert!(db.music("other").playable().unwrap().is_empty());
    }

    #[test]
    fn meta_and_counters_persist_across_reopen() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("state.db");
        {
            let db = Db::open(&path).unwrap();
            assert_eq!(db.meta("x").unwrap(), None);
            db.set_meta("x", "1").unwrap();
            db.set_meta("x", "2").unwrap();
            let c = db.conn();
            assert_eq!(bump(&c, "clock", 1).unwrap(), 1);
            assert_eq!(bump(&c, "clock", 5).unwrap(), 6);
            add_real(&c, "secs", 1.5).unwrap();
            add_real(&c, "secs", 2.0).unwrap();
        }
        let db = Db::open(&path).unwrap();
        assert_eq!(db.meta("x").unwrap().as_deref(), Some("2"));
        assert_eq!(bump(&db.conn(), "clock", 1).unwrap(), 7);
        assert_eq!(db.meta("secs").unwrap().as_deref(), Some("3.5"));
    }

    #[test]
    fn a_file_that_is_not_a_database_is_a_clear_error() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("state.db");
        std::fs::write(&path, vec![b'x'; 4096]).unwrap();
        let e = Db::open(&path).err().expect("garbage is not a database");
        let msg = e.to_string();
        assert!(msg.contains("state.db"), "{msg}");
    }
}
