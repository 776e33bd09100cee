//! Protective stops when things go wrong, through the real `sluice run` binary: a stop
//! stuck in TRIGGERING makes sluice close the position itself (the watchdog); a venue
//! refusing placements (503) leaves the position unprotected, which doctor reports, until
//! a retry succeeds (`[symbols.<S>] stop_loss_pct` protecting an open that asks for
//! nothing); an algo order placed by hand is reported as held on one side only (metric and
//! the daemon's reconcile).

use std::time::Duration;

use rust_decimal::Decimal;
use serde_json::json;
use sluice::ledger::PositionStatus;
use sluice_sim::spawn;
use sluice_testkit::process::*;
use sqlx::PgPool;

use super::protect::{
    arrange, doctor, open_protected, position_status, set_mark, sim_scenario, sim_state, sol_mark,
    until_one_live_stop, Arranged, ENV,
};

#[sqlx::test(migrations = "./migrations")]
async fn a_stop_stuck_in_triggering_makes_sluice_close_the_position_itself(pool: PgPool) {
    // Arrange: a protected LONG; the venue's triggers stall (fired, no order).
    let env = [ENV[0], ("SLUICE__DAEMON__STOP_WATCHDOG_MS", "1000")];
    let Arranged { ledger, sim, d, .. } = arrange(&pool, sim_scenario(), "watchdog", &env).await;
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
    let key = format!("watchdog:{caid}");
    let (state, reason): (String, String) = d
        .until_ok(
            "the watchdog's close to finish",
            Duration::from_secs(30),
            || async {
                let row: Option<(String, String)> =
                    sqlx::query_as("SELECT state, reason FROM intents WHERE idempotency_key = $1")
                        .bind(&key)
                        .fetch_optional(&pool)
                        .await
                        .expect("intents");
                match row {
                    Some((state, reason)) if state == "done" => Ok((state, reason)),
                    other => Err(format!("{other:?}")),
                }
            },
        )
        .await;
    assert_eq!(
        position_status(&ledger, position).await,
        PositionStatus::Closed
    );
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
async fn a_refused_placement_is_retried_and_doctor_reports_the_position_unprotected_meanwhile(
    pool: PgPool,
) {
    // Arrange: the symbol's default stop applies; the Algo Service answers 503 for now.
    let env = [ENV[0], ("SLUICE__SYMBOLS__SOLUSDT__STOP_LOSS_PCT", "3")];
    let Arranged {
        db_url,
        ledger,
        sim,
        d,
    } = arrange(&pool, sim_scenario(), "retry", &env).await;
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
    // The daemon's own reconcile (`GET /v1/reconcile`) names it too.
    d.until_ok("reconcile names it", Duration::from_secs(30), || async {
        let (_, body) = d.get("/v1/reconcile").await;
        let found = body["last"]["report"]["found"].as_array().cloned();
        let named = found.unwrap_or_default().iter().any(|f| {
            f["kind"] == "protective_only_on_exchange"
                && f["order"]["client_algo_id"] == "by-hand-1"
        });
        if named {
            Ok(())
        } else {
            Err(body)
        }
    })
    .await;
    drop(d);
    sim.shutdown().await;
}
