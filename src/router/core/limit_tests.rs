//! Examples and properties of LIMIT planning: chunks planned at the limit price pass the
//! filters at that price, and prices off the tick grid or outside PERCENT_PRICE never
//! reach the wire.

use proptest::prelude::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use super::*;
use crate::domain::checked::check_price;
use crate::domain::{Direction, IntentKind, LimitPrice, LimitTif, OrderType, PositionMode, Qty};
use crate::router::core::client_id::IntentRef;
use crate::router::core::orders::{to_orders, OrderTemplate};
use crate::router::core::plan::{plan_chunks, ChunkCap};
use crate::router::fixtures::{price, qty, rules};

fn gtx_at(p: Price) -> LimitTerms {
    LimitTerms {
        price: LimitPrice::Fixed(p),
        time_in_force: LimitTif::Gtx,
    }
}

fn open_template(terms: LimitTerms) -> OrderTemplate {
    OrderTemplate {
        kind: IntentKind::Open,
        intent: IntentRef::Seq(1),
        direction: Direction::Long,
        mode: PositionMode::OneWay,
        order_type: OrderType::Limit,
        limit: Some(terms),
        first_chunk: 0,
        attempt: 0,
    }
}

#[test]
fn a_limit_open_is_planned_at_its_own_price_not_the_mark() {
    // MIN_NOTIONAL 100; minQty 1. At the mark of 100 one unit is enough, at a bid of 96
    // it is not: the smallest chunk is 2.
    let r = rules(dec!(1), dec!(1), dec!(1000), dec!(100));
    let mark = price(dec!(100));
    let terms = gtx_at(price(dec!(96)));
    let at = planning_price(Some(&terms), mark);
    assert_eq!(at, price(dec!(96)));
    let cap = Some(ChunkCap::Qty(qty(dec!(1))));
    // With a cap of 1 the plan at the limit price is refused, not sent to earn -4164.
    assert!(plan_chunks(qty(dec!(3)), &r, OrderType::Limit, false, cap, None, at).is_err());
    let cap = Some(ChunkCap::Qty(qty(dec!(2))));
    let plan = plan_chunks(qty(dec!(4)), &r, OrderType::Limit, false, cap, None, at).unwrap();
    let orders = to_orders(&plan, &r, &open_template(terms), mark).expect("all pass");
    assert_eq!(orders.len(), 2);
    assert!(orders
        .iter()
        .all(|o| o.inner().price == Some(price(dec!(96)))));
}

#[test]
fn a_price_match_is_planned_at_the_mark_and_sent_without_a_price() {
    let r = rules(dec!(1), dec!(1), dec!(1000), dec!(5));
    let mark = price(dec!(180));
    let terms = LimitTerms {
        price: LimitPrice::Match(crate::domain::PriceMatch::Queue),
        time_in_force: LimitTif::Gtd {
            good_till_ms: 1_900_000_000_000,
        },
    };
    assert_eq!(planning_price(Some(&terms), mark), mark);
    let plan = plan_chunks(qty(dec!(3)), &r, OrderType::Limit, false, None, None, mark).unwrap();
    let orders = to_orders(&plan, &r, &open_template(terms), mark).unwrap();
    let o = orders[0].inner();
    assert_eq!(
        (o.price, o.price_match),
        (None, Some(crate::domain::PriceMatch::Queue))
    );
    assert_eq!(o.good_till_date, Some(1_900_000_000_000));
}

proptest! {
    /// Every chunk of a LIMIT open planned at its limit price (on the grid, inside the
    /// band) passes every filter at that price; together they carry the total floored to
    /// the step, each within LOT_SIZE and the cap.
    #[test]
    fn limit_chunks_planned_at_the_limit_price_all_pass_the_filters(
        total_steps in 1u64..200_000,
        ticks_off in -9_000i64..4_900,
        cap_steps in 1u64..50_000,
    ) {
        let r = rules(dec!(0.01), dec!(0.01), dec!(5000), dec!(5));
        let mark = price(dec!(180));
        let p = price(dec!(180) + Decimal::from(ticks_off) * dec!(0.001));
        let total = qty(Decimal::from(total_steps) * dec!(0.01));
        let cap = Some(ChunkCap::Qty(qty(Decimal::from(cap_steps) * dec!(0.01))));
        let at = planning_price(Some(&gtx_at(p)), mark);
        if let Ok(plan) = plan_chunks(total, &r, OrderType::Limit, false, cap, None, at) {
            let orders = to_orders(&plan, &r, &open_template(gtx_at(p)), mark);
            prop_assert!(orders.is_ok(), "{:?}", orders.err());
            let sum = plan.chunks.iter().fold(Qty::ZERO, |a, q| a + *q);
            prop_assert_eq!(sum, total);
            for q in &plan.chunks {
                prop_assert!(q.get() <= Decimal::from(cap_steps) * dec!(0.01));
                prop_assert!(q.get() * p.get() >= dec!(5), "MIN_NOTIONAL at the limit price");
            }
        }
    }

    /// A price is accepted by the price filters exactly when it sits on the tick grid,
    /// within its precision and inside PERCENT_PRICE at the mark.
    #[test]
    fn only_prices_on_the_tick_grid_inside_the_band_pass(
        millis in 150_000i64..200_000,
        extra in prop::sample::select(vec![dec!(0), dec!(0.0005), dec!(0.0001)]),
        buy in any::<bool>(),
    ) {
        let r = rules(dec!(0.01), dec!(0.01), dec!(5000), dec!(5));
        let mark = price(dec!(180));
        let v = Decimal::from(millis) * dec!(0.001) + extra;
        let verdict = check_price(&r, price(v), buy, mark);
        let in_band = if buy { v <= dec!(189) } else { v >= dec!(171) };
        prop_assert_eq!(verdict.is_ok(), extra.is_zero() && in_band, "{} {:?}", v, verdict);
        if extra > Decimal::ZERO {
            let v = verdict.unwrap_err();
            prop_assert!(v.code == -4014 || v.code == -1111, "{:?}", v);
        }
    }
}
