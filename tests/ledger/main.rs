//! The ledger against a real Postgres: intents, orders, fills, control flags, the
//! exchange's view, and a property test of random fill sequences. One binary; each test
//! owns its database.

mod accept_batch;
mod accounts;
mod batch;
mod batch_props;
mod budget;
mod budget_props;
mod cancel;
mod control;
mod events;
mod exchange_view;
mod fills;
mod first_orders;
mod intents;
mod leases;
mod orders;
mod props;
mod reattribute;
mod session_account;
mod support;
