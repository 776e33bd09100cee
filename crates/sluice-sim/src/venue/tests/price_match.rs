//! LIMIT orders priced by `priceMatch`, post-only and GTD as sluice's limit intents send
//! them: the venue prices from its own book, refuses the removed modes, rests what does
//! not take, fills it as the mark moves, and cancels it by client order id.

use super::events::kinds;
use super::*;
use crate::venue::types::OrderStatus;

fn matched(side: &str, mode: &str, tif: &str) -> NewOrder {
    NewOrder {
        order_type: "LIMIT".to_owned(),
        time_in_force: Some(tif.to_owned()),
        price_match: Some(mode.to_owned()),
        client_order_id: Some(format!("pm-{side}-{mode}-{tif}")),
        ..market("BTCUSDT", side, "0.01")
    }
}

#[test]
fn a_queue_order_rests_at_the_best_price_of_its_own_side() {
    let mut v = venue();
    let o = place(&mut v, matched("BUY", "QUEUE", "GTX")).expect("rests");
    // Bids: from 64999.9 down; the best bid is one tick under the mark of 65000.
    assert_eq!((o.status, o.price), (OrderStatus::New, d("64999.9")));
    assert_eq!(o.price_match, "QUEUE");
    let fifth = place(&mut v, matched("SELL", "QUEUE_5", "GTC")).expect("rests");
    assert_eq!(fifth.price, d("65004.1"), "the 5th ask");
}

#[test]
fn a_post_only_opponent_order_would_take_and_is_rejected() {
    let mut v = venue();
    assert_reject(
        place(&mut v, matched("BUY", "OPPONENT", "GTX")),
        -5022,
        "Due to the order could not be executed as maker, the Post Only order will be rejected. The order will not be recorded in the order history",
    );
    assert!(v.open_orders(ACC, None).is_empty());
    let taken = place(&mut v, matched("BUY", "OPPONENT", "GTC")).expect("takes");
    assert_eq!(
        (taken.status, taken.avg_price),
        (OrderStatus::Filled, d("65000.1"))
    );
}

#[test]
fn removed_and_misused_price_match_modes_are_refused() {
    let mut v = venue();
    for removed in ["OPPONENT_10", "OPPONENT_20", "BEST"] {
        assert_reject(
            place(&mut v, matched("BUY", removed, "GTC")),
            -5037,
            "Invalid price match",
        );
    }
    let with_price = NewOrder {
        price: Some(d("60000")),
        price_raw: Some("60000".into()),
        ..matched("BUY", "QUEUE", "GTC")
    };
    assert_eq!(place(&mut v, with_price).unwrap_err().code, -1106);
    let on_market = NewOrder {
        order_type: "MARKET".into(),
        time_in_force: None,
        ..matched("BUY", "QUEUE", "GTC")
    };
    assert_eq!(place(&mut v, on_market).unwrap_err().code, -5038);
    assert_eq!(v.snapshot().orders_total, 0);
}

#[test]
fn a_resting_order_fills_as_the_mark_moves_and_is_reported() {
    let mut v = venue();
    let o = place(&mut v, limit("BTCUSDT", "BUY", "0.01", "64990", "GTC")).expect("rests");
    v.drain_events();
    v.set_mark("BTCUSDT", d("64980"), T0 + 10)
        .expect("mark moves");
    v.tick(T0 + 20);
    let o = v
        .order(ACC, "BTCUSDT", Some(o.order_id), None)
        .expect("known");
    assert_eq!(o.status, OrderStatus::Filled);
    let events = kinds(&v.drain_events());
    assert!(
        events.iter().any(|k| k == "ORDER_TRADE_UPDATE:TRADE"),
        "a maker fill is reported: {events:?}"
    );
}

#[test]
fn a_resting_order_is_cancelled_by_its_client_order_id() {
    let mut v = venue();
    place(&mut v, matched("SELL", "QUEUE", "GTC")).expect("rests");
    v.drain_events();
    let c = v
        .cancel_order(ACC, "BTCUSDT", None, Some("pm-SELL-QUEUE-GTC"), T0 + 5)
        .expect("cancels");
    assert_eq!(c.status, OrderStatus::Canceled);
    assert_eq!(kinds(&v.drain_events()), ["ORDER_TRADE_UPDATE:CANCELED"]);
    assert_eq!(
        v.cancel_order(ACC, "BTCUSDT", None, Some("pm-SELL-QUEUE-GTC"), T0 + 6)
            .unwrap_err()
            .code,
        -2011
    );
}
