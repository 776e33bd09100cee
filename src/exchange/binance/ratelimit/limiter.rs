//! The limiter every REST request goes through: the venue's counters split the way the
//! venue counts them (docs/binance-fapi.md §3), the server-time source it books with, and
//! the [`Permit`] a request holds until its answer.
//!
//! - `REQUEST_WEIGHT`, a 429 on weight and a 418 ban are per IP: they live in an
//!   [`IpShare`] that every account served from this host holds (one daemon serving several
//!   accounts passes the same share to each account's limiter);
//! - `ORDERS` (10 s, 1 min) and a 429 on orders (-1015) are per account: each limiter has
//!   its own.
//!
//! A request goes only when both its account's orders and its IP's weight fit; it books
//! on both at once (the account part is taken back when the IP part must wait), so
//! neither ever counts a request that was not sent.

use std::fmt::Debug;
use std::sync::{Arc, Mutex};

use rust_decimal::Decimal;
use tokio::time::Instant;

use super::{Accounts, Budget, Cost, Observed, Reserve, Ticket, Wait, WEIGHT_RESERVE_SHARE};

/// Where the limiter reads the server time estimate (the adapter's measured clock).
pub(crate) trait ServerTime: Debug + Send + Sync {
    fn server_now_ms(&self) -> i64;
}

impl ServerTime for crate::exchange::binance::clock::Clock {
    fn server_now_ms(&self) -> i64 {
        crate::exchange::binance::clock::Clock::server_now_ms(self)
    }
}

/// What every account on one IP shares: the weight counter, the share of it kept for
/// risk-reducing requests, its 429 back-off and a 418.
#[derive(Debug)]
pub(crate) struct IpShare {
    accounts: Mutex<Accounts>,
}

impl IpShare {
    /// The adapter's IP share: [`WEIGHT_RESERVE_SHARE`] of each minute's weight is kept
    /// for risk-reducing requests, for every account that will share it.
    pub(crate) fn new(budget: Budget) -> Arc<IpShare> {
        Self::keeping(budget, WEIGHT_RESERVE_SHARE)
    }

    /// An IP share that keeps `weight_reserve` of each minute's weight for risk-reducing
    /// requests.
    pub(crate) fn keeping(budget: Budget, weight_reserve: Decimal) -> Arc<IpShare> {
        Arc::new(IpShare {
            accounts: Mutex::new(Accounts::new(budget, Reserve::weight(weight_reserve))),
        })
    }
}

/// One account's limiter: its own order counters and its IP's shared weight.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    orders: Mutex<Accounts>,
    ip: Arc<IpShare>,
    time: Arc<dyn ServerTime>,
}

/// A booked request. Hand it the answer's headers with [`Permit::complete`]; dropped
/// unanswered (a cancelled send), it stops counting as in flight.
#[derive(Debug)]
pub(crate) struct Permit<'a> {
    limiter: &'a RateLimiter,
    tickets: Option<(Ticket, Ticket)>,
}

impl Permit<'_> {
    pub(crate) fn complete(mut self, seen: Observed) {
        self.finish(seen);
    }

    fn finish(&mut self, seen: Observed) {
        if let Some((orders, weight)) = self.tickets.take() {
            let l = self.limiter;
            let now = l.time.server_now_ms();
            let (own, shared) = split_observed(seen);
            locked(&l.orders, |a| a.complete(orders, now, own));
            locked(&l.ip.accounts, |a| a.complete(weight, now, shared));
        }
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.finish(Observed::default());
    }
}

/// Run `f` on one set of counters. A poisoned lock only means another task panicked
/// mid-update; the counts are still the best we have, so keep using them.
fn locked<R>(m: &Mutex<Accounts>, f: impl FnOnce(&mut Accounts) -> R) -> R {
    let mut guard = match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    };
    f(&mut guard)
}

/// (the account's part, the IP's part) of a cost.
fn split_cost(cost: Cost) -> (Cost, Cost) {
    let orders = Cost { weight: 0, ..cost };
    let weight = Cost {
        orders: 0,
        orders_1m: 0,
        ..cost
    };
    (orders, weight)
}

/// (the account's part, the IP's part) of a response's headers.
fn split_observed(seen: Observed) -> (Observed, Observed) {
    let orders = Observed {
        weight_1m: None,
        ..seen
    };
    let weight = Observed {
        weight_1m: seen.weight_1m,
        orders_10s: None,
        orders_1m: None,
    };
    (orders, weight)
}

impl RateLimiter {
    /// A limiter with an IP share of its own (one account on this host), keeping
    /// `reserve` of its budgets for risk-reducing requests.
    pub(crate) fn new(budget: Budget, reserve: Reserve, time: Arc<dyn ServerTime>) -> Self {
        Self::sharing(
            IpShare::keeping(budget, reserve.weight),
            budget,
            reserve.orders,
            time,
        )
    }

    /// A limiter for one more account on the IP of `ip` (whose weight reserve is the
    /// IP's own), keeping `orders_reserve` of its order counters for risk-reducing orders.
    pub(crate) fn sharing(
        ip: Arc<IpShare>,
        budget: Budget,
        orders_reserve: Decimal,
        time: Arc<dyn ServerTime>,
    ) -> Self {
        Self {
            orders: Mutex::new(Accounts::new(budget, Reserve::orders(orders_reserve))),
            ip,
            time,
        }
    }

    /// The venue's published limits (exchangeInfo): the account's order limits and the
    /// IP's weight limit.
    pub(crate) fn set_budget(&self, budget: Budget) {
        locked(&self.orders, |a| a.set_budget(budget));
        locked(&self.ip.accounts, |a| a.set_budget(budget));
    }

    /// A 429 until `until`: on orders (-1015) only this account waits; on weight (and any
    /// other code) every account on the IP does.
    pub(crate) fn back_off_until(&self, code: Option<i64>, until: Instant) {
        if code == Some(-1015) {
            locked(&self.orders, |a| a.back_off_until(until));
        } else {
            locked(&self.ip.accounts, |a| a.back_off_until(until));
        }
    }

    /// A 418: the IP is banned until `until`, for every account on it.
    pub(crate) fn ban_until(&self, until: Instant) {
        locked(&self.ip.accounts, |a| a.ban_until(until));
    }

    /// May a background read of `weight` go now (the IP's weight within
    /// [`super::BACKGROUND_SHARE`] of its limit with it)? Books nothing.
    pub(crate) fn background_fits(&self, weight: u32) -> bool {
        let server_ms = self.time.server_now_ms();
        locked(&self.ip.accounts, |a| {
            a.background_fits(Instant::now(), server_ms, weight)
        })
    }

    /// Our view of the venue's counters: this account's orders and the IP's weight.
    #[cfg(test)]
    pub(crate) fn used(&self, server_ms: i64) -> Observed {
        let orders = locked(&self.orders, |a| a.used(server_ms));
        let weight = locked(&self.ip.accounts, |a| a.used(server_ms));
        Observed {
            weight_1m: weight.weight_1m,
            ..orders
        }
    }

    /// The server-time estimate the limiter books with.
    #[cfg(test)]
    pub(crate) fn server_now_ms(&self) -> i64 {
        self.time.server_now_ms()
    }

    /// Book `cost` on both parts now, or say why not (nothing stays booked then).
    fn try_take(&self, cost: Cost) -> Result<(Ticket, Ticket), Wait> {
        let server_ms = self.time.server_now_ms();
        let now = Instant::now();
        let (own, shared) = split_cost(cost);
        let orders = locked(&self.orders, |a| a.try_take(now, server_ms, own))?;
        match locked(&self.ip.accounts, |a| a.try_take(now, server_ms, shared)) {
            Ok(weight) => Ok((orders, weight)),
            Err(wait) => {
                locked(&self.orders, |a| a.forget(orders));
                Err(wait)
            }
        }
    }

    /// Wait until `cost` fits, then book it. Fails (without booking) when banned or
    /// when the cost can never fit.
    pub(crate) async fn acquire(&self, cost: Cost) -> Result<Permit<'_>, Wait> {
        loop {
            match self.try_take(cost) {
                Ok(tickets) => {
                    return Ok(Permit {
                        limiter: self,
                        tickets: Some(tickets),
                    })
                }
                Err(Wait::Until(t)) => tokio::time::sleep_until(t).await,
                Err(other) => return Err(other),
            }
        }
    }
}
