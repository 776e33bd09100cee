//! The executor: intents from the ledger → filter-checked chunk orders on the exchange →
//! fills in the ledger.
//!
//! One task owns all execution state (no locks on the job table) and hands work out in
//! the order the scheduler gives (risk-reducing always first). The HTTP sends run off
//! that task: a step records each chunk in `orders` first, then hands the request to a
//! set of futures the loop polls in its `select!`; each answer comes back to the loop,
//! which applies it with `&mut Ctx` (ledger, breaker, learned caps, rejections, the
//! escalation table), so one slow answer holds up nothing else. Up to
//! `max_in_flight_per_intent` chunks of an intent are out at once, never more than the
//! ledger's remainder less what the chunks out still reserve (`core::inflight`), and at
//! most `max_in_flight` requests over all intents; chunks ready together go as one
//! `batchOrders` (full batches of five; the rest one by one). A MARKET size the venue has
//! not yet accepted for a symbol goes alone (a hidden cap costs one -4005, not one per
//! chunk out); while the cap book probes above a size already accepted, chunks of that
//! size go out beside the one probe. Start-up,
//! before anything new is sent: resolve every non-terminal order by client order id
//! (crash recovery), then adopt exchange positions the ledger does not know. Intake reads
//! the ledger for `accepted`/`working` intents as soon as one is stored (the ledger's
//! LISTEN/NOTIFY, `ledger::wakeup`; [`ExecutorHandle::poke`] in-process), and every
//! `poll_interval` as a safety net for a notification lost while Postgres was away. Every
//! account event wakes it too.
//!
//! - `spawn` (start-up and the handle), `work_loop` (intake, scheduling, answers), `step`
//!   (one step of a job: settle, re-send, plan, send, or end);
//!   [`pulse`] says whether one piece of that work has been running too long (watchdog);
//! - `job` (one intent: its remainder, measured from the ledger, its chunks out, and its
//!   `Next` step);
//! - `send` (plan new chunks), `record` (admit, build and record them), `dispatch` (send them off the
//!   loop, apply the answers), `failure` (an error through the
//!   escalation table), `learned_caps` (caps learned from -4005, persisted),
//!   `fallback_send` (the reduce-only LIMIT IOC fallback for failing closes);
//! - `progress` (settling each in-flight order, done, failed, the flatten latch), `report`
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
pub(crate) mod config;
mod context;
mod deadman;
mod dispatch;
mod failure;
mod fallback_send;
mod handed;
mod intake;
mod job;
pub(crate) mod keyloss;
mod learned_caps;
mod outage;
mod progress;
mod protect;
pub(crate) mod pulse;
mod record;
mod recovery;
mod report;
mod resting;
mod send;
mod spawn;
mod step;
mod stream;
pub(crate) mod stream_watch;
mod work_loop;

pub use spawn::PreparedExecutor;
pub use spawn::{Executor, ExecutorDeps, ExecutorHandle};
pub(crate) use stream::StreamLink;
pub use work_loop::RecoveryHook;
