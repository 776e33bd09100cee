//! The ledger's intent, order, budget and audit-trail rules, against a real Postgres
//! (a fresh database per test).

use rust_decimal_macros::dec;
use sluice::domain::{Direction, IntentKind, IntentState, PositionMode, PositionSide, Side};
use sluice::exchange::AttemptRecord;
use sluice::ledger::{AdoptPosition, Ledger, LedgerError, OrderState, OrderUpdate, Origin};
use sluice_testkit::ledger::*;
use sqlx::PgPool;

#[sqlx::test(migrations = "./migrations")]
async fn the_same_idempotency_key_twice_returns_the_first_intent_and_writes_one_row(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let first = open_intent(
        "k1",
        "SOLUSDT",
        Direction::Long,
        PositionMode::OneWay,
        dec!(10),
    );
    let mut second = first.clone();
    second.spec = open_intent(
        "k1",
        "SOLUSDT",
        Direction::Long,
        PositionMode::OneWay,
        dec!(20),
    )
    .spec;

    let a = ledger.create_intent(&first, usdt(dec!(100))).await.unwrap();
    let b = ledger
        .create_intent(&second, usdt(dec!(100)))
        .await
        .unwrap();

    assert!(!a.replayed);
    assert!(b.replayed);
    assert_eq!(a.intent.id, b.intent.id);
    assert_eq!(b.intent.notional_usdt, Some(usdt(dec!(10))));
    assert_eq!(count(&ledger, "intents").await, 1);
    assert_eq!(ledger.recent_intents(10).await.unwrap(), vec![a.intent]);
}

#[sqlx::test(migrations = "./migrations")]
async fn an_open_beyond_the_budget_is_refused_and_only_the_failed_intent_is_written(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    open_filled(
        &ledger,
        "a",
        "BTCUSDT",
        Direction::Long,
        PositionMode::OneWay,
        dec!(1),
        dec!(90.01),
        1,
    )
    .await;
    let before_positions = count(&ledger, "positions").await;

    let err = ledger
        .create_intent(
            &open_intent(
                "b",
                "SOLUSDT",
                Direction::Long,
                PositionMode::OneWay,
                dec!(10),
            ),
            usdt(dec!(90)),
        )
        .await
        .unwrap_err();

    assert_eq!(
        err.to_string(),
        "Not enough budget. Available: $-0.01, Requested: $10.00"
    );
    let LedgerError::NotEnoughBudget { intent_id, .. } = err else {
        panic!("not a budget refusal")
    };
    let stored = ledger.intent(intent_id).await.unwrap().unwrap();
    assert_eq!(stored.state, IntentState::Failed);
    assert_eq!(
        stored.error.as_deref(),
        Some("Not enough budget. Available: $-0.01, Requested: $10.00")
    );
    assert_eq!(count(&ledger, "intents").await, 2);
    assert_eq!(count(&ledger, "intent_events").await, 0);
    assert_eq!(count(&ledger, "orders").await, 1);
    assert_eq!(count(&ledger, "positions").await, before_positions);
}

#[sqlx::test(migrations = "./migrations")]
async fn concurrent_opens_cannot_spend_the_same_budget_twice(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let calls = (0..4).map(|i| {
        let ledger = ledger.clone();
        tokio::spawn(async move {
            let intent = open_intent(
                &format!("c{i}"),
                "SOLUSDT",
                Direction::Long,
                PositionMode::OneWay,
                dec!(60),
            );
            ledger.create_intent(&intent, usdt(dec!(100))).await
        })
    });
    let results = futures_util::future::join_all(calls).await;

    let accepted = results.iter().filter(|r| matches!(r, Ok(Ok(_)))).count();
    let refused = results
        .iter()
        .filter(|r| matches!(r, Ok(Err(LedgerError::NotEnoughBudget { .. }))))
        .count();
    assert_eq!((accepted, refused), (1, 3));
    assert_eq!(
        ledger.budget(usdt(dec!(100))).await.unwrap().available,
        usdt(dec!(40))
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn many_concurrent_opens_accept_exactly_what_the_budget_holds_and_refuse_the_rest_with_a_reason(
    pool: PgPool,
) {
    // Opens on many symbols at once: the one-statement accept and the full path both
    // run under the opens lock, so exactly allocation / size of them are accepted.
    let ledger = Ledger::from_pool(pool);
    let calls = (0..40).map(|i| {
        let ledger = ledger.clone();
        tokio::spawn(async move {
            let intent = open_intent(
                &format!("many{i}"),
                &format!("S{}USDT", i % 7),
                Direction::Long,
                PositionMode::OneWay,
                dec!(10),
            );
            ledger.create_intent(&intent, usdt(dec!(100))).await
        })
    });
    let results = futures_util::future::join_all(calls).await;

    let accepted: Vec<_> = results
        .iter()
        .filter_map(|r| match r {
            Ok(Ok(created)) => Some(created),
            _ => None,
        })
        .collect();
    let refused = results
        .iter()
        .filter(|r| matches!(r, Ok(Err(LedgerError::NotEnoughBudget { .. }))))
        .count();
    assert_eq!((accepted.len(), refused), (10, 30));
    assert!(accepted
        .iter()
        .all(|c| !c.replayed && c.intent.state == IntentState::Accepted));
    let budget = ledger.budget(usdt(dec!(100))).await.unwrap();
    assert_eq!(budget.reserved, usdt(dec!(100)));
    assert_eq!(budget.available, usdt(dec!(0)));
    // Every refusal is stored `failed` with its reason; nothing else was written.
    assert_eq!(count(&ledger, "intents").await, 40);
    assert_eq!(count(&ledger, "intent_events").await, 0);
}

#[sqlx::test(migrations = "./migrations")]
async fn an_open_stored_while_halted_says_the_halt_was_not_clear_and_a_later_halt_cancels_an_accepted_one(
    pool: PgPool,
) {
    let ledger = Ledger::from_pool(pool);
    let open = |key: &str| {
        open_intent(
            key,
            "SOLUSDT",
            Direction::Long,
            PositionMode::OneWay,
            dec!(10),
        )
    };

    let before = ledger
        .create_intent(&open("before"), usdt(dec!(100)))
        .await
        .unwrap();
    assert!(
        before.halt_clear,
        "accepted under the lock with no halt set"
    );

    let halt = ledger.halt("test", "drill").await.unwrap();
    assert_eq!(halt.cancelled_opens, vec![before.intent.id]);

    // The ledger stores it (the API refuses opens while halted), but it must not claim
    // the halt was clear: the caller has to look again.
    let during = ledger
        .create_intent(&open("during"), usdt(dec!(100)))
        .await
        .unwrap();
    assert!(!during.halt_clear);
    assert_eq!(during.intent.state, IntentState::Accepted);

    ledger.resume("test", true).await.unwrap();
    let after = ledger
        .create_intent(&open("after"), usdt(dec!(100)))
        .await
        .unwrap();
    assert!(after.halt_clear);
}

#[sqlx::test(migrations = "./migrations")]
async fn an_accepted_open_by_quantity_keeps_its_quantity_its_valued_notional_and_its_leg_position(
    pool: PgPool,
) {
    let ledger = Ledger::from_pool(pool);
    open_filled(
        &ledger,
        "first",
        "SOLUSDT",
        Direction::Long,
        PositionMode::OneWay,
        dec!(2),
        dec!(150),
        1,
    )
    .await;
    let long = ledger.open_positions().await.unwrap().remove(0);
    let mut more = open_intent(
        "more",
        "SOLUSDT",
        Direction::Long,
        PositionMode::OneWay,
        dec!(1),
    );
    more.spec = sluice::domain::IntentSpec::Open {
        symbol: sym("SOLUSDT"),
        direction: Direction::Long,
        size: sluice::domain::OpenSize::Quantity(
            sluice::domain::Qty::parse("quantity", "3").unwrap(),
        ),
    };
    more.reference_price = Some(sluice::domain::Price::parse("price", "150").unwrap());

    let created = ledger
        .create_intent(&more, usdt(dec!(10000)))
        .await
        .unwrap();

    assert_eq!(created.intent.state, IntentState::Accepted);
    assert_eq!(created.intent.notional_usdt, Some(usdt(dec!(450))));
    assert_eq!(
        created.intent.spec.quantity().map(|q| q.get()),
        Some(dec!(3))
    );
    assert_eq!(created.intent.position_id, Some(long.id));
    let again = ledger
        .create_intent(&more, usdt(dec!(10000)))
        .await
        .unwrap();
    assert!(again.replayed);
    assert_eq!(again.intent.id, created.intent.id);
}

#[sqlx::test(migrations = "./migrations")]
async fn one_way_mode_refuses_an_open_against_an_open_position_and_names_it(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
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
    let long = ledger.open_positions().await.unwrap().remove(0);

    let err = ledger
        .create_intent(
            &open_intent(
                "short",
                "SOLUSDT",
                Direction::Short,
                PositionMode::OneWay,
                dec!(10),
            ),
            usdt(dec!(10000)),
        )
        .await
        .unwrap_err();

    let LedgerError::OppositePositionOpen {
        position_id,
        intent_id,
        ..
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!(*position_id, long.id);
    assert!(err.to_string().contains(&format!("position #{}", long.id)));
    assert!(err.to_string().contains("close it"));
    assert_eq!(
        ledger.intent(*intent_id).await.unwrap().unwrap().state,
        IntentState::Failed
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn hedge_mode_holds_a_long_and_a_short_leg_on_the_same_symbol(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    open_filled(
        &ledger,
        "l",
        "SOLUSDT",
        Direction::Long,
        PositionMode::Hedge,
        dec!(2),
        dec!(150),
        1,
    )
    .await;
    open_filled(
        &ledger,
        "s",
        "SOLUSDT",
        Direction::Short,
        PositionMode::Hedge,
        dec!(1),
        dec!(151),
        2,
    )
    .await;

    let open = ledger.open_positions().await.unwrap();
    let legs: Vec<_> = open
        .iter()
        .map(|p| (p.position_side, p.direction, p.quantity.get()))
        .collect();
    assert_eq!(
        legs,
        vec![
            (PositionSide::Long, Direction::Long, dec!(2)),
            (PositionSide::Short, Direction::Short, dec!(1))
        ]
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn a_close_order_that_would_open_the_other_way_is_refused_before_it_is_stored(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let close = long_and_its_close(&ledger).await;

    let err = ledger
        .record_order(&market_order(
            &close,
            "c-1",
            Side::Buy,
            PositionSide::Both,
            dec!(2),
        ))
        .await
        .unwrap_err();

    assert!(
        matches!(&err, LedgerError::Invalid { field, .. } if field == "side"),
        "{err}"
    );
    assert_eq!(count(&ledger, "orders").await, 1);
}

#[sqlx::test(migrations = "./migrations")]
async fn a_close_of_a_closed_position_is_refused_without_writing(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let (open, _) = open_filled(
        &ledger,
        "l",
        "SOLUSDT",
        Direction::Long,
        PositionMode::OneWay,
        dec!(1),
        dec!(150),
        1,
    )
    .await;
    let position = ledger
        .intent(open.id)
        .await
        .unwrap()
        .unwrap()
        .position_id
        .unwrap();
    sluice_testkit::raw::set_raw_quantity(&ledger, position, dec!(0))
        .await
        .unwrap();
    sqlx::query("UPDATE positions SET status = 'closed', closed_at = now()")
        .execute(ledger.pool())
        .await
        .unwrap();

    let err = ledger
        .create_intent(
            &close_intent("c", IntentKind::Close, position, PositionMode::OneWay),
            usdt(dec!(0)),
        )
        .await
        .unwrap_err();

    assert!(err.to_string().contains("is closed"), "{err}");
    assert_eq!(count(&ledger, "intents").await, 1);
}

#[sqlx::test(migrations = "./migrations")]
async fn every_intent_state_change_is_evented_and_a_terminal_state_is_final(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let id = ledger
        .create_intent(
            &open_intent(
                "k",
                "SOLUSDT",
                Direction::Long,
                PositionMode::OneWay,
                dec!(10),
            ),
            usdt(dec!(100)),
        )
        .await
        .unwrap()
        .intent
        .id;

    ledger
        .set_intent_state(id, IntentState::Working, "planned 1 chunk")
        .await
        .unwrap();
    ledger
        .set_intent_state(id, IntentState::Done, "filled")
        .await
        .unwrap();
    let err = ledger
        .set_intent_state(id, IntentState::Working, "late")
        .await
        .unwrap_err();

    assert!(matches!(err, LedgerError::InvalidTransition { .. }));
    let events = ledger.intent_events(id).await.unwrap();
    assert_eq!(
        events,
        vec![
            (
                IntentState::Accepted,
                IntentState::Working,
                "planned 1 chunk".to_string()
            ),
            (
                IntentState::Working,
                IntentState::Done,
                "filled".to_string()
            ),
        ]
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn a_terminal_order_never_goes_back_to_a_live_status(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let (_, order) = open_filled(
        &ledger,
        "l",
        "SOLUSDT",
        Direction::Long,
        PositionMode::OneWay,
        dec!(1),
        dec!(150),
        1,
    )
    .await;
    let late_new = OrderUpdate {
        status: OrderState::New,
        exchange_order_id: Some(10),
        error_code: None,
        error_msg: None,
    };

    let after = ledger
        .update_order_status(&order.client_order_id, &late_new)
        .await
        .unwrap();

    assert_eq!(after.status, OrderState::Filled);
    assert_eq!(after.filled_quantity.get(), dec!(1));
    assert!(ledger.non_terminal_orders().await.unwrap().is_empty());
    assert_eq!(
        ledger
            .order_by_exchange_id(VENUE, "SOLUSDT", 10)
            .await
            .unwrap()
            .map(|o| o.id),
        Some(order.id)
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn a_recorded_order_is_planned_and_listed_for_crash_recovery(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let intent = ledger
        .create_intent(
            &open_intent(
                "k",
                "SOLUSDT",
                Direction::Short,
                PositionMode::Hedge,
                dec!(10),
            ),
            usdt(dec!(100)),
        )
        .await
        .unwrap()
        .intent;

    let order = ledger
        .record_order(&market_order(
            &intent,
            "x-1",
            Side::Sell,
            PositionSide::Short,
            dec!(1),
        ))
        .await
        .unwrap();

    assert_eq!(order.status, OrderState::Planned);
    assert_eq!(order.intent_kind, IntentKind::Open);
    assert_eq!(
        ledger.non_terminal_orders().await.unwrap(),
        vec![order.clone()]
    );
    assert_eq!(ledger.order_by_client_id("x-1").await.unwrap(), Some(order));
}

#[sqlx::test(migrations = "./migrations")]
async fn attempts_are_stored_in_one_batch_and_read_back_unchanged(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let records: Vec<AttemptRecord> = (0..3)
        .map(|i| AttemptRecord {
            venue: VENUE.into(),
            sent_at: t(i),
            exchange_time: Some(t(i)),
            method: "POST".into(),
            endpoint: "/fapi/v1/order".into(),
            params: format!("symbol=SOLUSDT&side=SELL&newClientOrderId=c-1&timestamp={i}"),
            is_order: true,
            symbol: Some("SOLUSDT".into()),
            client_order_id: Some("c-1".into()),
            http_status: Some(if i == 2 { 200 } else { 503 }),
            error_code: (i < 2).then_some(-1008),
            error_msg: (i < 2).then(|| "Request throttled by system-level protection.".to_string()),
            error_class: (i < 2).then(|| "backoff".to_string()),
            latency_ms: 40 + i,
            used_weight_1m: Some(12),
            order_count_10s: Some(i),
            order_count_1m: None,
        })
        .collect();

    let written = ledger.insert_attempts(&records).await.unwrap();

    assert_eq!(written, 3);
    assert_eq!(ledger.attempts_for("c-1").await.unwrap(), records);
}

#[sqlx::test(migrations = "./migrations")]
async fn an_adopted_position_is_marked_adopted_with_an_adjustment_row(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let adopt = AdoptPosition {
        venue: VENUE.into(),
        symbol: sym("ETHUSDT"),
        direction: Direction::Short,
        position_side: PositionSide::Both,
        quantity: qty(dec!(0.5)),
        entry_price: price(dec!(3000)),
        actor: "startup".into(),
        reason: "found on the exchange at start".into(),
    };

    let p = ledger.adopt_position(&adopt).await.unwrap();

    assert_eq!(p.origin, Origin::Adopted);
    assert_eq!(
        ledger.budget(usdt(dec!(2000))).await.unwrap().used,
        usdt(dec!(1500))
    );
    let adjustments = ledger
        .adjustments_of("positions", p.id.get())
        .await
        .unwrap();
    assert_eq!(adjustments.len(), 1);
    assert_eq!(adjustments[0].actor, "startup");
    assert!(adjustments[0].before.is_none());
    assert_eq!(
        adjustments[0]
            .after
            .as_ref()
            .and_then(|a| a["origin"].as_str()),
        Some("adopted")
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn replaying_a_refused_intent_returns_the_first_failed_intent_without_a_new_check(
    pool: PgPool,
) {
    let ledger = Ledger::from_pool(pool);
    let big = open_intent(
        "k",
        "SOLUSDT",
        Direction::Long,
        PositionMode::OneWay,
        dec!(500),
    );
    let first = ledger
        .create_intent(&big, usdt(dec!(100)))
        .await
        .unwrap_err();

    let replay = ledger.create_intent(&big, usdt(dec!(10000))).await.unwrap();

    assert!(first.is_refusal());
    assert!(replay.replayed);
    assert_eq!(replay.intent.state, IntentState::Failed);
    assert_eq!(
        replay.intent.error.as_deref(),
        Some("Not enough budget. Available: $100.00, Requested: $500.00")
    );
    assert_eq!(count(&ledger, "intents").await, 1);
}
