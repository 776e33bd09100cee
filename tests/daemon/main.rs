//! The daemon end to end: the executor in process against the simulator, and the real
//! `sluice run` binary as a process (crash, standby, takeover, outages, systemd). One
//! binary; each test owns its simulator, its database and, where it stops Postgres, a
//! cluster of its own, so they run in parallel.

mod account_health;
mod account_isolation;
mod accounts;
mod breaker;
mod concurrency;
mod crash;
mod deadman;
mod events;
mod executor;
mod expiry;
mod fallback;
mod faults;
mod flatten_resting;
mod keyloss;
mod keys;
mod limit;
mod limit_endings;
mod limit_restart;
mod lockout;
mod metrics;
mod outage;
mod pg_outage;
mod positions;
mod protect;
mod protect_faults;
mod protect_legs;
mod reconcile;
mod reduce_only;
mod standby;
mod start_weight;
mod stream;
mod systemd;
mod takeover;
mod truth;
mod unreachable;
mod wsapi;
