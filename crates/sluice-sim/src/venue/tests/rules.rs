//! Every placement rule provoked with Binance's exact code and message.

use super::*;
use crate::venue::NewOrder;

#[test]
fn an_unknown_symbol_is_rejected_with_1121() {
    let mut v = venue();
    assert_reject(
        place(&mut v, market("FOOUSDT", "BUY", "1")),
        -1121,
        "Invalid symbol.",
    );
}

#[test]
fn bad_enums_are_rejected_with_their_codes() {
    let mut v = venue();
    let bad_side = NewOrder {
        side: "HOLD".into(),
        ..market("BTCUSDT", "BUY", "0.01")
    };
    assert_reject(place(&mut v, bad_side), -1117, "Invalid side.");
    let bad_type = NewOrder {
        order_type: "ICEBERG".into(),
        ..market("BTCUSDT", "BUY", "0.01")
    };
    assert_reject(place(&mut v, bad_type), -1116, "Invalid orderType.");
    let bad_tif = limit("BTCUSDT", "BUY", "0.01", "64000", "DAY");
    assert_reject(place(&mut v, bad_tif), -1115, "Invalid timeInForce.");
}

#[test]
fn conditional_order_types_are_sent_to_the_algo_service() {
    let mut v = venue();
    let stop = NewOrder {
        order_type: "STOP_MARKET".into(),
        ..market("BTCUSDT", "SELL", "0.01")
    };
    assert_reject(
        place(&mut v, stop),
        -4120,
        "Order type not supported for this endpoint. Please use the Algo Order API endpoints instead.",
    );
}

#[test]
fn missing_and_unneeded_parameters_are_named() {
    let mut v = venue();
    let no_qty = NewOrder {
        quantity: None,
        quantity_raw: None,
        ..market("BTCUSDT", "BUY", "1")
    };
    assert_reject(
        place(&mut v, no_qty),
        -1102,
        "Mandatory parameter 'quantity' was not sent, was empty/null, or malformed.",
    );
    let no_price = NewOrder {
        price: None,
        ..limit("BTCUSDT", "BUY", "0.01", "64000", "GTC")
    };
    assert_reject(
        place(&mut v, no_price),
        -1102,
        "Mandatory parameter 'price' was not sent, was empty/null, or malformed.",
    );
    let no_tif = NewOrder {
        time_in_force: None,
        ..limit("BTCUSDT", "BUY", "0.01", "64000", "GTC")
    };
    assert_reject(
        place(&mut v, no_tif),
        -1102,
        "Mandatory parameter 'timeInForce' was not sent, was empty/null, or malformed.",
    );
    let priced_market = NewOrder {
        price: Some(d("64000")),
        ..market("BTCUSDT", "BUY", "0.01")
    };
    assert_reject(
        place(&mut v, priced_market),
        -1106,
        "Parameter 'price' sent when not required.",
    );
}

#[test]
fn too_many_decimals_is_a_precision_error() {
    let mut v = venue();
    let msg = "Precision is over the maximum defined for this asset.";
    assert_reject(
        place(&mut v, market("BTCUSDT", "BUY", "0.0015")),
        -1111,
        msg,
    );
    assert_reject(
        place(&mut v, limit("BTCUSDT", "BUY", "0.01", "64000.125", "GTC")),
        -1111,
        msg,
    );
}

#[test]
fn price_filter_bounds_and_tick_are_enforced() {
    let mut v = venue();
    let tick = limit("BTCUSDT", "BUY", "0.01", "64000.15", "GTC");
    assert_reject(
        place(&mut v, tick),
        -4014,
        "Price not increased by tick size.",
    );
    let low = limit("BTCUSDT", "BUY", "0.01", "500", "GTC");
    assert_reject(place(&mut v, low), -4013, "Price less than min price.");
    let high = limit("BTCUSDT", "SELL", "0.01", "5000000", "GTC");
    assert_reject(place(&mut v, high), -4002, "Price greater than max price.");
}

#[test]
fn lot_size_min_max_and_step_are_enforced() {
    let mut v = venue_with(
        symbols_with("BTCUSDT", |s| {
            s.lot_min_qty = d("0.01");
            s.lot_step = d("0.002");
        }),
        "100000",
        false,
    );
    let below = limit("BTCUSDT", "BUY", "0.005", "64000", "GTC");
    assert_reject(
        place(&mut v, below),
        -4004,
        "Quantity less than min quantity.",
    );
    let off_step = limit("BTCUSDT", "BUY", "0.013", "64000", "GTC");
    assert_reject(
        place(&mut v, off_step),
        -4023,
        "Qty not increased by step size.",
    );
    let zero = limit("BTCUSDT", "BUY", "0", "64000", "GTC");
    assert_reject(
        place(&mut v, zero),
        -4003,
        "Quantity less than or equal to zero.",
    );
    let above = limit("BTCUSDT", "BUY", "1001", "64000", "GTC");
    assert_reject(
        place(&mut v, above),
        -4005,
        "Quantity greater than max quantity.",
    );
}

#[test]
fn market_orders_are_capped_by_market_lot_size_not_lot_size() {
    let mut v = venue();
    // 121 BTC: inside LOT_SIZE (1000) but above MARKET_LOT_SIZE (120).
    assert_reject(
        place(&mut v, market("BTCUSDT", "BUY", "121")),
        -4005,
        "Quantity greater than max quantity.",
    );
}

#[test]
fn the_hidden_market_cap_rejects_what_exchange_info_allows() {
    // Seed 000: SOLUSDT step 0.01 (2025) and MARKET above 400 rejected.
    let symbols = symbols_with("SOLUSDT", |s| {
        s.quantity_precision = 2;
        (s.lot_min_qty, s.lot_step) = (d("0.01"), d("0.01"));
        (s.market_min_qty, s.market_step) = (d("0.01"), d("0.01"));
        s.hidden_market_max_qty = Some(d("400"));
    });
    let mut spec = account("1000000", false);
    spec.positions = vec![crate::venue::PositionSpec {
        symbol: "SOLUSDT".into(),
        position_side: "BOTH".into(),
        amount: d("-8486.84"),
        entry_price: d("180"),
    }];
    let mut v = Venue::new(1, symbols, vec![spec], T0);
    let close_all = reduce_only(market("SOLUSDT", "BUY", "8486.84"));
    assert_reject(
        place(&mut v, close_all),
        -4005,
        "Quantity greater than max quantity.",
    );
    let above_hidden = reduce_only(market("SOLUSDT", "BUY", "400.01"));
    assert_reject(
        place(&mut v, above_hidden),
        -4005,
        "Quantity greater than max quantity.",
    );
    let chunk = place(&mut v, reduce_only(market("SOLUSDT", "BUY", "400"))).expect("chunk fills");
    assert_eq!(chunk.executed_qty, d("400"));
    assert_eq!(position(&v, "SOLUSDT", "BOTH"), d("-8086.84"));
    let limit_chunk = reduce_only(limit("SOLUSDT", "BUY", "450", "181", "IOC"));
    assert!(
        place(&mut v, limit_chunk).is_ok(),
        "LIMIT is bounded by LOT_SIZE, not the MARKET cap"
    );
}

#[test]
fn percent_price_bounds_limit_prices_around_the_mark() {
    let mut v = venue();
    let high = limit("BTCUSDT", "BUY", "0.01", "68250.10", "GTC");
    assert_reject(
        place(&mut v, high),
        -4016,
        "Price is higher than mark price multiplier cap.",
    );
    let low = limit("BTCUSDT", "SELL", "0.01", "61749.90", "GTC");
    assert_reject(
        place(&mut v, low),
        -4024,
        "Price is lower than mark price multiplier floor.",
    );
    assert!(place(&mut v, limit("BTCUSDT", "BUY", "0.01", "68250.00", "GTC")).is_ok());
}

#[test]
fn a_market_order_is_rejected_when_the_best_price_breaks_percent_price() {
    let mut v = venue_with(
        symbols_with("BTCUSDT", |s| s.book_offset = d("0.06")),
        "100000",
        false,
    );
    assert_reject(
        place(&mut v, market("BTCUSDT", "BUY", "0.01")),
        -4131,
        "The counterparty's best price does not meet the PERCENT_PRICE filter limit",
    );
}

#[test]
fn min_notional_names_the_symbols_minimum_and_exempts_reduce_only() {
    let mut v = venue();
    assert_reject(
        place(&mut v, market("BTCUSDT", "BUY", "0.001")),
        -4164,
        "Order's notional must be no smaller than 100 (unless you choose reduce only)",
    );
    assert_reject(
        place(&mut v, limit("ETHUSDT", "BUY", "0.005", "3500", "GTC")),
        -4164,
        "Order's notional must be no smaller than 20 (unless you choose reduce only)",
    );
    place(&mut v, market("BTCUSDT", "BUY", "0.002")).expect("opens");
    let close = place(&mut v, reduce_only(market("BTCUSDT", "SELL", "0.001"))).expect("exempt");
    assert_eq!(close.executed_qty, d("0.001"));
}

#[test]
fn max_num_orders_counts_open_orders_per_symbol() {
    let mut v = venue_with(
        symbols_with("BTCUSDT", |s| s.max_num_orders = 2),
        "100000",
        false,
    );
    for price in ["60000", "60000.10"] {
        place(&mut v, limit("BTCUSDT", "BUY", "0.01", price, "GTC")).expect("rests");
    }
    let third = limit("BTCUSDT", "BUY", "0.01", "60000.20", "GTC");
    assert_reject(place(&mut v, third), -2025, "Reach max open order limit.");
    assert!(place(&mut v, limit("ETHUSDT", "BUY", "0.01", "3000", "GTC")).is_ok());
}

#[test]
fn client_order_ids_must_match_the_format_and_be_unique_among_open_orders() {
    let mut v = venue();
    let with_id = |id: &str| NewOrder {
        client_order_id: Some(id.to_owned()),
        ..limit("BTCUSDT", "BUY", "0.01", "60000", "GTC")
    };
    assert_reject(
        place(&mut v, with_id("bad id!")),
        -4015,
        "Client order id is not valid.",
    );
    assert_reject(
        place(&mut v, with_id(&"a".repeat(37))),
        -4015,
        "Client order id is not valid.",
    );
    let first = place(&mut v, with_id("sluice:1/a_b-c.d")).expect("valid id");
    assert_reject(
        place(&mut v, with_id("sluice:1/a_b-c.d")),
        -4116,
        "ClientOrderId is duplicated.",
    );
    v.cancel_order(ACC, "BTCUSDT", Some(first.order_id), None, T0)
        .expect("cancels");
    assert!(
        place(&mut v, with_id("sluice:1/a_b-c.d")).is_ok(),
        "reusable once closed"
    );
}

#[test]
fn position_side_must_match_the_accounts_mode() {
    let msg = "Order's position side does not match user's setting.";
    let mut one_way = venue();
    assert_reject(
        place(&mut one_way, leg(market("BTCUSDT", "BUY", "0.01"), "LONG")),
        -4061,
        msg,
    );
    let mut hedge = hedge_venue();
    assert_reject(
        place(&mut hedge, market("BTCUSDT", "BUY", "0.01")),
        -4061,
        msg,
    );
    assert_reject(
        place(&mut hedge, leg(market("BTCUSDT", "BUY", "0.01"), "BOTH")),
        -4061,
        msg,
    );
    let ro = reduce_only(leg(market("BTCUSDT", "SELL", "0.01"), "LONG"));
    assert_reject(
        place(&mut hedge, ro),
        -1106,
        "Parameter 'reduceonly' sent when not required.",
    );
}

#[test]
fn margin_above_the_available_balance_is_rejected() {
    let mut v = venue_with(SymbolSpec::mainnet_defaults(), "100", false);
    // 0.1 BTC × 65000 / 20 = 325 USDT of initial margin > 100.
    assert_reject(
        place(&mut v, market("BTCUSDT", "BUY", "0.1")),
        -2019,
        "Margin is insufficient.",
    );
    let resting = limit("BTCUSDT", "BUY", "0.1", "64000", "GTC");
    assert_reject(place(&mut v, resting), -2019, "Margin is insufficient.");
    assert!(
        place(&mut v, market("BTCUSDT", "BUY", "0.03")).is_ok(),
        "97.5 USDT fits"
    );
}

#[test]
fn a_position_beyond_the_leverage_bracket_is_rejected() {
    let mut v = venue();
    let lev = v
        .set_leverage(ACC, "BTCUSDT", 125, T0)
        .expect("125x is allowed");
    assert_eq!(lev.max_notional_value, d("50000"));
    assert_reject(
        place(&mut v, market("BTCUSDT", "BUY", "1")),
        -2027,
        "Exceeded the maximum allowable position at current leverage.",
    );
    assert_reject(
        v.set_leverage(ACC, "BTCUSDT", 126, T0),
        -4028,
        "Leverage 126 is not valid",
    );
    assert_reject(
        v.set_leverage(ACC, "SOLUSDT", 101, T0),
        -4028,
        "Leverage 101 is not valid",
    );
}

#[test]
fn fok_and_gtx_rejections_leave_no_order_behind() {
    let mut v = venue();
    // Asks: 5 BTC per level from 65000.1, one level per 1.0.
    let fok = limit("BTCUSDT", "BUY", "11", "65001.10", "FOK");
    assert_reject(
        place(&mut v, fok),
        -5021,
        "Due to the order could not be filled immediately, the FOK order has been rejected. The order will not be recorded in the order history",
    );
    let gtx = limit("BTCUSDT", "BUY", "0.01", "65000.10", "GTX");
    assert_reject(
        place(&mut v, gtx),
        -5022,
        "Due to the order could not be executed as maker, the Post Only order will be rejected. The order will not be recorded in the order history",
    );
    assert!(v.open_orders(ACC, None).is_empty());
    assert!(v.drain_events().is_empty(), "rejections emit nothing");
    assert_eq!(v.snapshot().orders_total, 0);
}

#[test]
fn queries_and_cancels_of_unknown_orders_use_2013_and_2011() {
    let mut v = venue();
    assert_reject(
        v.order(ACC, "BTCUSDT", Some(42), None),
        -2013,
        "Order does not exist.",
    );
    assert_reject(
        v.cancel_order(ACC, "BTCUSDT", Some(42), None, T0),
        -2011,
        "Unknown order sent.",
    );
    let filled = place(&mut v, market("BTCUSDT", "BUY", "0.01")).expect("fills");
    assert_reject(
        v.cancel_order(ACC, "BTCUSDT", Some(filled.order_id), None, T0),
        -2011,
        "Unknown order sent.",
    );
    assert_reject(
        v.order(ACC, "BTCUSDT", None, None),
        -1102,
        "Mandatory parameter 'orderId' was not sent, was empty/null, or malformed.",
    );
    let found = v
        .order(ACC, "BTCUSDT", None, Some(&filled.client_order_id))
        .expect("by client id");
    assert_eq!(found.order_id, filled.order_id);
}

#[test]
fn position_mode_changes_are_refused_with_orders_or_positions() {
    let mut v = venue();
    assert_reject(
        v.set_dual_side(ACC, false),
        -4059,
        "No need to change position side.",
    );
    let resting = place(&mut v, limit("BTCUSDT", "BUY", "0.01", "60000", "GTC")).expect("rests");
    assert_reject(
        v.set_dual_side(ACC, true),
        -4067,
        "Position side cannot be changed if there exists open orders.",
    );
    v.cancel_order(ACC, "BTCUSDT", Some(resting.order_id), None, T0)
        .expect("cancels");
    place(&mut v, market("BTCUSDT", "BUY", "0.01")).expect("opens");
    assert_reject(
        v.set_dual_side(ACC, true),
        -4068,
        "Position side cannot be changed if there exists position.",
    );
    place(&mut v, reduce_only(market("BTCUSDT", "SELL", "0.01"))).expect("closes");
    v.set_dual_side(ACC, true).expect("flat and no orders");
    assert!(v.account(ACC).expect("exists").dual_side_position);
}

#[test]
fn a_revoked_key_no_longer_finds_its_account() {
    let mut v = venue();
    let hmac = |s: &str| crate::keys::KeyAuth::Hmac(s.into());
    assert_eq!(v.account_by_key("key-a"), Some((ACC, &hmac("secret-a"))));
    assert!(v.revoke_key("key-a"));
    assert_eq!(v.account_by_key("key-a"), None);
    assert!(v.add_key(ACC, "key-b", hmac("secret-b")));
    assert_eq!(v.account_by_key("key-b"), Some((ACC, &hmac("secret-b"))));
    assert!(!v.add_key(9, "key-c", hmac("secret-c")));
}

#[test]
fn the_test_endpoint_validates_without_recording() {
    let mut v = venue();
    assert_reject(
        v.place_order(ACC, market("BTCUSDT", "BUY", "0.001"), true, T0),
        -4164,
        "Order's notional must be no smaller than 100 (unless you choose reduce only)",
    );
    let ok = v
        .place_order(ACC, market("BTCUSDT", "BUY", "0.01"), true, T0)
        .expect("valid");
    assert_eq!(ok.executed_qty, Decimal::ZERO);
    assert_eq!(position(&v, "BTCUSDT", "BOTH"), Decimal::ZERO);
    assert_eq!(v.snapshot().orders_total, 0);
}

#[test]
fn a_plain_close_needs_no_margin_even_when_the_account_is_underwater() {
    let mut spec = account("10", false);
    spec.positions = vec![crate::venue::PositionSpec {
        symbol: "BTCUSDT".into(),
        position_side: "BOTH".into(),
        amount: d("2"),
        entry_price: d("70000"),
    }];
    // 2 BTC long from 70000 at a 65000 mark: −10000 unrealized on 10 USDT.
    let mut v = Venue::new(5, SymbolSpec::mainnet_defaults(), vec![spec], T0);
    assert!(v.account(ACC).expect("account").available_balance < Decimal::ZERO);
    assert_reject(
        place(&mut v, market("BTCUSDT", "BUY", "0.01")),
        -2019,
        "Margin is insufficient.",
    );
    let close =
        place(&mut v, market("BTCUSDT", "SELL", "1")).expect("a close is never margin-checked");
    assert_eq!(close.executed_qty, d("1"));
    assert_eq!(position(&v, "BTCUSDT", "BOTH"), d("1"));
}
