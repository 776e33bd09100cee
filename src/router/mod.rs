//! The router: sizes intents into filter-checked chunk orders and executes them,
//! risk-reducing orders first. It never builds HTTP or SQL; it talks to
//! `Exchange` and the ledger.
//!
//! - [`core`]: the pure part (no tokio, no I/O, time passed in as a value): the chunk
//!   planner, the one order builder, learned caps, client ids, the scheduler, the breaker,
//!   backoff, the escalation table, the LIMIT IOC fallback price, sizing, rejections.
//! - [`executor`]: the one tokio task that drives the core: intake from the ledger,
//!   sending (the requests themselves run off the task), settling, recovery, the user
//!   stream.
//!
//! Files of `core` import only each other; `executor` imports `core`, never the reverse.
//!
//! # The walk of an intent's quantity (HTTP handler → signed query)
//!
//! 1. `api/intents.rs: create` parses the body once (`api/intent_request.rs:
//!    IntentBody::parse`) into `domain::IntentSpec` (the quantity as `Qty`, or an open's
//!    notional as `Usdt`); `submit_open` / `submit_reduce` check sizes against the rules
//!    (`api/sizes.rs`) and name the position by id.
//! 2. `ledger/intents.rs: Ledger::create_intent` stores the spec (budget and one-way
//!    checks for opens, `ledger/intent_checks.rs: resolve_target`) as an `intents` row.
//! 3. `router/executor/work_loop.rs: Loop::intake` loads it back as `IntentRow { spec, .. }`
//!    (an intent the control API stored is handed over in-process instead, and
//!    `router/executor/handed.rs` takes it up with its first chunks in one statement);
//!    `take_up` sizes an open given by notional at the mark (`open_quantity` →
//!    `core/sizing.rs: open_of_notional`).
//! 4. `router/executor/job.rs: Job::remainder` measures what is left from the ledger
//!    (target − Σ fills, or the position's open quantity), by matching on the spec.
//! 5. `router/executor/send.rs: next_chunks` takes the first chunks of the plan of what the
//!    chunks out do not reserve (`core/inflight.rs`, `core/plan.rs: plan_chunks` under
//!    rules, configured and learned caps, mark).
//! 6. `router/executor/record.rs: record` → `build` → `core/orders.rs: checked_order`, the
//!    one order builder: side, position side, reduce-only, client id, and
//!    `domain/checked.rs: validate` → `FilterChecked<OrderRequest>`; the order is written to
//!    `orders` (`ledger/orders.rs: Ledger::record_order`; an open's order with
//!    `record_order_unless_halted`, whose insert also sees the halt clear) before it is sent.
//! 7. `router/executor/dispatch.rs: dispatch` (off the loop) → `exchange/binance/mod.rs:
//!    place_order` → `transport.rs: place_one` (or `place_orders` → `batch.rs:
//!    place_batch`) → `rest/endpoints.rs: new_order_request` (`new_batch_orders`), whose
//!    `order_params` is the one wire builder (the quantity as its decimal string); the
//!    request goes as a signed REST form body (`sign.rs: signed_query` appends recvWindow,
//!    timestamp and the signature) or, with `exchange.order_transport = "ws"` while the
//!    socket is up, as an `order.place` frame of the same params (`wsapi/frame.rs`).
//!
//! The quantity is a `Qty` from step 1 to step 7: parsed from text once (step 1), stored
//! as `NUMERIC` and read back through the same constructor (steps 2–3), cut into a chunk
//! `Qty` (step 5), carried inside the `FilterChecked<OrderRequest>` (step 6) and written
//! as a decimal string only by the wire builder (step 7).

pub(crate) mod core;
pub(crate) mod executor;

pub(crate) use self::core::{breaker, client_id, fallback, hold, orders, plan, sizing};
pub(crate) use self::executor::{config, keyloss, pulse, stream_watch};

pub use config::ExecutorConfig;
pub(crate) use executor::StreamLink;
pub use executor::{Executor, ExecutorDeps, ExecutorHandle, PreparedExecutor, RecoveryHook};
pub use hold::{Held, OpensHold};
pub use keyloss::ExecutorStatus;
pub(crate) use pulse::Pulse;
pub(crate) use stream_watch::StreamHealth;

#[cfg(test)]
pub(crate) use self::core::fixtures;

pub(crate) use breaker::WindowStats;
pub use client_id::{IntentRef, SluiceOrderId};
pub use fallback::band_edge_price;
pub use orders::{to_orders, OrderTemplate};
pub use plan::{plan_chunks, CapSource, ChunkCap, ChunkPlan, PlanError};
