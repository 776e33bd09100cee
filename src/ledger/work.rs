//! The executor's intake: intents that still have work to do, taken up.
//!
//! Added for the router's executor (it polls this; the control API stores intents as
//! `accepted` and the executor moves them to `working`, then `done`/`failed`).
//!
//! [`Ledger::take_up_intents`] is one statement on the path from a stored intent to its
//! first order: it moves every `accepted` intent the executor does not hold to `working`
//! (with the `intent_events` row `set_intent_state` would write, atomically), and reads
//! those with the `working` ones it does not hold, each with the next free chunk index of
//! its orders.

use sqlx::Row;

use super::error::LedgerError;
use super::model::IntentRow;
use super::Ledger;

/// An intent with work to do, as the executor takes it up.
#[derive(Clone, Debug)]
pub struct ActiveIntent {
    pub intent: IntentRow,
    /// Moved from `accepted` to `working` by this intake (else it was already working).
    pub started: bool,
    /// One past the highest chunk index of its orders; 0 when it has none yet.
    pub next_chunk: u32,
}

/// What one intake takes up ([`Ledger::take_up_intents_in`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IntakeScope {
    /// Accepted opens to take up at most (None: every one). Risk-reducing intents are
    /// always taken up.
    pub opens: Option<usize>,
    /// Also return the `working` intents not held (at start, and as a safety net).
    pub resume_working: bool,
}

impl IntakeScope {
    /// Every accepted intent, and the working ones not held.
    pub const EVERYTHING: Self = Self {
        opens: None,
        resume_working: true,
    };
}

impl Ledger {
    /// Intents of `venue` in state `accepted` or `working`, oldest first.
    pub(crate) async fn active_intents(&self, venue: &str) -> Result<Vec<IntentRow>, LedgerError> {
        sqlx::query(
            "SELECT * FROM intents WHERE venue = $1 AND account_id = sluice_account() \
             AND state IN ('accepted', 'working') ORDER BY id",
        )
        .bind(venue)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(IntentRow::decode)
        .collect()
    }

    /// Take up the intents of `venue` not in `held`: each `accepted` one becomes `working`
    /// (its event's cause is `cause`), and every one of them is returned with the
    /// `working` ones, oldest first, in one statement.
    pub async fn take_up_intents(
        &self,
        venue: &str,
        held: &[i64],
        cause: &str,
    ) -> Result<Vec<ActiveIntent>, LedgerError> {
        self.take_up_intents_in(venue, held, cause, IntakeScope::EVERYTHING)
            .await
    }

    /// [`Ledger::take_up_intents`] within `scope`: every accepted risk-reducing intent, at
    /// most `scope.opens` accepted opens (oldest first; the rest stay `accepted`), and the
    /// `working` ones only when `scope.resume_working`; none in `held`.
    pub async fn take_up_intents_in(
        &self,
        venue: &str,
        held: &[i64],
        cause: &str,
        scope: IntakeScope,
    ) -> Result<Vec<ActiveIntent>, LedgerError> {
        let opens = scope.opens.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
        // One snapshot: the `working` rows read are those that were working before this
        // statement, so an intent started here is returned once. `state = 'accepted'` is
        // checked again on the row updated (a cancel or another executor may have moved
        // it since the pick was read). The pick is an array computed once (`ARRAY(…)`):
        // as `id IN (SELECT … pick)` on a table whose statistics were still those of an
        // empty one, the planner re-ran the pick for every accepted row (a nested-loop
        // semi join): 43 ms per intake, 221 ms at worst, while 500 opens were posted.
        let rows = sqlx::query(
            "WITH up AS (
                 UPDATE intents SET state = 'working', updated_at = now()
                 WHERE id = ANY(ARRAY(
                     (SELECT id FROM intents
                      WHERE venue = $1 AND account_id = sluice_account() AND state = 'accepted'
                        AND kind <> 'open' AND id <> ALL($2))
                     UNION ALL
                     (SELECT id FROM intents
                      WHERE venue = $1 AND account_id = sluice_account() AND state = 'accepted'
                        AND kind = 'open' AND id <> ALL($2)
                      ORDER BY id LIMIT $4)))
                   AND state = 'accepted'
                 RETURNING *),
             ev AS (
                 INSERT INTO intent_events (intent_id, from_state, to_state, cause)
                 SELECT id, 'accepted', 'working', $3 FROM up),
             found AS (
                 SELECT up.*, true AS started FROM up
                 UNION ALL
                 SELECT i.*, false AS started FROM intents i
                 WHERE $5 AND i.venue = $1 AND i.account_id = sluice_account()
                   AND i.state = 'working' AND i.id <> ALL($2))
             SELECT f.*, (SELECT COALESCE(MAX(o.chunk_index) + 1, 0) FROM orders o
                          WHERE o.intent_id = f.id) AS next_chunk
             FROM found f ORDER BY f.id",
        )
        .bind(venue)
        .bind(held)
        .bind(cause)
        .bind(opens)
        .bind(scope.resume_working)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let next: i32 = row.try_get("next_chunk")?;
                Ok(ActiveIntent {
                    intent: IntentRow::decode(row)?,
                    started: row.try_get("started")?,
                    next_chunk: u32::try_from(next).unwrap_or(0),
                })
            })
            .collect()
    }
}
