//! The chunk generator: keeps never-aired chunks ready ahead of the stream, each a
//! montage of clips cut from the library in strict LRU order (each from a different
//! video, each from a part of its video never used before), encoded once by ffmpeg.
//!
//! A chunk being built is a job recorded in the database: a restart finishes it.
//! Clips are handed to the playout one by one as they finish, so a fresh start goes
//! on air after one clip, not one chunk. A generation that cannot progress (no usable
//! video, every encode failing) stops in a `Stalled` state with the reason and waits
//! for the library to change or an operator to ask again; it never spins.

use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::Arc;

use futures::FutureExt;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::{ClipRecord, Playout};
use crate::clock::SharedClock;
use crate::db::Db;
use crate::engine::{ClipInfo, ClipRef};
use crate::library::{ChannelLibrary, Video};
use crate::media::h264::ParameterSets;
use crate::schedule::pool::EncodePool;
use crate::transcode::{
    ClipRequest, EncodeProgress, Encoder, Ffmpeg, OutputProfile, TranscodeError, WatermarkMode,
};

/// What the generator needs to know.
#[derive(Clone, Debug)]
pub struct GeneratorSettings {
    /// Folder under which each chunk gets its own folder.
    pub chunks_dir: PathBuf,
    /// Folder where the reference parameter sets of the profile and encoder are
    /// cached (every clip is checked against them).
    pub cache_dir: PathBuf,
    /// What clips are encoded to.
    pub profile: OutputProfile,
    /// The video encoder ffmpeg uses.
    pub encoder: Encoder,
    /// Chunks built at the same time.
    pub parallel: usize,
    /// Seed of the clip choices, for reproducible runs; random when `None`.
    pub seed: Option<u64>,
    /// The channel's settings: clip lengths, chunks, look, schedule. Replaced whole
    /// by a live settings change.
    pub channel: crate::settings::Channel,
}

/// Consecutive failed encodes after which a generation stops as stalled, so a
/// library of broken files cannot spin forever.
const MAX_CONSECUTIVE_FAILURES: usize = 8;

/// How often a generator paused by a full data disk tries again (shorter in unit
/// tests, so a test sees it resume soon after it frees space).
const DISK_FULL_RETRY: Duration = if cfg!(test) {
    Duration::from_secs(1)
} else {
    Duration::from_secs(15)
};

/// What the generator is doing, for the API, the UI and tests.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum GeneratorState {
    /// Enough chunks are ready.
    #[default]
    Idle,
    /// Jobs are running.
    Generating,
    /// Waiting for the library to find a usable video.
    WaitingForLibrary,
    /// Cannot make progress; waits for the library to change or a new request.
    Stalled {
        /// Why, in words.
        reason: String,
    },
    /// Stopped by an operator until asked again or the next scheduled run; the
    /// stream goes on re-airing the chunks it has.
    Stopped,
}

/// Progress of one job (one chunk being built).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct JobStatus {
    /// The chunk being built.
    pub chunk: String,
    /// Clips encoded so far.
    pub clips_done: usize,
    /// Seconds of video made so far.
    pub secs_done: f64,
    /// Seconds the chunk will hold.
    pub target_secs: f64,
    /// Percent done, 0–100.
    pub percent: f64,
    /// Encode speed of the current clip (1.0 = real time).
    pub speed: Option<f64>,
    /// Estimated seconds left.
    pub eta_secs: Option<f64>,
    /// Title of the source of the clip being encoded.
    pub current_source: Option<String>,
}

/// The generator's whole status.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GeneratorStatus {
    /// What it is doing.
    pub state: GeneratorState,
    /// Running jobs.
    pub jobs: Vec<JobStatus>,
    /// Chunks asked for (by the schedule or an operator) not started yet.
    pub requested: usize,
    /// Next scheduled run, RFC 3339.
    pub next_run: Option<String>,
    /// Clip encodes that failed since start.
    pub encode_failures: u64,
    /// Clips encoded since start.
    pub clips_encoded: u64,
}

/// Requests to a running generator.
#[derive(Debug)]
pub enum GeneratorCommand {
    /// Make this many chunks beyond the ready target.
    Generate(usize),
    /// Drop pending requests and stop running jobs (their clips so far are kept
    /// and the chunk resumes later).
    Stop,
    /// Start again inside the process: running jobs stop (their chunks resume at
    /// once, nothing made is lost), a stall or a stop is forgotten, and the
    /// requests, the schedule and the chunks left unfinished are read again.
    /// Answers with the number of jobs that were running.
    Restart(oneshot::Sender<usize>),
    /// Make one short chunk (one clip) with these channel settings, held back from
    /// the rotation (it airs when an operator plays it): a look tried before it is
    /// saved. Answers with the chunk's id once it is made, or why not.
    TestChunk {
        /// The settings to make it with.
        channel: Box<crate::settings::Channel>,
        /// The outcome.
        reply: oneshot::Sender<Result<String, String>>,
    },
}

/// A handle to a running generator.
#[derive(Clone)]
pub struct GeneratorHandle {
    status: watch::Receiver<GeneratorStatus>,
    commands: mpsc::UnboundedSender<GeneratorCommand>,
    settings: Arc<watch::Sender<GeneratorSettings>>,
}

impl GeneratorHandle {
    /// The current status.
    pub fn status(&self) -> GeneratorStatus {
        self.status.borrow().clone()
    }

    /// Status changes, for server-sent events.
    pub fn subscribe(&self) -> watch::Receiver<GeneratorStatus> {
        self.status.clone()
    }

    /// The settings in force.
    pub fn settings(&self) -> GeneratorSettings {
        self.settings.borrow().clone()
    }

    /// Changes settings live: the next clip, chunk and eviction use them.
    pub fn update_settings(&self, f: impl FnOnce(&mut GeneratorSettings)) {
        self.settings.send_modify(f);
    }

    /// Sends a command; false when the generator has stopped.
    pub fn send(&self, cmd: GeneratorCommand) -> bool {
        self.commands.send(cmd).is_ok()
    }
}

/// Makes chunks until cancelled.
pub struct Generator {
    inner: Arc<Inner>,
    commands: mpsc::UnboundedReceiver<GeneratorCommand>,
}

struct Inner {
    ff: Ffmpeg,
    db: Db,
    library: Arc<ChannelLibrary>,
    playout: Arc<Playout>,
    /// The encode slots every channel shares.
    pool: EncodePool,
    /// Changed live by the settings API; each job and loop turn reads the latest.
    settings: watch::Receiver<GeneratorSettings>,
    rng: Mutex<StdRng>,
    status: watch::Sender<GeneratorStatus>,
    /// Videos a running job is cutting: other jobs leave them alone, since their
    /// ranges and LRU place are recorded only once the clip is encoded.
    in_flight: Mutex<Vec<i64>>,
    /// What the schedule reads the time from.
    clock: SharedClock,
}

/// How a job ended.
enum Outcome {
    Done,
    Stalled(String),
    /// The data disk is full: paused, retried every [`DISK_FULL_RETRY`].
    DiskFull(String),
    WaitingForLibrary,
    Cancelled,
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
    fn publish(&self, f: impl FnOnce(&mut GeneratorStatus)) {
        self.status.send_if_modified(|st| {
            let before = st.clone();
            f(st);
            *st != before
        });
    }

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

    fn settings(&self) -> GeneratorSettings {
        self.settings.borrow().clone()
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

    /// Builds (or finishes) one chunk.
    async fn make_chunk(&self, id: &str, cancel: &CancellationToken) -> Outcome {
        self.make_chunk_as(id, None, cancel).await
    }

    /// [`Inner::make_chunk`] with settings of its own (a test chunk's) rather than
    /// the channel's.
    async fn make_chunk_as(
        &self,
        id: &str,
        settings: Option<&GeneratorSettings>,
        cancel: &CancellationToken,
    ) -> Outcome {
        let s = settings.cloned().unwrap_or_else(|| self.settings());
        let Some(mut chunk) = self.resume_chunk(id, &s) else {
            return Outcome::Cancelled; // deleted meanwhile
        };
        let outcome = loop {
            if chunk.total + 1e-6 >= chunk.target {
                break Outcome::Done;
            }
            if let Some(stop) = self.make_clip(id, &s, &mut chunk, cancel).await {
                break stop;
            }
        };
        self.finish_chunk(id, &s, &chunk, outcome).await
    }

    /// Where chunk `id` stands (a restart finishes what the last run began).
    fn resume_chunk(&self, id: &str, s: &GeneratorSettings) -> Option<ChunkInProgress> {
        let chunk = self.playout.chunk(id)?;
        let progress = ChunkInProgress {
            // A chunk of the rotation is made to the channel's length as it is now;
            // a test chunk to the one clip it was begun for.
            target: if chunk.held {
                chunk.target_secs
            } else {
                s.channel.chunk_duration
            },
            used: self.playout.clip_videos(id).unwrap_or_default(),
            index: chunk.clips.len(),
            total: chunk.duration,
            dir: chunk.dir,
            failures: 0,
            last_error: String::new(),
        };
        self.update_job(id, |j| {
            j.target_secs = progress.target;
            j.secs_done = progress.total;
            j.clips_done = progress.index;
        });
        Some(progress)
    }

    /// Makes the next clip of a chunk: picks the video, cuts, encodes, and keeps the
    /// clip or says why not. `Some` ends the chunk with that outcome.
    async fn make_clip(
        &self,
        id: &str,
        s: &GeneratorSettings,
        chunk: &mut ChunkInProgress,
        cancel: &CancellationToken,
    ) -> Option<Outcome> {
        // Each clip of a chunk from another video, in LRU order; a library with
        // fewer videos than the chunk has clips repeats, but never back to back.
        let video = match self.pick(&chunk.used) {
            Ok(Some(v)) => v,
            Ok(None) => return Some(self.no_video(&chunk.last_error)),
            Err(e) => return Some(db_failed(s, e)),
        };
        let (cut, want_secs) = match self.plan_cut(s, &video) {
            Ok(c) => c,
            Err(e) => return Some(db_failed(s, e)),
        };
        let _flight = InFlight::new(&self.in_flight, video.id);
        let p = &s.profile;
        let frames = cut.gops * p.gop_frames;
        let file = format!("clip-{:04}.ts", chunk.index);
        let out = chunk.dir.join(&file);
        let picture = super::clip_picture(&out);
        let watermark = watermark_text(s, &video);
        let req = ClipRequest {
            src: &video.path,
            info: &video.info,
            start: cut.start,
            frames,
            profile: p,
            encoder: &s.encoder,
            out: &out,
            look: &s.channel.look(),
            watermark: watermark.as_deref(),
            thumbnail: Some(&picture),
        };
        let t0 = Instant::now();
        let secs = frames as f64 / p.fps as f64;
        // The source as it was when its encode began: a clip of a file replaced
        // or truncated meanwhile is not kept.
        let before = FileStamp::of(&video.path).await;
        let result = tokio::select! {
            _ = cancel.cancelled() => return Some(Outcome::Cancelled),
            r = self.encode(id, &req, &video, chunk.total, secs) => r,
        };
        let after = FileStamp::of(&video.path).await;
        match result {
            Err(e) if e.is_disk_full() => {
                // Nothing wrong with the video (its partial clip is already gone),
                // and nothing of it is used up: the chunk stays 'building' and this
                // clip is made again once there is room.
                tracing::warn!(source = %video.path.display(), error = %e.cause(), "clip encode failed: the data disk is full");
                Some(Outcome::DiskFull(disk_full_reason(s)))
            }
            r if after.is_none() || after != before => {
                let gone = after.is_none();
                self.source_changed(s, &video, &out, r, gone, chunk).await
            }
            Ok(()) => {
                let made = Made {
                    file,
                    out,
                    secs,
                    want_secs,
                    elapsed: t0.elapsed().as_secs_f64(),
                };
                self.keep_clip(id, s, &video, &cut, made, chunk)
            }
            Err(e) => self.clip_failed(&video, e, chunk),
        }
    }

    /// The cut of `video` for the next clip, and the length that was drawn.
    fn plan_cut(
        &self,
        s: &GeneratorSettings,
        video: &Video,
    ) -> Result<(crate::library::ranges::Cut, f64), crate::db::DbError> {
        let ch = &s.channel;
        let gop_secs = s.profile.gop_frames as f64 / s.profile.fps as f64;
        // Fast start: while nothing at all can air, the first clip is one segment.
        let fast = !self.playout.has_clip();
        let mut rng = self.rng.lock();
        let secs = rng.random_range(ch.clip_min..=ch.clip_max.max(ch.clip_min));
        let want = if fast { 1 } else { gops(secs, gop_secs) };
        let min = if fast {
            1
        } else {
            gops(ch.clip_min, gop_secs).min(want)
        };
        let cut = self
            .library
            .plan_clip(video, gop_secs, want, min, &mut *rng)?;
        Ok((cut, secs))
    }

    /// A clip whose source was replaced, truncated or went away (or its whole
    /// folder, a share unmounted) during the encode: not the video's fault. The clip
    /// is dropped; the rescan probes a changed file again (its used ranges cleared)
    /// or marks a gone one missing, with its history kept, rather than setting it
    /// aside as broken.
    async fn source_changed(
        &self,
        s: &GeneratorSettings,
        video: &Video,
        out: &std::path::Path,
        result: Result<(), TranscodeError>,
        gone: bool,
        chunk: &mut ChunkInProgress,
    ) -> Option<Outcome> {
        let _ = tokio::fs::remove_file(out).await;
        let _ = tokio::fs::remove_file(super::clip_picture(out)).await;
        chunk.failures += 1;
        let what = if gone {
            "the source went away during its encode"
        } else {
            "the source changed during its encode"
        };
        chunk.last_error = match &result {
            Ok(()) => what.to_string(),
            Err(e) => format!("{what}: {e}"),
        };
        tracing::warn!(source = %video.path.display(), error = result.err().map(|e| e.to_string()), "{what}: clip dropped, rescanning the library");
        if let Err(e) = self.library.library().rescan().await {
            return Some(db_failed(s, e));
        }
        chunk.too_many_failures()
    }

    /// A clip made: its range is used up, and it joins the chunk (and can air).
    fn keep_clip(
        &self,
        id: &str,
        s: &GeneratorSettings,
        video: &Video,
        cut: &crate::library::ranges::Cut,
        made: Made,
        chunk: &mut ChunkInProgress,
    ) -> Option<Outcome> {
        let gop_secs = s.profile.gop_frames as f64 / s.profile.fps as f64;
        if let Err(e) = self.library.commit_clip(video, cut, gop_secs) {
            return Some(db_failed(s, e));
        }
        self.publish(|st| st.clips_encoded += 1);
        chunk.failures = 0;
        let Made {
            file,
            out,
            secs,
            want_secs,
            elapsed,
        } = made;
        let size = std::fs::metadata(&out).map_or(0, |m| m.len());
        let picture = Some(super::clip_picture(&out)).filter(|p| p.is_file());
        let index = chunk.index;
        tracing::info!(
            chunk = %id, clip = index, source = %video.path.display(), start = format!("{:.1}", cut.start),
            secs, want = format!("{want_secs:.1}"), speed = format!("{:.2}x", secs / elapsed.max(1e-3)),
            "clip encoded"
        );
        let info = Arc::new(ClipInfo {
            id: format!("{id}/{index}"),
            source: Some(video.path.clone()),
            title: video.title(),
            creator: video.meta.creator.clone(),
            source_start: cut.start,
            chunk: Some(id.to_string()),
            picture,
            duration: secs,
        });
        let rec = ClipRecord {
            file,
            video_id: Some(video.id),
            source: Some(video.path.clone()),
            title: video.title(),
            creator: video.meta.creator.clone(),
            start: cut.start,
            duration: secs,
            size_bytes: size,
            encoder: s.encoder.name().into(),
        };
        if let Err(e) = self.playout.add_clip(id, ClipRef { path: out, info }, &rec) {
            return Some(db_failed(s, e));
        }
        chunk.used.push(video.id);
        chunk.index += 1;
        chunk.total += secs;
        let (clips_done, secs_done) = (chunk.index, chunk.total);
        self.update_job(id, |j| {
            j.clips_done = clips_done;
            j.secs_done = secs_done;
        });
        None
    }

    /// An encode that failed: the video is set aside until it changes.
    fn clip_failed(
        &self,
        video: &Video,
        e: TranscodeError,
        chunk: &mut ChunkInProgress,
    ) -> Option<Outcome> {
        chunk.failures += 1;
        self.publish(|st| st.encode_failures += 1);
        chunk.last_error = e.to_string();
        tracing::warn!(source = %video.path.display(), error = %e, "clip encode failed: the video is set aside until it changes");
        let reason = match &e {
            TranscodeError::Mismatch { .. } => e.to_string(),
            _ => format!("encode failed: {e}"),
        };
        let _ = self.library.mark_unusable(video.id, &reason);
        chunk.too_many_failures()
    }

    /// Closes a chunk that is done, or stalled with clips worth airing; leaves a
    /// cancelled or paused one 'building' (never ready half made).
    async fn finish_chunk(
        &self,
        id: &str,
        s: &GeneratorSettings,
        chunk: &ChunkInProgress,
        outcome: Outcome,
    ) -> Outcome {
        match outcome {
            Outcome::Cancelled | Outcome::DiskFull(_) => return outcome,
            Outcome::Done | Outcome::Stalled(_) | Outcome::WaitingForLibrary => {}
        }
        match self.playout.complete_chunk(id) {
            Ok(Some(empty)) => {
                let _ = tokio::fs::remove_dir_all(&empty).await;
                tracing::warn!(chunk = %id, "chunk abandoned: no clip could be made");
            }
            Ok(None) => {
                tracing::info!(chunk = %id, clips = chunk.index, secs = chunk.total, "chunk ready");
                self.make_strip(id, &chunk.dir).await;
            }
            Err(e) => return db_failed(s, e),
        }
        outcome
    }

    /// The strip of a chunk just completed, from its clips' pictures. A chunk
    /// without one shows none: a failure is logged, never held against the chunk.
    async fn make_strip(&self, id: &str, dir: &std::path::Path) {
        let pictures: Vec<PathBuf> = self
            .playout
            .chunk(id)
            .map(|c| {
                c.clips
                    .iter()
                    .filter_map(|k| k.info.picture.clone())
                    .collect()
            })
            .unwrap_or_default();
        if pictures.is_empty() {
            return;
        }
        let out = dir.join(super::STRIP_FILE);
        match self.ff.strip(&pictures, &out).await {
            Ok(()) => {
                if !self.playout.set_strip(id, &out) {
                    let _ = tokio::fs::remove_file(&out).await; // deleted meanwhile
                }
            }
            Err(e) => tracing::warn!(chunk = %id, error = %e, "no picture strip for the chunk"),
        }
    }

    /// Why there is no video to cut: still scanning, or nothing usable (and why).
    fn no_video(&self, last_error: &str) -> Outcome {
        let counts = self.library.counts().unwrap_or_default();
        if counts.pending > 0 || counts.present == 0 && counts.unusable == 0 {
            Outcome::WaitingForLibrary
        } else {
            Outcome::Stalled(format!(
                "none of the {} videos is usable (corrupt, unreadable or shorter than {} s); last error: {}",
                counts.present,
                crate::library::MIN_SOURCE_SECS,
                if last_error.is_empty() {
                    "see the library's errors"
                } else {
                    last_error
                }
            ))
        }
    }

    /// The next video for a chunk that already used `used`: the least recently used
    /// one not in the chunk and not being cut by another job; failing that, any but
    /// the last one used; failing that, any.
    fn pick(&self, used: &[i64]) -> Result<Option<Video>, crate::db::DbError> {
        let busy = self.in_flight.lock().clone();
        let last = &used[used.len().saturating_sub(1)..];
        for exclude in [
            [used, &busy].concat(),
            [last, &busy].concat(),
            busy.clone(),
            Vec::new(),
        ] {
            if let Some(v) = self.library.pick(&exclude)? {
                return Ok(Some(v));
            }
        }
        Ok(None)
    }

    /// Encodes one clip, reporting progress to the job's status.
    async fn encode(
        &self,
        id: &str,
        req: &ClipRequest<'_>,
        video: &Video,
        done_before: f64,
        secs: f64,
    ) -> Result<(), crate::transcode::TranscodeError> {
        let (tx, mut rx) = watch::channel(EncodeProgress::default());
        let target = self.settings().channel.chunk_duration;
        let title = video.title();
        self.update_job(id, |j| j.current_source = Some(title));
        let reference = self.reference().await;
        // A slot of the shared pool, for this clip only: the next goes to whichever
        // channel needs it most by then.
        let playout = self.playout.clone();
        let _slot = self
            .pool
            .acquire(Arc::new(move || playout.fresh_secs()))
            .await;
        let encode = async {
            match &reference {
                Some(r) => self.ff.encode_clip_checked(req, &tx, r).await,
                None => self.ff.encode_clip_with_progress(req, &tx).await,
            }
        };
        tokio::pin!(encode);
        let mut last_log = Instant::now();
        loop {
            tokio::select! {
                r = &mut encode => {
                    self.update_job(id, |j| { j.speed = None; j.current_source = None; });
                    return r;
                }
                Ok(()) = rx.changed() => {
                    let p = rx.borrow_and_update().clone();
                    let clip_done = p.out_time.as_secs_f64().min(secs);
                    let done = done_before + clip_done;
                    let eta = p.speed.filter(|s| *s > 0.01).map(|s| (target - done).max(0.0) / s);
                    self.update_job(id, |j| {
                        j.percent = (done / target * 100.0).clamp(0.0, 100.0);
                        j.speed = p.speed;
                        j.eta_secs = eta;
                    });
                    if last_log.elapsed() > Duration::from_secs(15) {
                        last_log = Instant::now();
                        tracing::info!(chunk = %id, percent = format!("{:.0}", done / target * 100.0),
                            speed = p.speed.map(|s| format!("{s:.2}x")), eta_secs = eta.map(|e| e.round() as u64), "generating");
                    }
                }
            }
        }
    }

    /// The reference parameter sets for the current profile and encoder, made once
    /// (and again if the encoder changes).
    async fn reference(&self) -> Option<ParameterSets> {
        let s = self.settings();
        let key = s.profile.key(&s.encoder);
        let mut slot = self.pool.reference().lock().await;
        if let Some((k, r)) = &*slot
            && *k == key
        {
            return r.clone();
        }
        let r = match self
            .ff
            .reference_parameters(&s.profile, &s.encoder, &s.cache_dir)
            .await
        {
            Ok(r) => Some(r),
            // Not cached: tried again once space is freed.
            Err(e) if e.is_disk_full() => {
                tracing::warn!(error = %e, "no reference encode yet: the data disk is full");
                return None;
            }
            Err(e) => {
                tracing::error!(error = %e, "no reference encode: clips are not checked against one");
                None
            }
        };
        *slot = Some((key, r.clone()));
        r
    }

    fn update_job(&self, id: &str, f: impl FnOnce(&mut JobStatus)) {
        self.publish(|st| {
            let i = match st.jobs.iter().position(|j| j.chunk == id) {
                Some(i) => i,
                None => {
                    st.jobs.push(JobStatus {
                        chunk: id.to_string(),
                        ..JobStatus::default()
                    });
                    st.jobs.len() - 1
                }
            };
            let j = &mut st.jobs[i];
            f(j);
            if j.target_secs > 0.0 && j.speed.is_none() {
                j.percent = (j.secs_done / j.target_secs * 100.0).clamp(0.0, 100.0);
            }
        });
    }
}

/// The reason of a pause for a full data disk, as the status says it.
/// A chunk being made: where it is, and how its last clips went.
struct ChunkInProgress {
    /// Seconds it is made to.
    target: f64,
    /// Its folder.
    dir: PathBuf,
    /// The videos its clips come from (so far).
    used: Vec<i64>,
    /// The index of the next clip.
    index: usize,
    /// Seconds made.
    total: f64,
    /// Encodes failed in a row.
    failures: usize,
    /// The last failure, in words.
    last_error: String,
}

impl ChunkInProgress {
    /// Ends a generation that cannot progress, so a library of broken files
    /// cannot spin forever.
    fn too_many_failures(&self) -> Option<Outcome> {
        (self.failures >= MAX_CONSECUTIVE_FAILURES).then(|| {
            Outcome::Stalled(format!(
                "{} encodes in a row failed; last: {}",
                self.failures, self.last_error
            ))
        })
    }
}

/// A clip encoded, not yet kept.
struct Made {
    file: String,
    out: PathBuf,
    secs: f64,
    want_secs: f64,
    elapsed: f64,
}

/// The text to burn into a clip of `video`, if any.
fn watermark_text(s: &GeneratorSettings, video: &Video) -> Option<String> {
    match s.channel.watermark {
        WatermarkMode::None => None,
        WatermarkMode::Title => Some(video.meta.title.clone()),
        WatermarkMode::Creator => video
            .meta
            .creator
            .clone()
            .or_else(|| s.channel.watermark_fallback.clone())
            .or_else(|| Some(video.meta.title.clone())),
    }
}

fn disk_full_reason(s: &GeneratorSettings) -> String {
    format!(
        "the data disk is full: no room left to write clips in {}; generation tries again every {} s by itself",
        s.chunks_dir.display(),
        DISK_FULL_RETRY.as_secs()
    )
}

/// A database error as a job's outcome: SQLite's "database or disk is full" is a
/// pause for the full disk like any other, everything else a stall.
fn db_failed(s: &GeneratorSettings, e: crate::db::DbError) -> Outcome {
    if e.is_disk_full() {
        tracing::warn!(error = %e, "database write failed: the data disk is full");
        Outcome::DiskFull(disk_full_reason(s))
    } else {
        Outcome::Stalled(format!("database: {e}"))
    }
}

/// A file's identity and content stamp: a change of any of them during an encode
/// means the clip may mix two files, or a file cut short.
#[derive(Debug, PartialEq, Eq)]
struct FileStamp {
    ino: u64,
    size: u64,
    mtime: std::time::SystemTime,
}

impl FileStamp {
    /// `None` when the file cannot be read (gone, or its folder).
    async fn of(path: &std::path::Path) -> Option<FileStamp> {
        use std::os::unix::fs::MetadataExt;
        let m = tokio::fs::metadata(path).await.ok()?;
        Some(FileStamp {
            ino: m.ino(),
            size: m.len(),
            mtime: m.modified().ok()?,
        })
    }
}

/// The `meta` key of the last scheduled run that fired (unix seconds).
const LAST_RUN_KEY: &str = "schedule_last_run";

/// Marks a video as being cut for as long as it lives.
struct InFlight<'a> {
    set: &'a Mutex<Vec<i64>>,
    id: i64,
}

impl<'a> InFlight<'a> {
    fn new(set: &'a Mutex<Vec<i64>>, id: i64) -> Self {
        set.lock().push(id);
        InFlight { set, id }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let mut v = self.set.lock();
        if let Some(i) = v.iter().position(|x| *x == self.id) {
            v.swap_remove(i);
        }
    }
}

/// Whole GOPs closest to `secs`, at least one.
fn gops(secs: f64, gop_secs: f64) -> u32 {
    (secs / gop_secs).round().max(1.0) as u32
}

/// `at` in the machine's time zone (TZ, else /etc/localtime; UTC when unknown), so
/// "0 2 * * *" means 2 am where the operator lives. The `time` crate refuses the
/// local offset once the process has threads (always, under tokio); chrono reads
/// the zone itself.
fn local_time(at: std::time::SystemTime) -> time::OffsetDateTime {
    let offset = chrono::DateTime::<chrono::Local>::from(at)
        .offset()
        .local_minus_utc();
    let utc = time::OffsetDateTime::from(at);
    time::UtcOffset::from_whole_seconds(offset).map_or(utc, |o| utc.to_offset(o))
}

/// Frames of a clip of about `secs` seconds: a whole number of GOPs (so every
/// segment is a full GOP and starts on a keyframe), at least one.
pub fn clip_frames(secs: f64, fps: u32, gop_frames: u32) -> u32 {
    gops(secs, gop_frames as f64 / fps as f64) * gop_frames
}

#[cfg(test)]
mod local_time_tests {
    #[test]
    fn local_now_follows_the_time_zone_with_threads_running() {
        // A thread is running, as under tokio: the offset must still be local.
        let _t = std::thread::spawn(|| std::thread::sleep(std::time::Duration::from_millis(200)));
        let expected = chrono::Local::now().offset().local_minus_utc();
        let now = super::local_time(std::time::SystemTime::now());
        assert_eq!(now.offset().whole_seconds(), expected);
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_frames_are_whole_gops() {
        assert_eq!(clip_frames(6.0, 30, 60), 180);
        assert_eq!(clip_frames(7.0, 30, 60), 240); // 3.5 GOPs rounds up to 4
        assert_eq!(clip_frames(0.0, 30, 60), 60);
        assert_eq!(clip_frames(5.0, 25, 50), 150);
    }

    #[test]
    fn watermark_modes_parse() {
        assert_eq!("".parse::<WatermarkMode>().unwrap(), WatermarkMode::None);
        assert_eq!(
            "Creator".parse::<WatermarkMode>().unwrap(),
            WatermarkMode::Creator
        );
        assert_eq!(
            "true".parse::<WatermarkMode>().unwrap(),
            WatermarkMode::Creator
        );
        assert_eq!(
            "title".parse::<WatermarkMode>().unwrap(),
            WatermarkMode::Title
        );
        let e = "logo".parse::<WatermarkMode>().unwrap_err();
        assert!(e.to_string().contains("none, creator, title"));
    }

    use std::path::Path;

    use crate::library::Library;
    use crate::lineup::def::CLASSIC;
    use crate::testkit::media::make_video;

    fn settings(chunks_dir: PathBuf) -> GeneratorSettings {
        GeneratorSettings {
            cache_dir: chunks_dir.join(".cache"),
            chunks_dir,
            profile: OutputProfile {
                width: 320,
                height: 180,
                fps: 30,
                gop_frames: 30,
                video_kbps: 600,
            },
            encoder: Encoder::X264,
            parallel: 1,
            seed: Some(7),
            channel: crate::settings::Channel {
                clip_min: 1.0,
                clip_max: 1.0,
                chunk_duration: 3.0,
                max_chunks: 10,
                ready_chunks: 1,
                chunks_per_run: 1,
                watermark: WatermarkMode::Title,
                ..Default::default()
            },
        }
    }

    async fn source(dir: &Path, name: &str) {
        let out = dir.join(name);
        tokio::task::spawn_blocking(move || {
            make_video(&out, "testsrc2=size=320x180:rate=30:duration=6")
        })
        .await
        .unwrap();
    }

    struct Rig {
        ff: Ffmpeg,
        db: Db,
        library: Arc<Library>,
        chunks: PathBuf,
    }

    impl Rig {
        async fn new(dir: &Path) -> Rig {
            let ff = Ffmpeg::locate().await.unwrap().with_threads(1);
            let db = Db::open(&dir.join("state.db")).unwrap();
            let library = Library::new(db.clone(), vec![dir.join("videos")], None);
            let chunks = dir.join("chunks");
            std::fs::create_dir_all(&chunks).unwrap();
            Rig {
                ff,
                db,
                library,
                chunks,
            }
        }

        fn classic(&self) -> Arc<crate::library::ChannelLibrary> {
            self.library.channel(CLASSIC, crate::library::everything())
        }

        async fn refresh(&self) {
            self.library.scan().unwrap();
            self.library.probe_pending(&self.ff).await.unwrap();
        }

        fn start(
            &self,
        ) -> (
            Arc<Playout>,
            GeneratorHandle,
            CancellationToken,
            tokio::task::JoinHandle<()>,
        ) {
            let p = settings(self.chunks.clone());
            let playout =
                Playout::load(self.db.clone(), CLASSIC, &self.chunks, &p.profile).unwrap();
            let (g, handle) = Generator::new(
                self.ff.clone(),
                self.db.clone(),
                self.library.channel(CLASSIC, crate::library::everything()),
                playout.clone(),
                EncodePool::new(p.parallel),
                p,
            );
            let cancel = CancellationToken::new();
            let task = tokio::spawn(g.run(cancel.clone()));
            (playout, handle, cancel, task)
        }
    }

    async fn until(what: &str, mut f: impl FnMut() -> bool) {
        crate::testkit::until(what, Duration::from_secs(120), async || f()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn chunks_take_each_clip_from_another_video_in_lru_order_and_resume_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        for n in ["a.mp4", "b.mp4", "c.mp4", "d.mp4"] {
            source(&dir.path().join("videos"), n).await;
        }
        let rig = Rig::new(dir.path()).await;
        rig.refresh().await;
        let (playout, handle, cancel, task) = rig.start();
        // Stop it as soon as the first clip exists: the chunk is a job left half done.
        until("a first clip", || {
            playout
                .chunks()
                .first()
                .is_some_and(|c| !c.clips.is_empty())
        })
        .await;
        let status = handle.status();
        assert_eq!(status.state, GeneratorState::Generating);
        cancel.cancel();
        task.await.unwrap();
        let first = playout.chunks()[0].clone();
        assert!(!first.complete);

        // The next run finishes the same chunk rather than starting another.
        let (playout, _handle, cancel, task) = rig.start();
        // Its strip is made once it is complete.
        until("the chunk to complete with its strip", || {
            playout
                .chunks()
                .first()
                .is_some_and(|c| c.complete && c.strip.is_some())
        })
        .await;
        cancel.cancel();
        task.await.unwrap();
        let chunk = playout.chunks()[0].clone();
        assert_eq!(chunk.id, first.id);
        assert_eq!(chunk.clips.len(), 3, "3 s of 1 s clips");
        let videos = playout.clip_videos(&chunk.id).unwrap();
        assert_eq!(
            videos,
            [1, 2, 3],
            "never-used videos first, in order, each once"
        );
        for v in &videos {
            assert_eq!(rig.classic().used_ranges(*v).unwrap().len(), 1);
        }
        // d was never used, so it is next; a is now the least recently used after it.
        let next = rig.classic().pick(&[]).unwrap().unwrap();
        assert!(next.path.ends_with("d.mp4"));
        let after = rig.classic().pick(&[next.id]).unwrap().unwrap();
        assert!(after.path.ends_with("a.mp4"));
        // Files on disk are exactly the clips recorded, their pictures and the
        // chunk's strip, made when it completed.
        let mut files = walk_names(&chunk.dir);
        files.sort();
        let clips = ["clip-0000", "clip-0001", "clip-0002"];
        let mut want: Vec<String> = clips
            .iter()
            .flat_map(|c| [format!("{c}.jpg"), format!("{c}.ts")])
            .collect();
        want.push(super::super::STRIP_FILE.to_string());
        assert_eq!(files, want);
        assert!(chunk.clips.iter().all(|k| k.info.picture.is_some()));
        assert_eq!(chunk.strip, Some(chunk.dir.join(super::super::STRIP_FILE)));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_generation_that_cannot_progress_stalls_with_a_reason_and_recovers() {
        let dir = tempfile::tempdir().unwrap();
        let videos = dir.path().join("videos");
        std::fs::create_dir_all(&videos).unwrap();
        let rig = Rig::new(dir.path()).await;
        let (playout, handle, cancel, task) = rig.start();
        // An empty folder: waiting, not failing.
        let mut rx = handle.subscribe();
        until("waiting for the library", || {
            rx.borrow_and_update().state == GeneratorState::WaitingForLibrary
        })
        .await;
        // Only broken files: stalled, with the reason, and no chunk churn.
        std::fs::write(videos.join("broken.mp4"), b"not a video").unwrap();
        std::fs::write(videos.join("empty.mkv"), b"").unwrap();
        rig.refresh().await;
        until("a stall", || {
            matches!(handle.status().state, GeneratorState::Stalled { .. })
        })
        .await;
        let GeneratorState::Stalled { reason } = handle.status().state else {
            unreachable!()
        };
        assert!(
            reason.contains("none of the 2 videos is usable"),
            "{reason}"
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(matches!(
            handle.status().state,
            GeneratorState::Stalled { .. }
        ));
        assert!(playout.chunks().is_empty(), "no empty chunk left behind");
        assert!(
            rig.db.chunks(CLASSIC).all().unwrap().is_empty(),
            "nor its record"
        );
        // A usable video arrives: the generator goes on by itself.
        source(&videos, "good.mp4").await;
        rig.refresh().await;
        until("a ready chunk", || {
            playout.chunks().iter().any(|c| c.complete)
        })
        .await;
        cancel.cancel();
        task.await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn requests_make_chunks_beyond_the_ready_target_and_persist() {
        let dir = tempfile::tempdir().unwrap();
        for n in ["a.mp4", "b.mp4"] {
            source(&dir.path().join("videos"), n).await;
        }
        let rig = Rig::new(dir.path()).await;
        rig.refresh().await;
        let (playout, handle, cancel, task) = rig.start();
        until("the ready target", || {
            playout.chunks().iter().filter(|c| c.complete).count() == 1
        })
        .await;
        until("idle", || handle.status().state == GeneratorState::Idle).await;
        assert!(handle.send(GeneratorCommand::Generate(2)));
        until("two more chunks", || {
            playout.chunks().iter().filter(|c| c.complete).count() == 3
        })
        .await;
        until("idle again", || {
            handle.status().state == GeneratorState::Idle && handle.status().requested == 0
        })
        .await;
        // A request outlives a restart.
        assert!(handle.send(GeneratorCommand::Stop));
        until("stopped", || {
            handle.status().state == GeneratorState::Stopped
        })
        .await;
        cancel.cancel();
        task.await.unwrap();
        rig.db.set_meta("main/requested_chunks", "1").unwrap();
        let (playout, _handle, cancel, task) = rig.start();
        until("the persisted request", || {
            playout.chunks().iter().filter(|c| c.complete).count() == 4
        })
        .await;
        cancel.cancel();
        task.await.unwrap();
        let made: i64 = rig
            .db
            .meta("main/chunks_created")
            .unwrap()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(made, 4);
    }

    /// A real ffmpeg behind a shell script that runs `on_match` instead when an
    /// argument ends in `name` (stdout is the -progress pipe).
    async fn wrapped_ffmpeg(dir: &Path, name: &str, on_match: &str) -> Ffmpeg {
        use std::os::unix::fs::PermissionsExt;
        let real = Ffmpeg::locate().await.unwrap();
        // Named ffmpeg, as errors name the program by its file name.
        let bin = dir.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let script = bin.join("ffmpeg");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\nfor a in \"$@\"; do case \"$a\" in *{name}) {on_match};; esac; done\nexec '{}' \"$@\"\n",
                real.ffmpeg_path().display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        Ffmpeg::locate_with(Some(&script), Some(real.ffprobe_path()))
            .await
            .unwrap()
            .with_threads(1)
    }

    /// `(id, present, error)` of the video whose path ends in `name`.
    fn video_row(db: &Db, name: &str) -> (i64, bool, Option<String>) {
        let r = db.library().row_named(name).unwrap();
        (r.id, r.present, r.error)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_hung_encode_is_killed_and_counted_against_its_source_and_the_chunk_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let videos = dir.path().join("videos");
        // The first in line hangs after one progress block.
        for n in ["0-hangs.mp4", "a.mp4", "b.mp4", "c.mp4"] {
            source(&videos, n).await;
        }
        let mut rig = Rig::new(dir.path()).await;
        rig.ff = wrapped_ffmpeg(
            dir.path(),
            "0-hangs.mp4",
            "printf 'frame=0\\nprogress=continue\\n'; exec sleep 600",
        )
        .await
        .with_stall_limit(Duration::from_secs(5));
        rig.refresh().await;
        let (playout, handle, cancel, task) = rig.start();
        until("a complete chunk", || {
            playout.chunks().first().is_some_and(|c| c.complete)
        })
        .await;
        cancel.cancel();
        task.await.unwrap();
        let (id, present, error) = video_row(&rig.db, "0-hangs.mp4");
        assert!(present);
        assert_eq!(
            error.as_deref(),
            Some("encode failed: ffmpeg made no progress for 5 s: killed"),
            "set aside with the reason"
        );
        assert!(handle.status().encode_failures >= 1);
        let chunk = playout.chunks()[0].clone();
        assert_eq!(chunk.clips.len(), 3, "the chunk went on without it");
        assert!(!playout.clip_videos(&chunk.id).unwrap().contains(&id));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_source_whose_folder_goes_away_mid_encode_is_missing_not_broken() {
        let dir = tempfile::tempdir().unwrap();
        let nas = dir.path().join("nas");
        let away = dir.path().join("nas-away");
        let videos = dir.path().join("videos");
        source(&nas, "0-on-nas.mp4").await;
        for n in ["a.mp4", "b.mp4", "c.mp4"] {
            source(&videos, n).await;
        }
        let ff = wrapped_ffmpeg(
            dir.path(),
            "0-on-nas.mp4",
            &format!(
                "mv '{}' '{}'; echo 'No such file or directory' >&2; exit 1",
                nas.display(),
                away.display()
            ),
        )
        .await;
        let db = Db::open(&dir.path().join("state.db")).unwrap();
        let library = Library::new(db.clone(), vec![nas.clone(), videos.clone()], None);
        let chunks = dir.path().join("chunks");
        std::fs::create_dir_all(&chunks).unwrap();
        let rig = Rig {
            ff,
            db,
            library,
            chunks,
        };
        rig.refresh().await;
        let (playout, handle, cancel, task) = rig.start();
        until("a complete chunk", || {
            playout.chunks().first().is_some_and(|c| c.complete)
        })
        .await;
        cancel.cancel();
        task.await.unwrap();
        assert!(away.exists(), "the wrapper took the folder away");
        let (id, present, error) = video_row(&rig.db, "0-on-nas.mp4");
        assert_eq!((present, error), (false, None), "missing, not set aside");
        assert_eq!(handle.status().encode_failures, 0);
        assert_eq!(playout.chunks()[0].clips.len(), 3);
        // Back: the same video, usable again.
        std::fs::rename(&away, &nas).unwrap();
        rig.library.scan().unwrap();
        assert_eq!(video_row(&rig.db, "0-on-nas.mp4"), (id, true, None));
        assert_eq!(rig.library.counts().unwrap().usable, 4);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_data_disk_pauses_generation_with_the_reason_and_it_resumes_by_itself() {
        let disk = crate::testkit::disk::Tmpfs::mount(8 * 1024);
        let dir = tempfile::tempdir().unwrap();
        for n in ["a.mp4", "b.mp4", "c.mp4"] {
            source(&dir.path().join("videos"), n).await;
        }
        let mut rig = Rig::new(dir.path()).await;
        rig.chunks = disk.path().join("chunks");
        std::fs::create_dir_all(&rig.chunks).unwrap();
        rig.refresh().await;
        // A few KiB left: every clip encode meets ENOSPC (a real one, from the
        // kernel; ffmpeg says "No space left on device" and still exits 0).
        disk.fill(8 * 1024);
        assert!(free_bytes(disk.path()) <= 16 * 1024, "the disk is full");
        let (playout, handle, cancel, task) = rig.start();
        let paused = || {
            matches!(&handle.status().state, GeneratorState::Stalled { reason }
                if reason.starts_with("the data disk is full: "))
        };
        until("a pause for the full disk", paused).await;
        // It tries again (DISK_FULL_RETRY is 1 s here) and pauses again, for as long
        // as the disk stays full, and never counts that against the sources.
        tokio::time::sleep(DISK_FULL_RETRY * 3).await;
        until("a pause for the full disk, after retries", paused).await;
        let status = handle.status();
        assert_eq!(status.encode_failures, 0, "not the sources' fault");
        assert_eq!(status.clips_encoded, 0);
        let counts = rig.library.counts().unwrap();
        assert_eq!((counts.usable, counts.unusable), (3, 0), "none set aside");
        for n in ["a.mp4", "b.mp4", "c.mp4"] {
            let (id, present, error) = video_row(&rig.db, n);
            assert_eq!((present, error), (true, None));
            assert!(
                rig.classic().used_ranges(id).unwrap().is_empty(),
                "nothing used up"
            );
        }
        let chunks = playout.chunks();
        assert_eq!(chunks.len(), 1, "one chunk, taken up again at each retry");
        assert!(
            !chunks[0].complete,
            "it stays 'building': nothing half-written is ready"
        );
        assert!(chunks[0].clips.is_empty());
        let partials = |root: &Path| -> Vec<String> {
            walk_names(root)
                .into_iter()
                .filter(|n| n.ends_with(".part"))
                .collect()
        };
        assert!(
            partials(&rig.chunks).is_empty(),
            "{:?}",
            partials(&rig.chunks)
        );
        // Space returns: generation resumes by itself, the same chunk.
        disk.free();
        assert!(free_bytes(disk.path()) > 4 << 20);
        until("a complete chunk", || {
            playout.chunks().iter().any(|c| c.complete)
        })
        .await;
        cancel.cancel();
        task.await.unwrap();
        let chunk = playout.chunks().into_iter().find(|c| c.complete).unwrap();
        assert_eq!(chunk.id, chunks[0].id);
        assert_eq!(chunk.clips.len(), 3, "3 s of 1 s clips");
        for clip in &chunk.clips {
            assert_eq!(
                crate::testkit::media::frame_count(&clip.path),
                30,
                "{} is whole",
                clip.path.display()
            );
        }
        assert_eq!(handle.status().encode_failures, 0);
        assert!(
            partials(&rig.chunks).is_empty(),
            "{:?}",
            partials(&rig.chunks)
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_source_replaced_or_truncated_mid_encode_is_rescanned_not_set_aside() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let videos = dir.path().join("videos");
        for n in [
            "0-replaced.mp4",
            "1-truncated.mp4",
            "a.mp4",
            "b.mp4",
            "c.mp4",
        ] {
            source(&videos, n).await;
        }
        // What 0-replaced.mp4 becomes: another video, 8 s long.
        let other = dir.path().join("other.mp4");
        {
            let other = other.clone();
            tokio::task::spawn_blocking(move || {
                make_video(&other, "testsrc2=size=320x180:rate=30:duration=8")
            })
            .await
            .unwrap();
        }
        let mut rig = Rig::new(dir.path()).await;
        rig.refresh().await;
        let before = |n| {
            let (id, ..) = video_row(&rig.db, n);
            id
        };
        let (replaced, truncated) = (before("0-replaced.mp4"), before("1-truncated.mp4"));
        // A real ffmpeg behind a script, once per source: 0-replaced.mp4 is encoded
        // whole and then replaced before ffmpeg has exited; 1-truncated.mp4 is cut
        // short after its encode began, before ffmpeg reads it.
        let real = Ffmpeg::locate().await.unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let script = bin.join("ffmpeg");
        let (src_r, src_t, marks) = (
            videos.join("0-replaced.mp4"),
            videos.join("1-truncated.mp4"),
            dir.path(),
        );
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\nreal='{real}'\n\
                 for a in \"$@\"; do case \"$a\" in\n\
                 *0-replaced.mp4) [ -e '{m}/r' ] || {{ touch '{m}/r'; \"$real\" \"$@\"; rc=$?; \
                   cp '{other}' '{src_r}.new' && mv '{src_r}.new' '{src_r}'; exit $rc; }};;\n\
                 *1-truncated.mp4) [ -e '{m}/t' ] || {{ touch '{m}/t'; truncate -s 20000 '{src_t}'; }};;\n\
                 esac; done\nexec \"$real\" \"$@\"\n",
                real = real.ffmpeg_path().display(),
                m = marks.display(),
                other = other.display(),
                src_r = src_r.display(),
                src_t = src_t.display(),
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        rig.ff = Ffmpeg::locate_with(Some(&script), Some(real.ffprobe_path()))
            .await
            .unwrap()
            .with_threads(1);
        let (playout, handle, cancel, task) = rig.start();
        until("a complete chunk", || {
            playout.chunks().first().is_some_and(|c| c.complete)
        })
        .await;
        cancel.cancel();
        task.await.unwrap();
        assert!(dir.path().join("r").exists() && dir.path().join("t").exists());
        assert_eq!(handle.status().encode_failures, 0, "not the sources' fault");
        let chunk = playout.chunks()[0].clone();
        assert_eq!(chunk.clips.len(), 3, "the chunk went on without them");
        let used = playout.clip_videos(&chunk.id).unwrap();
        assert!(
            !used.contains(&replaced) && !used.contains(&truncated),
            "{used:?}"
        );
        let files = walk_names(&chunk.dir);
        let count = |ext: &str| {
            files
                .iter()
                .filter(|f| f.starts_with("clip-") && f.ends_with(ext))
                .count()
        };
        assert_eq!(
            (count(".ts"), count(".jpg")),
            (3, 3),
            "clip and picture dropped: {files:?}"
        );
        for (id, name) in [(replaced, "0-replaced.mp4"), (truncated, "1-truncated.mp4")] {
            assert_eq!(
                video_row(&rig.db, name),
                (id, true, None),
                "kept, not set aside"
            );
            assert!(
                rig.classic().used_ranges(id).unwrap().is_empty(),
                "nothing used up"
            );
        }
        // The rescan found both changed: probed again, as any changed file is.
        assert_eq!(rig.library.counts().unwrap().pending, 2);
        rig.refresh().await;
        let duration = rig.db.library().row(replaced).unwrap().duration.unwrap();
        assert!(
            (duration - 8.0).abs() < 0.1,
            "re-probed as the new file: {duration}"
        );
        assert_eq!(video_row(&rig.db, "0-replaced.mp4"), (replaced, true, None));
        // The cut-short file is judged by the probe, as a file, not as a failed encode.
        let (_, _, error) = video_row(&rig.db, "1-truncated.mp4");
        assert!(
            error
                .as_deref()
                .is_none_or(|e| !e.starts_with("encode failed")),
            "{error:?}"
        );
    }

    /// Bytes free on the file system holding `path`.
    fn free_bytes(path: &Path) -> u64 {
        use std::os::unix::ffi::OsStrExt;
        let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
        let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
        // SAFETY: a valid C string and a statvfs to fill in.
        assert_eq!(unsafe { libc::statvfs(c.as_ptr(), &mut st) }, 0);
        st.f_bavail as u64 * st.f_frsize as u64
    }

    fn walk_names(dir: &Path) -> Vec<String> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk_names(&p));
            } else {
                out.push(e.file_name().to_string_lossy().into_owned());
            }
        }
        out
    }
}
