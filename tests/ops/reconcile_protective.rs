//! `sluice reconcile` on protective (algo) orders held on one side only, against a real
//! Postgres ledger and the simulator's Algo Service through the real adapter: a stop
//! placed by hand is reported venue-only and left alone; a sluice stop whose row was lost
//! is adopted for its position; a stop cancelled at the venue behind sluice's back is
//! reported ledger-only and, with `--fix --confirm`, gets the final state the venue
//! reports (CANCELED). Each repair writes one `ledger_adjustments` row.

use rust_decimal_macros::dec;
use sluice::domain::{Direction, PositionSide, Side, Symbol};
use sluice::exchange::{AlgoOrderRequest, AlgoStatus, Exchange, ProtectionKind, WorkingType};
use sluice::ledger::NewProtective;
use sluice::ledger::{AdoptPosition, Ledger, PositionId};
use sluice::ops::reconcile::{command, run, ReconcileArgs, ReconcileOptions, ReconcileReport};
use sluice::reconcile::{Discrepancy, ExchangeAlgoState};
use sluice_testkit::adapter::{scenario, start, Loop};
use sluice_testkit::ledger::{count, price, qty};
use sqlx::PgPool;

const FIX: ReconcileOptions = ReconcileOptions {
    fix: true,
    confirm: true,
};

fn never_sluice(_: &str) -> bool {
    false
}

/// The simulator holding a one-way SHORT 500 SOLUSDT, and the ledger holding it too.
async fn short_on_both_sides(pool: PgPool) -> (Loop, Ledger, PositionId) {
    let l = start(scenario(
        "",
        "positions = [ { symbol = \"SOLUSDT\", side = \"SHORT\", quantity = \"500\", entry_price = \"180\" } ]",
    ))
    .await;
    let ledger = Ledger::from_pool(pool);
    let row = ledger
        .adopt_position(&AdoptPosition {
            venue: l.ex.venue().to_string(),
            symbol: Symbol::new("SOLUSDT").unwrap(),
            direction: Direction::Short,
            position_side: PositionSide::Both,
            quantity: qty(dec!(500)),
            entry_price: price(dec!(180)),
            actor: "test".into(),
            reason: "the simulator's short".into(),
        })
        .await
        .unwrap();
    (l, ledger, row.id)
}

/// A stop-loss for the short, above the mark.
async fn stop(l: &Loop, client_algo_id: &str) -> AlgoOrderRequest {
    let mark = l.mark("SOLUSDT").await.get();
    AlgoOrderRequest {
        symbol: Symbol::new("SOLUSDT").unwrap(),
        side: Side::Buy,
        position_side: PositionSide::Both,
        kind: ProtectionKind::StopLoss,
        trigger_price: price((mark * dec!(1.05)).round_dp(2)),
        working_type: WorkingType::Mark,
        quantity: None,
        client_algo_id: client_algo_id.into(),
    }
}

fn protective(found: &[Discrepancy]) -> Vec<&Discrepancy> {
    found
        .iter()
        .filter(|d| d.kind_name().starts_with("protective_"))
        .collect()
}

async fn reconcile(ledger: &Ledger, l: &Loop, opts: ReconcileOptions) -> ReconcileReport {
    run(ledger, l.ex.as_ref(), opts, &never_sluice)
        .await
        .expect("reconcile runs")
}

#[sqlx::test(migrations = "./migrations")]
async fn a_stop_placed_by_hand_is_reported_venue_only_and_left_at_the_venue(pool: PgPool) {
    let (l, ledger, _) = short_on_both_sides(pool).await;
    l.ex.place_algo_order(&stop(&l, "by-hand-1").await)
        .await
        .expect("placed by hand");

    let report = reconcile(&ledger, &l, FIX).await;

    match protective(&report.found)[..] {
        [Discrepancy::ProtectiveOnlyOnExchange {
            order,
            sluice_tagged,
        }] => {
            assert_eq!(order.client_algo_id, "by-hand-1");
            assert!(!sluice_tagged, "not sluice's id form");
        }
        ref other => panic!("expected one venue-only stop, got {other:?}"),
    }
    assert_eq!(
        protective(&report.remaining).len(),
        1,
        "reported again after --fix: reconcile never cancels"
    );
    assert_eq!(report.exit_code(), 1);
    let still =
        l.ex.algo_order("by-hand-1", sluice::exchange::Purpose::Routine)
            .await
            .unwrap()
            .expect("known");
    assert_eq!(still.status, AlgoStatus::New, "left at the venue");
    assert_eq!(count(&ledger, "protective_orders").await, 0);
    let (text, code) = command(
        &ledger,
        l.ex.as_ref(),
        ReconcileArgs::default(),
        &never_sluice,
    )
    .await;
    assert_eq!(code, 1);
    assert!(
        text.contains("protective_only_on_exchange") && text.contains("by-hand-1"),
        "{text}"
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn a_stop_cancelled_behind_sluices_back_is_ledger_only_and_fixed_to_canceled(pool: PgPool) {
    let (l, ledger, position) = short_on_both_sides(pool).await;
    let request = stop(&l, &format!("slp{}g1", position.0)).await;
    let row = ledger
        .plan_protective(&NewProtective {
            position_id: position,
            intent_id: None,
            venue: l.ex.venue().to_string(),
            symbol: request.symbol.clone(),
            position_side: request.position_side,
            side: request.side,
            kind: request.kind,
            generation: 1,
            trigger_price: request.trigger_price.get(),
            working_type: request.working_type,
            client_algo_id: request.client_algo_id.clone(),
        })
        .await
        .unwrap();
    let placed = l.ex.place_algo_order(&request).await.expect("placed");
    ledger.record_protective_report(&placed).await.unwrap();
    assert!(reconcile(&ledger, &l, ReconcileOptions::default())
        .await
        .found
        .is_empty());
    // Behind sluice's back: cancelled at the venue, the ledger still says NEW.
    assert!(l
        .ex
        .cancel_algo_order(&request.client_algo_id)
        .await
        .unwrap());

    let dry = reconcile(&ledger, &l, ReconcileOptions::default()).await;
    match protective(&dry.found)[..] {
        [Discrepancy::ProtectiveOnlyInLedger {
            row: r,
            exchange: ExchangeAlgoState::Known(venue),
        }] => {
            assert_eq!(r.client_algo_id, request.client_algo_id);
            assert_eq!(venue.status, AlgoStatus::Canceled);
        }
        ref other => panic!("expected one ledger-only stop, got {other:?}"),
    }
    let adjustments = count(&ledger, "ledger_adjustments").await;

    let fixed = reconcile(&ledger, &l, FIX).await;

    assert!(fixed.remaining.is_empty(), "{:?}", fixed.remaining);
    assert_eq!(fixed.exit_code(), 0);
    let after = ledger.protective_orders_of(position).await.unwrap();
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].id, row.id);
    assert_eq!(after[0].state, Some(AlgoStatus::Canceled));
    assert_eq!(
        count(&ledger, "ledger_adjustments").await,
        adjustments + 1,
        "one audit row for the settlement"
    );
    let (table, row_id, reason): (String, i64, String) = sqlx::query_as(
        "SELECT table_name, row_id, reason FROM ledger_adjustments ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(ledger.pool())
    .await
    .unwrap();
    assert_eq!((table.as_str(), row_id), ("protective_orders", row.id));
    assert!(reason.contains("CANCELED"), "{reason}");
    let again = reconcile(&ledger, &l, FIX).await;
    assert!(again.found.is_empty(), "settled once: {:?}", again.found);
}

#[sqlx::test(migrations = "./migrations")]
async fn a_sluice_stop_whose_row_was_lost_is_adopted_for_its_position(pool: PgPool) {
    let (l, ledger, position) = short_on_both_sides(pool).await;
    let caid = format!("slp{}g1", position.0);
    let placed = l.ex.place_algo_order(&stop(&l, &caid).await).await.unwrap();

    let report = reconcile(&ledger, &l, FIX).await;

    match protective(&report.found)[..] {
        [Discrepancy::ProtectiveOnlyOnExchange {
            order,
            sluice_tagged: true,
        }] => assert_eq!(order.client_algo_id, caid),
        ref other => panic!("expected one sluice-tagged venue-only stop, got {other:?}"),
    }
    assert!(report.remaining.is_empty(), "{:?}", report.remaining);
    let rows = ledger.protective_orders_of(position).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (
            rows[0].client_algo_id.as_str(),
            rows[0].state,
            rows[0].algo_id
        ),
        (caid.as_str(), Some(AlgoStatus::New), Some(placed.algo_id))
    );
    assert_eq!(rows[0].trigger_price, placed.trigger_price);
    let (table, row_id): (String, i64) = sqlx::query_as(
        "SELECT table_name, row_id FROM ledger_adjustments ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(ledger.pool())
    .await
    .unwrap();
    assert_eq!((table.as_str(), row_id), ("protective_orders", rows[0].id));
}
