//! The pure accounting behind the limiter: entries with the server-time interval in which
//! the venue may process them, and header corrections per venue window (see the module
//! docs of `ratelimit` for the invariants).

use std::collections::VecDeque;
use std::time::Duration;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use tokio::time::Instant;

use super::{Budget, Cost, Observed, Reserve, Ticket, Wait, BACKGROUND_SHARE, MARGIN_MS};

/// One of the venue's three counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Counter {
    Weight1m,
    Orders10s,
    Orders1m,
}

const COUNTERS: [Counter; 3] = [Counter::Weight1m, Counter::Orders10s, Counter::Orders1m];

impl Counter {
    fn len_ms(self) -> i64 {
        match self {
            Counter::Orders10s => 10_000,
            Counter::Weight1m | Counter::Orders1m => 60_000,
        }
    }
    /// Start (server ms) of this counter's window holding `t`.
    fn window_of(self, t: i64) -> i64 {
        t - t.rem_euclid(self.len_ms())
    }
    fn cost(self, c: &Cost) -> u32 {
        match self {
            Counter::Weight1m => c.weight,
            Counter::Orders10s => c.orders,
            Counter::Orders1m => c.orders_1m,
        }
    }
    fn idx(self) -> usize {
        match self {
            Counter::Weight1m => 0,
            Counter::Orders10s => 1,
            Counter::Orders1m => 2,
        }
    }
    fn observed(self, o: &Observed) -> Option<u32> {
        match self {
            Counter::Weight1m => o.weight_1m,
            Counter::Orders10s => o.orders_10s,
            Counter::Orders1m => o.orders_1m,
        }
    }
}

#[derive(Debug)]
struct Entry {
    ticket: u64,
    cost: Cost,
    /// Earliest server time the venue may process it.
    lo: i64,
    /// Event number at booking: answers numbered below it are certainly in its header.
    booked_event: u64,
    /// Latest server time it may have been processed, and the event number of its answer.
    done: Option<(i64, u64)>,
    /// Per counter ([`Counter::idx`]), when its window is unambiguous: the header value and
    /// the header minus every own request it certainly contains.
    seen: [Option<(u32, i64)>; 3],
}

impl Entry {
    fn hi(&self, server_ms: i64) -> i64 {
        self.done.map_or(server_ms + MARGIN_MS, |(hi, _)| hi)
    }
    fn touches(&self, counter: Counter, start: i64, server_ms: i64) -> bool {
        self.lo < start + counter.len_ms() && self.hi(server_ms) >= start
    }
}

/// A header-derived correction of one counter's window: add `delta` to our own count.
#[derive(Debug)]
struct Correction {
    counter: Counter,
    start: i64,
    delta: i64,
}

/// The pure accounting state.
#[derive(Debug)]
pub(crate) struct Accounts {
    budget: Budget,
    reserve_share: Decimal,
    /// The share of the weight per minute only risk-reducing requests may use (0: none).
    weight_reserve: Decimal,
    entries: VecDeque<Entry>,
    corrections: Vec<Correction>,
    next_ticket: u64,
    next_event: u64,
    not_before: Option<Instant>,
    banned_until: Option<Instant>,
}

impl Accounts {
    pub(crate) fn new(budget: Budget, reserve: Reserve) -> Self {
        Self {
            budget,
            reserve_share: reserve.orders.clamp(Decimal::ZERO, Decimal::ONE),
            weight_reserve: reserve.weight.clamp(Decimal::ZERO, Decimal::ONE),
            entries: VecDeque::new(),
            corrections: Vec::new(),
            next_ticket: 0,
            next_event: 0,
            not_before: None,
            banned_until: None,
        }
    }

    pub(crate) fn set_budget(&mut self, budget: Budget) {
        self.budget = budget;
    }

    /// The part of a counter's budget a request of this kind may use.
    fn cap(&self, counter: Counter, reduces_risk: bool) -> u32 {
        let (limit, reserve) = match counter {
            Counter::Weight1m => (self.budget.weight_1m, self.weight_reserve),
            Counter::Orders10s => (self.budget.orders_10s, self.reserve_share),
            Counter::Orders1m => (self.budget.orders_1m, self.reserve_share),
        };
        if reduces_risk {
            return limit;
        }
        let open_share = Decimal::ONE - reserve;
        (Decimal::from(limit) * open_share)
            .floor()
            .to_u32()
            .unwrap_or(0)
    }

    /// Our bound on the venue's count for `counter`'s window starting at `start`.
    fn estimate(&self, counter: Counter, start: i64, server_ms: i64) -> i64 {
        let own: i64 = self
            .entries
            .iter()
            .filter(|e| e.touches(counter, start, server_ms))
            .map(|e| i64::from(counter.cost(&e.cost)))
            .sum();
        let delta = self
            .corrections
            .iter()
            .find(|c| c.counter == counter && c.start == start)
            .map_or(0, |c| c.delta);
        (own + delta).max(0)
    }

    /// Forget answered requests and corrections that no current window can need.
    fn prune(&mut self, server_ms: i64) {
        let oldest = Counter::Weight1m.window_of(server_ms - MARGIN_MS);
        self.entries
            .retain(|e| e.done.is_none_or(|(hi, _)| hi >= oldest));
        self.corrections
            .retain(|c| c.start + c.counter.len_ms() > oldest);
    }

    /// Book `cost` at `now` (server time estimate `server_ms`) if every venue window the
    /// request may land in allows it; otherwise say how long to wait.
    pub(crate) fn try_take(
        &mut self,
        now: Instant,
        server_ms: i64,
        cost: Cost,
    ) -> Result<Ticket, Wait> {
        if let Some(until) = self.banned_until.filter(|u| *u > now) {
            return Err(Wait::Banned(until));
        }
        if let Some(nb) = self.not_before.filter(|nb| *nb > now) {
            return Err(Wait::Until(nb));
        }
        self.prune(server_ms);
        let mut wait_ms: Option<i64> = None;
        for counter in COUNTERS {
            let c = counter.cost(&cost);
            if c == 0 {
                continue;
            }
            let cap = self.cap(counter, cost.reduces_risk);
            if c > cap {
                return Err(Wait::Never);
            }
            let first = counter.window_of(server_ms - MARGIN_MS);
            let last = counter.window_of(server_ms + MARGIN_MS);
            let windows = if first == last {
                &[first][..]
            } else {
                &[first, last][..]
            };
            for &start in windows {
                if self.estimate(counter, start, server_ms) + i64::from(c) > i64::from(cap) {
                    // Free once our earliest processing time is past that window.
                    let free_at = start + counter.len_ms() + MARGIN_MS;
                    wait_ms = Some(wait_ms.map_or(free_at, |w| w.max(free_at)));
                }
            }
        }
        if let Some(free_at) = wait_ms {
            let ms = u64::try_from(free_at - server_ms).unwrap_or(0).max(1);
            return Err(Wait::Until(now + Duration::from_millis(ms)));
        }
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        let booked_event = self.event();
        self.entries.push_back(Entry {
            ticket,
            cost,
            lo: server_ms - MARGIN_MS,
            booked_event,
            done: None,
            seen: [None; 3],
        });
        Ok(Ticket(ticket))
    }

    /// May a background read of `weight` go now? A background read is one nothing waits
    /// on to reduce risk (the dead-man's switch's and the protective comparison's unscoped
    /// reads): it may use the IP's weight only while every weight window it may land in
    /// stays within [`BACKGROUND_SHARE`] of the limit with it, so the other part is always
    /// left to the requests a close or a flatten needs. Books nothing; the caller sends
    /// through [`Accounts::try_take`] as usual, or skips the read.
    pub(crate) fn background_fits(&mut self, now: Instant, server_ms: i64, weight: u32) -> bool {
        if self.banned_until.is_some_and(|u| u > now) || self.not_before.is_some_and(|nb| nb > now)
        {
            return false;
        }
        self.prune(server_ms);
        let cap = (Decimal::from(self.budget.weight_1m) * BACKGROUND_SHARE)
            .floor()
            .to_i64()
            .unwrap_or(0);
        let counter = Counter::Weight1m;
        let first = counter.window_of(server_ms - MARGIN_MS);
        let last = counter.window_of(server_ms + MARGIN_MS);
        [first, last]
            .iter()
            .all(|&start| self.estimate(counter, start, server_ms) + i64::from(weight) <= cap)
    }

    /// Take back a booking that was never sent (its other half could not be booked).
    pub(crate) fn forget(&mut self, ticket: Ticket) {
        if let Ok(i) = self.entries.binary_search_by_key(&ticket.0, |e| e.ticket) {
            self.entries.remove(i);
        }
    }

    fn event(&mut self) -> u64 {
        self.next_event += 1;
        self.next_event
    }

    /// The answer to `ticket` arrived at server-time estimate `server_ms` with these
    /// headers (all `None` when no response came: the request just stops being in flight).
    pub(crate) fn complete(&mut self, ticket: Ticket, server_ms: i64, seen: Observed) {
        let event = self.event();
        let Ok(i) = self.entries.binary_search_by_key(&ticket.0, |e| e.ticket) else {
            return;
        };
        let hi = server_ms + MARGIN_MS;
        self.entries[i].done = Some((hi, event));
        let (lo, booked) = (self.entries[i].lo, self.entries[i].booked_event);
        for counter in COUNTERS {
            let Some(h) = counter.observed(&seen) else {
                continue;
            };
            let start = counter.window_of(lo);
            if counter.window_of(hi) != start {
                continue; // processed in one of two windows: which count is this?
            }
            // What the header certainly contains of ours: this request and every one
            // answered before it was booked (they were processed before it).
            let reflected: i64 = self
                .entries
                .iter()
                .filter(|e| e.touches(counter, start, server_ms))
                .filter(|e| e.ticket == ticket.0 || e.done.is_some_and(|(_, ev)| ev < booked))
                .map(|e| i64::from(counter.cost(&e.cost)))
                .sum();
            self.entries[i].seen[counter.idx()] = Some((h, i64::from(h) - reflected));
            self.recompute(counter, start);
        }
    }

    /// The correction of one window from every header seen in it. Each header `h` bounds
    /// the venue's count in two ways, both sound, and the tighter one counts:
    /// - `h` minus our requests answered before it was booked (fixed when it arrived);
    /// - `h` minus our requests whose own header in this window is `<= h`: the venue's
    ///   count only grows within a window, so those were processed no later than it.
    ///   This one tightens as concurrent requests are answered.
    ///
    /// What remains is traffic we did not send; the highest bound wins because that only
    /// grows. A request the venue refused uncounted may lower a bound by its cost, but our
    /// own count still holds it, so the sum stays an upper bound.
    fn recompute(&mut self, counter: Counter, start: i64) {
        let k = counter.idx();
        let mut seen: Vec<(u32, i64, i64)> = self
            .entries
            .iter()
            .filter(|e| counter.window_of(e.lo) == start)
            .filter_map(|e| e.seen[k].map(|(h, old)| (h, i64::from(counter.cost(&e.cost)), old)))
            .collect();
        seen.sort_by_key(|(h, _, _)| *h);
        let mut delta: Option<i64> = None;
        let mut i = 0;
        let mut below = 0i64;
        while i < seen.len() {
            let h = seen[i].0;
            let group = seen[i..].iter().take_while(|(g, _, _)| *g == h).count();
            below += seen[i..i + group].iter().map(|(_, c, _)| c).sum::<i64>();
            for &(_, _, old) in &seen[i..i + group] {
                let bound = old.min(i64::from(h) - below);
                delta = Some(delta.map_or(bound, |d| d.max(bound)));
            }
            i += group;
        }
        self.corrections
            .retain(|c| !(c.counter == counter && c.start == start));
        if let Some(delta) = delta {
            self.corrections.push(Correction {
                counter,
                start,
                delta,
            });
        }
    }

    /// 429: nobody sends before `until`.
    pub(crate) fn back_off_until(&mut self, until: Instant) {
        self.not_before = Some(self.not_before.map_or(until, |nb| nb.max(until)));
    }

    /// 418: every request fails with `Banned` until `until`.
    pub(crate) fn ban_until(&mut self, until: Instant) {
        self.banned_until = Some(self.banned_until.map_or(until, |b| b.max(until)));
    }

    /// Our view of the venue's counters for the windows holding `server_ms`.
    #[cfg(test)]
    pub(crate) fn used(&mut self, server_ms: i64) -> Observed {
        self.prune(server_ms);
        let at = |c: Counter| {
            u32::try_from(self.estimate(c, c.window_of(server_ms), server_ms)).unwrap_or(u32::MAX)
        };
        Observed {
            weight_1m: Some(at(Counter::Weight1m)),
            orders_10s: Some(at(Counter::Orders10s)),
            orders_1m: Some(at(Counter::Orders1m)),
        }
    }
}
