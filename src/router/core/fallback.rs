//! The price of the reduce-only LIMIT IOC fallback: the PERCENT_PRICE band edge.
//!
//! When MARKET closes keep failing (escalation's `FallbackLimitIoc`), a LIMIT IOC at the
//! most aggressive price the exchange accepts takes whatever liquidity exists inside the
//! band, bounded by LOT_SIZE instead of the smaller MARKET_LOT_SIZE (docs/binance-fapi.md §7).
//!
//! Invariants of [`band_edge_price`]:
//! - a BUY is at most `mark × multiplierUp`, a SELL at least `mark × multiplierDown`, each
//!   moved `inset` (a fraction, e.g. 0.001) towards the mark so a small mark move between
//!   pricing and matching does not turn it into -4016/-4024;
//! - the price sits on the tick grid measured from minPrice, rounded towards the mark
//!   (never outside the band), and within [minPrice, maxPrice].

use rust_decimal::Decimal;

use crate::domain::rules::floor_to_step;
use crate::domain::{Price, Side, SymbolRules};

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FallbackError {
    #[error("PERCENT_PRICE multiplier for {side:?} is zero: the band edge is undefined")]
    NoBand { side: Side },
    #[error("mark {mark} times the band multiplier does not fit a decimal")]
    Overflow { mark: Decimal },
    #[error("fallback inset {inset} must be in [0, 0.5)")]
    BadInset { inset: Decimal },
    #[error("band edge {edge} rounds outside PRICE_FILTER [{min}, {max}]")]
    OutsidePriceFilter {
        edge: Decimal,
        min: Decimal,
        max: Decimal,
    },
}

/// The most aggressive LIMIT price for `side` that PERCENT_PRICE accepts at `mark`.
pub fn band_edge_price(
    rules: &SymbolRules,
    side: Side,
    mark: Price,
    inset: Decimal,
) -> Result<Price, FallbackError> {
    if inset < Decimal::ZERO || inset >= Decimal::new(5, 1) {
        return Err(FallbackError::BadInset { inset });
    }
    let pp = &rules.percent_price;
    let multiplier = match side {
        Side::Buy => pp.multiplier_up,
        Side::Sell => pp.multiplier_down,
    };
    if multiplier.is_zero() {
        return Err(FallbackError::NoBand { side });
    }
    let towards_mark = match side {
        Side::Buy => Decimal::ONE - inset,
        Side::Sell => Decimal::ONE + inset,
    };
    let edge = mark
        .get()
        .checked_mul(multiplier)
        .and_then(|v| v.checked_mul(towards_mark))
        .ok_or(FallbackError::Overflow { mark: mark.get() })?;
    let price = match side {
        Side::Buy => floor_to_tick(rules, edge),
        Side::Sell => ceil_to_tick(rules, edge),
    };
    let pf = &rules.price_filter;
    let above_max = !pf.max_price.is_zero() && price > pf.max_price;
    if price < pf.min_price || price <= Decimal::ZERO || above_max {
        return Err(FallbackError::OutsidePriceFilter {
            edge: price,
            min: pf.min_price,
            max: pf.max_price,
        });
    }
    Price::new("fallback price", price).map_err(|_| FallbackError::OutsidePriceFilter {
        edge: price,
        min: pf.min_price,
        max: pf.max_price,
    })
}

/// Round down onto the tick grid that starts at minPrice.
fn floor_to_tick(rules: &SymbolRules, v: Decimal) -> Decimal {
    let pf = &rules.price_filter;
    (pf.min_price + floor_to_step(v - pf.min_price, pf.tick_size)).normalize()
}

/// Round up onto the tick grid that starts at minPrice.
fn ceil_to_tick(rules: &SymbolRules, v: Decimal) -> Decimal {
    let down = floor_to_tick(rules, v);
    if down < v {
        (down + rules.price_filter.tick_size).normalize()
    } else {
        down
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        validate, ClientOrderId, OrderRequest, OrderType, PositionSide, TimeInForce,
    };
    use crate::router::fixtures::{price, qty, sol};
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    fn ioc(side: Side, p: Price) -> OrderRequest {
        OrderRequest {
            symbol: sol().symbol,
            side,
            position_side: PositionSide::Both,
            order_type: OrderType::Limit,
            quantity: qty(dec!(1)),
            price: Some(p),
            time_in_force: Some(TimeInForce::Ioc),
            reduce_only: true,
            client_order_id: ClientOrderId::new("slcn1.0.1").unwrap(),
            price_match: None,
            good_till_date: None,
        }
    }

    #[test]
    fn a_buy_close_goes_to_the_upper_edge_rounded_down_onto_the_tick() {
        // 187.5 × 1.05 = 196.875; inset 0.1% → 196.678125 → tick 0.001 → 196.678
        let p = band_edge_price(&sol(), Side::Buy, price(dec!(187.5)), dec!(0.001)).unwrap();
        assert_eq!(p, price(dec!(196.678)));
    }

    #[test]
    fn a_sell_close_goes_to_the_lower_edge_rounded_up_onto_the_tick() {
        // 187.5 × 0.95 = 178.125; inset 0.1% → 178.303125 → 178.304
        let p = band_edge_price(&sol(), Side::Sell, price(dec!(187.5)), dec!(0.001)).unwrap();
        assert_eq!(p, price(dec!(178.304)));
    }

    #[test]
    fn a_symbol_without_a_band_or_a_silly_inset_is_refused() {
        let mut r = sol();
        r.percent_price.multiplier_up = Decimal::ZERO;
        let mark = price(dec!(1));
        assert!(matches!(
            band_edge_price(&r, Side::Buy, mark, dec!(0)),
            Err(FallbackError::NoBand { .. })
        ));
        assert!(matches!(
            band_edge_price(&sol(), Side::Sell, mark, dec!(0.7)),
            Err(FallbackError::BadInset { .. })
        ));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        #[test]
        fn the_band_edge_price_always_passes_the_filters(
            mark_milli in 500u64..6_000_000, inset_bp in 0u32..100, buy in any::<bool>()
        ) {
            let mark = price(Decimal::new(mark_milli as i64, 3));
            let inset = Decimal::new(i64::from(inset_bp), 4);
            let side = if buy { Side::Buy } else { Side::Sell };
            if let Ok(p) = band_edge_price(&sol(), side, mark, inset) {
                prop_assert!(validate(&sol(), ioc(side, p), mark).is_ok());
                // Within one tick of the (inset) edge: as aggressive as allowed.
                let m = if buy { dec!(1.05) * (Decimal::ONE - inset) } else { dec!(0.95) * (Decimal::ONE + inset) };
                prop_assert!((p.get() - mark.get() * m).abs() <= dec!(0.001));
            }
        }
    }
}
