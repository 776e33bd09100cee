//! Fills applied in batches (`Ledger::apply_fills`) against a real Postgres: each fill
//! exactly once inside a batch and across batches, several orders, positions and
//! symbols in one transaction, an over-close capped inside a batch, a refused fill that
//! costs the others nothing, and the order updates the stream consumer stores together.

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use sluice::domain::{Direction, Fill, IntentKind, OrderState, PositionMode, PositionSide, Side};
use sluice::ledger::{
    AnomalyKind, FillOutcome, IntentRow, Ledger, LedgerError, OrderProgress, OrderRow,
    PositionEffect, PositionRow, PositionStatus, ReportedOrder,
};
use sluice_testkit::ledger::*;
use sqlx::PgPool;

/// A LONG of `q` at 100 on `symbol` (one-way) and a close intent with one close order of
/// `close_q` on it.
async fn long_with_close(
    ledger: &Ledger,
    key: &str,
    symbol: &str,
    q: Decimal,
    close_q: Decimal,
    trade_id: i64,
) -> (PositionRow, OrderRow) {
    open_filled(
        ledger,
        key,
        symbol,
        Direction::Long,
        PositionMode::OneWay,
        q,
        dec!(100),
        trade_id,
    )
    .await;
    let p = ledger
        .open_positions()
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.symbol.as_str() == symbol)
        .expect("the open built a position");
    let intent: IntentRow = ledger
        .create_intent(
            &close_intent(
                &format!("close-{key}"),
                IntentKind::Close,
                p.id,
                PositionMode::OneWay,
            ),
            usdt(dec!(0)),
        )
        .await
        .unwrap()
        .intent;
    let coid = format!("c-{key}");
    let order = ledger
        .record_order(&market_order(
            &intent,
            &coid,
            Side::Sell,
            PositionSide::Both,
            close_q,
        ))
        .await
        .unwrap();
    (p, order)
}

fn sell(o: &OrderRow, trade_id: i64, q: Decimal, p: Decimal) -> Fill {
    fill(
        o.symbol.as_str(),
        trade_id,
        900 + o.id.get(),
        Some(&o.client_order_id),
        Side::Sell,
        PositionSide::Both,
        q,
        p,
    )
}

async fn apply_all(ledger: &Ledger, fills: &[Fill]) -> Vec<FillOutcome> {
    ledger
        .apply_fills(VENUE, fills, &[], None)
        .await
        .expect("database reachable")
        .into_iter()
        .map(|o| o.expect("fill applied"))
        .collect()
}

#[sqlx::test(migrations = "./migrations")]
async fn a_trade_repeated_inside_a_batch_and_in_a_later_batch_is_applied_once(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let (p, order) = long_with_close(&ledger, "a", "SOLUSDT", dec!(3), dec!(3), 1).await;
    let first = sell(&order, 10, dec!(1), dec!(110));
    let second = sell(&order, 11, dec!(1), dec!(110));
    let outcomes = apply_all(&ledger, &[first.clone(), first.clone(), second.clone()]).await;
    assert!(matches!(
        outcomes[0],
        FillOutcome::Applied {
            effect: PositionEffect::Reduced,
            ..
        }
    ));
    assert_eq!(outcomes[1], FillOutcome::Duplicate);
    assert!(matches!(outcomes[2], FillOutcome::Applied { .. }));
    let again = apply_all(&ledger, &[second, first]).await;
    assert_eq!(again, vec![FillOutcome::Duplicate, FillOutcome::Duplicate]);
    let after = ledger.position(p.id).await.unwrap().unwrap();
    assert_eq!(after.quantity.get(), dec!(1));
    assert_eq!(
        count(&ledger, "fills").await,
        3,
        "the open's fill and two closes"
    );
    let order = ledger
        .order_by_client_id(&order.client_order_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(order.filled_quantity.get(), dec!(2));
    assert_eq!(order.status, OrderState::PartiallyFilled);
}

#[sqlx::test(migrations = "./migrations")]
async fn one_batch_moves_several_orders_positions_and_symbols_each_seeing_the_earlier_fills(
    pool: PgPool,
) {
    let ledger = Ledger::from_pool(pool);
    let (sol, sol_close) = long_with_close(&ledger, "sol", "SOLUSDT", dec!(2), dec!(2), 1).await;
    let (eth, eth_close) = long_with_close(&ledger, "eth", "ETHUSDT", dec!(1), dec!(1), 2).await;
    let fills = [
        sell(&sol_close, 10, dec!(0.5), dec!(110)),
        sell(&eth_close, 11, dec!(0.4), dec!(90)),
        sell(&sol_close, 12, dec!(1.5), dec!(120)),
        sell(&eth_close, 13, dec!(0.6), dec!(80)),
    ];
    let outcomes = apply_all(&ledger, &fills).await;
    let effects: Vec<_> = outcomes
        .iter()
        .map(|o| match o {
            FillOutcome::Applied {
                effect,
                position_id,
                ..
            } => (*effect, *position_id),
            other => panic!("not applied: {other:?}"),
        })
        .collect();
    assert_eq!(
        effects,
        vec![
            (PositionEffect::Reduced, Some(sol.id)),
            (PositionEffect::Reduced, Some(eth.id)),
            (PositionEffect::Closed, Some(sol.id)),
            (PositionEffect::Closed, Some(eth.id)),
        ]
    );
    let sol = ledger.position(sol.id).await.unwrap().unwrap();
    assert_eq!(sol.status, PositionStatus::Closed);
    // 0.5 × (110 − 100) + 1.5 × (120 − 100) = 35, exit at the weighted 117.5.
    assert_eq!(sol.realized_pnl, dec!(35));
    assert_eq!(sol.exit_price, Some(dec!(117.5)));
    let eth = ledger.position(eth.id).await.unwrap().unwrap();
    assert_eq!(eth.status, PositionStatus::Closed);
    assert_eq!(eth.realized_pnl, dec!(-16));
    for o in [&sol_close, &eth_close] {
        let o = ledger
            .order_by_client_id(&o.client_order_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(o.status, OrderState::Filled);
        assert_eq!(o.filled_quantity.get(), o.quantity.get());
    }
    assert!(ledger.anomalies().await.unwrap().is_empty());
}

#[sqlx::test(migrations = "./migrations")]
async fn an_over_close_inside_a_batch_is_capped_at_what_the_earlier_fills_left(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let (p, order) = long_with_close(&ledger, "a", "SOLUSDT", dec!(1), dec!(1), 1).await;
    let outcomes = apply_all(
        &ledger,
        &[
            sell(&order, 10, dec!(0.7), dec!(100)),
            sell(&order, 11, dec!(0.7), dec!(100)),
        ],
    )
    .await;
    let FillOutcome::Applied {
        applied,
        effect,
        anomaly,
        ..
    } = &outcomes[1]
    else {
        panic!("not applied: {outcomes:?}");
    };
    assert_eq!(applied.get(), dec!(0.3));
    assert_eq!(*effect, PositionEffect::Closed);
    assert_eq!(*anomaly, Some(AnomalyKind::OverCloseCapped));
    let after = ledger.position(p.id).await.unwrap().unwrap();
    assert!(after.quantity.is_zero(), "never flipped into a short");
    assert_eq!(ledger.all_positions().await.unwrap().len(), 1);
    let anomalies = ledger.anomalies().await.unwrap();
    assert_eq!(anomalies.len(), 1);
    assert_eq!(anomalies[0].kind, AnomalyKind::OverCloseCapped);
    assert_eq!(anomalies[0].detail["excess"], "0.4");
}

#[sqlx::test(migrations = "./migrations")]
async fn a_fill_refused_on_its_face_costs_the_rest_of_its_batch_nothing(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let (p, order) = long_with_close(&ledger, "a", "SOLUSDT", dec!(2), dec!(2), 1).await;
    let mut zero = sell(&order, 11, dec!(1), dec!(100));
    zero.quantity = qty(Decimal::ZERO);
    let fills = [
        sell(&order, 10, dec!(1), dec!(100)),
        zero,
        sell(&order, 12, dec!(1), dec!(100)),
    ];
    let outcomes = ledger.apply_fills(VENUE, &fills, &[], None).await.unwrap();
    assert!(matches!(outcomes[0], Ok(FillOutcome::Applied { .. })));
    assert!(matches!(&outcomes[1], Err(LedgerError::Invalid { field, .. }) if field == "quantity"));
    assert!(matches!(
        outcomes[2],
        Ok(FillOutcome::Applied {
            effect: PositionEffect::Closed,
            ..
        })
    ));
    assert!(ledger
        .position(p.id)
        .await
        .unwrap()
        .unwrap()
        .quantity
        .is_zero());
    assert_eq!(
        count(&ledger, "fills").await,
        3,
        "the refused fill is not stored"
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn a_fill_carrying_only_the_exchange_id_finds_the_order_an_earlier_fill_of_the_batch_named(
    pool: PgPool,
) {
    let ledger = Ledger::from_pool(pool);
    let (_, order) = long_with_close(&ledger, "a", "SOLUSDT", dec!(2), dec!(2), 1).await;
    assert_eq!(order.exchange_order_id, None, "not answered yet");
    let named = sell(&order, 10, dec!(1), dec!(100));
    let mut bare = sell(&order, 11, dec!(1), dec!(100));
    bare.client_order_id = None;
    let outcomes = apply_all(&ledger, &[named.clone(), bare]).await;
    assert!(
        matches!(outcomes[1], FillOutcome::Applied { order_id, .. } if order_id == order.id),
        "{outcomes:?}"
    );
    let order = ledger
        .order_by_client_id(&order.client_order_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(order.exchange_order_id, Some(named.order_id));
    assert_eq!(order.status, OrderState::Filled);
}

#[sqlx::test(migrations = "./migrations")]
async fn order_updates_stored_together_end_where_one_by_one_would_and_never_go_back(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let (_, order) = long_with_close(&ledger, "a", "SOLUSDT", dec!(2), dec!(2), 1).await;
    // The stream's order: NEW, then a TRADE whose fill was applied first.
    apply_all(&ledger, &[sell(&order, 10, dec!(1), dec!(100))]).await;
    let report = |status| ReportedOrder {
        client_order_id: order.client_order_id.clone(),
        status,
        exchange_order_id: 900 + order.id.get(),
        expire_reason: None,
    };
    let stranger = ReportedOrder {
        client_order_id: "placed-by-hand".into(),
        ..report(OrderState::New)
    };
    let changed = ledger
        .record_order_reports(&[
            report(OrderState::New),
            stranger,
            report(OrderState::PartiallyFilled),
        ])
        .await
        .unwrap();
    assert_eq!(changed, 0, "the fill already wrote all of it");
    let row = ledger
        .order_by_client_id(&order.client_order_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, OrderState::PartiallyFilled);
    let changed = ledger
        .record_order_reports(&[report(OrderState::Canceled), report(OrderState::New)])
        .await
        .unwrap();
    assert_eq!(changed, 1);
    let row = ledger
        .order_by_client_id(&order.client_order_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, OrderState::Canceled);
    assert_eq!(row.filled_quantity.get(), dec!(1));
}

#[sqlx::test(migrations = "./migrations")]
async fn the_settling_view_of_orders_says_what_their_rows_say_and_leaves_unknown_ids_out(
    pool: PgPool,
) {
    let ledger = Ledger::from_pool(pool);
    let (_, order) = long_with_close(&ledger, "a", "SOLUSDT", dec!(2), dec!(2), 1).await;
    apply_all(&ledger, &[sell(&order, 10, dec!(0.5), dec!(100))]).await;
    ledger
        .record_order_reports(&[ReportedOrder {
            client_order_id: order.client_order_id.clone(),
            status: OrderState::Expired,
            exchange_order_id: 900 + order.id.get(),
            expire_reason: Some(sluice::domain::ExpireReason::IocRemainder),
        }])
        .await
        .unwrap();

    let ids = [order.client_order_id.clone(), "placed-by-hand".to_string()];
    let views = ledger.order_progress(&ids).await.unwrap();

    let row = ledger
        .order_by_client_id(&order.client_order_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(views, [OrderProgress::from(row.clone())]);
    let view = &views[0];
    assert_eq!(view.status, OrderState::Expired);
    assert_eq!(view.filled_quantity.get(), dec!(0.5));
    assert_eq!(view.quantity, row.quantity);
    assert_eq!(
        view.expire_reason,
        Some(sluice::domain::ExpireReason::IocRemainder)
    );
    assert!(ledger.order_progress(&[]).await.unwrap().is_empty());
}
