//! Facts the event stream carries that no ledger row records: key-loss safe mode
//! entered and left, and reconcile findings. Each is appended to the event outbox
//! (`Ledger::append_event`) in a transaction of its own, as it happens.
//!
//! Invariant: a failed append is logged and never stops the daemon or the executor;
//! these events are for strategies, the log and the metrics already carry the facts.

use chrono::Utc;
use serde_json::json;
use tokio::sync::watch;

use crate::api::reconcile::ReconcileStatus;
use crate::ledger::Ledger;
use crate::router::ExecutorStatus;

/// Append a `key_loss` event at every change between running and key-loss safe mode,
/// until the executor's status channel closes.
pub(crate) async fn journal_key_loss(mut status: watch::Receiver<ExecutorStatus>, ledger: Ledger) {
    let mut lost = false;
    loop {
        let payload = match &*status.borrow_and_update() {
            ExecutorStatus::KeyLoss { since, reason, .. } if !lost => {
                lost = true;
                Some(json!({ "state": "entered", "since": since, "reason": reason }))
            }
            ExecutorStatus::Running if lost => {
                lost = false;
                Some(json!({ "state": "recovered", "since": Utc::now() }))
            }
            _ => None,
        };
        if let Some(payload) = payload {
            append(&ledger, "key_loss", &payload).await;
        }
        if status.changed().await.is_err() {
            return;
        }
    }
}

/// The `reconcile` event of a run, when its outcome or differences differ from the last
/// one appended (`last`), so a standing difference is not repeated every interval.
pub(crate) async fn journal_reconcile(
    ledger: &Ledger,
    status: &ReconcileStatus,
    last: &std::sync::Mutex<Option<serde_json::Value>>,
) {
    let differences = status
        .report
        .as_ref()
        .map(|r| serde_json::to_value(&r.remaining).unwrap_or_default());
    let repairs = status.report.as_ref().map_or(0, |r| r.repairs.len());
    let key = json!({ "outcome": status.outcome, "differences": differences, "repairs": repairs });
    {
        let mut last = last.lock().unwrap_or_else(|p| p.into_inner());
        if last.as_ref() == Some(&key) {
            return;
        }
        *last = Some(key);
    }
    let payload = json!({
        "trigger": status.trigger,
        "outcome": status.outcome,
        "error": status.error,
        "differences": differences,
        "repairs": repairs,
    });
    append(ledger, "reconcile", &payload).await;
}

async fn append(ledger: &Ledger, kind: &str, payload: &serde_json::Value) {
    if let Err(e) = ledger.append_event(kind, payload).await {
        tracing::warn!(kind, error = %e, "event stream: appending an event failed");
    }
}
