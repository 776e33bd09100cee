//! Reconcile: a PURE diff of a ledger snapshot against an exchange snapshot;
//! `apply.rs` writes repairs to the ledger. Never trades: nothing here takes an
//! `Exchange`; the caller (`ops::reconcile`) fetches the exchange snapshot.
//!
//! Which client order ids are sluice's is a predicate passed in (`is_sluice_id`), so
//! this module does not depend on the router: wire it to the router's id scheme
//! (`|id| router::client_id::SluiceOrderId::parse(id).is_ok()`).

pub(crate) mod apply;
mod apply_protective;
pub(crate) mod diff;
pub(crate) mod protective;
pub(crate) mod snapshot;

pub use apply::Repair;
pub use apply::{apply, retirement, RepairOutcome};
pub use diff::{diff, Discrepancy};
pub use protective::ExchangeAlgoState;
pub use protective::LedgerProtective;
pub use snapshot::{
    ExchangeOrderState, ExchangeSnapshot, LedgerOrder, LedgerPosition, LedgerSnapshot,
};
