//! Publishing the breaker's phase changes: the `sluice_breaker_state` gauge, a log line,
//! and a `breaker_transitions` row in the ledger.
//!
//! Invariants:
//! - the send path never waits on storage: transitions go over an unbounded channel to a
//!   writer task (they are rare, at most one per cool-down and window, so the channel
//!   cannot grow without bound in practice);
//! - each transition is written once, in the order the breaker made them;
//! - the `Instant` the pure breaker saw is turned into wall time when published (the
//!   difference is the few microseconds between the breaker call and the publish).

use std::time::Instant;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use crate::ledger::{BreakerTransitionRecord, Ledger};
use crate::router::core::breaker::{Breaker, Phase, Transition};

/// What the executor's breaker guards: every order it sends to one venue.
pub(super) const SCOPE: &str = "orders";

/// The executor's end of the journal. Dropping it ends the writer task once drained.
pub(crate) struct BreakerJournal {
    venue: String,
    /// The account its gauge is labelled with (None: a single-account daemon's).
    account: Option<String>,
    tx: mpsc::UnboundedSender<BreakerTransitionRecord>,
}

impl BreakerJournal {
    /// Start the writer task and set the gauge to the breaker's initial phase.
    pub(super) fn spawn(ledger: Ledger, venue: String, account: Option<String>) -> BreakerJournal {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(write_all(ledger, rx));
        crate::metrics::set_account_breaker_state(account.as_deref(), SCOPE, Phase::Closed.gauge());
        BreakerJournal { venue, account, tx }
    }

    /// Take the breaker's queued transitions and publish each one.
    pub(super) fn publish(&self, breaker: &mut Breaker) {
        let transitions = breaker.take_transitions();
        if transitions.is_empty() {
            return;
        }
        let (now, wall) = (Instant::now(), Utc::now());
        for t in transitions {
            let record = self.record_of(&t, wall_time(t.at, now, wall));
            crate::metrics::set_account_breaker_state(self.account.as_deref(), SCOPE, t.to.gauge());
            tracing::warn!(
                scope = SCOPE,
                from = t.from.as_str(),
                to = t.to.as_str(),
                window_total = t.stats.total,
                server_errors = t.stats.server_errors,
                throttled = t.stats.throttled,
                unknown = t.stats.unknown,
                "circuit breaker changed state"
            );
            if self.tx.send(record).is_err() {
                tracing::error!("breaker journal writer is gone; transition not persisted");
            }
        }
    }

    fn record_of(&self, t: &Transition, at: DateTime<Utc>) -> BreakerTransitionRecord {
        let n = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
        BreakerTransitionRecord {
            venue: self.venue.clone(),
            scope: SCOPE.to_string(),
            at,
            from_state: t.from.as_str().to_string(),
            to_state: t.to.as_str().to_string(),
            window_total: n(t.stats.total),
            server_errors: n(t.stats.server_errors),
            throttled: n(t.stats.throttled),
            unknown: n(t.stats.unknown),
        }
    }
}

/// The wall time of `at`, given that `now` is `wall`.
fn wall_time(at: Instant, now: Instant, wall: DateTime<Utc>) -> DateTime<Utc> {
    let ago = now.saturating_duration_since(at);
    chrono::TimeDelta::from_std(ago).map_or(wall, |d| wall - d)
}

/// Write transitions until every sender is gone. A failed write is retried a few times
/// (the database may be restarting); after that it is logged and dropped, because the
/// breaker itself keeps working and the log line above already holds the evidence.
async fn write_all(ledger: Ledger, mut rx: mpsc::UnboundedReceiver<BreakerTransitionRecord>) {
    while let Some(record) = rx.recv().await {
        let mut delay = std::time::Duration::from_millis(100);
        for attempt in 1..=5 {
            match ledger.record_breaker_transition(&record).await {
                Ok(()) => break,
                Err(e) if attempt == 5 => {
                    tracing::error!(error = %e, to = %record.to_state, at = %record.at,
                        "breaker transition could not be persisted; it is only in the log");
                }
                Err(e) => {
                    tracing::warn!(error = %e, attempt, "persisting a breaker transition failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_transition_keeps_its_distance_from_now_in_wall_time() {
        let now = Instant::now();
        let wall = Utc::now();
        let at = now.checked_sub(Duration::from_millis(1500)).unwrap_or(now);
        let back = wall - wall_time(at, now, wall);
        assert_eq!(
            back.num_milliseconds(),
            i64::try_from(now.duration_since(at).as_millis()).unwrap()
        );
    }
}
