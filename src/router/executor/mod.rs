//! The executor: intents from the ledger → filter-checked chunk orders on the exchange →
//! fills in the ledger.
//!
//! One task owns all execution state and sends every order itself, one at a time, in
//! the order the scheduler hands work out (risk-reducing always first). Start-up,
//! before anything new is sent: resolve every non-terminal order by client order id
//! (crash recovery), then adopt exchange positions the ledger does not know. Intake reads
//! the ledger for `accepted`/`working` intents as soon as one is stored (the ledger's
//! LISTEN/NOTIFY, `ledger::wakeup`; [`ExecutorHandle::poke`] in-process), and every
//! `poll_interval` as a safety net for a notification lost while Postgres was away. Every
//! account event wakes it too.
//!
//! - `spawn` (start-up and the handle), `work_loop` (intake, scheduling, one step per job);
//!   [`pulse`] says whether one piece of that work has been running too long (watchdog);
//! - `job` (one intent: its remainder, measured from the ledger, and its `Next` step);
//! - `send` (plan the next chunk, record it, then send it), `failure` (an error through the
//!   escalation table), `learned_caps` (caps learned from -4005, persisted),
//!   `fallback_send` (the reduce-only LIMIT IOC fallback for failing closes);
//! - `progress` (settling in-flight orders, done, failed, the flatten latch), `report`
//!   (an order report or expiry into the ledger), `recovery` (resolve by client order id,
//!   re-read legs, cancel own resting orders), `adoption`, `outage` (a ping probe that cuts
//!   a close's backoff short when the venue is back), [`keyloss`] (safe mode while the
//!   exchange refuses the key);
//! - `stream` (user-stream events into the ledger), [`stream_watch`] (is the connected
//!   user stream really delivering?), `audit_sink` (attempts into the ledger),
//!   `breaker_journal` (breaker phase changes into metrics, the log and the ledger).
//!
//! Within this folder no two files import each other.

mod adoption;
mod audit_sink;
mod breaker_journal;
pub mod config;
mod context;
mod dispatch;
mod failure;
mod fallback_send;
mod job;
pub mod keyloss;
mod learned_caps;
mod outage;
mod progress;
pub mod pulse;
mod recovery;
mod report;
mod send;
mod spawn;
mod step;
mod stream;
pub mod stream_watch;
mod work_loop;

pub use spawn::{Executor, ExecutorDeps, ExecutorHandle, PreparedExecutor};
pub use stream::StreamLink;
pub use work_loop::RecoveryHook;
