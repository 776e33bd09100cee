//! The dead-man's switch through the real `sluice run` binary: while the daemon runs it
//! renews `countdownCancelAll` for a symbol with a resting order, so the order outlives
//! many countdowns; SIGKILLed, the renewals stop and the venue cancels the order itself.
//! Both for an order placed by someone else (found by the venue read) and for sluice's
//! own resting LIMIT order (found in the ledger).

use std::time::Duration;

use serde_json::{json, Value};
use sluice::domain::{Side, TimeInForce};
use sluice::exchange::Exchange;
use sluice_testkit::adapter::{resting_price, start, Loop};
use sluice_testkit::executor::scenario;
use sluice_testkit::process::*;
use sqlx::PgPool;

const ENDPOINT: &str = "POST /fapi/v1/countdownCancelAll";

async fn resting_status(l: &Loop) -> String {
    status_of(l, "resting-1")
        .await
        .expect("the resting order is known")
}

/// The simulator's status of the order with this client order id.
async fn status_of(l: &Loop, client_order_id: &str) -> Option<String> {
    let state = l.state().await;
    let orders = state["accounts"][0]["orders"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    orders
        .iter()
        .find(|o| o["clientOrderId"] == client_order_id)
        .and_then(|o| o["status"].as_str().map(str::to_owned))
}

/// Client order ids of the orders resting on the simulator's book.
async fn resting_ids(l: &Loop) -> Vec<String> {
    let state = l.state().await;
    state["accounts"][0]["orders"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter(|o| o["status"] == "NEW")
        .filter_map(|o| o["clientOrderId"].as_str().map(str::to_owned))
        .collect()
}

fn renewals(state: &Value) -> i64 {
    state["stats"]["requestsByEndpoint"][ENDPOINT]
        .as_i64()
        .unwrap_or(0)
}

#[sqlx::test(migrations = "./migrations")]
async fn the_dead_mans_switch_cancels_a_resting_order_once_the_daemon_stops_renewing_it(
    pool: PgPool,
) {
    // Arrange: a resting BUY 10 % under the mark, and a daemon with a 2 s countdown.
    let db_url = database_url(&pool).await;
    let l = start(scenario("[[symbols]]\nname = \"SOLUSDT\"\n", "")).await;
    let price = resting_price(&l, "SOLUSDT").await;
    let order = l
        .limit(
            "SOLUSDT",
            Side::Buy,
            "1",
            &price,
            TimeInForce::Gtc,
            "resting-1",
        )
        .await;
    l.ex.place_order(&order).await.expect("rests");
    let env = [("SLUICE__DAEMON__DEAD_MAN_SWITCH_MS", "2000")];
    let mut d = spawn_daemon("deadman", &l.sim, &db_url, &env).await;
    d.until_status("ready", Duration::from_secs(60)).await;

    // Alive: renewed every 500 ms, the order outlives several countdowns.
    d.until_ok(
        "eight renewals (4 s, two countdowns)",
        Duration::from_secs(30),
        || async {
            let n = renewals(&l.state().await);
            if n >= 8 {
                Ok(n)
            } else {
                Err(n)
            }
        },
    )
    .await;
    assert_eq!(resting_status(&l).await, "NEW", "renewed, never run out");

    // Act: the daemon dies.
    d.kill();

    // Assert: the venue cancels the order when the last countdown runs out.
    until(
        "the venue to cancel it",
        Duration::from_secs(15),
        || async { resting_status(&l).await == "CANCELED" },
    )
    .await;
    l.sim.shutdown().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn the_dead_mans_switch_arms_the_symbol_of_sluices_own_resting_limit_order(pool: PgPool) {
    // Arrange: a daemon with a 2 s countdown on a venue where nothing rests.
    let db_url = database_url(&pool).await;
    let l = start(scenario("[[symbols]]\nname = \"SOLUSDT\"\n", "")).await;
    let price = resting_price(&l, "SOLUSDT").await;
    let env = [("SLUICE__DAEMON__DEAD_MAN_SWITCH_MS", "2000")];
    let mut d = spawn_daemon("deadman-own", &l.sim, &db_url, &env).await;
    d.until_status("ready", Duration::from_secs(60)).await;

    // Act: a GTC LIMIT open under the mark, through the control API, rests.
    let body = json!({"kind": "open", "symbol": "SOLUSDT", "side": "long", "quantity": "1",
                      "price": price.to_string(), "time_in_force": "GTC",
                      "idempotency_key": "deadman-own-1"});
    let (code, created) = d.post("/v1/intents", &body).await;
    assert_eq!(code, 202, "{created}");
    let coid = d
        .until_ok(
            "sluice's order to rest",
            Duration::from_secs(30),
            || async {
                match resting_ids(&l).await.as_slice() {
                    [one] => Ok(one.clone()),
                    other => Err(other.len()),
                }
            },
        )
        .await;

    // Assert: its symbol is renewed, and the order outlives several countdowns...
    d.until_ok(
        "eight renewals (4 s, two countdowns)",
        Duration::from_secs(30),
        || async {
            let n = renewals(&l.state().await);
            if n >= 8 {
                Ok(n)
            } else {
                Err(n)
            }
        },
    )
    .await;
    assert_eq!(status_of(&l, &coid).await.as_deref(), Some("NEW"));
    // ...and once the daemon dies, the venue cancels it.
    d.kill();
    until(
        "the venue to cancel sluice's order",
        Duration::from_secs(15),
        || async { status_of(&l, &coid).await.as_deref() == Some("CANCELED") },
    )
    .await;
    l.sim.shutdown().await;
}
