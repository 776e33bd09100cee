//! Rate-limit accounting that never lets a request exceed the venue's budgets.
//!
//! Invariants:
//! - Each budget (request weight per minute, orders per 10 s, orders per minute) is a
//!   sliding log: the sum over ANY window of that length stays within the limit, which
//!   implies the venue's fixed windows stay within it too, whatever their alignment.
//! - Response headers only ever raise our count (the venue may know of requests we do not).
//! - Orders that may increase risk can use only `(1 - reserve_share)` of each order
//!   budget, so opens can never starve a close.
//! - A 429 sets a shared "not before" instant every request waits for; a 418 ban makes
//!   every request fail fast with `Banned` until the ban ends.
//!
//! Time is injected (`tokio::time::Instant`), so the accounting is pure and tests can
//! drive it with explicit instants or `tokio::time::pause()`.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use tokio::time::Instant;

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

#[derive(Debug)]
struct Window {
    len: Duration,
    log: VecDeque<(Instant, u32)>,
    sum: u32,
}

/// Added to every window: a request sent just inside our window may ARRIVE just inside
/// the venue's next one; this covers up to this much latency jitter.
pub const JITTER_MARGIN: Duration = Duration::from_millis(200);

impl Window {
    fn new(len: Duration) -> Self {
        Self {
            len: len + JITTER_MARGIN,
            log: VecDeque::new(),
            sum: 0,
        }
    }

    fn prune(&mut self, now: Instant) {
        while let Some(&(t, c)) = self.log.front() {
            if t + self.len > now {
                break;
            }
            self.sum -= c;
            self.log.pop_front();
        }
    }

    /// The earliest instant at which `cost` fits under `cap`, or `None` if it fits now.
    fn wait_for(&self, cap: u32, cost: u32) -> Option<Instant> {
        if self.sum + cost <= cap {
            return None;
        }
        let mut remaining = self.sum;
        for &(t, c) in &self.log {
            remaining -= c;
            if remaining + cost <= cap {
                return Some(t + self.len);
            }
        }
        // Unreachable when cost <= cap (the log drains to zero); callers check that first.
        self.log.back().map(|&(t, _)| t + self.len)
    }

    fn take(&mut self, now: Instant, cost: u32) {
        if cost > 0 {
            self.log.push_back((now, cost));
            self.sum += cost;
        }
    }

    /// The venue reports `used`; if that is more than we counted, book the difference.
    fn observe(&mut self, now: Instant, used: u32) {
        self.prune(now);
        if used > self.sum {
            self.take(now, used - self.sum);
        }
    }
}

/// The pure accounting state.
#[derive(Debug)]
pub struct Accounts {
    budget: Budget,
    reserve_share: Decimal,
    weight: Window,
    orders_10s: Window,
    orders_1m: Window,
    not_before: Option<Instant>,
    banned_until: Option<Instant>,
}

impl Accounts {
    pub fn new(budget: Budget, reserve_share: Decimal) -> Self {
        Self {
            budget,
            reserve_share: reserve_share.clamp(Decimal::ZERO, Decimal::ONE),
            weight: Window::new(Duration::from_secs(60)),
            orders_10s: Window::new(Duration::from_secs(10)),
            orders_1m: Window::new(Duration::from_secs(60)),
            not_before: None,
            banned_until: None,
        }
    }

    pub fn set_budget(&mut self, budget: Budget) {
        self.budget = budget;
    }

    /// The part of an order budget a request of this kind may use.
    fn order_cap(&self, limit: u32, reduces_risk: bool) -> u32 {
        if reduces_risk {
            return limit;
        }
        let open_share = Decimal::ONE - self.reserve_share;
        (Decimal::from(limit) * open_share)
            .floor()
            .to_u32()
            .unwrap_or(0)
    }

    /// Book `cost` at `now` if every budget allows it; otherwise say how long to wait.
    pub fn try_take(&mut self, now: Instant, cost: Cost) -> Result<(), Wait> {
        if let Some(until) = self.banned_until.filter(|u| *u > now) {
            return Err(Wait::Banned(until));
        }
        if let Some(nb) = self.not_before.filter(|nb| *nb > now) {
            return Err(Wait::Until(nb));
        }
        self.weight.prune(now);
        self.orders_10s.prune(now);
        self.orders_1m.prune(now);
        let caps = [
            (&self.weight, self.budget.weight_1m, cost.weight),
            (
                &self.orders_10s,
                self.order_cap(self.budget.orders_10s, cost.reduces_risk),
                cost.orders,
            ),
            (
                &self.orders_1m,
                self.order_cap(self.budget.orders_1m, cost.reduces_risk),
                cost.orders,
            ),
        ];
        let mut wait: Option<Instant> = None;
        for (window, cap, c) in caps {
            if c > cap {
                return Err(Wait::Never);
            }
            if let Some(t) = window.wait_for(cap, c) {
                wait = Some(wait.map_or(t, |w| w.max(t)));
            }
        }
        if let Some(t) = wait {
            return Err(Wait::Until(t));
        }
        self.weight.take(now, cost.weight);
        self.orders_10s.take(now, cost.orders);
        self.orders_1m.take(now, cost.orders);
        Ok(())
    }

    /// Correct our counts from `X-MBX-USED-WEIGHT-1M` / `X-MBX-ORDER-COUNT-*`.
    pub fn observe(
        &mut self,
        now: Instant,
        weight: Option<u32>,
        o10s: Option<u32>,
        o1m: Option<u32>,
    ) {
        if let Some(w) = weight {
            self.weight.observe(now, w);
        }
        if let Some(o) = o10s {
            self.orders_10s.observe(now, o);
        }
        if let Some(o) = o1m {
            self.orders_1m.observe(now, o);
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

    pub fn used_weight(&mut self, now: Instant) -> u32 {
        self.weight.prune(now);
        self.weight.sum
    }
}

/// The shared limiter every REST request goes through.
#[derive(Debug)]
pub struct RateLimiter {
    accounts: Mutex<Accounts>,
}

impl RateLimiter {
    pub fn new(budget: Budget, reserve_share: Decimal) -> Self {
        Self {
            accounts: Mutex::new(Accounts::new(budget, reserve_share)),
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

    /// Wait until `cost` fits, then book it. Fails (without booking) when banned or
    /// when the cost can never fit.
    pub async fn acquire(&self, cost: Cost) -> Result<(), Wait> {
        loop {
            let wait = self.with(|a| a.try_take(Instant::now(), cost));
            match wait {
                Ok(()) => return Ok(()),
                Err(Wait::Until(t)) => tokio::time::sleep_until(t).await,
                Err(other) => return Err(other),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn small() -> Budget {
        Budget {
            weight_1m: 10,
            orders_10s: 10,
            orders_1m: 100,
        }
    }

    #[test]
    fn a_request_that_would_exceed_the_weight_budget_waits_for_the_oldest_to_expire() {
        let t0 = Instant::now();
        let mut a = Accounts::new(small(), dec!(0.2));
        assert!(a.try_take(t0, Cost::weight(6)).is_ok());
        let t1 = t0 + Duration::from_secs(5);
        assert!(a.try_take(t1, Cost::weight(4)).is_ok());
        let t2 = t0 + Duration::from_secs(6);
        assert_eq!(
            a.try_take(t2, Cost::weight(1)),
            Err(Wait::Until(t0 + Duration::from_secs(60) + JITTER_MARGIN))
        );
        let expired = t0 + Duration::from_secs(60) + JITTER_MARGIN;
        assert!(a.try_take(expired, Cost::weight(6)).is_ok());
    }

    #[test]
    fn opens_stop_at_the_reserve_and_closes_can_use_it() {
        let t0 = Instant::now();
        let mut a = Accounts::new(small(), dec!(0.2));
        for _ in 0..8 {
            assert!(a.try_take(t0, Cost::order(false)).is_ok());
        }
        assert!(matches!(
            a.try_take(t0, Cost::order(false)),
            Err(Wait::Until(_))
        ));
        assert!(a.try_take(t0, Cost::order(true)).is_ok());
        assert!(a.try_take(t0, Cost::order(true)).is_ok());
        assert!(matches!(
            a.try_take(t0, Cost::order(true)),
            Err(Wait::Until(_))
        ));
    }

    #[test]
    fn headers_raise_the_count_but_never_lower_it() {
        let t0 = Instant::now();
        let mut a = Accounts::new(small(), dec!(0));
        a.try_take(t0, Cost::weight(3)).unwrap();
        a.observe(t0, Some(1), None, None);
        assert_eq!(a.used_weight(t0), 3);
        a.observe(t0, Some(9), None, None);
        assert_eq!(a.used_weight(t0), 9);
        assert!(matches!(
            a.try_take(t0, Cost::weight(2)),
            Err(Wait::Until(_))
        ));
    }

    #[test]
    fn a_ban_fails_fast_until_it_ends_and_a_backoff_makes_everyone_wait() {
        let t0 = Instant::now();
        let mut a = Accounts::new(small(), dec!(0));
        let end = t0 + Duration::from_secs(120);
        a.ban_until(end);
        assert_eq!(a.try_take(t0, Cost::weight(1)), Err(Wait::Banned(end)));
        assert!(a.try_take(end, Cost::weight(1)).is_ok());
        let nb = end + Duration::from_secs(3);
        a.back_off_until(nb);
        assert_eq!(a.try_take(end, Cost::order(true)), Err(Wait::Until(nb)));
    }

    #[test]
    fn a_cost_larger_than_the_budget_is_refused_rather_than_waited_for() {
        let mut a = Accounts::new(small(), dec!(1));
        assert_eq!(
            a.try_take(Instant::now(), Cost::order(false)),
            Err(Wait::Never)
        );
        assert_eq!(
            a.try_take(Instant::now(), Cost::weight(11)),
            Err(Wait::Never)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn acquire_waits_on_the_paused_clock_instead_of_failing() {
        let limiter = RateLimiter::new(small(), dec!(0));
        let start = Instant::now();
        for _ in 0..10 {
            limiter.acquire(Cost::order(false)).await.unwrap();
        }
        limiter.acquire(Cost::order(false)).await.unwrap();
        assert!(Instant::now() >= start + Duration::from_secs(10));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        /// Whatever the arrival pattern, no 60 s window ever books more than the limit.
        #[test]
        fn no_window_ever_exceeds_its_budget(
            steps in proptest::collection::vec((0u64..3000, 0u32..5, proptest::bool::ANY), 1..300)
        ) {
            let t0 = Instant::now();
            let mut a = Accounts::new(small(), dec!(0.3));
            let mut now = t0;
            let mut booked: Vec<(Instant, u32)> = Vec::new();
            for (gap_ms, weight, reduce) in steps {
                now += Duration::from_millis(gap_ms);
                let cost = Cost { weight, orders: 0, reduces_risk: reduce };
                if a.try_take(now, cost).is_ok() {
                    booked.push((now, weight));
                }
                let in_window: u32 = booked
                    .iter()
                    .filter(|(t, _)| *t + Duration::from_secs(60) + JITTER_MARGIN > now)
                    .map(|(_, w)| *w)
                    .sum();
                proptest::prop_assert!(in_window <= 10);
            }
        }
    }
}
