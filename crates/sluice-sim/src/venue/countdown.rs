//! The dead-man's switch, `POST /fapi/v1/countdownCancelAll` (docs/binance-fapi.md §2.5):
//! per account and symbol, a countdown that cancels every open order of the symbol when
//! it runs out; each call replaces the previous countdown, 0 stops it.
//!
//! Modelled: matching-engine orders only. Whether Binance's countdown also cancels
//! algo (conditional) orders is unverified; the simulator leaves them alone, so a
//! protective stop outlives the switch (the Algo Service is a separate service with its
//! own cancel-all endpoint).

use super::reject::Reject;
use super::{AccountId, Venue};

impl Venue {
    /// Arms (or with 0 stops) the countdown of `a` on `symbol`: `-1121` unknown symbol,
    /// `-1130` a negative countdown.
    pub(crate) fn countdown_cancel_all(
        &mut self,
        a: AccountId,
        symbol: &str,
        countdown_ms: i64,
        now_ms: i64,
    ) -> Result<(), Reject> {
        self.spec_index(symbol)?;
        if countdown_ms < 0 {
            return Err(Reject::bad(
                -1130,
                "Data sent for parameter 'countdownTime' is not valid.",
            ));
        }
        let key = (a, symbol.to_owned());
        if countdown_ms == 0 {
            self.countdowns.remove(&key);
        } else {
            self.countdowns.insert(key, now_ms + countdown_ms);
        }
        Ok(())
    }

    /// Cancels the open orders of every countdown that ran out, and forgets it.
    pub(crate) fn fire_countdowns(&mut self, now_ms: i64) {
        let due: Vec<(AccountId, String)> = self
            .countdowns
            .iter()
            .filter(|(_, at)| **at <= now_ms)
            .map(|(k, _)| k.clone())
            .collect();
        for (a, symbol) in due {
            self.countdowns.remove(&(a, symbol.clone()));
            // The symbol was checked when the countdown was armed.
            let _ = self.cancel_all(a, &symbol, now_ms);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::venue::tests::{limit, place, venue, ACC, T0};

    #[test]
    fn a_countdown_cancels_resting_orders_when_not_renewed_and_renewals_push_it_back() {
        let mut v = venue();
        let o = place(&mut v, limit("BTCUSDT", "BUY", "0.010", "62000", "GTC")).expect("rests");
        v.countdown_cancel_all(ACC, "BTCUSDT", 1_000, T0)
            .expect("armed");
        v.tick(T0 + 900);
        v.countdown_cancel_all(ACC, "BTCUSDT", 1_000, T0 + 900)
            .expect("renewed");
        v.tick(T0 + 1_500);
        assert!(v
            .order(ACC, "BTCUSDT", Some(o.order_id), None)
            .unwrap()
            .status
            .is_open());
        v.tick(T0 + 1_900);
        assert!(!v
            .order(ACC, "BTCUSDT", Some(o.order_id), None)
            .unwrap()
            .status
            .is_open());
        assert_eq!(
            v.countdown_cancel_all(ACC, "NOPEUSDT", 1, T0)
                .unwrap_err()
                .code,
            -1121
        );
    }

    #[test]
    fn a_zero_countdown_stops_the_timer() {
        let mut v = venue();
        let o = place(&mut v, limit("BTCUSDT", "BUY", "0.010", "62000", "GTC")).expect("rests");
        v.countdown_cancel_all(ACC, "BTCUSDT", 1_000, T0)
            .expect("armed");
        v.countdown_cancel_all(ACC, "BTCUSDT", 0, T0 + 10)
            .expect("stopped");
        v.tick(T0 + 5_000);
        assert!(v
            .order(ACC, "BTCUSDT", Some(o.order_id), None)
            .unwrap()
            .status
            .is_open());
    }
}
