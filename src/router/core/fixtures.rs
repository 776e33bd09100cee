//! Test-only symbol rules, with the mainnet values of docs/binance-fapi.md §7 where a real symbol is named.

use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use crate::domain::{LotFilter, PercentPrice, Price, PriceFilter, Qty, Symbol, SymbolRules};

/// A symbol whose MARKET and LIMIT lots share `min`/`step`; MARKET is capped at `market_max`.
pub(crate) fn rules(
    min: Decimal,
    step: Decimal,
    market_max: Decimal,
    min_notional: Decimal,
) -> SymbolRules {
    SymbolRules {
        symbol: Symbol::new("SOLUSDT").expect("literal symbol"),
        status: "TRADING".into(),
        base_asset: "SOL".into(),
        quote_asset: "USDT".into(),
        price_precision: 4,
        quantity_precision: 2,
        price_filter: PriceFilter {
            min_price: dec!(0.42),
            max_price: dec!(6857),
            tick_size: dec!(0.001),
        },
        lot_size: LotFilter {
            min_qty: min,
            max_qty: dec!(1000000),
            step_size: step,
        },
        market_lot_size: LotFilter {
            min_qty: min,
            max_qty: market_max,
            step_size: step,
        },
        min_notional,
        percent_price: PercentPrice {
            multiplier_up: dec!(1.05),
            multiplier_down: dec!(0.95),
            multiplier_decimal: 4,
        },
        max_num_orders: 200,
    }
}

/// The seed-000 symbol: SOL with step 0.01, MARKET maxQty 5000, MIN_NOTIONAL 5.
pub(crate) fn sol() -> SymbolRules {
    rules(dec!(0.01), dec!(0.01), dec!(5000), dec!(5))
}

pub(crate) fn qty(v: Decimal) -> Qty {
    Qty::new("test", v).expect("test quantity is non-negative")
}

pub(crate) fn price(v: Decimal) -> Price {
    Price::new("test", v).expect("test price is positive")
}
