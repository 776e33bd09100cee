//! The dead-man's switch through the real `sluice run` binary: while the daemon runs it
//! renews `countdownCancelAll` for a symbol with a resting order, so the order outlives
//! many countdowns; SIGKILLed, the renewals stop and the venue cancels the order itself.
//! Both for an order placed by someone else (found by the venue read) and for sluice's
//! own resting LIMIT order (found in the ledger).

use std::time::Duration;

use serde_json::Value;
use sluice_testkit::adapter::{resting_price, start, Loop};
use sluice_testkit::executor::scenario;
use sluice_testkit::process::*;
use sqlx::PgPool;

const ENDPOINT: &str = "POST /fapi/v1/countdownCancelAll";

fn renewals(state: &Value) -> i64 {
    state["stats"]["requestsByEndpoint"][ENDPOINT]
        .as_i64()
        .unwrap_or(0)
}

/// Wait for eight renewals: 4 s at 500 ms, two 2 s countdowns outlived.
async fn eight_renewals(d: &DaemonProc, l: &Loop) {
    d.until_ok(
        "eight renewals (4 s, two countdowns)",
        Duration::from_secs(30),
        async || {
            let n = renewals(&l.state().await);
            if n >= 8 {
                Ok(n)
            } else {
                Err(n)
            }
        },
    )
    .await;
}

#[sqlx::test(migrations = "./migrations")]
async fn the_dead_mans_switch_cancels_a_resting_order_once_the_daemon_stops_renewing_it(
    pool: PgPool,
) {
    // Arrange: a resting BUY 10 % under the mark, and a daemon with a 2 s countdown.
    let db_url = database_url(&pool).await;
    let l = start(scenario("[[symbols]]\nname = \"SOLUSDT\"\n", "")).await;
    l.rest_by_hand("SOLUSDT", "resting-1").await;
    let env = [("SLUICE__DAEMON__DEAD_MAN_SWITCH_MS", "2000")];
    let mut d = spawn_daemon("deadman", &l.sim, &db_url, &env).await;
    d.until_status("ready", Duration::from_secs(60)).await;

    // Alive: renewed every 500 ms, the order outlives several countdowns.
    eight_renewals(&d, &l).await;
    assert_eq!(
        l.status_of("resting-1").await.as_deref(),
        Some("NEW"),
        "renewed, never run out"
    );

    // Act: the daemon dies.
    d.kill();

    // Assert: the venue cancels the order when the last countdown runs out.
    until(
        "the venue to cancel it",
        Duration::from_secs(15),
        || async { l.status_of("resting-1").await.as_deref() == Some("CANCELED") },
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
    let coid = d
        .rest_limit_open(&l, "SOLUSDT", &price, "deadman-own-1")
        .await;

    // Assert: its symbol is renewed, and the order outlives several countdowns...
    eight_renewals(&d, &l).await;
    assert_eq!(l.status_of(&coid).await.as_deref(), Some("NEW"));
    // ...and once the daemon dies, the venue cancels it.
    d.kill();
    until(
        "the venue to cancel sluice's order",
        Duration::from_secs(15),
        || async { l.status_of(&coid).await.as_deref() == Some("CANCELED") },
    )
    .await;
    l.sim.shutdown().await;
}
