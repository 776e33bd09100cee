//! Market side of the venue: marks (scripted via `set_mark` or a seeded random
//! walk in `tick`), book refill, resting orders filled when the book moves
//! through them, GTD expiry, and the public market-data views.
//!
//! Invariant: a walked mark is a positive multiple of the tick (steps are
//! rounded to the tick and floored at one tick); no mark exceeds the symbol's
//! max price (or 10^12 when it has none).

use rand::Rng;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use super::book::floor_to;
use super::execution::ER_NONE;
use super::reject::Reject;
use super::types::{OrderStatus, OrderType, Side};
use super::views::{AccountSnapshot, BookTickerView, DepthView, MarkView, VenueSnapshot};
use super::Venue;

/// Funding interval (8 h) for `nextFundingTime`.
const FUNDING_INTERVAL_MS: i64 = 8 * 3_600_000;
/// Highest mark accepted when the symbol's PRICE_FILTER has no maximum.
const MAX_MARK: Decimal = dec!(1_000_000_000_000);
/// Upper bound of walk steps per `tick`, so a long pause cannot stall the venue.
const MAX_WALK_STEPS: i64 = 10_000;

impl Venue {
    /// Sets a symbol's mark (scripted price) and fills resting orders the
    /// moved book now crosses. `-1121` unknown symbol, `-4001` price ≤ 0.
    pub(crate) fn set_mark(
        &mut self,
        symbol: &str,
        price: Decimal,
        now_ms: i64,
    ) -> Result<(), Reject> {
        let i = self.spec_index(symbol)?;
        if price <= Decimal::ZERO {
            return Err(Reject::price_not_positive());
        }
        // Keeps book arithmetic far from Decimal's range whatever the scenario.
        let max = &self.symbols[i].max_price;
        if price > MAX_MARK || (!max.is_zero() && price > *max) {
            return Err(Reject::price_above_max());
        }
        self.now_ms = self.now_ms.max(now_ms);
        self.markets[i].set_mark(price, now_ms);
        self.match_resting(i, now_ms);
        self.run_algo_triggers(i, now_ms);
        Ok(())
    }

    /// Advances time: refills books, walks marks (if enabled), fills resting
    /// orders the book crosses, expires GTD orders.
    pub(crate) fn tick(&mut self, now_ms: i64) {
        self.now_ms = self.now_ms.max(now_ms);
        for i in 0..self.symbols.len() {
            self.markets[i].refill(&self.symbols[i], now_ms);
            self.walk(i, now_ms);
            self.match_resting(i, now_ms);
            self.run_algo_triggers(i, now_ms);
        }
        let expired: Vec<i64> = self
            .open_order_records()
            .filter(|o| o.status.is_open() && o.good_till_date > 0 && o.good_till_date <= now_ms)
            .map(|o| o.order_id)
            .collect();
        for id in expired {
            self.close_order(id, OrderStatus::Expired, ER_NONE, now_ms);
        }
        self.fire_countdowns(now_ms);
    }

    /// Seeded random walk: each step moves the mark by a uniform fraction of
    /// `walk_step` (in thousandths), rounded to the tick.
    fn walk(&mut self, i: usize, now_ms: i64) {
        let spec = &self.symbols[i];
        let market = &mut self.markets[i];
        if spec.walk_step <= Decimal::ZERO
            || spec.walk_interval_ms <= 0
            || spec.tick_size <= Decimal::ZERO
        {
            return;
        }
        let steps = ((now_ms - market.last_walk_ms) / spec.walk_interval_ms).min(MAX_WALK_STEPS);
        if steps <= 0 {
            return;
        }
        market.last_walk_ms += steps * spec.walk_interval_ms;
        let mut mark = market.mark;
        let cap = if spec.max_price.is_zero() {
            MAX_MARK
        } else {
            spec.max_price
        };
        for _ in 0..steps {
            let r = Decimal::new(self.rng.gen_range(-1000..=1000), 3);
            let moved = floor_to(mark * (Decimal::ONE + spec.walk_step * r), spec.tick_size);
            mark = moved.max(spec.tick_size).min(cap);
        }
        market.set_mark(mark, now_ms);
    }

    /// Fills, oldest first, every resting LIMIT order the book now crosses:
    /// a BUY when the best ask is at or below its price, a SELL when the best
    /// bid is at or above it.
    fn match_resting(&mut self, i: usize, now_ms: i64) {
        let spec = &self.symbols[i];
        let market = &self.markets[i];
        let best_ask = market.best(spec, Side::Buy).map(|(p, _)| p);
        let best_bid = market.best(spec, Side::Sell).map(|(p, _)| p);
        let crossing: Vec<i64> = self
            .open_order_records()
            .filter(|o| {
                o.symbol == spec.name && o.status.is_open() && o.order_type == OrderType::Limit
            })
            .filter(|o| match o.side {
                Side::Buy => best_ask.is_some_and(|a| a <= o.price),
                Side::Sell => best_bid.is_some_and(|b| b >= o.price),
            })
            .map(|o| o.order_id)
            .collect();
        for id in crossing {
            // An earlier fill may have expired a reduce-only order meanwhile.
            if self.orders.get(&id).is_some_and(|o| o.status.is_open()) {
                self.fill_resting(id, now_ms);
            }
        }
    }

    /// `GET /fapi/v1/premiumIndex` for one symbol.
    pub(crate) fn mark(&self, symbol: &str) -> Option<MarkView> {
        let &i = self.symbol_index.get(symbol)?;
        let (spec, market) = (&self.symbols[i], &self.markets[i]);
        let now = self.now_ms.max(market.mark_time);
        Some(MarkView {
            symbol: spec.name.clone(),
            mark_price: market.mark,
            index_price: market.mark,
            estimated_settle_price: market.mark,
            last_funding_rate: dec!(0.00010000),
            interest_rate: dec!(0.00010000),
            next_funding_time: (now / FUNDING_INTERVAL_MS + 1) * FUNDING_INTERVAL_MS,
            time: market.mark_time,
            price_precision: spec.price_precision,
        })
    }

    /// Every symbol's mark, in symbol order.
    pub(crate) fn marks(&self) -> Vec<MarkView> {
        self.symbols
            .iter()
            .filter_map(|s| self.mark(&s.name))
            .collect()
    }

    /// `GET /fapi/v1/ticker/bookTicker` for one symbol (None if unknown or the
    /// book is fully consumed on a side).
    pub(crate) fn book_ticker(&self, symbol: &str) -> Option<BookTickerView> {
        let &i = self.symbol_index.get(symbol)?;
        let (spec, market) = (&self.symbols[i], &self.markets[i]);
        let (bid_price, bid_qty) = market.best(spec, Side::Sell)?;
        let (ask_price, ask_qty) = market.best(spec, Side::Buy)?;
        Some(BookTickerView {
            symbol: spec.name.clone(),
            bid_price,
            bid_qty,
            ask_price,
            ask_qty,
            time: self.now_ms,
            price_precision: spec.price_precision,
            quantity_precision: spec.quantity_precision,
        })
    }

    /// `GET /fapi/v1/depth`: at most `limit` levels a side, best first.
    pub(crate) fn depth(&self, symbol: &str, limit: usize) -> Option<DepthView> {
        let &i = self.symbol_index.get(symbol)?;
        let (spec, market) = (&self.symbols[i], &self.markets[i]);
        let bids = market.level_iter(spec, Side::Sell).take(limit).collect();
        let asks = market.level_iter(spec, Side::Buy).take(limit).collect();
        Some(DepthView {
            symbol: spec.name.clone(),
            last_update_id: market.update_id,
            event_time: self.now_ms,
            transaction_time: self.now_ms,
            bids,
            asks,
            price_precision: spec.price_precision,
            quantity_precision: spec.quantity_precision,
        })
    }

    /// Whole-venue state for `GET /sim/state` (keys listed, secrets never).
    pub(crate) fn snapshot(&self) -> VenueSnapshot {
        let accounts = (0..self.accounts.len() as u32)
            .filter_map(|a| {
                let view = self.account(a)?;
                let account = self.acct(a)?;
                let mut api_keys: Vec<String> = self
                    .keys
                    .iter()
                    .filter(|(_, (id, _))| *id == a)
                    .map(|(k, _)| k.clone())
                    .collect();
                api_keys.sort();
                Some(AccountSnapshot {
                    api_keys,
                    view,
                    open_orders: self
                        .open_order_records()
                        .filter(|o| o.account == a && o.status.is_open())
                        .count(),
                    total_realized_pnl: account.realized_total,
                    total_commission: account.commission_total,
                })
            })
            .collect();
        VenueSnapshot {
            now_ms: self.now_ms,
            marks: self.marks(),
            accounts,
            orders_total: self.orders.len(),
            trades_total: self.trades.len(),
        }
    }
}
