//! Cancelling an intent on request (`POST /v1/intents/{id}/cancel`).
//!
//! Invariants:
//! - the intent's row is locked (`FOR UPDATE`) for the decision, and the executor's
//!   intake moves only rows still `accepted` to `working` (one `UPDATE`, which waits for
//!   that lock), so the two are serialised: an intent cancelled while `accepted` is never
//!   taken up, and one taken up first is cancelled the working way;
//! - an `accepted` intent is cancelled at once (nothing was sent for it), with one
//!   `intent_events` row;
//! - a `working` one only gets `cancel_requested_at`: the executor stops sending new
//!   chunks, waits for what is out and ends it `cancelled` itself, with its fills kept;
//!   the request is a row, so it survives a restart or a standby takeover;
//! - repeating a cancel changes nothing; an ended intent is never changed;
//! - a flatten is not cancelled this way: it is the kill switch, and its halt is
//!   cleared only by `sluice resume` (`--force` drops a flatten not yet started).

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::error::LedgerError;
use super::ids::IntentId;
use super::model::IntentRow;
use super::Ledger;
use crate::domain::{IntentKind, IntentState};

/// What a cancel request did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CancelOutcome {
    /// The intent had not started: it is `cancelled` now, nothing was sent for it.
    Cancelled(IntentRow),
    /// The intent is working: it ends `cancelled` once what is out has settled.
    /// `first` is false when a cancel had already been asked (at `requested_at`).
    Requested {
        intent: IntentRow,
        requested_at: DateTime<Utc>,
        first: bool,
    },
    /// The intent had already ended (`done`, `failed` or `cancelled`): unchanged.
    Ended(IntentRow),
    /// This intent cannot be cancelled (a flatten), and why.
    Refused { intent: IntentRow, reason: String },
}

impl Ledger {
    /// Cancel intent `id` on behalf of `actor` (see the module doc).
    pub async fn cancel_intent(
        &self,
        id: IntentId,
        actor: &str,
    ) -> Result<CancelOutcome, LedgerError> {
        if actor.trim().is_empty() {
            return Err(LedgerError::invalid("actor", "is empty"));
        }
        let mut tx = self.pool.begin().await?;
        let row = super::intents::lock_intent_row(&mut tx, id).await?;
        let intent = IntentRow::decode(&row)?;
        let requested: Option<DateTime<Utc>> = row.try_get("cancel_requested_at")?;
        if intent.state.is_terminal() {
            return Ok(CancelOutcome::Ended(intent));
        }
        if intent.kind() == IntentKind::Flatten {
            let reason = format!(
                "intent #{id} is a flatten (the kill switch): it is not cancelled; `sluice resume --force` drops a flatten that has not started"
            );
            return Ok(CancelOutcome::Refused { intent, reason });
        }
        if let Some(requested_at) = requested {
            return Ok(CancelOutcome::Requested {
                intent,
                requested_at,
                first: false,
            });
        }
        let cause = format!("cancelled by {actor}");
        let outcome = if intent.state == IntentState::Accepted {
            let row = sqlx::query(
                "UPDATE intents SET state = 'cancelled', cancel_requested_at = now(),
                        cancel_requested_by = $2, updated_at = now()
                 WHERE id = $1 RETURNING *",
            )
            .bind(id)
            .bind(actor)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO intent_events (intent_id, from_state, to_state, cause)
                 VALUES ($1, 'accepted', 'cancelled', $2)",
            )
            .bind(id)
            .bind(&cause)
            .execute(&mut *tx)
            .await?;
            CancelOutcome::Cancelled(IntentRow::decode(&row)?)
        } else {
            let requested_at: DateTime<Utc> = sqlx::query_scalar(
                "UPDATE intents SET cancel_requested_at = now(), cancel_requested_by = $2
                 WHERE id = $1 RETURNING cancel_requested_at",
            )
            .bind(id)
            .bind(actor)
            .fetch_one(&mut *tx)
            .await?;
            CancelOutcome::Requested {
                intent,
                requested_at,
                first: true,
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }

    /// The `working` intents of `venue` whose cancel was asked, with the cause the
    /// executor ends them with (its intake stops these jobs).
    pub async fn cancel_requests(
        &self,
        venue: &str,
    ) -> Result<Vec<(IntentId, String)>, LedgerError> {
        let rows: Vec<(i64, Option<String>)> = sqlx::query_as(
            "SELECT id, cancel_requested_by FROM intents
             WHERE venue = $1 AND state IN ('accepted', 'working') AND account_id = sluice_account()
               AND cancel_requested_at IS NOT NULL ORDER BY id",
        )
        .bind(venue)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, by)| {
                let by = by.unwrap_or_else(|| "request".into());
                (IntentId(id), format!("cancelled by {by}"))
            })
            .collect())
    }
}
