//! Properties of the in-flight book against a model of a close: a position, an exchange
//! that executes (part of) what it accepts, a ledger whose fills arrive late, and random
//! answers (accepted, refused, unknown, -4005). The executor's planning rule is applied
//! exactly as `executor::send` applies it: filled amounts first, then the remainder.

use std::collections::HashMap;

use proptest::prelude::*;
use rust_decimal::Decimal;

use super::inflight::{Flights, Stage};
use crate::domain::Qty;

/// One order the model exchange knows of.
#[derive(Clone, Debug, Default)]
struct Order {
    qty: u64,
    /// What the exchange executed.
    exec: u64,
    /// What the ledger has applied.
    applied: u64,
    /// The exchange never saw it (an unknown outcome that did not execute).
    absent: bool,
}

struct Model {
    position: u64,
    cap: u64,
    max: usize,
    book: Flights<()>,
    orders: HashMap<String, Order>,
    attempts: HashMap<u32, u32>,
    ids_seen: Vec<String>,
}

fn q(n: u64) -> Qty {
    Qty::new("q", Decimal::from(n)).unwrap()
}

impl Model {
    fn new(position: u64, cap: u64, max: usize) -> Self {
        Self {
            position,
            cap,
            max,
            book: Flights::new(0),
            orders: HashMap::new(),
            attempts: HashMap::new(),
            ids_seen: Vec::new(),
        }
    }

    fn applied_total(&self) -> u64 {
        self.orders.values().map(|o| o.applied).sum()
    }

    /// The ledger's remainder of the close.
    fn ledger_open(&self) -> u64 {
        self.position - self.applied_total()
    }

    fn new_id(&mut self, index: u32) -> String {
        let a = self.attempts.entry(index).or_insert(0);
        let id = format!("c{index}a{a}");
        *a += 1;
        assert!(
            !self.ids_seen.contains(&id),
            "client order id {id} repeated"
        );
        self.ids_seen.push(id.clone());
        id
    }

    /// Plan as the executor does: read filled amounts, maybe let a fill land, read the
    /// remainder, plan into the room left.
    fn plan(&mut self, race: Option<usize>) {
        let filled: HashMap<String, Decimal> = self
            .orders
            .iter()
            .map(|(k, o)| (k.clone(), Decimal::from(o.applied)))
            .collect();
        if let Some(i) = race {
            self.fill(i, 1);
        }
        let open = q(self.ledger_open());
        let mut available = self
            .book
            .available(open, |id| filled.get(id).copied().unwrap_or_default())
            .get();
        for id in self.book.ids_in(Stage::Resend) {
            let index = self
                .book
                .iter()
                .find(|f| f.client_order_id == id)
                .unwrap()
                .index;
            let new = self.new_id(index);
            let qty = self
                .book
                .iter()
                .find(|f| f.client_order_id == id)
                .unwrap()
                .qty;
            self.book.resent(&id, new.clone());
            self.orders.insert(
                new,
                Order {
                    qty: qty.get().try_into().unwrap(),
                    ..Default::default()
                },
            );
        }
        let room = self.book.room(self.max);
        for _ in 0..room {
            let chunk = available.min(Decimal::from(self.cap));
            if chunk.is_zero() {
                break;
            }
            available -= chunk;
            let index = self.book.take_index();
            let id = self.new_id(index);
            let n: u64 = chunk.try_into().unwrap();
            self.book.add(index, q(n), id.clone(), ());
            self.orders.insert(
                id,
                Order {
                    qty: n,
                    ..Default::default()
                },
            );
        }
        assert!(
            self.book.len() <= self.max.max(1),
            "more flights than allowed"
        );
    }

    fn nth(&self, stage: Stage, i: usize) -> Option<String> {
        let ids = self.book.ids_in(stage);
        (!ids.is_empty()).then(|| ids[i % ids.len()].clone())
    }

    fn answer(&mut self, i: usize, kind: u8, part: u64) {
        let Some(id) = self.nth(Stage::Sending, i) else {
            return;
        };
        let o = self.orders.get_mut(&id).unwrap();
        match kind {
            // Accepted; a MARKET may execute only part (expired short).
            0 => {
                o.exec = part.min(o.qty);
                self.book.get_mut(&id).unwrap().stage = Stage::Accepted;
            }
            // Certainly refused: the same chunk is re-sent.
            1 => {
                o.absent = true;
                self.book.get_mut(&id).unwrap().stage = Stage::Resend;
            }
            // No answer: it may or may not have executed.
            2 => {
                if part.is_multiple_of(2) {
                    o.absent = true;
                } else {
                    o.exec = part.min(o.qty);
                }
                self.book.get_mut(&id).unwrap().stage = Stage::Unknown;
            }
            // -4005: dropped, the remainder is re-planned behind the barrier.
            _ => {
                o.absent = true;
                self.book.remove(&id);
                self.book.cap_refused();
                if self.book.sending() > 0 {
                    assert_eq!(
                        self.book.room(self.max),
                        0,
                        "room while chunks were out after a -4005"
                    );
                }
            }
        }
    }

    fn fill(&mut self, i: usize, amount: u64) {
        let mut ids: Vec<_> = self
            .orders
            .iter()
            .filter(|(_, o)| o.applied < o.exec)
            .map(|(k, _)| k.clone())
            .collect();
        ids.sort();
        if ids.is_empty() {
            return;
        }
        let o = self.orders.get_mut(&ids[i % ids.len()]).unwrap();
        o.applied += amount.max(1).min(o.exec - o.applied);
    }

    fn resolve(&mut self, i: usize) {
        let Some(id) = self.nth(Stage::Unknown, i) else {
            return;
        };
        if self.orders[&id].absent {
            self.book.get_mut(&id).unwrap().stage = Stage::Resend;
        } else {
            self.book.get_mut(&id).unwrap().stage = Stage::Accepted;
        }
    }

    /// Settle every accepted order whose fills are all in the ledger.
    fn settle(&mut self) {
        for id in self.book.ids_in(Stage::Accepted) {
            let o = &self.orders[&id];
            if o.applied == o.exec {
                self.book.remove(&id);
            }
        }
    }

    /// What the exchange has executed plus what live orders may still execute.
    fn exposure(&self) -> u64 {
        let live: u64 = self
            .book
            .iter()
            .filter(|f| f.stage != Stage::Resend)
            .map(|f| {
                let o = &self.orders[&f.client_order_id];
                if f.stage == Stage::Accepted || o.absent {
                    0
                } else {
                    o.qty - o.exec
                }
            })
            .sum();
        let resend: u64 = self
            .book
            .iter()
            .filter(|f| f.stage == Stage::Resend)
            .map(|f| self.orders[&f.client_order_id].qty)
            .sum();
        self.orders.values().map(|o| o.exec).sum::<u64>() + live + resend
    }

    fn step(&mut self, e: &Event) {
        match *e {
            Event::Plan(race) => self.plan(race),
            Event::Answer(i, kind, part) => self.answer(i, kind, part),
            Event::Fill(i, amount) => self.fill(i, amount),
            Event::Resolve(i) => self.resolve(i),
            Event::Settle => self.settle(),
        }
        assert!(
            self.exposure() <= self.position,
            "over-close: exposure {} > position {}",
            self.exposure(),
            self.position
        );
    }

    /// Everything answers fully and every fill lands: the position must end flat.
    fn drain(&mut self) {
        for _ in 0..10_000 {
            self.plan(None);
            for id in self.book.ids_in(Stage::Sending) {
                let o = self.orders.get_mut(&id).unwrap();
                o.exec = o.qty;
                self.book.get_mut(&id).unwrap().stage = Stage::Accepted;
            }
            for i in 0..self.book.len() {
                self.resolve(i);
            }
            for o in self.orders.values_mut() {
                o.applied = o.exec;
            }
            self.settle();
            if self.book.is_empty() && self.ledger_open() == 0 {
                return;
            }
        }
        panic!("the close never finished: {} left", self.ledger_open());
    }
}

#[derive(Clone, Debug)]
enum Event {
    Plan(Option<usize>),
    Answer(usize, u8, u64),
    Fill(usize, u64),
    Resolve(usize),
    Settle,
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        3 => proptest::option::of(0usize..8).prop_map(Event::Plan),
        3 => (0usize..8, 0u8..4, 0u64..600).prop_map(|(i, k, p)| Event::Answer(i, k, p)),
        3 => (0usize..8, 1u64..300).prop_map(|(i, a)| Event::Fill(i, a)),
        1 => (0usize..8).prop_map(Event::Resolve),
        2 => Just(Event::Settle),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn chunks_in_flight_never_reserve_more_than_the_remaining_and_the_close_ends_flat(
        position in 1u64..3000,
        cap in 1u64..500,
        max in 1usize..9,
        events in proptest::collection::vec(event(), 0..120),
    ) {
        let mut m = Model::new(position, cap, max);
        for e in &events {
            m.step(e);
        }
        m.drain();
        prop_assert_eq!(m.orders.values().map(|o| o.exec).sum::<u64>(), position);
    }
}

#[test]
fn an_unknown_outcome_keeps_its_whole_quantity_reserved_until_resolved() {
    let mut book: Flights<()> = Flights::new(0);
    book.add(0, q(100), "a".into(), ());
    book.get_mut("a").unwrap().stage = Stage::Unknown;
    assert_eq!(book.available(q(250), |_| Decimal::ZERO), q(150));
    assert_eq!(book.room(2), 1, "other chunks go on");
}

#[test]
fn an_accepted_order_keeps_its_reservation_until_the_ledger_has_its_fills() {
    let mut book: Flights<()> = Flights::new(0);
    book.add(0, q(100), "a".into(), ());
    book.get_mut("a").unwrap().stage = Stage::Accepted;
    // The REST answer says FILLED, the ledger has 40 of it: the position shows 40 less.
    assert_eq!(book.available(q(210), |_| Decimal::from(40)), q(150));
}

#[test]
fn one_in_flight_per_intent_plans_nothing_while_a_chunk_is_out() {
    let mut book: Flights<()> = Flights::new(7);
    assert_eq!(book.room(1), 1);
    let i = book.take_index();
    assert_eq!(i, 7);
    book.add(i, q(1), "x".into(), ());
    assert_eq!(book.room(1), 0);
    assert_eq!(book.take_index(), 8, "indices only grow");
}

#[test]
fn a_stop_drops_pending_resends_and_plans_nothing_more() {
    let mut book: Flights<()> = Flights::new(0);
    book.add(0, q(1), "a".into(), ());
    book.add(1, q(1), "b".into(), ());
    book.get_mut("b").unwrap().stage = Stage::Resend;
    book.stop();
    assert_eq!(book.len(), 1, "the chunk still out is awaited");
    assert_eq!(book.room(8), 0);
}
