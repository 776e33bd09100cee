//! `sluice doctor` against a real Postgres: each finding class is found with the rows
//! involved, dry-run writes nothing, and `confirm` repairs with adjustment rows.

use chrono::Duration;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use sluice::domain::{Direction, IntentKind, PositionMode, PositionSide};
use sluice::ledger::{Ledger, PositionId, PositionStatus};
use sluice::ops::demo::{seed_demo_ledger, DEMO_ALLOCATION};
use sluice::ops::doctor::{run, DoctorOptions, FindingClass};
use sluice_testkit::ledger::*;
use sluice_testkit::raw::{insert_raw_position, set_raw_quantity, RawPosition};
use sqlx::PgPool;

fn opts(confirm: bool) -> DoctorOptions {
    DoctorOptions {
        confirm,
        allocation: dec!(1000000),
    }
}

/// Seed 002 as it happened: the LONG closed correctly, then the same SELL opened a SHORT
/// at the LONG's exit price, the same second, with the same size.
async fn plant_seed_002_phantom(ledger: &Ledger) -> (PositionId, PositionId) {
    let (open, _) = open_filled(
        ledger,
        "o",
        "SOLUSDT",
        Direction::Long,
        PositionMode::OneWay,
        dec!(0.07),
        dec!(142.5),
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
            &close_intent("c", IntentKind::Close, long, PositionMode::OneWay),
            usdt(dec!(0)),
        )
        .await
        .unwrap()
        .intent;
    ledger
        .record_order(&market_order(
            &close,
            "c-1",
            sluice::domain::Side::Sell,
            PositionSide::Both,
            dec!(0.07),
        ))
        .await
        .unwrap();
    let sell = fill(
        "SOLUSDT",
        2,
        20,
        Some("c-1"),
        sluice::domain::Side::Sell,
        PositionSide::Both,
        dec!(0.07),
        dec!(143.1),
    );
    ledger.apply_fill(VENUE, &sell, &[]).await.unwrap();
    let closed = ledger.position(long).await.unwrap().unwrap();
    let phantom = RawPosition {
        venue: VENUE.into(),
        symbol: "SOLUSDT".into(),
        direction: "short".into(),
        position_side: "BOTH".into(),
        status: "open".into(),
        quantity: dec!(0.07),
        entry_price: dec!(143.1),
        opened_quantity: dec!(0.07),
        closed_quantity: dec!(0),
        exit_price: None,
        opened_at: closed.closed_at.unwrap() + Duration::milliseconds(400),
        closed_at: None,
    };
    (insert_raw_position(ledger, &phantom).await.unwrap(), long)
}

#[sqlx::test(migrations = "./migrations")]
async fn the_demo_history_is_clean_and_has_no_short(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let summary = seed_demo_ledger(&ledger).await.unwrap();
    let again = seed_demo_ledger(&ledger).await.unwrap();

    let report = run(
        &ledger,
        DoctorOptions {
            confirm: false,
            allocation: DEMO_ALLOCATION,
        },
    )
    .await
    .unwrap();

    assert!(report.is_clean(), "{report}");
    assert_eq!(report.exit_code(), 0);
    assert!(again.already_seeded);
    let positions = ledger.all_positions().await.unwrap();
    assert!(positions.iter().all(|p| p.direction == Direction::Long));
    let open: Vec<_> = positions
        .iter()
        .filter(|p| p.status == PositionStatus::Open)
        .map(|p| p.id)
        .collect();
    assert_eq!(open, vec![summary.running_position.unwrap()]);
    assert_eq!(report.budget.used, usdt(dec!(61.02)));
}

#[sqlx::test(migrations = "./migrations")]
async fn a_dry_run_finds_the_seed_002_phantom_and_changes_nothing(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let (phantom, long) = plant_seed_002_phantom(&ledger).await;

    let report = run(&ledger, opts(false)).await.unwrap();

    let classes: Vec<_> = report.findings.iter().map(|f| f.class).collect();
    assert_eq!(classes, vec![FindingClass::PhantomAfterClose]);
    assert_eq!(report.findings[0].positions, vec![phantom, long]);
    assert_eq!(report.exit_code(), 1);
    assert!(report.to_string().contains("would close"));
    assert_eq!(
        ledger.position(phantom).await.unwrap().unwrap().status,
        PositionStatus::Open
    );
    assert_eq!(count(&ledger, "ledger_adjustments").await, 0);
}

#[sqlx::test(migrations = "./migrations")]
async fn confirm_closes_the_phantom_with_one_adjustment_and_frees_its_budget(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let (phantom, _) = plant_seed_002_phantom(&ledger).await;

    let report = run(&ledger, opts(true)).await.unwrap();
    let rerun = run(&ledger, opts(false)).await.unwrap();

    assert_eq!(report.repairs.len(), 1);
    let p = ledger.position(phantom).await.unwrap().unwrap();
    assert_eq!(
        (p.status, p.quantity.get()),
        (PositionStatus::Closed, dec!(0))
    );
    let adjustments = ledger
        .adjustments_of("positions", phantom.get())
        .await
        .unwrap();
    assert_eq!(adjustments.len(), 1);
    assert_eq!(adjustments[0].actor, "doctor");
    assert_eq!(adjustments[0].before.as_ref().unwrap()["status"], "open");
    assert_eq!(adjustments[0].after.as_ref().unwrap()["status"], "closed");
    assert_eq!(report.budget_after.unwrap().available, usdt(dec!(1000000)));
    assert!(rerun.is_clean(), "{rerun}");
}

#[sqlx::test(migrations = "./migrations")]
async fn a_quantity_that_its_fills_do_not_explain_is_recomputed_from_the_fills(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let (open, _) = open_filled(
        &ledger,
        "o",
        "BTCUSDT",
        Direction::Short,
        PositionMode::Hedge,
        dec!(0.5),
        dec!(60000),
        1,
    )
    .await;
    let id = ledger
        .intent(open.id)
        .await
        .unwrap()
        .unwrap()
        .position_id
        .unwrap();
    set_raw_quantity(&ledger, id, dec!(0.8)).await.unwrap();

    let dry = run(&ledger, opts(false)).await.unwrap();
    let fixed = run(&ledger, opts(true)).await.unwrap();

    assert_eq!(dry.findings.len(), 1);
    assert_eq!(
        (dry.findings[0].class, dry.findings[0].positions.clone()),
        (FindingClass::FillsMismatch, vec![id])
    );
    assert_eq!(fixed.repairs.len(), 1);
    assert_eq!(
        ledger.position(id).await.unwrap().unwrap().quantity.get(),
        dec!(0.5)
    );
    let adjustments = ledger.adjustments_of("positions", id.get()).await.unwrap();
    assert_eq!(adjustments[0].before.as_ref().unwrap()["quantity"], 0.8);
    assert_eq!(adjustments[0].after.as_ref().unwrap()["quantity"], 0.5);
}

#[sqlx::test(migrations = "./migrations")]
async fn a_position_built_only_by_close_fills_is_found_and_closed_on_confirm(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let (phantom, long) = plant_seed_002_phantom(&ledger).await;
    // Make it look as the buggy handler left it: the close fill credited to the SHORT,
    // a second later than the phantom rule's window, at another price.
    sqlx::query("UPDATE fills SET position_id = $1 WHERE id = (SELECT MAX(id) FROM fills)")
        .bind(phantom)
        .execute(ledger.pool())
        .await
        .unwrap();
    sqlx::query("UPDATE positions SET opened_at = opened_at + interval '1 minute', entry_price = 1 WHERE id = $1").bind(phantom).execute(ledger.pool()).await.unwrap();

    let report = run(&ledger, opts(true)).await.unwrap();

    let classes: Vec<_> = report
        .findings
        .iter()
        .map(|f| (f.class, f.positions.clone()))
        .collect();
    assert!(
        classes.contains(&(FindingClass::CreatedByCloseFill, vec![phantom])),
        "{report}"
    );
    assert!(
        classes
            .iter()
            .any(|(c, ids)| *c == FindingClass::FillsMismatch && ids == &vec![long]),
        "{report}"
    );
    assert_eq!(
        ledger.position(phantom).await.unwrap().unwrap().status,
        PositionStatus::Closed
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn drift_against_the_exchange_is_reported_and_never_repaired_here(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let (open, _) = open_filled(
        &ledger,
        "o",
        "SOLUSDT",
        Direction::Short,
        PositionMode::Hedge,
        dec!(2),
        dec!(150),
        1,
    )
    .await;
    let id = ledger
        .intent(open.id)
        .await
        .unwrap()
        .unwrap()
        .position_id
        .unwrap();
    let theirs = reported("SOLUSDT", PositionSide::Short, dec!(-3), dec!(150), t(50));
    ledger
        .record_exchange_positions(VENUE, &[theirs])
        .await
        .unwrap();

    let report = run(&ledger, opts(true)).await.unwrap();

    assert_eq!(report.findings.len(), 1);
    assert_eq!(
        (
            report.findings[0].class,
            report.findings[0].positions.clone()
        ),
        (FindingClass::ExchangeDrift, vec![id])
    );
    assert!(
        report.findings[0]
            .detail
            .contains("ledger -2 vs exchange -3"),
        "{}",
        report.findings[0].detail
    );
    assert!(report.repairs.is_empty());
    assert_eq!(
        ledger.position(id).await.unwrap().unwrap().quantity.get(),
        dec!(2)
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn a_negative_available_budget_is_a_finding_and_the_report_serialises(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    open_filled(
        &ledger,
        "o",
        "SOLUSDT",
        Direction::Long,
        PositionMode::OneWay,
        dec!(1),
        dec!(10.01),
        1,
    )
    .await;

    let report = run(
        &ledger,
        DoctorOptions {
            confirm: false,
            allocation: dec!(10),
        },
    )
    .await
    .unwrap();

    assert_eq!(report.findings.len(), 1);
    assert_eq!(report.findings[0].class, FindingClass::NegativeBudget);
    assert!(
        report.findings[0].detail.starts_with("available $-0.01"),
        "{}",
        report.findings[0].detail
    );
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["findings"][0]["class"], "negative_budget");
    assert_eq!(json["budget"]["available"], "-0.01");
    assert_eq!(Decimal::ZERO, report.budget.reserved.get());
}

#[sqlx::test(migrations = "./migrations")]
async fn intents_whose_state_disagrees_with_their_fills_are_flagged(pool: PgPool) {
    // Arrange: an open that filled but was marked failed (the old answer to a remainder
    // below minQty), and a reduce marked done with nothing sent (the old answer to a
    // reduce below minQty).
    let ledger = Ledger::from_pool(pool);
    let (open, _) = open_filled(
        &ledger,
        "o",
        "BTCUSDT",
        Direction::Long,
        PositionMode::OneWay,
        dec!(0.002),
        dec!(65000),
        1,
    )
    .await;
    let position = ledger.intent(open.id).await.unwrap().unwrap().position_id;
    for (id, to) in [
        (open.id, sluice::domain::IntentState::Working),
        (open.id, sluice::domain::IntentState::Failed),
    ] {
        ledger.set_intent_state(id, to, "test").await.unwrap();
    }
    let mut tiny = close_intent(
        "r",
        IntentKind::Close,
        position.unwrap(),
        PositionMode::OneWay,
    );
    tiny.spec = sluice::domain::IntentSpec::Reduce {
        position: position.unwrap(),
        quantity: qty(dec!(0.0005)),
    };
    let reduce = ledger
        .create_intent(&tiny, usdt(dec!(0)))
        .await
        .unwrap()
        .intent;
    ledger
        .set_intent_state(
            reduce.id,
            sluice::domain::IntentState::Done,
            "nothing left to close",
        )
        .await
        .unwrap();

    // Act.
    let report = run(&ledger, opts(false)).await.unwrap();

    // Assert: both intents flagged, each with its own reason.
    let flagged: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.class == FindingClass::IntentStateMismatch)
        .collect();
    assert_eq!(flagged.len(), 2, "{report}");
    assert_eq!(flagged[0].intents, vec![open.id]);
    assert!(flagged[0].detail.contains("failed although 0.002 filled"));
    assert_eq!(flagged[1].intents, vec![reduce.id]);
    assert!(flagged[1].detail.contains("nothing filled"));
    assert_eq!(report.exit_code(), 1);
}
