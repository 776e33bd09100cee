//! The chunks of one intent that the exchange may hold, and how much of the intent is
//! still free to plan while they are out. Pure: no I/O, no clock.
//!
//! Every chunk the executor has recorded and not yet settled is a [`Flight`] here, from the
//! moment its `orders` row exists until its fills are all in the ledger (or it is certainly
//! dead). Its stage says what is known: [`Stage::Sending`] (the request is out),
//! [`Stage::Accepted`] (the venue took it; fills may still be on their way),
//! [`Stage::Unknown`] (no usable answer: resolve by client order id), [`Stage::Resend`]
//! (certainly not executed; the same chunk goes again under a fresh attempt).
//!
//! Invariants:
//! - a flight reserves `quantity − filled`, where `filled` is what the ledger has already
//!   applied for that order: the ledger's remainder already counts those fills, so
//!   `available = remainder − Σ reserved` never plans a quantity twice. The caller reads
//!   the orders' filled amounts before (or with) the remainder, so a fill landing between
//!   the two reads only makes `available` smaller;
//! - a flight whose outcome is unknown keeps its whole unfilled quantity reserved until it
//!   is resolved (removed or turned [`Stage::Accepted`]); an accepted one keeps its
//!   reservation until the caller settles it (fills in the ledger), never on the REST
//!   answer alone;
//! - at most `max_per_intent` flights exist; new chunks are planned only into the room
//!   left, and chunk indices only grow ([`Flights::take_index`]), so client order ids
//!   never repeat;
//! - after a -4005 ([`Flights::cap_refused`]) nothing new is planned until every chunk
//!   sent before it has answered: chunks at the old size that are still out cannot set
//!   off a storm of new ones; the re-plan then uses the lowered cap;
//! - after a stop ([`Flights::stop`]: deterministic rejection, halt, refusal) nothing new
//!   is planned or re-sent; what is out is still awaited.

use rust_decimal::Decimal;

use crate::domain::Qty;

/// What is known of one flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Recorded and handed to the exchange; no answer yet.
    Sending,
    /// The exchange took it; waiting for its fills to reach the ledger.
    Accepted,
    /// No usable answer: may have executed. Resolve by client order id.
    Unknown,
    /// Certainly not executed: the same chunk goes again under a fresh attempt.
    Resend,
}

/// One chunk the exchange may hold, with the executor's own data `T`.
#[derive(Clone, Debug)]
pub(crate) struct Flight<T> {
    /// The chunk's index in the intent's plan. The executor reads it from its own data `T`;
    /// the property test's model, whose `T` is `()`, reads it here.
    #[cfg_attr(
        not(test),
        expect(dead_code, reason = "read only by the property test's model")
    )]
    pub(crate) index: u32,
    pub qty: Qty,
    /// The client order id of its latest attempt.
    pub client_order_id: String,
    pub(crate) stage: Stage,
    pub data: T,
}

/// The flights of one intent. Indexed by client order id of the latest attempt.
#[derive(Clone, Debug)]
pub(crate) struct Flights<T> {
    flights: Vec<Flight<T>>,
    next_index: u32,
    /// Set by a -4005: chunks sent before it must answer before anything new is planned.
    barrier: bool,
    stopped: bool,
}

impl<T> Flights<T> {
    /// A book whose next chunk index is `next_index` (one past the highest recorded).
    pub(crate) fn new(next_index: u32) -> Self {
        Self {
            flights: Vec::new(),
            next_index,
            barrier: false,
            stopped: false,
        }
    }

    /// The next chunk index; indices only grow.
    pub(crate) fn take_index(&mut self) -> u32 {
        let i = self.next_index;
        self.next_index = self.next_index.saturating_add(1);
        i
    }

    /// A chunk was recorded and is about to be sent.
    pub(crate) fn add(&mut self, index: u32, qty: Qty, client_order_id: String, data: T) {
        self.flights.push(Flight {
            index,
            qty,
            client_order_id,
            stage: Stage::Sending,
            data,
        });
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.flights.is_empty()
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.flights.len()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Flight<T>> {
        self.flights.iter()
    }

    pub(crate) fn get_mut(&mut self, client_order_id: &str) -> Option<&mut Flight<T>> {
        self.flights
            .iter_mut()
            .find(|f| f.client_order_id == client_order_id)
    }

    /// Take a flight out (settled, rejected, never executed and not re-sent).
    pub(crate) fn remove(&mut self, client_order_id: &str) -> Option<Flight<T>> {
        let i = self
            .flights
            .iter()
            .position(|f| f.client_order_id == client_order_id)?;
        Some(self.flights.remove(i))
    }

    /// A flight waiting in [`Stage::Resend`] goes again as `new_id` (a fresh attempt of
    /// the same chunk: same index, same quantity).
    pub(crate) fn resent(&mut self, old_id: &str, new_id: String) {
        if let Some(f) = self.get_mut(old_id) {
            f.client_order_id = new_id;
            f.stage = Stage::Sending;
        }
    }

    /// Client order ids of flights in `stage`.
    #[cfg(test)]
    pub(crate) fn ids_in(&self, stage: Stage) -> Vec<String> {
        self.flights
            .iter()
            .filter(|f| f.stage == stage)
            .map(|f| f.client_order_id.clone())
            .collect()
    }

    /// How many requests are out without an answer.
    pub(crate) fn sending(&self) -> usize {
        self.flights
            .iter()
            .filter(|f| f.stage == Stage::Sending)
            .count()
    }

    /// Σ (quantity − filled) over every flight; `filled(id)` is what the ledger has
    /// applied for that order (zero for one it does not know).
    pub(crate) fn reserved(&self, filled: impl Fn(&str) -> Decimal) -> Decimal {
        self.flights
            .iter()
            .map(|f| (f.qty.get() - filled(&f.client_order_id)).max(Decimal::ZERO))
            .sum()
    }

    /// What may still be planned: `remainder − reserved`, never below zero.
    pub(crate) fn available(&self, remainder: Qty, filled: impl Fn(&str) -> Decimal) -> Qty {
        let left = (remainder.get() - self.reserved(filled)).max(Decimal::ZERO);
        // `left` is at most `remainder`, a valid quantity, so this cannot fail.
        Qty::new("available", left).unwrap_or(Qty::ZERO)
    }

    /// A -4005 came back: plan nothing new until every chunk out now has answered.
    pub(crate) fn cap_refused(&mut self) {
        self.barrier = true;
    }

    /// Nothing new is planned or re-sent from now on; what is out is still awaited.
    pub(crate) fn stop(&mut self) {
        self.stopped = true;
        self.flights.retain(|f| f.stage != Stage::Resend);
    }

    /// Drop every chunk waiting to be re-sent (a switch of order type re-plans them).
    pub(crate) fn drop_resends(&mut self) {
        self.flights.retain(|f| f.stage != Stage::Resend);
    }

    /// How many new chunks may be planned now, given at most `max_per_intent` flights.
    pub(crate) fn room(&mut self, max_per_intent: usize) -> usize {
        if self.barrier && self.sending() == 0 {
            self.barrier = false;
        }
        if self.stopped || self.barrier {
            return 0;
        }
        max_per_intent.max(1).saturating_sub(self.flights.len())
    }
}
