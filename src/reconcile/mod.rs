//! Reconcile: a PURE diff of a ledger snapshot against an exchange snapshot;
//! `apply.rs` writes repairs to the ledger. Never trades.
