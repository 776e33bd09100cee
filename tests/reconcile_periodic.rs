//! The daemon's periodic reconcile: runs at start and again on every tick, publishes
//! each report, never repairs, and stops when shutdown is signalled.

mod ledger_common;
mod reconcile_common;

use std::sync::Arc;
use std::time::Duration;

use ledger_common::*;
use reconcile_common::*;
use rust_decimal_macros::dec;
use sluice::domain::PositionSide;
use sluice::ledger::Ledger;
use sluice::ops::reconcile::run_periodically;
use sqlx::PgPool;
use tokio::sync::watch;

#[sqlx::test(migrations = "./migrations")]
async fn the_periodic_reconcile_reports_repeatedly_repairs_nothing_and_stops_on_shutdown(
    pool: PgPool,
) {
    let ledger = Ledger::from_pool(pool);
    let foreign = reported("ETHUSDT", PositionSide::Both, dec!(1), dec!(2000), t(1));
    let exchange = Arc::new(FakeExchange::new(vec![foreign], vec![], vec![]));
    let (latest_tx, mut latest) = watch::channel(None);
    let (stop, shutdown) = watch::channel(false);
    let task = tokio::spawn(run_periodically(
        ledger.clone(),
        exchange.clone(),
        Duration::from_millis(1),
        Arc::new(is_sluice_id),
        latest_tx,
        shutdown,
    ));

    for _ in 0..2 {
        latest.changed().await.expect("a report is published");
        let report = latest.borrow_and_update().clone().expect("a report");
        assert_eq!(report.found.len(), 1);
        assert!(report.repairs.is_empty());
    }
    stop.send(true).expect("the task listens");
    task.await.expect("the task ends cleanly");

    assert_eq!(
        count(&ledger, "positions").await,
        0,
        "a dry run adopts nothing"
    );
    assert_eq!(exchange.trading_calls(), 0);
}
