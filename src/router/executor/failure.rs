//! A chunk the exchange refused or did not answer: record the outcome, ask the
//! escalation table what to do ([`crate::router::core::escalation`]) and do it: re-send
//! under a fresh attempt, resolve by client order id, shrink to a learned cap, re-read
//! the leg, reload the rules, switch a failing close to the LIMIT IOC fallback, or stop
//! the intent. A repeated deterministic rejection stops it too (`core::rejections`).
//! Only the failed chunk is acted on: the job's other chunks out are still awaited, and
//! a stop ends the intent once they have settled (`work_loop`).

use std::time::Instant;

use super::context::Ctx;
use super::fallback_send;
use super::job::{Chunk, Job, Stop};
use super::learned_caps::persist_cap;
use super::recovery::{cancel_conflicting_reduce_only, leg_size_on_exchange};
use crate::domain::ClientOrderId;
use crate::exchange::{ExchangeError, Purpose};
use crate::ledger::{OrderState, OrderUpdate};
use crate::router::core::breaker::Outcome;
use crate::router::core::escalation::{next_action, Action, FailedOrder};
use crate::router::core::inflight::Stage;
use crate::router::core::rejections::{OrderShape, Verdict};

/// What a rules reload after a refusal is booked as: risk-reducing, an open's too. A
/// close's re-plan waits on it, and every reload here is awaited inside the executor's one
/// loop, so an open's routine reload held for the next minute would hold every close
/// queued behind it (the same reason every mark read from the loop may use the reserve:
/// `Ctx::mark`). An open's reload follows a refusal of an order it sent, and an open
/// refused the same way again fails (`core::rejections`), so opens cannot drain the
/// reserve this way.
const LOOP_RELOAD: Purpose = Purpose::ReduceRisk;

/// The exchange refused the flight `coid` (or its outcome is unknown): record that, then
/// act on the job (re-send, resolve, shrink, re-plan, stop).
pub(crate) async fn on_error(
    ctx: &mut Ctx,
    job: &mut Job,
    coid: &ClientOrderId,
    shape: OrderShape,
    e: ExchangeError,
) -> anyhow::Result<()> {
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
    let order_type = fallback_send::order_type(job);
    let Some(f) = job.flights.get_mut(coid.as_str()) else {
        return Ok(());
    };
    f.data.chunk.failures += 1;
    let failed = FailedOrder {
        class: job.class,
        order_type,
        failures: f.data.chunk.failures,
    };
    let action = next_action(&failed, &e, &ctx.cfg.escalation);
    tracing::warn!(intent_id = %job.intent.id, client_order_id = %coid, code = ?e.code,
        http_status = ?e.http_status, msg = %e.msg, action = ?action, "chunk failed");
    if let Some(why) = limit_refusal(job, &e) {
        job.flights.remove(coid.as_str());
        job.stop(Stop::Fail(why));
        return Ok(());
    }
    if let Some(why) = repeated_rejection(ctx, job, &action, &e, shape) {
        job.flights.remove(coid.as_str());
        job.stop(Stop::Fail(why));
        return Ok(());
    }
    act_on(ctx, job, coid.as_str(), &e, action).await
}

async fn act_on(
    ctx: &mut Ctx,
    job: &mut Job,
    id: &str,
    e: &ExchangeError,
    action: Action,
) -> anyhow::Result<()> {
    let now = Instant::now();
    let backoff = |job: &mut Job| {
        let at = job.backoff.next_at_after(now, e.retry_after);
        job.not_before = Some(job.not_before.map_or(at, |t| t.max(at)));
    };
    match action {
        Action::Resend { .. } | Action::ResyncClockAndResend => {
            again(job, id, Stage::Resend);
            backoff(job);
        }
        Action::ResolveByClientId => again(job, id, Stage::Unknown),
        Action::KeyLoss(reason) => {
            // Key deleted or IP changed (seed 000): the -2015 is a certain rejection, so
            // the chunk goes again under a fresh attempt once the key works; until then
            // the executor sends nothing (keyloss.rs) and the intent stays working.
            tracing::error!(intent_id = %job.intent.id, %reason, "the exchange refused sluice's credentials");
            ctx.key_loss.observe(e);
            again(job, id, Stage::Resend);
        }
        action => {
            // Certainly not executed: the chunk leaves; what is left is re-planned.
            let Some(chunk) = job.flights.remove(id).map(|f| f.data.chunk) else {
                return Ok(());
            };
            replan(ctx, job, &chunk, e, action).await?;
        }
    }
    Ok(())
}

/// A LIMIT intent's order refused for what the intent itself asked: a post-only order
/// that would take (-5022) or a GTD date too near (-5040). Sending it again would earn the
/// same answer, so the intent ends with the venue's reason (docs/binance-fapi.md §2.2).
fn limit_refusal(job: &Job, e: &ExchangeError) -> Option<String> {
    job.intent.limit?;
    let what = match e.code? {
        -5022 => "the post-only (GTX) order would have taken liquidity",
        -5040 => "the GTD order's good_till_date is too near or too far",
        _ => return None,
    };
    Some(format!(
        "refused by the exchange: {what} ({} {})",
        e.code.unwrap_or_default(),
        e.msg
    ))
}

/// The flight stays, to be re-sent (a fresh attempt) or resolved.
fn again(job: &mut Job, id: &str, stage: Stage) {
    if let Some(f) = job.flights.get_mut(id) {
        if stage == Stage::Resend {
            f.data.chunk.attempt += 1;
        }
        f.stage = stage;
        f.data.since = Instant::now();
    }
}

/// A refused chunk was dropped: do what `action` says before the remainder is re-planned.
async fn replan(
    ctx: &mut Ctx,
    job: &mut Job,
    chunk: &Chunk,
    e: &ExchangeError,
    action: Action,
) -> anyhow::Result<()> {
    let now = Instant::now();
    let later = |job: &mut Job| {
        let at = job.backoff.next_at_after(now, e.retry_after);
        job.not_before = Some(job.not_before.map_or(at, |t| t.max(at)));
    };
    match action {
        Action::FallbackLimitIoc => fallback_send::switch(job, chunk, e.retry_after),
        Action::ShrinkAndReplan => shrink(ctx, job, chunk).await?,
        Action::RereadPositionAndReplan {
            cancel_conflicting_reduce_only: cancel,
        } => {
            if cancel {
                cancel_conflicting_reduce_only(ctx, &chunk.leg.symbol).await;
            }
            job.exchange_size = leg_size_on_exchange(ctx, &chunk.leg).await;
            later(job);
        }
        Action::RereadPositionModeAndReplan | Action::ReloadRulesAndReplan => {
            if let Err(err) = ctx.reload_rules(LOOP_RELOAD).await {
                tracing::warn!(error = %err, "rules reload failed");
            }
            later(job);
        }
        Action::Halt(reason) => {
            // The clock cannot be fixed by resyncing: set the persistent halt so no open
            // is sent until an operator resumes; the reason is on the flag and intent.
            if let Err(err) = ctx.ledger.halt("sluice-executor", &reason).await {
                tracing::error!(error = %err, "could not set the halt flag");
            }
            tracing::error!(%reason, "halted");
            job.stop(Stop::Fail(reason));
        }
        Action::RefuseOpen(reason) | Action::Fail(reason) => job.stop(Stop::Fail(reason)),
        Action::AlreadyDone
        | Action::Resend { .. }
        | Action::ResyncClockAndResend
        | Action::ResolveByClientId
        | Action::KeyLoss(_) => {}
    }
    Ok(())
}

/// -4005 within the published cap: learn a lower cap, persist it, and plan nothing new
/// until the chunks already out (planned at the old size) have answered.
async fn shrink(ctx: &mut Ctx, job: &mut Job, chunk: &Chunk) -> anyhow::Result<()> {
    let symbol = &chunk.leg.symbol;
    let Some(rules) = ctx.rules.get(symbol).cloned() else {
        job.stop(Stop::Fail(format!("{symbol} is not listed")));
        return Ok(());
    };
    job.flights.cap_refused();
    let now_ms = Ctx::now_ms();
    match ctx
        .caps
        .on_max_qty_rejected(symbol, chunk.qty, &rules.market_lot_size, now_ms)
    {
        Ok(change) => {
            tracing::warn!(intent_id = %job.intent.id, %change, "learned a hidden MARKET cap");
            persist_cap(ctx, &rules, &change.cap).await?;
        }
        Err(crate::router::core::caps::CapError::AbovePublishedMax { .. }) => {
            if let Err(err) = ctx.reload_rules(LOOP_RELOAD).await {
                tracing::warn!(error = %err, "rules reload failed");
            }
            job.not_before = Some(job.backoff.next_at(Instant::now(), None));
        }
        Err(e) => job.stop(Stop::Fail(e.to_string())),
    }
    Ok(())
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
