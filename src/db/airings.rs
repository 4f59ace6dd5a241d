//! Chunk airings: the airing columns of `chunks` (times aired, last airing) and
//! the airing clock and counter in `meta`.
//!
//! The playout decides what airs while the engine pulls clips, under its lock, so
//! it must never wait on SQLite (a library rescan holds the connection for its whole
//! reconcile). It keeps every value it needs in memory and hands each airing, or
//! the undoing of one, to the [`AiringWriter`]: one thread that writes them in
//! order, each as soon as it arrives (a kill -9 loses at most the last
//! milliseconds' worth).

use rusqlite::params;
use tokio::sync::{mpsc, watch};

use super::{Db, DbError, meta};

/// The meta key (per channel) of the airing clock: one tick per chunk airing, so
/// the airing order survives wall-clock changes. Each channel has its own: its
/// playout counts in memory from the value it loaded.
const CLOCK: &str = "airing_clock";

/// Chunk airings.
#[derive(Clone)]
pub struct AiringStore {
    db: Db,
    /// Whose `chunks_aired` counter each airing moves.
    channel: std::sync::Arc<str>,
}

impl Db {
    /// The airings of `channel`'s chunks (the airing clock is shared: it only
    /// orders airings).
    pub fn airings(&self, channel: &str) -> AiringStore {
        AiringStore {
            db: self.clone(),
            channel: channel.into(),
        }
    }
}

/// One change of a chunk's airing record.
#[derive(Clone, Debug, PartialEq)]
pub enum AiringWrite {
    /// `chunk` started airing, at airing clock `clock` and Unix time `at`.
    Aired {
        /// The chunk.
        chunk: String,
        /// The airing clock's new value.
        clock: i64,
        /// Unix seconds.
        at: i64,
    },
    /// `chunk`'s last airing is taken back (a recue before any of it aired): its
    /// values from before it.
    Undone {
        /// The chunk.
        chunk: String,
        /// Airing clock of the airing before.
        last_aired: Option<i64>,
        /// Unix time of the airing before.
        last_aired_at: Option<i64>,
    },
}

impl AiringStore {
    /// The airing clock's value: the clock of the latest airing recorded.
    pub fn clock(&self) -> Result<i64, DbError> {
        Ok(
            meta::get(&self.db.conn(), &meta::scoped(&self.channel, CLOCK))?
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
        )
    }

    /// Writes one change, in one transaction.
    pub fn write(&self, w: &AiringWrite) -> Result<(), DbError> {
        self.db.transaction(|tx| {
            match w {
                AiringWrite::Aired { chunk, clock, at } => {
                    tx.prepare_cached(
                        "UPDATE chunks SET times_aired = times_aired + 1, last_aired = ?2,
                             last_aired_at = ?3
                         WHERE id = ?1",
                    )?
                    .execute(params![chunk, clock, at])?;
                    meta::set_meta(tx, &meta::scoped(&self.channel, CLOCK), &clock.to_string())?;
                    meta::bump(tx, &meta::scoped(&self.channel, "chunks_aired"), 1)?;
                }
                AiringWrite::Undone {
                    chunk,
                    last_aired,
                    last_aired_at,
                } => {
                    tx.prepare_cached(
                        "UPDATE chunks SET times_aired = max(times_aired - 1, 0), last_aired = ?2,
                             last_aired_at = ?3
                         WHERE id = ?1",
                    )?
                    .execute(params![chunk, last_aired, last_aired_at])?;
                    meta::bump(tx, &meta::scoped(&self.channel, "chunks_aired"), -1)?;
                }
            }
            Ok(())
        })
    }
}

enum Message {
    Write(AiringWrite),
    /// Answered once everything sent before is written.
    Flush(std::sync::mpsc::SyncSender<()>),
    /// Write what was sent before, then stop.
    Close,
}

/// The one writer of airings: a thread that writes each change handed to it, in
/// order. Sending never waits.
pub struct AiringWriter {
    tx: mpsc::UnboundedSender<Message>,
    finished: watch::Receiver<bool>,
}

impl AiringWriter {
    /// Starts the writer thread.
    pub fn start(store: AiringStore) -> AiringWriter {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let (done, finished) = watch::channel(false);
        std::thread::Builder::new()
            .name("airings".into())
            .spawn(move || {
                // A thread of its own rather than the blocking pool: it lives as long
                // as the playout, and it works without a runtime (unit tests).
                while let Some(m) = rx.blocking_recv() {
                    match m {
                        Message::Write(w) => {
                            if let Err(e) = store.write(&w) {
                                // The stream matters more than the bookkeeping.
                                tracing::error!(error = %e, write = ?w, "cannot record a chunk's airing");
                            }
                        }
                        Message::Flush(answer) => {
                            let _ = answer.send(());
                        }
                        Message::Close => break,
                    }
                }
                let _ = done.send(true);
            })
            .expect("a thread can be started");
        AiringWriter { tx, finished }
    }

    /// Hands `w` to the writer.
    pub fn send(&self, w: AiringWrite) {
        if let Err(e) = self.tx.send(Message::Write(w)) {
            tracing::warn!(write = ?e.0.written(), "airing after the writer stopped: not recorded");
        }
    }

    /// Blocks until everything sent so far is written (tests, and readers of the
    /// database that must see the latest airings).
    pub fn flush(&self) {
        let (answer, written) = std::sync::mpsc::sync_channel(1);
        if self.tx.send(Message::Flush(answer)).is_ok() {
            let _ = written.recv();
        }
    }

    /// Writes everything sent so far, then stops the writer; later sends are logged
    /// and dropped. For the shutdown, once the engine has stopped.
    pub async fn close(&self) {
        let _ = self.tx.send(Message::Close);
        let mut finished = self.finished.clone();
        // An error: the thread is gone already (it cannot panic, but then it has
        // nothing more to write either).
        let _ = finished.wait_for(|f| *f).await;
    }
}

impl Message {
    fn written(&self) -> Option<&AiringWrite> {
        match self {
            Message::Write(w) => Some(w),
            _ => None,
        }
    }
}
