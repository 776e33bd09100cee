//! The executor under exchange distress (seed 003) and in hedge mode, end to end against
//! the simulator through the real adapter.

use std::time::Duration;

use rust_decimal_macros::dec;
use serde_json::json;
use sluice::domain::{Direction, IntentState, PositionSide, Side};
use sluice::ledger::PositionStatus;
use sluice::router::ExecutorStatus;
use sluice_sim::scenario::DEMO_API_KEY;
use sluice_testkit::executor::*;
use sqlx::PgPool;

/// SOLUSDT with a published MARKET cap of 100 (a 1,000 close is 10 chunks), and the
/// 2025-10-11 fault profile on order endpoints for the first `until` scenario seconds.
fn seed_003_scenario(until: u32) -> sluice_sim::Scenario {
    scenario(
        &format!(
            "[[symbols]]\nname = \"SOLUSDT\"\nmarket_max_qty = \"100\"\nlevel_qty = \"2000\"\n\
             [[faults]]\nfrom = 0\nuntil = {until}\nprofile = \"2025-10-11\"\n"
        ),
        "positions = [ { symbol = \"SOLUSDT\", side = \"SHORT\", quantity = \"1000\", entry_price = \"180\" } ]",
    )
}

#[sqlx::test(migrations = "./migrations")]
async fn seed_003_the_close_completes_after_the_storm_and_opens_are_refused_during_it(
    pool: PgPool,
) {
    seed_003_storm(pool, Wire::RestHmac).await;
}

#[sqlx::test(migrations = "./migrations")]
async fn seed_003_over_the_ws_api_with_an_ed25519_key_the_close_outlasts_the_storm(pool: PgPool) {
    let pool = seed_003_storm(pool, Wire::WsEd25519).await;
    let (ws,): (i64,) = sqlx::query_as("SELECT count(*) FROM order_attempts WHERE method = 'WS'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(ws > 10, "{ws} attempts over the WS API");
}

/// The 2025-10-11 storm against a close and an open, orders on `wire`.
async fn seed_003_storm(pool: PgPool, wire: Wire) -> PgPool {
    // Arrange: the SHORT is adopted; the 2025-10-11 profile runs for 8 seconds.
    let d = start_over(pool.clone(), seed_003_scenario(8), fast_config(), wire).await;
    let position = d.executor.as_ref().expect("executor").adopted[0].clone();

    // Act: close it; once the close has met the storm, ask for an open.
    let close = d.submit(close_all(position.id, "seed-003-close")).await;
    until(
        "the storm to hit the close",
        Duration::from_secs(30),
        || async {
            let errors = d
                .ledger
                .orders_of_intent(close)
                .await
                .unwrap()
                .iter()
                .filter(|o| o.last_error_code.is_some() || o.last_error_msg.is_some())
                .count();
            errors >= 10
        },
    )
    .await;
    let open = d
        .submit(open("BTCUSDT", Direction::Long, "0.01", "seed-003-open"))
        .await;
    let closed = d.until_terminal(close, Duration::from_secs(120)).await;
    let opened = d.until_terminal(open, Duration::from_secs(30)).await;

    // Assert: the close completed, the open was refused with the breaker's reason.
    assert_eq!(
        closed.state,
        IntentState::Done,
        "close error: {:?}",
        closed.error
    );
    assert!(d.sim_positions().await.is_empty(), "flat after recovery");
    let row = d.ledger.position(position.id).await.unwrap().unwrap();
    assert_eq!(row.status, PositionStatus::Closed);
    assert_eq!(opened.state, IntentState::Failed);
    let reason = opened.error.unwrap_or_default();
    assert!(
        reason.contains("refused"),
        "open refusal names the breaker: {reason}"
    );
    // Never a 429 or a 418: the backoff kept sluice inside the rate budget.
    let (banned,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM order_attempts WHERE http_status IN (418, 429)")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(banned, 0);
    // Every order the close sent is in order_attempts (the evidence trail).
    let orders = d.ledger.orders_of_intent(close).await.unwrap();
    assert!(
        orders.len() > 10,
        "the storm forced retries: {} orders",
        orders.len()
    );
    until(
        "an attempt row for every order",
        Duration::from_secs(10),
        || async {
            for o in &orders {
                let attempts = d.ledger.attempts_for(&o.client_order_id).await.unwrap();
                if attempts.is_empty() {
                    return false;
                }
            }
            true
        },
    )
    .await;
    assert!(d.ledger.anomalies().await.unwrap().is_empty());
    d.stop().await;
    pool
}

#[sqlx::test(migrations = "./migrations")]
async fn a_hedge_mode_long_is_closed_with_the_closing_side_on_its_own_leg(pool: PgPool) {
    // Arrange: a hedge-mode account holding LONG 30 SOLUSDT (adopted).
    let s = scenario(
        "",
        "position_mode = \"hedge\"\npositions = [ { symbol = \"SOLUSDT\", side = \"LONG\", quantity = \"30\", entry_price = \"180\" } ]",
    );
    let d = start(pool, s, fast_config()).await;
    let position = d.executor.as_ref().expect("executor").adopted[0].clone();
    assert_eq!(position.position_side, PositionSide::Long);

    // Act.
    let id = d.submit(close_all(position.id, "hedge-close")).await;
    let row = d.until_terminal(id, Duration::from_secs(30)).await;

    // Assert: SELL on the LONG leg, flat, closed.
    assert_eq!(row.state, IntentState::Done, "error: {:?}", row.error);
    assert!(d.sim_positions().await.is_empty());
    let orders = d.ledger.orders_of_intent(id).await.unwrap();
    assert!(orders
        .iter()
        .all(|o| o.side == Side::Sell && o.position_side == PositionSide::Long));
    let filled: rust_decimal::Decimal = orders.iter().map(|o| o.filled_quantity.get()).sum();
    assert_eq!(filled, dec!(30));
    d.stop().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn partial_fills_on_a_thin_book_are_re_planned_until_the_close_completes(pool: PgPool) {
    // Arrange: 60 SOLUSDT on the ask side at a time (2 levels × 30), refilled each second.
    let s = scenario(
        "[[symbols]]\nname = \"SOLUSDT\"\nmarket_max_qty = \"100\"\nbook_levels = 2\nlevel_qty = \"30\"\n",
        "positions = [ { symbol = \"SOLUSDT\", side = \"SHORT\", quantity = \"200\", entry_price = \"180\" } ]",
    );
    let d = start(pool, s, fast_config()).await;
    let position = d.executor.as_ref().expect("executor").adopted[0].clone();

    // Act.
    let id = d.submit(close_all(position.id, "thin-close")).await;
    let row = d.until_terminal(id, Duration::from_secs(60)).await;

    // Assert: chunks expired partly filled, the remainder was re-planned, all 200 closed.
    assert_eq!(row.state, IntentState::Done, "error: {:?}", row.error);
    assert!(d.sim_positions().await.is_empty());
    let orders = d.ledger.orders_of_intent(id).await.unwrap();
    assert!(
        orders
            .iter()
            .any(|o| !o.filled_quantity.is_zero() && o.filled_quantity < o.quantity),
        "at least one chunk filled only partly"
    );
    let filled: rust_decimal::Decimal = orders.iter().map(|o| o.filled_quantity.get()).sum();
    assert_eq!(filled, dec!(200));
    assert!(d.ledger.anomalies().await.unwrap().is_empty());
    d.stop().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn a_deleted_key_pauses_the_close_in_safe_mode_and_a_rotated_key_resumes_it(pool: PgPool) {
    // Arrange: seed 000's emergency response, the API key deleted mid-close. A thin
    // book (30 SOL per second) makes the 200 SOL close take several chunks.
    let s = scenario(
        "[[symbols]]\nname = \"SOLUSDT\"\nmarket_max_qty = \"100\"\nbook_levels = 1\nlevel_qty = \"30\"\n",
        "positions = [ { symbol = \"SOLUSDT\", side = \"SHORT\", quantity = \"200\", entry_price = \"180\" } ]",
    );
    let d = start(pool, s, fast_config()).await;
    let executor = d.executor.as_ref().expect("executor");
    let position = executor.adopted[0].clone();
    let mut status = executor.status();
    let id = d
        .submit(close_all(position.id, "close-through-key-loss"))
        .await;
    d.until_filled_some(id).await;

    // Act 1: the key is deleted.
    d.admin_post(&format!("/sim/accounts/{DEMO_API_KEY}/revoke"), json!({}))
        .await;
    let lost = wait_status(
        &mut status,
        |s| matches!(s, ExecutorStatus::KeyLoss { attempts, .. } if *attempts >= 2),
    )
    .await;

    // Assert: safe mode says why; the intent still works; no halt; the ledger is as last
    // confirmed: the same open size the exchange still holds, not "no positions".
    assert!(lost.describe().contains("-2015"), "{}", lost.describe());
    let orders_in_safe_mode = d.ledger.orders_of_intent(id).await.unwrap();
    let sim_amount = d
        .sim_positions()
        .await
        .first()
        .map(|p| dec(&p["position_amt"]).abs())
        .expect("the short is still open on the exchange");
    let ledger_open = d.ledger.position(position.id).await.unwrap().expect("row");
    assert_eq!(ledger_open.quantity.get(), sim_amount);
    assert!(
        !ledger_open.quantity.is_zero(),
        "an unreadable account is not flat"
    );
    let row = d.ledger.intent(id).await.unwrap().expect("intent");
    assert_eq!(row.state, IntentState::Working);
    assert!(!d.ledger.halt_state().await.unwrap().halted);

    // Act 2: a new key for the same account, put where the daemon reads its key from.
    let (new_key, new_secret) = ("R".repeat(64), "s".repeat(64));
    d.admin_post(
        &format!("/sim/accounts/{DEMO_API_KEY}/rotate"),
        json!({ "api_key": new_key, "api_secret": new_secret }),
    )
    .await;
    d.creds.set(&new_key, &new_secret);
    wait_status(&mut status, |s| *s == ExecutorStatus::Running).await;
    let row = d.until_terminal(id, Duration::from_secs(60)).await;

    // Assert: reconciled once before resuming, then the close finished on the new key;
    // only chunks already out when the key went were refused: none was recorded after
    // the first refusal came back.
    assert_eq!(row.state, IntentState::Done, "error: {:?}", row.error);
    assert_eq!(d.recoveries.lock().unwrap().len(), 1);
    assert!(d.sim_positions().await.is_empty());
    let orders = d.ledger.orders_of_intent(id).await.unwrap();
    let refused: Vec<_> = orders
        .iter()
        .filter(|o| o.last_error_code == Some(-2015))
        .collect();
    let first_refusal = refused.iter().map(|o| o.updated_at).min();
    assert!(
        refused
            .iter()
            .all(|o| first_refusal.is_some_and(|t| o.created_at <= t)),
        "a chunk was sent into a key already known refused: {refused:?}"
    );
    assert!(
        orders.len() > orders_in_safe_mode.len(),
        "resumed after rotation"
    );
    let filled: rust_decimal::Decimal = orders.iter().map(|o| o.filled_quantity.get()).sum();
    assert_eq!(filled, dec!(200));
    d.stop().await;
}

/// Wait (bounded) until the executor's status satisfies `pred`; returns it.
async fn wait_status(
    rx: &mut tokio::sync::watch::Receiver<ExecutorStatus>,
    pred: impl Fn(&ExecutorStatus) -> bool,
) -> ExecutorStatus {
    let got = tokio::time::timeout(Duration::from_secs(30), rx.wait_for(|s| pred(s)))
        .await
        .expect("executor status reached in time")
        .expect("executor alive");
    got.clone()
}
