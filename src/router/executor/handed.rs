//! An intent handed over in-process by the control API (`Ledger::take_handoff`): the
//! executor plans its first chunks from the stored row it was given, then takes the intent
//! up and records those chunks in one ledger statement (`Ledger::take_up_with_orders`),
//! and sends them. From the writer's commit to the first order's durable row that is one
//! round trip for an open (a close reads its position first), where the ledger's intake
//! takes two or three (take-up, the position, the order).
//!
//! Invariants (the ledger's intake path keeps them the same way):
//! - write-before-send: nothing is dispatched unless the statement stored every order;
//! - a take-up that loses a race (the intent is no longer `accepted`: another executor,
//!   a cancel, a halt) writes nothing and sends nothing;
//! - a risk-increasing chunk is stored only with the halt clear (the statement's gate);
//!   a halted open is held and ends `cancelled` with the halt as the cause, as
//!   `record::record` would end it;
//! - anything this path does not cover (LIMIT terms, a flatten, nothing to plan, a chunk
//!   that cannot be built or admitted, a ledger error, key-loss safe mode, the global
//!   in-flight cap) is left to the ledger's intake, which finds the intent as it always
//!   did; the hand-off changes nothing stored before the statement.

use std::collections::HashMap;
use std::time::Instant;

use super::dispatch::dispatch;
use super::job::{Job, NextChunk, Stop};
use super::record::{build, new_order, track, Recorded};
use super::send::next_chunks;
use super::work_loop::{open_quantity, Loop};
use crate::domain::{IntentSpec, IntentState, OpenSize};
use crate::ledger::{IntentRow, NewOrder, TakeUp};
use crate::router::core::scheduler::RiskClass;

/// The take-up's `intent_events` cause, as the ledger's intake writes it.
const CAUSE: &str = "picked up by the executor";

/// How long a wake-up from the ledger waits for the hand-off of an intent this process
/// is writing (the `NOTIFY` is sent at commit, before the writer has its answer).
const HANDOFF_WAIT: std::time::Duration = std::time::Duration::from_millis(5);

impl Loop {
    /// Before the ledger's intake runs for a wake-up: if this process is writing an
    /// intent, take its hand-off first (at most [`HANDOFF_WAIT`]), so the take-up with its
    /// first orders is one statement. The intake runs after it either way (it finds
    /// intents of other writers, and holds nothing twice).
    pub(super) async fn await_handoff(&mut self) {
        while let Ok(intent) = self.handed.try_recv() {
            self.take_up_handed(intent).await;
        }
        if !self.ctx.ledger.intent_write_in_flight() {
            return;
        }
        if let Ok(Some(intent)) = tokio::time::timeout(HANDOFF_WAIT, self.handed.recv()).await {
            self.take_up_handed(intent).await;
        }
    }

    /// Take up `intent`, handed over in-process. `false`: this path does not cover it
    /// (or failed before writing): the ledger's intake should run now.
    pub(super) async fn take_up_handed(&mut self, intent: IntentRow) -> bool {
        if self.jobs.contains_key(&intent.id) {
            return true;
        }
        if !self.may_take_handed(&intent) {
            return false;
        }
        if !intent.kind().reduces_risk() && (self.opens_waiting || self.open_room() == 0) {
            // Opens wait in the ledger (`intake`): oldest first, taken up as room appears.
            self.opens_waiting = true;
            return self.open_room() == 0;
        }
        let _busy = self.pulse.busy();
        let id = intent.id;
        match self.first_orders(intent).await {
            Ok(handled) => handled,
            Err(e) => {
                tracing::warn!(intent_id = %id, error = %e, "in-process take-up failed; the ledger's intake takes the intent up");
                false
            }
        }
    }

    fn may_take_handed(&self, intent: &IntentRow) -> bool {
        intent.state == IntentState::Accepted
            && intent.venue == self.ctx.venue
            && intent.limit.is_none()
            && !matches!(intent.spec, IntentSpec::Flatten { .. })
            && !self.ctx.key_loss.is_active()
            && !self.at_cap()
    }

    /// Plan, build and admit the first chunks of `intent`, then take it up with them in
    /// one statement and send them. `Ok(false)`: nothing was written; leave it to intake.
    async fn first_orders(&mut self, intent: IntentRow) -> anyhow::Result<bool> {
        let mut job = Job::new(intent, 0, &self.ctx.cfg);
        // No order of it exists yet: nothing of it can have filled.
        job.orders_recorded = false;
        if let IntentSpec::Open {
            symbol,
            size: OpenSize::Notional(notional),
            ..
        } = &job.intent.spec
        {
            match open_quantity(&mut self.ctx, symbol, *notional, None).await {
                Ok(q) => job.open_target = Some(q),
                // The intake's take-up fails it with the reason.
                Err(_) => return Ok(false),
            }
        }
        let room = self
            .ctx
            .cfg
            .max_in_flight
            .saturating_sub(self.sending)
            .min(job.flights.room(self.ctx.cfg.max_in_flight_per_intent));
        let NextChunk::Send(chunks) =
            next_chunks(&mut self.ctx, &mut job, room, &HashMap::new()).await?
        else {
            return Ok(false);
        };
        let mut built = Vec::with_capacity(chunks.len());
        for chunk in &chunks {
            match build(&mut self.ctx, &job, chunk).await? {
                Ok(order) => built.push(order),
                Err(_) => return Ok(false),
            }
        }
        // Admitted last, chunk by chunk: an open's admission may take the breaker's
        // half-open trial, and the chunks it refuses are planned again at the next step.
        let mut admitted = 0;
        while admitted < chunks.len() && self.ctx.admit(job.class).is_ok() {
            admitted += 1;
        }
        if admitted == 0 {
            return Ok(false);
        }
        let news: Vec<NewOrder> = chunks
            .iter()
            .zip(&built)
            .take(admitted)
            .map(|(c, o)| new_order(&job, c, o.inner()))
            .collect();
        let gate = job.class == RiskClass::Increasing;
        let id = job.intent.id;
        let venue = self.ctx.venue.clone();
        match self
            .ctx
            .ledger
            .take_up_with_orders(id, &venue, CAUSE, &news, gate)
            .await?
        {
            TakeUp::Lost => {
                tracing::info!(intent_id = %id, "handed intent no longer accepted; nothing sent");
                return Ok(true);
            }
            TakeUp::Stored => {
                let pairs = chunks.into_iter().zip(built).take(admitted);
                self.send_taken(job, pairs.collect());
                return Ok(true);
            }
            TakeUp::Halted => {
                job.intent.state = IntentState::Working;
                let cause = self.ctx.ledger.halt_state().await?.refusal();
                tracing::warn!(intent_id = %id, %cause, "open cancelled by the halt");
                job.stop(Stop::Cancel(cause));
                self.hold_taken(job);
            }
            TakeUp::Refused => {
                // Planned again from the ledger by the next step, which names the reason.
                let mut intent = job.intent;
                intent.state = IntentState::Working;
                let mut fresh = Job::new(intent, 0, &self.ctx.cfg);
                fresh.orders_recorded = false;
                fresh.open_target = job.open_target;
                self.hold_taken(fresh);
            }
        }
        Ok(true)
    }

    /// The intent was taken up with these chunks stored: track and send them.
    fn send_taken(
        &mut self,
        mut job: Job,
        chunks: Vec<(
            super::job::Chunk,
            crate::domain::FilterChecked<crate::domain::OrderRequest>,
        )>,
    ) {
        job.intent.state = IntentState::Working;
        job.orders_recorded = true;
        let id = job.intent.id;
        let mut recorded = Vec::with_capacity(chunks.len());
        for (chunk, order) in chunks {
            let req = order.inner();
            tracing::info!(intent_id = %id, symbol = %req.symbol, client_order_id = %req.client_order_id,
                qty = %req.quantity, side = req.side.as_wire(), reduce_only = req.reduce_only,
                order_type = ?req.order_type, price = ?req.price, "sending chunk");
            let coid = req.client_order_id.as_str().to_string();
            track(&mut job, chunk, None, coid);
            recorded.push(Recorded { order });
        }
        for p in dispatch(&self.ctx, id, recorded) {
            self.sending += p.orders;
            self.sends.push(p.answer);
        }
        tracing::info!(intent_id = %id, kind = job.intent.kind().as_str(), "intent taken up");
        // Each answer queues the job again, fills wake it (as after a step that sent).
        self.waiting.push(id);
        self.jobs.insert(id, job);
    }

    /// A taken-up job that sent nothing: the scheduler steps it now.
    fn hold_taken(&mut self, job: Job) {
        let id = job.intent.id;
        self.sched.push(id, job.class, Instant::now());
        self.jobs.insert(id, job);
    }
}
