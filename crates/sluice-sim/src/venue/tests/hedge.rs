//! Hedge mode: LONG and SHORT legs, closing legs behave as reduce-only.

use super::*;

#[test]
fn hedge_legs_hold_long_and_short_at_once() {
    let mut v = hedge_venue();
    place(&mut v, leg(market("BTCUSDT", "BUY", "0.5"), "LONG")).expect("long");
    place(&mut v, leg(market("BTCUSDT", "SELL", "0.2"), "SHORT")).expect("short");
    assert_eq!(position(&v, "BTCUSDT", "LONG"), d("0.5"));
    assert_eq!(position(&v, "BTCUSDT", "SHORT"), d("-0.2"));
}

#[test]
fn a_closing_leg_without_a_position_is_rejected_like_reduce_only() {
    let mut v = hedge_venue();
    let close = leg(market("BTCUSDT", "SELL", "0.1"), "LONG");
    assert_reject(place(&mut v, close), -2022, "ReduceOnly Order is rejected.");
}

#[test]
fn closing_legs_count_resting_closes_and_never_flip() {
    let mut v = hedge_venue();
    place(&mut v, leg(market("BTCUSDT", "BUY", "1"), "LONG")).expect("long");
    let tp = leg(limit("BTCUSDT", "SELL", "1", "66000", "GTC"), "LONG");
    let tp = place(&mut v, tp).expect("rests");
    assert!(!tp.reduce_only, "hedge orders echo reduceOnly=false");
    let second = leg(market("BTCUSDT", "SELL", "0.1"), "LONG");
    assert_reject(
        place(&mut v, second),
        -4118,
        "ReduceOnly Order Failed. Please check your existing position and open orders",
    );
    v.cancel_order(ACC, "BTCUSDT", Some(tp.order_id), None, T0)
        .expect("cancel");
    let over = place(&mut v, leg(market("BTCUSDT", "SELL", "2"), "LONG")).expect("closes");
    assert_eq!(over.executed_qty, d("1"));
    assert_eq!(position(&v, "BTCUSDT", "LONG"), Decimal::ZERO);
    assert_eq!(
        position(&v, "BTCUSDT", "SHORT"),
        Decimal::ZERO,
        "the remainder opened nothing"
    );
}

#[test]
fn a_hedge_close_is_exempt_from_min_notional() {
    let mut v = hedge_venue();
    place(&mut v, leg(market("BTCUSDT", "SELL", "0.002"), "SHORT")).expect("short");
    let small = place(&mut v, leg(market("BTCUSDT", "BUY", "0.001"), "SHORT")).expect("exempt");
    assert_eq!(small.executed_qty, d("0.001"));
    assert_eq!(position(&v, "BTCUSDT", "SHORT"), d("-0.001"));
}
