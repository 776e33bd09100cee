//! `sluice sim`: a Binance USDⓈ-M Futures simulator. It must NOT import
//! `exchange::binance`: it re-declares the wire it serves, so the adapter is tested
//! against an independent reading of the protocol.
//!
//! - [`venue`]: the exchange's pure state machine (symbols, orders, matching, positions).
//! - [`scenario`]: what a run starts from (TOML), [`faults`]: injected failures.
//! - [`auth`], [`params`], [`ratelimit`], [`error`]: the request pipeline's pure parts.
//! - [`server`]: the axum REST router and the shared state; [`ws`]: user and market streams;
//!   [`admin`]: `/sim/*` ([`admin_permissions`]: account flags for preflight's failure modes).
//! - [`clock`]: wall time for the exchange, scaled scenario time for every duration.

pub mod admin;
pub mod admin_permissions;
pub mod auth;
pub mod clock;
pub mod error;
pub mod faults;
pub mod json;
pub mod params;
pub mod ratelimit;
pub mod scenario;
pub mod server;
pub mod venue;
pub mod ws;

pub mod app;

pub use app::{run_cli, spawn, SimHandle};
pub use scenario::Scenario;
