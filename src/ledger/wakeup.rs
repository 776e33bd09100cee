//! Pushes from the ledger, over Postgres `LISTEN/NOTIFY`: new intents (the
//! `intents_wake_executor` trigger of migration `20261203120000_intent_wakeup.sql` sends
//! `NOTIFY sluice_intents, '<id>'` in the transaction that stores an `accepted` intent)
//! and new events (`sluice_emit` of the outbox notifies `sluice_events` in each
//! transaction that wrote events). [`Wakeups`] receives either.
//!
//! A notification is a hint, never the record: readers still read the table, and keep a
//! periodic read for a notification lost while the listening connection was down.

use sqlx::postgres::PgListener;

use super::{Ledger, LedgerError};

/// The channel the intents trigger notifies on.
const INTENT_CHANNEL: &str = "sluice_intents";

/// The channel `sluice_emit` notifies on (once per transaction that wrote events).
const EVENT_CHANNEL: &str = "sluice_events";

/// A dedicated connection listening on one channel.
pub(crate) struct Wakeups {
    listener: PgListener,
}

impl Wakeups {
    /// Wait for the next notification. `Err` means the connection broke; sqlx reconnects
    /// and re-listens on the next call, and anything committed meanwhile is found by the
    /// reader's periodic read.
    pub(crate) async fn next(&mut self) -> Result<(), LedgerError> {
        self.listener.recv().await?;
        Ok(())
    }
}

impl Ledger {
    /// Listen for intents stored from now on (by this process or any other).
    pub(crate) async fn intent_wakeups(&self) -> Result<Wakeups, LedgerError> {
        self.listen(INTENT_CHANNEL).await
    }

    /// Listen for committed events (of this process or any other on this ledger).
    pub(crate) async fn event_wakeups(&self) -> Result<Wakeups, LedgerError> {
        self.listen(EVENT_CHANNEL).await
    }

    async fn listen(&self, channel: &str) -> Result<Wakeups, LedgerError> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen(channel).await?;
        Ok(Wakeups { listener })
    }
}
