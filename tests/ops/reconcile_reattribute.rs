//! `sluice reconcile --fix --confirm`, then a re-attribution (`src/ledger/reattribute.rs`):
//! a close fill read without its client order id (trade 11 of exchange order 7001) is
//! stored external; reconcile sets the ledger's position to the exchange's, which already
//! holds that trade; when the router later learns the order's exchange id, the fill
//! becomes its order's without reducing the position a second time, and a second
//! reconcile finds the position in agreement.

use rust_decimal_macros::dec;
use sluice::domain::{
    Direction, IntentKind, OrderState, OrderStatus, PositionMode, PositionSide, Side,
};
use sluice::exchange::OrderResolution;
use sluice::ledger::{FillOutcome, Ledger, OrderUpdate};
use sluice::ops::reconcile::{run, ReconcileOptions};
use sluice::reconcile::RepairOutcome;
use sluice_testkit::ledger::*;
use sluice_testkit::reconcile::*;
use sqlx::PgPool;

const FIX: ReconcileOptions = ReconcileOptions {
    fix: true,
    confirm: true,
};

#[sqlx::test(migrations = "./migrations")]
async fn a_fill_reconcile_accounted_for_is_not_applied_again_when_its_order_is_learned(
    pool: PgPool,
) {
    // Arrange: a LONG of 2 at 100 (trade 1), a close of 0.5 sent and never answered, and
    // its trade read over REST (no client order id): stored external.
    let ledger = Ledger::from_pool(pool);
    let (open, _) = open_filled(
        &ledger,
        "open",
        "SOLUSDT",
        Direction::Long,
        PositionMode::OneWay,
        dec!(2),
        dec!(100),
        1,
    )
    .await;
    let long = ledger
        .intent(open.id)
        .await
        .unwrap()
        .unwrap()
        .position_id
        .unwrap();
    let close = ledger
        .create_intent(
            &close_intent("close", IntentKind::Close, long, PositionMode::OneWay),
            usdt(dec!(0)),
        )
        .await
        .unwrap()
        .intent;
    ledger
        .record_order(&market_order(
            &close,
            "sl-c1",
            Side::Sell,
            PositionSide::Both,
            dec!(0.5),
        ))
        .await
        .unwrap();
    let sold = |coid: Option<&str>| {
        fill(
            "SOLUSDT",
            11,
            7001,
            coid,
            Side::Sell,
            PositionSide::Both,
            dec!(0.5),
            dec!(110),
        )
    };
    let stored = ledger.apply_fill(VENUE, &sold(None), &[]).await.unwrap();
    assert!(matches!(stored, FillOutcome::External { .. }), "{stored:?}");

    // The exchange: 1.5 left, both trades, and the close FILLED when asked by its id.
    let bought = fill(
        "SOLUSDT",
        1,
        10,
        Some("o-open"),
        Side::Buy,
        PositionSide::Both,
        dec!(2),
        dec!(100),
    );
    let mut ex = FakeExchange::new(
        vec![reported(
            "SOLUSDT",
            PositionSide::Both,
            dec!(1.5),
            dec!(100),
            t(5),
        )],
        vec![],
        vec![bought, sold(None)],
    );
    let mut filled = open_order("sl-c1", 7001, "SOLUSDT", PositionSide::Both);
    filled.status = OrderStatus::Filled;
    filled.orig_qty = qty(dec!(0.5));
    filled.executed_qty = qty(dec!(0.5));
    ex.resolutions.insert(
        "sl-c1".into(),
        OrderResolution::Known {
            order: filled,
            trades: vec![sold(Some("sl-c1"))],
        },
    );

    // Act 1: reconcile corrects the position to the exchange's 1.5.
    let report = run(&ledger, &ex, FIX, &is_sluice_id).await.unwrap();
    assert!(
        report
            .repairs
            .iter()
            .any(|r| matches!(r.outcome, RepairOutcome::Adjusted { .. })),
        "{report}"
    );
    assert_eq!(
        ledger.position(long).await.unwrap().unwrap().quantity.get(),
        dec!(1.5)
    );
    let accounted: Option<i64> =
        sqlx::query_scalar("SELECT accounted_by FROM fills WHERE trade_id = 11")
            .fetch_one(ledger.pool())
            .await
            .unwrap();
    assert!(accounted.is_some(), "the correction accounted for trade 11");

    // Act 2: the router learns the order's exchange id (its resolution).
    ledger
        .update_order_status(
            "sl-c1",
            &OrderUpdate {
                status: OrderState::Filled,
                exchange_order_id: Some(7001),
                error_code: None,
                error_msg: None,
            },
        )
        .await
        .unwrap();

    // Assert: the order has its fill, the position is the exchange's (not 1.0), and a
    // second reconcile finds no size difference.
    let order = ledger.order_by_client_id("sl-c1").await.unwrap().unwrap();
    assert_eq!(
        (order.filled_quantity.get(), order.status),
        (dec!(0.5), OrderState::Filled)
    );
    let fill = ledger
        .all_fills()
        .await
        .unwrap()
        .into_iter()
        .find(|f| f.trade_id == 11)
        .unwrap();
    assert_eq!((fill.external, fill.order_id), (false, Some(order.id)));
    assert_eq!(
        ledger.position(long).await.unwrap().unwrap().quantity.get(),
        dec!(1.5)
    );
    let again = run(&ledger, &ex, Default::default(), &is_sluice_id)
        .await
        .unwrap();
    assert!(
        again.found.iter().all(|d| d.kind_name() != "size_mismatch"),
        "{again}"
    );
    assert_eq!(ex.trading_calls(), 0);
    // Doctor: the fills now explain the corrected quantity (2 - 0.5), nothing external.
    let doctor = sluice::ops::doctor::run(
        &ledger,
        sluice::ops::doctor::DoctorOptions {
            confirm: false,
            allocation: dec!(1000000),
        },
    )
    .await
    .unwrap();
    assert!(doctor.findings.is_empty(), "{doctor}");
}
