//! `sluice-sim`: a Binance USDⓈ-M Futures simulator, served as `sluice sim`, as its own
//! binary `sluice-sim`, and in-process by the daemon's paper mode and the tests. It depends
//! on nothing of the daemon: it re-declares the wire it serves, so the daemon's adapter is
//! tested against an independent reading of the protocol.
//!
//! The public surface is deliberately small: [`spawn`] a simulator from a [`Scenario`] and
//! talk to it over HTTP/WebSocket through its [`SimHandle`] (or, for the pipeline benchmark,
//! send one [`RawRequest`] through [`SimHandle::handle`]); [`run_cli`] is the command line.
//! Everything else is `pub(crate)`.
//!
//! Inside:
//! - `venue`: the exchange's pure state machine (symbols, orders, matching, positions).
//! - [`scenario`]: what a run starts from (TOML), `faults`: injected failures.
//! - `auth`, `keys`, `params`, `ratelimit`, `error`: the request pipeline's pure parts
//!   (`keys`: HMAC, Ed25519 and RSA API keys).
//! - `server`: the axum REST router and the shared state; `ws`: user and market streams;
//!   `wsapi`: the WebSocket API (`/ws-fapi/v1`, orders through the REST pipeline);
//!   `admin`: `/sim/*` (`admin_permissions`: account flags for preflight's failure modes).
//! - `clock`: wall time for the exchange, scaled scenario time for every duration.

#![warn(missing_docs, unreachable_pub)]

mod admin;
mod admin_keys;
mod admin_permissions;
mod auth;
mod clock;
mod error;
mod faults;
mod json;
mod keys;
mod params;
mod ratelimit;
pub mod scenario;
mod server;
mod venue;
mod ws;
mod wsapi;

mod app;

pub use app::{run_cli, spawn, SimArgs, SimHandle};
pub use scenario::{Scenario, DEMO_API_KEY, DEMO_API_SECRET};
pub use server::pipeline::{HttpOut, RawRequest};
