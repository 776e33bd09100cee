//! A job's progress between sends: waiting for an in-flight order's fills to reach the
//! ledger (resolving it over REST when its outcome is unknown or its fills are late),
//! and deciding when an intent is done.
//!
//! Invariants:
//! - a job never plans its next chunk while an order of it may still execute;
//! - an order whose fills came over REST (late, or the stream silent) is followed by a
//!   REST read of positions into `exchange_positions`, so that view never goes stale;
//! - an intent is `done` only when nothing is left to send, or (outcome `done_partial`, via
//!   `fail`) when something filled and the rest cannot be sent; a flatten additionally
//!   stays `working` (latched) until `Exchange::positions()` shows its scope flat.

use std::time::Instant;

use super::context::Ctx;
use super::job::Job;
use super::job::Next;
use super::recovery::{leg_size_on_exchange, resolve, Resolved};
use crate::domain::{AfterExpiry, ExpireReason, IntentKind, IntentState, Qty};

/// Is the in-flight order settled (terminal, every reported fill in the ledger)?
pub(crate) enum Settle {
    Settled,
    Pending(Next),
}

pub(crate) async fn settle(ctx: &mut Ctx, job: &mut Job) -> anyhow::Result<Settle> {
    let Some(f) = job.in_flight.as_mut() else {
        return Ok(Settle::Settled);
    };
    // A silent stream will not bring the fills: resolve over REST at once.
    let late = f.since.elapsed() >= ctx.cfg.settle_timeout || ctx.stream.is_silent();
    if f.unknown || late {
        tracing::debug!(client_order_id = %f.client_order_id, unknown = f.unknown, "resolving an in-flight order over REST");
        let symbol = f.chunk.leg.symbol.clone();
        match resolve(ctx, &symbol, &f.client_order_id).await? {
            Ok(Resolved::Known(report)) => {
                if !report.executed_qty.is_zero() {
                    ctx.stream.executed(f.client_order_id.as_str());
                    if report.status.is_terminal() {
                        // Its fills came over REST: so does the exchange's view of positions.
                        super::recovery::refresh_exchange_positions(ctx).await;
                    }
                }
                f.resolved_terminal = report.status.is_terminal();
                f.report = Some(report);
                f.unknown = false;
                f.since = Instant::now();
            }
            Ok(Resolved::NeverExecuted) => {
                // Never executed: the same chunk may go again, under a fresh attempt id.
                let mut chunk = f.chunk.clone();
                chunk.attempt += 1;
                job.in_flight = None;
                job.current = Some(chunk);
                return Ok(Settle::Settled);
            }
            Err(e) => {
                ctx.key_loss.observe(&e);
                ctx.breaker_record(crate::router::core::breaker::Outcome::of_error(&e));
                tracing::warn!(client_order_id = %f.client_order_id, error = %e, "resolve failed; backing off");
                let at = job.backoff.next_at_after(Instant::now(), e.retry_after);
                return Ok(Settle::Pending(Next::Ready(at)));
            }
        }
    }
    let Some(f) = job.in_flight.as_ref() else {
        return Ok(Settle::Settled);
    };
    let row = ctx
        .ledger
        .order_by_client_id(f.client_order_id.as_str())
        .await?;
    let reported = f.report.as_ref().map(|r| r.executed_qty);
    // Settled when the ledger has every fill the exchange reported, or when a REST
    // resolution found the order terminal and applied every trade it lists: waiting
    // longer could only ever wait forever.
    let resolved = f.resolved_terminal;
    let Some(o) = row.filter(|o| {
        o.status.is_terminal() && (resolved || reported.is_none_or(|q| o.filled_quantity >= q))
    }) else {
        tracing::trace!(client_order_id = %f.client_order_id, ?reported, "waiting for the order to settle");
        return Ok(Settle::Pending(Next::Wait));
    };
    if !resolved && awaits_expire_reason(&o) {
        // The REST answer said EXPIRED; the stream's update says why (`er`), and the
        // remainder's next step depends on it. A stream that never says is covered by the
        // settle timeout: the REST resolution above ends the wait.
        tracing::trace!(client_order_id = %o.client_order_id, "waiting for the expire reason");
        return Ok(Settle::Pending(Next::Wait));
    }
    if let Some(executed) = reported.filter(|q| o.filled_quantity < *q) {
        // The exchange says more executed than its trades show. The ledger follows the
        // trades (the only thing that moves quantities); the anomaly is the evidence and
        // reconcile shows any size difference that results.
        ctx.ledger.record_fills_short(&o, executed.get()).await?;
    }
    let chunk = job.in_flight.take().map(|f| f.chunk);
    if o.filled_quantity < o.quantity {
        return Ok(Settle::Pending(
            after_short_expiry(ctx, job, &o, chunk).await,
        ));
    }
    job.backoff.reset();
    Ok(Settle::Settled)
}

fn awaits_expire_reason(o: &crate::ledger::OrderRow) -> bool {
    o.status == crate::ledger::OrderState::Expired
        && o.expire_reason.is_none()
        && o.filled_quantity < o.quantity
}

/// The order ended short of its quantity: what happens to the remainder depends on why
/// the exchange expired it (`er`, docs/binance-fapi.md §5.3). An IOC or MARKET remainder
/// (`er` 2/9) is re-planned at once when the order made progress and the job is not
/// already backing off (so at most once in a row: a book refilling drop by drop is never
/// hammered); otherwise it waits out the backoff like any other reason (self-trade
/// prevention: the resting order is still there). A reduce-only order knocked out
/// (`er` 4) re-reads the leg from the exchange, then plans (at once, the first time).
async fn after_short_expiry(
    ctx: &mut Ctx,
    job: &mut Job,
    o: &crate::ledger::OrderRow,
    chunk: Option<super::job::Chunk>,
) -> Next {
    let now = Instant::now();
    let rule = ExpireReason::after_expiry(o.expire_reason);
    let er = o.expire_reason.map(ExpireReason::code);
    let progressed = !o.filled_quantity.is_zero();
    let next = match rule {
        AfterExpiry::ReplanNow if progressed && job.backoff.attempts() == 0 => {
            // Counted, so the next short expiry before a full fill backs off.
            job.backoff.next_delay();
            Next::Ready(now)
        }
        AfterExpiry::RereadPositionThenReplan => {
            if let Some(c) = &chunk {
                job.exchange_size = leg_size_on_exchange(ctx, &c.leg).await;
            }
            // Planned against the real size at once; knocked out again, it backs off.
            let first = job.backoff.attempts() == 0;
            let delay = job.backoff.next_delay();
            Next::Ready(if first { now } else { now + delay })
        }
        _ => Next::Ready(job.backoff.next_at(now, None)),
    };
    tracing::info!(client_order_id = %o.client_order_id, filled = %o.filled_quantity,
        quantity = %o.quantity, ?er, ?rule, exchange_size = ?job.exchange_size,
        "chunk expired short; remainder re-planned");
    next
}

/// Nothing is left to send: mark the intent done, unless a flatten's exchange scope is
/// not flat yet (the latch).
pub(crate) async fn finish(ctx: &mut Ctx, job: &mut Job) -> anyhow::Result<Next> {
    if job.intent.kind() == IntentKind::Flatten {
        match flatten_scope_open(ctx, job).await {
            Ok(false) => {}
            Ok(true) => {
                if ctx.cfg.adopt_unknown_positions {
                    // The exchange holds what the ledger does not: take it over so it can be closed.
                    super::adoption::adopt_unknown_positions(ctx).await?;
                }
                return Ok(Next::Ready(Instant::now() + ctx.cfg.flatten_recheck));
            }
            Err(e) => {
                ctx.key_loss.observe(&e);
                tracing::warn!(error = %e, "flatten latch: reading positions failed");
                return Ok(Next::Ready(
                    job.backoff.next_at_after(Instant::now(), e.retry_after),
                ));
            }
        }
    }
    let cause = match job.intent.kind() {
        IntentKind::Flatten => "the exchange confirms the scope flat",
        IntentKind::Open => "target quantity filled",
        _ => "nothing left to close",
    };
    ctx.ledger
        .set_intent_state(job.intent.id, IntentState::Done, cause)
        .await?;
    tracing::info!(intent_id = %job.intent.id, kind = job.intent.kind().as_str(), cause, "intent done");
    Ok(Next::Finished)
}

/// Does the exchange still hold a non-zero position in the flatten's scope?
async fn flatten_scope_open(ctx: &Ctx, job: &Job) -> Result<bool, crate::exchange::ExchangeError> {
    let positions = ctx.exchange.positions().await?;
    let scope = job.intent.spec.symbol();
    Ok(positions
        .iter()
        .any(|p| !p.amount.is_zero() && scope.is_none_or(|s| &p.symbol == s)))
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
