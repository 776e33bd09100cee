//! Protective stops as positions change, through the real `sluice run` binary: a
//! position that grows gets its new stop before the old one is cancelled, and a close
//! that leaves it flat cancels its stop; in hedge mode each leg gets its own closing-side
//! stop, and one firing leaves the other leg protected.

use std::time::Duration;

use rust_decimal::Decimal;
use serde_json::json;
use sluice::ledger::{IntentId, PositionStatus};
use sluice_testkit::executor::scenario;
use sluice_testkit::process::*;
use sqlx::PgPool;

use super::protect::{
    arrange, open_protected, position_status, set_mark, sim_scenario, sim_state, sol_mark,
    until_one_live_stop, Arranged, ENV,
};

#[sqlx::test(migrations = "./migrations")]
async fn a_growing_position_gets_its_new_stop_before_the_old_is_cancelled_and_a_close_cancels_it(
    pool: PgPool,
) {
    let Arranged { ledger, sim, d, .. } = arrange(&pool, sim_scenario(), "grow", &ENV).await;
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
async fn in_hedge_mode_each_leg_gets_its_own_stop_and_one_firing_leaves_the_other_leg_protected(
    pool: PgPool,
) {
    // Arrange: a hedge-mode account; sluice opens a LONG and a SHORT leg, each with a stop.
    let hedge = scenario(
        "[[symbols]]\nname = \"SOLUSDT\"\nlevel_qty = \"2000\"\n",
        "position_mode = \"hedge\"",
    );
    let env = [ENV[0], ("SLUICE__EXCHANGE__POSITION_MODE", "hedge")];
    let Arranged { ledger, sim, d, .. } = arrange(&pool, hedge, "hedge-stops", &env).await;
    let stop = json!({"stop_loss": {"pct": "2"}});
    let long = open_protected(&d, &ledger, "hedge-long", stop.clone()).await;
    let mut body = json!({"kind": "open", "symbol": "SOLUSDT", "side": "short",
                          "quantity": "10", "idempotency_key": "hedge-short"});
    body["stop_loss"] = stop["stop_loss"].clone();
    let (code, created) = d.post("/v1/intents", &body).await;
    assert_eq!(code, 202, "{created}");
    let short_intent = IntentId(created["id"].as_i64().expect("id"));
    until("the short to finish", Duration::from_secs(60), || async {
        let row = ledger
            .intent(short_intent)
            .await
            .expect("read")
            .expect("intent");
        row.state.is_terminal()
    })
    .await;
    let short = ledger
        .intent(short_intent)
        .await
        .expect("read")
        .expect("intent")
        .position_id
        .expect("a short leg")
        .0;
    assert_ne!(long, short, "two legs, two positions");
    let algos = d
        .until_ok("a stop per leg", Duration::from_secs(30), || async {
            let algos = sim_state(&sim).await["accounts"][0]["openAlgoOrders"].clone();
            match algos.as_array().map(Vec::len) {
                Some(2) => Ok(algos),
                _ => Err(algos),
            }
        })
        .await;
    let legs: Vec<(String, String)> = algos
        .as_array()
        .expect("list")
        .iter()
        .map(|a| (a["side"].to_string(), a["positionSide"].to_string()))
        .collect();
    assert!(
        legs.contains(&("\"SELL\"".into(), "\"LONG\"".into())),
        "{algos}"
    );
    assert!(
        legs.contains(&("\"BUY\"".into(), "\"SHORT\"".into())),
        "{algos}"
    );

    // Act: the mark falls through the LONG leg's stop.
    let mark = sol_mark(&sim_state(&sim).await);
    set_mark(&sim, (mark * Decimal::new(95, 2)).round_dp(2)).await;

    // Assert: the long is closed by its stop; the short stays open, still protected.
    d.until_ok("the long closed", Duration::from_secs(30), || async {
        match position_status(&ledger, long).await {
            PositionStatus::Closed => Ok(()),
            s => Err(format!("{s:?}")),
        }
    })
    .await;
    assert_eq!(position_status(&ledger, short).await, PositionStatus::Open);
    until_one_live_stop(&d, &sim, &ledger, short).await;
    drop(d);
    sim.shutdown().await;
}
