//! Recording chunks: admit each through the breaker, build it with the one order builder
//! (`core::orders::checked_order`) and write it to `orders` before anything is sent
//! (write-before-send: a crash between send and answer leaves a row to resolve by client
//! order id); only then does [`super::dispatch`] send it, off the loop. The chunks of a
//! close are written in one statement (`Ledger::record_orders`, all or none); a chunk
//! that cannot go stops the job at that chunk, as it did when each was written alone.
//! A re-sent chunk keeps its quantity and index under a fresh attempt; only its LIMIT
//! price is read again.

use super::context::{Ctx, MarkFreshness};
use super::fallback_send;
use super::job::{Chunk, InFlight, Job, Stop};
use crate::domain::{FilterChecked, OrderRequest, OrderType};
use crate::ledger::NewOrder;
use crate::router::core::client_id::IntentRef;
use crate::router::core::orders::{checked_order, OrderTemplate};
use crate::router::core::scheduler::RiskClass;

/// A chunk recorded in `orders` and ready to go out.
pub(crate) struct Recorded {
    pub order: FilterChecked<OrderRequest>,
}

/// Admit, build and record each chunk (a re-send replaces its flight's client order id),
/// adding it to the job's flights. Stops at the first chunk that cannot go (the job is
/// then stopped with the reason); returns what was recorded, in order.
///
/// A risk-increasing chunk is stored only while the halt is clear, checked by its own
/// insert (`Ledger::record_order_unless_halted`): a halt committed before the insert
/// stops the job there, with no separate read of the flag.
pub(crate) async fn record(
    ctx: &mut Ctx,
    job: &mut Job,
    chunks: Vec<(Chunk, Option<String>)>,
) -> anyhow::Result<Vec<Recorded>> {
    let mut out = Vec::with_capacity(chunks.len());
    let chunks = match record_together(ctx, job, chunks, &mut out).await? {
        Some(rest) => rest,
        None => return Ok(out),
    };
    for (chunk, resend_of) in chunks {
        // From here the intent may have an order (even if the insert's answer is lost).
        job.orders_recorded = true;
        match record_one(ctx, job, &chunk).await {
            Ok(Ok(order)) => {
                let coid = order.inner().client_order_id.as_str().to_string();
                track(job, chunk, resend_of, coid);
                out.push(Recorded { order });
            }
            Ok(Err(stop)) => {
                job.stop(stop);
                break;
            }
            Err(e) => {
                // Nothing of this chunk was stored: it is planned (or re-sent) again later.
                tracing::error!(intent_id = %job.intent.id, error = %e, "recording a chunk failed; retrying after backoff");
                job.not_before = Some(job.backoff.next_at(std::time::Instant::now(), None));
                break;
            }
        }
    }
    Ok(out)
}

/// Two or more chunks of a close admitted, built and recorded in one statement
/// (`record_orders`).
/// `None`: all recorded into `out` and tracked, or the ledger failed (nothing stored; the
/// job backs off). `Some(chunks)`: the chunks to record one by one instead, since one of
/// them cannot be admitted or built, or does not fit its intent (the lone path says which
/// and stops the job there; nothing of the batch was stored).
async fn record_together(
    ctx: &mut Ctx,
    job: &mut Job,
    chunks: Vec<(Chunk, Option<String>)>,
    out: &mut Vec<Recorded>,
) -> anyhow::Result<Option<Vec<(Chunk, Option<String>)>>> {
    // Risk-reducing chunks only: the breaker admits those without using up anything
    // (an open's admission may take the half-open trial), so admitting them here and
    // again on the lone path changes nothing.
    if chunks.len() < 2 || job.class != RiskClass::Reducing {
        return Ok(Some(chunks));
    }
    let mut built = Vec::with_capacity(chunks.len());
    for (chunk, _) in &chunks {
        if ctx.admit(job.class).is_err() {
            return Ok(Some(chunks));
        }
        match build(ctx, job, chunk).await? {
            Ok(order) => built.push(order),
            Err(_) => return Ok(Some(chunks)),
        }
    }
    let news: Vec<NewOrder> = chunks
        .iter()
        .zip(&built)
        .map(|((chunk, _), order)| new_order(job, chunk, order.inner()))
        .collect();
    // From here the intent may have orders (even if the insert's answer is lost).
    job.orders_recorded = true;
    match ctx.ledger.record_orders(job.intent.id, &news).await {
        Ok(Some(_)) => {}
        Ok(None) => return Ok(Some(chunks)),
        Err(e) => {
            tracing::error!(intent_id = %job.intent.id, error = %e, "recording chunks failed; retrying after backoff");
            job.not_before = Some(job.backoff.next_at(std::time::Instant::now(), None));
            return Ok(None);
        }
    }
    for ((chunk, resend_of), order) in chunks.into_iter().zip(built) {
        let req = order.inner();
        tracing::info!(intent_id = %job.intent.id, symbol = %req.symbol, client_order_id = %req.client_order_id,
            qty = %req.quantity, side = req.side.as_wire(), reduce_only = req.reduce_only,
            order_type = ?req.order_type, price = ?req.price, "sending chunk");
        let coid = req.client_order_id.as_str().to_string();
        track(job, chunk, resend_of, coid);
        out.push(Recorded { order });
    }
    Ok(None)
}

pub(super) fn new_order(job: &Job, chunk: &Chunk, req: &OrderRequest) -> NewOrder {
    NewOrder {
        intent_id: job.intent.id,
        position_id: chunk.leg.position_id,
        request: req.clone(),
        chunk_index: i32::try_from(chunk.index).unwrap_or(i32::MAX),
        attempt: i32::try_from(chunk.attempt).unwrap_or(i32::MAX),
    }
}

/// Admit, build and record one chunk. `Ok(Err)`: it cannot go, and why the job stops.
async fn record_one(
    ctx: &mut Ctx,
    job: &Job,
    chunk: &Chunk,
) -> anyhow::Result<Result<FilterChecked<OrderRequest>, Stop>> {
    if let Err(refusal) = ctx.admit(job.class) {
        return Ok(Err(Stop::Fail(format!("refused: {}", refusal.reason))));
    }
    let order = match build(ctx, job, chunk).await? {
        Ok(o) => o,
        Err(reason) => return Ok(Err(Stop::Fail(reason))),
    };
    let req = order.inner();
    let new = new_order(job, chunk, req);
    if job.class == RiskClass::Increasing {
        if let Err(halt) = ctx.ledger.record_order_unless_halted(&new).await? {
            // The rest of the open is left unsent; the halt is the cause (ledger/halt.rs).
            let cause = halt.refusal();
            tracing::warn!(intent_id = %job.intent.id, %cause, "open cancelled by the halt");
            return Ok(Err(Stop::Cancel(cause)));
        }
    } else {
        ctx.ledger.record_order(&new).await?;
    }
    tracing::info!(intent_id = %job.intent.id, symbol = %req.symbol, client_order_id = %req.client_order_id,
        qty = %req.quantity, side = req.side.as_wire(), reduce_only = req.reduce_only,
        order_type = ?req.order_type, price = ?req.price, "sending chunk");
    Ok(Ok(order))
}

/// Put a recorded chunk into the job's flights as `Sending`.
pub(super) fn track(job: &mut Job, chunk: Chunk, resend_of: Option<String>, coid: String) {
    match resend_of {
        Some(old) => {
            job.flights.resent(&old, coid.clone());
            if let Some(f) = job.flights.get_mut(&coid) {
                f.data.chunk = chunk;
                f.data.report = None;
                f.data.since = std::time::Instant::now();
            }
        }
        None => {
            let (index, qty) = (chunk.index, chunk.qty);
            let data = InFlight {
                chunk,
                report: None,
                resolved_terminal: false,
                since: std::time::Instant::now(),
            };
            job.flights.add(index, qty, coid, data);
        }
    }
}

pub(super) async fn build(
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
    let mark = if let Some(terms) = job.intent.limit {
        // The intent's own limit terms: every chunk rests (or not) at its price. A GTD
        // whose date came within the venue's 600 s is not sent to earn a -5040.
        let ahead =
            crate::domain::limit::GTD_MIN_AHEAD_MS + crate::domain::limit::GTD_SEND_SLACK_MS;
        if let Err(e) = terms.check_good_till(Ctx::now_ms(), ahead) {
            return Ok(Err(e.to_string()));
        }
        template.limit = Some(terms);
        ctx.mark(
            &chunk.leg.symbol,
            MarkFreshness::for_chunks_of(job.intent.kind()),
        )
        .await?
    } else if template.order_type == OrderType::Limit {
        match fallback_send::terms(ctx, &rules, &chunk.leg.symbol, template.side()).await? {
            Ok(t) => {
                template.limit = Some(t.terms());
                t.mark
            }
            Err(reason) => return Ok(Err(reason)),
        }
    } else {
        ctx.mark(
            &chunk.leg.symbol,
            MarkFreshness::for_chunks_of(job.intent.kind()),
        )
        .await?
    };
    Ok(checked_order(&rules, &template, chunk.qty, mark)
        .map_err(|e| format!("chunk cannot be built: {e}")))
}
