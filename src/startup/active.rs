//! The active daemon: take the leader lock (standby until then), wait the takeover
//! grace, recover, reconcile, then work intents while the lock is proved held.
//!
//! Invariant: nothing is sent unless this process holds the leader lock; a lost lock
//! stops the executor at once and ends `run_until_stopped` with an error (exit non-zero).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use super::leadership::{self, LeaderConfig};
use super::reconcile_task::DaemonReconcile;
use super::{Application, Trading, VENUE};
use crate::api::Role;
use crate::exchange::binance::{run_audit_writer, AttemptSink};
use crate::router::{Executor, ExecutorDeps, PreparedExecutor, RecoveryHook};
use crate::shutdown::{Shutdown, ShutdownTrigger};

impl Application {
    /// Wait for the leader lock (standby until then), then trade while holding it. A
    /// lost lock stops everything and is an error: the process exits non-zero and
    /// systemd restarts it, as a standby while the other daemon leads.
    pub(super) async fn lead_and_trade(
        &self,
        t: Trading,
        stop: &ShutdownTrigger,
        inner: Shutdown,
    ) -> anyhow::Result<()> {
        let cfg = LeaderConfig::from_settings(&self.settings, VENUE, self.api_addr);
        let mut waiting = inner.clone();
        let Some(session) =
            leadership::acquire(&self.ledger, &cfg, &self.readiness, &mut waiting).await
        else {
            return Ok(());
        };
        tracing::warn!(key = %session.key(), "leader lock acquired: this daemon is now the ACTIVE one");
        self.readiness.set_role(Role::Active);
        crate::metrics::set_leader(true);
        let held = leadership::hold(session, &cfg, inner.clone());
        tokio::pin!(held);
        tokio::select! {
            lost = &mut held => match lost {
                Some(reason) => Err(self.lost_lock(stop, &reason)),
                None => Ok(()),
            },
            worked = self.work_as_leader(t, &cfg, inner) => {
                worked?;
                // Shutdown: `hold` closes the session, releasing the lock at once.
                held.await;
                Ok(())
            }
        }
    }

    /// Stop trading now: refuse writes, stop the executor, report why.
    fn lost_lock(&self, stop: &ShutdownTrigger, reason: &str) -> anyhow::Error {
        self.readiness.set_role(Role::Stopping);
        self.readiness
            .set_not_ready(&format!("lost the leader lock: {reason}"));
        crate::metrics::set_leader(false);
        tracing::error!(%reason, "LOST the leader lock: stopping the executor and exiting; another daemon may take over");
        stop.trigger();
        anyhow::anyhow!(
            "lost the leader lock ({reason}): stopped trading; exiting non-zero so that systemd restarts this daemon (as a standby if another one leads)"
        )
    }

    /// Grace, recovery, the start-up reconcile, then work intents until `stop`.
    async fn work_as_leader(
        &self,
        t: Trading,
        cfg: &LeaderConfig,
        mut stop: Shutdown,
    ) -> anyhow::Result<()> {
        let grace = if self.takeover_grace {
            cfg.takeover_grace()
        } else {
            Duration::ZERO
        };
        self.readiness.set_not_ready(&format!(
            "took the leader lock; waiting {grace:?} so that a previous leader's requests have expired"
        ));
        tracing::info!(
            ?grace,
            "waiting before trading: a previous leader may still be finishing"
        );
        tokio::select! {
            _ = stop.recv() => return Ok(()),
            _ = tokio::time::sleep(grace) => {}
        }
        self.readiness
            .set_not_ready("recovering: resolving non-terminal orders by clientOrderId");
        let reconcile = Arc::new(DaemonReconcile::new(
            self.ledger.clone(),
            t.exchange.clone(),
            self.reconcile.clone(),
        ));
        let prepared = self
            .prepare_executor(t, &stop, key_loss_hook(reconcile.clone()))
            .await?;
        let every = self.settings.daemon.reconcile_interval_s;
        // The start-up reconcile runs HERE: after recovery has resolved every order the
        // ledger thought live (before, each would show as a spurious difference), and
        // before any intent is worked, so no order is in flight: two reads cannot
        // straddle a fill, and `reconcile_fix` repairs cannot race the executor.
        if every > 0 {
            self.readiness
                .set_not_ready("reconciling the ledger with the exchange");
            reconcile
                .run_once("start", self.settings.daemon.reconcile_fix)
                .await;
            tokio::spawn(reconcile.run_every(Duration::from_secs(every), stop.clone()));
        }
        let handle = prepared.start();
        tracing::info!("executor running");
        tokio::spawn(super::report_executor_status(
            handle.status(),
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

    /// Audit writer, then the executor's recovery and adoption (it sends nothing yet).
    async fn prepare_executor(
        &self,
        t: Trading,
        shutdown: &Shutdown,
        on_key_recovered: RecoveryHook,
    ) -> anyhow::Result<PreparedExecutor> {
        if let Some(audit) = t.audit {
            let sink: Arc<dyn AttemptSink> = Arc::new(self.ledger.clone());
            // The writer takes a watch receiver: bridge the shutdown signal to one.
            let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
            let mut stop = shutdown.clone();
            tokio::spawn(async move {
                stop.recv().await;
                let _ = stop_tx.send(true);
            });
            tokio::spawn(run_audit_writer(audit, sink, stop_rx));
        }
        let mut config = t.config;
        config.adopt_unknown_positions = self.settings.daemon.adopt_unknown_positions;
        config.escalation.limit_ioc_fallback = self.settings.daemon.limit_ioc_fallback;
        config.escalation.fallback_after = self.settings.daemon.limit_ioc_fallback_after.max(1);
        config.stream_silence_grace =
            Duration::from_millis(self.settings.daemon.user_stream_silence_grace_ms);
        let deps = ExecutorDeps {
            ledger: self.ledger.clone(),
            exchange: t.exchange,
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
    while health.changed().await.is_ok() {
        let now = health.borrow_and_update().clone();
        match now {
            crate::router::StreamHealth::Delivering => readiness.clear_degraded("user_stream"),
            crate::router::StreamHealth::Silent { reason, .. } => {
                readiness.set_degraded("user_stream", reason)
            }
        }
    }
}
