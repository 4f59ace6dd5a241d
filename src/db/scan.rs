//! What a folder scan writes: the file columns the `videos` and `tracks` tables
//! share (path, size, modification time, present), changed in one transaction per
//! scan. The rules (what is a rename, what a changed file resets) are
//! `library::scan::reconcile`'s.

use std::path::Path;

use rusqlite::{Transaction, params};

use super::{Db, DbError, ranges};

/// Which table a scan reconciles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table<'a> {
    /// Source videos (shared by every channel).
    Videos,
    /// The music tracks of a channel.
    Tracks(&'a str),
}

/// The file columns of a row.
#[derive(Clone, Debug)]
pub struct FileRow {
    /// Row id.
    pub id: i64,
    /// The file, as recorded (UTF-8: the walk keeps no other).
    pub path: String,
    /// Size, bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
    /// Whether the file was there at the last scan.
    pub present: bool,
}

/// Each statement of a scan, per table (the table name cannot be a parameter).
struct Sql {
    rows: &'static str,
    back: &'static str,
    changed: &'static str,
    renamed: &'static str,
    forget_path: &'static str,
    insert: &'static str,
    missing: &'static str,
}

const VIDEOS: Sql = Sql {
    rows: "SELECT id, path, size, mtime_ns, present FROM videos",
    back: "UPDATE videos SET present = 1 WHERE id = ?1",
    // A changed video is probed again.
    changed: "UPDATE videos SET size = ?2, mtime_ns = ?3, present = 1, probe = NULL,
                  duration = NULL, error = NULL WHERE id = ?1",
    renamed: "UPDATE videos SET path = ?2 WHERE id = ?1",
    forget_path: "DELETE FROM videos WHERE path = ?1",
    insert: "INSERT INTO videos (path, size, mtime_ns, added_at) VALUES (?1, ?2, ?3, ?4)",
    missing: "UPDATE videos SET present = 0 WHERE id = ?1",
};

// Each channel has its tracks: the statements that do not name a row by id take the
// channel as their last parameter.
const TRACKS: Sql = Sql {
    rows: "SELECT id, path, size, mtime_ns, present FROM tracks WHERE channel = ?1",
    back: "UPDATE tracks SET present = 1 WHERE id = ?1",
    changed: "UPDATE tracks SET size = ?2, mtime_ns = ?3, present = 1, error = NULL WHERE id = ?1",
    renamed: "UPDATE tracks SET path = ?2 WHERE id = ?1",
    forget_path: "DELETE FROM tracks WHERE path = ?1 AND channel = ?2",
    insert: "INSERT INTO tracks (path, size, mtime_ns, added_at, channel) VALUES (?1, ?2, ?3, ?4, ?5)",
    missing: "UPDATE tracks SET present = 0 WHERE id = ?1",
};

/// One scan's transaction on one table.
pub struct ScanTx<'c> {
    tx: Transaction<'c>,
    table: Table<'c>,
    sql: &'static Sql,
}

/// Runs `f` on `table` in one transaction, committed when it returns `Ok`.
pub(super) fn run<'t, R>(
    db: &Db,
    table: Table<'t>,
    f: impl for<'c> FnOnce(&ScanTx<'c>) -> Result<R, DbError>,
) -> Result<R, DbError> {
    let mut c = db.conn();
    let tx = ScanTx {
        tx: c.transaction()?,
        table,
        sql: match table {
            Table::Videos => &VIDEOS,
            Table::Tracks(_) => &TRACKS,
        },
    };
    let r = f(&tx)?;
    tx.tx.commit()?;
    Ok(r)
}

impl ScanTx<'_> {
    /// The table being reconciled.
    pub fn table(&self) -> Table<'_> {
        self.table
    }

    /// Every row, present or not.
    pub fn rows(&self) -> Result<Vec<FileRow>, DbError> {
        let mut st = self.tx.prepare_cached(self.sql.rows)?;
        let channel: Vec<&str> = self.channel().into_iter().collect();
        let v = st
            .query_map(rusqlite::params_from_iter(channel), |r| {
                Ok(FileRow {
                    id: r.get(0)?,
                    path: r.get(1)?,
                    size: r.get::<_, i64>(2)? as u64,
                    mtime_ns: r.get(3)?,
                    present: r.get(4)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(v)
    }

    /// Row `id`'s file is there again, unchanged.
    pub fn back(&self, id: i64) -> Result<(), DbError> {
        self.exec(self.sql.back, params![id])
    }

    /// Row `id`'s file changed: new size and time, present, and its probe (for a
    /// video) or its error forgotten.
    pub fn changed(&self, id: i64, size: u64, mtime_ns: i64) -> Result<(), DbError> {
        self.exec(self.sql.changed, params![id, size as i64, mtime_ns])
    }

    /// Forgets the used ranges of video `id`.
    pub fn clear_ranges(&self, id: i64) -> Result<(), DbError> {
        ranges::clear(&self.tx, id)
    }

    /// Row `id`'s file is now at `path`.
    pub fn renamed(&self, id: i64, path: &Path) -> Result<(), DbError> {
        self.exec(self.sql.renamed, params![id, path.to_str()])
    }

    /// A new row for the file at `path`, replacing any row that still holds the
    /// path (a removed file that comes back different).
    pub fn add(&self, path: &Path, size: u64, mtime_ns: i64, now: i64) -> Result<(), DbError> {
        match self.channel() {
            None => {
                self.exec(self.sql.forget_path, params![path.to_str()])?;
                self.exec(
                    self.sql.insert,
                    params![path.to_str(), size as i64, mtime_ns, now],
                )
            }
            Some(ch) => {
                self.exec(self.sql.forget_path, params![path.to_str(), ch])?;
                self.exec(
                    self.sql.insert,
                    params![path.to_str(), size as i64, mtime_ns, now, ch],
                )
            }
        }
    }

    /// The channel whose tracks are reconciled; none for the shared videos.
    fn channel(&self) -> Option<&str> {
        match self.table {
            Table::Videos => None,
            Table::Tracks(ch) => Some(ch),
        }
    }

    /// Row `id`'s file is not there (removed, or its folder unreachable); its
    /// history stays.
    pub fn missing(&self, id: i64) -> Result<(), DbError> {
        self.exec(self.sql.missing, params![id])
    }

    fn exec(&self, sql: &str, p: impl rusqlite::Params) -> Result<(), DbError> {
        self.tx.prepare_cached(sql)?.execute(p)?;
        Ok(())
    }
}
