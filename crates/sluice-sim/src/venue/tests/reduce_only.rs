//! Reduce-only accounting in one-way mode: no position, wrong side, resting
//! reduce-only orders counted, MARKET capped at the position, resting orders
//! knocked out when the position goes away.

use super::*;
use crate::venue::types::OrderStatus;

const RO_REJECTED: &str = "ReduceOnly Order is rejected.";
const RO_MARGIN: &str =
    "ReduceOnly Order Failed. Please check your existing position and open orders";

/// A venue holding a 1 BTC long.
fn long_one_btc() -> Venue {
    let mut v = venue();
    place(&mut v, market("BTCUSDT", "BUY", "1")).expect("opens");
    v
}

#[test]
fn reduce_only_without_a_position_is_rejected() {
    let mut v = venue();
    assert_reject(
        place(&mut v, reduce_only(market("BTCUSDT", "SELL", "0.01"))),
        -2022,
        RO_REJECTED,
    );
}

#[test]
fn reduce_only_on_the_increasing_side_is_rejected() {
    let mut v = long_one_btc();
    assert_reject(
        place(&mut v, reduce_only(market("BTCUSDT", "BUY", "0.01"))),
        -2022,
        RO_REJECTED,
    );
}

#[test]
fn resting_reduce_only_orders_count_against_the_position() {
    let mut v = long_one_btc();
    place(
        &mut v,
        reduce_only(limit("BTCUSDT", "SELL", "0.6", "66000", "GTC")),
    )
    .expect("rests");
    place(
        &mut v,
        reduce_only(limit("BTCUSDT", "SELL", "0.4", "67000", "GTC")),
    )
    .expect("rests");
    let more = reduce_only(market("BTCUSDT", "SELL", "0.01"));
    assert_reject(place(&mut v, more), -4118, RO_MARGIN);
    assert_eq!(position(&v, "BTCUSDT", "BOTH"), d("1"), "nothing executed");
}

#[test]
fn a_reduce_only_limit_larger_than_the_position_is_rejected() {
    let mut v = long_one_btc();
    let too_big = reduce_only(limit("BTCUSDT", "SELL", "1.5", "66000", "GTC"));
    assert_reject(place(&mut v, too_big), -2022, RO_REJECTED);
}

#[test]
fn a_reduce_only_market_larger_than_the_position_closes_it_and_expires_the_rest() {
    let mut v = long_one_btc();
    let o = place(&mut v, reduce_only(market("BTCUSDT", "SELL", "3"))).expect("accepted");
    assert_eq!((o.status, o.executed_qty), (OrderStatus::Expired, d("1")));
    assert_eq!(
        position(&v, "BTCUSDT", "BOTH"),
        Decimal::ZERO,
        "closed, never flipped"
    );
}

#[test]
fn resting_reduce_only_orders_are_knocked_out_when_the_position_closes() {
    let mut v = long_one_btc();
    let tp = place(
        &mut v,
        reduce_only(limit("BTCUSDT", "SELL", "0.5", "66000", "GTC")),
    )
    .expect("rests");
    place(&mut v, market("BTCUSDT", "SELL", "1")).expect("plain close");
    let tp = v
        .order(ACC, "BTCUSDT", Some(tp.order_id), None)
        .expect("known");
    assert_eq!(tp.status, OrderStatus::Expired);
    v.set_mark("BTCUSDT", d("66100"), T0)
        .expect("mark crosses the old TP");
    assert_eq!(
        position(&v, "BTCUSDT", "BOTH"),
        Decimal::ZERO,
        "no phantom short"
    );
}

#[test]
fn resting_reduce_only_orders_shrink_with_the_position() {
    let mut v = long_one_btc();
    let tp = place(
        &mut v,
        reduce_only(limit("BTCUSDT", "SELL", "0.8", "66000", "GTC")),
    )
    .expect("rests");
    place(&mut v, market("BTCUSDT", "SELL", "0.5")).expect("partial close");
    let tp = v
        .order(ACC, "BTCUSDT", Some(tp.order_id), None)
        .expect("known");
    assert_eq!((tp.status, tp.orig_qty), (OrderStatus::New, d("0.5")));
    v.set_mark("BTCUSDT", d("66100"), T0).expect("mark");
    assert_eq!(position(&v, "BTCUSDT", "BOTH"), Decimal::ZERO);
}
