//! Rate-limit accounting that mirrors the venue's counters and never lets a request
//! exceed them.
//!
//! Binance counts in FIXED windows of server time (weight per minute, orders per 10 s and
//! per minute; each resets at its boundary). This module keeps the same view:
//!
//! - Every booked request is an entry with the interval of server time in which the venue
//!   may process it: from our server-time estimate at booking minus [`MARGIN_MS`] to our
//!   estimate at its answer plus [`MARGIN_MS`] (open-ended while it is in flight). It
//!   counts in every venue window that interval touches, so a request near a boundary, or
//!   one still in flight when a window starts, counts in both windows.
//! - A response header (`X-MBX-USED-WEIGHT-1M`, `X-MBX-ORDER-COUNT-10S/1M`) is the venue's
//!   count for the window that processed the request. When that window is unambiguous it
//!   REPLACES our count for that window: our count becomes the header plus every own
//!   request the header may not contain yet (any request not answered before this one was
//!   booked, and none whose own header shows it came later). A header equal to our own
//!   count therefore changes nothing, a higher one (another client on the key or IP)
//!   raises it, and a lower one corrects a request we counted in two windows. The highest
//!   such bound per window wins, so an old header arriving late cannot lower a newer one.
//!   The correction ends with its window.
//! - Orders that may increase risk can use only `(1 - reserve_share)` of each order
//!   budget, so opens can never starve a close.
//! - A 429 sets a shared "not before" instant every request waits for; a 418 ban makes
//!   every request fail fast with `Banned` until the ban ends.
//!
//! Soundness assumes our server-time estimate is within [`MARGIN_MS`] of the venue's
//! (the clock offset is measured round-trip compensated and re-measured periodically).
//! [`Accounts`] is pure: callers pass the instant and the server-time estimate.

use std::collections::VecDeque;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use tokio::time::Instant;

/// How far our estimate of server time may be from the venue's clock, in ms: a request
/// booked at estimate `t` is processed no earlier than `t - MARGIN_MS`.
pub const MARGIN_MS: i64 = 200;

/// The venue's published limits (exchangeInfo `rateLimits`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    pub weight_1m: u32,
    pub orders_10s: u32,
    pub orders_1m: u32,
}

impl Default for Budget {
    /// Mainnet values (reference §3); replaced by exchangeInfo at connect.
    fn default() -> Self {
        Self {
            weight_1m: 2400,
            orders_10s: 300,
            orders_1m: 1200,
        }
    }
}

/// What one request costs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cost {
    pub weight: u32,
    /// Counted once on the 10 s and once on the 1 min order counters.
    pub orders: u32,
    /// Risk-reducing orders may use the reserved share of the order budgets.
    pub reduces_risk: bool,
}

impl Cost {
    pub fn weight(weight: u32) -> Self {
        Self {
            weight,
            orders: 0,
            reduces_risk: false,
        }
    }
    pub fn order(reduces_risk: bool) -> Self {
        Self {
            weight: 0,
            orders: 1,
            reduces_risk,
        }
    }
}

/// Why a request cannot go now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
    /// Try again at this instant.
    Until(Instant),
    /// IP banned (418) until this instant: fail instead of waiting hours.
    Banned(Instant),
    /// The request costs more than the budget it may use; it can never be sent.
    Never,
}

/// The venue's counts as one response reported them (`None`: header absent).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Observed {
    pub weight_1m: Option<u32>,
    pub orders_10s: Option<u32>,
    pub orders_1m: Option<u32>,
}

/// One booked request; identifies it when its answer comes back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ticket(u64);

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
            Counter::Orders10s | Counter::Orders1m => c.orders,
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
pub struct Accounts {
    budget: Budget,
    reserve_share: Decimal,
    entries: VecDeque<Entry>,
    corrections: Vec<Correction>,
    next_ticket: u64,
    next_event: u64,
    not_before: Option<Instant>,
    banned_until: Option<Instant>,
}

impl Accounts {
    pub fn new(budget: Budget, reserve_share: Decimal) -> Self {
        Self {
            budget,
            reserve_share: reserve_share.clamp(Decimal::ZERO, Decimal::ONE),
            entries: VecDeque::new(),
            corrections: Vec::new(),
            next_ticket: 0,
            next_event: 0,
            not_before: None,
            banned_until: None,
        }
    }

    pub fn set_budget(&mut self, budget: Budget) {
        self.budget = budget;
    }

    /// The part of a counter's budget a request of this kind may use.
    fn cap(&self, counter: Counter, reduces_risk: bool) -> u32 {
        let limit = match counter {
            Counter::Weight1m => return self.budget.weight_1m,
            Counter::Orders10s => self.budget.orders_10s,
            Counter::Orders1m => self.budget.orders_1m,
        };
        if reduces_risk {
            return limit;
        }
        let open_share = Decimal::ONE - self.reserve_share;
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
    pub fn try_take(&mut self, now: Instant, server_ms: i64, cost: Cost) -> Result<Ticket, Wait> {
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

    fn event(&mut self) -> u64 {
        self.next_event += 1;
        self.next_event
    }

    /// The answer to `ticket` arrived at server-time estimate `server_ms` with these
    /// headers (all `None` when no response came: the request just stops being in flight).
    pub fn complete(&mut self, ticket: Ticket, server_ms: i64, seen: Observed) {
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
    pub fn back_off_until(&mut self, until: Instant) {
        self.not_before = Some(self.not_before.map_or(until, |nb| nb.max(until)));
    }

    /// 418: every request fails with `Banned` until `until`.
    pub fn ban_until(&mut self, until: Instant) {
        self.banned_until = Some(self.banned_until.map_or(until, |b| b.max(until)));
    }

    /// Our view of the venue's counters for the windows holding `server_ms`.
    pub fn used(&mut self, server_ms: i64) -> Observed {
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

/// Where the limiter reads the server time estimate (the adapter's measured clock).
pub trait ServerTime: Debug + Send + Sync {
    fn server_now_ms(&self) -> i64;
}

impl ServerTime for super::clock::Clock {
    fn server_now_ms(&self) -> i64 {
        super::clock::Clock::server_now_ms(self)
    }
}

/// The shared limiter every REST request goes through.
#[derive(Debug)]
pub struct RateLimiter {
    accounts: Mutex<Accounts>,
    time: Arc<dyn ServerTime>,
}

/// A booked request. Hand it the answer's headers with [`Permit::complete`]; dropped
/// unanswered (a cancelled send), it stops counting as in flight.
#[derive(Debug)]
pub struct Permit<'a> {
    limiter: &'a RateLimiter,
    ticket: Option<Ticket>,
}

impl Permit<'_> {
    pub fn complete(mut self, seen: Observed) {
        if let Some(t) = self.ticket.take() {
            let now = self.limiter.time.server_now_ms();
            self.limiter.with(|a| a.complete(t, now, seen));
        }
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if let Some(t) = self.ticket.take() {
            let now = self.limiter.time.server_now_ms();
            self.limiter
                .with(|a| a.complete(t, now, Observed::default()));
        }
    }
}

impl RateLimiter {
    pub fn new(budget: Budget, reserve_share: Decimal, time: Arc<dyn ServerTime>) -> Self {
        Self {
            accounts: Mutex::new(Accounts::new(budget, reserve_share)),
            time,
        }
    }

    /// Run `f` on the accounts. A poisoned lock only means another task panicked
    /// mid-update; the counts are still the best we have, so keep using them.
    pub fn with<R>(&self, f: impl FnOnce(&mut Accounts) -> R) -> R {
        let mut guard = match self.accounts.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard)
    }

    /// The server-time estimate the limiter books with.
    pub fn server_now_ms(&self) -> i64 {
        self.time.server_now_ms()
    }

    /// Wait until `cost` fits, then book it. Fails (without booking) when banned or
    /// when the cost can never fit.
    pub async fn acquire(&self, cost: Cost) -> Result<Permit<'_>, Wait> {
        loop {
            let server_ms = self.time.server_now_ms();
            let wait = self.with(|a| a.try_take(Instant::now(), server_ms, cost));
            match wait {
                Ok(ticket) => {
                    return Ok(Permit {
                        limiter: self,
                        ticket: Some(ticket),
                    })
                }
                Err(Wait::Until(t)) => tokio::time::sleep_until(t).await,
                Err(other) => return Err(other),
            }
        }
    }
}

#[cfg(test)]
#[path = "ratelimit_tests.rs"]
mod tests;
