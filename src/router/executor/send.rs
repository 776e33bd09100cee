//! Planning chunks: new ones from the unfilled remainder less what the job's chunks out
//! reserve (`core::inflight`, `core::plan`), sized by the published, operator and learned
//! caps; a MARKET size the venue has not taken yet goes alone, and while a larger size is
//! probed on a large close, chunks of the size already taken go beside it. `record`
//! writes them to `orders` next. Chunks are MARKET, LIMIT on the intent's own terms (a
//! LIMIT intent, planned at its limit price: `core::limit`, waited for while they rest:
//! `resting.rs`), or reduce-only LIMIT IOC at the band edge once a MARKET close is in
//! fallback ([`fallback_send`]).

use std::collections::HashMap;

use rust_decimal::Decimal;

use super::context::{Ctx, MarkFreshness};
use super::fallback_send;
use super::job::{Chunk, Job, Leg, NextChunk};
use crate::domain::{OrderType, Qty, Symbol};
use crate::router::core::caps::MAX_PROBES;
use crate::router::core::inflight::Stage;
use crate::router::core::plan::plan_chunks;

/// Plan up to `room` new chunks from the ledger's remainder less what the job's flights
/// reserve. `filled` is what the ledger had applied for the flights, read BEFORE the
/// remainder (by `progress::settle_all`, in the same step): a fill landing between the
/// two reads can only make the result smaller, never plan a quantity twice.
pub(crate) async fn next_chunks(
    ctx: &mut Ctx,
    job: &mut Job,
    room: usize,
    filled: &HashMap<String, Decimal>,
) -> anyhow::Result<NextChunk> {
    let Some((leg, remaining)) = job.remainder(ctx).await? else {
        return Ok(NextChunk::Nothing);
    };
    let available = job
        .flights
        .available(remaining, |id| filled.get(id).copied().unwrap_or_default());
    if available.is_zero() || room == 0 {
        return Ok(NextChunk::Nothing);
    }
    let chunks = match plan(ctx, job, &leg, available, None).await? {
        Ok(chunks) => chunks,
        // With chunks out, what cannot be planned now may become plannable (or moot) once
        // they settle: only an idle job fails for it.
        Err(NextChunk::Fail(_)) if !job.flights.is_empty() => return Ok(NextChunk::Nothing),
        Err(next) => return Ok(next),
    };
    let chunks = match proven_beside(ctx, job, &leg.symbol, chunks[0], available, room) {
        Some((proven, probe)) => {
            beside_probe(ctx, job, &leg, available, room, proven, probe).await?
        }
        None => {
            let chunks = probe_first(ctx, job, &leg, available, chunks).await?;
            let room = probe_room(ctx, job, &leg.symbol, chunks[0], room);
            chunks.into_iter().take(room).collect()
        }
    };
    Ok(NextChunk::Send(
        chunks
            .into_iter()
            .map(|qty| Chunk {
                leg: leg.clone(),
                index: job.flights.take_index(),
                qty,
                attempt: 0,
                failures: 0,
            })
            .collect(),
    ))
}

/// The chunks of `available` on `leg` (at least one), or what to do instead. `at_most`
/// replaces the learned MARKET cap (chunks of a size the venue has already taken).
async fn plan(
    ctx: &mut Ctx,
    job: &Job,
    leg: &Leg,
    available: Qty,
    at_most: Option<Qty>,
) -> anyhow::Result<Result<Vec<Qty>, NextChunk>> {
    let Some(rules) = ctx.rules.get(&leg.symbol).cloned() else {
        return Ok(Err(NextChunk::Fail(format!(
            "{} is not listed by the exchange",
            leg.symbol
        ))));
    };
    let reduce = job.intent.kind().reduces_risk();
    let mark = ctx
        .mark(&leg.symbol, MarkFreshness::for_chunks_of(job.intent.kind()))
        .await?;
    let order_type = fallback_send::order_type(job);
    // A cap learned from a MARKET -4005 bounds MARKET chunks only.
    let learned = (order_type == OrderType::Market)
        .then(|| at_most.or_else(|| ctx.caps.cap(&leg.symbol, Ctx::now_ms())))
        .flatten();
    let cap = ctx.cfg.chunk_cap;
    // A LIMIT intent with its own price is valued there (MIN_NOTIONAL), as the venue does.
    let at = crate::router::core::limit::planning_price(job.intent.limit.as_ref(), mark);
    let plan = plan_chunks(available, &rules, order_type, reduce, cap, learned, at);
    // A remainder the exchange cannot take (below minQty or MIN_NOTIONAL after a partial
    // fill, off the step) is never "done" silently: `fail` ends it `failed` when nothing
    // filled, `done` with the shortfall stated when something did.
    let why = match plan {
        Ok(p) if !p.chunks.is_empty() => return Ok(Ok(p.chunks)),
        Err(e) => e.to_string(),
        // The flatten latch asks the exchange whether the scope is flat.
        Ok(_) if job.intent.kind() == crate::domain::IntentKind::Flatten => {
            return Ok(Err(NextChunk::Nothing))
        }
        Ok(_) => crate::router::core::sizing::check_reduce(&rules, available)
            .err()
            .map_or_else(|| "no chunk can be planned".to_string(), |e| e.0),
    };
    Ok(Err(NextChunk::Fail(format!(
        "cannot send the remaining {available} {}: {why}",
        leg.symbol
    ))))
}

/// A MARKET size the venue has not accepted yet for this symbol goes out alone (the cap
/// book's `is_proven`): chunks of an untried size sent together would all earn the same
/// -4005 when a hidden cap is below it, and the halving-and-probing search for that cap
/// (seed 000) stays one chunk at a time; a chunk failing for another reason (-1008...) is
/// retried alone too, as it was before chunks went out side by side. Proven sizes go out
/// side by side.
fn probe_room(ctx: &Ctx, job: &Job, symbol: &Symbol, largest: Qty, room: usize) -> usize {
    if fallback_send::order_type(job) != OrderType::Market || ctx.caps.is_proven(symbol, largest) {
        return room;
    }
    // Alone: nothing else of the job out unanswered or waiting to go again.
    if job.flights.iter().all(|f| f.stage == Stage::Accepted) {
        room.min(1)
    } else {
        0
    }
}

/// While the cap book probes a MARKET size, the probe itself goes out first even when
/// the near-equal split of `available` came out smaller (a remainder of 20 × 377.76
/// planned under a probe of 389.56 is 20 chunks of 377.76, and a close that always splits
/// that way never tries the probe: the search stalls short of the venue's cap). Only when
/// what is left after the probe can still be planned (or nothing is left), so the probe
/// never strands a remainder the venue cannot take; otherwise `planned` stands.
async fn probe_first(
    ctx: &mut Ctx,
    job: &Job,
    leg: &Leg,
    available: Qty,
    planned: Vec<Qty>,
) -> anyhow::Result<Vec<Qty>> {
    let probe = match ctx.caps.probe(&leg.symbol) {
        Some(p) if fallback_send::order_type(job) == OrderType::Market => p,
        _ => return Ok(planned),
    };
    if planned.first().is_none_or(|first| *first >= probe) || probe > available {
        return Ok(planned);
    }
    let rest = available.saturating_sub(probe);
    if rest.is_zero() || matches!(plan(ctx, job, leg, rest, None).await?, Ok(c) if !c.is_empty()) {
        return Ok(vec![probe]);
    }
    Ok(planned)
}

/// While the cap book probes a MARKET size above the largest one the venue has taken
/// (`largest` is the probe), that proven size and the probe: chunks of the proven size may
/// go out beside the probe instead of waiting for its answer (with venue latency the
/// search is otherwise a string of lone round trips). None when nothing smaller is proven
/// (the halving search: alone, as [`probe_room`] says), when the size is proven already,
/// or when `available` is smaller than what the whole search could still place at the
/// probe's size (`room` chunks for each of [`MAX_PROBES`] probes): a close that small
/// waits for the probes, so its chunks end near the venue's cap (seed 000: ~22-24 fills)
/// instead of at the smaller proven size; a larger one overlaps them, and the extra
/// orders are few beside its total.
fn proven_beside(
    ctx: &Ctx,
    job: &Job,
    symbol: &Symbol,
    largest: Qty,
    available: Qty,
    room: usize,
) -> Option<(Qty, Qty)> {
    if fallback_send::order_type(job) != OrderType::Market {
        return None;
    }
    let search = Decimal::from(room) * Decimal::from(MAX_PROBES);
    if available.get() < largest.get() * search {
        return None;
    }
    ctx.caps
        .proven(symbol)
        .filter(|p| *p < largest)
        .map(|p| (p, largest))
}

/// Up to `room` chunks while a probe is under way: the probe itself when no chunk larger
/// than `proven` is out unanswered or waiting to go again (one probe at a time, so one
/// -4005 at most), and chunks of at most `proven` for the rest of `available`. Their sum
/// never exceeds `available`.
async fn beside_probe(
    ctx: &mut Ctx,
    job: &Job,
    leg: &Leg,
    available: Qty,
    room: usize,
    proven: Qty,
    probe: Qty,
) -> anyhow::Result<Vec<Qty>> {
    let probe_out = job
        .flights
        .iter()
        .any(|f| f.qty > proven && f.stage != Stage::Accepted);
    let mut out = Vec::with_capacity(room);
    let mut rest = available;
    if !probe_out && room > 0 && probe <= available {
        out.push(probe);
        rest = available.saturating_sub(probe);
    }
    if room > out.len() && !rest.is_zero() {
        // What cannot be planned at the proven size (a remainder below minQty) waits for
        // the probe's answer: the full plan of the next step covers it.
        if let Ok(chunks) = plan(ctx, job, leg, rest, Some(proven)).await? {
            out.extend(chunks.into_iter().take(room - out.len()));
        }
    }
    Ok(out)
}

/// The job's chunks waiting to be re-sent, with the client order id each had.
pub(crate) fn resends(job: &Job) -> Vec<(Chunk, Option<String>)> {
    job.flights
        .iter()
        .filter(|f| f.stage == Stage::Resend)
        .map(|f| (f.data.chunk.clone(), Some(f.client_order_id.clone())))
        .collect()
}
