//! The in-process hand-off of stored intents to this process's executor: after the
//! control API commits an `accepted` intent through a [`Ledger`], the stored row goes to
//! the executor that registered on the same ledger handle, so it can plan the first
//! chunk without reading the row back (`Ledger::take_up_with_orders` then takes it up and
//! records that chunk in one statement).
//!
//! The ledger's `NOTIFY` for an intent this process writes often reaches the executor
//! before the writer has its commit back: while such a write is in flight
//! ([`Ledger::intent_write_in_flight`]) the executor first waits, briefly, for the
//! hand-off, so the one-statement take-up is not beaten by the ledger's intake.
//!
//! A hand-off is a hint, never the record: the take-up statement only takes an intent
//! still `accepted`, a lost hand-off (no executor yet, a stopped one) leaves the intent to
//! the `LISTEN/NOTIFY` wake-up and the periodic intake, as for a writer in another process.

use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

use super::model::IntentRow;
use super::Ledger;
use crate::domain::IntentState;

/// Where stored intents go (the executor's receiver), shared by every clone of a ledger.
#[derive(Default)]
pub(crate) struct Handoff {
    to: std::sync::Mutex<Option<UnboundedSender<IntentRow>>>,
    /// Intent writes through this ledger that have not handed off (or given up) yet.
    writing: AtomicUsize,
}

/// An intent write in flight; dropped once its row was handed off or it stored nothing.
pub(crate) struct IntentWrite<'a>(&'a Handoff);

impl Drop for IntentWrite<'_> {
    fn drop(&mut self) {
        self.0.writing.fetch_sub(1, Ordering::AcqRel);
    }
}

impl std::fmt::Debug for Handoff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Handoff")
    }
}

impl Ledger {
    /// The intents this ledger handle (and its clones) stores from now on, handed over
    /// in-process; a later call replaces the receiver (an executor started again).
    pub(crate) fn take_handoff(&self) -> UnboundedReceiver<IntentRow> {
        let (tx, rx) = unbounded_channel();
        *self.handoff.to.lock().unwrap_or_else(|e| e.into_inner()) = Some(tx);
        rx
    }

    /// Count an intent write as in flight until the returned guard is dropped (after its
    /// [`Self::hand_off`]).
    pub(crate) fn intent_write(&self) -> IntentWrite<'_> {
        self.handoff.writing.fetch_add(1, Ordering::AcqRel);
        IntentWrite(&self.handoff)
    }

    /// Whether an intent write through this ledger handle (or a clone) is in flight.
    pub(crate) fn intent_write_in_flight(&self) -> bool {
        self.handoff.writing.load(Ordering::Acquire) > 0
    }

    /// Hand a just committed intent to the executor, if one listens and it is `accepted`.
    pub(crate) fn hand_off(&self, intent: &IntentRow) {
        if intent.state != IntentState::Accepted {
            return;
        }
        let mut to = self.handoff.to.lock().unwrap_or_else(|e| e.into_inner());
        if to
            .as_ref()
            .is_some_and(|tx| tx.send(intent.clone()).is_err())
        {
            // The executor stopped: nothing listens until another one registers.
            *to = None;
        }
    }
}
