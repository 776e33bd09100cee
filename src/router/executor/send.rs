//! Sending one chunk: plan it from the unfilled remainder, admit it through the breaker,
//! write it to `orders`, THEN send it through the adapter, and turn the answer (or the
//! error, through the escalation table) into the job's next step. Chunks are MARKET,
//! or reduce-only LIMIT IOC at the band edge once a close is in fallback ([`fallback_send`]).

use std::time::Instant;

use super::breaker::Outcome;
use super::client_id::IntentRef;
use super::context::Ctx;
use super::escalation::{next_action, Action, FailedOrder};
use super::fallback_send;
use super::job::{Chunk, InFlight, Job, NextChunk};
use super::orders::{checked_order, OrderTemplate};
use super::plan::plan_chunks;
use super::recovery::{cancel_conflicting_reduce_only, leg_size_on_exchange};
use super::rejections::OrderShape;
use crate::domain::{FilterChecked, OrderRequest, OrderType, Qty};
use crate::exchange::{ExchangeError, OrderReport};
use crate::ledger::{NewOrder, NewSymbolCap, OrderState, OrderUpdate};

/// What the executor loop does with a job after one step.
pub(crate) enum Next {
    /// Queue it again, not before this instant.
    Ready(Instant),
    /// An order is in flight: look again when an account event arrives or at the next poll.
    Wait,
    /// The intent reached a terminal state.
    Finished,
}

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
        let why = super::sizing::check_reduce(&rules, remaining)
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
    if job.class == super::scheduler::RiskClass::Increasing {
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

/// Store what the exchange said about an order (status, exchange id). Fills move the
/// filled quantity, never this.
pub(crate) async fn record_report(ctx: &Ctx, r: &OrderReport) -> anyhow::Result<()> {
    ctx.ledger
        .update_order_status(
            &r.client_order_id,
            &OrderUpdate {
                status: OrderState::from(r.status),
                exchange_order_id: Some(r.order_id),
                error_code: None,
                error_msg: None,
            },
        )
        .await?;
    if let Some(reason) = r.expire_reason {
        super::progress::record_expiry(&ctx.ledger, r, reason).await?;
    }
    Ok(())
}

/// The intent cannot go on. An intent that filled anything never ends `failed` (a caller
/// retrying a failure would double its exposure): it ends `done` with what is left
/// undone as its shortfall and `reason` as its error (outcome `done_partial`).
pub(crate) async fn fail(ctx: &Ctx, job: &Job, reason: &str) -> anyhow::Result<()> {
    let filled = job.filled(ctx).await?;
    if !filled.is_zero() {
        let shortfall = job.remainder(ctx).await?.map_or(Qty::ZERO, |(_, q)| q);
        tracing::warn!(intent_id = %job.intent.id, kind = job.intent.kind().as_str(), %filled,
            %shortfall, %reason, "intent done short: the exchange left part of it undone");
        ctx.ledger
            .finish_intent_short(job.intent.id, shortfall, reason)
            .await?;
        return Ok(());
    }
    tracing::warn!(intent_id = %job.intent.id, kind = job.intent.kind().as_str(), %reason, "intent failed");
    ctx.ledger
        .set_intent_state(job.intent.id, crate::domain::IntentState::Failed, reason)
        .await?;
    Ok(())
}

async fn on_error(
    ctx: &mut Ctx,
    job: &mut Job,
    mut chunk: Chunk,
    coid: crate::domain::ClientOrderId,
    shape: OrderShape,
    e: ExchangeError,
) -> anyhow::Result<Next> {
    ctx.breaker_record(Outcome::of_error(&e));
    ctx.outage_hit = Outcome::of_error(&e) == Outcome::ServerError && e.retry_after.is_none();
    let state = if e.is_outcome_unknown() {
        OrderState::Unknown
    } else {
        OrderState::Rejected
    };
    ctx.ledger
        .update_order_status(
            coid.as_str(),
            &OrderUpdate {
                status: state,
                exchange_order_id: None,
                error_code: e.code,
                error_msg: Some(e.msg.clone()),
            },
        )
        .await?;
    chunk.failures += 1;
    let failed = FailedOrder {
        class: job.class,
        order_type: fallback_send::order_type(job),
        failures: chunk.failures,
    };
    let action = next_action(&failed, &e, &ctx.cfg.escalation);
    tracing::warn!(intent_id = %job.intent.id, client_order_id = %coid, code = ?e.code,
        http_status = ?e.http_status, msg = %e.msg, action = ?action, "chunk failed");
    if let Some(why) = super::rejections::repeated_rejection(ctx, job, &action, &e, shape) {
        fail(ctx, job, &why).await?;
        return Ok(Next::Finished);
    }
    act_on(ctx, job, chunk, coid, &e, action).await
}

async fn act_on(
    ctx: &mut Ctx,
    job: &mut Job,
    mut chunk: Chunk,
    coid: crate::domain::ClientOrderId,
    e: &ExchangeError,
    action: Action,
) -> anyhow::Result<Next> {
    let now = Instant::now();
    match action {
        Action::FallbackLimitIoc => Ok(fallback_send::switch(job, &chunk, e.retry_after)),
        Action::Resend { .. } | Action::ResyncClockAndResend => {
            chunk.attempt += 1;
            job.current = Some(chunk);
            Ok(Next::Ready(job.backoff.next_at_after(now, e.retry_after)))
        }
        Action::ResolveByClientId => {
            job.in_flight = Some(InFlight {
                chunk,
                client_order_id: coid,
                report: None,
                unknown: true,
                resolved_terminal: false,
                since: now,
            });
            Ok(Next::Ready(now))
        }
        Action::ShrinkAndReplan => shrink(ctx, job, &chunk).await,
        Action::RereadPositionAndReplan {
            cancel_conflicting_reduce_only: cancel,
        } => {
            if cancel {
                cancel_conflicting_reduce_only(ctx, &chunk.leg.symbol).await;
            }
            job.exchange_size = leg_size_on_exchange(ctx, &chunk.leg).await;
            Ok(Next::Ready(job.backoff.next_at_after(now, e.retry_after)))
        }
        Action::RereadPositionModeAndReplan | Action::ReloadRulesAndReplan => {
            if let Err(err) = ctx.reload_rules().await {
                tracing::warn!(error = %err, "rules reload failed");
            }
            Ok(Next::Ready(job.backoff.next_at_after(now, e.retry_after)))
        }
        Action::AlreadyDone => Ok(Next::Ready(now)),
        Action::KeyLoss(reason) => {
            // Key deleted or IP changed (seed 000): the -2015 is a certain rejection, so
            // the chunk goes again under a fresh attempt once the key works; until then
            // the executor sends nothing (keyloss.rs) and the intent stays working.
            tracing::error!(intent_id = %job.intent.id, %reason, "the exchange refused sluice's credentials");
            ctx.key_loss.observe(e);
            chunk.attempt += 1;
            job.current = Some(chunk);
            Ok(Next::Ready(now))
        }
        Action::Halt(reason) => {
            // The clock cannot be fixed by resyncing: set the persistent halt so no open
            // is sent until an operator resumes; the reason is on the flag and intent.
            if let Err(err) = ctx.ledger.halt("sluice-executor", &reason).await {
                tracing::error!(error = %err, "could not set the halt flag");
            }
            tracing::error!(%reason, "halted");
            fail(ctx, job, &reason).await?;
            Ok(Next::Finished)
        }
        Action::RefuseOpen(reason) | Action::Fail(reason) => {
            fail(ctx, job, &reason).await?;
            Ok(Next::Finished)
        }
    }
}

/// -4005 within the published cap: learn a lower cap, persist it, re-plan the remainder.
async fn shrink(ctx: &mut Ctx, job: &mut Job, chunk: &Chunk) -> anyhow::Result<Next> {
    let symbol = &chunk.leg.symbol;
    let Some(rules) = ctx.rules.get(symbol).cloned() else {
        fail(ctx, job, &format!("{symbol} is not listed")).await?;
        return Ok(Next::Finished);
    };
    let now_ms = Ctx::now_ms();
    match ctx
        .caps
        .on_max_qty_rejected(symbol, chunk.qty, &rules.market_lot_size, now_ms)
    {
        Ok(change) => {
            tracing::warn!(intent_id = %job.intent.id, %change, "learned a hidden MARKET cap");
            persist_cap(ctx, &rules, &change.cap).await?;
            Ok(Next::Ready(Instant::now()))
        }
        Err(super::caps::CapError::AbovePublishedMax { .. }) => {
            if let Err(err) = ctx.reload_rules().await {
                tracing::warn!(error = %err, "rules reload failed");
            }
            Ok(Next::Ready(job.backoff.next_at(Instant::now(), None)))
        }
        Err(e) => {
            fail(ctx, job, &e.to_string()).await?;
            Ok(Next::Finished)
        }
    }
}

/// A MARKET chunk passed the venue's size check: the cap book may raise its learned cap
/// (the upward probe after halving, `caps.rs`), persisted like a lowered one.
async fn market_size_accepted(ctx: &mut Ctx, chunk: &Chunk) -> anyhow::Result<()> {
    let symbol = &chunk.leg.symbol;
    let Some(rules) = ctx.rules.get(symbol).cloned() else {
        return Ok(());
    };
    let change =
        ctx.caps
            .on_market_chunk_accepted(symbol, chunk.qty, &rules.market_lot_size, Ctx::now_ms());
    if let Some(change) = change {
        tracing::info!(%change, "raised a learned MARKET cap");
        persist_cap(ctx, &rules, &change.cap).await?;
    }
    Ok(())
}

async fn persist_cap(
    ctx: &Ctx,
    rules: &crate::domain::SymbolRules,
    cap: &super::caps::LearnedCap,
) -> anyhow::Result<()> {
    let published = Qty::new("published maxQty", rules.market_lot_size.max_qty).ok();
    let record = NewSymbolCap {
        symbol: &cap.symbol,
        max_qty: cap.learned_market_max_qty,
        published_max_qty: published.filter(|q| !q.is_zero()),
        reason: &cap.reason,
        retry_after: Ctx::time_of_ms(cap.retry_after_ms),
    };
    ctx.ledger.record_symbol_cap(&ctx.venue, &record).await?;
    Ok(())
}
