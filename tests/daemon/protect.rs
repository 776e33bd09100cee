//! Exchange-side protection through the real `sluice run` binary and the simulator's Algo
//! Service: an open with a stop-loss leaves a STOP_MARKET `closePosition` order at the
//! venue and a `protective_orders` row in the ledger; with the daemon SIGKILLed the mark
//! falls through the stop and the venue closes the position by itself; restarted, the
//! daemon records the stop's fills as CLOSE fills of the position and doctor is clean.

use std::process::Command;
use std::time::Duration;

use rust_decimal::Decimal;
use serde_json::{json, Value};
use sluice::ledger::{IntentId, Ledger, PositionStatus};
use sluice_sim::{spawn, SimHandle};
use sluice_testkit::executor::scenario;
use sluice_testkit::process::*;
use sqlx::PgPool;

const ENV: [(&str, &str); 1] = [("SLUICE__BUDGET__ALLOCATION_USDT", "1000000")];

fn sim_scenario() -> sluice_sim::Scenario {
    scenario(
        "[[symbols]]\nname = \"SOLUSDT\"\nlevel_qty = \"2000\"\n",
        "",
    )
}

async fn sim_state(sim: &SimHandle) -> Value {
    reqwest::get(format!("{}/sim/state", sim.base_url()))
        .await
        .expect("state")
        .json()
        .await
        .expect("json")
}

async fn set_mark(sim: &SimHandle, price: Decimal) {
    let r = reqwest::Client::new()
        .post(format!("{}/sim/marks", sim.base_url()))
        .json(&json!({"symbol": "SOLUSDT", "mark_price": price.to_string()}))
        .send()
        .await
        .expect("mark");
    assert!(r.status().is_success(), "mark moved");
}

fn sol_mark(state: &Value) -> Decimal {
    let marks = state["marks"].as_array().expect("marks");
    let m = marks
        .iter()
        .find(|m| m["symbol"] == "SOLUSDT")
        .expect("SOLUSDT mark");
    serde_json::from_value::<String>(m["mark_price"].clone())
        .ok()
        .and_then(|s| s.parse().ok())
        .or_else(|| {
            m["mark_price"]
                .as_f64()
                .and_then(|f| Decimal::try_from(f).ok())
        })
        .expect("mark price")
}

/// `sluice doctor` on the test's database: its exit code and output.
async fn doctor(db_url: &str) -> (i32, String) {
    let db = db_url.to_string();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_sluice"))
            .arg("doctor")
            .env_remove("RUST_LOG")
            .env("DATABASE_URL", db)
            .output()
            .expect("sluice doctor runs")
    })
    .await
    .expect("join");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// Post an open with `protection` merged in and wait until it is done.
async fn open_protected(d: &DaemonProc, ledger: &Ledger, key: &str, protection: Value) -> i64 {
    let mut body = json!({"kind": "open", "symbol": "SOLUSDT", "side": "long",
                          "quantity": "10", "idempotency_key": key});
    for (k, v) in protection.as_object().expect("object") {
        body[k] = v.clone();
    }
    let (code, created) = d.post("/v1/intents", &body).await;
    assert_eq!(code, 202, "{created}");
    let intent = IntentId(created["id"].as_i64().expect("id"));
    until("the open to finish", Duration::from_secs(60), || async {
        let row = ledger.intent(intent).await.expect("read").expect("intent");
        row.state.is_terminal()
    })
    .await;
    let row = ledger.intent(intent).await.expect("read").expect("intent");
    row.position_id.expect("the open built a position").0
}

#[sqlx::test(migrations = "./migrations")]
async fn a_stop_closes_the_position_on_the_exchange_while_sluice_is_dead_and_the_ledger_learns_it_on_restart(
    pool: PgPool,
) {
    // Arrange: the daemon opens a LONG 10 SOLUSDT with a 2 % stop on the mark.
    let db_url = database_url(&pool).await;
    let ledger = Ledger::from_pool(pool.clone());
    let sim = spawn(sim_scenario(), "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("sim");
    let mut d = spawn_daemon("protect", &sim, &db_url, &ENV).await;
    d.until_status("ready", Duration::from_secs(60)).await;
    let position = open_protected(
        &d,
        &ledger,
        "protected-open",
        json!({"stop_loss": {"pct": "2"}}),
    )
    .await;
    let client_algo_id = format!("slp{position}g1");

    // The stop is live at the venue and in the ledger.
    let stop = d
        .until_ok("the stop at the venue", Duration::from_secs(30), || async {
            let state = sim_state(&sim).await;
            let algos = state["accounts"][0]["openAlgoOrders"].clone();
            match algos.as_array().map(Vec::len) {
                Some(1) => Ok(algos[0].clone()),
                _ => Err(algos),
            }
        })
        .await;
    assert_eq!(stop["clientAlgoId"], client_algo_id.as_str(), "{stop}");
    assert_eq!(
        (
            &stop["orderType"],
            &stop["side"],
            &stop["closePosition"],
            &stop["workingType"]
        ),
        (
            &json!("STOP_MARKET"),
            &json!("SELL"),
            &json!(true),
            &json!("MARK_PRICE")
        ),
        "{stop}"
    );
    let rows = ledger
        .protective_orders_of(sluice::ledger::PositionId(position))
        .await
        .expect("rows");
    assert_eq!(rows.len(), 1, "{rows:?}");
    let entry = ledger
        .position(sluice::ledger::PositionId(position))
        .await
        .expect("read")
        .expect("position")
        .entry_price;
    assert!(
        rows[0].trigger_price < entry && rows[0].trigger_price >= entry * Decimal::new(98, 2),
        "2 % under the entry {entry}: {:?}",
        rows[0].trigger_price
    );

    // Act: the daemon dies; the mark falls through the stop.
    d.kill();
    let mark = sol_mark(&sim_state(&sim).await);
    set_mark(&sim, (mark * Decimal::new(95, 2)).round_dp(2)).await;

    // The venue closed the position with nobody running.
    let state = sim_state(&sim).await;
    assert!(
        state["accounts"][0]["positions"]
            .as_array()
            .is_some_and(Vec::is_empty),
        "the exchange closed it: {}",
        state["accounts"][0]["positions"]
    );
    assert!(
        state["accounts"][0]["openAlgoOrders"]
            .as_array()
            .is_some_and(Vec::is_empty),
        "the stop is spent"
    );
    let p = ledger
        .position(sluice::ledger::PositionId(position))
        .await
        .expect("read")
        .expect("position");
    assert_eq!(p.status, PositionStatus::Open, "the ledger cannot know yet");

    // Restart: the ledger learns the stop's fills as close fills of the position.
    let d = spawn_daemon("protect", &sim, &db_url, &ENV).await;
    d.until_ok(
        "the position closed in the ledger",
        Duration::from_secs(60),
        || async {
            let p = ledger
                .position(sluice::ledger::PositionId(position))
                .await
                .expect("read")
                .expect("position");
            if p.status == PositionStatus::Closed {
                Ok(())
            } else {
                Err(format!("{:?} {}", p.status, p.quantity))
            }
        },
    )
    .await;
    let (kind, closed, external): (String, Decimal, i64) = sqlx::query_as(
        "SELECT o.intent_kind, sum(f.applied_quantity), count(*) FILTER (WHERE f.external)
           FROM fills f JOIN orders o ON o.id = f.order_id
           JOIN protective_orders po ON po.order_id = o.id
          WHERE po.client_algo_id = $1 GROUP BY o.intent_kind",
    )
    .bind(&client_algo_id)
    .fetch_one(&pool)
    .await
    .expect("the stop's fills");
    assert_eq!(
        (kind.as_str(), closed, external),
        ("close", Decimal::from(10), 0)
    );
    let rows = ledger
        .protective_orders_of(sluice::ledger::PositionId(position))
        .await
        .expect("rows");
    assert_eq!(
        rows[0].state,
        Some(sluice::exchange::AlgoStatus::Finished),
        "{rows:?}"
    );
    let (code, out) = doctor(&db_url).await;
    assert_eq!(code, 0, "doctor is clean: {out}");
    drop(d);
    sim.shutdown().await;
}
