//! `ops::reconcile::run` against a real Postgres ledger and a read-only fake exchange:
//! dry run writes nothing, `--fix` alone only plans, `--fix --confirm` backfills fills
//! through the fill path and writes one adjustment row per correction, never trades.

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use sluice::domain::{Direction, IntentKind, OrderStatus, PositionMode, PositionSide, Side};
use sluice::exchange::OrderResolution;
use sluice::ledger::{Ledger, OrderState, OrderUpdate, Origin, PositionStatus};
use sluice::ops::reconcile::{exit_code, run, Mode, ReconcileOptions};
use sluice::reconcile::{Discrepancy, RepairOutcome};
use sluice_testkit::ledger::*;
use sluice_testkit::reconcile::*;
use sqlx::PgPool;

const DRY: ReconcileOptions = ReconcileOptions {
    fix: false,
    confirm: false,
};
const FIX: ReconcileOptions = ReconcileOptions {
    fix: true,
    confirm: true,
};

fn kinds(d: &[Discrepancy]) -> Vec<&'static str> {
    d.iter().map(Discrepancy::kind_name).collect()
}

/// A ledger holding one long SOLUSDT position of 2 @ 100, opened by trade 1.
async fn long_two_sol(ledger: &Ledger) -> sluice::ledger::PositionId {
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
    let open = ledger.open_positions().await.unwrap();
    assert_eq!(open.len(), 1);
    open[0].id
}

fn open_trade() -> sluice::domain::Fill {
    fill(
        "SOLUSDT",
        1,
        10,
        None,
        Side::Buy,
        PositionSide::Both,
        dec!(2),
        dec!(100),
    )
}

fn sol(amount: Decimal) -> Vec<sluice::exchange::ExchangePosition> {
    vec![reported(
        "SOLUSDT",
        PositionSide::Both,
        amount,
        dec!(100),
        t(5),
    )]
}

#[sqlx::test(migrations = "./migrations")]
async fn a_ledger_that_matches_the_exchange_reconciles_clean_with_exit_code_zero(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    long_two_sol(&ledger).await;
    let ex = FakeExchange::new(sol(dec!(2)), vec![], vec![open_trade()]);

    let report = run(&ledger, &ex, FIX, &is_sluice_id).await;

    assert_eq!(exit_code(&report), 0);
    let report = report.unwrap();
    assert!(
        report.found.is_empty() && report.repairs.is_empty(),
        "{report}"
    );
    assert_eq!(count(&ledger, "ledger_adjustments").await, 0);
    assert!(report.to_string().contains("agree"));
}

#[sqlx::test(migrations = "./migrations")]
async fn a_dry_run_reports_the_difference_writes_nothing_and_exits_one(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let id = long_two_sol(&ledger).await;
    let ex = FakeExchange::new(vec![], vec![], vec![open_trade()]);

    let report = run(&ledger, &ex, DRY, &is_sluice_id).await;

    assert_eq!(exit_code(&report), 1);
    let report = report.unwrap();
    assert_eq!(kinds(&report.found), vec!["position_missing_on_exchange"]);
    assert_eq!(report.mode, Mode::DryRun);
    let p = ledger.position(id).await.unwrap().unwrap();
    assert_eq!(
        (p.status, p.quantity.get()),
        (PositionStatus::Open, dec!(2))
    );
    assert_eq!(count(&ledger, "ledger_adjustments").await, 0);
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["found"][0]["kind"], "position_missing_on_exchange");
}

#[sqlx::test(migrations = "./migrations")]
async fn fix_without_confirm_shows_what_would_change_and_writes_nothing(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    long_two_sol(&ledger).await;
    let ex = FakeExchange::new(sol(dec!(1.5)), vec![], vec![open_trade()]);
    let opts = ReconcileOptions {
        fix: true,
        confirm: false,
    };

    let report = run(&ledger, &ex, opts, &is_sluice_id).await.unwrap();

    assert_eq!(report.mode, Mode::WouldFix);
    assert_eq!(report.planned.len(), 1);
    assert!(
        report.planned[0].would.contains("1.5"),
        "{}",
        report.planned[0].would
    );
    assert_eq!(count(&ledger, "ledger_adjustments").await, 0);
    assert_eq!(report.exit_code(), 1);
}

#[sqlx::test(migrations = "./migrations")]
async fn a_missing_close_fill_is_backfilled_through_the_fill_path_and_closes_the_position(
    pool: PgPool,
) {
    let ledger = Ledger::from_pool(pool);
    let id = long_two_sol(&ledger).await;
    let intent = ledger
        .create_intent(
            &close_intent("close", IntentKind::Close, id, PositionMode::OneWay),
            usdt(dec!(0)),
        )
        .await
        .unwrap()
        .intent;
    let mut order = market_order(&intent, "slc1.0.0", Side::Sell, PositionSide::Both, dec!(2));
    order.position_id = Some(id);
    ledger.record_order(&order).await.unwrap();
    let accepted = OrderUpdate {
        status: OrderState::New,
        exchange_order_id: Some(555),
        error_code: None,
        error_msg: None,
    };
    ledger
        .update_order_status("slc1.0.0", &accepted)
        .await
        .unwrap();
    // The exchange filled the close; the ledger never heard (stream gap).
    let close = fill(
        "SOLUSDT",
        2,
        555,
        None,
        Side::Sell,
        PositionSide::Both,
        dec!(2),
        dec!(110),
    );
    let ex = FakeExchange::new(vec![], vec![], vec![open_trade(), close]);

    let report = run(&ledger, &ex, FIX, &is_sluice_id).await.unwrap();

    assert_eq!(
        kinds(&report.found),
        vec![
            "fill_missing_from_ledger",
            "position_missing_on_exchange",
            "order_missing_on_exchange"
        ]
    );
    assert!(matches!(
        report.repairs[0].outcome,
        RepairOutcome::Backfilled { .. }
    ));
    assert_eq!(
        report.repairs.len(),
        1,
        "the fill settled the rest: {report}"
    );
    assert!(report.remaining.is_empty(), "{report}");
    let p = ledger.position(id).await.unwrap().unwrap();
    assert_eq!(
        (p.status, p.realized_pnl),
        (PositionStatus::Closed, dec!(20))
    );
    assert_eq!(
        count(&ledger, "ledger_adjustments").await,
        0,
        "a fill is not a correction"
    );
    let o = ledger
        .order_by_client_id("slc1.0.0")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(o.status, OrderState::Filled);
    assert_eq!(ex.trading_calls(), 0);
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["mode"], "fixed");
    assert_eq!(json["repairs"][0]["outcome"], "backfilled");
}

#[sqlx::test(migrations = "./migrations")]
async fn a_missing_open_fill_creates_the_position_through_the_fill_path_not_an_adoption(
    pool: PgPool,
) {
    let ledger = Ledger::from_pool(pool);
    let intent = ledger
        .create_intent(
            &open_intent(
                "o1",
                "SOLUSDT",
                Direction::Short,
                PositionMode::OneWay,
                dec!(300),
            ),
            usdt(dec!(1000)),
        )
        .await
        .unwrap()
        .intent;
    ledger
        .record_order(&market_order(
            &intent,
            "slo1.0.0",
            Side::Sell,
            PositionSide::Both,
            dec!(3),
        ))
        .await
        .unwrap();
    let sent = OrderUpdate {
        status: OrderState::Sent,
        exchange_order_id: None,
        error_code: None,
        error_msg: None,
    };
    ledger.update_order_status("slo1.0.0", &sent).await.unwrap();
    let trade = fill(
        "SOLUSDT",
        8,
        80,
        Some("slo1.0.0"),
        Side::Sell,
        PositionSide::Both,
        dec!(3),
        dec!(100),
    );
    let ex = FakeExchange::new(sol(dec!(-3)), vec![], vec![trade]);

    let report = run(&ledger, &ex, FIX, &is_sluice_id).await.unwrap();

    assert_eq!(
        kinds(&report.found),
        vec![
            "fill_missing_from_ledger",
            "position_unknown_to_ledger",
            "order_missing_on_exchange"
        ]
    );
    assert!(report.remaining.is_empty(), "{report}");
    let open = ledger.open_positions().await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(
        (open[0].direction, open[0].quantity.get(), open[0].origin),
        (Direction::Short, dec!(3), Origin::Sluice)
    );
    assert_eq!(count(&ledger, "ledger_adjustments").await, 0);
}

#[sqlx::test(migrations = "./migrations")]
async fn a_size_mismatch_is_corrected_with_one_adjustment_row_holding_before_and_after(
    pool: PgPool,
) {
    let ledger = Ledger::from_pool(pool);
    let id = long_two_sol(&ledger).await;
    let ex = FakeExchange::new(sol(dec!(1.5)), vec![], vec![open_trade()]);

    let report = run(&ledger, &ex, FIX, &is_sluice_id).await;

    assert_eq!(exit_code(&report), 0);
    let rows = ledger.adjustments_of("positions", id.get()).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].actor, "reconcile");
    assert!(rows[0].reason.contains("1.5"), "{}", rows[0].reason);
    let before = rows[0].before.as_ref().unwrap()["quantity"].to_string();
    let after = rows[0].after.as_ref().unwrap()["quantity"].to_string();
    assert_eq!((before.as_str(), after.as_str()), ("2", "1.5"));
}

#[sqlx::test(migrations = "./migrations")]
async fn a_foreign_position_on_the_exchange_is_adopted_with_an_adjustment_row(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let eth = reported("ETHUSDT", PositionSide::Both, dec!(-3), dec!(2000), t(5));
    let ex = FakeExchange::new(vec![eth], vec![], vec![]);

    let report = run(&ledger, &ex, FIX, &is_sluice_id).await.unwrap();

    let Some(RepairOutcome::Adopted { position_id }) =
        report.repairs.first().map(|r| r.outcome.clone())
    else {
        panic!("expected an adoption: {report}");
    };
    let p = ledger.position(position_id).await.unwrap().unwrap();
    assert_eq!(
        (p.direction, p.quantity.get(), p.origin),
        (Direction::Short, dec!(3), Origin::Adopted)
    );
    let rows = ledger
        .adjustments_of("positions", position_id.get())
        .await
        .unwrap();
    assert!(
        rows.len() == 1 && rows[0].reason.contains("foreign"),
        "{rows:?}"
    );
    assert!(report.remaining.is_empty());
}

#[sqlx::test(migrations = "./migrations")]
async fn an_unknown_open_order_is_left_for_an_operator_and_nothing_is_cancelled(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let ex = FakeExchange::new(
        vec![],
        vec![open_order("web_manual", 77, "BTCUSDT", PositionSide::Both)],
        vec![],
    );

    let report = run(&ledger, &ex, FIX, &is_sluice_id).await;

    assert_eq!(exit_code(&report), 1);
    let report = report.unwrap();
    assert!(matches!(
        report.repairs[0].outcome,
        RepairOutcome::NeedsOperator { .. }
    ));
    assert_eq!(kinds(&report.remaining), vec!["order_unknown_to_ledger"]);
    assert_eq!(ex.trading_calls(), 0);
}

#[sqlx::test(migrations = "./migrations")]
async fn a_live_order_the_exchange_reports_canceled_is_recorded_canceled_with_an_adjustment_row(
    pool: PgPool,
) {
    let ledger = Ledger::from_pool(pool);
    let intent = ledger
        .create_intent(
            &open_intent(
                "o2",
                "BTCUSDT",
                Direction::Long,
                PositionMode::OneWay,
                dec!(100),
            ),
            usdt(dec!(1000)),
        )
        .await
        .unwrap()
        .intent;
    let order = ledger
        .record_order(&market_order(
            &intent,
            "slo2.0.0",
            Side::Buy,
            PositionSide::Both,
            dec!(1),
        ))
        .await
        .unwrap();
    let accepted = OrderUpdate {
        status: OrderState::New,
        exchange_order_id: Some(9),
        error_code: None,
        error_msg: None,
    };
    ledger
        .update_order_status("slo2.0.0", &accepted)
        .await
        .unwrap();
    let mut ex = FakeExchange::new(vec![], vec![], vec![]);
    let mut canceled = open_order("slo2.0.0", 9, "BTCUSDT", PositionSide::Both);
    canceled.status = OrderStatus::Canceled;
    let answer = OrderResolution::Known {
        order: canceled,
        trades: vec![],
    };
    ex.resolutions.insert("slo2.0.0".into(), answer);

    let report = run(&ledger, &ex, FIX, &is_sluice_id).await.unwrap();

    assert!(report.remaining.is_empty(), "{report}");
    let o = ledger
        .order_by_client_id("slo2.0.0")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(o.status, OrderState::Canceled);
    let rows = ledger
        .adjustments_of("orders", order.id.get())
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].before.as_ref().unwrap()["status"], "new");
    assert_eq!(rows[0].after.as_ref().unwrap()["status"], "canceled");
}

#[sqlx::test(migrations = "./migrations")]
async fn an_exchange_failure_is_exit_code_two_and_writes_nothing(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    long_two_sol(&ledger).await;
    let mut ex = FakeExchange::new(vec![], vec![], vec![]);
    ex.fail_positions = true;

    let report = run(&ledger, &ex, FIX, &is_sluice_id).await;

    assert_eq!(exit_code(&report), 2);
    let err = format!("{:#}", report.unwrap_err());
    assert!(
        err.contains("positions") && err.contains("Service Unavailable"),
        "{err}"
    );
    assert_eq!(count(&ledger, "ledger_adjustments").await, 0);
}
