//! Circuit-breaker transitions: the router's breaker changing phase (closed, half_open,
//! open), with the window's counts at that moment. Append-only evidence: `sluice report`
//! turns them into the periods during which opens were refused.
//!
//! The phases are stored as the router names them (`closed`, `half_open`, `open`); the
//! table's CHECK constraints refuse anything else, so a read never meets an unknown one.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::error::LedgerError;
use super::Ledger;

/// One breaker phase change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakerTransitionRecord {
    pub venue: String,
    /// What the breaker guards (the executor's order flow to one venue: `orders`).
    pub scope: String,
    /// Local time of the change.
    pub at: DateTime<Utc>,
    pub from_state: String,
    pub to_state: String,
    /// Outcomes in the sliding window when it changed, and how many were distress.
    pub window_total: u32,
    pub server_errors: u32,
    pub throttled: u32,
    pub unknown: u32,
}

type TransitionTuple = (
    String,
    String,
    DateTime<Utc>,
    String,
    String,
    i32,
    i32,
    i32,
    i32,
);

const PHASES: [&str; 3] = ["closed", "half_open", "open"];

fn count(field: &str, v: u32) -> Result<i32, LedgerError> {
    i32::try_from(v).map_err(|_| LedgerError::invalid(field, format!("{v} is too large")))
}

impl Ledger {
    /// Append one transition. Refuses an unknown phase or a change to the same phase.
    pub async fn record_breaker_transition(
        &self,
        t: &BreakerTransitionRecord,
    ) -> Result<(), LedgerError> {
        for (field, v) in [("from_state", &t.from_state), ("to_state", &t.to_state)] {
            if !PHASES.contains(&v.as_str()) {
                return Err(LedgerError::invalid(
                    field,
                    format!("`{v}` is not one of closed, half_open, open"),
                ));
            }
        }
        if t.from_state == t.to_state {
            return Err(LedgerError::invalid(
                "to_state",
                "a transition changes the phase",
            ));
        }
        sqlx::query(
            "INSERT INTO breaker_transitions (venue, scope, at, from_state, to_state,
                 window_total, server_errors, throttled, unknown)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&t.venue)
        .bind(&t.scope)
        .bind(t.at)
        .bind(&t.from_state)
        .bind(&t.to_state)
        .bind(count("window_total", t.window_total)?)
        .bind(count("server_errors", t.server_errors)?)
        .bind(count("throttled", t.throttled)?)
        .bind(count("unknown", t.unknown)?)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Transitions that shape `[since, until)`: every one inside it, plus the last one
    /// before `since` (it says which phase the window starts in). Oldest first.
    pub async fn breaker_transitions(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<BreakerTransitionRecord>, LedgerError> {
        let rows: Vec<TransitionTuple> = sqlx::query_as(
            "SELECT venue, scope, at, from_state, to_state, window_total, server_errors,
                    throttled, unknown
             FROM breaker_transitions
             WHERE at < $2 AND account_id = sluice_account()
               AND at >= COALESCE(
                   (SELECT max(at) FROM breaker_transitions WHERE at < $1 AND account_id = sluice_account()), $1)
             ORDER BY at, id",
        )
        .bind(since)
        .bind(until)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(venue, scope, at, from_state, to_state, total, s, th, u)| {
                    let n = |v: i32| u32::try_from(v).unwrap_or(0);
                    BreakerTransitionRecord {
                        venue,
                        scope,
                        at,
                        from_state,
                        to_state,
                        window_total: n(total),
                        server_errors: n(s),
                        throttled: n(th),
                        unknown: n(u),
                    }
                },
            )
            .collect())
    }
}
