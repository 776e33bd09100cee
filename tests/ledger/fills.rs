//! Fill application against a real Postgres: the seed-002 rules (only opens create
//! positions, closes never flip), idempotency, external fills, exchange positions.

use rust_decimal_macros::dec;
use sluice::domain::{Direction, IntentKind, IntentState, PositionMode, PositionSide, Side};
use sluice::ledger::{
    AnomalyKind, FillOutcome, IntentRow, Ledger, OrderRow, PositionEffect, PositionRow,
    PositionStatus,
};
use sluice_testkit::ledger::*;
use sqlx::PgPool;

async fn only_position(ledger: &Ledger) -> PositionRow {
    let mut all = ledger.all_positions().await.unwrap();
    assert_eq!(all.len(), 1, "expected exactly one position, got {all:?}");
    all.remove(0)
}

async fn close_order(
    ledger: &Ledger,
    key: &str,
    p: &PositionRow,
    q: rust_decimal::Decimal,
) -> (IntentRow, OrderRow) {
    let mode = if p.position_side == PositionSide::Both {
        PositionMode::OneWay
    } else {
        PositionMode::Hedge
    };
    let intent = ledger
        .create_intent(
            &close_intent(key, IntentKind::Close, p.id, mode),
            usdt(dec!(0)),
        )
        .await
        .unwrap()
        .intent;
    let order = ledger
        .record_order(&market_order(
            &intent,
            &format!("c-{key}"),
            p.direction.close_side(),
            p.position_side,
            q,
        ))
        .await
        .unwrap();
    (intent, order)
}

#[sqlx::test(migrations = "./migrations")]
async fn seed_002_a_long_closed_by_a_market_sell_leaves_no_short_and_the_full_budget(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let (open, _) = open_filled(
        &ledger,
        "open",
        "SOLUSDT",
        Direction::Long,
        PositionMode::OneWay,
        dec!(0.07),
        dec!(142.50),
        1,
    )
    .await;
    ledger
        .set_intent_state(open.id, IntentState::Done, "filled")
        .await
        .unwrap();
    let long = only_position(&ledger).await;
    let (close, order) = close_order(&ledger, "close", &long, dec!(0.07)).await;
    let sell = fill(
        "SOLUSDT",
        2,
        20,
        Some(&order.client_order_id),
        Side::Sell,
        PositionSide::Both,
        dec!(0.07),
        dec!(143.10),
    );
    let flat = reported("SOLUSDT", PositionSide::Both, dec!(0), dec!(0), t(2));

    let outcome = ledger.apply_fill(VENUE, &sell, &[flat]).await.unwrap();
    ledger
        .set_intent_state(close.id, IntentState::Done, "filled")
        .await
        .unwrap();

    assert!(
        matches!(
            outcome,
            FillOutcome::Applied {
                effect: PositionEffect::Closed,
                anomaly: None,
                ..
            }
        ),
        "{outcome:?}"
    );
    let closed = only_position(&ledger).await;
    assert_eq!(closed.direction, Direction::Long);
    assert_eq!(closed.status, PositionStatus::Closed);
    assert_eq!(closed.quantity.get(), dec!(0));
    assert_eq!(closed.exit_price, Some(dec!(143.10)));
    assert_eq!(closed.realized_pnl, dec!(0.042));
    assert!(closed.closed_at.is_some());
    assert!(ledger.open_positions().await.unwrap().is_empty());
    let budget = ledger.budget(usdt(dec!(10))).await.unwrap();
    assert_eq!(budget.available, usdt(dec!(10)));
    assert_eq!(
        ledger.exchange_positions().await.unwrap()[0].amount,
        dec!(0)
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn an_over_close_is_capped_at_the_open_quantity_and_recorded_as_an_anomaly(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    open_filled(
        &ledger,
        "open",
        "SOLUSDT",
        Direction::Short,
        PositionMode::OneWay,
        dec!(1),
        dec!(150),
        1,
    )
    .await;
    let short = only_position(&ledger).await;
    let (_, order) = close_order(&ledger, "close", &short, dec!(1)).await;
    let buy = fill(
        "SOLUSDT",
        2,
        20,
        Some(&order.client_order_id),
        Side::Buy,
        PositionSide::Both,
        dec!(1.5),
        dec!(140),
    );

    let outcome = ledger.apply_fill(VENUE, &buy, &[]).await.unwrap();

    let FillOutcome::Applied {
        applied,
        anomaly,
        effect,
        ..
    } = outcome
    else {
        panic!("{outcome:?}")
    };
    assert_eq!(
        (applied.get(), anomaly, effect),
        (
            dec!(1),
            Some(AnomalyKind::OverCloseCapped),
            PositionEffect::Closed
        )
    );
    let p = only_position(&ledger).await;
    assert_eq!(
        (p.direction, p.status, p.realized_pnl),
        (Direction::Short, PositionStatus::Closed, dec!(10))
    );
    let anomalies = ledger.anomalies().await.unwrap();
    assert_eq!(anomalies.len(), 1);
    assert_eq!(anomalies[0].detail["excess"], "0.5");
    assert_eq!(
        ledger.all_fills().await.unwrap()[1].applied_quantity.get(),
        dec!(1)
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn a_fill_no_sluice_order_explains_is_stored_external_and_creates_no_position(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let stranger = fill(
        "SOLUSDT",
        7,
        70,
        Some("web_abc123"),
        Side::Sell,
        PositionSide::Both,
        dec!(3),
        dec!(150),
    );

    let outcome = ledger.apply_fill(VENUE, &stranger, &[]).await.unwrap();

    assert!(matches!(outcome, FillOutcome::External { .. }));
    assert_eq!(count(&ledger, "positions").await, 0);
    let stored = ledger.all_fills().await.unwrap();
    assert!(stored[0].external);
    assert_eq!(stored[0].applied_quantity.get(), dec!(0));
    assert_eq!(
        ledger.anomalies().await.unwrap()[0].kind,
        AnomalyKind::ExternalFill
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn the_same_trade_applied_twice_changes_nothing_the_second_time(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let (_, order) = open_filled(
        &ledger,
        "open",
        "SOLUSDT",
        Direction::Long,
        PositionMode::OneWay,
        dec!(1),
        dec!(150),
        1,
    )
    .await;
    let again = fill(
        "SOLUSDT",
        1,
        10,
        Some(&order.client_order_id),
        Side::Buy,
        PositionSide::Both,
        dec!(1),
        dec!(150),
    );
    let newer = reported("SOLUSDT", PositionSide::Both, dec!(5), dec!(1), t(99));

    let outcome = ledger.apply_fill(VENUE, &again, &[newer]).await.unwrap();

    assert_eq!(outcome, FillOutcome::Duplicate);
    assert_eq!(only_position(&ledger).await.quantity.get(), dec!(1));
    assert_eq!(count(&ledger, "fills").await, 1);
    assert_eq!(count(&ledger, "exchange_positions").await, 0);
    assert_eq!(
        ledger
            .order_by_client_id(&order.client_order_id)
            .await
            .unwrap()
            .unwrap()
            .filled_quantity
            .get(),
        dec!(1)
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn partial_closes_reduce_then_close_with_the_average_exit_price(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    open_filled(
        &ledger,
        "open",
        "ETHUSDT",
        Direction::Long,
        PositionMode::Hedge,
        dec!(2),
        dec!(3000),
        1,
    )
    .await;
    let long = only_position(&ledger).await;
    let (_, order) = close_order(&ledger, "close", &long, dec!(2)).await;
    let coid = order.client_order_id.clone();

    let first = ledger
        .apply_fill(
            VENUE,
            &fill(
                "ETHUSDT",
                2,
                20,
                Some(&coid),
                Side::Sell,
                PositionSide::Long,
                dec!(0.5),
                dec!(3100),
            ),
            &[],
        )
        .await
        .unwrap();
    // The second chunk's fill arrives without clientOrderId (userTrades): found by order id.
    let second = ledger
        .apply_fill(
            VENUE,
            &fill(
                "ETHUSDT",
                3,
                20,
                None,
                Side::Sell,
                PositionSide::Long,
                dec!(1.5),
                dec!(3300),
            ),
            &[],
        )
        .await
        .unwrap();

    assert!(matches!(
        first,
        FillOutcome::Applied {
            effect: PositionEffect::Reduced,
            ..
        }
    ));
    assert!(matches!(
        second,
        FillOutcome::Applied {
            effect: PositionEffect::Closed,
            ..
        }
    ));
    let p = only_position(&ledger).await;
    assert_eq!(p.exit_price, Some(dec!(3250)));
    assert_eq!(p.realized_pnl, dec!(500));
    let order = ledger.order_by_client_id(&coid).await.unwrap().unwrap();
    assert_eq!(
        (
            order.filled_quantity.get(),
            order.avg_price.map(|p| p.get())
        ),
        (dec!(2), Some(dec!(3250)))
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn open_chunks_add_to_one_position_at_the_weighted_entry_price(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let intent = ledger
        .create_intent(
            &open_intent(
                "o",
                "SOLUSDT",
                Direction::Short,
                PositionMode::OneWay,
                dec!(1000),
            ),
            usdt(dec!(1000)),
        )
        .await
        .unwrap()
        .intent;
    for (i, (q, p)) in [(dec!(1), dec!(100)), (dec!(3), dec!(104))]
        .into_iter()
        .enumerate()
    {
        let coid = format!("o-{i}");
        let mut new = market_order(&intent, &coid, Side::Sell, PositionSide::Both, q);
        new.chunk_index = i as i32;
        ledger.record_order(&new).await.unwrap();
        let f = fill(
            "SOLUSDT",
            i as i64 + 1,
            i as i64 + 100,
            Some(&coid),
            Side::Sell,
            PositionSide::Both,
            q,
            p,
        );
        ledger.apply_fill(VENUE, &f, &[]).await.unwrap();
    }

    let p = only_position(&ledger).await;
    assert_eq!(
        (p.direction, p.quantity.get(), p.entry_price),
        (Direction::Short, dec!(4), dec!(103))
    );
    assert_eq!(
        ledger.intent(intent.id).await.unwrap().unwrap().position_id,
        Some(p.id)
    );
    let view = ledger.intent_view(intent.id).await.unwrap().unwrap();
    assert_eq!((view.orders.len(), view.fills.len()), (2, 2));
    assert_eq!(
        ledger.budget(usdt(dec!(1000))).await.unwrap().used,
        usdt(dec!(412))
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn an_older_exchange_position_event_never_overwrites_a_newer_one(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let newer = reported("SOLUSDT", PositionSide::Both, dec!(-2), dec!(150), t(10));
    let older = reported("SOLUSDT", PositionSide::Both, dec!(5), dec!(140), t(5));

    ledger
        .record_exchange_positions(VENUE, &[newer])
        .await
        .unwrap();
    ledger
        .record_exchange_positions(VENUE, &[older])
        .await
        .unwrap();

    let stored = ledger.exchange_positions().await.unwrap();
    assert_eq!((stored[0].amount, stored[0].event_time), (dec!(-2), t(10)));
}

#[sqlx::test(migrations = "./migrations")]
async fn an_open_fill_against_an_opposite_one_way_position_moves_nothing(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    // An open intent accepted before the opposite position existed (e.g. a race).
    let late = ledger
        .create_intent(
            &open_intent(
                "late",
                "SOLUSDT",
                Direction::Short,
                PositionMode::OneWay,
                dec!(150),
            ),
            usdt(dec!(1000)),
        )
        .await
        .unwrap()
        .intent;
    ledger
        .record_order(&market_order(
            &late,
            "late-1",
            Side::Sell,
            PositionSide::Both,
            dec!(1),
        ))
        .await
        .unwrap();
    open_filled(
        &ledger,
        "long",
        "SOLUSDT",
        Direction::Long,
        PositionMode::OneWay,
        dec!(2),
        dec!(150),
        1,
    )
    .await;

    let f = fill(
        "SOLUSDT",
        2,
        20,
        Some("late-1"),
        Side::Sell,
        PositionSide::Both,
        dec!(1),
        dec!(150),
    );
    let outcome = ledger.apply_fill(VENUE, &f, &[]).await.unwrap();

    assert!(matches!(
        outcome,
        FillOutcome::Applied {
            anomaly: Some(AnomalyKind::OpenAgainstOpposite),
            ..
        }
    ));
    let p = only_position(&ledger).await;
    assert_eq!((p.direction, p.quantity.get()), (Direction::Long, dec!(2)));
}

#[sqlx::test(migrations = "./migrations")]
async fn two_first_fills_racing_on_an_empty_leg_build_one_position(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let mut fills = Vec::new();
    for i in 0..2i64 {
        let key = format!("o{i}");
        let intent = ledger
            .create_intent(
                &open_intent(
                    &key,
                    "SOLUSDT",
                    Direction::Long,
                    PositionMode::OneWay,
                    dec!(150),
                ),
                usdt(dec!(1000)),
            )
            .await
            .unwrap()
            .intent;
        ledger
            .record_order(&market_order(
                &intent,
                &key,
                Side::Buy,
                PositionSide::Both,
                dec!(1),
            ))
            .await
            .unwrap();
        fills.push(fill(
            "SOLUSDT",
            i + 1,
            i + 10,
            Some(&key),
            Side::Buy,
            PositionSide::Both,
            dec!(1),
            dec!(150),
        ));
    }

    let racing = fills.into_iter().map(|f| {
        let ledger = ledger.clone();
        tokio::spawn(async move { ledger.apply_fill(VENUE, &f, &[]).await })
    });
    let outcomes = futures_util::future::join_all(racing).await;

    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, Ok(Ok(FillOutcome::Applied { anomaly: None, .. })))),
        "{outcomes:?}"
    );
    let p = only_position(&ledger).await;
    assert_eq!(p.quantity.get(), dec!(2));
}

#[sqlx::test(migrations = "./migrations")]
async fn a_fill_whose_notional_is_out_of_range_is_refused_without_writing(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let huge = fill(
        "SOLUSDT",
        1,
        10,
        None,
        Side::Buy,
        PositionSide::Both,
        dec!(79000000000000000000000),
        dec!(1000000000),
    );

    let err = ledger.apply_fill(VENUE, &huge, &[]).await.unwrap_err();

    assert!(err.to_string().starts_with("quantity:"), "{err}");
    assert_eq!(count(&ledger, "fills").await, 0);
}

#[sqlx::test(migrations = "./migrations")]
async fn a_flatten_of_everything_closes_each_position_its_orders_name_and_opens_nothing(
    pool: PgPool,
) {
    let ledger = Ledger::from_pool(pool);
    open_filled(
        &ledger,
        "l",
        "SOLUSDT",
        Direction::Long,
        PositionMode::OneWay,
        dec!(2),
        dec!(150),
        1,
    )
    .await;
    open_filled(
        &ledger,
        "s",
        "ETHUSDT",
        Direction::Short,
        PositionMode::OneWay,
        dec!(1),
        dec!(3000),
        2,
    )
    .await;
    let open = ledger.open_positions().await.unwrap();
    let all = close_intent(
        "flat",
        IntentKind::Flatten,
        open[0].id,
        PositionMode::OneWay,
    );
    let flatten = ledger
        .create_intent(&all, usdt(dec!(0)))
        .await
        .unwrap()
        .intent;
    let unnamed = sluice::ledger::NewOrder {
        position_id: None,
        ..market_order(
            &open_intent_row(&flatten, "SOLUSDT"),
            "f-0",
            Side::Sell,
            PositionSide::Both,
            dec!(2),
        )
    };
    let refused = ledger.record_order(&unnamed).await;

    for (i, p) in open.iter().enumerate() {
        let coid = format!("f-{}", i + 1);
        let mut order = market_order(
            &open_intent_row(&flatten, p.symbol.as_str()),
            &coid,
            p.direction.close_side(),
            PositionSide::Both,
            p.quantity.get(),
        );
        order.position_id = Some(p.id);
        ledger.record_order(&order).await.unwrap();
        let f = fill(
            p.symbol.as_str(),
            10 + i as i64,
            100 + i as i64,
            Some(&coid),
            p.direction.close_side(),
            PositionSide::Both,
            p.quantity.get(),
            dec!(140),
        );
        ledger.apply_fill(VENUE, &f, &[]).await.unwrap();
    }

    assert!(refused.is_err());
    assert!(ledger.open_positions().await.unwrap().is_empty());
    assert_eq!(count(&ledger, "positions").await, 2);
    assert!(ledger.anomalies().await.unwrap().is_empty());
}

/// The flatten-all intent has no symbol; the order builder needs one per order.
fn open_intent_row(intent: &IntentRow, symbol: &str) -> IntentRow {
    IntentRow {
        symbol: Some(sym(symbol)),
        ..intent.clone()
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn an_intents_filled_sum_counts_every_fill_of_every_order_and_records_what_each_applied(
    pool: PgPool,
) {
    let ledger = Ledger::from_pool(pool);
    open_filled(
        &ledger,
        "open",
        "SOLUSDT",
        Direction::Short,
        PositionMode::OneWay,
        dec!(10),
        dec!(150),
        1,
    )
    .await;
    let p = only_position(&ledger).await;
    let (close, first) = close_order(&ledger, "sum", &p, dec!(4)).await;
    assert!(ledger.filled_of_intent(close.id).await.unwrap().is_zero());
    let second = ledger
        .record_order(&market_order(
            &close,
            "c-sum-2",
            Side::Buy,
            PositionSide::Both,
            dec!(3),
        ))
        .await
        .unwrap();
    for (trade, order, q) in [
        (2, &first, dec!(1.5)),
        (3, &first, dec!(2.5)),
        (4, &second, dec!(3)),
    ] {
        let f = fill(
            "SOLUSDT",
            trade,
            order.id.get(),
            Some(order.client_order_id.as_str()),
            Side::Buy,
            PositionSide::Both,
            q,
            dec!(149),
        );
        ledger.apply_fill(VENUE, &f, &[]).await.unwrap();
    }
    assert_eq!(
        ledger.filled_of_intent(close.id).await.unwrap().get(),
        dec!(7)
    );
    let rows: Vec<(Option<i64>, Option<rust_decimal::Decimal>)> = sqlx::query_as(
        "SELECT position_id, applied_quantity FROM fills WHERE trade_id IN (2, 3, 4) ORDER BY trade_id",
    )
    .fetch_all(ledger.pool())
    .await
    .unwrap();
    let applied: Vec<_> = rows.iter().map(|(_, a)| a.map(|d| d.normalize())).collect();
    assert_eq!(
        applied,
        vec![Some(dec!(1.5)), Some(dec!(2.5)), Some(dec!(3))]
    );
    assert!(rows.iter().all(|(pos, _)| *pos == Some(p.id.get())));
    let orders = ledger.orders_of_intent(close.id).await.unwrap();
    assert_eq!(orders[0].filled_quantity.get(), dec!(4));
    assert_eq!(only_position(&ledger).await.quantity.get(), dec!(3));
}
