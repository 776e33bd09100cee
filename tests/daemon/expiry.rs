//! Expiries and rejections end to end, through the real adapter and the simulator: the
//! exchange's expire reason (`er`) decides what happens to an unfilled remainder, every
//! order names its self-trade prevention mode, and a rejection re-planning cannot fix
//! ends the intent instead of looping.

use std::time::Duration;

use rust_decimal_macros::dec;
use serde_json::json;
use sluice::domain::{
    validate, ClientOrderId, Direction, ExpireReason, IntentState, OrderRequest, OrderType,
    PositionSide, Qty, Side, TimeInForce,
};
use sluice::exchange::Exchange;
use sluice::ledger::OrderState;
use sluice::router::ExecutorConfig;
use sluice_testkit::executor::*;
use sqlx::PgPool;

/// A backoff so long that a remainder re-planned "after the backoff" would not be sent
/// while the test runs: whatever is sent next was sent without waiting for it.
fn hour_long_backoff() -> ExecutorConfig {
    let mut cfg = fast_config();
    cfg.backoff.base = Duration::from_secs(3600);
    cfg.backoff.max = Duration::from_secs(3600);
    cfg
}

/// Poll the intent's orders until `done` holds for them (deadline 30 s).
async fn until_orders(
    d: &Daemon,
    id: sluice::ledger::IntentId,
    done: impl Fn(&[sluice::ledger::OrderRow]) -> bool,
) -> Vec<sluice::ledger::OrderRow> {
    until_ok(
        "the orders to get there",
        Duration::from_secs(30),
        || async {
            let orders = d.ledger.orders_of_intent(id).await.unwrap();
            if done(&orders) {
                Ok(orders)
            } else {
                Err(orders)
            }
        },
    )
    .await
}

#[sqlx::test(migrations = "./migrations")]
async fn a_market_chunk_that_expires_short_has_its_remainder_sent_at_once(pool: PgPool) {
    // Arrange: 10 SOLUSDT on the ask side, an hour of backoff.
    let s = scenario(
        "[[symbols]]\nname = \"SOLUSDT\"\nbook_levels = 1\nlevel_qty = \"10\"\n",
        "",
    );
    let d = start(pool, s, hour_long_backoff()).await;

    // Act: open 25; the first chunk meets only 10.
    let id = d
        .submit(open("SOLUSDT", Direction::Long, "25", "er9-open"))
        .await;
    let orders = until_orders(&d, id, |o| o.len() >= 2).await;

    // Assert: the first chunk expired as a MARKET remainder (er 9) after filling 10, the
    // reason is on the order, and the rest went out without waiting out the backoff.
    let first = &orders[0];
    assert_eq!(first.filled_quantity.get(), dec!(10));
    assert_eq!(first.expire_reason, Some(ExpireReason::MarketRemainder));
    assert_eq!(orders[1].quantity.get(), dec!(15), "the unfilled remainder");
    d.stop().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn a_reduce_only_chunk_knocked_out_rereads_the_position_before_planning_more(pool: PgPool) {
    // Arrange: sluice adopts a SHORT 50, then 20 of it is bought back by hand, so the
    // ledger holds 50 where the exchange holds 30.
    let s = scenario(
        "",
        "positions = [ { symbol = \"SOLUSDT\", side = \"SHORT\", quantity = \"50\", entry_price = \"180\" } ]",
    );
    let d = start(pool, s, hour_long_backoff()).await;
    let position = d.executor.as_ref().expect("executor").adopted[0].clone();
    buy_back_by_hand(&d, "20").await;

    // Act: close everything the ledger knows.
    let id = d.submit(close_all(position.id, "er4-close")).await;
    let row = d.until_terminal(id, Duration::from_secs(30)).await;

    // Assert: the one chunk closed the 30 that existed and expired knocked out (er 4);
    // the exchange, read again, is flat, so nothing more was sent.
    assert_eq!(row.state, IntentState::Done, "error: {:?}", row.error);
    let orders = d.ledger.orders_of_intent(id).await.unwrap();
    assert_eq!(orders.len(), 1, "{orders:?}");
    assert_eq!(orders[0].filled_quantity.get(), dec!(30));
    assert_eq!(
        orders[0].expire_reason,
        Some(ExpireReason::ReduceOnlyKnockedOut)
    );
    assert!(d.sim_positions().await.is_empty());
    d.stop().await;
}

/// A reduce-only MARKET BUY placed on the account by something other than sluice.
async fn buy_back_by_hand(d: &Daemon, qty: &str) {
    place_by_hand(d, Side::Buy, qty, true, false).await;
}

/// An order on SOLUSDT placed by something other than sluice: MARKET, or a resting
/// LIMIT GTC at the mark (between the best bid and the best ask).
async fn place_by_hand(d: &Daemon, side: Side, qty: &str, reduce_only: bool, rest: bool) {
    let symbol = sym("SOLUSDT");
    let rules = d
        .exchange
        .symbol_rules(sluice::exchange::Purpose::Routine)
        .await
        .unwrap();
    let rules = rules.into_iter().find(|r| r.symbol == symbol).unwrap();
    let mark = d
        .exchange
        .mark_price(&symbol, sluice::exchange::Purpose::Routine)
        .await
        .unwrap()
        .mark_price;
    let order = OrderRequest {
        symbol,
        side,
        position_side: PositionSide::Both,
        order_type: if rest {
            OrderType::Limit
        } else {
            OrderType::Market
        },
        quantity: Qty::parse("quantity", qty).unwrap(),
        price: rest.then_some(mark),
        time_in_force: rest.then_some(TimeInForce::Gtc),
        reduce_only,
        client_order_id: ClientOrderId::new("by-hand-1").unwrap(),
        price_match: None,
        good_till_date: None,
    };
    let checked = validate(&rules, order, mark).unwrap();
    d.exchange.place_order(&checked).await.unwrap();
}

#[sqlx::test(migrations = "./migrations")]
async fn a_chunk_expired_by_self_trade_prevention_is_an_expiry_and_never_a_fill(pool: PgPool) {
    // Arrange: the account rests a SELL at the mark, below the book's best ask.
    let d = start(pool, scenario("", ""), hour_long_backoff()).await;
    place_by_hand(&d, Side::Sell, "1", false, true).await;

    // Act: sluice buys; its MARKET chunk meets the account's own SELL first.
    let id = d
        .submit(open("SOLUSDT", Direction::Long, "3", "stp-expiry"))
        .await;
    let orders = until_orders(&d, id, |o| {
        o.first()
            .is_some_and(|o| o.status.is_terminal() && o.expire_reason.is_some())
    })
    .await;

    // Assert: EXPIRE_TAKER: sluice's chunk expired in match (er 1), nothing filled, no
    // fill in the ledger, and the account's own resting order is untouched.
    let first = &orders[0];
    assert_eq!(first.status, OrderState::Expired);
    assert_eq!(first.expire_reason, Some(ExpireReason::SelfTradePrevention));
    assert!(first.filled_quantity.is_zero());
    assert!(d.ledger.open_positions().await.unwrap().is_empty());
    assert!(d.sim_positions().await.is_empty());
    let state = d.sim_state().await;
    let open = state["accounts"][0]["openOrders"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(open.len(), 1, "the resting order stays: {open:?}");
    assert_eq!(open[0]["clientOrderId"], "by-hand-1");
    d.stop().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn every_order_names_its_self_trade_prevention_mode_on_the_wire(pool: PgPool) {
    // Arrange: the simulator applies the live account default (EXPIRE_MAKER) to an
    // order that does not name a mode.
    let d = start(pool, scenario("", ""), fast_config()).await;

    // Act.
    let id = d
        .submit(open("SOLUSDT", Direction::Short, "3", "stp-open"))
        .await;
    let row = d.until_terminal(id, Duration::from_secs(30)).await;

    // Assert: the venue recorded the mode sluice sent (EXPIRE_TAKER by default).
    assert_eq!(row.state, IntentState::Done, "error: {:?}", row.error);
    let orders = d.sim_orders().await;
    assert!(!orders.is_empty());
    for o in &orders {
        assert_eq!(o["selfTradePreventionMode"], "EXPIRE_TAKER", "{o}");
    }
    d.stop().await;
}

/// A venue answering -1111 to every SOLUSDT order, whatever the rules say.
async fn refuse_every_order_with_1111(d: &Daemon) {
    d.fault(json!({"from": 0, "symbols": ["SOLUSDT"], "precision_1111": 1.0}))
        .await;
}

/// Order placements the adapter recorded for the intent's orders.
async fn attempts_of(d: &Daemon, id: sluice::ledger::IntentId) -> usize {
    let mut n = 0;
    for o in d.ledger.orders_of_intent(id).await.unwrap() {
        n += d
            .ledger
            .attempts_for(&o.client_order_id)
            .await
            .unwrap()
            .len();
    }
    n
}

#[sqlx::test(migrations = "./migrations")]
async fn a_close_the_venue_refuses_the_same_way_every_time_fails_with_its_code_after_bounded_replans(
    pool: PgPool,
) {
    // Arrange.
    let s = scenario(
        "",
        "positions = [ { symbol = \"SOLUSDT\", side = \"SHORT\", quantity = \"50\", entry_price = \"180\" } ]",
    );
    let cfg = fast_config();
    let bound = cfg.escalation.max_rule_reloads + 1;
    let d = start(pool, s, cfg).await;
    let position = d.executor.as_ref().expect("executor").adopted[0].clone();
    refuse_every_order_with_1111(&d).await;

    // Act.
    let id = d.submit(close_all(position.id, "close-1111")).await;
    let row = d.until_terminal(id, Duration::from_secs(30)).await;

    // Assert: failed, naming the venue's code and words; a bounded number of chunks,
    // each refused with -1111 and each on record in order_attempts.
    assert_eq!(row.state, IntentState::Failed);
    let reason = row.error.unwrap_or_default();
    assert!(reason.contains("-1111"), "{reason}");
    assert!(reason.contains("Precision is over the maximum"), "{reason}");
    let orders = d.ledger.orders_of_intent(id).await.unwrap();
    assert_eq!(orders.len() as u32, bound, "{orders:?}");
    assert!(orders.iter().all(|o| o.last_error_code == Some(-1111)));
    until("the attempts stored", Duration::from_secs(10), || async {
        attempts_of(&d, id).await >= orders.len()
    })
    .await;
    assert_eq!(
        attempts_of(&d, id).await,
        orders.len(),
        "one attempt per order"
    );
    d.stop().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn an_open_refused_the_same_way_twice_fails_at_the_second_refusal(pool: PgPool) {
    // Arrange.
    let d = start(pool, scenario("", ""), fast_config()).await;
    refuse_every_order_with_1111(&d).await;

    // Act.
    let id = d
        .submit(open("SOLUSDT", Direction::Long, "5", "open-1111"))
        .await;
    let row = d.until_terminal(id, Duration::from_secs(30)).await;

    // Assert: the same order, refused the same way after the rules were reloaded, ends it.
    assert_eq!(row.state, IntentState::Failed);
    assert!(row.error.unwrap_or_default().contains("-1111"));
    let orders = d.ledger.orders_of_intent(id).await.unwrap();
    assert_eq!(orders.len(), 2, "{orders:?}");
    assert_eq!(
        orders[0].quantity, orders[1].quantity,
        "the same order twice"
    );
    assert!(d.sim_positions().await.is_empty(), "nothing opened");
    d.stop().await;
}
