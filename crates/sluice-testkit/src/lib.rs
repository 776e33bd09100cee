//! Test support for sluice's integration tests (one test binary per area in `tests/`):
//! a dev-only library, so every helper is compiled once and none is dead code in a
//! binary that does not use it.
//!
//! One of each: one test account and scenario builder ([`account`]), one bounded poll
//! ([`poll`]), one Postgres helper ([`db`]), one `sluice run` process harness
//! ([`process`]). The harnesses per layer build on them: the raw simulator client
//! ([`sim_client`]), the adapter on a simulator ([`adapter`]), the executor in process
//! ([`executor`]), the whole application on port 0 ([`app`]); builders for the ledger
//! ([`ledger`], [`raw`] for states only a bug could write), reconcile ([`reconcile`]),
//! Ed25519/RSA test keys ([`keys`]),
//! preflight ([`preflight`]) and the report ([`report`]).
//!
//! Invariant: tests of one area share a process and run in parallel, so nothing here
//! uses fixed ports, fixed database names, the working directory or process-wide
//! environment variables; the one process-wide thing is the metrics recorder
//! (`sluice::metrics::install`), which tests only read by series they own or by
//! "at least" comparisons.

pub mod account;
pub mod adapter;
pub mod app;
pub mod db;
pub mod events;
pub mod executor;
pub mod keys;
pub mod ledger;
pub mod paths;
pub mod poll;
pub mod preflight;
pub mod process;
pub mod raw;
pub mod reconcile;
pub mod report;
pub mod sim_client;
pub mod wsapi;
