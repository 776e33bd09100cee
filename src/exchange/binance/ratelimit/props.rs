//! Properties of the limiter against a model venue that counts like Binance: fixed
//! windows of its own clock, headers carrying its count after each request. The client's
//! clock is off by up to 150 ms (inside `MARGIN_MS`), requests overlap and are processed
//! and answered in any order.

use std::collections::HashMap;

use proptest::prelude::*;

use super::*;

/// The model venue: counts per (counter, window start) on true server time.
#[derive(Default)]
struct Venue {
    counts: HashMap<(u8, i64), u32>,
}

const LIMITS: [(u8, i64, u32); 3] = [(0, 60_000, 10), (1, 10_000, 5), (2, 60_000, 12)];

fn budget() -> Budget {
    Budget {
        weight_1m: 10,
        orders_10s: 5,
        orders_1m: 12,
    }
}

impl Venue {
    /// Process `cost` at true time `t`; returns the headers (counts after it).
    fn process(&mut self, t: i64, cost: Cost) -> Observed {
        let mut after = [0u32; 3];
        for (i, (id, len, _)) in LIMITS.iter().enumerate() {
            let c = match id {
                0 => cost.weight,
                1 => cost.orders,
                _ => cost.orders_1m,
            };
            let n = self
                .counts
                .entry((*id, t - t.rem_euclid(*len)))
                .or_default();
            *n += c;
            after[i] = *n;
        }
        Observed {
            weight_1m: Some(after[0]),
            orders_10s: (cost.orders > 0).then_some(after[1]),
            orders_1m: (cost.orders_1m > 0).then_some(after[2]),
        }
    }
    fn worst_excess(&self) -> Option<(u8, i64, u32)> {
        self.counts
            .iter()
            .find(|((id, _), n)| **n > LIMITS[usize::from(*id)].2)
            .map(|((id, start), n)| (*id, *start, *n))
    }
}

#[derive(Clone, Copy)]
enum Ev {
    Process(usize),
    Answer(usize),
}

fn cost_of(kind: u8, weight: u32) -> Cost {
    match kind {
        0 => Cost::weight(weight),
        1 => Cost::order(true),
        2 => Cost::batch(true),
        _ => Cost::order(false),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Whatever the sends, latencies, answer order and clock error, the venue never counts
    /// more than a limit in any of its windows.
    #[test]
    fn sends_in_any_venue_window_never_exceed_the_limit(
        skew in -150i64..=150,
        start in 0i64..60_000,
        steps in prop::collection::vec(
            (0i64..900, 0u8..4, 1u32..4, 0i64..1_500, 0i64..1_500, any::<bool>()), 1..300),
    ) {
        let mut a = Accounts::new(budget(), Reserve::orders(dec!(0.2)));
        let mut venue = Venue::default();
        let mut t = 1_800_000_000_000 + start;
        let mut sent: Vec<(Cost, Ticket, Observed)> = Vec::new();
        let mut pending: Vec<(i64, Ev)> = Vec::new();
        for (gap, kind, weight, to_venue, to_answer, headers) in steps {
            t += gap;
            pending.sort_by_key(|(at, _)| *at);
            while pending.first().is_some_and(|(at, _)| *at <= t) {
                let (at, ev) = pending.remove(0);
                match ev {
                    Ev::Process(i) => {
                        let seen = venue.process(at, sent[i].0);
                        // Rejected orders are not guaranteed to carry the headers.
                        sent[i].2 = if headers { seen } else { Observed::default() };
                        prop_assert_eq!(venue.worst_excess(), None);
                        pending.push((at + to_answer, Ev::Answer(i)));
                        pending.sort_by_key(|(at, _)| *at);
                    }
                    Ev::Answer(i) => a.complete(sent[i].1, at + skew, sent[i].2),
                }
            }
            let cost = cost_of(kind, weight);
            if let Ok(ticket) = a.try_take(Instant::now(), t + skew, cost) {
                sent.push((cost, ticket, Observed::default()));
                pending.push((t + to_venue, Ev::Process(sent.len() - 1)));
            }
        }
    }

    /// One request at a time, away from window boundaries, with other clients sharing the
    /// account: after each answer the limiter's count equals the venue's (the header
    /// replaces ours; it is neither added to it nor ignored).
    #[test]
    fn after_each_answer_the_limiter_counts_what_the_venue_counts(
        plan in prop::collection::vec((1i64..600, 0u32..3), 1..12),
    ) {
        let mut a = Accounts::new(Budget { orders_10s: 100, orders_1m: 1000, ..budget() }, Reserve::NONE);
        let mut venue = Venue::default();
        // 1 s into a 10 s window; the plan ends at most 7.2 s later.
        let mut t = 1_800_000_001_000;
        for (gap, foreign) in plan {
            for _ in 0..foreign {
                venue.process(t, Cost::order(false));
            }
            t += gap;
            let ticket = a.try_take(Instant::now(), t, Cost::order(true)).unwrap();
            let seen = venue.process(t + 5, Cost::order(true));
            a.complete(ticket, t + 10, seen);
            prop_assert_eq!(a.used(t + 11).orders_10s, seen.orders_10s);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Other clients share the account and our requests overlap: whenever a request booked
    /// and answered inside one venue window comes back, our count for that window is at
    /// least the venue's count its header reported (a header is never lost or undercut).
    /// (A header of a request that may have landed in either of two windows cannot be
    /// placed and is not used: other clients' traffic is then learned from the next one.)
    #[test]
    fn our_count_never_drops_below_a_header_of_the_current_window(
        skew in -150i64..=150,
        steps in prop::collection::vec((0i64..700, 0u32..3, 0i64..800, 0i64..800), 1..200),
    ) {
        let big = Budget { weight_1m: 100_000, orders_10s: 100_000, orders_1m: 100_000 };
        let mut a = Accounts::new(big, Reserve::NONE);
        let mut venue = Venue::default();
        let mut t = 1_800_000_000_000;
        let mut sent: Vec<(Ticket, i64, i64, Observed)> = Vec::new();
        let mut pending: Vec<(i64, Ev)> = Vec::new();
        for (gap, foreign, to_venue, to_answer) in steps {
            t += gap;
            for _ in 0..foreign {
                venue.process(t, Cost::order(false));
            }
            pending.sort_by_key(|(at, _)| *at);
            while pending.first().is_some_and(|(at, _)| *at <= t) {
                let (at, ev) = pending.remove(0);
                match ev {
                    Ev::Process(i) => {
                        sent[i].3 = venue.process(at, Cost::order(true));
                        pending.push((at + to_answer, Ev::Answer(i)));
                        pending.sort_by_key(|(at, _)| *at);
                    }
                    Ev::Answer(i) => {
                        let (ticket, booked, _, seen) = sent[i];
                        a.complete(ticket, at + skew, seen);
                        let window = |x: i64| x - x.rem_euclid(10_000);
                        let now = at + skew;
                        let same = [booked + skew - MARGIN_MS, now + MARGIN_MS, now - MARGIN_MS]
                            .iter()
                            .all(|x| window(*x) == window(at));
                        if same {
                            prop_assert!(a.used(now).orders_10s >= seen.orders_10s);
                        }
                    }
                }
            }
            let ticket = a.try_take(Instant::now(), t + skew, Cost::order(true)).unwrap();
            sent.push((ticket, t, 0, Observed::default()));
            pending.push((t + to_venue, Ev::Process(sent.len() - 1)));
        }
    }
}
