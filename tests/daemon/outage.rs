//! Recover fast: after a total exchange outage during a close, the first answer of the
//! venue to the executor's probe cuts the close's backoff short — the next chunk goes
//! out without waiting out a backoff grown during the outage. Asserted on the daemon's
//! recorded evidence (its log), never on wall time.

use std::time::Duration;

use serde_json::{json, Value};
use sluice::domain::IntentState;
use sluice::ledger::{IntentId, Ledger};
use sluice_sim::spawn;
use sluice_testkit::executor::*;
use sqlx::PgPool;

const SYMBOLS: (&str, &str) = ("SLUICE__EXCHANGE__SYMBOLS", "BTCUSDT,DOGEUSDT,XRPUSDT");

/// A DOGE long closed in MARKET chunks of 1,000.
fn doge_in_chunks() -> sluice_sim::Scenario {
    scenario(
        "[[symbols]]\nname = \"DOGEUSDT\"\nmarket_max_qty = \"1000\"\n",
        "positions = [ { symbol = \"DOGEUSDT\", side = \"LONG\", quantity = \"5000\", entry_price = \"0.2\" } ]",
    )
}

fn intent_lines(d: &sluice_testkit::process::DaemonProc, id: IntentId) -> Vec<Value> {
    d.logs
        .lock()
        .expect("logs")
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| {
            v["intent_id"].as_str() == Some(&id.get().to_string())
                || v["intent_id"] == json!(id.get())
        })
        .collect()
}

#[sqlx::test(migrations = "./migrations")]
async fn after_a_total_outage_a_probe_cuts_the_close_backoff_short(pool: PgPool) {
    // Arrange: a daemon leading, the long adopted.
    let db_url = sluice_testkit::process::database_url(&pool).await;
    let ledger = Ledger::from_pool(pool.clone());
    let sim = spawn(doge_in_chunks(), "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("sim");
    let d = sluice_testkit::process::spawn_daemon("outage", &sim, &db_url, &[SYMBOLS]).await;
    d.until_status("ready", Duration::from_secs(60)).await;

    // Act: every order and every ping fails with 503 for 8 s; a close is submitted in it.
    let outage = json!({"from": 0, "until": 8, "unavailable_503": 1.0,
        "endpoints": ["POST /fapi/v1/order", "GET /fapi/v1/ping"]});
    let r = reqwest::Client::new()
        .post(format!("{}/sim/faults", sim.base_url()))
        .json(&outage)
        .send()
        .await
        .expect("fault");
    assert!(r.status().is_success());
    let (code, created) = d
        .post(
            "/v1/intents",
            &json!({"kind": "close", "symbol": "DOGEUSDT", "side": "long",
                    "idempotency_key": "through-outage", "reason": "incident"}),
        )
        .await;
    assert_eq!(code, 202, "{created}");
    let id = IntentId(created["id"].as_i64().expect("id"));

    // Assert: the close completes; a probe cut its backoff short once the venue answered,
    // and after that no chunk failed again (no backoff wait after the recovery).
    sluice_testkit::process::until("the close to finish", Duration::from_secs(120), || async {
        let row = ledger.intent(id).await.expect("read").expect("intent");
        row.state.is_terminal()
    })
    .await;
    let row = ledger.intent(id).await.expect("read").expect("intent");
    assert_eq!(row.state, IntentState::Done, "close: {:?}", row.error);
    let lines = intent_lines(&d, id);
    let failed_before = lines
        .iter()
        .filter(|l| l["message"] == "chunk failed")
        .count();
    assert!(
        failed_before >= 1,
        "the outage failed the close's chunks: {lines:?}"
    );
    let cut = lines
        .iter()
        .rposition(|l| {
            l["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("backoff cut short by a successful probe"))
        })
        .unwrap_or_else(|| panic!("no probe cut the backoff short: {lines:?}"));
    let after = &lines[cut..];
    assert!(
        after.iter().all(|l| l["message"] != "chunk failed"),
        "no backoff wait after the recovery: {after:?}"
    );
    let (banned,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM order_attempts WHERE http_status IN (418, 429)")
            .fetch_one(&pool)
            .await
            .expect("attempts");
    assert_eq!(banned, 0, "the probes earned no 429/418");
    drop(d);
    sim.shutdown().await;
}
