//! The limiter every REST request goes through: a shared [`Accounts`] behind a mutex, the
//! server-time source it books with, and the [`Permit`] a request holds until its answer.

use std::fmt::Debug;
use std::sync::{Arc, Mutex};

use rust_decimal::Decimal;
use tokio::time::Instant;

use super::{Accounts, Budget, Cost, Observed, Ticket, Wait};

/// Where the limiter reads the server time estimate (the adapter's measured clock).
pub(crate) trait ServerTime: Debug + Send + Sync {
    fn server_now_ms(&self) -> i64;
}

impl ServerTime for crate::exchange::binance::clock::Clock {
    fn server_now_ms(&self) -> i64 {
        crate::exchange::binance::clock::Clock::server_now_ms(self)
    }
}

/// The shared limiter every REST request goes through.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    accounts: Mutex<Accounts>,
    time: Arc<dyn ServerTime>,
}

/// A booked request. Hand it the answer's headers with [`Permit::complete`]; dropped
/// unanswered (a cancelled send), it stops counting as in flight.
#[derive(Debug)]
pub(crate) struct Permit<'a> {
    limiter: &'a RateLimiter,
    ticket: Option<Ticket>,
}

impl Permit<'_> {
    pub(crate) fn complete(mut self, seen: Observed) {
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
    pub(crate) fn new(budget: Budget, reserve_share: Decimal, time: Arc<dyn ServerTime>) -> Self {
        Self {
            accounts: Mutex::new(Accounts::new(budget, reserve_share)),
            time,
        }
    }

    /// Run `f` on the accounts. A poisoned lock only means another task panicked
    /// mid-update; the counts are still the best we have, so keep using them.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut Accounts) -> R) -> R {
        let mut guard = match self.accounts.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard)
    }

    /// The server-time estimate the limiter books with.
    #[cfg(test)]
    pub(crate) fn server_now_ms(&self) -> i64 {
        self.time.server_now_ms()
    }

    /// Wait until `cost` fits, then book it. Fails (without booking) when banned or
    /// when the cost can never fit.
    pub(crate) async fn acquire(&self, cost: Cost) -> Result<Permit<'_>, Wait> {
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
