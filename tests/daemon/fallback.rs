//! The reduce-only LIMIT IOC fallback end to end: the simulator fails
//! every MARKET order with -1008 (reduce-only included, as on 2025-10-11) while LIMIT
//! orders still work, and a close configured with the fallback completes with LIMIT IOC
//! chunks at the PERCENT_PRICE band edge.

use std::time::Duration;

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use sluice::domain::{IntentState, OrderType, Side};
use sluice::exchange::Exchange;
use sluice::ledger::PositionStatus;
use sluice::router::{band_edge_price, ExecutorConfig};
use sluice_testkit::executor::*;
use sqlx::PgPool;

/// SOLUSDT SHORT 1,000 (MARKET cap 100, LIMIT cap 1,000) on a venue whose MARKET path
/// answers -1008 to everything from the start.
fn market_path_down() -> sluice_sim::Scenario {
    scenario(
        "[[symbols]]\nname = \"SOLUSDT\"\nmarket_max_qty = \"100\"\nlevel_qty = \"5000\"\n\
         [[faults]]\nfrom = 0\norder_types = [\"MARKET\"]\noverload_1008 = 1.0\n\
         overload_hits_reduce_only = true\n",
        "positions = [ { symbol = \"SOLUSDT\", side = \"SHORT\", quantity = \"1000\", entry_price = \"180\" } ]",
    )
}

fn with_fallback(on: bool) -> ExecutorConfig {
    let mut cfg = fast_config();
    cfg.escalation.limit_ioc_fallback = on;
    cfg.escalation.fallback_after = 3;
    cfg
}

#[sqlx::test(migrations = "./migrations")]
async fn a_close_whose_market_orders_keep_failing_completes_with_band_edge_limit_ioc(pool: PgPool) {
    // Arrange
    let d = start(pool, market_path_down(), with_fallback(true)).await;
    let position = d.executor.as_ref().expect("executor").adopted[0].clone();
    let symbol = sym("SOLUSDT");

    // Act
    let id = d.submit(close_all(position.id, "fallback-close")).await;
    let intent = d.until_terminal(id, Duration::from_secs(60)).await;

    // Assert: done and flat, in the ledger and on the exchange.
    assert_eq!(intent.state, IntentState::Done, "error: {:?}", intent.error);
    assert!(d.sim_positions().await.is_empty(), "the exchange is flat");
    let row = d.ledger.position(position.id).await.unwrap().unwrap();
    assert_eq!(row.status, PositionStatus::Closed);

    // Exactly `fallback_after` MARKET attempts failed, then LIMIT orders did the rest.
    let orders = d.ledger.orders_of_intent(id).await.unwrap();
    let market: Vec<_> = orders
        .iter()
        .filter(|o| o.order_type == OrderType::Market)
        .collect();
    assert_eq!(market.len(), 3, "{market:?}");
    assert!(market.iter().all(|o| o.last_error_code == Some(-1008)));
    assert!(market.iter().all(|o| o.filled_quantity.is_zero()));
    let limit: Vec<_> = orders
        .iter()
        .filter(|o| o.order_type == OrderType::Limit)
        .collect();
    assert!(!limit.is_empty());
    let filled: Decimal = limit.iter().map(|o| o.filled_quantity.get()).sum();
    assert_eq!(filled, dec!(1000));

    // Each LIMIT is a reduce-only BUY at the upper band edge (0.1% inside) of the mark,
    // within LOT_SIZE rather than the smaller MARKET_LOT_SIZE.
    let rules = d
        .exchange
        .symbol_rules(sluice::exchange::Purpose::Routine)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.symbol == symbol)
        .expect("SOLUSDT rules");
    let mark = d
        .exchange
        .mark_price(&symbol, sluice::exchange::Purpose::Routine)
        .await
        .unwrap()
        .mark_price;
    let edge = band_edge_price(&rules, Side::Buy, mark, dec!(0.001)).unwrap();
    for o in &limit {
        assert!(o.reduce_only, "{o:?}");
        assert_eq!(o.side, Side::Buy);
        assert_eq!(o.price, Some(edge), "{o:?}");
        assert!(o.quantity.get() <= rules.lot_size.max_qty);
    }
    assert!(
        limit.iter().any(|o| o.quantity.get() > dec!(100)),
        "LIMIT chunks are planned under LOT_SIZE, not the MARKET cap of 100"
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn without_the_fallback_configured_no_limit_order_is_ever_sent(pool: PgPool) {
    // Arrange
    let d = start(pool, market_path_down(), with_fallback(false)).await;
    let position = d.executor.as_ref().expect("executor").adopted[0].clone();

    // Act: the close keeps backing off; wait until it has failed more than the threshold.
    let id = d.submit(close_all(position.id, "no-fallback-close")).await;
    let orders = until_some(
        "the close to fail 6 times",
        Duration::from_secs(30),
        || async {
            let orders = d.ledger.orders_of_intent(id).await.unwrap();
            let failed = orders.iter().filter(|o| o.last_error_code.is_some());
            (failed.count() >= 6).then_some(orders)
        },
    )
    .await;

    // Assert: MARKET only, and the intent is still working (a close never gives up).
    assert!(orders.iter().all(|o| o.order_type == OrderType::Market));
    let row = d.ledger.intent(id).await.unwrap().unwrap();
    assert_eq!(row.state, IntentState::Working);
}
