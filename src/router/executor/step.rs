//! One step of a job: settle what its chunks out have done, then send what may go now
//! (chunks to re-send first, then new ones into the room left), or end the intent.
//!
//! Invariants:
//! - nothing new is sent before `job.not_before` (a backoff) nor after a stop; a stopped
//!   job ends (failed, done short, cancelled) only once every chunk it has out settled;
//! - at most `executor.max_in_flight_per_intent` chunks of the job are out, and at most
//!   `room` orders are handed to [`dispatch`] in this step (the loop's global cap);
//! - an intent is finished only when nothing is out and nothing is left to plan.

use std::time::Instant;

use super::context::Ctx;
use super::dispatch::{dispatch, Pending};
use super::job::{Job, Next, NextChunk, Stop};
use super::progress::{fail, finish, settle_all};
use super::record::record;
use super::send::{next_chunks, resends};
use crate::domain::{IntentSpec, IntentState};

/// Step `job`: the requests it sends go to `out`, at most `room` orders in all.
pub(crate) async fn step(
    ctx: &mut Ctx,
    job: &mut Job,
    room: usize,
    out: &mut Vec<Pending>,
) -> anyhow::Result<Next> {
    job.not_before = None;
    let filled = settle_all(ctx, job).await?;
    if job.stop.is_none() {
        super::resting::stop_if_halted(ctx, job).await?;
    }
    if job.stop.is_some() {
        return wind_down(ctx, job).await;
    }
    let now = Instant::now();
    if let Some(at) = job.not_before.filter(|t| *t > now) {
        return Ok(Next::Ready(at));
    }
    if let (IntentSpec::Flatten { symbol }, false) = (&job.intent.spec, job.cancelled_resting) {
        // A flatten first clears sluice's own resting orders in its scope.
        super::recovery::cancel_own_orders(ctx, symbol.as_ref(), false).await;
        job.cancelled_resting = true;
    }
    let mut chunks = resends(job);
    chunks.truncate(room);
    let new_room = job
        .flights
        .room(ctx.cfg.max_in_flight_per_intent)
        .min(room - chunks.len());
    if new_room > 0 {
        // No halt read here: a risk-increasing chunk's own insert sees the halt (`record`).
        match next_chunks(ctx, job, new_room, &filled).await? {
            NextChunk::Send(c) => chunks.extend(c.into_iter().map(|c| (c, None))),
            NextChunk::Nothing if chunks.is_empty() && job.flights.is_empty() => {
                return finish(ctx, job).await;
            }
            NextChunk::Nothing => {}
            NextChunk::Fail(reason) => {
                job.stop(Stop::Fail(reason));
                return wind_down(ctx, job).await;
            }
        }
    }
    let planned = chunks.len();
    if planned > 0 {
        let recorded = record(ctx, job, chunks).await?;
        out.extend(dispatch(ctx, job.intent.id, recorded));
        if job.stop.is_some() {
            return wind_down(ctx, job).await;
        }
    }
    after_sending(ctx, job, planned >= room)
}

/// What the loop does with a job that sent what it could.
fn after_sending(ctx: &Ctx, job: &mut Job, out_of_room: bool) -> anyhow::Result<Next> {
    let now = Instant::now();
    if let Some(at) = job.not_before.filter(|t| *t > now) {
        return Ok(Next::Ready(at));
    }
    if job.flights.is_empty() {
        // Nothing went out (a recording failed without a backoff): look again soon.
        return Ok(Next::Ready(job.backoff.next_at(now, None)));
    }
    if out_of_room && job.flights.room(ctx.cfg.max_in_flight_per_intent) > 0 {
        // The global cap, not this job, stopped it: hand it out again when room frees.
        return Ok(Next::Ready(now));
    }
    // Each answer queues the job again (`work_loop`), fills wake it: wait for either.
    Ok(Next::Wait)
}

/// A stopped job: wait for what is out, then end the intent the way the stop says.
async fn wind_down(ctx: &mut Ctx, job: &mut Job) -> anyhow::Result<Next> {
    if !job.flights.is_empty() {
        if super::resting::is_limit(job) {
            // Resting orders end only when cancelled: cancel them, then wait for their
            // final state (their fills are recorded as they come).
            super::resting::cancel_resting(ctx, job).await?;
            if let Some(at) = job.not_before.filter(|t| *t > Instant::now()) {
                return Ok(Next::Ready(at));
            }
        }
        return Ok(Next::Wait);
    }
    match job.stop.take() {
        Some(Stop::Fail(reason)) => fail(ctx, job, &reason).await?,
        Some(Stop::Cancel(cause)) => {
            if nothing_left(ctx, job).await? {
                // Everything it asked for filled before the cancel took effect: the
                // truth is `done`, not `cancelled`.
                return finish(ctx, job).await;
            }
            ctx.ledger
                .set_intent_state(job.intent.id, IntentState::Cancelled, &cause)
                .await?;
        }
        None => {}
    }
    Ok(Next::Finished)
}

/// Whether a cancelled job's intent has nothing left to do (an open's target filled, a
/// close's position flat): then it ends `done`. A flatten is never cancelled this way.
async fn nothing_left(ctx: &Ctx, job: &Job) -> anyhow::Result<bool> {
    if matches!(job.intent.spec, IntentSpec::Flatten { .. }) {
        return Ok(false);
    }
    Ok(matches!(job.remainder(ctx).await?, Some((_, q)) if q.is_zero()))
}
