//! # sluice
//!
//! A headless order-execution daemon for Binance USDⓈ-M Futures, with its own
//! exchange simulator.
//!
//! # Layout
//!
//! - [`domain`]: pure vocabulary (Qty/Price/Symbol newtypes, SymbolRules, intents,
//!   orders, fills) and filter validation. No I/O.
//! - [`exchange`]: the `Exchange` trait (the venue seam), normalised events, and the
//!   error classes; [`exchange::binance`] implements it over REST/WebSocket.
//! - [`router`]: the chunk planner (pure), the scheduler (risk-reducing first,
//!   circuit breaker) and the executor.
//! - [`ledger`]: the only module with SQL; Postgres is the single source of truth.
//! - [`reconcile`]: pure diff of ledger vs exchange, and the repairs it may write.
//! - [`ops`]: operator commands (preflight, doctor, reconcile, flatten, report).
//! - [`api`]: the control API (axum, bearer token, loopback by default).
//! - [`sim`]: the Binance Futures simulator (`sluice sim`), an independent reading
//!   of the wire protocol.
//! - [`metrics`]: the Prometheus series every part records into (`GET /metrics`).
//! - [`client`]: the CLI's HTTP client for the daemon's control API.
//! - `settings`, `telemetry`, `startup`, `systemd`, `shutdown`, `cli`, `commands`:
//!   wiring at the edges.

pub mod api;
pub mod domain;
pub mod exchange;
pub mod ledger;
pub mod ops;
pub mod reconcile;
pub mod router;
pub mod sim;

pub mod cli;
pub mod client;
pub mod commands;
pub mod metrics;
pub mod settings;
pub mod shutdown;
pub mod startup;
pub mod systemd;
pub mod telemetry;
