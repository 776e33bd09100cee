//! The simulator as a Binance client sees it: REST, auth, rate limits, faults, the admin
//! API, streams, and real third-party clients (the Python interop suite). One binary;
//! each test owns its simulator.

mod admin;
mod auth;
mod faults;
mod interop;
mod keys;
mod ratelimit;
mod rest;
mod stream;
mod stream_2026;
mod wire_2026;
mod wsapi;
