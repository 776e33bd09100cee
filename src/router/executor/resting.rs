//! LIMIT intents on the executor's side: orders that rest on the book.
//!
//! A chunk of an intent with `LimitTerms` is a LIMIT order that may rest (GTC, GTX,
//! GTD) for as long as the book does not reach it. While any rests the intent stays
//! `working` and its chunks stay in the job's flights, reserving their quantity; fills
//! arrive over the user stream (or the REST resolution) and are applied as for any
//! order.
//!
//! Invariants:
//! - a LIMIT chunk that ends short (expired: GTD date, IOC, GTX; or cancelled) is never
//!   re-sent: the intent ends once every chunk is final, `done` with the shortfall
//!   (`done_partial`) when anything filled, `failed` with the reason when nothing did;
//! - a halt stops a LIMIT open with orders out ([`stop_if_halted`]): they would add risk;
//! - a stopped LIMIT job (a cancel, a failure, a halt) cancels its own resting orders by
//!   client order id, once each, and waits for their final state; a cancel the venue
//!   refuses because the order already ended (-2011) leaves the order to be resolved
//!   over REST, so a fill that won the race is recorded;
//! - after a restart, the non-terminal orders of a LIMIT intent become its flights
//!   again ([`adopt`]): they are waited for, never re-sent.

use std::time::{Duration, Instant};

use super::context::Ctx;
use super::job::{Chunk, InFlight, Job, Leg, Stop};
use crate::domain::{ClientOrderId, Direction, PositionMode, PositionSide};
use crate::exchange::ErrorClass;
use crate::ledger::OrderRow;
use crate::router::core::inflight::Stage;
use crate::router::core::scheduler::RiskClass;

/// How long a resting LIMIT order may go without news before it is looked up over REST
/// (the stream brings its fills; this is the safety net).
pub(crate) const RESTING_RECHECK: Duration = Duration::from_secs(30);

/// How long a flight may go without news before it is looked up over REST: the settle
/// timeout, or [`RESTING_RECHECK`] for a LIMIT order the venue reported resting (its
/// fills come when the book reaches it, not within the settle timeout).
pub(crate) fn patience(limit: bool, f: &InFlight, settle_timeout: Duration) -> Duration {
    let resting = limit && f.report.as_ref().is_some_and(|r| !r.status.is_terminal());
    if resting {
        RESTING_RECHECK.max(settle_timeout)
    } else {
        settle_timeout
    }
}

/// Whether `job`'s orders are the intent's own LIMIT orders.
pub(crate) fn is_limit(job: &Job) -> bool {
    job.intent.limit.is_some()
}

/// A LIMIT chunk ended short of its quantity: the intent sends nothing more and ends
/// once its other chunks are final.
pub(crate) fn ended_short(job: &mut Job, o: &OrderRow) {
    let tif = job
        .intent
        .limit
        .map(|l| l.time_in_force.time_in_force().as_wire())
        .unwrap_or("LIMIT");
    let reason = format!(
        "limit order {} ({tif}) ended {} with {} of {} filled; a LIMIT intent is not re-sent",
        o.client_order_id,
        o.status.as_str(),
        o.filled_quantity,
        o.quantity
    );
    tracing::info!(intent_id = %job.intent.id, %reason, "limit chunk ended short");
    job.stop(Stop::Fail(reason));
}

/// A halt stops a LIMIT open whose orders rest: filled later they would add risk the halt
/// refuses. The job then ends `cancelled` once its resting orders are cancelled.
pub(crate) async fn stop_if_halted(ctx: &Ctx, job: &mut Job) -> anyhow::Result<()> {
    if !is_limit(job) || job.class != RiskClass::Increasing || job.flights.is_empty() {
        return Ok(());
    }
    let halt = ctx.ledger.halt_state().await?;
    if halt.halted {
        let cause = halt.refusal();
        tracing::warn!(intent_id = %job.intent.id, %cause, "resting limit open stopped by the halt");
        job.stop(Stop::Cancel(cause));
    }
    Ok(())
}

/// Cancel, by client order id, every order of a stopped LIMIT job that the venue took
/// and that no cancel was sent for yet. The cancel's answer is recorded (its status and
/// what had filled); a cancel refused because the order already ended makes the flight
/// resolve over REST; any other failure is tried again at the next step.
pub(crate) async fn cancel_resting(ctx: &mut Ctx, job: &mut Job) -> anyhow::Result<()> {
    let targets: Vec<(String, crate::domain::Symbol)> = job
        .flights
        .iter()
        .filter(|f| f.stage == Stage::Accepted && !job.cancels_sent.contains(&f.client_order_id))
        .filter(|f| {
            !f.data
                .report
                .as_ref()
                .is_some_and(|r| r.status.is_terminal())
        })
        .map(|f| (f.client_order_id.clone(), f.data.chunk.leg.symbol.clone()))
        .collect();
    for (id, symbol) in targets {
        let coid = ClientOrderId::new(&id)?;
        job.cancels_sent.insert(id.clone());
        match ctx.exchange.cancel_order(&symbol, &coid).await {
            Ok(report) => {
                tracing::info!(intent_id = %job.intent.id, client_order_id = %id,
                    status = report.status.as_wire(), executed = %report.executed_qty, "resting order cancelled");
                super::report::record_report(ctx, &report).await?;
                if let Some(f) = job.flights.get_mut(&id) {
                    f.data.report = Some(report);
                    f.data.since = Instant::now();
                }
            }
            Err(e) if e.class == ErrorClass::Noop => {
                // Already final (filled, expired): what it did is read over REST.
                tracing::info!(client_order_id = %id, msg = %e.msg, "cancel found the order already final");
                if let Some(f) = job.flights.get_mut(&id) {
                    f.stage = Stage::Unknown;
                }
            }
            Err(e) => {
                ctx.key_loss.observe(&e);
                tracing::warn!(client_order_id = %id, error = %e, "cancelling a resting order failed; trying again");
                job.cancels_sent.remove(&id);
                let at = job.backoff.next_at_after(Instant::now(), e.retry_after);
                job.not_before = Some(job.not_before.map_or(at, |t| t.max(at)));
            }
        }
    }
    Ok(())
}

/// After a restart: the LIMIT intent's orders that may still rest become its flights,
/// to be resolved over REST at the first step (`Stage::Unknown`) and then waited for.
pub(crate) async fn adopt(ctx: &Ctx, job: &mut Job) -> anyhow::Result<usize> {
    if !is_limit(job) {
        return Ok(0);
    }
    let orders = ctx.ledger.orders_of_intent(job.intent.id).await?;
    let mut adopted = 0;
    for o in orders.into_iter().filter(|o| !o.status.is_terminal()) {
        let Some(direction) = job.intent.direction.or(job.intent.spec.direction()) else {
            continue;
        };
        let leg = leg_of(&o, direction);
        let chunk = Chunk {
            leg,
            index: u32::try_from(o.chunk_index).unwrap_or(0),
            qty: o.quantity,
            attempt: u32::try_from(o.attempt).unwrap_or(0),
            failures: 0,
        };
        let data = InFlight {
            chunk,
            report: None,
            resolved_terminal: false,
            since: Instant::now(),
        };
        let index = data.chunk.index;
        job.flights
            .add(index, o.quantity, o.client_order_id.clone(), data);
        if let Some(f) = job.flights.get_mut(&o.client_order_id) {
            f.stage = Stage::Unknown;
        }
        adopted += 1;
    }
    if adopted > 0 {
        tracing::info!(intent_id = %job.intent.id, orders = adopted, "resuming a limit intent: waiting for its resting orders");
    }
    Ok(adopted)
}

fn leg_of(o: &OrderRow, direction: Direction) -> Leg {
    Leg {
        position_id: o.position_id,
        symbol: o.symbol.clone(),
        direction,
        mode: if o.position_side == PositionSide::Both {
            PositionMode::OneWay
        } else {
            PositionMode::Hedge
        },
    }
}
