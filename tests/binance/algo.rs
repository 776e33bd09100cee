//! The adapter's Algo Service calls against the simulator over loopback: a protective
//! stop placed, looked up, listed and cancelled; the stream's ALGO_UPDATEs through a
//! trigger (with the produced order readable by id, its trade included); the venue's
//! refusals classified by the one code table; placement failing with 503 / -1008.

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::json;
use sluice::domain::{PositionSide, Price, Side, Symbol};
use sluice::exchange::{
    AccountEvent, AlgoOrderRequest, AlgoStatus, ErrorClass, Exchange, ProtectionKind, Purpose,
    WorkingType,
};
use sluice_testkit::adapter::*;

const SHORT_SOL: &str =
    "positions = [ { symbol = \"SOLUSDT\", side = \"SHORT\", quantity = \"500\", entry_price = \"180\" } ]";

fn stop_for_the_short(trigger: Decimal, id: &str) -> AlgoOrderRequest {
    AlgoOrderRequest {
        symbol: Symbol::new("SOLUSDT").unwrap(),
        side: Side::Buy,
        position_side: PositionSide::Both,
        kind: ProtectionKind::StopLoss,
        trigger_price: Price::new("trigger_price", trigger).unwrap(),
        working_type: WorkingType::Mark,
        quantity: None,
        client_algo_id: id.into(),
    }
}

async fn mark(l: &Loop) -> Decimal {
    l.mark("SOLUSDT").await.get()
}

#[tokio::test]
async fn a_stop_is_placed_found_by_its_client_algo_id_listed_and_cancelled() {
    let l = start(scenario("", SHORT_SOL)).await;
    let trigger = (mark(&l).await * dec!(1.05)).round_dp(2);
    let placed =
        l.ex.place_algo_order(&stop_for_the_short(trigger, "slp1g1"))
            .await
            .unwrap();
    assert_eq!(placed.status, AlgoStatus::New);
    assert_eq!(
        (placed.close_position, placed.trigger_price),
        (true, trigger)
    );
    let found =
        l.ex.algo_order("slp1g1", Purpose::Routine)
            .await
            .unwrap()
            .expect("known");
    assert_eq!(found.algo_id, placed.algo_id);
    assert_eq!(found.actual_order_id, None);
    let open = l.ex.open_algo_orders().await.unwrap();
    assert_eq!(open.len(), 1);
    assert!(l.ex.cancel_algo_order("slp1g1").await.unwrap());
    assert!(
        !l.ex.cancel_algo_order("slp1g1").await.unwrap(),
        "no longer cancellable"
    );
    let gone =
        l.ex.algo_order("slp1g1", Purpose::Routine)
            .await
            .unwrap()
            .expect("still known");
    assert_eq!(gone.status, AlgoStatus::Canceled);
    assert!(l
        .ex
        .algo_order("never-placed", Purpose::Routine)
        .await
        .unwrap()
        .is_none());
    assert!(l.ex.open_algo_orders().await.unwrap().is_empty());
    l.sim.shutdown().await;
}

#[tokio::test]
async fn a_trigger_streams_algo_updates_and_its_order_is_readable_by_id() {
    let l = start(scenario("", SHORT_SOL)).await;
    let mut rx = l.ex.subscribe_account(&[]).await.unwrap();
    next_event(&mut rx, |e| matches!(e, AccountEvent::Resynced)).await;
    let m = mark(&l).await;
    let trigger = (m * dec!(1.02)).round_dp(2);
    l.ex.place_algo_order(&stop_for_the_short(trigger, "slp2g1"))
        .await
        .unwrap();
    l.admin(
        "POST",
        "/sim/marks",
        json!({"symbol": "SOLUSDT", "mark_price": (m * dec!(1.03)).round_dp(2).to_string()}),
    )
    .await;
    let mut seen = Vec::new();
    let finished = loop {
        if let AccountEvent::Algo(a) =
            next_event(&mut rx, |e| matches!(e, AccountEvent::Algo(_))).await
        {
            seen.push(a.status);
            if a.status == AlgoStatus::Finished {
                break a;
            }
        }
    };
    assert_eq!(
        seen,
        [
            AlgoStatus::New,
            AlgoStatus::Triggering,
            AlgoStatus::Triggered,
            AlgoStatus::Finished
        ]
    );
    let ai = finished
        .actual_order_id
        .expect("the trigger produced an order");
    let (order, trades) =
        l.ex.order_by_id(&Symbol::new("SOLUSDT").unwrap(), ai)
            .await
            .unwrap();
    assert_eq!(order.executed_qty.get(), dec!(500));
    let traded: Decimal = trades.iter().map(|t| t.quantity.get()).sum();
    assert_eq!(traded, dec!(500), "the stop closed the whole short");
    l.sim.shutdown().await;
}

#[tokio::test]
async fn refusals_are_classified_and_placement_outages_are_retryable() {
    let l = start(scenario("", SHORT_SOL)).await;
    let below = (mark(&l).await * dec!(0.95)).round_dp(2);
    let e =
        l.ex.place_algo_order(&stop_for_the_short(below, "slp3g1"))
            .await
            .unwrap_err();
    assert_eq!((e.code, e.class), (Some(-2021), ErrorClass::Replan), "{e}");

    let above = (mark(&l).await * dec!(1.05)).round_dp(2);
    l.fault(json!({"from": 0, "endpoints": ["POST /fapi/v1/algoOrder"], "unavailable_503": 1.0}))
        .await;
    let e =
        l.ex.place_algo_order(&stop_for_the_short(above, "slp3g2"))
            .await
            .unwrap_err();
    assert_eq!(
        (e.http_status, e.class),
        (Some(503), ErrorClass::Retry),
        "{e}"
    );
    l.clear_faults().await;
    l.fault(json!({"from": 0, "endpoints": ["POST /fapi/v1/algoOrder"],
                   "overload_1008": 1.0, "overload_hits_reduce_only": true}))
        .await;
    let e =
        l.ex.place_algo_order(&stop_for_the_short(above, "slp3g3"))
            .await
            .unwrap_err();
    assert_eq!((e.code, e.class), (Some(-1008), ErrorClass::Backoff), "{e}");
    l.clear_faults().await;
    assert!(
        l.ex.algo_order("slp3g3", Purpose::Routine)
            .await
            .unwrap()
            .is_none(),
        "nothing was placed"
    );
    l.sim.shutdown().await;
}
