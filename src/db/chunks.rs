//! The `chunks` and `clips` tables: the playout's chunks (a 'building' one is a
//! generation job that survives a restart) and their encoded clips. The playout
//! keeps a copy in memory; the order and eviction rules are `schedule`'s.

use std::path::PathBuf;
use std::sync::Arc;

use rusqlite::{Connection, params};

use super::{Db, DbError, meta};
use crate::clip::{ClipInfo, ClipRef};

/// The playout's chunks and clips.
#[derive(Clone)]
pub struct ChunkStore {
    db: Db,
    channel: Arc<str>,
}

impl Db {
    /// The chunks and clips of `channel`'s playout.
    pub fn chunks(&self, channel: &str) -> ChunkStore {
        ChunkStore {
            db: self.clone(),
            channel: channel.into(),
        }
    }
}

/// A row of the `chunks` table.
#[derive(Clone, Debug, PartialEq)]
pub struct ChunkRow {
    /// Unique, sortable id.
    pub id: String,
    /// All its clips are encoded ('ready'), or it is still 'building'.
    pub complete: bool,
    /// The splice key of the output it was made for.
    pub profile: String,
    /// Times it started airing.
    pub times_aired: u32,
    /// Airing clock of its last airing.
    pub last_aired: Option<i64>,
    /// When it last started airing, Unix seconds.
    pub last_aired_at: Option<i64>,
    /// When it was created, Unix seconds.
    pub created_at: i64,
    /// The encoder of its clips.
    pub encoder: String,
    /// Seconds of video it is made to.
    pub target_secs: f64,
    /// Held back from the rotation (a test chunk).
    pub held: bool,
}

/// A row of the `clips` table.
#[derive(Clone, Debug)]
pub struct ClipRow {
    /// Its place in the chunk.
    pub idx: usize,
    /// Its file's name in the chunk's folder.
    pub file: String,
    /// What was recorded (its `picture` is the playout's to find).
    pub info: ClipInfo,
}

impl ChunkStore {
    /// Every chunk in id order, with its clips in order, read in one transaction.
    pub fn all(&self) -> Result<Vec<(ChunkRow, Vec<ClipRow>)>, DbError> {
        self.db.transaction(|tx| {
            let rows: Vec<ChunkRow> = {
                let mut st = tx.prepare_cached(
                    "SELECT id, state, profile, times_aired, last_aired, last_aired_at,
                            created_at, encoder, target_secs, held
                     FROM chunks WHERE channel = ?1 ORDER BY id",
                )?;
                st.query_map([&*self.channel], |r| {
                    Ok(ChunkRow {
                        id: r.get(0)?,
                        complete: r.get::<_, String>(1)? == "ready",
                        profile: r.get(2)?,
                        times_aired: r.get::<_, i64>(3)?.max(0) as u32,
                        last_aired: r.get(4)?,
                        last_aired_at: r.get(5)?,
                        created_at: r.get(6)?,
                        encoder: r.get(7)?,
                        target_secs: r.get(8)?,
                        held: r.get(9)?,
                    })
                })?
                .collect::<Result<_, _>>()?
            };
            rows.into_iter()
                .map(|row| {
                    let clips = clips_of(tx, &row.id)?;
                    Ok((row, clips))
                })
                .collect()
        })
    }

    /// Records a new chunk, 'building'.
    pub fn begin(
        &self,
        id: &str,
        profile: &str,
        encoder: &str,
        target_secs: f64,
        created_at: i64,
    ) -> Result<(), DbError> {
        self.db.conn().execute(
            "INSERT INTO chunks (id, channel, state, profile, encoder, target_secs, created_at)
             VALUES (?1, ?6, 'building', ?2, ?3, ?4, ?5)",
            params![
                id,
                profile,
                encoder,
                target_secs,
                created_at,
                &*self.channel
            ],
        )?;
        Ok(())
    }

    /// Records clip `idx` of `chunk`: its file's name and its description.
    pub fn add_clip(&self, chunk: &str, idx: usize, clip: &ClipRef) -> Result<(), DbError> {
        let file = clip
            .path
            .file_name()
            .and_then(|f| f.to_str())
            .unwrap_or_default();
        let rec = &clip.info;
        self.db.conn().execute(
            "INSERT INTO clips (chunk_id, idx, file, video_id, source, title, creator, start,
                                duration, size_bytes, encoder, rungs)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                chunk,
                idx as i64,
                file,
                rec.video_id,
                rec.source.as_ref().and_then(|p| p.to_str()),
                rec.title,
                rec.creator,
                rec.source_start,
                rec.duration,
                rec.size_bytes as i64,
                rec.encoder,
                rungs_text(&rec.rungs)
            ],
        )?;
        Ok(())
    }

    /// Marks `chunk` 'ready' and counts it as made, in one transaction.
    pub fn complete(&self, chunk: &str, ready_at: i64) -> Result<(), DbError> {
        self.db.transaction(|tx| {
            tx.execute(
                "UPDATE chunks SET state = 'ready', ready_at = ?2 WHERE id = ?1",
                params![chunk, ready_at],
            )?;
            meta::bump(tx, &meta::scoped(&self.channel, "chunks_created"), 1)?;
            Ok(())
        })
    }

    /// Holds `chunk` back from the rotation.
    pub fn hold(&self, chunk: &str) -> Result<(), DbError> {
        self.db
            .conn()
            .execute("UPDATE chunks SET held = 1 WHERE id = ?1", [chunk])?;
        Ok(())
    }

    /// Deletes chunks and their clips, in one transaction.
    pub fn delete(&self, ids: &[&str]) -> Result<(), DbError> {
        self.db.transaction(|tx| {
            let mut st = tx.prepare_cached("DELETE FROM chunks WHERE id = ?1 AND channel = ?2")?;
            for id in ids {
                st.execute([id, &*self.channel])?;
            }
            Ok(())
        })
    }

    /// The ids of the source videos of `chunk`'s clips, in order.
    pub fn clip_videos(&self, chunk: &str) -> Result<Vec<i64>, DbError> {
        let c = self.db.conn();
        let mut st = c.prepare_cached(
            "SELECT video_id FROM clips WHERE chunk_id = ?1 AND video_id IS NOT NULL ORDER BY idx",
        )?;
        let v = st
            .query_map([chunk], |r| r.get(0))?
            .collect::<Result<Vec<i64>, _>>()?;
        Ok(v)
    }
}

fn clips_of(c: &Connection, chunk: &str) -> Result<Vec<ClipRow>, DbError> {
    let mut st = c.prepare_cached(
        "SELECT idx, file, video_id, source, title, creator, start, duration, size_bytes, encoder,
                rungs
         FROM clips WHERE chunk_id = ?1 ORDER BY idx",
    )?;
    let v = st
        .query_map([chunk], |r| {
            let idx = r.get::<_, i64>(0)?.max(0) as usize;
            Ok(ClipRow {
                idx,
                file: r.get(1)?,
                info: ClipInfo {
                    id: format!("{chunk}/{idx}"),
                    chunk: Some(chunk.to_string()),
                    video_id: r.get(2)?,
                    source: r.get::<_, Option<String>>(3)?.map(PathBuf::from),
                    title: r.get(4)?,
                    creator: r.get(5)?,
                    source_start: r.get(6)?,
                    duration: r.get(7)?,
                    size_bytes: r.get::<_, i64>(8)?.max(0) as u64,
                    encoder: r.get(9)?,
                    rungs: rungs_of(&r.get::<_, String>(10)?),
                    picture: None,
                },
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(v)
}

/// The `rungs` column: heights, comma-separated.
fn rungs_text(rungs: &[u32]) -> String {
    rungs
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// Reads the `rungs` column; what is not a height is skipped.
fn rungs_of(text: &str) -> Vec<u32> {
    text.split(',')
        .filter_map(|h| h.trim().parse().ok())
        .collect()
}

/// `channel`'s chunks still being built that hold a clip (they can air), on a
/// connection already held.
pub(super) fn building_with_clips(c: &Connection, channel: &str) -> Result<u64, DbError> {
    let n: i64 = c.query_row(
        "SELECT count(*) FROM chunks WHERE state = 'building' AND channel = ?1
         AND EXISTS (SELECT 1 FROM clips WHERE clips.chunk_id = chunks.id)",
        [channel],
        |r| r.get(0),
    )?;
    Ok(n as u64)
}
