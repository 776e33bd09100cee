//! The daemon's reconcile: once when it becomes the leader (after recovery, before any
//! intent is worked) and then every `daemon.reconcile_interval_s`.
//!
//! Invariants:
//! - never trades: it calls `ops::reconcile::run`, which only reads the exchange;
//! - never repairs silently: every difference is logged at WARN with its kind, counted
//!   in `sluice_reconcile_differences{kind}` and published on `GET /v1/reconcile`;
//!   repairs (`daemon.reconcile_fix`) are logged one by one as well;
//! - periodic runs (the executor may be trading) report only differences that two
//!   reads agree on, so a fill or chunk in flight between two REST reads is no alarm;
//! - an exchange that cannot be read is a FAILED run (ERROR, `outcome="failed"`),
//!   never "no differences"; the gauges keep the last successful run's counts;
//! - the start-up run reads open orders and open algo orders per symbol (the configured
//!   ones and every one the ledger or the venue's positions name; `ops::reconcile`'s
//!   `ReadScope`), leaving the IP's weight to the closes a start resumes; the periodic
//!   runs read every symbol.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;

use crate::api::reconcile::{ReconcileBoard, ReconcileStatus};
use crate::exchange::Exchange;
use crate::ledger::Ledger;
use crate::ops::reconcile::{ReadScope, ReconcileOptions, ReconcileReport};
use crate::shutdown::Shutdown;

/// Runs reconcile for the daemon and publishes each result.
pub struct DaemonReconcile {
    ledger: Ledger,
    exchange: Arc<dyn Exchange>,
    board: Arc<ReconcileBoard>,
    /// Kinds the gauge was ever set for, so a kind that disappears is set back to 0.
    kinds: Mutex<BTreeSet<&'static str>>,
    /// What the last `reconcile` event said (`journal::journal_reconcile`).
    journaled: Mutex<Option<serde_json::Value>>,
    /// What the start-up run reads open orders for (every symbol unless told).
    start_scope: ReadScope,
}

/// The trigger of the run when this daemon becomes the leader.
pub(crate) const START: &str = "start";

fn is_sluice_id(id: &str) -> bool {
    crate::router::SluiceOrderId::parse(id).is_ok()
}

impl DaemonReconcile {
    /// Reconcile `ledger` against `exchange`, publishing each run on `board`.
    pub fn new(ledger: Ledger, exchange: Arc<dyn Exchange>, board: Arc<ReconcileBoard>) -> Self {
        DaemonReconcile {
            ledger,
            exchange,
            board,
            kinds: Mutex::new(BTreeSet::new()),
            journaled: Mutex::new(None),
            start_scope: ReadScope::All,
        }
    }

    /// The start-up run reads open orders and open algo orders per symbol: `configured`
    /// plus every symbol the ledger or the venue's positions name.
    pub(crate) fn with_start_symbols(mut self, configured: &[crate::domain::Symbol]) -> Self {
        self.start_scope = ReadScope::Known(configured.iter().cloned().collect());
        self
    }

    /// One run. `fix` applies reconcile's ledger-only repairs; callers pass it only
    /// while no order is in flight (two reads could otherwise straddle a fill).
    pub async fn run_once(&self, trigger: &'static str, fix: bool) -> ReconcileStatus {
        let scope = if trigger == START {
            &self.start_scope
        } else {
            &ReadScope::All
        };
        let result = self.read(fix, scope).await;
        let status = self.publish(trigger, result);
        super::journal::journal_reconcile(&self.ledger, &status, &self.journaled).await;
        status
    }

    /// A periodic dry run while the executor may be trading: a difference must be seen
    /// by two runs `confirm_after` apart to be reported. One read can straddle a fill
    /// or catch a chunk in flight (stored, not yet answered); such a difference is gone
    /// on the second read and is logged at DEBUG only.
    pub(crate) async fn run_confirmed(&self, confirm_after: Duration) -> ReconcileStatus {
        let first = match self.read(false, &ReadScope::All).await {
            Ok(r) if !r.remaining.is_empty() => r,
            other => {
                let status = self.publish("periodic", other);
                super::journal::journal_reconcile(&self.ledger, &status, &self.journaled).await;
                return status;
            }
        };
        tokio::time::sleep(confirm_after).await;
        let second = self.read(false, &ReadScope::All).await.map(|mut r| {
            let passing = r.remaining.len();
            r.remaining.retain(|d| first.remaining.contains(d));
            r.found.retain(|d| first.remaining.contains(d));
            let passing = passing - r.remaining.len();
            if passing > 0 {
                tracing::debug!(
                    passing,
                    "reconcile: differences gone on the second read (in flight)"
                );
            }
            r
        });
        let status = self.publish("periodic", second);
        super::journal::journal_reconcile(&self.ledger, &status, &self.journaled).await;
        status
    }

    async fn read(&self, fix: bool, scope: &ReadScope) -> anyhow::Result<ReconcileReport> {
        let opts = ReconcileOptions { fix, confirm: fix };
        let exchange = self.exchange.as_ref();
        crate::ops::reconcile::run_in(&self.ledger, exchange, opts, &is_sluice_id, scope).await
    }

    fn publish(
        &self,
        trigger: &'static str,
        result: anyhow::Result<ReconcileReport>,
    ) -> ReconcileStatus {
        let status = match result {
            Ok(report) => self.record(trigger, report),
            Err(e) => {
                let error = format!("{e:#}");
                tracing::error!(trigger, %error, "reconcile failed: the exchange or the ledger could not be read; nothing is assumed");
                crate::metrics::record_reconcile_run("failed");
                ReconcileStatus {
                    at: Utc::now(),
                    trigger,
                    outcome: "failed",
                    error: Some(error),
                    report: None,
                }
            }
        };
        self.board.publish(status.clone());
        status
    }

    /// Log, count and wrap a finished run.
    fn record(&self, trigger: &'static str, report: ReconcileReport) -> ReconcileStatus {
        for d in &report.found {
            let detail = serde_json::to_string(d).unwrap_or_default();
            tracing::warn!(trigger, kind = d.kind_name(), symbol = %d.symbol(), %detail, "reconcile: ledger and exchange differ");
        }
        for r in &report.repairs {
            let detail = serde_json::to_string(r).unwrap_or_default();
            tracing::warn!(trigger, %detail, "reconcile: repaired the ledger (daemon.reconcile_fix)");
        }
        self.set_gauges(&report);
        let outcome = if report.remaining.is_empty() {
            "clean"
        } else {
            "differences"
        };
        crate::metrics::record_reconcile_run(outcome);
        tracing::info!(
            trigger,
            found = report.found.len(),
            remaining = report.remaining.len(),
            outcome,
            "reconcile run finished"
        );
        ReconcileStatus {
            at: Utc::now(),
            trigger,
            outcome,
            error: None,
            report: Some(report),
        }
    }

    fn set_gauges(&self, report: &ReconcileReport) {
        let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
        for d in &report.remaining {
            *counts.entry(d.kind_name()).or_default() += 1;
        }
        let mut kinds = self.kinds.lock().unwrap_or_else(|p| p.into_inner());
        kinds.extend(counts.keys().copied());
        for kind in kinds.iter() {
            crate::metrics::set_reconcile_differences(kind, counts.get(kind).copied().unwrap_or(0));
        }
    }

    /// A dry run every `every` (the first one `every` after now: the start-up run is
    /// the caller's), until shutdown.
    pub(crate) async fn run_every(self: Arc<Self>, every: Duration, mut shutdown: Shutdown) {
        // `GET /v1/reconcile` reports the interval the periodic runs really use.
        self.board.set_interval_s(every.as_secs());
        let confirm_after = (every / 4).min(Duration::from_secs(2));
        let start = tokio::time::Instant::now() + every;
        let mut ticks = tokio::time::interval_at(start, every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.recv() => return,
                _ = ticks.tick() => {}
            }
            tokio::select! {
                _ = shutdown.recv() => return,
                _ = self.run_confirmed(confirm_after) => {}
            }
        }
    }
}
