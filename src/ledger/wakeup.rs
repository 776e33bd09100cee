//! Pushes from the ledger, over Postgres `LISTEN/NOTIFY`: new intents (the
//! `intents_wake_executor` trigger of migration `20261203120000_intent_wakeup.sql` sends
//! `NOTIFY sluice_intents, '<id> <kind>'` in the transaction that stores an `accepted`
//! intent, and `'<id> cancel'` when a cancel is asked of a working one: [`IntentNotice`])
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

    /// Wait for the next intent notification and read what it names. `Err` as for
    /// [`Wakeups::next`].
    pub(crate) async fn next_intent(&mut self) -> Result<IntentNotice, LedgerError> {
        let n = self.listener.recv().await?;
        Ok(IntentNotice::parse(n.payload()))
    }
}

/// What an intent notification names: `<id> <kind>` for a stored intent, `<id> cancel`
/// for a cancel asked of a working one (migration `20261209010000_intent_wakeup_kind.sql`),
/// or `<id>` from a ledger not yet migrated. `kind` is set only for a stored intent; a
/// cancel or an unreadable part leaves it `None`, and the reader then reads the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IntentNotice {
    pub(crate) id: Option<i64>,
    pub(crate) kind: Option<crate::domain::IntentKind>,
}

impl IntentNotice {
    pub(crate) fn parse(payload: &str) -> Self {
        let mut parts = payload.split(' ');
        let id = parts.next().and_then(|p| p.parse::<i64>().ok());
        let kind = parts
            .next()
            .and_then(|k| crate::domain::IntentKind::parse(k).ok());
        // A notice read only in part is read as saying nothing of the kind.
        let kind = if parts.next().is_some() || id.is_none() {
            None
        } else {
            kind
        };
        Self { id, kind }
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

#[cfg(test)]
mod tests {
    use super::IntentNotice;
    use crate::domain::IntentKind;

    #[test]
    fn a_notice_names_the_id_and_kind_and_anything_unreadable_is_none() {
        assert_eq!(
            IntentNotice::parse("42 open"),
            IntentNotice {
                id: Some(42),
                kind: Some(IntentKind::Open)
            }
        );
        assert_eq!(
            IntentNotice::parse("7 close"),
            IntentNotice {
                id: Some(7),
                kind: Some(IntentKind::Close)
            }
        );
        // A cancel asked: no kind, so it is never mistaken for a new open.
        assert_eq!(
            IntentNotice::parse("7 cancel"),
            IntentNotice {
                id: Some(7),
                kind: None
            }
        );
        // A ledger before the kind was added.
        assert_eq!(
            IntentNotice::parse("7"),
            IntentNotice {
                id: Some(7),
                kind: None
            }
        );
        for junk in ["", "x open", "7 opened", "7 open extra"] {
            let n = IntentNotice::parse(junk);
            assert!(n.kind.is_none() || n.id.is_none(), "{junk:?} gave {n:?}");
            assert_ne!(n.kind, Some(IntentKind::Open), "{junk:?}");
        }
    }
}
