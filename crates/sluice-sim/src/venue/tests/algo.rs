//! The Algo Service: validation codes, the 200-order cap, cancellation, triggering on
//! the mark into a real MARKET order with ALGO_UPDATE NEW → TRIGGERING → TRIGGERED →
//! FINISHED, REJECTED with a reason, and the stuck-TRIGGERING fault.

use super::events::kinds;
use super::*;
use crate::venue::algo::{AlgoStatus, MAX_OPEN_ALGO};
use crate::venue::NewAlgo;

fn stop(symbol: &str, side: &str, trigger: &str) -> NewAlgo {
    NewAlgo {
        algo_type: "CONDITIONAL".to_owned(),
        symbol: symbol.to_owned(),
        side: side.to_owned(),
        order_type: "STOP_MARKET".to_owned(),
        trigger_price: Some(d(trigger)),
        trigger_price_raw: Some(trigger.to_owned()),
        working_type: Some("MARK_PRICE".to_owned()),
        close_position: Some(true),
        ..NewAlgo::default()
    }
}

fn with_id(n: NewAlgo, id: &str) -> NewAlgo {
    NewAlgo {
        client_algo_id: Some(id.to_owned()),
        ..n
    }
}

fn long_btc(v: &mut Venue, qty: &str) {
    place(v, market("BTCUSDT", "BUY", qty)).expect("the open fills");
    v.drain_events();
}

#[test]
fn a_close_position_stop_closes_the_long_when_the_mark_falls_through_it() {
    let mut v = venue();
    long_btc(&mut v, "0.010");
    let placed = v
        .place_algo(ACC, with_id(stop("BTCUSDT", "SELL", "64000"), "sl-1"), T0)
        .expect("accepted");
    assert_eq!(placed.status, AlgoStatus::New);
    assert_eq!(kinds(&v.drain_events()), ["ALGO_UPDATE:NEW"]);

    v.set_mark("BTCUSDT", d("64500"), T0 + 1)
        .expect("mark moves");
    assert!(
        v.drain_events().is_empty(),
        "above the trigger nothing fires"
    );
    assert_eq!(position(&v, "BTCUSDT", "BOTH"), d("0.010"));

    v.set_mark("BTCUSDT", d("63990"), T0 + 2)
        .expect("mark moves");
    let kinds = kinds(&v.drain_events());
    assert_eq!(
        kinds.first().map(String::as_str),
        Some("ALGO_UPDATE:TRIGGERING")
    );
    assert_eq!(
        kinds.get(1).map(String::as_str),
        Some("ALGO_UPDATE:TRIGGERED")
    );
    assert!(kinds.iter().any(|k| k == "ORDER_TRADE_UPDATE:TRADE"));
    assert_eq!(
        kinds.last().map(String::as_str),
        Some("ALGO_UPDATE:FINISHED")
    );
    assert_eq!(position(&v, "BTCUSDT", "BOTH"), Decimal::ZERO);

    let done = v.algo(ACC, None, Some("sl-1")).expect("known");
    assert_eq!(done.status, AlgoStatus::Finished);
    assert_eq!(done.actual_qty, d("0.010"));
    let order_id = done.actual_order_id.expect("the trigger produced an order");
    let order = v
        .order(ACC, "BTCUSDT", Some(order_id), None)
        .expect("a real order");
    assert_eq!((order.executed_qty, order.reduce_only), (d("0.010"), true));
    assert!(v.open_algos(ACC, None).is_empty());
}

#[test]
fn a_take_profit_on_a_short_fires_when_the_mark_falls_to_it() {
    let mut v = venue();
    place(&mut v, market("BTCUSDT", "SELL", "0.020")).expect("the short opens");
    let tp = NewAlgo {
        order_type: "TAKE_PROFIT_MARKET".to_owned(),
        ..stop("BTCUSDT", "BUY", "60000")
    };
    v.place_algo(ACC, tp, T0).expect("accepted");
    v.set_mark("BTCUSDT", d("60000"), T0 + 1)
        .expect("mark moves");
    assert_eq!(position(&v, "BTCUSDT", "BOTH"), Decimal::ZERO);
}

#[test]
fn a_reduce_only_quantity_stop_closes_only_its_quantity() {
    let mut v = venue();
    long_btc(&mut v, "0.030");
    let partial = NewAlgo {
        close_position: None,
        reduce_only: Some(true),
        quantity: Some(d("0.010")),
        quantity_raw: Some("0.010".to_owned()),
        ..stop("BTCUSDT", "SELL", "64000")
    };
    v.place_algo(ACC, partial, T0).expect("accepted");
    v.set_mark("BTCUSDT", d("63000"), T0 + 1)
        .expect("mark moves");
    assert_eq!(position(&v, "BTCUSDT", "BOTH"), d("0.020"));
}

#[test]
fn algo_orders_are_refused_with_binance_codes() {
    let mut v = venue();
    let cases: Vec<(NewAlgo, i64, &str)> = vec![
        (
            NewAlgo {
                quantity: Some(d("0.010")),
                ..stop("BTCUSDT", "SELL", "64000")
            },
            -4137,
            "Quantity must be zero with closePosition equals true",
        ),
        (
            NewAlgo {
                reduce_only: Some(true),
                ..stop("BTCUSDT", "SELL", "64000")
            },
            -1106,
            "Parameter 'reduceOnly' sent when not required.",
        ),
        (
            stop("BTCUSDT", "SELL", "65100"),
            -2021,
            "Order would immediately trigger.",
        ),
        (
            NewAlgo {
                order_type: "TRAILING_STOP_MARKET".to_owned(),
                ..stop("BTCUSDT", "SELL", "64000")
            },
            -1116,
            "Invalid orderType.",
        ),
        (
            NewAlgo {
                working_type: Some("INDEX_PRICE".to_owned()),
                ..stop("BTCUSDT", "SELL", "64000")
            },
            -4031,
            "Invalid parameter working type",
        ),
        (
            stop("BTCUSDT", "SELL", "64000.051"),
            -1111,
            "Precision is over the maximum defined for this asset.",
        ),
        (
            NewAlgo {
                close_position: None,
                ..stop("BTCUSDT", "SELL", "64000")
            },
            -1102,
            "Mandatory parameter 'quantity' was not sent, was empty/null, or malformed.",
        ),
    ];
    for (order, code, msg) in cases {
        assert_reject(v.place_algo(ACC, order, T0), code, msg);
    }
    assert!(v.drain_events().is_empty(), "a refusal queues nothing");
}

#[test]
fn the_two_hundred_open_algo_orders_cap_spans_all_symbols() {
    let mut v = venue();
    for i in 0..MAX_OPEN_ALGO {
        let (symbol, trigger) = if i % 2 == 0 {
            ("BTCUSDT", "60000")
        } else {
            ("ETHUSDT", "3000")
        };
        v.place_algo(ACC, stop(symbol, "SELL", trigger), T0)
            .expect("below the cap");
    }
    assert_reject(
        v.place_algo(ACC, stop("BTCUSDT", "SELL", "60000"), T0),
        -4045,
        "Reach max stop order limit.",
    );
    let first = v.open_algos(ACC, Some("ETHUSDT"))[0].algo_id;
    v.cancel_algo(ACC, Some(first), None, T0).expect("cancels");
    v.place_algo(ACC, stop("BTCUSDT", "SELL", "60000"), T0)
        .expect("a slot is free again");
}

#[test]
fn cancelling_queues_canceled_and_a_second_cancel_is_unknown() {
    let mut v = venue();
    v.place_algo(ACC, with_id(stop("BTCUSDT", "SELL", "60000"), "a"), T0)
        .expect("accepted");
    v.place_algo(ACC, stop("ETHUSDT", "SELL", "3000"), T0)
        .expect("accepted");
    v.drain_events();
    let c = v.cancel_algo(ACC, None, Some("a"), T0).expect("cancels");
    assert_eq!(c.status, AlgoStatus::Canceled);
    assert_eq!(kinds(&v.drain_events()), ["ALGO_UPDATE:CANCELED"]);
    assert_reject(
        v.cancel_algo(ACC, None, Some("a"), T0),
        -2011,
        "Unknown order sent.",
    );
    assert_reject(
        v.place_algo(ACC, with_id(stop("BTCUSDT", "SELL", "60000"), "a"), T0)
            .map(|_| ())
            .and_then(|()| v.place_algo(ACC, with_id(stop("BTCUSDT", "SELL", "60000"), "a"), T0)),
        -4116,
        "ClientOrderId is duplicated.",
    );
    assert_eq!(v.cancel_all_algos(ACC, "ETHUSDT", T0), Ok(1));
    assert_eq!(
        v.open_algos(ACC, None).len(),
        1,
        "only the BTCUSDT one is left"
    );
}

#[test]
fn a_stop_without_a_position_to_close_is_rejected_with_a_reason() {
    let mut v = venue();
    v.place_algo(ACC, stop("BTCUSDT", "SELL", "64000"), T0)
        .expect("accepted without a position");
    v.drain_events();
    v.set_mark("BTCUSDT", d("63000"), T0 + 1)
        .expect("mark moves");
    assert_eq!(
        kinds(&v.drain_events()),
        ["ALGO_UPDATE:TRIGGERING", "ALGO_UPDATE:REJECTED"]
    );
    let o = &v.algos.values().next().expect("recorded").clone();
    assert_eq!(o.status, AlgoStatus::Rejected);
    assert_eq!(o.reject_reason, "ReduceOnly Order is rejected.");
}

#[test]
fn a_stalled_trigger_stays_triggering_and_proceeds_once_released() {
    let mut v = venue();
    long_btc(&mut v, "0.010");
    v.place_algo(ACC, stop("BTCUSDT", "SELL", "64000"), T0)
        .expect("accepted");
    v.drain_events();
    v.stall_algo_triggers(Some(Vec::new()));
    v.set_mark("BTCUSDT", d("63000"), T0 + 1)
        .expect("mark moves");
    assert_eq!(kinds(&v.drain_events()), ["ALGO_UPDATE:TRIGGERING"]);
    v.tick(T0 + 5_000);
    assert_eq!(position(&v, "BTCUSDT", "BOTH"), d("0.010"), "still naked");
    assert_eq!(v.open_algos(ACC, None)[0].status, AlgoStatus::Triggering);

    v.stall_algo_triggers(None);
    v.tick(T0 + 6_000);
    assert_eq!(position(&v, "BTCUSDT", "BOTH"), Decimal::ZERO);
}

#[test]
fn hedge_mode_close_position_is_only_allowed_on_the_closing_leg() {
    let mut v = hedge_venue();
    let opening = NewAlgo {
        position_side: Some("SHORT".to_owned()),
        ..stop("BTCUSDT", "SELL", "64000")
    };
    assert_reject(
        v.place_algo(ACC, opening, T0),
        -4061,
        "Order's position side does not match user's setting.",
    );
    let closing = NewAlgo {
        position_side: Some("LONG".to_owned()),
        ..stop("BTCUSDT", "SELL", "64000")
    };
    place(&mut v, leg(market("BTCUSDT", "BUY", "0.010"), "LONG")).expect("long leg opens");
    v.place_algo(ACC, closing, T0)
        .expect("closing leg accepted");
    v.set_mark("BTCUSDT", d("63000"), T0 + 1)
        .expect("mark moves");
    assert_eq!(position(&v, "BTCUSDT", "LONG"), Decimal::ZERO);
}

#[test]
fn a_finished_algo_update_has_the_keys_of_the_testnet_capture_in_its_order() {
    // Key order of a 2025-12-11 testnet ALGO_UPDATE (FINISHED), as docs/binance-fapi.md §5.6
    // describes it.
    const CAPTURE: [&str; 24] = [
        "caid", "aid", "at", "o", "s", "S", "ps", "f", "q", "X", "ai", "ap", "aq", "act", "tp",
        "p", "V", "wt", "pm", "cp", "pP", "R", "tt", "gtd",
    ];
    let mut v = venue();
    long_btc(&mut v, "0.010");
    v.place_algo(ACC, with_id(stop("BTCUSDT", "SELL", "64000"), "sl-1"), T0)
        .expect("accepted");
    v.set_mark("BTCUSDT", d("63000"), T0 + 1)
        .expect("mark moves");
    let finished = v
        .drain_events()
        .into_iter()
        .map(|(_, e)| e)
        .rfind(|e| matches!(e, crate::venue::UserEvent::AlgoUpdate(_)))
        .expect("an ALGO_UPDATE");
    let json = crate::ws::events::user_event(&finished);
    let top: Vec<&str> = ["\"e\":", "\"T\":", "\"E\":", "\"o\":"]
        .into_iter()
        .filter(|k| json.contains(k))
        .collect();
    assert_eq!(top.len(), 4, "{json}");
    let value: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(value["e"], "ALGO_UPDATE");
    assert_eq!(value["o"]["X"], "FINISHED");
    assert_eq!(value["o"]["caid"], "sl-1");
    assert!(
        value["o"]["ai"].as_str().is_some_and(|ai| !ai.is_empty()),
        "{json}"
    );
    // Keys in the capture's order: each found after the previous one.
    let inner = &json[json.find("\"o\":{").expect("o object")..];
    let mut at = 0;
    for key in CAPTURE {
        let needle = format!("\"{key}\":");
        let pos = inner[at..]
            .find(&needle)
            .unwrap_or_else(|| panic!("{key} missing or out of order in {inner}"));
        at += pos + needle.len();
    }
}
