//! Side, position side and reduce-only per mode; ids per chunk; all-or-nothing validation.

use rust_decimal_macros::dec;

use super::*;
use crate::domain::{Qty, Side};
use crate::router::fixtures::{price, qty, sol};
use crate::router::plan::{plan_chunks, ChunkCap};

fn template(kind: IntentKind, direction: Direction, mode: PositionMode) -> OrderTemplate {
    OrderTemplate {
        kind,
        intent: IntentRef::Seq(42),
        direction,
        mode,
        order_type: OrderType::Market,
        limit: None,
        first_chunk: 0,
        attempt: 0,
    }
}

fn seed_000_plan() -> ChunkPlan {
    plan_chunks(
        qty(dec!(8486.84)),
        &sol(),
        OrderType::Market,
        true,
        Some(ChunkCap::Qty(qty(dec!(400)))),
        None,
        price(dec!(187.5)),
    )
    .unwrap()
}

#[test]
fn a_one_way_short_close_buys_reduce_only_on_both() {
    let t = template(IntentKind::Close, Direction::Short, PositionMode::OneWay);
    let orders = to_orders(&seed_000_plan(), &sol(), &t, price(dec!(187.5))).unwrap();
    assert_eq!(orders.len(), 22);
    for o in &orders {
        let o = o.inner();
        assert_eq!(o.side, Side::Buy);
        assert_eq!(o.position_side, PositionSide::Both);
        assert!(o.reduce_only);
    }
    let total = orders.iter().fold(Qty::ZERO, |a, o| a + o.inner().quantity);
    assert_eq!(total, qty(dec!(8486.84)));
}

#[test]
fn a_hedge_long_close_sells_on_the_long_leg_and_is_marked_risk_reducing() {
    let t = template(IntentKind::Close, Direction::Long, PositionMode::Hedge);
    let orders = to_orders(&seed_000_plan(), &sol(), &t, price(dec!(187.5))).unwrap();
    let o = orders[0].inner();
    assert_eq!((o.side, o.position_side), (Side::Sell, PositionSide::Long));
    assert!(
        o.reduce_only,
        "domain flag means risk-reducing; the adapter omits it in hedge"
    );
}

#[test]
fn an_open_is_never_reduce_only_and_goes_the_position_way() {
    let t = template(IntentKind::Open, Direction::Short, PositionMode::Hedge);
    let plan = plan_chunks(
        qty(dec!(10)),
        &sol(),
        OrderType::Market,
        false,
        None,
        None,
        price(dec!(187.5)),
    )
    .unwrap();
    let orders = to_orders(&plan, &sol(), &t, price(dec!(187.5))).unwrap();
    let o = orders[0].inner();
    assert_eq!((o.side, o.position_side), (Side::Sell, PositionSide::Short));
    assert!(!o.reduce_only);
}

#[test]
fn each_chunk_gets_its_own_id_continuing_from_first_chunk() {
    let mut t = template(IntentKind::Close, Direction::Short, PositionMode::OneWay);
    t.first_chunk = 5;
    t.attempt = 2;
    let orders = to_orders(&seed_000_plan(), &sol(), &t, price(dec!(187.5))).unwrap();
    assert_eq!(orders[0].inner().client_order_id.as_str(), "slcn42.5.2");
    assert_eq!(orders[21].inner().client_order_id.as_str(), "slcn42.26.2");
}

#[test]
fn one_chunk_failing_the_filters_fails_the_whole_batch() {
    // A plan made for a bigger market cap than the rules now publish: stale plan.
    let plan = seed_000_plan();
    let mut rules = sol();
    rules.market_lot_size.max_qty = dec!(385.76);
    let t = template(IntentKind::Close, Direction::Short, PositionMode::OneWay);
    let err = to_orders(&plan, &rules, &t, price(dec!(187.5))).unwrap_err();
    assert!(
        matches!(err, ToOrdersError::Filter { chunk: 0, .. }),
        "{err}"
    );
}

#[test]
fn a_limit_order_needs_its_price_and_a_market_order_refuses_one() {
    let mut t = template(IntentKind::Close, Direction::Short, PositionMode::OneWay);
    t.order_type = OrderType::Limit;
    let err = to_orders(&seed_000_plan(), &sol(), &t, price(dec!(187.5))).unwrap_err();
    assert!(matches!(err, ToOrdersError::LimitMismatch { .. }));
    t.limit = Some(crate::domain::LimitTerms {
        price: crate::domain::LimitPrice::Fixed(price(dec!(190))),
        time_in_force: crate::domain::LimitTif::Ioc,
    });
    let orders = to_orders(&seed_000_plan(), &sol(), &t, price(dec!(187.5))).unwrap();
    assert_eq!(orders[0].inner().price, Some(price(dec!(190))));
}

#[test]
fn one_chunk_builds_the_same_checked_order_as_its_place_in_the_plan() {
    let plan = seed_000_plan();
    let mut t = template(IntentKind::Close, Direction::Long, PositionMode::Hedge);
    let all = to_orders(&plan, &sol(), &t, price(dec!(187.5))).unwrap();
    // Chunk 3 re-built on its own (as the executor does for each chunk it sends).
    t.first_chunk = 3;
    let third = checked_order(&sol(), &t, plan.chunks[3], price(dec!(187.5))).unwrap();
    assert_eq!(third.inner(), all[3].inner());
    assert_ne!(
        third.inner().client_order_id,
        all[2].inner().client_order_id
    );
}

#[test]
fn a_chunk_off_the_step_is_refused_naming_its_index() {
    let mut t = template(IntentKind::Open, Direction::Long, PositionMode::OneWay);
    t.first_chunk = 7;
    let err = checked_order(&sol(), &t, qty(dec!(10.005)), price(dec!(187.5))).unwrap_err();
    assert!(
        matches!(err, ToOrdersError::Filter { chunk: 7, .. }),
        "{err}"
    );
}
