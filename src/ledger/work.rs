//! The executor's intake query: intents that still have work to do.
//!
//! Added for the router's executor (it polls this; the control API stores intents as
//! `accepted` and the executor moves them to `working`, then `done`/`failed`).

use super::error::LedgerError;
use super::model::IntentRow;
use super::Ledger;

impl Ledger {
    /// Intents of `venue` in state `accepted` or `working`, oldest first.
    pub(crate) async fn active_intents(&self, venue: &str) -> Result<Vec<IntentRow>, LedgerError> {
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
}
