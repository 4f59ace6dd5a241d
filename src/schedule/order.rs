//! The playout's order: which chunk airs next, which re-run gives way to fresh
//! clips, what to air when the engine is about to run dry, and which chunks to
//! evict. Memory only: [`super::Playout`] holds it under its lock and records
//! what it decides.
//!
//! The rules, in order (see [`State::pick_next`]):
//! 1. an operator's pick (`queued`);
//! 2. a complete chunk never aired, oldest first;
//! 3. a chunk still being made whose clips not yet aired reach [`LEAD_CLIPS`]: it
//!    airs as it is made, so a channel whose encoders keep up airs nothing twice;
//! 4. with nothing else complete (a fresh start, a restart mid-chunk), a chunk still
//!    being made, however little of it exists;
//! 5. the complete chunk aired longest ago, not the same one twice in a row.
//!
//! A re-run gives way at its next clip to fresh clips that are ready (rules 2 and
//! 3), and a chunk airing as it is made gives way to a re-run when the engine is
//! about to run out ([`State::hurry`]): its clips not yet aired stay fresh, and its
//! next first airing starts after those that aired.

use std::collections::HashSet;

use super::chunk::Chunk;

/// Clips made and not yet aired that a chunk still being made needs before it
/// airs instead of a re-run (rule 3): the engine loads two ahead, so with two
/// the generator has a clip's length of air to make the next.
pub const LEAD_CLIPS: usize = 2;

/// The playout order.
#[derive(Clone, Default)]
pub(super) struct State {
    pub(super) chunks: Vec<Chunk>,
    /// Chunk being fed to the engine and the index of its next clip.
    pub(super) cursor: Option<(String, usize)>,
    /// The chunk before: its last clips may still be on air (the engine loads ahead).
    pub(super) previous: Option<String>,
    /// A chunk an operator asked to air next.
    pub(super) queued: Option<String>,
    /// The cursor's chunk aired before: it gives way to fresh clips at a clip.
    pub(super) rerun: bool,
    /// The cursor's clips from this index on air for the first time.
    pub(super) fresh_from: usize,
    /// Air handed to the engine, fresh and again.
    pub(super) tally: AirTally,
    /// Bumped when clips already pulled are taken back (see `recue`).
    pub(super) cue: u64,
    /// How to undo the last move to a new chunk, while none of it has aired.
    pub(super) crossing: Option<Crossing>,
    /// The airing clock: one tick per chunk airing (loaded at start; the writer
    /// persists each tick).
    pub(super) clock: i64,
}

/// Seconds of clips handed to the engine since start: those airing for the first
/// time, and those airing again (re-runs, and what is made of a chunk aired again
/// while its next clip is being made).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct AirTally {
    /// Aired for the first time.
    pub fresh_secs: f64,
    /// Aired again.
    pub rerun_secs: f64,
}

impl AirTally {
    /// The share of the air that was fresh (1 before anything aired).
    pub fn fresh_share(&self) -> f64 {
        let total = self.fresh_secs + self.rerun_secs;
        if total > 0.0 {
            self.fresh_secs / total
        } else {
            1.0
        }
    }
}

/// The state before the engine pulled the first clip of a new chunk.
#[derive(Clone, Debug)]
pub(super) struct Crossing {
    pub(super) chunk: String,
    pub(super) last_aired: Option<i64>,
    pub(super) last_aired_at: Option<i64>,
    pub(super) resume_at: usize,
    pub(super) cursor: Option<(String, usize)>,
    pub(super) previous: Option<String>,
    pub(super) rerun: bool,
    pub(super) fresh_from: usize,
}

/// An airing undone (see [`State::hurry`]): what the record goes back to.
pub(super) struct Undone {
    pub(super) chunk: String,
    pub(super) last_aired: Option<i64>,
    pub(super) last_aired_at: Option<i64>,
}

/// What [`State::hurry`] did.
pub(super) enum Hurried {
    /// Nothing is missing: the cursor's next clip is there (or the next chunk).
    Ready,
    /// Nothing else can air.
    Nothing,
    /// The cursor went back to the first clip of its chunk (nothing else is made).
    Rewound,
    /// The chunk being made was left for a re-run; its airing was undone when it
    /// was its first.
    Left(Option<Undone>),
}

impl State {
    /// Takes out the chunks to evict while there are more than `max` or they take
    /// more than `budget` bytes (see [`super::Playout::evict`]).
    pub(super) fn evictions(&mut self, max: usize, budget: Option<u64>) -> Vec<Chunk> {
        let spared: HashSet<String> = self
            .cursor
            .iter()
            .map(|c| c.0.clone())
            .chain(self.previous.clone())
            .chain(self.queued.clone())
            .collect();
        let mut out = Vec::new();
        loop {
            let total: u64 = self.chunks.iter().map(|c| c.size_bytes).sum();
            let over = self.chunks.len() > max || budget.is_some_and(|b| total > b);
            if !over {
                break;
            }
            let victim = self
                .chunks
                .iter()
                .enumerate()
                .filter(|(_, c)| c.complete && c.times_aired > 0 && !spared.contains(&c.id))
                .min_by_key(|(_, c)| (c.last_aired, std::cmp::Reverse(c.times_aired)))
                .map(|(i, _)| i);
            let Some(i) = victim else { break };
            out.push(self.chunks.remove(i));
        }
        out
    }

    /// The chunk to air after the current one (the rules of the module's header).
    pub(super) fn pick_next(&self) -> Option<usize> {
        if let Some(q) = &self.queued
            && let Some(i) = self
                .chunks
                .iter()
                .position(|c| c.id == *q && c.complete && made(c))
        {
            return Some(i);
        }
        if let Some(i) = self.fresh_pick() {
            return Some(i);
        }
        let current = self.cursor.as_ref().map(|c| c.0.as_str());
        let others_complete = self
            .chunks
            .iter()
            .any(|c| c.complete && !c.held && Some(c.id.as_str()) != current);
        // 4. Nothing else is complete: air a growing chunk as it is made, one never
        //    aired first. After a restart that is the chunk that was airing, again
        //    from its first clip: better than the slate until it is finished.
        if !others_complete
            && let Some(i) = self
                .chunks
                .iter()
                .position(|c| !c.complete && c.times_aired == 0 && ready(c))
                .or_else(|| {
                    self.chunks
                        .iter()
                        .position(|c| !c.complete && ready(c) && Some(c.id.as_str()) != current)
                })
        {
            return Some(i);
        }
        // 5. The least recently aired complete chunk, not the same one twice in a row.
        let rerun = self
            .chunks
            .iter()
            .enumerate()
            .filter(|(_, c)| c.complete && ready(c) && Some(c.id.as_str()) != current)
            .min_by_key(|(_, c)| c.last_aired)
            .map(|(i, _)| i);
        rerun.or_else(|| self.chunks.iter().position(|c| c.complete && ready(c)))
    }

    /// Rules 2 and 3: a chunk never aired whose air is ready (complete, or enough
    /// of it made), the oldest first.
    fn fresh_pick(&self) -> Option<usize> {
        let current = self.cursor.as_ref().map(|c| c.0.as_str());
        self.chunks
            .iter()
            .position(|c| c.complete && c.times_aired == 0 && ready(c))
            .or_else(|| {
                self.chunks.iter().position(|c| {
                    !c.complete
                        && c.times_aired == 0
                        && ready(c)
                        && Some(c.id.as_str()) != current
                        && c.clips.len().saturating_sub(c.resume_at) >= LEAD_CLIPS
                })
            })
    }

    /// The cursor's chunk is a re-run and fresh clips are ready (and no operator's
    /// pick waits): it gives way at its next clip.
    pub(super) fn rerun_gives_way(&self) -> bool {
        self.rerun && self.queued.is_none() && self.fresh_pick().is_some()
    }

    /// The engine is about to run out and waits on the cursor's chunk, still being
    /// made: leave it for a complete chunk (its airing undone when it was its first,
    /// so the clips not yet aired stay fresh and its next airing starts after those
    /// that did), or with nothing complete, air again what is made of it (from two
    /// clips: one clip again is the engine's own fallback).
    pub(super) fn hurry(&mut self) -> Hurried {
        let Some((id, next)) = self.cursor.clone() else {
            return Hurried::Nothing;
        };
        let Some(i) = self.chunks.iter().position(|c| c.id == id) else {
            return Hurried::Nothing;
        };
        let c = &self.chunks[i];
        if c.complete || next < c.clips.len() {
            return Hurried::Ready;
        }
        let others_complete = self
            .chunks
            .iter()
            .any(|c| c.complete && !c.held && made(c) && c.id != id);
        if !others_complete {
            // One clip made: airing it again is the engine's last resort, taken at
            // the switch, after the grace the next clip may still arrive in.
            if next < 2 {
                return Hurried::Nothing;
            }
            self.cursor = Some((id, 0));
            self.fresh_from = self.fresh_from.max(next);
            return Hurried::Rewound;
        }
        // Its first airing is undone; a re-run (a restart's chunk airing again) stays.
        let first = !self.rerun;
        let undo = self.crossing.take().filter(|u| u.chunk == id && first);
        let c = &mut self.chunks[i];
        let undone = undo.map(|u| {
            c.times_aired = c.times_aired.saturating_sub(1);
            c.last_aired = u.last_aired;
            c.last_aired_at = u.last_aired_at;
            c.resume_at = next;
            Undone {
                chunk: id,
                last_aired: u.last_aired,
                last_aired_at: u.last_aired_at,
            }
        });
        // The move itself is the caller's (it records the airing): the cursor stays
        // so the pick skips this chunk.
        Hurried::Left(undone)
    }
}

/// It has a clip to air.
fn made(c: &Chunk) -> bool {
    !c.clips.is_empty()
}

/// What the rotation may pick; an operator's pick may be a held chunk too.
fn ready(c: &Chunk) -> bool {
    made(c) && !c.held
}
