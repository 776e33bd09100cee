//! Exchange-side protection through the real `sluice run` binary and the simulator's Algo
//! Service: an open with a stop-loss leaves a STOP_MARKET `closePosition` order at the
//! venue and a `protective_orders` row in the ledger; with the daemon SIGKILLed the mark
//! falls through the stop and the venue closes the position by itself; restarted, the
//! daemon records the stop's fills as CLOSE fills of the position and doctor is clean.
//! A stop firing while sluice runs closes the position through close fills. Growth,
//! closes and hedge legs are in `protect_legs.rs`, the failure cases in
//! `protect_faults.rs`.

use std::process::Command;
use std::time::Duration;

use rust_decimal::Decimal;
use serde_json::{json, Value};
use sluice::ledger::{IntentId, Ledger, PositionStatus};
use sluice_sim::{spawn, SimHandle};
use sluice_testkit::executor::scenario;
use sluice_testkit::process::*;
use sqlx::PgPool;

pub(crate) const ENV: [(&str, &str); 1] = [("SLUICE__BUDGET__ALLOCATION_USDT", "1000000")];

pub(crate) fn sim_scenario() -> sluice_sim::Scenario {
    scenario(
        "[[symbols]]\nname = \"SOLUSDT\"\nlevel_qty = \"2000\"\n",
        "",
    )
}

/// What every protect test starts from: the test's database (URL and ledger), a
/// simulator on `scenario`, and a daemon (`sluice run`) on both, ready.
pub(crate) struct Arranged {
    pub db_url: String,
    pub ledger: Ledger,
    pub sim: SimHandle,
    pub d: DaemonProc,
}

pub(crate) async fn arrange(
    pool: &PgPool,
    scenario: sluice_sim::Scenario,
    name: &'static str,
    env: &[(&str, &str)],
) -> Arranged {
    let db_url = database_url(pool).await;
    let ledger = Ledger::from_pool(pool.clone());
    let sim = spawn(scenario, "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("sim");
    let d = spawn_daemon(name, &sim, &db_url, env).await;
    d.until_status("ready", Duration::from_secs(60)).await;
    Arranged {
        db_url,
        ledger,
        sim,
        d,
    }
}

pub(crate) async fn sim_state(sim: &SimHandle) -> Value {
    reqwest::get(format!("{}/sim/state", sim.base_url()))
        .await
        .expect("state")
        .json()
        .await
        .expect("json")
}

pub(crate) async fn set_mark(sim: &SimHandle, price: Decimal) {
    let r = reqwest::Client::new()
        .post(format!("{}/sim/marks", sim.base_url()))
        .json(&json!({"symbol": "SOLUSDT", "mark_price": price.to_string()}))
        .send()
        .await
        .expect("mark");
    assert!(r.status().is_success(), "mark moved");
}

pub(crate) fn sol_mark(state: &Value) -> Decimal {
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
pub(crate) async fn doctor(db_url: &str) -> (i32, String) {
    let db = db_url.to_string();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_sluice"))
            .arg("doctor")
            .env_remove("RUST_LOG")
            .env(ENV[0].0, ENV[0].1)
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
pub(crate) async fn open_protected(
    d: &DaemonProc,
    ledger: &Ledger,
    key: &str,
    protection: Value,
) -> i64 {
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

/// Wait until the venue holds exactly one algo order and the ledger's only live row for
/// `position` is that order, NEW; returns its clientAlgoId.
pub(crate) async fn until_one_live_stop(
    d: &DaemonProc,
    sim: &SimHandle,
    ledger: &Ledger,
    position: i64,
) -> String {
    d.until_ok("one live stop", Duration::from_secs(30), || async {
        let state = sim_state(sim).await;
        let algos = state["accounts"][0]["openAlgoOrders"].clone();
        let rows = ledger
            .protective_orders_of(sluice::ledger::PositionId(position))
            .await
            .expect("rows");
        let live: Vec<_> = rows.iter().filter(|r| r.is_live()).collect();
        match (algos.as_array().map(Vec::as_slice), live.as_slice()) {
            (Some([a]), [r])
                if r.state == Some(sluice::exchange::AlgoStatus::New)
                    && a["clientAlgoId"] == r.client_algo_id.as_str() =>
            {
                Ok(r.client_algo_id.clone())
            }
            _ => Err(format!("{algos} / {rows:?}")),
        }
    })
    .await
}

pub(crate) async fn position_status(ledger: &Ledger, position: i64) -> PositionStatus {
    ledger
        .position(sluice::ledger::PositionId(position))
        .await
        .expect("read")
        .expect("position")
        .status
}

/// The stop's fills: (the order's intent kind, quantity applied, how many external).
pub(crate) async fn stop_fills(pool: &PgPool, client_algo_id: &str) -> (String, Decimal, i64) {
    sqlx::query_as(
        "SELECT o.intent_kind, sum(f.applied_quantity), count(*) FILTER (WHERE f.external)
           FROM fills f JOIN orders o ON o.id = f.order_id
           JOIN protective_orders po ON po.order_id = o.id
          WHERE po.client_algo_id = $1 GROUP BY o.intent_kind",
    )
    .bind(client_algo_id)
    .fetch_one(pool)
    .await
    .expect("the stop's fills")
}

#[sqlx::test(migrations = "./migrations")]
async fn a_stop_firing_while_sluice_runs_closes_the_position_through_close_fills(pool: PgPool) {
    let Arranged {
        db_url,
        ledger,
        sim,
        d,
    } = arrange(&pool, sim_scenario(), "live-stop", &ENV).await;
    let position = open_protected(
        &d,
        &ledger,
        "live-open",
        json!({"take_profit": {"pct": "3"}}),
    )
    .await;
    let caid = until_one_live_stop(&d, &sim, &ledger, position).await;
    assert!(caid.starts_with("tpp"), "{caid}");

    // Act: the mark rises through the take-profit while the daemon watches.
    let mark = sol_mark(&sim_state(&sim).await);
    set_mark(&sim, (mark * Decimal::new(105, 2)).round_dp(2)).await;

    // Assert: the stream's ALGO_UPDATE links the order; its fills close the position.
    d.until_ok("the position closed", Duration::from_secs(30), || async {
        match position_status(&ledger, position).await {
            PositionStatus::Closed => Ok(()),
            s => Err(format!("{s:?}")),
        }
    })
    .await;
    let (kind, closed, external) = stop_fills(&pool, &caid).await;
    assert_eq!(
        (kind.as_str(), closed, external),
        ("close", Decimal::from(10), 0)
    );
    let p = ledger
        .position(sluice::ledger::PositionId(position))
        .await
        .expect("read")
        .expect("position");
    assert!(
        p.realized_pnl > Decimal::ZERO,
        "a take-profit: {}",
        p.realized_pnl
    );
    let (code, out) = doctor(&db_url).await;
    assert_eq!(code, 0, "doctor is clean: {out}");
    drop(d);
    sim.shutdown().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn a_stop_closes_the_position_on_the_exchange_while_sluice_is_dead_and_the_ledger_learns_it_on_restart(
    pool: PgPool,
) {
    // Arrange: the daemon opens a LONG 10 SOLUSDT with a 2 % stop on the mark.
    let Arranged {
        db_url,
        ledger,
        sim,
        mut d,
    } = arrange(&pool, sim_scenario(), "protect", &ENV).await;
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
    let (kind, closed, external) = stop_fills(&pool, &client_algo_id).await;
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
