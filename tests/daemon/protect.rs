//! Exchange-side protection through the real `sluice run` binary and the simulator's Algo
//! Service: an open with a stop-loss leaves a STOP_MARKET `closePosition` order at the
//! venue and a `protective_orders` row in the ledger; with the daemon SIGKILLed the mark
//! falls through the stop and the venue closes the position by itself; restarted, the
//! daemon records the stop's fills as CLOSE fills of the position and doctor is clean.
//! A stop stuck in TRIGGERING makes sluice close the position itself (the watchdog); a
//! position that grows gets its new stop before the old one is cancelled; a close that
//! leaves it flat cancels its stop. A venue refusing placements (503) leaves the position
//! unprotected, which doctor reports, until a retry succeeds; `[symbols.<S>]
//! stop_loss_pct` protects an open that asks for nothing.

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

/// Wait until the venue holds exactly one algo order and the ledger's only live row for
/// `position` is that order, NEW; returns its clientAlgoId.
async fn until_one_live_stop(
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

async fn position_status(ledger: &Ledger, position: i64) -> PositionStatus {
    ledger
        .position(sluice::ledger::PositionId(position))
        .await
        .expect("read")
        .expect("position")
        .status
}

/// The stop's fills: (the order's intent kind, quantity applied, how many external).
async fn stop_fills(pool: &PgPool, client_algo_id: &str) -> (String, Decimal, i64) {
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
    let db_url = database_url(&pool).await;
    let ledger = Ledger::from_pool(pool.clone());
    let sim = spawn(sim_scenario(), "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("sim");
    let d = spawn_daemon("live-stop", &sim, &db_url, &ENV).await;
    d.until_status("ready", Duration::from_secs(60)).await;
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
async fn an_algo_order_placed_by_hand_is_reported_as_held_on_one_side_only(pool: PgPool) {
    use sluice::exchange::{AlgoOrderRequest, Exchange, ProtectionKind, WorkingType};
    let db_url = database_url(&pool).await;
    let sim = spawn(sim_scenario(), "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("sim");
    let hand = hand_adapter(&sim).await;
    let mark = sol_mark(&sim_state(&sim).await);
    let by_hand = AlgoOrderRequest {
        symbol: sluice::domain::Symbol::new("SOLUSDT").expect("symbol"),
        side: sluice::domain::Side::Sell,
        position_side: sluice::domain::PositionSide::Both,
        kind: ProtectionKind::StopLoss,
        trigger_price: sluice::domain::Price::new("p", (mark * Decimal::new(9, 1)).round_dp(2))
            .expect("price"),
        working_type: WorkingType::Mark,
        quantity: None,
        client_algo_id: "by-hand-1".into(),
    };
    hand.place_algo_order(&by_hand)
        .await
        .expect("placed by hand");

    let d = spawn_daemon("one-sided", &sim, &db_url, &ENV).await;
    d.until_ok("the one-sided report", Duration::from_secs(30), || async {
        let m = d.metrics().await;
        if m.contains("sluice_protective_one_sided{side=\"exchange_only\"} 1") {
            Ok(())
        } else {
            Err(m)
        }
    })
    .await;
    drop(d);
    sim.shutdown().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn a_stop_stuck_in_triggering_makes_sluice_close_the_position_itself(pool: PgPool) {
    // Arrange: a protected LONG; the venue's triggers stall (fired, no order).
    let db_url = database_url(&pool).await;
    let ledger = Ledger::from_pool(pool.clone());
    let sim = spawn(sim_scenario(), "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("sim");
    let env = [ENV[0], ("SLUICE__DAEMON__STOP_WATCHDOG_MS", "1000")];
    let d = spawn_daemon("watchdog", &sim, &db_url, &env).await;
    d.until_status("ready", Duration::from_secs(60)).await;
    let position = open_protected(
        &d,
        &ledger,
        "stuck-open",
        json!({"stop_loss": {"pct": "2"}}),
    )
    .await;
    let caid = until_one_live_stop(&d, &sim, &ledger, position).await;
    let r = reqwest::Client::new()
        .post(format!("{}/sim/faults", sim.base_url()))
        .json(&json!({"from": 0, "algo_stuck_triggering": true}))
        .send()
        .await
        .expect("fault");
    assert!(r.status().is_success());

    // Act: the mark falls through the stop.
    let mark = sol_mark(&sim_state(&sim).await);
    set_mark(&sim, (mark * Decimal::new(95, 2)).round_dp(2)).await;

    // Assert: sluice closes the position itself; the stop is still stuck at the venue.
    d.until_ok("the watchdog's close", Duration::from_secs(30), || async {
        match position_status(&ledger, position).await {
            PositionStatus::Closed => Ok(()),
            s => Err(format!("{s:?}")),
        }
    })
    .await;
    let (state, reason): (String, String) =
        sqlx::query_as("SELECT state, reason FROM intents WHERE idempotency_key = $1")
            .bind(format!("watchdog:{caid}"))
            .fetch_one(&pool)
            .await
            .expect("the watchdog's close intent");
    assert_eq!(state, "done", "{reason}");
    assert!(reason.contains("triggering"), "{reason}");
    let account = sim_state(&sim).await["accounts"][0].clone();
    assert!(
        account["positions"].as_array().is_some_and(Vec::is_empty),
        "flat at the venue"
    );
    assert_eq!(
        account["openAlgoOrders"][0]["algoStatus"], "TRIGGERING",
        "{account}"
    );
    assert!(
        d.metrics()
            .await
            .contains("sluice_protective_watchdog_total{state=\"triggering\"} 1"),
        "the watchdog is counted"
    );
    drop(d);
    sim.shutdown().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn a_growing_position_gets_its_new_stop_before_the_old_is_cancelled_and_a_close_cancels_it(
    pool: PgPool,
) {
    let db_url = database_url(&pool).await;
    let ledger = Ledger::from_pool(pool.clone());
    let sim = spawn(sim_scenario(), "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("sim");
    let d = spawn_daemon("grow", &sim, &db_url, &ENV).await;
    d.until_status("ready", Duration::from_secs(60)).await;
    let protection = json!({"stop_loss": {"pct": "2"}, "working_type": "contract"});
    let position = open_protected(&d, &ledger, "grow-1", protection.clone()).await;
    let first = until_one_live_stop(&d, &sim, &ledger, position).await;

    // Act 1: the price rises and the position grows: its entry moves up.
    let mark = sol_mark(&sim_state(&sim).await);
    set_mark(&sim, (mark * Decimal::new(105, 2)).round_dp(2)).await;
    let again = open_protected(&d, &ledger, "grow-2", protection).await;
    assert_eq!(again, position, "the same position grew");
    let second = d
        .until_ok("the replacement", Duration::from_secs(30), || async {
            let caid = until_one_live_stop(&d, &sim, &ledger, position).await;
            if caid == first {
                Err(caid)
            } else {
                Ok(caid)
            }
        })
        .await;

    // Assert 1: generation 2 replaced generation 1, placed before it was cancelled.
    let rows = ledger
        .protective_orders_of(sluice::ledger::PositionId(position))
        .await
        .expect("rows");
    let old = rows.iter().find(|r| r.client_algo_id == first).expect("g1");
    let new = rows
        .iter()
        .find(|r| r.client_algo_id == second)
        .expect("g2");
    assert_eq!(old.state, Some(sluice::exchange::AlgoStatus::Canceled));
    assert!(new.trigger_price > old.trigger_price, "{rows:?}");
    assert!(
        new.created_at <= old.updated_at,
        "the new stop came first: {rows:?}"
    );

    // Act 2: close the position.
    let (code, created) = d
        .post(
            "/v1/intents",
            &json!({"kind": "close", "position_id": position, "idempotency_key": "grow-close"}),
        )
        .await;
    assert_eq!(code, 202, "{created}");

    // Assert 2: flat, and no stop left behind at the venue or in the ledger.
    d.until_ok("the stop cancelled", Duration::from_secs(30), || async {
        let algos = sim_state(&sim).await["accounts"][0]["openAlgoOrders"].clone();
        let rows = ledger
            .protective_orders_of(sluice::ledger::PositionId(position))
            .await
            .expect("rows");
        let done = position_status(&ledger, position).await == PositionStatus::Closed
            && algos.as_array().is_some_and(Vec::is_empty)
            && rows.iter().all(|r| !r.is_live());
        if done {
            Ok(())
        } else {
            Err(format!("{algos} / {rows:?}"))
        }
    })
    .await;
    drop(d);
    sim.shutdown().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn a_refused_placement_is_retried_and_doctor_reports_the_position_unprotected_meanwhile(
    pool: PgPool,
) {
    // Arrange: the symbol's default stop applies; the Algo Service answers 503 for now.
    let db_url = database_url(&pool).await;
    let ledger = Ledger::from_pool(pool.clone());
    let sim = spawn(sim_scenario(), "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("sim");
    let env = [ENV[0], ("SLUICE__SYMBOLS__SOLUSDT__STOP_LOSS_PCT", "3")];
    let d = spawn_daemon("retry", &sim, &db_url, &env).await;
    d.until_status("ready", Duration::from_secs(60)).await;
    let http = reqwest::Client::new();
    let fault =
        json!({"from": 0, "endpoints": ["POST /fapi/v1/algoOrder"], "unavailable_503": 1.0});
    let r = http
        .post(format!("{}/sim/faults", sim.base_url()))
        .json(&fault)
        .send()
        .await
        .expect("fault");
    assert!(r.status().is_success());

    // Act: an open asking for no protection of its own.
    let position = open_protected(&d, &ledger, "default-open", json!({})).await;

    // Assert: refused placements are retried and counted; doctor names the gap.
    d.until_ok("placement failures", Duration::from_secs(30), || async {
        let m = d.metrics().await;
        let failed = m.lines().any(|l| {
            l.starts_with("sluice_protective_failures_total{") && l.contains("what=\"place\"")
        });
        if failed {
            Ok(())
        } else {
            Err(m)
        }
    })
    .await;
    let (code, out) = doctor(&db_url).await;
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("unprotected_position") && out.contains("stop_loss"),
        "{out}"
    );
    assert!(
        out.contains("Service Unavailable"),
        "the last error is shown: {out}"
    );

    // The venue recovers: the retry places the stop and doctor is clean.
    http.delete(format!("{}/sim/faults", sim.base_url()))
        .send()
        .await
        .expect("clear");
    until_one_live_stop(&d, &sim, &ledger, position).await;
    let rows = ledger
        .protective_orders_of(sluice::ledger::PositionId(position))
        .await
        .expect("rows");
    assert_eq!(
        rows.len(),
        1,
        "one order, retried under one clientAlgoId: {rows:?}"
    );
    assert!(rows[0].attempts >= 1, "{rows:?}");
    let (code, out) = doctor(&db_url).await;
    assert_eq!(code, 0, "{out}");
    drop(d);
    sim.shutdown().await;
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
