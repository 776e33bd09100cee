//! A flatten first cancels sluice's own resting orders: found by reading the venue's open
//! orders of the symbols where the ledger holds a sluice LIMIT order (one cheap read per
//! symbol), never touching an order someone else placed on the account.

use std::time::Duration;

use serde_json::json;
use sluice::domain::{Side, TimeInForce};
use sluice::exchange::Exchange;
use sluice_testkit::adapter::{resting_price, start, Loop};
use sluice_testkit::executor::scenario;
use sluice_testkit::process::*;
use sqlx::PgPool;

/// (client order id, status) of every order the simulator knows for the account.
async fn orders(l: &Loop) -> Vec<(String, String)> {
    let state = l.state().await;
    state["accounts"][0]["orders"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|o| {
            let s = |k: &str| o[k].as_str().unwrap_or_default().to_owned();
            (s("clientOrderId"), s("status"))
        })
        .collect()
}

#[sqlx::test(migrations = "./migrations")]
async fn a_flatten_cancels_sluices_resting_limit_order_and_leaves_a_foreign_one(pool: PgPool) {
    // Arrange: a foreign BUY resting under the mark, then sluice's own GTC LIMIT open.
    let db_url = database_url(&pool).await;
    let l = start(scenario("[[symbols]]\nname = \"SOLUSDT\"\n", "")).await;
    let price = resting_price(&l, "SOLUSDT").await;
    let foreign = l
        .limit(
            "SOLUSDT",
            Side::Buy,
            "1",
            &price,
            TimeInForce::Gtc,
            "by-hand-1",
        )
        .await;
    l.ex.place_order(&foreign).await.expect("rests");
    let mut d = spawn_daemon("flatten-resting", &l.sim, &db_url, &[]).await;
    d.until_status("ready", Duration::from_secs(60)).await;
    let body = json!({"kind": "open", "symbol": "SOLUSDT", "side": "long", "quantity": "1",
                      "price": price, "time_in_force": "GTC", "idempotency_key": "rest-1"});
    let (code, created) = d.post("/v1/intents", &body).await;
    assert_eq!(code, 202, "{created}");
    let own = d
        .until_ok(
            "sluice's order to rest",
            Duration::from_secs(30),
            || async {
                let resting: Vec<String> = orders(&l)
                    .await
                    .into_iter()
                    .filter(|(id, st)| st == "NEW" && id != "by-hand-1")
                    .map(|(id, _)| id)
                    .collect();
                match resting.as_slice() {
                    [one] => Ok(one.clone()),
                    other => Err(other.len()),
                }
            },
        )
        .await;

    // Act: flatten the account.
    let (code, flat) = d
        .post(
            "/v1/flatten",
            &json!({"reason": "drill", "idempotency_key": "flat-1"}),
        )
        .await;
    assert_eq!(code, 202, "{flat}");

    // Assert: sluice's order is cancelled; the foreign one still rests.
    until(
        "sluice's order cancelled",
        Duration::from_secs(30),
        || async {
            orders(&l)
                .await
                .iter()
                .any(|(id, st)| *id == own && st == "CANCELED")
        },
    )
    .await;
    let foreign_status = orders(&l)
        .await
        .into_iter()
        .find(|(id, _)| id == "by-hand-1")
        .map(|(_, st)| st);
    assert_eq!(foreign_status.as_deref(), Some("NEW"));
    d.kill();
    l.sim.shutdown().await;
}
