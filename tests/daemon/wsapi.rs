//! The executor on the WS API order transport when the socket drops mid-close: the
//! orders in flight are outcome-unknown, resolved by client order id over REST before
//! anything is re-sent, so no chunk executes twice and the close ends flat.

use std::collections::BTreeMap;
use std::time::Duration;

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::json;
use sluice::domain::IntentState;
use sluice::ledger::PositionStatus;
use sluice_testkit::executor::*;
use sqlx::PgPool;

#[sqlx::test(migrations = "./migrations")]
async fn a_ws_api_socket_dropped_mid_close_executes_no_chunk_twice_and_ends_flat(pool: PgPool) {
    // Arrange: SHORT 1,000 SOLUSDT with a MARKET cap of 100 (ten chunks at least); every
    // WS API order closes the socket instead of being answered (half of them executed)
    // until the test lifts the fault.
    let s = scenario(
        "[[symbols]]\nname = \"SOLUSDT\"\nmarket_max_qty = \"100\"\nlevel_qty = \"2000\"\n",
        "positions = [ { symbol = \"SOLUSDT\", side = \"SHORT\", quantity = \"1000\", entry_price = \"180\" } ]",
    );
    let d = start_over(pool.clone(), s, fast_config(), Wire::WsEd25519).await;
    assert!(d.exchange.orders_over_ws(), "the WS API is up at start");
    let position = d.executor.as_ref().expect("executor").adopted[0].clone();
    d.fault(json!({ "drop_ws_api": 1.0, "executed_share": 0.5 }))
        .await;

    // Act: close; lift the fault once the socket has dropped twice (or the close, which
    // REST carries while the socket is down, is over).
    let id = d.submit(close_all(position.id, "ws-drop-close")).await;
    let drops = || async {
        let s = d.sim_state().await;
        s["stats"]["faultsInjected"]["0"].as_u64().unwrap_or(0)
    };
    until("two socket drops", Duration::from_secs(60), || async {
        let over = d
            .ledger
            .intent(id)
            .await
            .unwrap()
            .is_some_and(|i| i.state.is_terminal());
        drops().await >= 2 || over
    })
    .await;
    d.admin_delete_faults().await;
    let row = d.until_terminal(id, Duration::from_secs(60)).await;
    assert!(drops().await >= 1, "the socket dropped mid-close");

    // Assert: done and flat; the ledger's fills are exactly the position.
    assert_eq!(row.state, IntentState::Done, "error: {:?}", row.error);
    assert!(d.sim_positions().await.is_empty(), "the exchange is flat");
    let closed = d.ledger.position(position.id).await.unwrap().unwrap();
    assert_eq!(closed.status, PositionStatus::Closed);
    let orders = d.ledger.orders_of_intent(id).await.unwrap();
    let filled: Decimal = orders.iter().map(|o| o.filled_quantity.get()).sum();
    assert_eq!(filled, dec!(1000));
    // No chunk executed twice: per chunk, at most one of its attempts filled.
    let mut fills_per_chunk: BTreeMap<i32, usize> = BTreeMap::new();
    for o in orders.iter().filter(|o| !o.filled_quantity.is_zero()) {
        *fills_per_chunk.entry(o.chunk_index).or_default() += 1;
    }
    assert!(
        fills_per_chunk.values().all(|n| *n == 1),
        "{fills_per_chunk:?}"
    );
    // The exchange executed exactly what the ledger holds, each order once.
    let executed: Decimal = d
        .sim_orders()
        .await
        .iter()
        .map(|o| dec(&o["executedQty"]))
        .sum();
    assert_eq!(executed, dec!(1000));
    // The lost attempts are evidence: over the WS API, outcome unknown, no status.
    until(
        "the lost attempts recorded",
        Duration::from_secs(10),
        || async {
            let (lost,): (i64,) = sqlx::query_as(
                "SELECT count(*) FROM order_attempts WHERE method = 'WS'
             AND error_class = 'outcome_unknown' AND http_status IS NULL",
            )
            .fetch_one(&pool)
            .await
            .unwrap();
            lost >= 1
        },
    )
    .await;
    assert!(d.ledger.anomalies().await.unwrap().is_empty());
    d.stop().await;
}
