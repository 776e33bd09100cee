//! `sluice reconcile --fix --confirm`, then a re-attribution (`src/ledger/reattribute.rs`):
//! a close fill read without its client order id (trade 11 of exchange order 7001) is
//! stored external; reconcile sets the ledger's position to the exchange's, which already
//! holds that trade; when the router later learns the order's exchange id, the fill
//! becomes its order's without reducing the position a second time, and a second
//! reconcile finds the position in agreement. And which trades the correction accounts
//! for when the exchange's clock is ahead of or behind sluice's: those before the read on
//! the exchange's clock, the one trade times are on.

use rust_decimal_macros::dec;
use sluice::domain::{
    Direction, IntentKind, OrderState, OrderStatus, PositionMode, PositionSide, Side,
};
use sluice::exchange::OrderResolution;
use sluice::ledger::{FillOutcome, Ledger, OrderUpdate, PositionId};
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
    let long = long_with_unanswered_close(&ledger).await;
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

/// The fixture above with the close's trade 11 executed at `traded_at` and the exchange's
/// clock `offset_ms` behind sluice's (local minus exchange; negative: ahead): reconcile
/// corrects the LONG to the exchange's 1.5. Returns whether the correction accounted for
/// trade 11.
async fn reconcile_marks_trade_11(
    pool: PgPool,
    offset_ms: i64,
    traded_at: chrono::DateTime<chrono::Utc>,
) -> bool {
    let ledger = Ledger::from_pool(pool);
    let long = long_with_unanswered_close(&ledger).await;
    let sold = |coid: Option<&str>| sluice::domain::Fill {
        time: traded_at,
        ..fill(
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
    ex.clock_offset_ms = offset_ms;
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

    let report = run(&ledger, &ex, FIX, &is_sluice_id).await.unwrap();

    assert_eq!(
        ledger.position(long).await.unwrap().unwrap().quantity.get(),
        dec!(1.5),
        "{report}"
    );
    assert_eq!(ex.trading_calls(), 0);
    let accounted: Option<i64> =
        sqlx::query_scalar("SELECT accounted_by FROM fills WHERE trade_id = 11")
            .fetch_one(ledger.pool())
            .await
            .unwrap();
    accounted.is_some()
}

const HOUR_MS: i64 = 3_600_000;

#[sqlx::test(migrations = "./migrations")]
async fn a_trade_before_the_read_on_an_exchange_clock_ahead_is_accounted_for(pool: PgPool) {
    // The exchange's clock two hours ahead; the trade an hour after sluice's now, so
    // before the read on the exchange's clock (and after it on sluice's).
    let traded_at = chrono::Utc::now() + chrono::Duration::hours(1);
    assert!(
        reconcile_marks_trade_11(pool, -2 * HOUR_MS, traded_at).await,
        "the correction accounted for trade 11"
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn a_trade_after_the_read_on_an_exchange_clock_behind_is_not_accounted_for(pool: PgPool) {
    // The exchange's clock two hours behind; the trade an hour before sluice's now, so
    // after the read on the exchange's clock (and before it on sluice's).
    let traded_at = chrono::Utc::now() - chrono::Duration::hours(1);
    assert!(
        !reconcile_marks_trade_11(pool, 2 * HOUR_MS, traded_at).await,
        "the correction did not account for trade 11"
    );
}

/// A LONG of 2 at 100 (trade 1) and a close of it with its order of 0.5 (`sl-c1`) stored,
/// not answered yet. Returns the position.
async fn long_with_unanswered_close(ledger: &Ledger) -> PositionId {
    let (open, _) = open_filled(
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
    long
}
