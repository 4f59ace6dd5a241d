//! What has aired, persisted: hours streamed, chunks made and aired, airtime and
//! plays per source video and per track; and where the stream stopped, so the next
//! run continues it (media sequence, timestamps, discontinuity numbers).
//!
//! The recorder follows the live window: one small transaction per segment.

use std::sync::Arc;

use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::channel::{Live, NowPlaying};
use crate::db::{self, Db, DbError};
use crate::media::Ticks;

/// Where the last run's stream stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Continuity {
    /// Media sequence number of the next segment.
    pub next_seq: u64,
    /// Channel time of the next frame.
    pub next_pts: Ticks,
    /// Discontinuity number of the last segment.
    pub discontinuity_number: u64,
}

/// The continuity point recorded by a previous run, if any.
pub fn continuity(db: &Db) -> Result<Option<Continuity>, DbError> {
    let get = |k: &str| -> Result<Option<u64>, DbError> {
        Ok(db.meta(k)?.and_then(|v| v.parse().ok()))
    };
    match (get("next_seq")?, get("next_pts")?, get("discontinuity_number")?) {
        (Some(next_seq), Some(pts), Some(discontinuity_number)) => Ok(Some(Continuity {
            next_seq,
            next_pts: Ticks(pts),
            discontinuity_number,
        })),
        _ => Ok(None),
    }
}

/// Records every published segment until cancelled.
pub async fn record(db: Db, live: Arc<Live>, cancel: CancellationToken) {
    let mut rx = live.subscribe();
    let mut last: Option<NowPlaying> = None;
    let mut stopping = false;
    while !stopping {
        // On cancel, one last pass records what was published since the last one.
        tokio::select! {
            _ = cancel.cancelled() => stopping = true,
            r = rx.changed() => if r.is_err() { stopping = true },
        }
        if live.stats().segments_published == 0 {
            continue;
        }
        // Segments come every couple of seconds; reading the newest is enough as long
        // as we keep up, and history covers a missed one.
        let newest = live.now_playing();
        let from = last.as_ref().map_or(newest.seq, |l| l.seq + 1);
        if newest.seq < from {
            continue;
        }
        let segments: Vec<NowPlaying> = if newest.seq == from {
            vec![newest]
        } else {
            live.history().into_iter().filter(|n| n.seq >= from).collect()
        };
        for now in segments {
            if let Err(e) = record_segment(&db, last.as_ref(), &now) {
                tracing::warn!(error = %e, "cannot record stats");
            }
            last = Some(now);
        }
    }
}

fn record_segment(db: &Db, prev: Option<&NowPlaying>, now: &NowPlaying) -> Result<(), DbError> {
    let mut c = db.conn();
    let tx = c.transaction()?;
    db::add_real(&tx, "seconds_streamed", now.duration)?;
    if let Some(src) = now.clip.as_ref().and_then(|c| c.source.as_ref()).and_then(|p| p.to_str()) {
        let new_clip = prev
            .and_then(|p| p.clip.as_ref())
            .is_none_or(|p| !Arc::ptr_eq(p, now.clip.as_ref().expect("has a source")));
        tx.execute(
            "UPDATE videos SET airtime = airtime + ?2, plays = plays + ?3 WHERE path = ?1",
            params![src, now.duration, new_clip as i64],
        )?;
    }
    if let Some(track) = &now.track
        && let Some(src) = track.source.as_ref().and_then(|p| p.to_str())
    {
        let new_track = prev
            .and_then(|p| p.track.as_ref())
            .is_none_or(|p| !Arc::ptr_eq(p, track));
        tx.execute(
            "UPDATE tracks SET airtime = airtime + ?2, plays = plays + ?3 WHERE path = ?1",
            params![src, now.duration, new_track as i64],
        )?;
    }
    db::set_meta(&tx, "next_seq", &(now.seq + 1).to_string())?;
    db::set_meta(&tx, "next_pts", &now.end_pts.0.to_string())?;
    db::set_meta(&tx, "discontinuity_number", &now.discontinuity_number.to_string())?;
    tx.commit()?;
    Ok(())
}

/// One row of a top list.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Played {
    /// Title.
    pub title: String,
    /// Creator, for videos.
    pub creator: Option<String>,
    /// Times it went on air.
    pub plays: u64,
    /// Seconds aired.
    pub airtime: f64,
}

/// The persisted stats.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Stats {
    /// Hours of stream published, all runs together.
    pub hours_streamed: f64,
    /// Chunks completed.
    pub chunks_created: u64,
    /// Chunk airings started.
    pub chunks_aired: u64,
    /// Source videos by airtime, most first.
    pub top_videos: Vec<Played>,
    /// Tracks by airtime, most first.
    pub top_tracks: Vec<Played>,
    /// Plays per creator, most first.
    pub top_creators: Vec<Played>,
}

/// Reads the stats, with the `top` first entries of each list.
pub fn read(db: &Db, top: usize) -> Result<Stats, DbError> {
    let c = db.conn();
    let meta = |k: &str| -> Result<Option<String>, DbError> {
        Ok(c.query_row("SELECT value FROM meta WHERE key = ?1", [k], |r| r.get(0))
            .optional()?)
    };
    let num = |k: &str| -> Result<f64, DbError> { Ok(meta(k)?.and_then(|v| v.parse().ok()).unwrap_or(0.0)) };
    let list = |sql: &str| -> Result<Vec<Played>, DbError> {
        let mut st = c.prepare(sql)?;
        let v = st
            .query_map([top as i64], |r| {
                Ok(Played {
                    title: r.get(0)?,
                    creator: r.get(1)?,
                    plays: r.get::<_, i64>(2)? as u64,
                    airtime: r.get(3)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(v)
    };
    Ok(Stats {
        hours_streamed: num("seconds_streamed")? / 3600.0,
        chunks_created: num("chunks_created")? as u64,
        chunks_aired: num("chunks_aired")? as u64,
        top_videos: list(
            "SELECT title, creator, plays, airtime FROM videos WHERE airtime > 0
             ORDER BY airtime DESC, id LIMIT ?1",
        )?,
        top_tracks: list(
            "SELECT title, NULL, plays, airtime FROM tracks WHERE airtime > 0
             ORDER BY airtime DESC, id LIMIT ?1",
        )?,
        top_creators: list(
            "SELECT creator, creator, sum(plays), sum(airtime) AS a FROM videos
             WHERE airtime > 0 AND creator IS NOT NULL GROUP BY creator ORDER BY a DESC LIMIT ?1",
        )?,
    })
}
