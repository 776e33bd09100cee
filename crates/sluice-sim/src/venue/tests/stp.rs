//! Self-trade prevention: a taker meeting a resting order of its own account (BTCUSDT:
//! mark 65000, best ask 65000.10, best bid 64999.90, so a SELL at 65000 rests in between).

use super::*;
use crate::venue::types::OrderStatus;
use crate::venue::UserEvent;

/// A resting SELL 0.01 at 65000 (GTC), then a MARKET BUY 0.05 with `stp` (None: not sent).
fn taker_meets_own_maker(stp: Option<&str>) -> (Venue, OrderView, OrderView) {
    let mut v = venue();
    let maker = place(&mut v, limit("BTCUSDT", "SELL", "0.01", "65000", "GTC")).expect("rests");
    assert_eq!(maker.status, OrderStatus::New);
    v.drain_events();
    let taker = NewOrder {
        self_trade_prevention_mode: stp.map(str::to_owned),
        ..market("BTCUSDT", "BUY", "0.05")
    };
    let taker = place(&mut v, taker).expect("accepted");
    let maker = v
        .order(ACC, "BTCUSDT", Some(maker.order_id), None)
        .expect("maker");
    (v, maker, taker)
}

/// The `er` of the last ORDER_TRADE_UPDATE for order `id`.
fn last_er(v: &mut Venue, id: i64) -> Option<u8> {
    v.drain_events().iter().rev().find_map(|(_, e)| match e {
        UserEvent::OrderTradeUpdate(u) if u.order_id == id => Some(u.expiry_reason),
        _ => None,
    })
}

#[test]
fn expire_taker_ends_the_taker_in_match_without_a_trade_and_keeps_the_resting_order() {
    let (mut v, maker, taker) = taker_meets_own_maker(Some("EXPIRE_TAKER"));
    assert_eq!(taker.status, OrderStatus::ExpiredInMatch);
    assert_eq!(taker.executed_qty, Decimal::ZERO, "an expiry, never a fill");
    assert_eq!(maker.status, OrderStatus::New);
    assert_eq!(last_er(&mut v, taker.order_id), Some(1));
}

#[test]
fn without_a_mode_the_account_default_expires_the_resting_order_and_the_taker_trades() {
    let (mut v, maker, taker) = taker_meets_own_maker(None);
    assert_eq!(maker.status, OrderStatus::ExpiredInMatch);
    assert_eq!(maker.self_trade_prevention_mode, "EXPIRE_MAKER");
    assert_eq!(taker.status, OrderStatus::Filled);
    assert_eq!(taker.self_trade_prevention_mode, "EXPIRE_MAKER");
    let ers: Vec<u8> = v
        .drain_events()
        .iter()
        .filter_map(|(_, e)| match e {
            UserEvent::OrderTradeUpdate(u) if u.order_id == maker.order_id => Some(u.expiry_reason),
            _ => None,
        })
        .collect();
    assert_eq!(ers, [1]);
}

#[test]
fn expire_both_ends_both_and_none_lets_the_taker_trade_with_the_book() {
    let (_, maker, taker) = taker_meets_own_maker(Some("EXPIRE_BOTH"));
    assert_eq!(
        (maker.status, taker.status),
        (OrderStatus::ExpiredInMatch, OrderStatus::ExpiredInMatch)
    );
    let (_, maker, taker) = taker_meets_own_maker(Some("NONE"));
    assert_eq!(
        (maker.status, taker.status),
        (OrderStatus::New, OrderStatus::Filled)
    );
}

#[test]
fn a_taker_filled_by_better_book_levels_never_meets_its_own_order() {
    let mut v = venue();
    place(&mut v, limit("BTCUSDT", "SELL", "0.01", "65100", "GTC")).expect("rests");
    let taker = NewOrder {
        self_trade_prevention_mode: Some("EXPIRE_TAKER".to_owned()),
        ..market("BTCUSDT", "BUY", "0.05")
    };
    let taker = place(&mut v, taker).expect("fills");
    assert_eq!(taker.status, OrderStatus::Filled);
}
