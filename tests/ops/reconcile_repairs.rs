//! The two-step repair (a one-way leg the exchange holds the other way round) and a
//! refused repair: validated before anything is written, reported, others still run.

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use sluice::domain::{Direction, PositionMode, PositionSide};
use sluice::ledger::{Ledger, Origin, PositionId, PositionStatus};
use sluice::ops::reconcile::{run, ReconcileOptions};
use sluice::reconcile::RepairOutcome;
use sluice_testkit::ledger::*;
use sluice_testkit::reconcile::*;
use sqlx::PgPool;

const FIX: ReconcileOptions = ReconcileOptions {
    fix: true,
    confirm: true,
};

async fn long_two_sol(ledger: &Ledger) -> PositionId {
    open_filled(
        ledger,
        "open",
        "SOLUSDT",
        Direction::Long,
        PositionMode::OneWay,
        dec!(2),
        dec!(100),
        1,
    )
    .await;
    ledger.open_positions().await.unwrap()[0].id
}

fn exchange_sol(amount: Decimal, entry: Decimal) -> FakeExchange {
    let open = fill(
        "SOLUSDT",
        1,
        10,
        None,
        sluice::domain::Side::Buy,
        PositionSide::Both,
        dec!(2),
        dec!(100),
    );
    FakeExchange::new(
        vec![reported("SOLUSDT", PositionSide::Both, amount, entry, t(5))],
        vec![],
        vec![open],
    )
}

#[sqlx::test(migrations = "./migrations")]
async fn a_leg_the_exchange_holds_short_closes_our_long_and_adopts_the_short(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let ours = long_two_sol(&ledger).await;
    let ex = exchange_sol(dec!(-1), dec!(120));

    let report = run(&ledger, &ex, FIX, &is_sluice_id).await.unwrap();

    let Some(RepairOutcome::Adopted { position_id }) =
        report.repairs.first().map(|r| r.outcome.clone())
    else {
        panic!("expected an adoption: {report}");
    };
    let closed = ledger.position(ours).await.unwrap().unwrap();
    assert_eq!(closed.status, PositionStatus::Closed);
    let adopted = ledger.position(position_id).await.unwrap().unwrap();
    assert_eq!(
        (adopted.direction, adopted.quantity.get(), adopted.origin),
        (Direction::Short, dec!(1), Origin::Adopted)
    );
    assert_eq!(
        count(&ledger, "ledger_adjustments").await,
        2,
        "one row per correction"
    );
    assert!(report.remaining.is_empty(), "{report}");
}

#[sqlx::test(migrations = "./migrations")]
async fn a_flip_with_no_exchange_entry_price_is_refused_whole_and_reported(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let ours = long_two_sol(&ledger).await;
    let ex = exchange_sol(dec!(-1), dec!(0));

    let report = run(&ledger, &ex, FIX, &is_sluice_id).await.unwrap();

    let Some(RepairOutcome::Failed { error }) = report.repairs.first().map(|r| r.outcome.clone())
    else {
        panic!("expected a refusal: {report}");
    };
    assert!(error.contains("entry_price"), "{error}");
    let still = ledger.position(ours).await.unwrap().unwrap();
    assert_eq!(
        (still.status, still.quantity.get()),
        (PositionStatus::Open, dec!(2))
    );
    assert_eq!(count(&ledger, "ledger_adjustments").await, 0);
    assert_eq!(report.exit_code(), 1);
}
