//! A LIMIT intent across a crash: the real `sluice` binary is SIGKILLed while the
//! intent's order rests on the book; the restarted daemon finds the order by its client
//! order id and waits for it instead of sending another, and the intent completes when
//! the book reaches it.

use std::time::Duration;

use rust_decimal::Decimal;
use serde_json::{json, Value};
use sluice::domain::{IntentState, LimitPrice, LimitTerms, LimitTif, Price};
use sluice::ledger::{IntentId, Ledger, PositionId};
use sluice_sim::spawn;
use sluice_testkit::executor::*;
use sluice_testkit::process::{hand_adapter, open_short_by_hand, spawn_daemon, until};
use sqlx::PgPool;

async fn adopted(ledger: &Ledger) -> Option<PositionId> {
    ledger
        .open_positions()
        .await
        .expect("positions")
        .first()
        .map(|p| p.id)
}

/// The simulator's orders of the test account.
async fn sim_orders(sim: &sluice_sim::SimHandle) -> Vec<Value> {
    sluice_testkit::account::sim_state(sim).await["accounts"][0]["orders"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn resting(sim: &sluice_sim::SimHandle) -> usize {
    sim_orders(sim)
        .await
        .iter()
        .filter(|o| o["status"] == "NEW")
        .count()
}

async fn state_of(ledger: &Ledger, id: IntentId) -> IntentState {
    ledger
        .intent(id)
        .await
        .expect("read")
        .expect("intent")
        .state
}

#[sqlx::test(migrations = "./migrations")]
async fn a_resting_limit_close_survives_a_sigkill_and_completes_without_a_second_order(
    pool: PgPool,
) {
    // Arrange: SHORT 30 SOLUSDT opened by hand, adopted by the daemon; a GTC close buys
    // at 179, below the best ask (180.001), so it rests.
    let db_url = sluice_testkit::process::database_url(&pool).await;
    let ledger = Ledger::from_pool(pool);
    let sim = spawn(scenario("", ""), "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("sim");
    let hand = hand_adapter(&sim).await;
    open_short_by_hand(&hand, "SOLUSDT", "30", "hand-short").await;
    let mut daemon = spawn_daemon("limit-restart", &sim, &db_url, &[]).await;
    until("adoption", Duration::from_secs(60), || async {
        adopted(&ledger).await.is_some()
    })
    .await;
    let position = adopted(&ledger).await.expect("adopted");
    let terms = LimitTerms {
        price: LimitPrice::Fixed(Price::parse("price", "179").expect("price")),
        time_in_force: LimitTif::Gtc,
    };
    let id = ledger
        .create_intent_with(
            &close_all(position, "limit-restart"),
            allocation(),
            None,
            Some(&terms),
        )
        .await
        .expect("close stored")
        .intent
        .id;
    until("the close rests", Duration::from_secs(30), || async {
        resting(&sim).await == 1
    })
    .await;

    // Act: SIGKILL while it rests, restart, then move the book onto it.
    daemon.kill();
    let daemon = spawn_daemon("limit-restart", &sim, &db_url, &[]).await;
    daemon.until_status("ready", Duration::from_secs(60)).await;
    assert_eq!(state_of(&ledger, id).await, IntentState::Working);
    assert_eq!(resting(&sim).await, 1, "still the one order, waited for");
    let r = reqwest::Client::new()
        .post(format!("{}/sim/marks", sim.base_url()))
        .json(&json!({"symbol": "SOLUSDT", "mark_price": "178.5"}))
        .send()
        .await
        .expect("mark");
    assert!(r.status().is_success());
    until("the close ends", Duration::from_secs(60), || async {
        state_of(&ledger, id).await.is_terminal()
    })
    .await;

    // Assert: done, flat, one order sent for the intent and executed once.
    let row = ledger.intent(id).await.expect("read").expect("intent");
    assert_eq!(row.state, IntentState::Done, "{:?}", row.error);
    let orders = sim_orders(&sim).await;
    let total = sluice_testkit::process::executed_once_per_chunk(&orders, id, "restart");
    assert_eq!(total, Decimal::from(30));
    assert_eq!(ledger.orders_of_intent(id).await.expect("orders").len(), 1);
    assert!(ledger.open_positions().await.expect("positions").is_empty());
    drop(daemon);
    sim.shutdown().await;
}
