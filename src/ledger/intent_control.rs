//! Intent writes and reads the control API needs beyond `create_intent`: answering a
//! replayed idempotency key before anything else, storing an open refused by the halt
//! as `failed`, cancelling an intent that was never started, and the timed history.
//!
//! Invariant: every write here is keyed by the idempotency key (a replay returns the
//! first intent) or conditional on the intent still being `accepted`, so none of them
//! can race the executor into cancelling work already sent.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, Row};

use super::error::LedgerError;
use super::ids::IntentId;
use super::intent_checks::{NewIntent, Target};
use super::intents::{insert_intent, intent_by_key, IntentCreated};
use super::model::IntentRow;
use super::Ledger;
use crate::domain::IntentState;

/// One state change of an intent, with its time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub(crate) struct IntentEvent {
    pub from: IntentState,
    pub to: IntentState,
    pub cause: String,
    pub at: DateTime<Utc>,
}

impl Ledger {
    /// Store `new` as `failed` with `error` (an open refused by the halt). A replayed key
    /// returns the first intent instead.
    pub(crate) async fn record_refused_intent(
        &self,
        new: &NewIntent,
        error: &str,
    ) -> Result<IntentCreated, LedgerError> {
        let mut tx = self.pool.begin().await?;
        let created = insert_or_replay(&mut tx, new, IntentState::Failed, Some(error)).await?;
        tx.commit().await?;
        Ok(created)
    }

    /// Cancel intent `id` if it is still `accepted` (nothing was sent for it).
    /// Returns whether it was cancelled.
    pub(crate) async fn cancel_if_accepted(
        &self,
        id: IntentId,
        cause: &str,
    ) -> Result<bool, LedgerError> {
        let mut tx = self.pool.begin().await?;
        let done = cancel_where(&mut tx, "id = $1", Some(id.get()), cause).await?;
        tx.commit().await?;
        Ok(!done.is_empty())
    }

    /// The intent stored under `key`, if any (to answer a replay before anything else).
    pub(crate) async fn intent_by_idempotency_key(
        &self,
        key: &str,
    ) -> Result<Option<IntentRow>, LedgerError> {
        sqlx::query("SELECT * FROM intents WHERE idempotency_key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| IntentRow::decode(&r))
            .transpose()
    }

    /// The state changes of intent `id` with their times, oldest first.
    pub(crate) async fn intent_timeline(
        &self,
        id: IntentId,
    ) -> Result<Vec<IntentEvent>, LedgerError> {
        let rows = sqlx::query(
            "SELECT from_state, to_state, cause, at FROM intent_events WHERE intent_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(IntentEvent {
                    from: IntentState::parse(&r.try_get::<String, _>("from_state")?)?,
                    to: IntentState::parse(&r.try_get::<String, _>("to_state")?)?,
                    cause: r.try_get("cause")?,
                    at: r.try_get("at")?,
                })
            })
            .collect()
    }
}

pub(super) async fn insert_or_replay(
    conn: &mut PgConnection,
    new: &NewIntent,
    state: IntentState,
    error: Option<&str>,
) -> Result<IntentCreated, LedgerError> {
    if new.idempotency_key.trim().is_empty() {
        return Err(LedgerError::invalid("idempotency_key", "is empty"));
    }
    // The target is what the caller named: these intents (flatten, refused opens) are
    // stored as given, without the open/close checks `create_intent` runs.
    let target = Target::as_given(new);
    let error = error.map(str::to_string);
    if let Some(intent) = insert_intent(&mut *conn, new, &target, (state, error), None).await? {
        return Ok(IntentCreated {
            intent,
            replayed: false,
            halt_clear: false,
        });
    }
    let first = intent_by_key(conn, &new.idempotency_key)
        .await?
        .ok_or_else(|| LedgerError::NotFound {
            what: format!("intent with idempotency key {}", new.idempotency_key),
        })?;
    Ok(IntentCreated {
        intent: first,
        replayed: true,
        halt_clear: false,
    })
}

/// Cancel the `accepted` intents matching `filter` (a fixed SQL fragment, never input),
/// with one `intent_events` row each.
pub(super) async fn cancel_where(
    conn: &mut PgConnection,
    filter: &str,
    id: Option<i64>,
    cause: &str,
) -> Result<Vec<IntentId>, LedgerError> {
    let sql = format!(
        "WITH c AS (UPDATE intents SET state = 'cancelled', updated_at = now()
                    WHERE state = 'accepted' AND {filter} RETURNING id)
         INSERT INTO intent_events (intent_id, from_state, to_state, cause)
         SELECT id, 'accepted', 'cancelled', {cause} FROM c RETURNING intent_id",
        cause = if id.is_some() { "$2" } else { "$1" },
    );
    let query = sqlx::query_scalar::<_, i64>(&sql);
    let query = match id {
        Some(id) => query.bind(id),
        None => query,
    };
    let ids = query.bind(cause).fetch_all(conn).await?;
    Ok(ids.into_iter().map(IntentId).collect())
}
