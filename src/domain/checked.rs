//! Filter validation, and the type that proves it ran.
//!
//! Only [`validate`] can build a [`FilterChecked`], and the exchange seam only
//! accepts a `FilterChecked<OrderRequest>`: an order that skipped the checks
//! cannot be sent. The rules mirror Binance's (docs/binance-fapi.md §2.1) so that a rejection
//! by the exchange means the exchange knows something exchangeInfo does not say.

use rust_decimal::Decimal;

use super::rules::is_step_multiple;
use super::{OrderRequest, OrderType, Price, SymbolRules};

/// Which filter refused the order, and the Binance code it would have earned.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{filter}: {reason} (exchange code {code})")]
pub struct FilterViolation {
    pub filter: &'static str,
    pub code: i32,
    pub reason: String,
}

fn violation(filter: &'static str, code: i32, reason: String) -> FilterViolation {
    FilterViolation {
        filter,
        code,
        reason,
    }
}

/// Proof that `T` passed the symbol's filters. Private field: no other way to build one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterChecked<T>(T);

impl<T> FilterChecked<T> {
    pub fn inner(&self) -> &T {
        &self.0
    }
    #[cfg(test)]
    pub(crate) fn into_inner(self) -> T {
        self.0
    }
}

/// Check an order against the symbol's filters at the given mark price.
pub fn validate(
    rules: &SymbolRules,
    order: OrderRequest,
    mark: Price,
) -> Result<FilterChecked<OrderRequest>, FilterViolation> {
    if order.symbol != rules.symbol {
        return Err(violation(
            "symbol",
            -1121,
            format!(
                "order is for {} but rules are for {}",
                order.symbol, rules.symbol
            ),
        ));
    }
    let market = order.order_type == OrderType::Market;
    let lot = rules.lot_for(market);
    let lot_name = if market {
        "MARKET_LOT_SIZE"
    } else {
        "LOT_SIZE"
    };
    let q = order.quantity.get();
    if q <= Decimal::ZERO {
        return Err(violation(
            lot_name,
            -4003,
            "quantity must be positive".into(),
        ));
    }
    if !lot.min_qty.is_zero() && q < lot.min_qty {
        return Err(violation(
            lot_name,
            -4004,
            format!("{q} < minQty {}", lot.min_qty),
        ));
    }
    if !lot.max_qty.is_zero() && q > lot.max_qty {
        return Err(violation(
            lot_name,
            -4005,
            format!("{q} > maxQty {}", lot.max_qty),
        ));
    }
    if !is_step_multiple(q, lot.min_qty, lot.step_size) {
        return Err(violation(
            lot_name,
            -4023,
            format!("{q} is not a multiple of stepSize {}", lot.step_size),
        ));
    }
    check_precision("quantityPrecision", q, rules.quantity_precision)?;
    let price = limit_price(rules, &order, mark)?;
    check_time_in_force(&order)?;
    let notional = price * q;
    if !order.reduce_only && !rules.min_notional.is_zero() && notional < rules.min_notional {
        return Err(violation(
            "MIN_NOTIONAL",
            -4164,
            format!("notional {notional} < {}", rules.min_notional),
        ));
    }
    Ok(FilterChecked(order))
}

/// The price a LIMIT order's notional is valued at: its own price (checked against
/// PRICE_FILTER and PERCENT_PRICE), or the mark for a `priceMatch` order, which the venue
/// prices from its book (and bounds by PERCENT_PRICE itself). A MARKET order: the mark.
fn limit_price(
    rules: &SymbolRules,
    order: &OrderRequest,
    mark: Price,
) -> Result<Decimal, FilterViolation> {
    match (order.order_type, order.price, order.price_match) {
        (OrderType::Limit, Some(p), None) => {
            check_price(rules, p, order.side == super::Side::Buy, mark)?;
            Ok(p.get())
        }
        (OrderType::Limit, None, Some(_)) => Ok(mark.get()),
        (OrderType::Limit, Some(_), Some(_)) => Err(violation(
            "priceMatch",
            -1106,
            "a priceMatch order takes no price".into(),
        )),
        (OrderType::Limit, None, None) => Err(violation(
            "PRICE_FILTER",
            -1102,
            "LIMIT order needs a price or a priceMatch".into(),
        )),
        (OrderType::Market, _, Some(_)) => Err(violation(
            "priceMatch",
            -1106,
            "a MARKET order takes no priceMatch".into(),
        )),
        (OrderType::Market, _, _) => Ok(mark.get()),
    }
}

/// LIMIT needs a time in force; a GTD needs its `goodTillDate`, and nothing else has one.
fn check_time_in_force(order: &OrderRequest) -> Result<(), FilterViolation> {
    if order.order_type == OrderType::Limit && order.time_in_force.is_none() {
        return Err(violation(
            "timeInForce",
            -1102,
            "LIMIT order needs timeInForce".into(),
        ));
    }
    let gtd = order.time_in_force == Some(super::TimeInForce::Gtd);
    match (gtd, order.good_till_date) {
        (true, None) => Err(violation(
            "goodTillDate",
            -1102,
            "a GTD order needs goodTillDate".into(),
        )),
        (false, Some(_)) => Err(violation(
            "goodTillDate",
            -1106,
            "goodTillDate is sent only with timeInForce GTD".into(),
        )),
        _ => Ok(()),
    }
}

/// More decimals than the symbol's precision allows: the venue answers -1111 even when
/// the value sits on the step or tick grid (docs/binance-fapi.md §2.1).
fn check_precision(field: &'static str, v: Decimal, precision: u32) -> Result<(), FilterViolation> {
    let decimals = v.normalize().scale();
    if decimals > precision {
        return Err(violation(
            field,
            -1111,
            format!("{v} has {decimals} decimals, more than {field} {precision}"),
        ));
    }
    Ok(())
}

/// PRICE_FILTER (range, tick grid), pricePrecision and PERCENT_PRICE at `mark` for a
/// `buy` or sell order at `p`.
pub(crate) fn check_price(
    rules: &SymbolRules,
    p: Price,
    buy: bool,
    mark: Price,
) -> Result<(), FilterViolation> {
    let pf = &rules.price_filter;
    let v = p.get();
    if !pf.min_price.is_zero() && v < pf.min_price {
        return Err(violation(
            "PRICE_FILTER",
            -4013,
            format!("{v} < minPrice {}", pf.min_price),
        ));
    }
    if !pf.max_price.is_zero() && v > pf.max_price {
        return Err(violation(
            "PRICE_FILTER",
            -4002,
            format!("{v} > maxPrice {}", pf.max_price),
        ));
    }
    if !is_step_multiple(v, pf.min_price, pf.tick_size) {
        return Err(violation(
            "PRICE_FILTER",
            -4014,
            format!("{v} is not a multiple of tickSize {}", pf.tick_size),
        ));
    }
    check_precision("pricePrecision", v, rules.price_precision)?;
    let pp = &rules.percent_price;
    if buy && !pp.multiplier_up.is_zero() && v > mark.get() * pp.multiplier_up {
        return Err(violation(
            "PERCENT_PRICE",
            -4016,
            format!("{v} > mark {} x {}", mark, pp.multiplier_up),
        ));
    }
    if !buy && !pp.multiplier_down.is_zero() && v < mark.get() * pp.multiplier_down {
        return Err(violation(
            "PERCENT_PRICE",
            -4024,
            format!("{v} < mark {} x {}", mark, pp.multiplier_down),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ClientOrderId, PositionSide, Qty, Side, Symbol, TimeInForce};
    use rust_decimal_macros::dec;

    /// Mainnet SOLUSDT (step 1, MARKET maxQty 5000).
    fn sol() -> SymbolRules {
        SymbolRules {
            quantity_precision: 0,
            ..crate::router::fixtures::rules(dec!(1), dec!(1), dec!(5000), dec!(5))
        }
    }

    fn market(qty: &str, reduce_only: bool) -> OrderRequest {
        OrderRequest {
            symbol: Symbol::new("SOLUSDT").unwrap(),
            side: Side::Buy,
            position_side: PositionSide::Both,
            order_type: OrderType::Market,
            quantity: Qty::parse("q", qty).unwrap(),
            price: None,
            time_in_force: None,
            reduce_only,
            client_order_id: ClientOrderId::new("t1").unwrap(),
            price_match: None,
            good_till_date: None,
        }
    }

    #[test]
    fn market_orders_are_capped_by_market_lot_size_not_lot_size() {
        let mark = Price::parse("mark", "187.5").unwrap();
        let err = validate(&sol(), market("8486", true), mark).unwrap_err();
        assert_eq!(err.code, -4005);
        assert_eq!(err.filter, "MARKET_LOT_SIZE");
    }

    #[test]
    fn reduce_only_is_exempt_from_min_notional_and_opens_are_not() {
        let mark = Price::parse("mark", "1").unwrap();
        assert!(validate(&sol(), market("1", true), mark).is_ok());
        assert_eq!(
            validate(&sol(), market("1", false), mark).unwrap_err().code,
            -4164
        );
    }

    #[test]
    fn a_quantity_on_the_step_but_beyond_quantity_precision_is_not_filter_checked() {
        // The venue of the -1111 loop: stepSize 0.01 published, quantityPrecision 0 enforced.
        let rules = SymbolRules {
            quantity_precision: 0,
            ..crate::router::fixtures::rules(dec!(0.01), dec!(0.01), dec!(5000), dec!(5))
        };
        let mark = Price::parse("mark", "187.5").unwrap();
        let err = validate(&rules, market("400.5", true), mark).unwrap_err();
        assert_eq!((err.filter, err.code), ("quantityPrecision", -1111));
        assert!(validate(&rules, market("400", true), mark).is_ok());
        assert!(validate(&rules, market("400.00", true), mark).is_ok());
    }

    #[test]
    fn a_limit_price_on_the_tick_but_beyond_price_precision_is_not_filter_checked() {
        let rules = SymbolRules {
            price_precision: 2,
            ..sol()
        };
        let mark = Price::parse("mark", "100").unwrap();
        let mut o = market("10", false);
        o.order_type = OrderType::Limit;
        o.time_in_force = Some(TimeInForce::Ioc);
        o.price = Some(Price::parse("p", "100.001").unwrap());
        let err = validate(&rules, o.clone(), mark).unwrap_err();
        assert_eq!((err.filter, err.code), ("pricePrecision", -1111));
        o.price = Some(Price::parse("p", "100.01").unwrap());
        assert!(validate(&rules, o, mark).is_ok());
    }

    #[test]
    fn limit_price_must_sit_on_tick_and_inside_percent_band() {
        let mark = Price::parse("mark", "100").unwrap();
        let mut o = market("10", false);
        o.order_type = OrderType::Limit;
        o.time_in_force = Some(TimeInForce::Gtc);
        o.price = Some(Price::parse("p", "100.0005").unwrap());
        assert_eq!(validate(&sol(), o.clone(), mark).unwrap_err().code, -4014);
        o.price = Some(Price::parse("p", "106").unwrap());
        assert_eq!(validate(&sol(), o, mark).unwrap_err().code, -4016);
    }

    #[test]
    fn a_price_match_order_takes_no_price_and_is_valued_at_the_mark() {
        let mark = Price::parse("mark", "100").unwrap();
        let mut o = market("10", false);
        o.order_type = OrderType::Limit;
        o.time_in_force = Some(TimeInForce::Gtx);
        o.price_match = Some(crate::domain::PriceMatch::Queue);
        assert!(validate(&sol(), o.clone(), mark).is_ok());
        o.price = Some(Price::parse("p", "100").unwrap());
        assert_eq!(
            validate(&sol(), o.clone(), mark).unwrap_err().filter,
            "priceMatch"
        );
        o.price = None;
        // 0.04 x 100 = 4 < MIN_NOTIONAL 5 at the mark.
        let rules = SymbolRules {
            quantity_precision: 2,
            ..crate::router::fixtures::rules(dec!(0.01), dec!(0.01), dec!(5000), dec!(5))
        };
        o.quantity = Qty::parse("q", "0.04").unwrap();
        assert_eq!(validate(&rules, o, mark).unwrap_err().code, -4164);
    }

    #[test]
    fn gtd_and_its_date_go_together() {
        let mark = Price::parse("mark", "100").unwrap();
        let mut o = market("10", false);
        o.order_type = OrderType::Limit;
        o.price = Some(Price::parse("p", "99").unwrap());
        o.time_in_force = Some(TimeInForce::Gtd);
        assert_eq!(
            validate(&sol(), o.clone(), mark).unwrap_err().filter,
            "goodTillDate"
        );
        o.good_till_date = Some(1_900_000_000_000);
        assert!(validate(&sol(), o.clone(), mark).is_ok());
        o.time_in_force = Some(TimeInForce::Gtc);
        assert_eq!(
            validate(&sol(), o, mark).unwrap_err().filter,
            "goodTillDate"
        );
    }
}
