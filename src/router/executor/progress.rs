//! A job's progress between sends: waiting for each in-flight order's fills to reach the
//! ledger (resolving it over REST when its outcome is unknown or its fills are late),
//! and deciding when an intent is done.
//!
//! Invariants:
//! - an order that may still execute keeps its quantity reserved (`core::inflight`): it
//!   leaves the job's flights only once settled, or resolved as never executed (then it
//!   is re-sent as the same chunk under a fresh attempt);
//! - an order whose fills came over REST (late, or the stream silent) is followed by a
//!   REST read of positions into `exchange_positions`, so that view never goes stale;
//! - an intent is `done` only when nothing is left to send, or (outcome `done_partial`, via
//!   `fail`) when something filled and the rest cannot be sent; a flatten additionally
//!   stays `working` (latched) until `Exchange::positions()` shows its scope flat.

use std::collections::HashMap;
use std::time::Instant;

use rust_decimal::Decimal;

use super::context::Ctx;
use super::job::Job;
use super::job::Next;
use super::recovery::{leg_size_on_exchange, resolve, Resolved};
use crate::domain::{AfterExpiry, ClientOrderId, ExpireReason, IntentKind, IntentState, Qty};
use crate::ledger::{OrderProgress, OrderRow};
use crate::router::core::inflight::Stage;

/// What the ledger had applied as filled for each flight of a job (by client order id),
/// read at the start of a step.
pub(crate) type FlightFills = HashMap<String, Decimal>;

/// Settle every answered flight of `job`: resolve an unknown or late one over REST, drop
/// one whose fills are all in the ledger, turn a never-executed one into a re-send. A
/// failed resolution or a short expiry sets `job.not_before` (nothing new before it).
///
/// The settling view of all the job's flights (re-sends aside: status, quantities, expire
/// reason) is read in one query; what it says was filled is returned for planning, which
/// must read it before the remainder. Only a flight that settles short reads its full row.
pub(crate) async fn settle_all(ctx: &mut Ctx, job: &mut Job) -> anyhow::Result<FlightFills> {
    let ids: Vec<String> = job
        .flights
        .iter()
        .filter(|f| f.stage != Stage::Resend)
        .map(|f| f.client_order_id.clone())
        .collect();
    let mut rows: HashMap<String, OrderProgress> = ctx
        .ledger
        .order_progress(&ids)
        .await?
        .into_iter()
        .map(|o| (o.client_order_id.clone(), o))
        .collect();
    let filled: FlightFills = rows
        .iter()
        .map(|(id, o)| (id.clone(), o.filled_quantity.get()))
        .collect();
    let answered: Vec<String> = job
        .flights
        .iter()
        .filter(|f| matches!(f.stage, Stage::Accepted | Stage::Unknown))
        .map(|f| f.client_order_id.clone())
        .collect();
    for id in answered {
        let row = rows.remove(&id);
        if let Some(at) = settle(ctx, job, &id, row).await? {
            job.not_before = Some(job.not_before.map_or(at, |t| t.max(at)));
        }
    }
    Ok(filled)
}

/// One flight, with its settling view as read at the start of the step: Some(instant)
/// when nothing new may be sent before it.
async fn settle(
    ctx: &mut Ctx,
    job: &mut Job,
    id: &str,
    row: Option<OrderProgress>,
) -> anyhow::Result<Option<Instant>> {
    let is_limit = super::resting::is_limit(job);
    let Some(f) = job.flights.get_mut(id) else {
        return Ok(None);
    };
    let unknown = f.stage == Stage::Unknown;
    let patience = super::resting::patience(is_limit, &f.data, ctx.cfg.settle_timeout);
    // A silent stream will not bring the fills: resolve over REST at once.
    let late = f.data.since.elapsed() >= patience || ctx.stream.is_silent();
    let mut row = row;
    if unknown || late {
        if let Some(at) = resolve_flight(ctx, job, id).await? {
            return Ok(Some(at));
        }
        // The resolution may have applied fills and a status: read the row again.
        row = ctx
            .ledger
            .order_by_client_id(id)
            .await?
            .map(OrderProgress::from);
    }
    let Some(f) = job
        .flights
        .get_mut(id)
        .filter(|f| f.stage == Stage::Accepted)
    else {
        return Ok(None);
    };
    let reported = f.data.report.as_ref().map(|r| r.executed_qty);
    // Settled when the ledger has every fill the exchange reported, or when a REST
    // resolution found the order terminal and applied every trade it lists: waiting
    // longer could only ever wait forever.
    let resolved = f.data.resolved_terminal;
    let Some(o) = row.filter(|o| {
        o.status.is_terminal() && (resolved || reported.is_none_or(|q| o.filled_quantity >= q))
    }) else {
        tracing::trace!(client_order_id = %id, ?reported, "waiting for the order to settle");
        return Ok(None);
    };
    if !resolved && awaits_expire_reason(&o) {
        // The REST answer said EXPIRED; the stream's update says why (`er`), and the
        // remainder's next step depends on it. A stream that never says is covered by the
        // settle timeout: the REST resolution above ends the wait.
        tracing::trace!(client_order_id = %o.client_order_id, "waiting for the expire reason");
        return Ok(None);
    }
    if o.filled_quantity < o.quantity || reported.is_some_and(|q| o.filled_quantity < q) {
        // Rare: short of its quantity, or of what the exchange reported executed. What
        // follows needs the whole row, read now (it can only have moved forward).
        return match ctx.ledger.order_by_client_id(id).await? {
            Some(o) => settle_short(ctx, job, id, &o, reported).await,
            None => Ok(None),
        };
    }
    job.flights.remove(id);
    job.backoff.reset();
    Ok(None)
}

/// A terminal flight the ledger shows short of its quantity or of what the exchange
/// reported executed: record the anomaly, then end it or re-plan its remainder.
async fn settle_short(
    ctx: &mut Ctx,
    job: &mut Job,
    id: &str,
    o: &OrderRow,
    reported: Option<Qty>,
) -> anyhow::Result<Option<Instant>> {
    if let Some(executed) = reported.filter(|q| o.filled_quantity < *q) {
        // The exchange says more executed than its trades show. The ledger follows the
        // trades (the only thing that moves quantities); the anomaly is the evidence and
        // reconcile shows any size difference that results.
        ctx.ledger.record_fills_short(o, executed.get()).await?;
    }
    let chunk = job.flights.remove(id).map(|f| f.data.chunk);
    if o.filled_quantity < o.quantity && super::resting::is_limit(job) {
        // A LIMIT chunk that expired or was cancelled short is final: never re-sent.
        if job.stop.is_none() {
            super::resting::ended_short(job, o);
        }
        return Ok(None);
    }
    if o.filled_quantity < o.quantity {
        return Ok(match after_short_expiry(ctx, job, o, chunk).await {
            Next::Ready(at) => Some(at),
            _ => None,
        });
    }
    job.backoff.reset();
    Ok(None)
}

/// Look a flight up over REST by client order id and apply what it shows. Some(instant):
/// the lookup failed, try again then.
async fn resolve_flight(ctx: &mut Ctx, job: &mut Job, id: &str) -> anyhow::Result<Option<Instant>> {
    let Some(f) = job.flights.get_mut(id) else {
        return Ok(None);
    };
    tracing::debug!(client_order_id = %id, stage = ?f.stage, "resolving an in-flight order over REST");
    let symbol = f.data.chunk.leg.symbol.clone();
    let coid = ClientOrderId::new(id)?;
    match resolve(ctx, &symbol, &coid).await? {
        Ok(Resolved::Known(report)) => {
            if !report.executed_qty.is_zero() {
                ctx.stream.executed(id);
                if report.status.is_terminal() {
                    // Its fills came over REST: so does the exchange's view of positions.
                    super::recovery::refresh_exchange_positions(ctx).await;
                }
            }
            f.data.resolved_terminal = report.status.is_terminal();
            f.data.report = Some(report);
            f.stage = Stage::Accepted;
            f.data.since = Instant::now();
            Ok(None)
        }
        Ok(Resolved::NeverExecuted) => {
            // Never executed: the same chunk may go again, under a fresh attempt id.
            f.data.chunk.attempt += 1;
            f.stage = Stage::Resend;
            Ok(None)
        }
        Err(e) => {
            ctx.key_loss.observe(&e);
            ctx.breaker_record(crate::router::core::breaker::Outcome::of_error(&e));
            tracing::warn!(client_order_id = %id, error = %e, "resolve failed; backing off");
            Ok(Some(
                job.backoff.next_at_after(Instant::now(), e.retry_after),
            ))
        }
    }
}

fn awaits_expire_reason(o: &OrderProgress) -> bool {
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
                    super::adoption::adopt_unknown_positions(
                        ctx,
                        crate::exchange::Purpose::ReduceRisk,
                    )
                    .await?;
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
    // The flatten's latch: on its path, so it may use the reserve.
    let positions = ctx
        .exchange
        .positions(crate::exchange::Purpose::ReduceRisk)
        .await?;
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
