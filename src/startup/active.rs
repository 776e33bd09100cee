//! The active daemon: take the leader lock (standby until then), decide the takeover
//! grace from the ledger's leader terms, recover, reconcile, then work intents while the
//! lock is proved held.
//!
//! Invariants: nothing is sent unless this process holds the leader lock; a lost lock
//! stops the executor at once (and waits for it to have stopped) before this process
//! tries to take the lock again, in-process — a Postgres restart or a terminated lock
//! session does not end the daemon; only the OS signal does.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use super::leadership::{self, GraceDecision, HoldEnd, LeaderConfig, OwnStop};
use super::reconcile_task::DaemonReconcile;
use super::retry::RetryDelay;
use super::{Application, TradingParts, Venue, VENUE};
use crate::api::Role;
use crate::exchange::binance::{run_audit_writer, AttemptSink};
use crate::exchange::Exchange;
use crate::router::{Executor, ExecutorConfig, ExecutorDeps, PreparedExecutor, RecoveryHook};
use crate::shutdown::{Shutdown, ShutdownTrigger};

/// How one term as leader ended.
enum TermEnd {
    /// The process is stopping.
    Stopped,
    /// The lock was lost, or the term failed: take the lock again.
    Again(String),
}

impl Application {
    /// Wait for the leader lock (standby until then), then trade while holding it. A lost
    /// lock stops the executor and this process becomes a standby again, in-process.
    pub(super) async fn lead_and_trade(
        &self,
        t: TradingParts,
        inner: Shutdown,
        mut seat: super::seat::Seat,
    ) -> anyhow::Result<()> {
        let cfg = LeaderConfig::from_settings(&self.settings, VENUE, self.api_addr);
        let instance = uuid::Uuid::new_v4();
        if let Some(audit) = t.audit {
            self.start_audit_writer(audit, inner.clone());
        }
        let (venue, config) = (t.venue, t.config);
        let mut own_stop: Option<OwnStop> = None;
        let mut again = RetryDelay::new(Duration::from_millis(200), Duration::from_secs(10), 0x7e);
        loop {
            let mut waiting = inner.clone();
            let taken =
                leadership::acquire(&self.ledger, &cfg, &self.readiness, &mut waiting, &mut seat);
            // The place under the account cap is held for exactly as long as this term.
            let Some((session, _place)) = taken.await else {
                return Ok(());
            };
            match self
                .one_term(session, &cfg, instance, own_stop, &venue, &config, &inner)
                .await
            {
                TermEnd::Stopped => return Ok(()),
                TermEnd::Again(reason) => {
                    own_stop = Some(OwnStop {
                        at: std::time::Instant::now(),
                    });
                    let wait = again.next();
                    self.readiness.set_role(Role::Starting);
                    self.readiness.set_not_ready(&format!(
                        "not trading: {reason}; taking the leader lock again"
                    ));
                    let mut stop = inner.clone();
                    tokio::select! {
                        _ = stop.recv() => return Ok(()),
                        _ = tokio::time::sleep(wait) => {}
                    }
                }
            }
        }
    }

    /// One term: record it, wait the grace it needs, trade until the lock is lost, the
    /// term fails, or the process stops (then mark the term clean and release the lock).
    #[allow(clippy::too_many_arguments)]
    async fn one_term(
        &self,
        mut session: crate::ledger::LockSession,
        cfg: &LeaderConfig,
        instance: uuid::Uuid,
        own_stop: Option<OwnStop>,
        venue: &Venue,
        config: &ExecutorConfig,
        inner: &Shutdown,
    ) -> TermEnd {
        let holder = cfg.session.application_name.clone();
        let (term, previous) = match session.begin_term(instance, &holder).await {
            Ok(t) => t,
            Err(e) => {
                session.close().await;
                return TermEnd::Again(format!("cannot record the leader term: {e}"));
            }
        };
        let decision = self.grace_for(previous.as_ref(), instance, own_stop, cfg);
        tracing::warn!(key = %session.key(), term = term.id, "leader lock acquired: this daemon is now the ACTIVE one");
        tracing::info!(wait_ms = decision.wait.as_millis() as u64, decision = %decision.why, "takeover grace decided");
        self.readiness.set_role(Role::Active);
        crate::metrics::set_leader(cfg.session.account.as_deref(), true);
        let (term_stop, term_shutdown) = term_channel(inner);
        let (lost_tx, lost_rx) = crate::shutdown::channel();
        let held = leadership::hold(session, cfg, lost_rx.clone());
        tokio::pin!(held);
        let work = self.work_as_leader(venue, config, &decision, term_shutdown.clone());
        tokio::pin!(work);
        tokio::select! {
            end = &mut held => {
                let HoldEnd::Lost(reason) = end else {
                    return TermEnd::Stopped;
                };
                self.lost_lock(&reason);
                // Stop the executor and wait until it has stopped before anything else.
                term_stop.trigger();
                let _ = work.await;
                TermEnd::Again(format!("lost the leader lock: {reason}"))
            }
            worked = &mut work => {
                term_stop.trigger();
                lost_tx.trigger();
                match held.await {
                    HoldEnd::Released(session) => self.after_work(worked, session, term, cfg, inner).await,
                    HoldEnd::Lost(reason) => {
                        self.lost_lock(&reason);
                        TermEnd::Again(format!("lost the leader lock: {reason}"))
                    }
                }
            }
        }
    }

    /// The grace this term waits (none for paper mode's own simulator).
    fn grace_for(
        &self,
        previous: Option<&crate::ledger::PreviousTerm>,
        instance: uuid::Uuid,
        own_stop: Option<OwnStop>,
        cfg: &LeaderConfig,
    ) -> GraceDecision {
        if self.takeover_grace {
            leadership::grace_decision(previous, instance, own_stop, cfg)
        } else {
            GraceDecision {
                wait: Duration::ZERO,
                why: "grace skipped: the exchange is this process's own simulator".into(),
            }
        }
    }

    /// The executor has stopped and the session still holds the lock: a clean stop marks
    /// the term; anything else releases the lock to try again.
    async fn after_work(
        &self,
        worked: anyhow::Result<()>,
        session: crate::ledger::LockSession,
        term: crate::ledger::LeaderTerm,
        cfg: &LeaderConfig,
        inner: &Shutdown,
    ) -> TermEnd {
        match worked {
            Ok(()) if inner.is_requested() => {
                self.end_term(session, term, cfg).await;
                TermEnd::Stopped
            }
            Ok(()) => {
                session.close().await;
                TermEnd::Again("the executor stopped".into())
            }
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "trading failed; releasing the leader lock and trying again with backoff");
                session.close().await;
                TermEnd::Again(format!("{e:#}"))
            }
        }
    }

    /// Clean stop: the executor has stopped; say so on the lock's own connection (with
    /// how long a request still open may reach the exchange), then release the lock.
    async fn end_term(
        &self,
        mut session: crate::ledger::LockSession,
        term: crate::ledger::LeaderTerm,
        cfg: &LeaderConfig,
    ) {
        let open_orders = self.ledger.non_terminal_orders().await.map(|o| o.len());
        let quiet = match open_orders {
            Ok(0) => Duration::ZERO,
            _ => cfg.recv_window,
        };
        match session.end_term_cleanly(term, quiet).await {
            Ok(()) => tracing::info!(
                term = term.id,
                quiet_ms = quiet.as_millis() as u64,
                "leader term ended cleanly"
            ),
            Err(e) => {
                tracing::warn!(error = %e, "could not mark the leader term clean; the next leader waits the full grace")
            }
        }
        session.close().await;
        tracing::info!("leader lock released");
    }

    /// Stop trading now: refuse writes, report why (the caller stops the executor).
    fn lost_lock(&self, reason: &str) {
        self.readiness.set_role(Role::Starting);
        self.readiness
            .set_not_ready(&format!("lost the leader lock: {reason}"));
        crate::metrics::set_leader(self.settings.exchange.account.as_deref(), false);
        tracing::error!(%reason, "LOST the leader lock: stopping the executor; this daemon tries to take the lock again (another daemon may lead meanwhile)");
    }

    /// The adapter's attempts into `order_attempts`, for the life of the process.
    fn start_audit_writer(&self, audit: crate::exchange::binance::AuditBuffer, shutdown: Shutdown) {
        let sink: Arc<dyn AttemptSink> = Arc::new(self.ledger.clone());
        // The writer takes a watch receiver: bridge the shutdown signal to one.
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let mut stop = shutdown;
        tokio::spawn(async move {
            stop.recv().await;
            let _ = stop_tx.send(true);
        });
        tokio::spawn(run_audit_writer(audit, sink, stop_rx));
    }

    /// Grace, the adapter (connected in the background if the exchange did not answer at
    /// start), recovery, the start-up reconcile, then work intents until `stop`.
    async fn work_as_leader(
        &self,
        venue: &Venue,
        config: &ExecutorConfig,
        grace: &GraceDecision,
        mut stop: Shutdown,
    ) -> anyhow::Result<()> {
        if !grace.wait.is_zero() {
            self.readiness.set_not_ready(&format!(
                "took the leader lock; waiting {:?} so that a previous leader's requests have expired ({})",
                grace.wait, grace.why
            ));
            tokio::select! {
                _ = stop.recv() => return Ok(()),
                _ = tokio::time::sleep(grace.wait) => {}
            }
        }
        let exchange: Arc<dyn Exchange> = match venue {
            Venue::Connected(e) => e.clone(),
            Venue::Late(late) => match late.connect(&self.readiness, &mut stop).await {
                Some(e) => e,
                None => return Ok(()),
            },
        };
        self.readiness
            .set_not_ready("recovering: resolving non-terminal orders by clientOrderId");
        let reconcile = Arc::new(
            DaemonReconcile::new(
                self.ledger.clone(),
                exchange.clone(),
                self.reconcile.clone(),
            )
            .with_start_symbols(&self.settings.exchange.symbols),
        );
        let prepared = self
            .prepare_executor(
                exchange,
                config.clone(),
                &stop,
                key_loss_hook(reconcile.clone()),
            )
            .await?;
        let every = self.settings.daemon.reconcile_interval;
        // The start-up reconcile runs HERE: after recovery has resolved every order the
        // ledger thought live (before, each would show as a spurious difference), and
        // before any intent is worked, so no order is in flight: two reads cannot
        // straddle a fill, and `reconcile_fix` repairs cannot race the executor.
        if let Some(every) = every {
            self.readiness
                .set_not_ready("reconciling the ledger with the exchange");
            reconcile
                .run_once(
                    super::reconcile_task::START,
                    self.settings.daemon.reconcile_fix,
                )
                .await;
            tokio::spawn(reconcile.run_every(every, stop.clone()));
        }
        let handle = prepared.start();
        self.readiness.watch_executor(handle.pulse());
        tracing::info!("executor running");
        tokio::spawn(super::report_executor_status(
            handle.status(),
            self.readiness.clone(),
        ));
        tokio::spawn(super::journal::journal_key_loss(
            handle.status(),
            self.ledger.clone(),
        ));
        tokio::spawn(super::report_stream_link(
            handle.stream_link(),
            self.readiness.clone(),
        ));
        tokio::spawn(report_stream_health(
            handle.stream_health(),
            self.readiness.clone(),
        ));
        self.readiness.set_ready();
        tracing::info!(api = %self.api_addr, role = "active", "sluice is ready");
        stop.recv().await;
        handle.stopped().await;
        Ok(())
    }

    /// The executor's recovery and adoption (it sends nothing yet).
    async fn prepare_executor(
        &self,
        exchange: Arc<dyn Exchange>,
        mut config: ExecutorConfig,
        shutdown: &Shutdown,
        on_key_recovered: RecoveryHook,
    ) -> anyhow::Result<PreparedExecutor> {
        config.adopt_unknown_positions = self.settings.daemon.adopt_unknown_positions;
        config.escalation.limit_ioc_fallback = self.settings.daemon.limit_ioc_fallback;
        config.escalation.fallback_after = self.settings.daemon.limit_ioc_fallback_after.get();
        config.stream_silence_grace = self.settings.daemon.user_stream_silence_grace;
        config.stop_watchdog = self.settings.daemon.stop_watchdog;
        config.dead_man_switch = self.settings.daemon.dead_man_switch;
        config.account = self.settings.exchange.account.clone();
        config.key_probe_symbol = self.settings.exchange.symbols.first().cloned();
        self.settings.executor.apply(&mut config);
        let deps = ExecutorDeps {
            ledger: self.ledger.clone(),
            exchange,
            venue: VENUE.to_string(),
            config,
            on_key_recovered: Some(on_key_recovered),
        };
        let prepared = Executor::prepare(deps, shutdown.clone())
            .await
            .context("failed to start the executor")?;
        tracing::info!(
            recovered_orders = prepared.recovered_orders,
            adopted_positions = prepared.adopted.len(),
            "executor recovered"
        );
        Ok(prepared)
    }
}

/// A term's own stop, triggered by the process's stop or by the caller (a lost lock).
fn term_channel(inner: &Shutdown) -> (Arc<ShutdownTrigger>, Shutdown) {
    let (term_stop, term_shutdown) = crate::shutdown::channel();
    let term_stop = Arc::new(term_stop);
    let relay = term_stop.clone();
    let mut outer = inner.clone();
    let mut ended = term_shutdown.clone();
    tokio::spawn(async move {
        tokio::select! {
            _ = outer.recv() => relay.trigger(),
            _ = ended.recv() => {}
        }
    });
    (term_stop, term_shutdown)
}

/// After key loss, before anything is sent again: the daemon's reconcile (dry run; its
/// result is on `GET /v1/reconcile`). An exchange it cannot read keeps safe mode on.
fn key_loss_hook(reconcile: Arc<DaemonReconcile>) -> RecoveryHook {
    Arc::new(move || {
        let reconcile = reconcile.clone();
        Box::pin(async move {
            let status = reconcile.run_once("key-loss recovery", false).await;
            match status.outcome {
                "failed" => Err(anyhow::anyhow!(
                    "reconcile failed: {}",
                    status.error.unwrap_or_default()
                )),
                outcome => Ok(format!("reconcile {outcome}")),
            }
        })
    })
}

/// `/readyz` lists a silent user stream as a degraded part (the daemon still trades: fills
/// and positions then come over REST) until the stream delivers again.
async fn report_stream_health(
    mut health: tokio::sync::watch::Receiver<crate::router::StreamHealth>,
    readiness: Arc<crate::api::Readiness>,
) {
    // Present from the start, so an alert on `sluice_user_stream_silent == 1` has a series.
    crate::metrics::set_user_stream_silent(readiness.account(), false);
    while health.changed().await.is_ok() {
        let now = health.borrow_and_update().clone();
        let silent = matches!(now, crate::router::StreamHealth::Silent { .. });
        crate::metrics::set_user_stream_silent(readiness.account(), silent);
        match now {
            crate::router::StreamHealth::Delivering => readiness.clear_degraded("user_stream"),
            crate::router::StreamHealth::Silent { reason, .. } => {
                readiness.set_degraded("user_stream", reason)
            }
        }
    }
}
