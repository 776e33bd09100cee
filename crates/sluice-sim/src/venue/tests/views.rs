//! Read views: account margin figures, position rows per mode, paging of
//! order/trade history, market data, snapshot, secret redaction.

use super::*;
use crate::venue::types::OrderStatus;
use crate::venue::{PositionSpec, UserEvent};

#[test]
fn account_margin_figures_follow_positions_and_resting_orders() {
    let mut v = venue_with(SymbolSpec::mainnet_defaults(), "10000", false);
    place(&mut v, market("BTCUSDT", "BUY", "0.1")).expect("opens at 65000.1");
    place(&mut v, limit("ETHUSDT", "BUY", "1", "3000", "GTC")).expect("rests");
    let acc = v.account(ACC).expect("account");
    // Position IM at the mark: 0.1 × 65000 / 20; order IM: 1 × 3000 / 20.
    assert_eq!(acc.total_position_initial_margin, d("325"));
    assert_eq!(acc.total_open_order_initial_margin, d("150"));
    // Unrealized at the mark: (65000 − 65000.1) × 0.1; fee 3.2500050.
    assert_eq!(acc.total_unrealized_profit, d("-0.01"));
    assert_eq!(acc.total_wallet_balance, d("9996.749995"));
    assert_eq!(
        acc.available_balance,
        d("9996.749995") - d("0.01") - d("325") - d("150")
    );
    let eth = acc
        .positions
        .iter()
        .find(|p| p.symbol == "ETHUSDT")
        .expect("row");
    assert_eq!(
        (eth.bid_notional, eth.position_amt),
        (d("3000"), Decimal::ZERO)
    );
    assert!(eth.active, "open orders make the row active");
    assert_eq!(acc.positions.len(), 5, "one BOTH row per symbol");
}

#[test]
fn hedge_accounts_show_long_and_short_rows_per_symbol() {
    let v = hedge_venue();
    let acc = v.account(ACC).expect("account");
    assert!(acc.dual_side_position);
    assert_eq!(acc.positions.len(), 10);
    assert!(acc
        .positions
        .iter()
        .all(|p| p.position_side.as_str() != "BOTH"));
}

#[test]
fn starting_positions_from_the_scenario_are_held() {
    let mut spec = account("1000", false);
    spec.positions = vec![PositionSpec {
        symbol: "ETHUSDT".into(),
        position_side: "BOTH".into(),
        amount: d("-2"),
        entry_price: d("3600"),
    }];
    let v = Venue::new(3, SymbolSpec::mainnet_defaults(), vec![spec], T0);
    let acc = v.account(ACC).expect("account");
    let eth = acc
        .positions
        .iter()
        .find(|p| p.symbol == "ETHUSDT")
        .expect("row");
    assert_eq!((eth.position_amt, eth.entry_price), (d("-2"), d("3600")));
    assert_eq!(
        eth.unrealized_profit,
        d("200"),
        "short 2 from 3600, mark 3500"
    );
}

#[test]
fn history_pages_return_the_most_recent_unless_given_a_start() {
    let mut v = venue();
    let ids: Vec<i64> = (0..5)
        .map(|i| {
            let price = format!("{}", 60000 + i);
            place(&mut v, limit("BTCUSDT", "BUY", "0.01", &price, "GTC"))
                .expect("rests")
                .order_id
        })
        .collect();
    let recent: Vec<i64> = v
        .all_orders(ACC, "BTCUSDT", None, None, None, 2)
        .iter()
        .map(|o| o.order_id)
        .collect();
    assert_eq!(recent, ids[3..]);
    let from: Vec<i64> = v
        .all_orders(ACC, "BTCUSDT", Some(ids[1]), None, None, 2)
        .iter()
        .map(|o| o.order_id)
        .collect();
    assert_eq!(from, ids[1..3]);
    assert!(v
        .all_orders(ACC, "ETHUSDT", None, None, None, 10)
        .is_empty());
}

#[test]
fn a_market_walk_stops_at_the_percent_price_bound_and_expires_the_rest() {
    // Book centred 4.99 % above the mark: only the first levels are inside 1.05 × mark.
    let mut v = venue_with(
        symbols_with("BTCUSDT", |s| s.book_offset = d("0.0499")),
        "1000000",
        false,
    );
    let bound = d("65000") * d("1.05");
    let o = place(&mut v, market("BTCUSDT", "BUY", "100")).expect("accepted");
    assert_eq!(o.status, OrderStatus::Expired);
    assert!(o.executed_qty > Decimal::ZERO && o.executed_qty < d("100"));
    let trades = v.user_trades(ACC, "BTCUSDT", None, None, None, 100);
    assert!(trades.iter().all(|t| t.price <= bound));
    let last = v.drain_events().pop();
    let Some((_, UserEvent::OrderTradeUpdate(u))) = last else {
        panic!("EXPIRED last")
    };
    assert_eq!(u.expiry_reason, 9);
}

#[test]
fn a_symbol_not_trading_and_an_unknown_position_side_are_rejected() {
    let mut v = venue_with(
        symbols_with("ETHUSDT", |s| s.status = "SETTLING".into()),
        "1000",
        false,
    );
    assert_reject(
        place(&mut v, market("ETHUSDT", "BUY", "0.01")),
        -1122,
        "Invalid symbol status.",
    );
    let odd = leg(market("BTCUSDT", "BUY", "0.01"), "MIDDLE");
    assert_reject(place(&mut v, odd), -4060, "Invalid position side.");
}

#[test]
fn market_data_views_show_the_book_around_the_mark() {
    let v = venue();
    let bt = v.book_ticker("DOGEUSDT").expect("symbol");
    assert!(bt.bid_price < d("0.16") && d("0.16") < bt.ask_price);
    let depth = v.depth("DOGEUSDT", 5).expect("symbol");
    assert_eq!((depth.bids.len(), depth.asks.len()), (5, 5));
    assert!(
        depth.asks.windows(2).all(|w| w[0].0 < w[1].0),
        "asks ascend"
    );
    assert!(
        depth.bids.windows(2).all(|w| w[0].0 > w[1].0),
        "bids descend"
    );
    let mark = v.mark("DOGEUSDT").expect("symbol");
    assert_eq!(mark.mark_price, d("0.16"));
    assert!(mark.next_funding_time > T0);
    assert!(v.mark("FOOUSDT").is_none());
}

#[test]
fn secrets_stay_out_of_debug_and_snapshots() {
    let spec = account("1", false);
    assert!(!format!("{spec:?}").contains("secret-a"));
    let v = venue();
    let snapshot = serde_json::to_string(&v.snapshot()).expect("serialises");
    assert!(snapshot.contains("key-a"));
    assert!(!snapshot.contains("secret-a"));
}

#[test]
fn absurd_marks_are_refused_not_panicked_on() {
    let mut v = venue();
    assert_reject(
        v.set_mark("BTCUSDT", d("0"), T0),
        -4001,
        "Price less than 0.",
    );
    assert_reject(
        v.set_mark("BTCUSDT", d("4529765"), T0),
        -4002,
        "Price greater than max price.",
    );
}

#[test]
fn huge_quantities_with_disabled_bounds_saturate_instead_of_overflowing() {
    let symbols = symbols_with("BTCUSDT", |s| {
        s.max_price = Decimal::ZERO;
        s.lot_max_qty = d("100000000000000000000");
    });
    let mut v = venue_with(symbols, "1000", false);
    let huge = limit(
        "BTCUSDT",
        "BUY",
        "99999999999999999999",
        "99999999999999999999",
        "GTC",
    );
    assert_reject(
        place(&mut v, huge),
        -4016,
        "Price is higher than mark price multiplier cap.",
    );
    let huge_qty = limit("BTCUSDT", "BUY", "99999999999999999999", "65000", "GTC");
    assert_reject(
        place(&mut v, huge_qty),
        -2027,
        "Exceeded the maximum allowable position at current leverage.",
    );
}
