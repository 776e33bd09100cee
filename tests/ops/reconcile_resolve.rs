//! Ledger orders the exchange does not list open are resolved by clientOrderId
//! (read-only): their trades close gaps below the ledger's last trade id, and their
//! terminal state is recorded from the exchange's answer, never guessed.

use rust_decimal_macros::dec;
use sluice::domain::{Direction, IntentKind, OrderStatus, PositionMode, PositionSide, Side};
use sluice::exchange::OrderResolution;
use sluice::ledger::{Ledger, OrderState, OrderUpdate, PositionStatus};
use sluice::ops::reconcile::{run, ReconcileOptions};
use sluice::reconcile::{Discrepancy, ExchangeOrderState};
use sluice_testkit::ledger::*;
use sluice_testkit::reconcile::*;
use sqlx::PgPool;

const FIX: ReconcileOptions = ReconcileOptions {
    fix: true,
    confirm: true,
};

fn update(status: OrderState, exchange_order_id: Option<i64>) -> OrderUpdate {
    OrderUpdate {
        status,
        exchange_order_id,
        error_code: None,
        error_msg: None,
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn a_close_fill_older_than_the_last_trade_id_is_found_through_its_order(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    // The ledger's last SOLUSDT trade is 5, so userTrades from 5 cannot show trade 3.
    open_filled(
        &ledger,
        "open",
        "SOLUSDT",
        Direction::Long,
        PositionMode::OneWay,
        dec!(2),
        dec!(100),
        5,
    )
    .await;
    let position = ledger.open_positions().await.unwrap()[0].id;
    let intent = ledger
        .create_intent(
            &close_intent("close", IntentKind::Close, position, PositionMode::OneWay),
            usdt(dec!(0)),
        )
        .await
        .unwrap()
        .intent;
    let mut order = market_order(&intent, "slc1.0.0", Side::Sell, PositionSide::Both, dec!(2));
    order.position_id = Some(position);
    ledger.record_order(&order).await.unwrap();
    ledger
        .update_order_status("slc1.0.0", &update(OrderState::New, Some(555)))
        .await
        .unwrap();
    let open = fill(
        "SOLUSDT",
        5,
        50,
        None,
        Side::Buy,
        PositionSide::Both,
        dec!(2),
        dec!(100),
    );
    let close = fill(
        "SOLUSDT",
        3,
        555,
        None,
        Side::Sell,
        PositionSide::Both,
        dec!(2),
        dec!(90),
    );
    let mut ex = FakeExchange::new(vec![], vec![], vec![open, close.clone()]);
    let mut filled = open_order("slc1.0.0", 555, "SOLUSDT", PositionSide::Both);
    filled.status = OrderStatus::Filled;
    ex.resolutions.insert(
        "slc1.0.0".into(),
        OrderResolution::Known {
            order: filled,
            trades: vec![close],
        },
    );

    let report = run(&ledger, &ex, FIX, &is_sluice_id).await.unwrap();

    let missing: Vec<i64> = report
        .found
        .iter()
        .filter_map(|d| match d {
            Discrepancy::FillMissingFromLedger { trade } => Some(trade.trade_id),
            _ => None,
        })
        .collect();
    assert_eq!(missing, vec![3]);
    assert!(report.remaining.is_empty(), "{report}");
    let p = ledger.position(position).await.unwrap().unwrap();
    assert_eq!(
        (p.status, p.realized_pnl),
        (PositionStatus::Closed, dec!(-20))
    );
    assert_eq!(
        ledger
            .order_by_client_id("slc1.0.0")
            .await
            .unwrap()
            .unwrap()
            .status,
        OrderState::Filled
    );
    assert_eq!(count(&ledger, "ledger_adjustments").await, 0);
}

#[sqlx::test(migrations = "./migrations")]
async fn a_sent_order_the_exchange_never_saw_is_recorded_rejected(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let intent = ledger
        .create_intent(
            &open_intent(
                "o",
                "ETHUSDT",
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
            "slo9.0.0",
            Side::Buy,
            PositionSide::Both,
            dec!(0.05),
        ))
        .await
        .unwrap();
    ledger
        .update_order_status("slo9.0.0", &update(OrderState::Sent, None))
        .await
        .unwrap();
    let ex = FakeExchange::new(vec![], vec![], vec![]);

    let report = run(&ledger, &ex, FIX, &is_sluice_id).await.unwrap();

    match &report.found[..] {
        [Discrepancy::OrderMissingOnExchange { exchange, .. }] => {
            assert_eq!(*exchange, ExchangeOrderState::NotFound)
        }
        other => panic!("expected one missing order, got {other:?}"),
    }
    assert!(report.remaining.is_empty(), "{report}");
    assert_eq!(
        ledger
            .order_by_client_id("slo9.0.0")
            .await
            .unwrap()
            .unwrap()
            .status,
        OrderState::Rejected
    );
    let rows = ledger
        .adjustments_of("orders", order.id.get())
        .await
        .unwrap();
    assert!(
        rows.len() == 1 && rows[0].reason.contains("NotFound"),
        "{rows:?}"
    );
}
