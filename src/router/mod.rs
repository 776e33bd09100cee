//! The router: plans intents into filter-checked chunk orders and executes them,
//! risk-reducing orders first. It never builds HTTP or SQL; it talks to
//! `Exchange` and the ledger.
//!
//! The pure core lives here (no tokio, no I/O, time passed in as a value):
//! - [`plan`]: split a quantity into chunk orders every filter accepts; [`orders`] turns a
//!   plan into `FilterChecked<OrderRequest>`s.
//! - [`caps`]: per-symbol caps learned from -4005, and when to try the published cap again.
//! - [`client_id`]: deterministic `newClientOrderId`s that encode intent, chunk and attempt.
//! - [`scheduler`]: risk-reducing work always before risk-increasing work.
//! - [`breaker`]: refuses opens while the exchange is in distress; closes keep going.
//! - [`backoff`]: jittered exponential delays that respect the exchange's own `not_before`.
//! - [`escalation`]: what to do next after a failed order; [`fallback`] prices the
//!   reduce-only LIMIT IOC at the PERCENT_PRICE band edge.
//! - [`sizing`]: sizes the exchange can carry out (smallest open, step and minQty checks).
//! - [`checked`]: the only way to build a sendable order (re-exported from `domain`).
//!
//! The executor (I/O, one tokio task) drives that core:
//! - [`executor`]: [`Executor::spawn`] → intake, scheduling, one step per job at a time;
//!   [`pulse`] says whether one piece of that work has been running too long (watchdog);
//! - `job` (the remainder of one intent), `send` (record, then send one chunk; escalation),
//!   `progress` (settling in-flight orders, done and the flatten latch), `recovery`
//!   (resolve by client order id, re-read legs, cancel own resting orders), `adoption`,
//!   `stream` (user-stream events into the ledger), [`stream_watch`] (is the connected
//!   user stream really delivering? evidence-based silence detection), `audit_sink` (attempts into the ledger),
//!   `breaker_journal` (breaker phase changes into metrics, the log and the ledger, off the
//!   send path), `fallback_send` (the reduce-only LIMIT IOC fallback for failing closes),
//!   `outage` (a ping probe that cuts a close's backoff short when the venue is back).

mod adoption;
mod audit_sink;
pub mod backoff;
pub mod breaker;
mod breaker_journal;
pub mod caps;
pub mod checked;
pub mod client_id;
pub mod config;
mod context;
pub mod escalation;
pub mod executor;
pub mod fallback;
mod fallback_send;
mod grid;
pub mod hold;
mod job;
pub mod keyloss;
pub mod orders;
mod outage;
pub mod plan;
mod progress;
pub mod pulse;
mod recovery;
mod rejections;
pub mod scheduler;
mod send;
pub mod sizing;
mod stream;
pub mod stream_watch;

pub use config::ExecutorConfig;
pub use executor::{Executor, ExecutorDeps, ExecutorHandle, PreparedExecutor, RecoveryHook};
pub use hold::{Held, OpensHold};
pub use keyloss::ExecutorStatus;
pub use pulse::Pulse;
pub use stream::StreamLink;
pub use stream_watch::{StreamHealth, StreamWatch};

#[cfg(test)]
pub(crate) mod fixtures;

pub use backoff::{Backoff, BackoffConfig, Jitter};
pub use breaker::{
    Breaker, BreakerConfig, BreakerState, Outcome, Phase, Refusal, Transition, WindowStats,
};
pub use caps::{CapBook, CapChange, CapError, LearnedCap};
pub use client_id::{ForeignId, IntentRef, SluiceOrderId};
pub use escalation::{next_action, Action, EscalationPolicy, FailedOrder};
pub use fallback::{band_edge_price, FallbackError};
pub use orders::{to_orders, OrderTemplate, ToOrdersError};
pub use plan::{plan_chunks, CapSource, ChunkCap, ChunkPlan, PlanError};
pub use scheduler::{RiskClass, Scheduler};

#[cfg(test)]
mod flow_tests;
