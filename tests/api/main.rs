//! The control API: the whole application on port 0 over a test database, spoken to
//! over HTTP and through the CLI client. One binary; each test owns its database
//! (`#[sqlx::test]`) and its port, so they run in parallel.

mod accounts;
mod cli;
mod concurrency;
mod control;
mod events;
mod intents;
mod numbers;
mod openapi;
mod reconcile;
mod security;
mod server;
