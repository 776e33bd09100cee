//! The executor: intents from the ledger → filter-checked MARKET chunks on the exchange →
//! fills in the ledger.
//!
//! One task owns all execution state and sends every order itself, one at a time, in
//! the order the [`Scheduler`] hands work out (risk-reducing always first). Start-up,
//! before anything new is sent: resolve every non-terminal order by client order id
//! (crash recovery), then adopt exchange positions the ledger does not know. Intake reads
//! the ledger for `accepted`/`working` intents as soon as one is stored (the ledger's
//! LISTEN/NOTIFY, `ledger::wakeup`; [`ExecutorHandle::poke`] in-process), and every
//! `poll_interval` as a safety net for a notification lost while Postgres was away. Every
//! account event wakes it too.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use futures_util::future::BoxFuture;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use super::context::Ctx;
use super::job::{Job, NextChunk};
use super::keyloss::ExecutorStatus;
use super::progress::{finish, settle, Settle};
use super::scheduler::Scheduler;
use super::send::{fail, next_chunk, send, Next};
use super::stream_watch::{StreamHealth, StreamWatch};
use super::ExecutorConfig;
use crate::domain::{IntentSpec, IntentState, OpenSize, Qty, Symbol, Usdt};
use crate::exchange::Exchange;
use crate::ledger::{IntentId, IntentRow, Ledger};
use crate::shutdown::Shutdown;

/// What the executor needs.
#[derive(Clone)]
pub struct ExecutorDeps {
    pub ledger: Ledger,
    pub exchange: Arc<dyn Exchange>,
    /// The venue name intents, orders and fills are stored under (`binance-usdm`).
    pub venue: String,
    pub config: ExecutorConfig,
    /// Run after the credentials work again following key loss, before anything is
    /// sent (the daemon reconciles the ledger with the exchange); its summary is logged.
    pub on_key_recovered: Option<RecoveryHook>,
}

/// An async check run on recovery from key loss; `Ok` carries a one-line summary.
pub type RecoveryHook = Arc<dyn Fn() -> BoxFuture<'static, anyhow::Result<String>> + Send + Sync>;

/// A running executor.
pub struct ExecutorHandle {
    intake: Arc<Notify>,
    status: watch::Receiver<ExecutorStatus>,
    pulse: super::Pulse,
    stream_link: watch::Receiver<super::stream::StreamLink>,
    stream_health: watch::Receiver<StreamHealth>,
    tasks: Vec<JoinHandle<()>>,
    /// Positions adopted at start.
    pub adopted: Vec<crate::ledger::PositionRow>,
    /// Non-terminal orders resolved at start.
    pub recovered_orders: usize,
}

impl ExecutorHandle {
    /// Read new intents now (one was stored; the ledger's NOTIFY does this too).
    pub fn poke(&self) {
        self.intake.notify_one();
    }
    /// What the executor is doing (running, or key-loss safe mode and why).
    pub fn status(&self) -> watch::Receiver<ExecutorStatus> {
        self.status.clone()
    }
    /// Whether one piece of the executor's work has been running too long (watchdog).
    pub fn pulse(&self) -> super::Pulse {
        self.pulse.clone()
    }
    /// Whether the user stream is connected (None) or why not.
    pub fn stream_link(&self) -> watch::Receiver<super::stream::StreamLink> {
        self.stream_link.clone()
    }
    /// Whether the user stream delivers (or is connected but silent, and why).
    pub fn stream_health(&self) -> watch::Receiver<StreamHealth> {
        self.stream_health.clone()
    }
    /// Wait for every task to finish (after shutdown was triggered).
    pub async fn stopped(self) {
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

pub struct Executor;

/// An executor that has recovered and adopted but sends nothing yet: the daemon runs
/// its start-up reconcile here, while no order is in flight.
pub struct PreparedExecutor {
    ctx: Ctx,
    notify: Arc<Notify>,
    intake: Arc<Notify>,
    consumer: JoinHandle<()>,
    wakeups: JoinHandle<()>,
    shutdown: Shutdown,
    status: watch::Receiver<ExecutorStatus>,
    stream_link: watch::Receiver<super::stream::StreamLink>,
    on_key_recovered: Option<RecoveryHook>,
    /// Positions adopted at start.
    pub adopted: Vec<crate::ledger::PositionRow>,
    /// Non-terminal orders resolved at start.
    pub recovered_orders: usize,
}

impl Executor {
    /// Subscribe the user stream, recover, adopt, then run until `shutdown`.
    pub async fn spawn(deps: ExecutorDeps, shutdown: Shutdown) -> anyhow::Result<ExecutorHandle> {
        Ok(Self::prepare(deps, shutdown).await?.start())
    }

    /// Subscribe the user stream, recover and adopt; send nothing until [`PreparedExecutor::start`].
    pub async fn prepare(
        deps: ExecutorDeps,
        shutdown: Shutdown,
    ) -> anyhow::Result<PreparedExecutor> {
        let notify = Arc::new(Notify::new());
        let (link_tx, stream_link) =
            watch::channel(Some("the user stream has not connected yet".to_string()));
        let events = deps
            .exchange
            .subscribe_account()
            .await
            .context("failed to start the user-data stream")?;
        let stream_watch = Arc::new(StreamWatch::new(
            deps.config.stream_silence_grace,
            deps.config.rng_seed,
        ));
        let consumer = tokio::spawn(super::stream::run(
            super::stream::Consumer {
                ledger: deps.ledger.clone(),
                venue: deps.venue.clone(),
                exchange: deps.exchange.clone(),
                watch: stream_watch.clone(),
                notify: notify.clone(),
                link: link_tx,
            },
            events,
            shutdown.clone(),
        ));
        let (status_tx, status) = watch::channel(ExecutorStatus::Running);
        let ctx = Ctx::load(
            deps.ledger,
            deps.exchange,
            deps.venue,
            deps.config,
            status_tx,
            stream_watch,
        )
        .await?;
        let recovered_orders = super::recovery::recover_orders(&ctx, &shutdown).await?;
        let adopted = if ctx.cfg.adopt_unknown_positions {
            super::adoption::adopt_unknown_positions(&ctx)
                .await
                .context("failed to adopt unknown exchange positions")?
        } else {
            Vec::new()
        };
        let intake = Arc::new(Notify::new());
        let wakeups = tokio::spawn(intent_wakeups(
            ctx.ledger.clone(),
            intake.clone(),
            shutdown.clone(),
        ));
        Ok(PreparedExecutor {
            ctx,
            notify,
            intake,
            wakeups,
            consumer,
            shutdown,
            status,
            stream_link,
            on_key_recovered: deps.on_key_recovered,
            adopted,
            recovered_orders,
        })
    }
}

impl PreparedExecutor {
    /// Start working intents.
    pub fn start(self) -> ExecutorHandle {
        let pulse = super::Pulse::default();
        let lp = Loop {
            pulse: pulse.clone(),
            ctx: self.ctx,
            jobs: HashMap::new(),
            waiting: Vec::new(),
            sched: Scheduler::new(),
            outage: super::outage::OutageProbe::default(),
            notify: self.notify.clone(),
            intake: self.intake.clone(),
            on_key_recovered: self.on_key_recovered,
        };
        let stream_health = lp.ctx.stream.subscribe();
        let main = tokio::spawn(lp.run(self.shutdown));
        ExecutorHandle {
            intake: self.intake,
            status: self.status,
            pulse,
            stream_link: self.stream_link,
            stream_health,
            tasks: vec![self.consumer, self.wakeups, main],
            adopted: self.adopted,
            recovered_orders: self.recovered_orders,
        }
    }
}

struct Loop {
    /// Marked busy around each piece of work, never while waiting for work.
    pulse: super::Pulse,
    ctx: Ctx,
    jobs: HashMap<IntentId, Job>,
    /// Jobs with an order in flight: looked at again on every wake.
    waiting: Vec<IntentId>,
    sched: Scheduler<IntentId>,
    /// Risk-reducing jobs backing off after an outage, probed for the venue's return.
    outage: super::outage::OutageProbe,
    /// Fills and order updates from the user stream: look at waiting jobs again.
    notify: Arc<Notify>,
    /// A new intent was stored: read the ledger's intake now, not at the next poll.
    intake: Arc<Notify>,
    on_key_recovered: Option<RecoveryHook>,
}

impl Loop {
    async fn run(mut self, mut shutdown: Shutdown) {
        let mut last_intake: Option<Instant> = None;
        while !shutdown.is_requested() {
            if self.ctx.key_loss.is_active() {
                self.key_loss_step(&mut shutdown).await;
                continue;
            }
            let now = Instant::now();
            if last_intake.is_none_or(|t| now >= t + self.ctx.cfg.poll_interval) {
                let _busy = self.pulse.busy();
                if let Err(e) = self.intake().await {
                    tracing::error!(error = %e, "intake failed; retrying at the next poll");
                }
                last_intake = Some(Instant::now());
            }
            for id in std::mem::take(&mut self.waiting) {
                self.sched.push(id, self.class_of(id), now);
            }
            self.outage.run_if_due(&self.ctx, &mut self.sched).await;
            self.drain(&shutdown).await;
            let poll_at = last_intake.unwrap_or(now) + self.ctx.cfg.poll_interval;
            let wake = self
                .sched
                .next_wake(Instant::now())
                .map_or(poll_at, |w| w.min(poll_at));
            let wake = self.outage.wake().map_or(wake, |p| p.min(wake));
            tokio::select! {
                _ = shutdown.recv() => break,
                _ = self.notify.notified() => {}
                _ = self.intake.notified() => last_intake = None,
                _ = tokio::time::sleep_until(tokio::time::Instant::from_std(wake)) => {}
            }
        }
        tracing::info!("executor stopped");
    }

    fn class_of(&self, id: IntentId) -> super::scheduler::RiskClass {
        self.jobs
            .get(&id)
            .map_or(super::scheduler::RiskClass::Reducing, |j| j.class)
    }

    /// Key-loss safe mode: wait for the next re-authentication, try it, and on success
    /// resolve every non-terminal order and run the recovery hook before resuming.
    async fn key_loss_step(&mut self, shutdown: &mut Shutdown) {
        let Some(at) = self.ctx.key_loss.next_probe() else {
            return;
        };
        tokio::select! {
            _ = shutdown.recv() => return,
            _ = tokio::time::sleep_until(tokio::time::Instant::from_std(at)) => {}
        }
        let _busy = self.pulse.busy();
        if let Err(e) = self.ctx.exchange.reauthenticate().await {
            self.ctx
                .key_loss
                .probe_failed(e.retry_after, &e.to_string());
            return;
        }
        // Blind while the key was refused: what did the exchange do with our orders?
        tracing::info!("the exchange accepts the API key again; resolving orders and reconciling before resuming");
        if let Err(e) = super::recovery::recover_orders(&self.ctx, shutdown).await {
            self.ctx.key_loss.probe_failed(
                None,
                &format!("resolving orders after re-authentication: {e:#}"),
            );
            return;
        }
        if let Some(hook) = &self.on_key_recovered {
            match hook().await {
                Ok(summary) => tracing::info!(%summary, "reconciled after key loss"),
                Err(e) => {
                    self.ctx
                        .key_loss
                        .probe_failed(None, &format!("reconcile after re-authentication: {e:#}"));
                    return;
                }
            }
        }
        self.ctx.key_loss.recovered();
    }

    /// Hand out ready work until none is left (each step sends at most one order), or
    /// until the exchange refuses the key (then nothing more goes out).
    async fn drain(&mut self, shutdown: &Shutdown) {
        while !self.ctx.key_loss.is_active() {
            let Some(id) = self.sched.pop_ready(Instant::now()) else {
                return;
            };
            if shutdown.is_requested() {
                return;
            }
            let Some(mut job) = self.jobs.remove(&id) else {
                continue;
            };
            let busy = self.pulse.busy();
            self.ctx.outage_hit = false;
            let next = match step(&mut self.ctx, &mut job).await {
                Ok(n) => n,
                Err(e) => {
                    tracing::error!(intent_id = %id, error = %e, "executor step failed; retrying after backoff");
                    Next::Ready(job.backoff.next_at(Instant::now(), None))
                }
            };
            drop(busy);
            let ready_at = match &next {
                Next::Ready(at) => Some(*at),
                _ => None,
            };
            let outage = self.ctx.outage_hit;
            self.outage
                .note(id, job.class, outage, ready_at, Instant::now());
            match next {
                Next::Ready(at) => {
                    self.sched.push(id, job.class, at);
                    self.jobs.insert(id, job);
                }
                Next::Wait => {
                    self.waiting.push(id);
                    self.jobs.insert(id, job);
                }
                Next::Finished => {}
            }
        }
    }

    /// Take up intents the executor does not hold yet.
    async fn intake(&mut self) -> anyhow::Result<()> {
        let active = self.ctx.ledger.active_intents(&self.ctx.venue).await?;
        for intent in active {
            if self.jobs.contains_key(&intent.id) {
                continue;
            }
            let id = intent.id;
            let Some(job) = self.take_up(intent).await? else {
                continue;
            };
            self.sched.push(id, job.class, Instant::now());
            self.jobs.insert(id, job);
        }
        Ok(())
    }

    async fn take_up(&mut self, intent: IntentRow) -> anyhow::Result<Option<Job>> {
        let orders = self.ctx.ledger.orders_of_intent(intent.id).await?;
        let next_chunk = orders
            .iter()
            .map(|o| u32::try_from(o.chunk_index).unwrap_or(0).saturating_add(1))
            .max()
            .unwrap_or(0);
        let intent = if intent.state == IntentState::Accepted {
            let cause = "picked up by the executor";
            self.ctx
                .ledger
                .set_intent_state(intent.id, IntentState::Working, cause)
                .await?
        } else {
            tracing::info!(intent_id = %intent.id, "resuming a working intent");
            intent
        };
        let mut job = Job::new(intent, next_chunk, &self.ctx.cfg);
        if let IntentSpec::Open {
            symbol,
            size: OpenSize::Notional(notional),
            ..
        } = &job.intent.spec
        {
            match open_quantity(&mut self.ctx, symbol, *notional).await {
                Ok(q) => job.open_target = Some(q),
                Err(reason) => {
                    fail(&self.ctx, &job, &reason).await?;
                    return Ok(None);
                }
            }
        }
        tracing::info!(intent_id = %job.intent.id, kind = job.intent.kind().as_str(), "intent taken up");
        Ok(Some(job))
    }
}

/// An open given by notional: the quantity at the current mark.
async fn open_quantity(ctx: &mut Ctx, symbol: &Symbol, notional: Usdt) -> Result<Qty, String> {
    let mark = ctx
        .mark(symbol, false)
        .await
        .map_err(|e| format!("cannot read the mark price of {symbol}: {e}"))?;
    match ctx.rules.get(symbol) {
        // Floored to the step: no unsendable dust is left to end a filled open `failed`;
        // a notional too small for one order is refused before anything is sent.
        Some(rules) => super::sizing::open_of_notional(rules, notional.get(), mark)
            .map_err(|e| format!("open of {notional} USDT: {e}")),
        // Unlisted: the planner refuses it with the reason.
        None => Qty::new("quantity", notional.get() / mark.get()).map_err(|e| e.to_string()),
    }
}

/// One step of a job: settle what is in flight, then send the next chunk or finish.
async fn step(ctx: &mut Ctx, job: &mut Job) -> anyhow::Result<Next> {
    if let Settle::Pending(next) = settle(ctx, job).await? {
        return Ok(next);
    }
    if let (IntentSpec::Flatten { symbol }, false) = (&job.intent.spec, job.cancelled_resting) {
        // A flatten first clears sluice's own resting orders in its scope.
        super::recovery::cancel_own_orders(ctx, symbol.as_ref(), false).await;
        job.cancelled_resting = true;
    }
    let chunk = match job.current.take() {
        Some(c) => c,
        None => match next_chunk(ctx, job).await? {
            NextChunk::Send(c) => c,
            NextChunk::Nothing => return finish(ctx, job).await,
            NextChunk::Fail(reason) => {
                fail(ctx, job, &reason).await?;
                return Ok(Next::Finished);
            }
        },
    };
    send(ctx, job, chunk).await
}

/// Turn the ledger's intent notifications into intake wake-ups until `shutdown`. A broken
/// listening connection is re-opened with a growing pause (the periodic intake covers the
/// gap), so Postgres being away never ends the executor.
async fn intent_wakeups(
    ledger: crate::ledger::Ledger,
    intake: Arc<Notify>,
    mut shutdown: Shutdown,
) {
    let mut pause = std::time::Duration::from_millis(100);
    while !shutdown.is_requested() {
        let mut wakeups = match ledger.intent_wakeups().await {
            Ok(w) => w,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for new intents; polling until it works");
                tokio::select! {
                    _ = shutdown.recv() => return,
                    _ = tokio::time::sleep(pause) => {}
                }
                pause = (pause * 2).min(std::time::Duration::from_secs(10));
                continue;
            }
        };
        pause = std::time::Duration::from_millis(100);
        loop {
            tokio::select! {
                _ = shutdown.recv() => return,
                got = wakeups.next() => match got {
                    Ok(()) => intake.notify_one(),
                    Err(e) => {
                        tracing::warn!(error = %e, "intent listener broke; re-listening");
                        // Anything stored while it was down is found by the next intake.
                        intake.notify_one();
                        break;
                    }
                },
            }
        }
    }
}
