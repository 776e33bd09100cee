//! Book walk, position/PnL/commission arithmetic, time in force, resting
//! orders filled when the mark moves, the seeded random walk.

use rust_decimal::Decimal;

use super::*;
use crate::venue::types::OrderStatus;
use crate::venue::TradeView;

fn trades(v: &Venue, symbol: &str) -> Vec<TradeView> {
    v.user_trades(ACC, symbol, None, None, None, 1000)
}

#[test]
fn a_large_market_order_walks_the_book_and_its_average_shows_it() {
    let mut v = venue();
    let best_ask = v.book_ticker("BTCUSDT").expect("book").ask_price;
    // Asks hold 5 BTC per level, one level per 1.0 USDT from 65000.1.
    let o = place(&mut v, market("BTCUSDT", "BUY", "12")).expect("fills");
    assert_eq!(o.status, OrderStatus::Filled);
    let fills: Vec<(Decimal, Decimal)> = trades(&v, "BTCUSDT")
        .iter()
        .map(|t| (t.price, t.qty))
        .collect();
    assert_eq!(
        fills,
        vec![
            (d("65000.1"), d("5")),
            (d("65001.1"), d("5")),
            (d("65002.1"), d("2"))
        ]
    );
    assert_eq!(o.avg_price, d("65000.85"));
    assert!(o.avg_price > best_ask);
    let next_ask = v.book_ticker("BTCUSDT").expect("book");
    assert_eq!(
        (next_ask.ask_price, next_ask.ask_qty),
        (d("65002.1"), d("3")),
        "depth consumed"
    );
}

#[test]
fn consumed_depth_refills_over_time() {
    let mut v = venue();
    place(&mut v, market("BTCUSDT", "BUY", "5")).expect("fills");
    assert_eq!(
        v.book_ticker("BTCUSDT").expect("book").ask_price,
        d("65001.1")
    );
    v.tick(T0 + 500);
    let half = v.depth("BTCUSDT", 5).expect("book");
    assert_eq!(
        half.asks[0],
        (d("65000.1"), d("2.5")),
        "half refilled after half the period"
    );
    v.tick(T0 + 1_000);
    assert_eq!(v.book_ticker("BTCUSDT").expect("book").ask_qty, d("5"));
}

#[test]
fn a_part_refilled_level_shows_and_fills_whole_lots_only() {
    // SOLUSDT: step 1, 500 per level, refilled over a second. After 123 ms a consumed
    // level holds 61.5 raw: the book shows 61 and a taker gets 61, a step multiple,
    // so a trade and its order's executedQty can never round apart.
    let mut v = venue();
    place(&mut v, market("SOLUSDT", "BUY", "500")).expect("consumes the best ask");
    v.tick(T0 + 123);
    let ask = v.depth("SOLUSDT", 1).expect("book").asks[0];
    assert_eq!(ask.1, d("61"));
    let o = place(&mut v, market("SOLUSDT", "BUY", "61")).expect("fills");
    assert_eq!(o.executed_qty, d("61"));
    assert_eq!(o.executed_qty % d("1"), Decimal::ZERO);
}

#[test]
fn entry_price_realized_pnl_and_commission_follow_binance_arithmetic() {
    let mut v = venue_with(SymbolSpec::mainnet_defaults(), "10000", false);
    // SOLUSDT: tick 0.001, levels 0.01 apart, 500 SOL each; mark 180.
    place(&mut v, market("SOLUSDT", "BUY", "10")).expect("open at 180.001");
    v.set_mark("SOLUSDT", d("190"), T0).expect("mark");
    place(&mut v, market("SOLUSDT", "BUY", "10")).expect("add at 190.001");
    let acc = v.account(ACC).expect("account");
    let p = acc
        .positions
        .iter()
        .find(|p| p.symbol == "SOLUSDT")
        .expect("row");
    assert_eq!(
        (p.position_amt, p.entry_price),
        (d("20"), d("185.001")),
        "weighted average"
    );

    v.set_mark("SOLUSDT", d("200"), T0).expect("mark");
    place(&mut v, market("SOLUSDT", "SELL", "5")).expect("reduce at 199.999");
    v.set_mark("SOLUSDT", d("170"), T0).expect("mark");
    place(&mut v, market("SOLUSDT", "SELL", "20")).expect("flip at 169.999");

    let t = trades(&v, "SOLUSDT");
    let realized: Vec<Decimal> = t.iter().map(|t| t.realized_pnl).collect();
    assert_eq!(realized, vec![d("0"), d("0"), d("74.99"), d("-225.03")]);
    let fees: Vec<Decimal> = t.iter().map(|t| t.commission).collect();
    assert_eq!(
        fees,
        vec![d("0.900005"), d("0.950005"), d("0.4999975"), d("1.69999")]
    );
    assert_eq!(position(&v, "SOLUSDT", "BOTH"), d("-5"));
    let acc = v.account(ACC).expect("account");
    let p = acc
        .positions
        .iter()
        .find(|p| p.symbol == "SOLUSDT")
        .expect("row");
    assert_eq!(
        p.entry_price,
        d("169.999"),
        "a flip opens at the fill price"
    );
    // 10000 + 74.99 − 225.03 − 4.0499975
    assert_eq!(acc.total_wallet_balance, d("9845.9100025"));
}

#[test]
fn a_maker_fill_pays_the_maker_rate() {
    let mut v = venue();
    let o = place(&mut v, limit("BTCUSDT", "BUY", "0.01", "64000", "GTC")).expect("rests");
    assert_eq!(o.status, OrderStatus::New);
    v.tick(T0 + 1);
    assert!(
        trades(&v, "BTCUSDT").is_empty(),
        "the book has not reached it"
    );
    v.set_mark("BTCUSDT", d("63990"), T0 + 2).expect("mark");
    let t = trades(&v, "BTCUSDT");
    assert_eq!(t.len(), 1);
    assert!(t[0].maker);
    assert_eq!((t[0].price, t[0].qty), (d("64000"), d("0.01")));
    assert_eq!(t[0].commission, d("0.128"), "640 × 0.02 %");
    let filled = v
        .order(ACC, "BTCUSDT", Some(o.order_id), None)
        .expect("known");
    assert_eq!(filled.status, OrderStatus::Filled);
    assert_eq!(filled.update_time, T0 + 2);
}

#[test]
fn a_crossing_gtc_limit_takes_what_crosses_and_rests_the_rest() {
    let mut v = venue();
    let o = place(&mut v, limit("BTCUSDT", "BUY", "12", "65001.10", "GTC")).expect("accepted");
    assert_eq!(o.status, OrderStatus::PartiallyFilled);
    assert_eq!(o.executed_qty, d("10"));
    assert_eq!(v.open_orders(ACC, Some("BTCUSDT")).len(), 1);
    v.tick(T0 + 1_000); // the book refills under the resting bid
    let o = v
        .order(ACC, "BTCUSDT", Some(o.order_id), None)
        .expect("known");
    assert_eq!((o.status, o.executed_qty), (OrderStatus::Filled, d("12")));
}

#[test]
fn an_ioc_limit_fills_what_it_can_and_expires_the_rest() {
    let mut v = venue();
    let o = place(&mut v, limit("BTCUSDT", "BUY", "12", "65001.10", "IOC")).expect("accepted");
    assert_eq!((o.status, o.executed_qty), (OrderStatus::Expired, d("10")));
    assert!(v.open_orders(ACC, None).is_empty());
}

#[test]
fn a_gtd_order_expires_at_its_date() {
    let mut v = venue();
    let o = NewOrder {
        good_till_date: Some(T0 + 700_000),
        ..limit("BTCUSDT", "BUY", "0.01", "60000", "GTD")
    };
    let too_soon = NewOrder {
        good_till_date: Some(T0 + 1_000),
        ..o.clone()
    };
    assert_reject(
        place(&mut v, too_soon),
        -5040,
        "goodTillDate timestamp must be greater than current time plus 600 seconds and smaller than 253402300799000",
    );
    let o = place(&mut v, o).expect("rests");
    v.tick(T0 + 699_999);
    assert_eq!(v.open_orders(ACC, None).len(), 1);
    v.tick(T0 + 700_000);
    let o = v
        .order(ACC, "BTCUSDT", Some(o.order_id), None)
        .expect("known");
    assert_eq!(o.status, OrderStatus::Expired);
}

#[test]
fn the_random_walk_is_deterministic_per_seed() {
    let walk = |seed: u64| {
        let symbols = symbols_with("BTCUSDT", |s| s.walk_step = d("0.001"));
        let mut v = Venue::new(seed, symbols, vec![account("1000", false)], T0);
        (1..=20)
            .map(|i| {
                v.tick(T0 + i * 1_000);
                v.mark("BTCUSDT").expect("mark").mark_price
            })
            .collect::<Vec<_>>()
    };
    let a = walk(11);
    assert_eq!(a, walk(11));
    assert_ne!(a, walk(12));
    assert!(a.windows(2).any(|w| w[0] != w[1]), "the mark moves");
    assert!(
        a.iter().all(|m| (*m % d("0.1")).is_zero()),
        "marks stay on the tick"
    );
}

#[test]
fn order_ids_increase_and_auto_client_ids_look_like_binances() {
    let mut v = venue();
    let a = place(&mut v, market("BTCUSDT", "BUY", "0.01")).expect("fills");
    let b = place(&mut v, market("ETHUSDT", "BUY", "0.01")).expect("fills");
    assert!(b.order_id > a.order_id);
    assert_eq!(a.client_order_id.len(), 22);
    assert!(a.client_order_id.chars().all(|c| c.is_ascii_alphanumeric()));
    assert_ne!(a.client_order_id, b.client_order_id);
}

#[test]
fn an_ack_response_shows_the_accepted_state_and_result_the_final_one() {
    let mut v = venue();
    let ack = NewOrder {
        resp_type_result: false,
        ..market("BTCUSDT", "BUY", "0.01")
    };
    let ack = place(&mut v, ack).expect("fills");
    assert_eq!(
        (ack.status, ack.executed_qty, ack.avg_price),
        (OrderStatus::New, d("0"), d("0"))
    );
    let now = v
        .order(ACC, "BTCUSDT", Some(ack.order_id), None)
        .expect("known");
    assert_eq!(
        (now.status, now.executed_qty),
        (OrderStatus::Filled, d("0.01"))
    );
    let result = place(&mut v, market("BTCUSDT", "BUY", "0.01")).expect("fills");
    assert_eq!(result.status, OrderStatus::Filled);
}
