//! A symbol's trading rules as exchangeInfo publishes them, plus rounding helpers.
//!
//! Rounding to tick and step lives here and nowhere else. A zero in a filter field
//! disables that check, as on Binance.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::Symbol;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceFilter {
    pub min_price: Decimal,
    pub max_price: Decimal,
    pub tick_size: Decimal,
}

/// LOT_SIZE (limit orders) or MARKET_LOT_SIZE (market orders).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LotFilter {
    pub min_qty: Decimal,
    pub max_qty: Decimal,
    pub step_size: Decimal,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PercentPrice {
    pub multiplier_up: Decimal,
    pub multiplier_down: Decimal,
    pub multiplier_decimal: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SymbolRules {
    pub symbol: Symbol,
    /// TRADING, SETTLING, PENDING_TRADING, ...
    pub status: String,
    pub base_asset: String,
    pub quote_asset: String,
    pub price_precision: u32,
    pub quantity_precision: u32,
    pub price_filter: PriceFilter,
    pub lot_size: LotFilter,
    pub market_lot_size: LotFilter,
    /// MIN_NOTIONAL.notional; reduce-only orders are exempt.
    pub min_notional: Decimal,
    pub percent_price: PercentPrice,
    /// MAX_NUM_ORDERS.limit: open orders per symbol.
    pub max_num_orders: u32,
}

impl SymbolRules {
    /// The lot filter that applies to an order type: MARKET orders are capped by
    /// MARKET_LOT_SIZE, far below LOT_SIZE on mainnet (seed 000).
    pub(crate) fn lot_for(&self, market: bool) -> &LotFilter {
        if market {
            &self.market_lot_size
        } else {
            &self.lot_size
        }
    }

    pub(crate) fn is_trading(&self) -> bool {
        self.status == "TRADING"
    }
}

/// Round `value` down to a multiple of `step` (no-op when step is zero).
pub fn floor_to_step(value: Decimal, step: Decimal) -> Decimal {
    if step.is_zero() {
        return value;
    }
    ((value / step).floor() * step).normalize()
}

/// Round `value` up to a multiple of `step` (no-op when step is zero).
pub(crate) fn ceil_to_step(value: Decimal, step: Decimal) -> Decimal {
    if step.is_zero() {
        return value;
    }
    ((value / step).ceil() * step).normalize()
}

/// Is `value` a whole multiple of `step` (offset by `base`, as PRICE_FILTER does)?
pub(crate) fn is_step_multiple(value: Decimal, base: Decimal, step: Decimal) -> bool {
    step.is_zero() || ((value - base) % step).is_zero()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn floor_to_step_never_rounds_up() {
        assert_eq!(floor_to_step(dec!(8486.849), dec!(0.01)), dec!(8486.84));
        assert_eq!(floor_to_step(dec!(0.0009), dec!(0.001)), dec!(0));
    }

    #[test]
    fn ceil_to_step_never_rounds_down() {
        assert_eq!(ceil_to_step(dec!(0.0401), dec!(0.001)), dec!(0.041));
        assert_eq!(ceil_to_step(dec!(5), dec!(1)), dec!(5));
    }

    #[test]
    fn price_tick_is_measured_from_min_price() {
        assert!(is_step_multiple(dec!(187.501), dec!(0.42), dec!(0.001)));
        assert!(!is_step_multiple(dec!(187.5005), dec!(0.42), dec!(0.001)));
    }
}
