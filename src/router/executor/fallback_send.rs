//! The reduce-only LIMIT IOC fallback, on the executor's side (README: "Reduce-only LIMIT IOC
//! fallback"; the pricing itself is `router::fallback`).
//!
//! Trigger (the pure table in [`crate::router::core::escalation`], only when
//! `escalation.limit_ioc_fallback` is on): a risk-reducing MARKET chunk has failed
//! `escalation.fallback_after` times in a row (this failure included) and this failure is
//! a transient refusal (5xx, -1008, -1001... classes `Retry`/`Backoff`) or a -2010; or
//! once on -4131 (no counterparty inside the band for a MARKET order). Every one of these
//! is certain not to have executed, so the failed chunk is dropped, not resolved.
//!
//! From then on the intent is sticky in fallback: its remainder is re-planned as LIMIT
//! chunks under LOT_SIZE (not MARKET_LOT_SIZE; a cap learned from a MARKET -4005 does not
//! apply) and each chunk is sent as reduce-only LIMIT IOC at the PERCENT_PRICE band edge
//! ([`band_edge_price`]) of a fresh mark, through the same record-before-send path and
//! client order ids as every other chunk. An IOC that fills partly or not at all simply
//! leaves a remainder the next chunk takes (after a backoff, as any short fill). A -4016 /
//! -4024 (the band moved between pricing and matching) re-prices the next attempt at a
//! fresh mark instead of failing the close.

use std::time::Instant;

use rust_decimal::Decimal;

use super::context::{Ctx, MarkFreshness};
use super::job::{Chunk, Job};
use crate::domain::{OrderType, Price, Side, Symbol, SymbolRules};
use crate::router::core::fallback::band_edge_price;

/// The order type the job's next chunk is planned and sent as.
pub(crate) fn order_type(job: &Job) -> OrderType {
    if job.limit_fallback || job.intent.limit.is_some() {
        OrderType::Limit
    } else {
        OrderType::Market
    }
}

/// Switch `job` to the fallback after `failed` (certainly not executed) was refused.
pub(crate) fn switch(job: &mut Job, failed: &Chunk, retry_after: Option<std::time::Duration>) {
    tracing::warn!(intent_id = %job.intent.id, symbol = %failed.leg.symbol, chunk = failed.index,
        failures = failed.failures, "MARKET close keeps failing: falling back to reduce-only LIMIT IOC at the band edge");
    job.limit_fallback = true;
    // Chunks waiting to be re-sent as MARKET are re-planned as LIMIT instead.
    job.flights.drop_resends();
    job.not_before = Some(job.backoff.next_at_after(Instant::now(), retry_after));
}

/// Price, time in force and the mark it was priced at, for one fallback chunk.
pub(crate) struct LimitTerms {
    pub price: Price,
    pub mark: Price,
}

impl LimitTerms {
    /// The order builder's terms: this price, IOC (what does not fill at once expires).
    pub(crate) fn terms(&self) -> crate::domain::LimitTerms {
        crate::domain::LimitTerms {
            price: crate::domain::LimitPrice::Fixed(self.price),
            time_in_force: crate::domain::LimitTif::Ioc,
        }
    }
}

/// The band-edge terms for a `side` order on `symbol`, priced at a fresh mark (a stale
/// one could put the edge outside the band: -4016/-4024). Err: why it cannot be priced.
pub(crate) async fn terms(
    ctx: &mut Ctx,
    rules: &SymbolRules,
    symbol: &Symbol,
    side: Side,
) -> anyhow::Result<Result<LimitTerms, String>> {
    // A recent mark, not the minute-old one a reducing chunk may use: it prices the order.
    let mark = ctx.mark(symbol, MarkFreshness::Recent).await?;
    let inset: Decimal = ctx.cfg.limit_ioc_inset;
    Ok(band_edge_price(rules, side, mark, inset)
        .map(|price| LimitTerms { price, mark })
        .map_err(|e| format!("LIMIT IOC fallback cannot be priced: {e}")))
}
