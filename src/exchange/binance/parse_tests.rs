//! Tests of the wire → domain translation, on payloads shaped like real captures
//! (values from docs/binance-fapi.md §7 and §5.3, written here by hand).

use super::*;
use crate::exchange::binance::samples::{SOL_EXCHANGE_INFO, TRADE_UPDATE};
use crate::exchange::binance::ws::events::UserEvent;
use rust_decimal_macros::dec;

#[test]
fn exchange_info_yields_every_filter_and_the_market_cap_is_separate() {
    let info: wire::ExchangeInfo = serde_json::from_str(SOL_EXCHANGE_INFO).unwrap();
    let rules = symbol_rules(&info.symbols[0]).unwrap();
    assert_eq!(rules.symbol.as_str(), "SOLUSDT");
    assert_eq!(rules.price_filter.tick_size, dec!(0.001));
    assert_eq!(rules.price_filter.min_price, dec!(0.42));
    assert_eq!(rules.lot_size.max_qty, dec!(1000000));
    assert_eq!(rules.market_lot_size.max_qty, dec!(5000));
    assert_eq!(rules.min_notional, dec!(5));
    assert_eq!(rules.percent_price.multiplier_up, dec!(1.05));
    assert_eq!(rules.percent_price.multiplier_decimal, 4);
    assert_eq!(rules.max_num_orders, 200);
    assert!(rules.is_trading());
    assert_eq!(info.rate_limits.len(), 3);
}

#[test]
fn a_symbol_without_lot_size_is_refused_with_the_field_named() {
    let mut info: wire::ExchangeInfo = serde_json::from_str(SOL_EXCHANGE_INFO).unwrap();
    info.symbols[0]
        .filters
        .retain(|f| !matches!(f, wire::Filter::LotSize { .. }));
    let err = symbol_rules(&info.symbols[0]).unwrap_err();
    assert!(err.msg.contains("SOLUSDT"), "{}", err.msg);
    assert!(err.msg.contains("LOT_SIZE"), "{}", err.msg);
}

#[test]
fn a_trade_update_becomes_a_fill_then_the_order_report() {
    let ev = UserEvent::from_json(TRADE_UPDATE).unwrap();
    let out = account_events(&ev).unwrap();
    assert_eq!(out.len(), 2);
    let AccountEvent::Fill(fill) = &out[0] else {
        panic!("first event should be the fill: {out:?}");
    };
    assert_eq!(fill.trade_id, 5032913);
    assert_eq!(fill.quantity.get(), dec!(5000));
    assert_eq!(fill.price.get(), dec!(187.512));
    assert_eq!(fill.commission, dec!(0.46878));
    assert_eq!(fill.realized_pnl, dec!(-12.5));
    assert_eq!(
        fill.client_order_id.as_ref().unwrap().as_str(),
        "sl-close-1"
    );
    let AccountEvent::Order(order) = &out[1] else {
        panic!("second event should be the order: {out:?}");
    };
    assert_eq!(order.status, OrderStatus::Filled);
    assert!(order.reduce_only);
    assert_eq!(order.executed_qty.get(), dec!(5000));
}

#[test]
fn a_new_order_update_carries_no_fill() {
    let raw = TRADE_UPDATE
        .replace(r#""x":"TRADE""#, r#""x":"NEW""#)
        .replace(r#""X":"FILLED""#, r#""X":"NEW""#)
        .replace(r#""t":5032913"#, r#""t":0"#);
    let ev = UserEvent::from_json(&raw).unwrap();
    let out = account_events(&ev).unwrap();
    assert!(matches!(out.as_slice(), [AccountEvent::Order(o)] if o.status == OrderStatus::New));
}

#[test]
fn account_update_gives_signed_positions_and_balances() {
    let raw = r#"{"e":"ACCOUNT_UPDATE","T":1731926580520,"E":1731926580521,"a":{"B":[{"a":"USDT","wb":"1000.5","cw":"990.1","bc":"0"}],
      "P":[{"s":"SOLUSDT","pa":"-8486","ep":"187.5","cr":"0","up":"-3.2","mt":"cross","iw":"0","ps":"BOTH","ma":"USDT","bep":"187.6"}],"m":"ORDER"}}"#;
    let ev = UserEvent::from_json(raw).unwrap();
    let out = account_events(&ev).unwrap();
    assert!(matches!(&out[0], AccountEvent::Balances(b) if b[0].wallet_balance == dec!(1000.5)));
    let AccountEvent::Positions { positions, .. } = &out[1] else {
        panic!("expected positions: {out:?}");
    };
    assert_eq!(positions[0].amount, dec!(-8486));
    assert_eq!(positions[0].position_side, PositionSide::Both);
}

#[test]
fn unknown_and_lite_events_decode_to_nothing() {
    let raw = r#"{"e":"TRADE_LITE","E":1,"T":1,"s":"SOLUSDT","q":"1","p":"0","m":false,"c":"x","S":"BUY","L":"1","l":"1","t":1,"i":1}"#;
    let ev = UserEvent::from_json(raw).unwrap();
    assert!(account_events(&ev).unwrap().is_empty());
}

#[test]
fn an_unknown_order_status_is_an_error_naming_the_field() {
    let raw = TRADE_UPDATE.replace(r#""X":"FILLED""#, r#""X":"WEIRD""#);
    let ev = UserEvent::from_json(&raw).unwrap();
    let err = account_events(&ev).unwrap_err();
    assert!(err.msg.contains("status"), "{}", err.msg);
    assert_eq!(err.class, ErrorClass::Fatal);
}

#[test]
fn trading_status_reports_locked_symbols_and_account() {
    let raw = r#"{"indicators":{"BTCUSDT":[{"isLocked":true,"plannedRecoverTime":1545741270000,"indicator":"UFR","value":0.05,"triggerValue":0.995}],
       "ACCOUNT":[{"isLocked":false,"plannedRecoverTime":0,"indicator":"TMV","value":10,"triggerValue":1}]},"updateTime":1545741270000}"#;
    let s: wire::ApiTradingStatus = serde_json::from_str(raw).unwrap();
    let t = trading_status(&s).unwrap();
    assert!(!t.account_locked);
    assert_eq!(t.locked_symbols, vec![Symbol::new("BTCUSDT").unwrap()]);
}

/// A POST /fapi/v1/order answer as the 2026 SDK schemas describe it (no `avgPrice`, no
/// `cumQuote`), and the same answer with the legacy fields.
const PLACED_2026: &str = r#"{"orderId":22542179,"symbol":"SOLUSDT","status":"FILLED","clientOrderId":"sl-1","price":"0.0000","origQty":"400.00","executedQty":"400.00","cumQty":"400.00","timeInForce":"GTC","type":"MARKET","reduceOnly":true,"closePosition":false,"side":"BUY","positionSide":"BOTH","stopPrice":"0.0000","workingType":"CONTRACT_PRICE","priceProtect":false,"origType":"MARKET","priceMatch":"NONE","selfTradePreventionMode":"EXPIRE_MAKER","goodTillDate":0,"updateTime":1731926580520}"#;

#[test]
fn an_order_answer_parses_with_and_without_avg_price_and_cum_quote() {
    let legacy = PLACED_2026.replace(
        r#""price":"0.0000","#,
        r#""price":"0.0000","avgPrice":"180.1234000","cumQuote":"72049.36000","#,
    );
    let new: wire::Order = serde_json::from_str(PLACED_2026).unwrap();
    let old: wire::Order = serde_json::from_str(&legacy).unwrap();
    let (new, old) = (order_report(&new).unwrap(), order_report(&old).unwrap());
    assert_eq!(new.avg_price, Decimal::ZERO);
    assert_eq!(old.avg_price, dec!(180.1234));
    assert_eq!(
        OrderReport {
            avg_price: Decimal::ZERO,
            ..old.clone()
        },
        new,
        "nothing but the optional average differs"
    );
    assert_eq!(new.executed_qty.get(), dec!(400));
    assert_eq!(new.status, crate::domain::OrderStatus::Filled);
}

/// The TRADE sample turned into an expiry of its remainder: `x`/`X` and `er` replaced,
/// no trade in it. `er` None drops the key, as a venue before 2025-10-23 sends it.
fn expiry_update(status: &str, er: Option<&str>) -> UserEvent {
    let json = TRADE_UPDATE
        .replace(r#""x":"TRADE""#, r#""x":"EXPIRED""#)
        .replace(r#""X":"FILLED""#, &format!(r#""X":"{status}""#))
        .replace(r#""t":5032913"#, r#""t":0"#)
        .replace(r#""l":"5000""#, r#""l":"0""#)
        .replace(r#""z":"5000""#, r#""z":"3000""#);
    let json = match er {
        Some(er) => json.replace(r#""er":"0""#, &format!(r#""er":{er}"#)),
        None => json.replace(r#","er":"0""#, ""),
    };
    UserEvent::from_json(&json).unwrap()
}

fn only_order(ev: &UserEvent) -> OrderReport {
    let out = account_events(ev).unwrap();
    match out.as_slice() {
        [AccountEvent::Order(o)] => o.clone(),
        other => panic!("an expiry is an order update and never a fill: {other:?}"),
    }
}

#[test]
fn every_expire_reason_on_the_wire_is_read_onto_the_order() {
    use crate::domain::ExpireReason;
    for (raw, want) in [
        (r#""1""#, ExpireReason::SelfTradePrevention),
        (r#""2""#, ExpireReason::IocRemainder),
        (r#""3""#, ExpireReason::IocAndSelfTradePrevention),
        (r#""4""#, ExpireReason::ReduceOnlyKnockedOut),
        (r#""5""#, ExpireReason::Liquidation),
        (r#""6""#, ExpireReason::GteCondition),
        (r#""7""#, ExpireReason::Delisted),
        (r#""8""#, ExpireReason::StopTriggered),
        (r#""9""#, ExpireReason::MarketRemainder),
        ("9", ExpireReason::MarketRemainder),
        (r#""12""#, ExpireReason::Other(12)),
    ] {
        let order = only_order(&expiry_update("EXPIRED", Some(raw)));
        assert_eq!(order.expire_reason, Some(want), "er={raw}");
        assert_eq!(order.status, OrderStatus::Expired);
        assert_eq!(order.executed_qty.get(), dec!(3000));
    }
}

#[test]
fn an_update_without_er_or_with_er_zero_has_no_expire_reason() {
    assert_eq!(
        only_order(&expiry_update("EXPIRED", None)).expire_reason,
        None
    );
    assert_eq!(
        only_order(&expiry_update("EXPIRED", Some(r#""0""#))).expire_reason,
        None
    );
    let ev = UserEvent::from_json(TRADE_UPDATE).unwrap();
    let out = account_events(&ev).unwrap();
    let AccountEvent::Order(filled) = &out[1] else {
        panic!("{out:?}");
    };
    assert_eq!(filled.expire_reason, None);
}

#[test]
fn expired_in_match_is_an_stp_expiry_and_never_a_fill_with_or_without_er() {
    use crate::domain::ExpireReason;
    for er in [None, Some(r#""1""#)] {
        let order = only_order(&expiry_update("EXPIRED_IN_MATCH", er));
        assert_eq!(order.status, OrderStatus::ExpiredInMatch);
        assert_eq!(order.expire_reason, Some(ExpireReason::SelfTradePrevention));
    }
}

#[test]
fn an_unreadable_expire_reason_is_refused_naming_the_field() {
    let err = account_events(&expiry_update("EXPIRED", Some(r#""soon""#))).unwrap_err();
    assert!(err.msg.contains("o.er"), "{}", err.msg);
}
