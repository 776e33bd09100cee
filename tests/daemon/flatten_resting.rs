//! A flatten first cancels sluice's own resting orders: found by reading the venue's open
//! orders of the symbols where the ledger holds a sluice LIMIT order (one cheap read per
//! symbol), never touching an order someone else placed on the account.

use std::time::Duration;

use serde_json::json;
use sluice_testkit::adapter::start;
use sluice_testkit::executor::scenario;
use sluice_testkit::process::*;
use sqlx::PgPool;

#[sqlx::test(migrations = "./migrations")]
async fn a_flatten_cancels_sluices_resting_limit_order_and_leaves_a_foreign_one(pool: PgPool) {
    // Arrange: a foreign BUY resting under the mark, then sluice's own GTC LIMIT open.
    let db_url = database_url(&pool).await;
    let l = start(scenario("[[symbols]]\nname = \"SOLUSDT\"\n", "")).await;
    let price = l.rest_by_hand("SOLUSDT", "by-hand-1").await;
    let mut d = spawn_daemon("flatten-resting", &l.sim, &db_url, &[]).await;
    d.until_status("ready", Duration::from_secs(60)).await;
    let own = d.rest_limit_open(&l, "SOLUSDT", &price, "rest-1").await;

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
        || async { l.status_of(&own).await.as_deref() == Some("CANCELED") },
    )
    .await;
    assert_eq!(l.status_of("by-hand-1").await.as_deref(), Some("NEW"));
    d.kill();
    l.sim.shutdown().await;
}
