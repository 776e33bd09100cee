//! Sizes the exchange can carry out, checked before anything is stored or sent: the
//! smallest open at a mark, and whether a requested quantity sits on the MARKET lot grid.
//!
//! Pure. Used by the control API (refuse with 422 naming the field), by the executor
//! (an open given by notional is floored to the step, so no unsendable dust remains to
//! turn a filled open into a failure) and by `sluice smoke` (the smallest position).
//!
//! Invariants: a quantity these checks accept is a step multiple `>= minQty` of
//! MARKET_LOT_SIZE; an open they accept also meets MIN_NOTIONAL at the mark given.

use rust_decimal::Decimal;

use crate::domain::{Price, Qty, SymbolRules};

/// Why a size cannot be sent, in words naming the filter and the numbers.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct SizeRefusal(pub String);

fn step_of(rules: &SymbolRules) -> Result<(Decimal, Decimal), SizeRefusal> {
    let lot = rules.lot_for(true);
    if lot.step_size <= Decimal::ZERO {
        return Err(SizeRefusal(format!(
            "{} publishes MARKET_LOT_SIZE.stepSize {}: no quantity can be sent",
            rules.symbol, lot.step_size
        )));
    }
    Ok((lot.step_size, lot.min_qty.max(lot.step_size)))
}

/// `q` rounded down to the MARKET lot step.
pub(crate) fn floor_to_step(rules: &SymbolRules, q: Qty) -> Result<Qty, SizeRefusal> {
    let (step, _) = step_of(rules)?;
    let floored = q
        .get()
        .checked_div(step)
        .map(|n| n.floor())
        .and_then(|n| n.checked_mul(step))
        .ok_or_else(|| SizeRefusal(format!("{q} is too large to count in steps of {step}")))?;
    Qty::new("quantity", floored.normalize()).map_err(|e| SizeRefusal(e.to_string()))
}

/// The smallest open the exchange accepts at `mark`: `max(minQty, minNotional / mark
/// rounded up to the step)`.
pub(crate) fn smallest_open(rules: &SymbolRules, mark: Price) -> Result<Qty, SizeRefusal> {
    let (step, min_qty) = step_of(rules)?;
    let by_notional = rules
        .min_notional
        .checked_div(mark.get())
        .and_then(|n| n.checked_div(step))
        .map(|n| n.ceil())
        .and_then(|n| n.checked_mul(step))
        .ok_or_else(|| SizeRefusal(format!("MIN_NOTIONAL at mark {mark} cannot be computed")))?;
    Qty::new("quantity", by_notional.max(min_qty).normalize())
        .map_err(|e| SizeRefusal(e.to_string()))
}

/// A close or reduce of `q`: on the MARKET step and at least minQty (reduce-only orders
/// are exempt from MIN_NOTIONAL only).
pub(crate) fn check_reduce(rules: &SymbolRules, q: Qty) -> Result<(), SizeRefusal> {
    let (step, min_qty) = step_of(rules)?;
    if q.get() < min_qty {
        return Err(SizeRefusal(format!(
            "{q} is below {} MARKET_LOT_SIZE.minQty {min_qty}: the exchange refuses such an order",
            rules.symbol
        )));
    }
    if !(q.get() % step).is_zero() {
        let below = floor_to_step(rules, q)?;
        return Err(SizeRefusal(format!(
            "{q} is not a multiple of {} stepSize {step} (the nearest sendable below is {below})",
            rules.symbol
        )));
    }
    Ok(())
}

/// An open of `q` at `mark`: on the step, at least minQty and MIN_NOTIONAL.
pub(crate) fn check_open(rules: &SymbolRules, q: Qty, mark: Price) -> Result<(), SizeRefusal> {
    check_reduce(rules, q)?;
    let smallest = smallest_open(rules, mark)?;
    if q < smallest {
        return Err(SizeRefusal(format!(
            "{q} is below MIN_NOTIONAL {} at mark {mark}: the smallest open of {} is {smallest}",
            rules.min_notional, rules.symbol
        )));
    }
    Ok(())
}

/// An open of `notional` USDT at `mark`: the quantity it buys (floored to the step), or
/// why that is below the smallest open.
pub(crate) fn open_of_notional(
    rules: &SymbolRules,
    notional: Decimal,
    mark: Price,
) -> Result<Qty, SizeRefusal> {
    let raw = notional
        .checked_div(mark.get())
        .ok_or_else(|| SizeRefusal(format!("{notional} USDT at mark {mark} cannot be sized")))?;
    let q = floor_to_step(
        rules,
        Qty::new("quantity", raw).map_err(|e| SizeRefusal(e.to_string()))?,
    )?;
    let smallest = smallest_open(rules, mark)?;
    if q < smallest {
        return Err(SizeRefusal(format!(
            "{notional} USDT at mark {mark} buys {q} {}, below the smallest open {smallest} \
             (minQty and MIN_NOTIONAL {})",
            rules.symbol, rules.min_notional
        )));
    }
    Ok(q)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::router::fixtures;

    use rust_decimal_macros::dec;

    fn btc() -> SymbolRules {
        fixtures::rules(dec!(0.001), dec!(0.001), dec!(120), dec!(100))
    }
    fn p(s: &str) -> Price {
        Price::parse("p", s).expect("price")
    }
    fn q(s: &str) -> Qty {
        Qty::parse("q", s).expect("qty")
    }

    #[test]
    fn the_smallest_open_meets_min_notional_rounded_up_to_the_step() {
        // 100 / 65000 = 0.00153… → 0.002 on a 0.001 grid.
        assert_eq!(smallest_open(&btc(), p("65000")).unwrap(), q("0.002"));
        // At a high mark minQty binds.
        assert_eq!(smallest_open(&btc(), p("200000")).unwrap(), q("0.001"));
    }

    #[test]
    fn a_notional_open_is_floored_to_the_step_so_no_unsendable_dust_remains() {
        // 150 USDT at 65,000 is 0.0023077 BTC: 0.002 is sent, nothing below minQty is left.
        assert_eq!(
            open_of_notional(&btc(), Decimal::from(150), p("65000")).unwrap(),
            q("0.002")
        );
        let err = open_of_notional(&btc(), Decimal::from(90), p("65000")).unwrap_err();
        assert!(err.0.contains("below the smallest open 0.002"), "{err}");
    }

    #[test]
    fn a_reduce_below_min_qty_or_off_the_step_is_refused_with_the_numbers() {
        let sol = fixtures::rules(dec!(1), dec!(0.01), dec!(5000), dec!(5));
        let below = check_reduce(&sol, q("0.005")).unwrap_err();
        assert!(below.0.contains("minQty 1"), "{below}");
        let off = check_reduce(&sol, q("1.005")).unwrap_err();
        assert!(
            off.0.contains("stepSize 0.01") && off.0.contains("1.00"),
            "{off}"
        );
        assert!(check_reduce(&sol, q("1.01")).is_ok());
    }

    #[test]
    fn an_open_below_min_notional_is_refused_and_one_at_it_passes() {
        assert!(check_open(&btc(), q("0.001"), p("65000")).is_err());
        assert!(check_open(&btc(), q("0.002"), p("65000")).is_ok());
    }
}
