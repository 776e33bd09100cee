//! The synthetic order book of one symbol: tick-spaced levels around the mark
//! (optionally displaced by `book_offset`), `level_qty` at each level, consumed
//! by taker fills and refilled linearly over `replenish_ms`.
//!
//! Invariants: the best bid is strictly below the best ask; a level never shows
//! a negative quantity; consumption is remembered by price, so a level moved
//! away from and back to still shows what was taken from it until refilled.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::spec::SymbolSpec;
use super::types::Side;

/// Per-symbol market state: the mark, what takers consumed, id counters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Market {
    pub mark: Decimal,
    pub mark_time: i64,
    /// Price → quantity taken from that ask level.
    ask_taken: BTreeMap<Decimal, Decimal>,
    /// Price → quantity taken from that bid level.
    bid_taken: BTreeMap<Decimal, Decimal>,
    last_refill_ms: i64,
    pub last_walk_ms: i64,
    pub next_trade_id: i64,
    pub update_id: i64,
}

/// `x` rounded down to a multiple of `step` (step > 0).
pub(crate) fn floor_to(x: Decimal, step: Decimal) -> Decimal {
    (x / step).floor() * step
}

/// `x` rounded up to a multiple of `step` (step > 0).
pub(crate) fn ceil_to(x: Decimal, step: Decimal) -> Decimal {
    (x / step).ceil() * step
}

impl Market {
    pub(super) fn new(spec: &SymbolSpec, now_ms: i64) -> Market {
        Market {
            mark: spec.mark_price,
            mark_time: now_ms,
            ask_taken: BTreeMap::new(),
            bid_taken: BTreeMap::new(),
            last_refill_ms: now_ms,
            last_walk_ms: now_ms,
            next_trade_id: 1,
            update_id: 1,
        }
    }

    /// The side a taker of `taker_side` consumes: BUY takes asks, SELL takes bids.
    fn taken(&self, taker_side: Side) -> &BTreeMap<Decimal, Decimal> {
        match taker_side {
            Side::Buy => &self.ask_taken,
            Side::Sell => &self.bid_taken,
        }
    }

    /// The level prices a taker of `taker_side` meets, best first (lazy: the
    /// hot paths only look at the first few).
    fn level_prices(&self, spec: &SymbolSpec, taker_side: Side) -> impl Iterator<Item = Decimal> {
        let tick = spec.tick_size;
        let levels = if tick > Decimal::ZERO {
            spec.book_levels
        } else {
            0
        };
        let spacing = tick * Decimal::from(spec.level_spacing_ticks.max(1));
        let centre = self.mark * (Decimal::ONE + spec.book_offset);
        let (first, step) = match taker_side {
            Side::Buy if levels > 0 => (floor_to(centre, tick) + tick, spacing),
            Side::Sell if levels > 0 => (ceil_to(centre, tick) - tick, -spacing),
            _ => (Decimal::ZERO, Decimal::ZERO),
        };
        (0..levels)
            .scan(first, move |price, _| {
                let p = *price;
                *price += step;
                Some(p)
            })
            .take_while(|p| *p > Decimal::ZERO)
    }

    /// Levels a taker of `taker_side` meets with what is left at each, best
    /// first; fully consumed levels are skipped.
    pub(super) fn level_iter<'a>(
        &'a self,
        spec: &'a SymbolSpec,
        taker_side: Side,
    ) -> impl Iterator<Item = (Decimal, Decimal)> + 'a {
        let taken = self.taken(taker_side);
        self.level_prices(spec, taker_side)
            .map(move |p| {
                let left = spec.level_qty - taken.get(&p).copied().unwrap_or_default();
                (p, floor_to_step(left, spec.lot_step))
            })
            .filter(|(_, q)| *q > Decimal::ZERO)
    }

    /// The best level a taker of `taker_side` would meet.
    pub(super) fn best(&self, spec: &SymbolSpec, taker_side: Side) -> Option<(Decimal, Decimal)> {
        self.level_iter(spec, taker_side).next()
    }

    /// Plans a taker fill of `qty`: walks levels while `acceptable(price)`.
    /// Returns `(price, qty)` per level touched; nothing is consumed yet.
    pub(super) fn plan(
        &self,
        spec: &SymbolSpec,
        taker_side: Side,
        qty: Decimal,
        acceptable: impl Fn(Decimal) -> bool,
    ) -> Vec<(Decimal, Decimal)> {
        let mut left = qty;
        let mut fills = Vec::new();
        for (price, avail) in self.level_iter(spec, taker_side) {
            if left <= Decimal::ZERO || !acceptable(price) {
                break;
            }
            let q = left.min(avail);
            fills.push((price, q));
            left -= q;
        }
        fills
    }

    /// Removes `qty` at `price` from the side a taker of `taker_side` consumes.
    pub(super) fn consume(&mut self, taker_side: Side, price: Decimal, qty: Decimal) {
        let taken = match taker_side {
            Side::Buy => &mut self.ask_taken,
            Side::Sell => &mut self.bid_taken,
        };
        *taken.entry(price).or_default() += qty;
        self.update_id += 1;
    }

    /// Refills consumed levels linearly: `level_qty` per `replenish_ms`.
    pub(super) fn refill(&mut self, spec: &SymbolSpec, now_ms: i64) {
        let elapsed = now_ms - self.last_refill_ms;
        if elapsed <= 0 {
            return;
        }
        self.last_refill_ms = now_ms;
        let amount = if spec.replenish_ms <= 0 {
            Decimal::MAX
        } else {
            spec.level_qty * Decimal::from(elapsed) / Decimal::from(spec.replenish_ms)
        };
        for taken in [&mut self.ask_taken, &mut self.bid_taken] {
            taken.retain(|_, q| {
                *q = (*q - amount).max(Decimal::ZERO);
                !q.is_zero()
            });
        }
        self.update_id += 1;
    }

    /// Moves the mark (already validated) and stamps its time.
    pub(super) fn set_mark(&mut self, price: Decimal, now_ms: i64) {
        self.mark = price;
        self.mark_time = now_ms;
        self.update_id += 1;
    }

    /// Allocates the next trade id of this symbol.
    pub(super) fn next_trade_id(&mut self) -> i64 {
        let id = self.next_trade_id;
        self.next_trade_id += 1;
        id
    }
}

/// What a level shows: the refill is linear in time, so the raw remainder can be any
/// fraction; a real book only ever holds whole lots, and a fill that is not a step
/// multiple would be rounded differently in a trade and in the order's executedQty.
fn floor_to_step(q: Decimal, step: Decimal) -> Decimal {
    if step <= Decimal::ZERO {
        return q;
    }
    (q / step).floor() * step
}
