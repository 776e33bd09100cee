//! Sending one chunk: plan it from the unfilled remainder (the first chunk of
//! `core::plan`), admit it through the breaker, build it with the one order builder
//! (`core::orders::checked_order`), write it to `orders`, THEN send it through the
//! adapter, and turn the answer into the job's next step (an error goes through
//! [`super::failure`]). Chunks are MARKET, or reduce-only LIMIT IOC at the band edge
//! once a close is in fallback ([`fallback_send`]). A re-sent chunk keeps its quantity
//! and index under a fresh attempt; only its LIMIT price is read again.

use std::time::Instant;

use super::context::Ctx;
use super::failure::on_error;
use super::fallback_send;
use super::job::{Chunk, InFlight, Job, Next, NextChunk};
use super::learned_caps::market_size_accepted;
use super::progress::fail;
use super::report::record_report;
use crate::domain::{FilterChecked, OrderRequest, OrderType};
use crate::ledger::NewOrder;
use crate::router::core::breaker::Outcome;
use crate::router::core::client_id::IntentRef;
use crate::router::core::orders::{checked_order, OrderTemplate};
use crate::router::core::plan::plan_chunks;
use crate::router::core::rejections::OrderShape;

/// Plan the next chunk from the ledger's remainder.
pub(crate) async fn next_chunk(ctx: &mut Ctx, job: &mut Job) -> anyhow::Result<NextChunk> {
    let Some((leg, remaining)) = job.remainder(ctx).await? else {
        return Ok(NextChunk::Nothing);
    };
    if remaining.is_zero() {
        return Ok(NextChunk::Nothing);
    }
    let Some(rules) = ctx.rules.get(&leg.symbol).cloned() else {
        return Ok(NextChunk::Fail(format!(
            "{} is not listed by the exchange",
            leg.symbol
        )));
    };
    let reduce = job.intent.kind().reduces_risk();
    let mark = ctx.mark(&leg.symbol, reduce).await?;
    let order_type = fallback_send::order_type(job);
    // A cap learned from a MARKET -4005 bounds MARKET chunks only.
    let learned = (order_type == OrderType::Market)
        .then(|| ctx.caps.cap(&leg.symbol, Ctx::now_ms()))
        .flatten();
    let plan = plan_chunks(
        remaining,
        &rules,
        order_type,
        reduce,
        ctx.cfg.chunk_cap,
        learned,
        mark,
    );
    // A remainder the exchange cannot take (below minQty or MIN_NOTIONAL after a partial
    // fill, off the step) is never "done" silently: `fail` ends it `failed` when nothing
    // filled, `done` with the shortfall stated when something did.
    let plan = match plan {
        Ok(p) => p,
        Err(e) => {
            return Ok(NextChunk::Fail(format!(
                "cannot send the remaining {remaining} {}: {e}",
                leg.symbol
            )))
        }
    };
    let Some(qty) = plan.chunks.first().copied() else {
        if job.intent.kind() == crate::domain::IntentKind::Flatten {
            // The flatten latch asks the exchange whether the scope is flat.
            return Ok(NextChunk::Nothing);
        }
        let why = crate::router::core::sizing::check_reduce(&rules, remaining)
            .err()
            .map_or_else(|| "no chunk can be planned".to_string(), |e| e.0);
        return Ok(NextChunk::Fail(format!(
            "cannot send the remaining {remaining} {}: {why}",
            leg.symbol
        )));
    };
    let index = job.take_index();
    Ok(NextChunk::Send(Chunk {
        leg,
        index,
        qty,
        attempt: 0,
        failures: 0,
    }))
}

/// Build, record and send `chunk`.
pub(crate) async fn send(ctx: &mut Ctx, job: &mut Job, chunk: Chunk) -> anyhow::Result<Next> {
    if job.class == crate::router::core::scheduler::RiskClass::Increasing {
        let halt = ctx.ledger.halt_state().await?;
        if halt.halted {
            // The rest of the open is left unsent; the halt is the cause (ledger/halt.rs).
            let cause = halt.refusal();
            tracing::warn!(intent_id = %job.intent.id, %cause, "open cancelled by the halt");
            ctx.ledger
                .set_intent_state(job.intent.id, crate::domain::IntentState::Cancelled, &cause)
                .await?;
            return Ok(Next::Finished);
        }
    }
    if let Err(refusal) = ctx.admit(job.class) {
        fail(ctx, job, &format!("refused: {}", refusal.reason)).await?;
        return Ok(Next::Finished);
    }
    let order = match build(ctx, job, &chunk).await? {
        Ok(o) => o,
        Err(reason) => {
            fail(ctx, job, &reason).await?;
            return Ok(Next::Finished);
        }
    };
    let req = order.inner();
    ctx.ledger
        .record_order(&NewOrder {
            intent_id: job.intent.id,
            position_id: chunk.leg.position_id,
            request: req.clone(),
            chunk_index: i32::try_from(chunk.index).unwrap_or(i32::MAX),
            attempt: i32::try_from(chunk.attempt).unwrap_or(i32::MAX),
        })
        .await?;
    tracing::info!(intent_id = %job.intent.id, symbol = %req.symbol, client_order_id = %req.client_order_id,
        qty = %req.quantity, side = req.side.as_wire(), reduce_only = req.reduce_only,
        order_type = ?req.order_type, price = ?req.price, "sending chunk");
    let coid = req.client_order_id.clone();
    let shape = OrderShape::of(req);
    match ctx.exchange.place_order(&order).await {
        Ok(report) => {
            ctx.breaker_record(Outcome::Success);
            job.rejections.clear();
            record_report(ctx, &report).await?;
            if !report.executed_qty.is_zero() {
                // REST says it executed: the user stream owes its fills (silence check).
                ctx.stream.executed(coid.as_str());
            }
            if req.order_type == OrderType::Market {
                market_size_accepted(ctx, &chunk).await?;
            }
            job.in_flight = Some(InFlight {
                chunk,
                client_order_id: coid,
                report: Some(report),
                unknown: false,
                resolved_terminal: false,
                since: Instant::now(),
            });
            if ctx.stream.is_silent() {
                // No event will wake the job: settle (over REST) at once.
                return Ok(Next::Ready(Instant::now()));
            }
            Ok(Next::Wait)
        }
        Err(e) => on_error(ctx, job, chunk, coid, shape, e).await,
    }
}

async fn build(
    ctx: &mut Ctx,
    job: &Job,
    chunk: &Chunk,
) -> anyhow::Result<Result<FilterChecked<OrderRequest>, String>> {
    let Some(rules) = ctx.rules.get(&chunk.leg.symbol).cloned() else {
        return Ok(Err(format!("{} is not listed", chunk.leg.symbol)));
    };
    let mut template = OrderTemplate {
        kind: job.intent.kind(),
        intent: IntentRef::Seq(u64::try_from(job.intent.id.get()).unwrap_or(0)),
        direction: chunk.leg.direction,
        mode: chunk.leg.mode,
        order_type: fallback_send::order_type(job),
        limit: None,
        first_chunk: chunk.index,
        attempt: chunk.attempt,
    };
    let mark = if template.order_type == OrderType::Limit {
        match fallback_send::terms(ctx, &rules, &chunk.leg.symbol, template.side()).await? {
            Ok(t) => {
                template.limit = Some((t.price, t.time_in_force));
                t.mark
            }
            Err(reason) => return Ok(Err(reason)),
        }
    } else {
        ctx.mark(&chunk.leg.symbol, job.intent.kind().reduces_risk())
            .await?
    };
    Ok(checked_order(&rules, &template, chunk.qty, mark)
        .map_err(|e| format!("chunk cannot be built: {e}")))
}
