//! How LIMIT intents end when their orders do not simply fill: an IOC that fills nothing
//! or part, a cancel of a partly filled resting order, and a cancel that comes after the
//! order filled (the fill wins). Helpers are shared with `limit.rs`.

use std::time::Duration;

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::json;
use sluice::domain::IntentState;
use sluice_testkit::executor::*;
use sqlx::PgPool;

use super::limit::{
    cancel, intent_id, open_body, open_on_book, post_intent, reserved, sol_venue, thin_sol,
};

#[sqlx::test(migrations = "./migrations")]
async fn an_ioc_limit_ends_failed_when_nothing_fills_and_done_partial_when_some_does(pool: PgPool) {
    let d = start(pool, thin_sol(), fast_config()).await;
    let base = serve_api_on(&d.ledger, d.exchange.clone()).await;

    // Act: an IOC below the book, then one that reaches only the best ask (4 units).
    let (_, below) = post_intent(
        &base,
        open_body(
            "ioc-none",
            json!({"price": "179.5", "time_in_force": "IOC"}),
        ),
    )
    .await;
    let none = d
        .until_terminal(intent_id(&below), Duration::from_secs(30))
        .await;
    let (_, touching) = post_intent(
        &base,
        open_body(
            "ioc-some",
            json!({"price": "180.001", "time_in_force": "IOC"}),
        ),
    )
    .await;
    let some = d
        .until_terminal(intent_id(&touching), Duration::from_secs(30))
        .await;

    // Assert: nothing filled is `failed` with the expiry named; part filled is
    // `done_partial` with the rest as its shortfall; neither is re-sent.
    assert_eq!(none.state, IntentState::Failed);
    let why = none.error.unwrap_or_default();
    assert!(why.contains("ended expired with 0 of 10"), "{why}");
    assert_eq!(some.outcome(), Some("done_partial"), "{:?}", some.error);
    assert_eq!(some.shortfall.map(|q| q.get()), Some(dec!(6)));
    for id in [none.id, some.id] {
        assert_eq!(d.ledger.orders_of_intent(id).await.unwrap().len(), 1);
    }
    assert_eq!(reserved(&d).await, Decimal::ZERO);
    d.stop().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn cancelling_a_partly_filled_resting_open_keeps_what_filled(pool: PgPool) {
    // Arrange: a GTC buy of 10 at 180.011 takes the two ask levels it reaches (8) and
    // rests the other 2.
    let d = start(pool, thin_sol(), fast_config()).await;
    let base = serve_api_on(&d.ledger, d.exchange.clone()).await;
    let (status, answer) =
        post_intent(&base, open_body("gtc-partial", json!({"price": "180.011"}))).await;
    assert_eq!(status, 202, "{answer}");
    let id = intent_id(&answer);
    sluice_testkit::poll::until(
        "part fills, the rest rests",
        Duration::from_secs(20),
        || async {
            open_on_book(&d)
                .await
                .iter()
                .any(|o| o["executedQty"] == "8")
        },
    )
    .await;

    // Act.
    cancel(&base, id).await;
    let ended = d.until_terminal(id, Duration::from_secs(30)).await;

    // Assert: cancelled, the 8 that filled are a position in the ledger and on the venue.
    assert_eq!(ended.state, IntentState::Cancelled, "{:?}", ended.error);
    assert!(open_on_book(&d).await.is_empty());
    let positions = d.ledger.open_positions().await.unwrap();
    assert_eq!(positions.len(), 1);
    assert_eq!(positions[0].quantity.get(), dec!(8));
    assert_eq!(dec(&d.sim_positions().await[0]["position_amt"]), dec!(8));
    assert_eq!(d.ledger.filled_of_intent(id).await.unwrap().get(), dec!(8));
    assert_eq!(reserved(&d).await, Decimal::ZERO);
    d.stop().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn a_cancel_that_comes_after_the_resting_order_filled_leaves_the_fill_and_ends_done(
    pool: PgPool,
) {
    let d = start(pool, sol_venue(""), fast_config()).await;
    let base = serve_api_on(&d.ledger, d.exchange.clone()).await;
    let (_, answer) = post_intent(&base, open_body("gtc-race", json!({"price": "179.5"}))).await;
    let id = intent_id(&answer);
    sluice_testkit::poll::until("the order rests", Duration::from_secs(20), || async {
        open_on_book(&d).await.len() == 1
    })
    .await;

    // Act: the book reaches the order, and the strategy's cancel follows at once (it may
    // meet the filled order at the venue: -2011).
    d.admin_post(
        "/sim/marks",
        json!({"symbol": "SOLUSDT", "mark_price": "179"}),
    )
    .await;
    let _ = reqwest::Client::new()
        .post(format!("{base}/v1/intents/{}/cancel", id.get()))
        .json(&json!({"actor": "strategy"}))
        .send()
        .await
        .expect("cancel");
    let ended = d.until_terminal(id, Duration::from_secs(30)).await;

    // Assert: the fill wins: done, the whole 10 a position, nothing re-sent.
    assert_eq!(ended.state, IntentState::Done, "{:?}", ended.error);
    assert_eq!(d.ledger.filled_of_intent(id).await.unwrap().get(), dec!(10));
    assert_eq!(dec(&d.sim_positions().await[0]["position_amt"]), dec!(10));
    assert_eq!(d.ledger.orders_of_intent(id).await.unwrap().len(), 1);
    d.stop().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn a_resting_limit_open_does_not_hold_the_room_of_market_opens(pool: PgPool) {
    // Arrange: the executor works one open at a time; a GTC buy below the book rests.
    let mut cfg = fast_config();
    cfg.max_opens_held = 1;
    let d = start(pool, sol_venue(""), cfg).await;
    let base = serve_api_on(&d.ledger, d.exchange.clone()).await;
    let (status, answer) =
        post_intent(&base, open_body("gtc-rests", json!({"price": "179.5"}))).await;
    assert_eq!(status, 202, "{answer}");
    let resting = intent_id(&answer);
    sluice_testkit::poll::until("the order rests", Duration::from_secs(20), || async {
        open_on_book(&d).await.len() == 1
    })
    .await;

    // Act: a MARKET open while the LIMIT open rests.
    let (status, answer) = post_intent(
        &base,
        json!({"kind": "open", "symbol": "SOLUSDT", "side": "long", "quantity": "1",
               "idempotency_key": "market-after-resting"}),
    )
    .await;
    assert_eq!(status, 202, "{answer}");

    // Assert: the MARKET open ends done while the LIMIT open still rests, working.
    let market = d
        .until_terminal(intent_id(&answer), Duration::from_secs(20))
        .await;
    assert_eq!(market.state, IntentState::Done, "{:?}", market.error);
    let still = d.ledger.intent(resting).await.unwrap().unwrap();
    assert_eq!(still.state, IntentState::Working);
    assert_eq!(open_on_book(&d).await.len(), 1);
    d.stop().await;
}
