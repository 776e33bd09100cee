//! A chunk the exchange refused or did not answer: record the outcome, ask the
//! escalation table what to do ([`crate::router::core::escalation`]) and do it: re-send
//! under a fresh attempt, resolve by client order id, shrink to a learned cap, re-read
//! the leg, reload the rules, switch a failing close to the LIMIT IOC fallback, or end
//! the intent. A repeated deterministic rejection ends it too (`core::rejections`).

use std::time::Instant;

use super::context::Ctx;
use super::fallback_send;
use super::job::{Chunk, InFlight, Job, Next};
use super::learned_caps::persist_cap;
use super::progress::fail;
use super::recovery::{cancel_conflicting_reduce_only, leg_size_on_exchange};
use crate::exchange::ExchangeError;
use crate::ledger::{OrderState, OrderUpdate};
use crate::router::core::breaker::Outcome;
use crate::router::core::escalation::{next_action, Action, FailedOrder};
use crate::router::core::rejections::{OrderShape, Verdict};

/// The exchange refused `chunk` (or its outcome is unknown): record that, then act.
pub(crate) async fn on_error(
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
    if let Some(why) = repeated_rejection(ctx, job, &action, &e, shape) {
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
        Err(crate::router::core::caps::CapError::AbovePublishedMax { .. }) => {
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

/// A re-plan answer (reload the rules or the position mode) to a rejection the venue
/// already gave: the failure reason when re-planning cannot fix it (`rejections`), after
/// an ERROR log and the metric; None to go on re-planning.
pub(crate) fn repeated_rejection(
    ctx: &Ctx,
    job: &mut Job,
    action: &Action,
    e: &ExchangeError,
    shape: OrderShape,
) -> Option<String> {
    if !matches!(
        action,
        Action::ReloadRulesAndReplan | Action::RereadPositionModeAndReplan
    ) {
        return None;
    }
    let code = e.code?;
    let max = ctx.cfg.escalation.max_rule_reloads;
    let Verdict::GiveUp(why) = job.rejections.observe(job.class, code, shape, max) else {
        return None;
    };
    let status = e
        .http_status
        .map_or_else(|| "no response".to_string(), |s| format!("HTTP {s}"));
    let reason = format!(
        "exchange rejection re-planning cannot fix: {status} code {code} \"{}\"; {why}",
        e.msg
    );
    tracing::error!(intent_id = %job.intent.id, kind = job.intent.kind().as_str(), code,
        msg = %e.msg, %why, "deterministic rejection: failing the intent instead of re-sending");
    crate::metrics::record_deterministic_rejection(code);
    Some(reason)
}
