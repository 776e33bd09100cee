//! The router's pure core: no tokio, no I/O, time passed in as a value. Every file here
//! imports only `domain`, `exchange`'s error classes and its siblings.
//!
//! - [`plan`]: split a quantity into chunks every filter accepts (`grid` counts in
//!   whole steps); [`orders`]: the one order builder, a chunk → `FilterChecked<OrderRequest>`.
//! - [`caps`]: per-symbol caps learned from -4005, and when to try the published cap again.
//! - [`client_id`]: deterministic `newClientOrderId`s that encode intent, chunk and attempt.
//! - [`scheduler`]: risk-reducing work always before risk-increasing work.
//! - [`breaker`]: refuses opens while the exchange is in distress; closes keep going;
//!   [`hold`]: the preflight gate's hold on opens.
//! - [`backoff`]: jittered exponential delays that respect the exchange's own `not_before`.
//! - [`escalation`]: what to do next after a failed order; [`fallback`] prices the
//!   reduce-only LIMIT IOC at the PERCENT_PRICE band edge; `rejections`: a repeated
//!   deterministic rejection ends the intent instead of looping.
//! - [`inflight`]: the chunks of an intent out at the exchange and what they reserve.
//! - [`sizing`]: sizes the exchange can carry out (smallest open, step and minQty checks).
//! - [`limit`]: the price a LIMIT intent's chunks are planned at.

pub(crate) mod backoff;
pub(crate) mod breaker;
pub(crate) mod caps;
pub(crate) mod client_id;
pub(crate) mod escalation;
pub(crate) mod fallback;
mod grid;
pub(crate) mod hold;
pub(crate) mod inflight;
pub(crate) mod limit;
pub(crate) mod orders;
pub(crate) mod plan;
mod plan_error;
pub(crate) mod rejections;
pub(crate) mod scheduler;
pub(crate) mod sizing;

#[cfg(test)]
pub(crate) mod fixtures;
#[cfg(test)]
mod flow_tests;
#[cfg(test)]
mod inflight_tests;
