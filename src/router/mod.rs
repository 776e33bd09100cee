//! The router: plans intents into filter-checked chunk orders and executes them,
//! risk-reducing orders first. It never builds HTTP or SQL; it talks to
//! `Exchange` and the ledger.
