//! Never locked out by an exchange that does not answer at start (docs/incidents.md
//! (seed 003)): the real `sluice run` binary pointed at a port nobody listens on yet
//! starts, serves `/healthz`, says on `/readyz` that the exchange is unreachable, accepts
//! a close, and works it once the simulator starts listening on that port — the same
//! process, no restart.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::json;
use sluice::domain::{Direction, IntentState, PositionSide, Price, Qty};
use sluice::ledger::{AdoptPosition, IntentId, Ledger};
use sluice_sim::spawn;
use sluice_testkit::executor::*;
use sqlx::PgPool;

const SYMBOLS: (&str, &str) = ("SLUICE__EXCHANGE__SYMBOLS", "BTCUSDT,DOGEUSDT,XRPUSDT");

fn doge_long() -> sluice_sim::Scenario {
    scenario(
        "",
        "positions = [ { symbol = \"DOGEUSDT\", side = \"LONG\", quantity = \"5000\", entry_price = \"0.2\" } ]",
    )
}

#[sqlx::test(migrations = "./migrations")]
async fn an_exchange_unreachable_at_start_is_waited_for_and_the_close_completes(pool: PgPool) {
    // Arrange: the ledger knows the DOGE long; nothing listens on the exchange's port.
    let db_url = sluice_testkit::process::database_url(&pool).await;
    let ledger = Ledger::from_pool(pool);
    ledger
        .adopt_position(&AdoptPosition {
            venue: "binance-usdm".into(),
            symbol: sym("DOGEUSDT"),
            direction: Direction::Long,
            position_side: PositionSide::Both,
            quantity: Qty::parse("quantity", "5000").expect("qty"),
            entry_price: Price::parse("entry_price", "0.2").expect("price"),
            actor: "test".into(),
            reason: "adopted by an earlier run".into(),
        })
        .await
        .expect("position");
    let venue: SocketAddr = format!("127.0.0.1:{}", sluice_testkit::db::cluster::free_port())
        .parse()
        .expect("addr");

    // Act: start the daemon while the exchange refuses connections.
    let mut d =
        sluice_testkit::process::spawn_daemon_on("unreachable", &venue, &db_url, &[SYMBOLS]).await;

    // Assert: alive, and /readyz names the reason.
    let (code, health) = d.get("/healthz").await;
    assert_eq!((code, health["status"].as_str()), (200, Some("ok")));
    let why = d
        .until_readyz("readyz naming the exchange", Duration::from_secs(60), |b| {
            b["reason"]
                .as_str()
                .is_some_and(|r| r.contains("exchange unreachable"))
        })
        .await;
    assert_eq!(why["ready"], false, "{why}");

    // Act: a close while the exchange is down, then the exchange comes up on its port.
    let (code, created) = d
        .post(
            "/v1/intents",
            &json!({"kind": "close", "symbol": "DOGEUSDT", "side": "long",
                    "idempotency_key": "while-down", "reason": "incident"}),
        )
        .await;
    assert_eq!(code, 202, "{created}");
    let close = IntentId(created["id"].as_i64().expect("id"));
    let sim = spawn(doge_long(), venue).await.expect("sim on the port");

    // Assert: the close ends done, the account is flat, the process never exited.
    sluice_testkit::process::until("the close to finish", Duration::from_secs(120), || async {
        let row = ledger.intent(close).await.expect("read").expect("intent");
        row.state.is_terminal()
    })
    .await;
    let row = ledger.intent(close).await.expect("read").expect("intent");
    assert_eq!(row.state, IntentState::Done, "close: {:?}", row.error);
    let positions = sluice_testkit::process::sim_account(&sim).await["positions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(positions.is_empty(), "flat: {positions:?}");
    assert!(d.running(), "no exit, no restart");
    assert!(d.logged("exchange unreachable at start; retrying"));
    assert!(d.logged("exchange reachable: adapter connected"));
    drop(d);
    sim.shutdown().await;
}

/// The degradation `/readyz` lists for a user stream that is not connected, if any.
fn stream_degradation(readyz: &serde_json::Value) -> Option<String> {
    readyz["degraded"]
        .as_array()?
        .iter()
        .find_map(|d| (d["component"] == "user_stream_connection").then(|| d["reason"].to_string()))
}

#[sqlx::test(migrations = "./migrations")]
async fn a_user_stream_failing_to_connect_at_start_is_reported_and_retried_until_it_connects(
    pool: PgPool,
) {
    // Arrange: for the first 12 s the venue refuses every listenKey (503).
    let db_url = sluice_testkit::process::database_url(&pool).await;
    let s = scenario(
        "[[faults]]\nfrom = 0\nuntil = 12\nendpoints = [\"POST /fapi/v1/listenKey\"]\nunavailable_503 = 1.0\n",
        "",
    );
    let sim = spawn(s, "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("sim");

    // Act: start the daemon.
    let mut d = sluice_testkit::process::spawn_daemon("no-stream", &sim, &db_url, &[SYMBOLS]).await;

    // Assert: it starts and trades, /readyz lists the stream as not connected.
    let down = d
        .until_readyz("readyz naming the stream", Duration::from_secs(60), |b| {
            b["ready"] == true && stream_degradation(b).is_some()
        })
        .await;
    let why = stream_degradation(&down).unwrap_or_default();
    assert!(
        why.contains("listenKey") && why.contains("reconnecting"),
        "{down}"
    );

    // Assert: once the venue hands out listenKeys again the stream connects and the
    // degradation goes; it took several tries, and the process never exited.
    d.until_readyz("the stream connected", Duration::from_secs(90), |b| {
        b["ready"] == true && stream_degradation(b).is_none()
    })
    .await;
    let retries = d.log_lines("user stream down; reconnecting").len();
    assert!(retries >= 2, "retried with backoff: {retries} tries logged");
    assert!(d.running());
    drop(d);
    sim.shutdown().await;
}
