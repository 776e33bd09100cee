//! The executor's intake: intents that still have work to do, and taking one up.
//!
//! Added for the router's executor (it polls this; the control API stores intents as
//! `accepted` and the executor moves them to `working`, then `done`/`failed`).
//!
//! Both are single statements, on the path from a stored intent to its first order:
//! [`Ledger::intake_intents`] reads each intent with the next free chunk index of its
//! orders, and [`Ledger::start_intent`] moves an `accepted` intent to `working` with its
//! `intent_events` row in one atomic statement (what `set_intent_state` does in a
//! transaction of four).

use super::error::LedgerError;
use super::ids::IntentId;
use super::model::IntentRow;
use super::Ledger;

/// An intent with work to do, as the executor takes it up.
#[derive(Clone, Debug)]
pub struct ActiveIntent {
    pub intent: IntentRow,
    /// One past the highest chunk index of its orders; 0 when it has none yet.
    pub next_chunk: u32,
}

impl Ledger {
    /// Intents of `venue` in state `accepted` or `working`, oldest first.
    pub async fn active_intents(&self, venue: &str) -> Result<Vec<IntentRow>, LedgerError> {
        sqlx::query(
            "SELECT * FROM intents WHERE venue = $1 AND state IN ('accepted', 'working') ORDER BY id",
        )
        .bind(venue)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(IntentRow::decode)
        .collect()
    }

    /// [`Ledger::active_intents`] not in `held`, each with the next free chunk index of
    /// its orders, in one round trip (those already held are not read at all).
    pub async fn intake_intents(
        &self,
        venue: &str,
        held: &[i64],
    ) -> Result<Vec<ActiveIntent>, LedgerError> {
        let rows = sqlx::query(
            "SELECT i.*, (SELECT COALESCE(MAX(o.chunk_index) + 1, 0) FROM orders o
                          WHERE o.intent_id = i.id) AS next_chunk
             FROM intents i
             WHERE i.venue = $1 AND i.state IN ('accepted', 'working') AND i.id <> ALL($2)
             ORDER BY i.id",
        )
        .bind(venue)
        .bind(held)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                use sqlx::Row;
                let next: i32 = row.try_get("next_chunk")?;
                Ok(ActiveIntent {
                    intent: IntentRow::decode(row)?,
                    next_chunk: u32::try_from(next).unwrap_or(0),
                })
            })
            .collect()
    }

    /// Move intent `id` from `accepted` to `working`, writing its `intent_events` row, in
    /// one statement. `None` when it is not `accepted` (already working, or cancelled
    /// meanwhile): the caller falls back to [`Ledger::set_intent_state`], which says which.
    pub async fn start_intent(
        &self,
        id: IntentId,
        cause: &str,
    ) -> Result<Option<IntentRow>, LedgerError> {
        sqlx::query(
            "WITH up AS (
                 UPDATE intents SET state = 'working', updated_at = now()
                 WHERE id = $1 AND state = 'accepted' RETURNING *),
             ev AS (
                 INSERT INTO intent_events (intent_id, from_state, to_state, cause)
                 SELECT id, 'accepted', 'working', $2 FROM up)
             SELECT * FROM up",
        )
        .bind(id)
        .bind(cause)
        .fetch_optional(&self.pool)
        .await?
        .map(|r| IntentRow::decode(&r))
        .transpose()
    }
}
