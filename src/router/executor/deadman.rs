//! The dead-man's switch (docs/binance-fapi.md §2.5): while sluice runs, every symbol
//! that may have resting orders gets `POST /fapi/v1/countdownCancelAll` with the
//! configured countdown, renewed at a quarter of it; a symbol that no longer needs it
//! gets its countdown stopped (0). If sluice dies, hangs or loses the network, the
//! renewals stop and the venue cancels those orders itself when the countdown runs out.
//!
//! Which symbols are armed, every heartbeat: the symbols of sluice's own LIMIT orders the
//! ledger holds non-terminal (one ledger read, no exchange weight), together with the
//! symbols of the venue's last unscoped `openOrders` read (IP weight 40). That read is a
//! background read: it runs at most once per countdown period, and only while the IP's
//! weight has room for it (`Exchange::background_read_fits`: the minute's weight within
//! half of the limit), so ten accounts on one IP do not spend their weight on it while
//! a flatten needs it. What that covers:
//!
//! - every order sluice placed that may rest, from the heartbeat after it is recorded
//!   (the ledger records an order before it is sent);
//! - orders placed by someone else on the account (by hand, another program): from the
//!   next venue read, so they may wait up to one countdown period to be armed, longer
//!   while the IP's weight stays above half of its limit (every read is skipped then).
//!   The first venue read comes one countdown period after start (not at start, when
//!   every account's start-up reads fill the IP's minute): such orders already resting
//!   when sluice starts are armed then.
//!
//! An armed symbol is renewed for as long as either source names it, so nothing armed
//! lapses while the daemon runs; a failed read (ledger or venue) keeps the symbols of the
//! last good one. Protective stops live in the Algo Service and are not open orders: the
//! switch leaves them in place.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::domain::Symbol;
use crate::exchange::Exchange;
use crate::ledger::Ledger;
use crate::shutdown::Shutdown;

/// Counter: heartbeats that failed to renew a countdown.
pub(crate) const DEAD_MAN_FAILURES_TOTAL: &str = "sluice_dead_man_switch_failures_total";

/// IP weight of `GET /fapi/v1/openOrders` without a symbol (docs/binance-fapi.md §2.2).
const UNSCOPED_OPEN_ORDERS_WEIGHT: u32 = 40;

/// Start the heartbeat, or nothing when the switch is off.
pub(crate) fn spawn(
    exchange: Arc<dyn Exchange>,
    ledger: Ledger,
    venue: String,
    countdown: Option<Duration>,
    mut shutdown: Shutdown,
) -> Option<JoinHandle<()>> {
    let countdown = countdown?;
    let every = (countdown / 4).max(Duration::from_millis(250));
    let mut switch = Switch {
        exchange,
        ledger,
        venue,
        countdown,
        armed: BTreeSet::new(),
        own: BTreeSet::new(),
        seen: BTreeSet::new(),
        // Not at start: start-up reads every account's state (crash recovery, and the
        // start-up reconcile when it runs); the first venue read waits a period.
        last_read: Some(Instant::now()),
    };
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.recv() => break,
                _ = tick.tick() => {}
            }
            switch.beat().await;
        }
    }))
}

/// The heartbeat's state.
struct Switch {
    exchange: Arc<dyn Exchange>,
    ledger: Ledger,
    venue: String,
    countdown: Duration,
    /// Symbols whose countdown runs at the venue.
    armed: BTreeSet<Symbol>,
    /// Symbols of sluice's own orders that may rest, as the ledger last said.
    own: BTreeSet<Symbol>,
    /// Symbols with open orders at the venue, as its last unscoped read said.
    seen: BTreeSet<Symbol>,
    /// When the venue was last read.
    last_read: Option<Instant>,
}

impl Switch {
    /// One heartbeat: refresh the sources, renew every symbol they name, stop the others.
    async fn beat(&mut self) {
        self.read_ledger().await;
        let now = Instant::now();
        if venue_read_due(self.last_read, now, self.countdown)
            && self
                .exchange
                .background_read_fits(UNSCOPED_OPEN_ORDERS_WEIGHT)
        {
            match self
                .exchange
                .open_orders(None, crate::exchange::Purpose::Routine)
                .await
            {
                Ok(orders) => {
                    self.seen = orders.into_iter().map(|o| o.symbol).collect();
                    self.last_read = Some(now);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "dead-man's switch: reading open orders failed; the last symbols stay armed");
                }
            }
        }
        let want: BTreeSet<Symbol> = self.own.union(&self.seen).cloned().collect();
        self.renew(&want).await;
    }

    /// Sluice's own orders that may rest: non-terminal LIMIT orders on this venue.
    async fn read_ledger(&mut self) {
        match self.ledger.resting_symbols(&self.venue).await {
            Ok(symbols) => self.own = symbols,
            Err(e) => {
                tracing::warn!(error = %e, "dead-man's switch: reading the ledger's orders failed; the last symbols stay armed");
            }
        }
    }

    /// Renew the countdown of every symbol in `want`; stop the armed ones not in it.
    async fn renew(&mut self, want: &BTreeSet<Symbol>) {
        let countdown = self.countdown;
        for symbol in want {
            match self.exchange.countdown_cancel_all(symbol, countdown).await {
                Ok(()) => {
                    if self.armed.insert(symbol.clone()) {
                        tracing::info!(%symbol, countdown_ms = countdown.as_millis() as u64, "dead-man's switch armed");
                    }
                }
                Err(e) => {
                    tracing::error!(%symbol, error = %e, "dead-man's switch: renewing the countdown failed");
                    metrics::counter!(DEAD_MAN_FAILURES_TOTAL).increment(1);
                }
            }
        }
        let idle: Vec<Symbol> = self.armed.difference(want).cloned().collect();
        for symbol in idle {
            if self
                .exchange
                .countdown_cancel_all(&symbol, Duration::ZERO)
                .await
                .is_ok()
            {
                self.armed.remove(&symbol);
            }
        }
    }
}

/// Is the venue's unscoped read due: never read, or last read a countdown period ago?
fn venue_read_due(last: Option<Instant>, now: Instant, countdown: Duration) -> bool {
    last.is_none_or(|t| now.saturating_duration_since(t) >= countdown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_venue_is_read_at_the_first_beat_and_then_once_per_countdown_period() {
        let countdown = Duration::from_secs(60);
        let t0 = Instant::now();
        assert!(venue_read_due(None, t0, countdown));
        assert!(!venue_read_due(
            Some(t0),
            t0 + Duration::from_secs(15),
            countdown
        ));
        assert!(!venue_read_due(
            Some(t0),
            t0 + Duration::from_secs(59),
            countdown
        ));
        assert!(venue_read_due(Some(t0), t0 + countdown, countdown));
    }
}
