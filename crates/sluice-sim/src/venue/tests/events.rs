//! User events in Binance's order with the fields the renderer needs.

use super::*;
use crate::venue::types::{ExecType, OrderStatus};
use crate::venue::UserEvent;

pub(super) fn kinds(events: &[(AccountId, UserEvent)]) -> Vec<String> {
    events
        .iter()
        .map(|(_, e)| match e {
            UserEvent::TradeLite(_) => "TRADE_LITE".to_owned(),
            UserEvent::OrderTradeUpdate(u) => {
                format!("ORDER_TRADE_UPDATE:{}", u.exec_type.as_str())
            }
            UserEvent::AccountUpdate(_) => "ACCOUNT_UPDATE".to_owned(),
            UserEvent::AccountConfigUpdate(_) => "ACCOUNT_CONFIG_UPDATE".to_owned(),
            UserEvent::AlgoUpdate(a) => format!("ALGO_UPDATE:{}", a.order.status.as_str()),
        })
        .collect()
}

#[test]
fn a_taker_fill_emits_trade_lite_new_account_update_trade_in_that_order() {
    let mut v = venue();
    let o = place(&mut v, market("BTCUSDT", "BUY", "0.01")).expect("fills");
    let events = v.drain_events();
    assert_eq!(
        kinds(&events),
        [
            "TRADE_LITE",
            "ORDER_TRADE_UPDATE:NEW",
            "ACCOUNT_UPDATE",
            "ORDER_TRADE_UPDATE:TRADE"
        ]
    );
    assert!(events.iter().all(|(a, _)| *a == ACC));
    let UserEvent::OrderTradeUpdate(new) = &events[1].1 else {
        panic!("NEW expected")
    };
    assert_eq!(
        (new.status, new.commission, new.trade_id),
        (OrderStatus::New, Decimal::ZERO, 0)
    );
    assert_eq!(new.commission_asset, "USDT");
    let UserEvent::AccountUpdate(au) = &events[2].1 else {
        panic!("ACCOUNT_UPDATE expected")
    };
    assert_eq!(au.reason, "ORDER");
    assert_eq!(au.positions[0].position_amt, d("0.01"));
    assert_eq!(au.positions[0].entry_price, d("65000.1"));
    assert_eq!(au.positions[0].margin_asset, "USDT");
    assert!(au.positions[0].break_even_price > d("65000.1"));
    let UserEvent::OrderTradeUpdate(trade) = &events[3].1 else {
        panic!("TRADE expected")
    };
    assert_eq!(trade.status, OrderStatus::Filled);
    assert_eq!(
        (trade.last_qty, trade.last_price),
        (d("0.01"), d("65000.1"))
    );
    assert_eq!(trade.commission, d("0.3250005"));
    assert_eq!(trade.order_id, o.order_id);
    assert!(trade.trade_id > 0 && !trade.maker);
    assert!(v.drain_events().is_empty(), "drained");
}

#[test]
fn a_resting_order_emits_only_new_and_a_cancel_emits_canceled() {
    let mut v = venue();
    let o = place(&mut v, limit("BTCUSDT", "BUY", "0.01", "60000", "GTC")).expect("rests");
    let events = v.drain_events();
    assert_eq!(kinds(&events), ["ORDER_TRADE_UPDATE:NEW"]);
    let UserEvent::OrderTradeUpdate(new) = &events[0].1 else {
        panic!("NEW expected")
    };
    assert_eq!(
        new.bids_notional,
        d("600"),
        "open buy notional of the symbol"
    );
    v.cancel_order(ACC, "BTCUSDT", Some(o.order_id), None, T0 + 5)
        .expect("cancels");
    let events = v.drain_events();
    assert_eq!(kinds(&events), ["ORDER_TRADE_UPDATE:CANCELED"]);
    let UserEvent::OrderTradeUpdate(c) = &events[0].1 else {
        panic!("CANCELED expected")
    };
    assert_eq!((c.status, c.event_time), (OrderStatus::Canceled, T0 + 5));
}

#[test]
fn an_expired_remainder_carries_its_expiry_reason() {
    let mut v = venue();
    place(&mut v, limit("BTCUSDT", "BUY", "12", "65001.10", "IOC")).expect("partial");
    let events = v.drain_events();
    let last = events.last().map(|(_, e)| e.clone());
    let Some(UserEvent::OrderTradeUpdate(u)) = last else {
        panic!("EXPIRED expected")
    };
    assert_eq!(
        (u.exec_type, u.status, u.expiry_reason),
        (ExecType::Expired, OrderStatus::Expired, 2)
    );
    assert_eq!(u.cum_qty, d("10"));
}

#[test]
fn a_maker_fill_emits_trade_lite_account_update_trade_without_new() {
    let mut v = venue();
    place(&mut v, limit("BTCUSDT", "SELL", "0.01", "66000", "GTC")).expect("rests");
    v.drain_events();
    v.set_mark("BTCUSDT", d("66010"), T0 + 1).expect("mark");
    let events = v.drain_events();
    assert_eq!(
        kinds(&events),
        ["TRADE_LITE", "ACCOUNT_UPDATE", "ORDER_TRADE_UPDATE:TRADE"]
    );
    let UserEvent::OrderTradeUpdate(t) = &events[2].1 else {
        panic!("TRADE expected")
    };
    assert!(t.maker);
    assert_eq!(t.commission, d("0.132"));
}

#[test]
fn a_leverage_change_emits_account_config_update() {
    let mut v = venue();
    v.set_leverage(ACC, "ETHUSDT", 10, T0).expect("allowed");
    let events = v.drain_events();
    let [(_, UserEvent::AccountConfigUpdate(c))] = events.as_slice() else {
        panic!("one config event")
    };
    assert_eq!(c.leverage, Some(("ETHUSDT".to_owned(), 10)));
    let row = v
        .account(ACC)
        .expect("account")
        .positions
        .into_iter()
        .find(|p| p.symbol == "ETHUSDT");
    assert_eq!(row.map(|p| p.leverage), Some(10));
}

#[test]
fn a_close_realizes_pnl_in_the_trade_update() {
    let mut v = venue();
    place(&mut v, market("BTCUSDT", "BUY", "0.01")).expect("opens at 65000.1");
    v.set_mark("BTCUSDT", d("66000"), T0).expect("mark");
    v.drain_events();
    place(&mut v, reduce_only(market("BTCUSDT", "SELL", "0.01"))).expect("closes at 65999.9");
    let events = v.drain_events();
    let Some((_, UserEvent::OrderTradeUpdate(t))) = events.last() else {
        panic!("TRADE last")
    };
    assert_eq!(t.realized_profit, d("9.998"));
    assert!(t.reduce_only);
}

#[test]
fn a_multi_level_taker_fill_emits_every_trade_lite_before_new() {
    let mut v = venue();
    place(&mut v, market("BTCUSDT", "BUY", "12")).expect("walks three levels");
    let expected = [
        "TRADE_LITE",
        "TRADE_LITE",
        "TRADE_LITE",
        "ORDER_TRADE_UPDATE:NEW",
        "ACCOUNT_UPDATE",
        "ORDER_TRADE_UPDATE:TRADE",
        "ORDER_TRADE_UPDATE:TRADE",
        "ORDER_TRADE_UPDATE:TRADE",
    ];
    let events = v.drain_events();
    assert_eq!(kinds(&events), expected);
    let statuses: Vec<OrderStatus> = events[5..]
        .iter()
        .filter_map(|(_, e)| match e {
            UserEvent::OrderTradeUpdate(u) => Some(u.status),
            _ => None,
        })
        .collect();
    assert_eq!(
        statuses,
        [
            OrderStatus::PartiallyFilled,
            OrderStatus::PartiallyFilled,
            OrderStatus::Filled
        ]
    );
}

#[test]
fn cancel_all_cancels_only_that_symbol_and_reports_each_order() {
    let mut v = venue();
    place(&mut v, limit("BTCUSDT", "BUY", "0.01", "60000", "GTC")).expect("rests");
    place(&mut v, limit("BTCUSDT", "SELL", "0.01", "70000", "GTC")).expect("rests");
    place(&mut v, limit("ETHUSDT", "BUY", "0.01", "3000", "GTC")).expect("rests");
    v.drain_events();
    let canceled = v.cancel_all(ACC, "BTCUSDT", T0).expect("symbol exists");
    assert_eq!(canceled.len(), 2);
    assert!(canceled.iter().all(|o| o.status == OrderStatus::Canceled));
    assert_eq!(kinds(&v.drain_events()), ["ORDER_TRADE_UPDATE:CANCELED"; 2]);
    assert_eq!(v.open_orders(ACC, None).len(), 1);
    assert_reject(v.cancel_all(ACC, "FOOUSDT", T0), -1121, "Invalid symbol.");
}

#[test]
fn a_multi_assets_switch_emits_account_config_update() {
    let mut v = venue();
    v.set_multi_assets(ACC, true, T0).expect("switches");
    let events = v.drain_events();
    let [(_, UserEvent::AccountConfigUpdate(c))] = events.as_slice() else {
        panic!("one config event")
    };
    assert_eq!((c.multi_assets, c.leverage.clone()), (Some(true), None));
    assert!(v.account(ACC).expect("account").multi_assets_margin);
}

#[test]
fn the_same_seed_and_requests_replay_the_same_events() {
    let run = |seed: u64| {
        let symbols = symbols_with("ETHUSDT", |s| s.walk_step = d("0.002"));
        let mut v = Venue::new(seed, symbols, vec![account("100000", false)], T0);
        let no_id = NewOrder {
            resp_type_result: false,
            ..market("ETHUSDT", "BUY", "1")
        };
        place(&mut v, no_id).expect("fills");
        place(&mut v, limit("ETHUSDT", "SELL", "1", "3520", "GTC")).expect("rests");
        for i in 1..=30 {
            v.tick(T0 + i * 1_000);
        }
        v.drain_events()
    };
    let a = run(99);
    assert!(a.len() >= 5);
    assert_eq!(a, run(99));
    assert_ne!(a, run(100), "another seed draws other client ids and marks");
}
