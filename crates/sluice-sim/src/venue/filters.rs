//! Pure exchangeInfo filter checks, in the order Binance reports them:
//! precision (`-1111`), PRICE_FILTER (`-4001/-4013/-4002/-4014`), LOT_SIZE or
//! MARKET_LOT_SIZE (`-4003/-4004/-4005/-4023`, plus the hidden MARKET cap),
//! PERCENT_PRICE (`-4016/-4024`), MIN_NOTIONAL (`-4164`), clientOrderId format
//! (`-4015`).
//!
//! Every function takes the symbol spec and values; none reads venue state.

use rust_decimal::Decimal;

use super::reject::Reject;
use super::spec::SymbolSpec;
use super::types::{OrderType, Side};

/// True when `value` is an exact multiple of `step` (a zero step disables it).
pub(crate) fn is_multiple(value: Decimal, step: Decimal) -> bool {
    step.is_zero() || (value % step).is_zero()
}

/// Decimal places actually used: the raw text's digits after the point,
/// ignoring trailing zeros (the venue reads "1.0" as 1).
// NOTE: whether Binance counts trailing zeros is unverified; the lenient
// reading is chosen so a client's zero-padded quantity is not a false -1111.
fn decimals_used(raw: Option<&str>, value: Decimal) -> u32 {
    match raw.and_then(|r| r.split_once('.')) {
        Some((_, frac)) => frac.trim_end_matches('0').len() as u32,
        None => value.normalize().scale(),
    }
}

/// `-1111` when the quantity or price carries more decimals than the symbol allows.
pub(crate) fn check_precision(
    spec: &SymbolSpec,
    qty: (Decimal, Option<&str>),
    price: Option<(Decimal, Option<&str>)>,
) -> Result<(), Reject> {
    if decimals_used(qty.1, qty.0) > spec.quantity_precision {
        return Err(Reject::precision());
    }
    if let Some((p, raw)) = price {
        if decimals_used(raw, p) > spec.price_precision {
            return Err(Reject::precision());
        }
    }
    Ok(())
}

/// PRICE_FILTER (a zero bound disables that bound, as on Binance).
pub(crate) fn check_price(spec: &SymbolSpec, price: Decimal) -> Result<(), Reject> {
    if price <= Decimal::ZERO {
        return Err(Reject::price_not_positive());
    }
    if !spec.min_price.is_zero() && price < spec.min_price {
        return Err(Reject::price_below_min());
    }
    if !spec.max_price.is_zero() && price > spec.max_price {
        return Err(Reject::price_above_max());
    }
    if !is_multiple(price - spec.min_price, spec.tick_size) {
        return Err(Reject::price_off_tick());
    }
    Ok(())
}

/// LOT_SIZE for LIMIT, MARKET_LOT_SIZE (and the hidden cap) for MARKET.
pub(crate) fn check_qty(spec: &SymbolSpec, kind: OrderType, qty: Decimal) -> Result<(), Reject> {
    if qty <= Decimal::ZERO {
        return Err(Reject::qty_not_positive());
    }
    let (min, max, step) = match kind {
        OrderType::Limit => (spec.lot_min_qty, spec.lot_max_qty, spec.lot_step),
        OrderType::Market => (spec.market_min_qty, spec.market_max_qty, spec.market_step),
    };
    if qty < min {
        return Err(Reject::qty_below_min());
    }
    let hidden = match kind {
        OrderType::Market => spec.hidden_market_max_qty,
        OrderType::Limit => None,
    };
    if qty > max || hidden.is_some_and(|cap| qty > cap) {
        return Err(Reject::qty_above_max());
    }
    if !is_multiple(qty - min, step) {
        return Err(Reject::qty_off_step());
    }
    Ok(())
}

/// PERCENT_PRICE for a LIMIT price against the mark.
pub(crate) fn check_percent_price(
    spec: &SymbolSpec,
    side: Side,
    price: Decimal,
    mark: Decimal,
) -> Result<(), Reject> {
    match side {
        Side::Buy if price > mark * spec.multiplier_up => Err(Reject::price_above_multiplier_up()),
        Side::Sell if price < mark * spec.multiplier_down => {
            Err(Reject::price_below_multiplier_down())
        }
        _ => Ok(()),
    }
}

/// PERCENT_PRICE for a MARKET order: the counterparty's best must be inside.
pub(crate) fn market_price_acceptable(
    spec: &SymbolSpec,
    side: Side,
    price: Decimal,
    mark: Decimal,
) -> bool {
    match side {
        Side::Buy => price <= mark * spec.multiplier_up,
        Side::Sell => price >= mark * spec.multiplier_down,
    }
}

/// MIN_NOTIONAL (`price × qty`, the mark for MARKET); reduce-only is exempt.
pub(crate) fn check_min_notional(
    spec: &SymbolSpec,
    notional: Decimal,
    reduce_only: bool,
) -> Result<(), Reject> {
    if !reduce_only && notional < spec.min_notional {
        return Err(Reject::min_notional(spec.min_notional));
    }
    Ok(())
}

/// `newClientOrderId` must match `^[\.A-Z\:/a-z0-9_-]{1,36}$` (`-4015`).
pub(crate) fn check_client_order_id(id: &str) -> Result<(), Reject> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '/' | '_' | '-');
    if id.is_empty() || id.len() > 36 || !id.chars().all(allowed) {
        return Err(Reject::client_order_id_invalid());
    }
    Ok(())
}
