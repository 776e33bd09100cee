//! New intents as a push: the `intents_wake_executor` trigger (migration
//! `20261203120000_intent_wakeup.sql`) sends `NOTIFY sluice_intents, '<id>'` in the
//! transaction that stores an `accepted` intent; [`IntentWakeups`] receives them.
//!
//! A notification is a hint, never the record: the executor still reads the intent from
//! the table, and keeps a periodic intake for a notification lost while the listening
//! connection was down.

use sqlx::postgres::PgListener;

use super::{Ledger, LedgerError};

/// The channel the trigger notifies on.
pub(crate) const INTENT_CHANNEL: &str = "sluice_intents";

/// A dedicated connection listening for newly stored intents.
pub(crate) struct IntentWakeups {
    listener: PgListener,
}

impl IntentWakeups {
    /// Wait for the next stored intent. `Err` means the connection broke; sqlx reconnects
    /// and re-listens on the next call, and any intent stored meanwhile is found by the
    /// executor's periodic intake.
    pub(crate) async fn next(&mut self) -> Result<(), LedgerError> {
        self.listener.recv().await?;
        Ok(())
    }
}

impl Ledger {
    /// Listen for intents stored from now on (by this process or any other).
    pub(crate) async fn intent_wakeups(&self) -> Result<IntentWakeups, LedgerError> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen(INTENT_CHANNEL).await?;
        Ok(IntentWakeups { listener })
    }
}
