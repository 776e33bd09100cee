//! Reconcile: a PURE diff of a ledger snapshot against an exchange snapshot;
//! `apply.rs` writes repairs to the ledger. Never trades: nothing here takes an
//! `Exchange`; the caller (`ops::reconcile`) fetches the exchange snapshot.

pub mod apply;
pub mod diff;
pub mod snapshot;

pub use apply::{apply, retirement, Repair, RepairOutcome};
pub use diff::{diff, Discrepancy};
pub use snapshot::{
    ExchangeOrderState, ExchangeSnapshot, LedgerOrder, LedgerPosition, LedgerSnapshot,
};
