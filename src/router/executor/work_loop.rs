//! The executor's one task: intake from the ledger, the scheduler handing out ready
//! jobs (risk-reducing first), one step per job at a time, the answers of the orders
//! sent off the loop (`dispatch`) applied as they arrive, key-loss safe mode.
//!
//! A job is in exactly one place: the scheduler, the waiting list (chunks out, looked at
//! again on every wake), or being stepped. An answer takes its job out of the first two
//! and queues it again at once (or when its backoff ends). At most
//! `executor.max_in_flight` orders await an answer over all jobs; handing out work stops
//! while that many are out and resumes as answers arrive.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use futures_util::future::BoxFuture;
use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::Notify;

use super::context::{Ctx, MarkFreshness};
use super::dispatch::{apply, Answer, Pending};
use super::job::{Job, Next, Stop};
use super::progress::{fail, settle_all};
use super::step::step;
use crate::domain::{IntentSpec, OpenSize, Qty, Symbol, Usdt};
use crate::ledger::{ActiveIntent, IntentId};
use crate::router::core::scheduler::{RiskClass, Scheduler};
use crate::shutdown::Shutdown;

/// An async check run on recovery from key loss; `Ok` carries a one-line summary.
pub type RecoveryHook = Arc<dyn Fn() -> BoxFuture<'static, anyhow::Result<String>> + Send + Sync>;

pub(super) struct Loop {
    /// Marked busy around each piece of work, never while waiting for work.
    pub(super) pulse: super::pulse::Pulse,
    pub(super) ctx: Ctx,
    pub(super) jobs: HashMap<IntentId, Job>,
    /// Jobs with an order in flight: looked at again on every wake.
    pub(super) waiting: Vec<IntentId>,
    pub(super) sched: Scheduler<IntentId>,
    /// Risk-reducing jobs backing off after an outage, probed for the venue's return.
    pub(super) outage: super::outage::OutageProbe,
    /// Fills and order updates from the user stream: look at waiting jobs again.
    pub(super) notify: Arc<Notify>,
    /// A new intent was stored: read the ledger's intake now, not at the next poll
    /// (an open only while there is room for it: `intake`).
    pub(super) intake: Arc<super::intake::IntakeSignal>,
    /// Accepted opens may wait in the ledger for room (`executor.max_opens_held`).
    pub(super) opens_waiting: bool,
    pub(super) on_key_recovered: Option<RecoveryHook>,
    /// Requests sent off the loop, polled for their answers.
    pub(super) sends: FuturesUnordered<BoxFuture<'static, Answer>>,
    /// Orders in `sends` (a batch counts each of its orders).
    pub(super) sending: usize,
    /// Intents the control API stored, handed over in-process (`handed`).
    pub(super) handed: tokio::sync::mpsc::UnboundedReceiver<crate::ledger::IntentRow>,
}

/// How long a stopping executor still waits for the answers of orders it sent.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

impl Loop {
    pub(super) async fn run(mut self, mut shutdown: Shutdown) {
        // The periodic intake (the safety net) and a wake-up's intake now.
        let mut last_poll: Option<Instant> = None;
        let mut intake_now = false;
        while !shutdown.is_requested() {
            // Answers of orders already out are applied even in key-loss safe mode.
            if self.ctx.key_loss.is_active() && self.sends.is_empty() {
                self.key_loss_step(&mut shutdown).await;
                continue;
            }
            let now = Instant::now();
            let poll_due = last_poll.is_none_or(|t| now >= t + self.ctx.cfg.poll_interval);
            intake_now |= self.waiting_opens_have_room();
            if poll_due || intake_now {
                let _busy = self.pulse.busy();
                if let Err(e) = self.intake(poll_due).await {
                    tracing::error!(error = %e, "intake failed; retrying at the next poll");
                    // Not again at once (a ledger away would make this a tight loop): the
                    // next poll reads the waiting opens too.
                    self.opens_waiting = false;
                }
                intake_now = false;
                if poll_due {
                    last_poll = Some(Instant::now());
                }
            }
            for id in std::mem::take(&mut self.waiting) {
                self.sched.push(id, self.class_of(id), now);
            }
            self.outage.run_if_due(&self.ctx, &mut self.sched).await;
            self.drain(&shutdown).await;
            let poll_at = last_poll.unwrap_or(now) + self.ctx.cfg.poll_interval;
            // At the global cap a ready job cannot go out: wake for an answer, a fill or
            // new work, not for the scheduler (which would spin until an answer came).
            let wake = if self.at_cap() {
                poll_at
            } else {
                self.sched
                    .next_wake(Instant::now())
                    .map_or(poll_at, |w| w.min(poll_at))
            };
            let wake = self.outage.wake().map_or(wake, |p| p.min(wake));
            // Jobs that ended in this turn's drain may have freed room for waiting opens.
            let wake = if self.waiting_opens_have_room() {
                Instant::now()
            } else {
                wake
            };
            tokio::select! {
                _ = shutdown.recv() => break,
                Some(answer) = self.sends.next(), if !self.sends.is_empty() => {
                    self.on_answer(answer).await;
                }
                _ = self.notify.notified() => {}
                _ = self.intake.notified() => {
                    self.await_handoff().await;
                    intake_now |= self.wants_intake();
                }
                Some(intent) = self.handed.recv() => {
                    if !self.take_up_handed(intent).await {
                        intake_now = true;
                    }
                }
                _ = tokio::time::sleep_until(tokio::time::Instant::from_std(wake)) => {}
            }
        }
        self.await_sends().await;
        tracing::info!("executor stopped");
    }

    /// At shutdown: apply the answers of orders still out, for at most [`SHUTDOWN_GRACE`]
    /// (an order whose answer is lost stays non-terminal and is resolved at the next start).
    async fn await_sends(&mut self) {
        let deadline = tokio::time::Instant::now() + SHUTDOWN_GRACE;
        while !self.sends.is_empty() {
            match tokio::time::timeout_at(deadline, self.sends.next()).await {
                Ok(Some(answer)) => self.on_answer(answer).await,
                _ => return,
            }
        }
    }

    /// An answer arrived: apply it to its job and queue the job again.
    async fn on_answer(&mut self, answer: Answer) {
        let id = answer.intent;
        self.sending = self.sending.saturating_sub(answer.sent.len());
        let Some(mut job) = self.jobs.remove(&id) else {
            tracing::error!(intent_id = %id, "an answer for an intent the executor no longer holds");
            return;
        };
        let busy = self.pulse.busy();
        self.ctx.outage_hit = false;
        apply(&mut self.ctx, &mut job, answer).await;
        drop(busy);
        let now = Instant::now();
        let at = job.not_before.map_or(now, |t| t.max(now));
        self.outage
            .note(id, job.class, self.ctx.outage_hit, Some(at), now);
        self.sched.remove_where(|j| *j == id);
        self.waiting.retain(|j| *j != id);
        self.sched.push(id, job.class, at);
        self.jobs.insert(id, job);
    }

    fn class_of(&self, id: IntentId) -> crate::router::core::scheduler::RiskClass {
        self.jobs.get(&id).map_or(RiskClass::Reducing, |j| j.class)
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
        // Nothing is sent while the key is refused, so every close waits on this probe: it
        // may use the weight kept for risk-reducing requests. It names a symbol the
        // daemon trades, which makes it IP weight 1 instead of 10 on Binance.
        let probe_symbol = key_probe_symbol(&self.ctx);
        if let Err(e) = self
            .ctx
            .exchange
            .reauthenticate(probe_symbol, crate::exchange::Purpose::ReduceRisk)
            .await
        {
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

    /// Hand out ready work until none is left, until `executor.max_in_flight` orders are
    /// out, or until the exchange refuses the key (then nothing more goes out).
    async fn drain(&mut self, shutdown: &Shutdown) {
        if self.at_cap() {
            self.settle_ready().await;
            return;
        }
        while !self.ctx.key_loss.is_active() && self.sending < self.ctx.cfg.max_in_flight {
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
            let room = self.ctx.cfg.max_in_flight.saturating_sub(self.sending);
            let mut out: Vec<Pending> = Vec::new();
            let stepped = step(&mut self.ctx, &mut job, room, &mut out).await;
            for p in out {
                self.sending += p.orders;
                self.sends.push(p.answer);
            }
            let next = match stepped {
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

    /// `executor.max_in_flight` order requests are awaiting their answers.
    pub(super) fn at_cap(&self) -> bool {
        self.sending >= self.ctx.cfg.max_in_flight
    }

    /// At the global cap nothing new goes out, but what is out still settles: a chunk
    /// whose fills are in the ledger is released now, not resolved over REST once the
    /// settle timeout has passed (three requests and 11 weight each, which under a burst
    /// of opens used up the venue's weight budget and stalled the rest for a minute).
    /// Each ready job is settled once and queued again as it was.
    async fn settle_ready(&mut self) {
        let now = Instant::now();
        let mut ready = Vec::new();
        while let Some(id) = self.sched.pop_ready(now) {
            ready.push(id);
        }
        for id in ready {
            if let Some(job) = self.jobs.get_mut(&id) {
                let _busy = self.pulse.busy();
                if let Err(e) = settle_all(&mut self.ctx, job).await {
                    tracing::error!(intent_id = %id, error = %e, "settling at the in-flight cap failed; retrying at the next step");
                }
            }
            self.sched.push(id, self.class_of(id), now);
        }
    }

    /// Opens held as jobs that count against `executor.max_opens_held`: MARKET opens,
    /// which end within a few round trips. A LIMIT open may rest on the book for as long
    /// as its terms allow (GTC: indefinitely), so it never counts: 64 resting LIMIT opens
    /// must not keep every later open waiting in the ledger.
    fn opens_held(&self) -> usize {
        self.jobs
            .values()
            .filter(|j| j.class == RiskClass::Increasing && j.intent.limit.is_none())
            .count()
    }

    /// How many more opens may be taken up now.
    pub(super) fn open_room(&self) -> usize {
        self.ctx
            .cfg
            .max_opens_held
            .saturating_sub(self.opens_held())
    }

    /// Opens wait in the ledger and may be read now: once a quarter of the room is free
    /// (not once per open ended, which would be one statement per open at the venue's
    /// order rate).
    fn waiting_opens_have_room(&self) -> bool {
        self.opens_waiting && self.open_room() >= self.ctx.cfg.max_opens_held.div_ceil(4)
    }

    /// After a wake-up: whether it calls for an intake now. An open already held (the
    /// in-process hand-off took it up) needs none; one not held needs one if there is room,
    /// else it waits in the ledger.
    fn wants_intake(&mut self) -> bool {
        let woken = self.intake.take();
        if woken.read_now {
            return true;
        }
        let unheld = woken
            .opens
            .iter()
            .any(|id| !self.jobs.contains_key(&IntentId(*id)));
        if !unheld {
            return false;
        }
        if self.open_room() > 0 {
            return true;
        }
        self.opens_waiting = true;
        false
    }

    /// Take up intents the executor does not hold yet: one statement moves the accepted
    /// ones to `working` (every risk-reducing one; opens, oldest first, only up to the room
    /// left under `executor.max_opens_held`) and reads them; on a poll (`resume`) also the
    /// working ones it does not hold (at start, and as a safety net).
    async fn intake(&mut self, resume: bool) -> anyhow::Result<()> {
        let held: Vec<i64> = if resume {
            self.jobs.keys().map(|id| id.get()).collect()
        } else {
            Vec::new()
        };
        let cause = "picked up by the executor";
        let room = self.open_room();
        let active = self
            .ctx
            .ledger
            .take_up_intents_in(
                &self.ctx.venue,
                &held,
                cause,
                crate::ledger::IntakeScope {
                    opens: Some(room),
                    resume_working: resume,
                },
            )
            .await?;
        let opens_started = active
            .iter()
            .filter(|a| a.started && a.intent.kind() == crate::domain::IntentKind::Open)
            .count();
        // Room filled: more may wait in the ledger.
        self.opens_waiting = opens_started >= room;
        // Only a job held before this intake, or one resumed as `working`, can carry a
        // cancel request: a cancel of an `accepted` intent ends it in the ledger, so
        // the intake above never takes it up.
        let mut may_be_cancelled = !self.jobs.is_empty();
        for a in active {
            if self.jobs.contains_key(&a.intent.id) {
                continue;
            }
            may_be_cancelled |= !a.started;
            let id = a.intent.id;
            let Some(job) = self.take_up(a).await? else {
                continue;
            };
            self.sched.push(id, job.class, Instant::now());
            self.jobs.insert(id, job);
        }
        if may_be_cancelled {
            self.stop_cancelled().await?;
        }
        Ok(())
    }

    /// Stop the jobs whose intent a caller asked to cancel (`ledger::intent_cancel`):
    /// nothing new is sent, what is out settles, then the step ends the intent
    /// `cancelled` with its fills (the halt's way, `Stop::Cancel`). A LIMIT intent's
    /// resting orders are cancelled at the exchange first (`resting.rs`).
    async fn stop_cancelled(&mut self) -> anyhow::Result<()> {
        for (id, cause) in self.ctx.ledger.cancel_requests(&self.ctx.venue).await? {
            let Some(job) = self.jobs.get_mut(&id) else {
                continue;
            };
            if job.stop.is_some() {
                continue;
            }
            tracing::info!(intent_id = %id, %cause, "cancel requested: no new chunks; ending once what is out has settled");
            job.stop(Stop::Cancel(cause));
            let class = job.class;
            self.sched.remove_where(|j| *j == id);
            self.waiting.retain(|j| *j != id);
            self.sched.push(id, class, Instant::now());
        }
        Ok(())
    }

    /// A job for an intent now `working`, resumed from its next free chunk index.
    async fn take_up(&mut self, a: ActiveIntent) -> anyhow::Result<Option<Job>> {
        if !a.started {
            tracing::info!(intent_id = %a.intent.id, "resuming a working intent");
        }
        let (intent, next_chunk) = (a.intent, a.next_chunk);
        let mut job = Job::new(intent, next_chunk, &self.ctx.cfg);
        // No order of it exists yet: nothing of it can have filled.
        job.orders_recorded = next_chunk > 0;
        if let IntentSpec::Open {
            symbol,
            size: OpenSize::Notional(notional),
            ..
        } = &job.intent.spec
        {
            let at = job.intent.limit.and_then(|l| l.fixed_price());
            match open_quantity(&mut self.ctx, symbol, *notional, at).await {
                Ok(q) => job.open_target = Some(q),
                Err(reason) => {
                    fail(&self.ctx, &job, &reason).await?;
                    return Ok(None);
                }
            }
        }
        if !a.started {
            // A LIMIT intent's orders may still rest: wait for them, never re-send.
            super::resting::adopt(&self.ctx, &mut job).await?;
        }
        tracing::info!(intent_id = %job.intent.id, kind = job.intent.kind().as_str(), "intent taken up");
        Ok(Some(job))
    }
}

/// An open given by notional: the quantity at the current mark.
/// The quantity `notional` buys at `limit` (a LIMIT open's own price), else at the mark.
pub(super) async fn open_quantity(
    ctx: &mut Ctx,
    symbol: &Symbol,
    notional: Usdt,
    limit: Option<crate::domain::Price>,
) -> Result<Qty, String> {
    let mark = match limit {
        Some(p) => p,
        None => ctx
            .mark(symbol, MarkFreshness::Recent)
            .await
            .map_err(|e| format!("cannot read the mark price of {symbol}: {e}"))?,
    };
    match ctx.rules.get(symbol) {
        // Floored to the step: no unsendable dust is left to end a filled open `failed`;
        // a notional too small for one order is refused before anything is sent.
        Some(rules) => crate::router::core::sizing::open_of_notional(rules, notional.get(), mark)
            .map_err(|e| format!("open of {notional} USDT: {e}")),
        // Unlisted: the planner refuses it with the reason.
        None => Qty::new("quantity", notional.get() / mark.get()).map_err(|e| e.to_string()),
    }
}

/// The symbol the key-loss probe names (see [`probe_symbol`]).
fn key_probe_symbol(ctx: &super::context::Ctx) -> Option<&crate::domain::Symbol> {
    probe_symbol(ctx.cfg.key_probe_symbol.as_ref(), &ctx.rules)
}

/// The symbol the key-loss probe names: `configured` when the venue lists it (its rules
/// are loaded), else the first listed symbol by name, so every probe asks the same; None
/// only when no rules are loaded (the probe is then unscoped, IP weight 10).
pub(super) fn probe_symbol<'a, R>(
    configured: Option<&'a crate::domain::Symbol>,
    rules: &'a std::collections::HashMap<crate::domain::Symbol, R>,
) -> Option<&'a crate::domain::Symbol> {
    configured
        .filter(|s| rules.contains_key(*s))
        .or_else(|| rules.keys().min())
}

#[cfg(test)]
mod probe_symbol_tests {
    use std::collections::HashMap;

    use super::probe_symbol;
    use crate::domain::Symbol;

    fn sym(s: &str) -> Symbol {
        Symbol::new(s).expect("symbol")
    }

    #[test]
    fn the_probe_names_the_configured_symbol_when_listed_else_the_first_listed_else_none() {
        let listed: HashMap<Symbol, ()> = [sym("SOLUSDT"), sym("BTCUSDT"), sym("ETHUSDT")]
            .into_iter()
            .map(|s| (s, ()))
            .collect();
        let sol = sym("SOLUSDT");
        let gone = sym("XYZUSDT");
        assert_eq!(probe_symbol(Some(&sol), &listed), Some(&sol));
        assert_eq!(probe_symbol(Some(&gone), &listed), Some(&sym("BTCUSDT")));
        assert_eq!(probe_symbol(None, &listed), Some(&sym("BTCUSDT")));
        assert_eq!(
            probe_symbol(Some(&sol), &HashMap::<Symbol, ()>::new()),
            None
        );
    }
}
