//! The generator's loop: what to make next (chunks left half built, the ready
//! target, requests, the schedule's slots, test chunks), the jobs making them, the
//! operator's commands, and the eviction of chunks beyond the limits.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use parking_lot::Mutex;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::handle::{
    GeneratorCommand, GeneratorHandle, GeneratorSettings, GeneratorState, GeneratorStatus,
};
use super::shared::{DISK_FULL_RETRY, Inner, Outcome, disk_full_reason};
use crate::clock::SharedClock;
use crate::db::Db;
use crate::engine::audience::Audience;
use crate::library::ChannelLibrary;
use crate::schedule::Playout;
use crate::schedule::pool::EncodePool;
use crate::transcode::Ffmpeg;

/// Makes chunks until cancelled.
pub struct Generator {
    inner: Arc<Inner>,
    commands: mpsc::UnboundedReceiver<GeneratorCommand>,
}

impl Generator {
    /// A generator and the handle to steer it.
    pub fn new(
        ff: Ffmpeg,
        db: Db,
        library: Arc<ChannelLibrary>,
        playout: Arc<Playout>,
        pool: EncodePool,
        settings: GeneratorSettings,
    ) -> (Generator, GeneratorHandle) {
        let rng = match settings.seed {
            Some(s) => StdRng::seed_from_u64(s),
            None => rand::make_rng(),
        };
        let (status, status_rx) = watch::channel(GeneratorStatus::default());
        let (settings_tx, settings) = watch::channel(settings);
        let (tx, rx) = mpsc::unbounded_channel();
        (
            Generator {
                inner: Arc::new(Inner {
                    ff,
                    db,
                    library,
                    playout,
                    pool,
                    settings,
                    rng: Mutex::new(rng),
                    status,
                    in_flight: Mutex::new(Vec::new()),
                    clock: crate::clock::system_clock(),
                    audience: Arc::new(Audience::default()),
                    last_slot: Mutex::new(None),
                }),
                commands: rx,
            },
            GeneratorHandle {
                status: status_rx,
                commands: tx,
                settings: Arc::new(settings_tx),
            },
        )
    }

    /// This generator's channel watched by `audience` (before [`Generator::run`]):
    /// its claim on the shared encoders follows it. Without one nobody watches.
    pub fn with_audience(mut self, audience: Arc<Audience>) -> Generator {
        Arc::get_mut(&mut self.inner)
            .expect("the audience is set before the generator runs")
            .audience = audience;
        self
    }

    /// This generator with its schedule on `clock` (before [`Generator::run`]).
    pub fn with_clock(mut self, clock: SharedClock) -> Generator {
        Arc::get_mut(&mut self.inner)
            .expect("the clock is set before the generator runs")
            .clock = clock;
        self
    }

    /// Makes chunks until cancelled: finishes chunks a previous run left half built,
    /// keeps `ready_target` unaired chunks ready, makes what was requested, and
    /// evicts beyond `max_chunks` and the disk budget.
    pub async fn run(mut self, cancel: CancellationToken) {
        let me = self.inner.clone();
        let mut settings_rx = me.settings.clone();
        let mut run = Run::new(&me, cancel.child_token());
        // Made beside the first clip rather than after it, so checking that clip
        // costs no extra time at a fresh start.
        {
            let me = me.clone();
            tokio::spawn(async move { me.reference().await });
        }
        let mut library = me.library.subscribe();
        me.evict().await;
        // The run every start makes: the ready target, and what was asked before.
        me.record_run("start", me.settings().channel.ready_chunks + run.requested);
        loop {
            let s = me.settings();
            run.start_jobs(&me, &s).await;
            run.log_state();
            run.publish(&me);
            let until_run = run.next_run.map(|t| {
                let secs = (t - me.local_now()).as_seconds_f64().max(0.0);
                Duration::from_secs_f64(secs)
            });
            tokio::select! {
                _ = cancel.cancelled() => break,
                Some(done) = run.jobs.join_next(), if !run.jobs.is_empty() => {
                    if let Ok((id, outcome)) = done {
                        run.job_done(&me, id, outcome).await;
                    }
                }
                // A deadline, not a fresh sleep each turn: every other wake would
                // otherwise restart it.
                _ = tokio::time::sleep_until(run.retry_at.unwrap_or_else(tokio::time::Instant::now)), if run.retry_at.is_some() => {
                    run.retry_at = None;
                    run.unstall();
                }
                _ = library.changed() => {
                    if matches!(run.state, GeneratorState::WaitingForLibrary) {
                        run.state = GeneratorState::Idle;
                    }
                    run.unstall();
                }
                Some(cmd) = self.commands.recv() => run.command(&me, cmd).await,
                _ = tokio::time::sleep(until_run.unwrap_or(Duration::from_secs(3600))), if until_run.is_some() => {
                    run.scheduled(&me, &s);
                }
                Ok(()) = settings_rx.changed() => {
                    let s = settings_rx.borrow_and_update().clone();
                    run.next_run = me.next_run(&s);
                    tracing::info!("generation settings changed");
                    // A lower MAX_CHUNKS or disk budget applies now, not after the next chunk.
                    me.evict().await;
                }
                // A chunk started airing or went away: the unaired count or the
                // number of chunks dropped, so there may be room and need for one.
                _ = me.playout.stock_changed() => {}
            }
        }
        run.jobs_cancel.cancel();
        while run.jobs.join_next().await.is_some() {}
    }
}

/// The generator's loop state between turns.
struct Run {
    /// Chunks asked for beyond the ready target (kept in the database).
    requested: usize,
    /// Chunks left 'building' (by an earlier run, a pause or a stop) to take up first.
    resume: Vec<String>,
    jobs: JoinSet<(String, Outcome)>,
    jobs_cancel: CancellationToken,
    /// The chunks the jobs are making.
    running: Vec<String>,
    state: GeneratorState,
    /// The state last logged, so each change is logged once.
    logged: GeneratorState,
    /// Paused by a full data disk: tried again at this time (every DISK_FULL_RETRY).
    retry_at: Option<tokio::time::Instant>,
    /// The pause was logged: said once, not at every retry, until space returns.
    disk_full_logged: bool,
    next_run: Option<time::OffsetDateTime>,
    /// Test chunks being made, and who waits for each.
    tests: Vec<(String, oneshot::Sender<Result<String, String>>)>,
}

impl Run {
    fn new(me: &Inner, jobs_cancel: CancellationToken) -> Run {
        let requested = me
            .db
            .meta(&me.key("requested_chunks"))
            .ok()
            .flatten()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let resume: Vec<String> = me.playout.building().into_iter().map(|c| c.id).collect();
        if !resume.is_empty() {
            tracing::info!(
                chunks = resume.len(),
                "resuming chunks a previous run left unfinished"
            );
        }
        Run {
            requested,
            resume,
            jobs: JoinSet::new(),
            jobs_cancel,
            running: Vec::new(),
            state: GeneratorState::Idle,
            logged: GeneratorState::Idle,
            retry_at: None,
            disk_full_logged: false,
            next_run: me.next_run(&me.settings()),
            tests: Vec::new(),
        }
    }

    /// A stalled or paused generator tries again (the library changed, the retry
    /// time came).
    fn unstall(&mut self) {
        if matches!(self.state, GeneratorState::Stalled { .. }) {
            self.state = GeneratorState::Idle;
        }
    }

    fn set_requested(&mut self, me: &Inner, n: usize) {
        self.requested = n;
        me.save_requested(n);
    }

    /// Starts jobs while there is demand and room.
    async fn start_jobs(&mut self, me: &Arc<Inner>, s: &GeneratorSettings) {
        let blocked = matches!(
            self.state,
            GeneratorState::Stalled { .. }
                | GeneratorState::WaitingForLibrary
                | GeneratorState::Stopped
        );
        while !blocked && self.running.len() < s.parallel.max(1) {
            let id = match self.resume.pop() {
                Some(id) => id,
                None => match self.new_chunk(me, s).await {
                    Some(id) => id,
                    None => break,
                },
            };
            tracing::info!(chunk = %id, "generating chunk");
            self.running.push(id.clone());
            let (job, cancel) = (me.clone(), self.jobs_cancel.clone());
            self.jobs.spawn(async move {
                // A panicking job must still report, or its slot would stay taken.
                let outcome = AssertUnwindSafe(job.make_chunk(&id, &cancel))
                    .catch_unwind()
                    .await
                    .unwrap_or_else(|_| Outcome::Stalled(format!("the job making {id} crashed")));
                (id, outcome)
            });
            self.state = GeneratorState::Generating;
        }
        if self.running.is_empty() && self.state == GeneratorState::Generating {
            self.state = GeneratorState::Idle;
        }
    }

    /// Begins a new chunk if one is needed (below the ready target, or asked for)
    /// and there is room; `None` when not, or when it cannot (the state says why).
    async fn new_chunk(&mut self, me: &Inner, s: &GeneratorSettings) -> Option<String> {
        let room = me.playout.chunks().len() < s.channel.max_chunks.max(1);
        // Building chunks count as unaired: they will air before re-runs do.
        let below_target = me.playout.unaired() < s.channel.ready_chunks;
        if !room || (!below_target && self.requested == 0) {
            return None;
        }
        // Nothing to cut: say so rather than start a chunk that stays empty.
        // The channel's indexed pick, not a count of the whole library.
        if me.library.pick(&[]).is_ok_and(|v| v.is_none()) {
            self.state = match me.no_video("") {
                Outcome::Stalled(reason) => GeneratorState::Stalled { reason },
                _ => GeneratorState::WaitingForLibrary,
            };
            return None;
        }
        let id = chunk_id();
        let dir = s.chunks_dir.join(&id);
        if let Err(e) = tokio::fs::create_dir_all(&dir).await {
            if crate::transcode::is_disk_full_io(&e) {
                // Not counted as made: the request stays for the retry.
                self.retry_at = Some(tokio::time::Instant::now() + DISK_FULL_RETRY);
                tracing::warn!(error = %e, dir = %dir.display(), "cannot create a chunk folder: the data disk is full");
                self.state = GeneratorState::Stalled {
                    reason: disk_full_reason(s),
                };
            } else {
                tracing::error!(error = %e, dir = %dir.display(), "cannot create chunk folder");
                self.state = GeneratorState::Stalled {
                    reason: format!("cannot create {}: {e}", dir.display()),
                };
            }
            return None;
        }
        if let Err(e) = me.playout.begin_chunk(
            &id,
            dir,
            &s.profile,
            s.encoder.name(),
            s.channel.chunk_duration,
        ) {
            tracing::error!(error = %e, "cannot record a new chunk");
            self.state = GeneratorState::Stalled {
                reason: e.to_string(),
            };
            return None;
        }
        if !below_target {
            self.set_requested(me, self.requested - 1);
        }
        Some(id)
    }

    /// Logs a change of state, once.
    fn log_state(&mut self) {
        if self.state == self.logged {
            return;
        }
        match &self.state {
            GeneratorState::WaitingForLibrary => {
                tracing::info!("generator waiting for the library to find a usable video")
            }
            GeneratorState::Stalled { reason } if self.retry_at.is_some() => {
                if !self.disk_full_logged {
                    self.disk_full_logged = true;
                    tracing::error!(%reason, retry_secs = DISK_FULL_RETRY.as_secs(), "generation paused: it tries again by itself");
                }
            }
            GeneratorState::Stalled { reason } => tracing::error!(
                %reason,
                "generation stalled: it waits for the library to change or a new request"
            ),
            GeneratorState::Stopped => tracing::info!("generation stopped"),
            GeneratorState::Idle | GeneratorState::Generating => {}
        }
        self.logged = self.state.clone();
    }

    /// Tells the status watchers where generation stands.
    fn publish(&self, me: &Inner) {
        me.publish(|st| {
            st.state = self.state.clone();
            st.requested = self.requested;
            st.next_run = self.next_run.and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            });
            st.jobs.retain(|j| self.running.contains(&j.chunk));
        });
    }

    /// A job ended.
    async fn job_done(&mut self, me: &Inner, id: String, outcome: Outcome) {
        self.running.retain(|r| *r != id);
        if let Some(i) = self.tests.iter().position(|(t, _)| *t == id) {
            let (_, reply) = self.tests.swap_remove(i);
            let _ = reply.send(match &outcome {
                Outcome::Done => Ok(id.clone()),
                Outcome::Cancelled => Err(format!(
                    "{id} was stopped before it was finished; it resumes"
                )),
                Outcome::WaitingForLibrary => Err("no usable video to cut".into()),
                Outcome::Stalled(r) | Outcome::DiskFull(r) => Err(r.clone()),
            });
            // A test chunk's failure says nothing of the rotation's chunks.
            if !matches!(outcome, Outcome::DiskFull(_)) {
                return;
            }
        }
        if self.disk_full_logged && !matches!(outcome, Outcome::DiskFull(_) | Outcome::Cancelled) {
            self.disk_full_logged = false;
            tracing::info!("the data disk has room again: generation resumed");
        }
        match outcome {
            Outcome::Done => me.evict().await,
            Outcome::Cancelled => {}
            Outcome::WaitingForLibrary => self.state = GeneratorState::WaitingForLibrary,
            Outcome::Stalled(reason) => {
                self.retry_at = None;
                self.state = GeneratorState::Stalled { reason };
            }
            Outcome::DiskFull(reason) => {
                // The chunk stays 'building' and is taken up again.
                self.resume.push(id);
                self.retry_at = Some(tokio::time::Instant::now() + DISK_FULL_RETRY);
                self.state = GeneratorState::Stalled { reason };
            }
        }
    }

    /// An operator's command.
    async fn command(&mut self, me: &Arc<Inner>, cmd: GeneratorCommand) {
        match cmd {
            GeneratorCommand::Generate(n) => {
                me.record_run("manual", n);
                self.set_requested(me, self.requested + n);
                self.state = GeneratorState::Idle;
            }
            GeneratorCommand::Stop => {
                self.set_requested(me, 0);
                jobs_cancel_restart(&mut self.jobs).await;
                self.resume = me.playout.building().into_iter().map(|c| c.id).collect();
                self.running.clear();
                self.state = GeneratorState::Stopped;
            }
            GeneratorCommand::Restart(reply) => {
                let running = self.running.len();
                jobs_cancel_restart(&mut self.jobs).await;
                let tests = std::mem::take(&mut self.tests);
                *self = Run::new(me, self.jobs_cancel.clone());
                // Whoever waits for a test chunk hears it will resume, not silence.
                for (id, reply) in tests {
                    let _ = reply.send(Err(format!("{id} was stopped by the restart; it resumes")));
                }
                me.evict().await;
                tracing::info!(
                    jobs = running,
                    resumed = self.resume.len(),
                    "generator restarted"
                );
                let _ = reply.send(running);
            }
            GeneratorCommand::TestChunk { channel, reply } => {
                let s = GeneratorSettings {
                    channel: *channel,
                    ..me.settings()
                };
                match self.test_chunk(me, &s).await {
                    Ok(id) => {
                        me.record_run("test", 1);
                        tracing::info!(chunk = %id, "generating a test chunk");
                        self.running.push(id.clone());
                        self.tests.push((id.clone(), reply));
                        let (job, cancel) = (me.clone(), self.jobs_cancel.clone());
                        self.jobs.spawn(async move {
                            let outcome =
                                AssertUnwindSafe(job.make_chunk_as(&id, Some(&s), &cancel))
                                    .catch_unwind()
                                    .await
                                    .unwrap_or_else(|_| {
                                        Outcome::Stalled(format!("the job making {id} crashed"))
                                    });
                            (id, outcome)
                        });
                        self.state = GeneratorState::Generating;
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                }
            }
        }
    }

    /// Begins a test chunk: one clip long, held back from the rotation.
    async fn test_chunk(&mut self, me: &Inner, s: &GeneratorSettings) -> Result<String, String> {
        if me.library.pick(&[]).is_ok_and(|v| v.is_none()) {
            return Err("no usable video to cut".into());
        }
        let id = format!("test-{}", chunk_id());
        let dir = s.chunks_dir.join(&id);
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let target = s.channel.clip_min.min(s.channel.chunk_duration);
        me.playout
            .begin_chunk(&id, dir, &s.profile, s.encoder.name(), target)
            .and_then(|()| me.playout.hold(&id))
            .map_err(|e| e.to_string())?;
        Ok(id)
    }

    /// The schedule's slot came: a run of `chunks_per_run` is asked for.
    fn scheduled(&mut self, me: &Inner, s: &GeneratorSettings) {
        me.record_run("schedule", s.channel.chunks_per_run);
        self.set_requested(me, self.requested + s.channel.chunks_per_run);
        tracing::info!(
            chunks = s.channel.chunks_per_run,
            "scheduled generation run"
        );
        if let Some(slot) = self.next_run {
            me.save_last_run(slot);
        }
        self.next_run = me.next_run(s);
        if self.state == GeneratorState::Stopped {
            self.state = GeneratorState::Idle;
        }
    }
}

/// Stops every running job and waits for it: their chunks stay 'building' and resume.
async fn jobs_cancel_restart(jobs: &mut JoinSet<(String, Outcome)>) {
    jobs.abort_all();
    while jobs.join_next().await.is_some() {}
}

impl Inner {
    /// Now on the generator's clock, in the machine's time zone.
    fn local_now(&self) -> time::OffsetDateTime {
        local_time(self.clock.wall_now())
    }

    /// The next scheduled run after now and after the last one that fired (kept
    /// in the database, so a restart or a clock set back does not fire it again).
    fn next_run(&self, s: &GeneratorSettings) -> Option<time::OffsetDateTime> {
        let last = self
            .db
            .meta(&self.key(LAST_RUN_KEY))
            .ok()
            .flatten()
            .and_then(|v| v.parse::<i64>().ok())
            .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok());
        s.channel
            .schedule
            .as_ref()?
            .next_run(self.local_now(), last)
    }

    fn save_last_run(&self, slot: time::OffsetDateTime) {
        if let Err(e) = self
            .db
            .set_meta(&self.key(LAST_RUN_KEY), &slot.unix_timestamp().to_string())
        {
            tracing::warn!(error = %e, "cannot save the time of the scheduled run");
        }
    }

    fn save_requested(&self, n: usize) {
        if let Err(e) = self
            .db
            .set_meta(&self.key("requested_chunks"), &n.to_string())
        {
            tracing::warn!(error = %e, "cannot save the generation requests");
        }
    }

    /// The `meta` key of this channel's `key`.
    fn key(&self, key: &str) -> String {
        crate::db::meta::scoped(self.library.channel(), key)
    }

    /// Records a generation run in the channel's history: why (`start`,
    /// `manual`, `schedule`) and the chunks it asks for.
    fn record_run(&self, trigger: &str, chunks: usize) {
        let at = self
            .clock
            .wall_now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let run = crate::db::runs::GenerationRun {
            at,
            trigger: trigger.into(),
            chunks: chunks as u64,
        };
        if let Err(e) = self.db.runs(self.library.channel()).record(&run) {
            tracing::warn!(error = %e, "cannot record the generation run");
        }
    }

    /// Drops the chunks beyond `max_chunks` and the disk budget, with their folders.
    async fn evict(&self) {
        let s = self.settings();
        match self
            .playout
            .evict(s.channel.max_chunks, s.channel.disk_budget_bytes())
        {
            Ok(dirs) => {
                for d in dirs {
                    let _ = tokio::fs::remove_dir_all(&d).await;
                }
            }
            Err(e) => tracing::error!(error = %e, "eviction failed"),
        }
    }
}

/// The `meta` key of the last scheduled run that fired (unix seconds).
const LAST_RUN_KEY: &str = "schedule_last_run";

/// `at` in the machine's time zone (TZ, else /etc/localtime; UTC when unknown), so
/// "0 2 * * *" means 2 am where the operator lives. The `time` crate refuses the
/// local offset once the process has threads (always, under tokio); chrono reads
/// the zone itself.
pub(super) fn local_time(at: std::time::SystemTime) -> time::OffsetDateTime {
    let offset = chrono::DateTime::<chrono::Local>::from(at)
        .offset()
        .local_minus_utc();
    let utc = time::OffsetDateTime::from(at);
    time::UtcOffset::from_whole_seconds(offset).map_or(utc, |o| utc.to_offset(o))
}

/// A unique, sortable chunk id.
fn chunk_id() -> String {
    let now = time::OffsetDateTime::now_utc();
    // 32 random bits: channels making chunks in the same second must not collide.
    let n: u32 = rand::rng().random();
    format!(
        "{:04}{:02}{:02}-{:02}{:02}{:02}-{n:08x}",
        now.year(),
        now.month() as u8,
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    )
}
