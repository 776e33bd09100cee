//! Postgres away: the real `sluice run` binary started before its ledger's server is up
//! waits for it (serving `/healthz`, `/readyz` with the reason) and then works the close
//! it finds; a Postgres restart under a running daemon is survived in-process (same
//! process, lock taken again, ready again, closes work). Each test owns a private
//! cluster (`sluice_testkit::process::cluster`), never the shared test server.

use std::time::Duration;

use serde_json::json;
use sluice::domain::{Direction, IntentState, PositionSide, Price, Qty};
use sluice::ledger::{AdoptPosition, IntentId, Ledger};
use sluice_sim::spawn;
use sluice_testkit::db::cluster::Cluster;
use sluice_testkit::executor::*;

const SYMBOLS: (&str, &str) = ("SLUICE__EXCHANGE__SYMBOLS", "BTCUSDT,DOGEUSDT,XRPUSDT");

fn doge_and_xrp_longs() -> sluice_sim::Scenario {
    scenario(
        "",
        "positions = [ { symbol = \"DOGEUSDT\", side = \"LONG\", quantity = \"5000\", entry_price = \"0.2\" }, \
                       { symbol = \"XRPUSDT\", side = \"LONG\", quantity = \"2000\", entry_price = \"2.5\" } ]",
    )
}

async fn ledger_of(cluster: &Cluster) -> Ledger {
    Ledger::connect(&cluster.url()).await.expect("ledger")
}

async fn until_done(ledger: &Ledger, id: IntentId, within: Duration) -> sluice::ledger::IntentRow {
    sluice_testkit::process::until("the intent to finish", within, || async {
        match ledger.intent(id).await {
            Ok(Some(row)) => row.state.is_terminal(),
            _ => false,
        }
    })
    .await;
    ledger.intent(id).await.expect("read").expect("intent")
}

#[tokio::test]
async fn started_before_postgres_it_serves_health_waits_and_then_works_the_stored_close() {
    // Arrange: the ledger knows the DOGE long and holds a close for it; then its server
    // goes down, and the daemon starts while it is down.
    let cluster = Cluster::init("late");
    cluster.start();
    let ledger = ledger_of(&cluster).await;
    ledger.migrate().await.expect("migrate");
    let position = ledger
        .adopt_position(&AdoptPosition {
            venue: "binance-usdm".into(),
            symbol: sym("DOGEUSDT"),
            direction: Direction::Long,
            position_side: PositionSide::Both,
            quantity: Qty::parse("quantity", "5000").expect("qty"),
            entry_price: Price::parse("entry_price", "0.2").expect("price"),
            actor: "test".into(),
            reason: "the long the daemon adopted before".into(),
        })
        .await
        .expect("position");
    let close = ledger
        .create_intent(&close_all(position.id, "pg-late-close"), allocation())
        .await
        .expect("close stored")
        .intent
        .id;
    ledger.pool().close().await;
    cluster.stop();
    let sim = spawn(doge_and_xrp_longs(), "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("sim");

    // Act: start the daemon with its database down.
    let mut d =
        sluice_testkit::process::spawn_daemon("pg-late", &sim, &cluster.url(), &[SYMBOLS]).await;

    // Assert: it answers health probes and says what it waits for.
    let (code, health) = d.get("/healthz").await;
    assert_eq!((code, health["status"].as_str()), (200, Some("ok")));
    let waiting = d
        .until_readyz("readyz naming the database", Duration::from_secs(30), |b| {
            b["reason"]
                .as_str()
                .is_some_and(|r| r.contains("waiting for the ledger database"))
        })
        .await;
    assert_eq!(waiting["ready"], false, "{waiting}");

    // Act: the database comes up.
    cluster.start();

    // Assert: the stored close completes, without the process ever exiting.
    let ledger = ledger_of(&cluster).await;
    let row = until_done(&ledger, close, Duration::from_secs(120)).await;
    assert_eq!(row.state, IntentState::Done, "close: {:?}", row.error);
    assert!(d.running(), "the daemon never exited");
    let positions = sluice_testkit::process::sim_account(&sim).await["positions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        positions.iter().all(|p| p["symbol"] != "DOGEUSDT"),
        "DOGE closed: {positions:?}"
    );
    drop(d);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_postgres_restart_is_survived_in_process_and_a_later_close_completes() {
    // Arrange: a daemon leading on its own cluster, the sim's longs adopted.
    let cluster = Cluster::init("restart");
    cluster.start();
    let sim = spawn(doge_and_xrp_longs(), "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("sim");
    let mut d =
        sluice_testkit::process::spawn_daemon("pg-restart", &sim, &cluster.url(), &[SYMBOLS]).await;
    d.until_status("ready", Duration::from_secs(60)).await;
    let pid = d.child.id();

    // Act: restart Postgres under it.
    cluster.stop();
    d.until_readyz(
        "readyz not ready while Postgres is down",
        Duration::from_secs(30),
        |b| b["ready"] == false,
    )
    .await;
    cluster.start();

    // Assert: the same process becomes ready again, having re-taken the lock itself.
    d.until_status("ready", Duration::from_secs(60)).await;
    assert!(d.running(), "the daemon never exited");
    assert_eq!(d.child.id(), pid);
    assert!(d.logged("LOST the leader lock"));
    let terms = d.log_lines("takeover grace decided");
    assert_eq!(terms.len(), 2, "two terms: {terms:?}");
    let again = terms[1]["decision"].as_str().unwrap_or_default();
    assert!(
        again.contains("this daemon was the previous holder"),
        "{again}"
    );

    // Act: a close submitted after the restart.
    let (code, created) = d
        .post(
            "/v1/intents",
            &json!({"kind": "close", "symbol": "DOGEUSDT", "side": "long",
                    "idempotency_key": "after-restart", "reason": "test"}),
        )
        .await;
    assert_eq!(code, 202, "{created}");
    let id = IntentId(created["id"].as_i64().expect("id"));

    // Assert: it completes; the process is the one started first.
    let ledger = ledger_of(&cluster).await;
    let row = until_done(&ledger, id, Duration::from_secs(60)).await;
    assert_eq!(row.state, IntentState::Done, "close: {:?}", row.error);
    assert!(d.running());
    drop(d);
    sim.shutdown().await;
}
