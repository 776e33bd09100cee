//! Storing an order (one statement: checked against its intent and position, then
//! inserted) and the executor's intake reads, against a real Postgres.

use rust_decimal_macros::dec;
use sluice::domain::{
    Direction, IntentKind, IntentState, PositionMode, PositionSide, Side, Symbol,
};
use sluice::ledger::{IntakeScope, Ledger, LedgerError, OrderState};
use sluice_testkit::ledger::*;
use sqlx::PgPool;

fn field_of(err: &LedgerError) -> String {
    match err {
        LedgerError::Invalid { field, .. } => field.clone(),
        LedgerError::NotFound { .. } => "not found".into(),
        other => format!("{other}"),
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn an_order_that_does_not_fit_its_intent_is_refused_naming_the_field_and_writes_nothing(
    pool: PgPool,
) {
    let ledger = Ledger::from_pool(pool);
    let close = long_and_its_close(&ledger).await;
    let open = ledger
        .create_intent(
            &open_intent(
                "o",
                "SOLUSDT",
                Direction::Long,
                PositionMode::OneWay,
                dec!(100),
            ),
            usdt(dec!(1_000_000)),
        )
        .await
        .unwrap()
        .intent;
    let orders_before = count(&ledger, "orders").await;

    let mut other_symbol = market_order(&close, "x-1", Side::Sell, PositionSide::Both, dec!(1));
    other_symbol.request.symbol = Symbol::new("BTCUSDT").unwrap();
    let mut other_position = market_order(&close, "x-2", Side::Sell, PositionSide::Both, dec!(1));
    other_position.position_id = Some(sluice::ledger::PositionId(
        close.position_id.unwrap().0 + 99,
    ));
    let cases = [
        (
            "side",
            market_order(&close, "x-3", Side::Buy, PositionSide::Both, dec!(1)),
        ),
        (
            "position_id",
            market_order(&close, "x-4", Side::Sell, PositionSide::Long, dec!(1)),
        ),
        ("symbol", other_symbol),
        ("position_id", other_position),
        (
            "side",
            market_order(&open, "x-5", Side::Sell, PositionSide::Both, dec!(1)),
        ),
    ];
    for (field, order) in &cases {
        let err = ledger.record_order(order).await.unwrap_err();
        assert_eq!(field_of(&err), *field, "{err}");
    }
    ledger
        .set_intent_state(close.id, IntentState::Cancelled, "test")
        .await
        .unwrap();
    let err = ledger
        .record_order(&market_order(
            &close,
            "x-6",
            Side::Sell,
            PositionSide::Both,
            dec!(1),
        ))
        .await
        .unwrap_err();
    assert_eq!(field_of(&err), "intent_id", "{err}");
    assert!(err.to_string().contains("cancelled"), "{err}");

    assert_eq!(count(&ledger, "orders").await, orders_before);
}

#[sqlx::test(migrations = "./migrations")]
async fn a_recorded_order_is_returned_as_stored_planned_and_naming_its_intents_position(
    pool: PgPool,
) {
    let ledger = Ledger::from_pool(pool);
    let close = long_and_its_close(&ledger).await;

    let recorded = ledger
        .record_order(&market_order(
            &close,
            "c-1",
            Side::Sell,
            PositionSide::Both,
            dec!(1.5),
        ))
        .await
        .unwrap();

    let stored = ledger.order_by_client_id("c-1").await.unwrap().unwrap();
    assert_eq!(recorded, stored);
    assert_eq!(stored.status, OrderState::Planned);
    assert_eq!(stored.position_id, close.position_id);
    assert_eq!(stored.intent_kind, IntentKind::Close);
    assert_eq!(stored.quantity.get(), dec!(1.5));
}

#[sqlx::test(migrations = "./migrations")]
async fn taking_up_moves_accepted_intents_to_working_once_with_their_event(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let close = long_and_its_close(&ledger).await;

    let first = ledger
        .take_up_intents(VENUE, &[], "picked up")
        .await
        .unwrap();
    let again = ledger
        .take_up_intents(VENUE, &[], "picked up")
        .await
        .unwrap();

    let entry = first.iter().find(|a| a.intent.id == close.id).unwrap();
    assert!(entry.started);
    assert_eq!(entry.intent.state, IntentState::Working);
    let entry = again.iter().find(|a| a.intent.id == close.id).unwrap();
    assert!(
        !entry.started,
        "an intent already working is resumed, not started twice"
    );
    assert_eq!(again.len(), first.len());
    let to_working: Vec<_> = ledger
        .intent_events(close.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|(_, to, _)| *to == IntentState::Working)
        .collect();
    assert_eq!(
        to_working,
        vec![(
            IntentState::Accepted,
            IntentState::Working,
            "picked up".to_string()
        )]
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn a_bounded_intake_takes_every_close_only_the_oldest_opens_and_resumes_only_when_asked(
    pool: PgPool,
) {
    // Arrange: an accepted close, then three more accepted opens (the helper's own open
    // is accepted too: four in all).
    let ledger = Ledger::from_pool(pool.clone());
    let close = long_and_its_close(&ledger).await;
    for key in ["o1", "o2", "o3"] {
        let intent = open_intent(
            key,
            "SOLUSDT",
            Direction::Long,
            PositionMode::OneWay,
            dec!(100),
        );
        ledger
            .create_intent(&intent, usdt(dec!(100000)))
            .await
            .unwrap();
    }
    let opens: Vec<sluice::ledger::IntentId> = sqlx::query_scalar(
        "SELECT id FROM intents WHERE state = 'accepted' AND kind = 'open' ORDER BY id",
    )
    .fetch_all(&pool)
    .await
    .unwrap()
    .into_iter()
    .map(sluice::ledger::IntentId)
    .collect();
    assert_eq!(opens.len(), 4);
    let scope = |opens, resume_working| IntakeScope {
        opens,
        resume_working,
    };
    let ids = |taken: &[sluice::ledger::ActiveIntent]| -> Vec<_> {
        taken.iter().map(|a| a.intent.id).collect()
    };

    // Act
    let first = ledger
        .take_up_intents_in(VENUE, &[], "picked up", scope(Some(1), false))
        .await
        .unwrap();
    let second = ledger
        .take_up_intents_in(VENUE, &[], "picked up", scope(Some(1), false))
        .await
        .unwrap();
    let no_room = ledger
        .take_up_intents_in(VENUE, &[], "picked up", scope(Some(0), false))
        .await
        .unwrap();
    let resumed = ledger
        .take_up_intents_in(VENUE, &[close.id.get()], "picked up", scope(Some(0), true))
        .await
        .unwrap();

    // Assert: the close and the oldest open; then the next open alone (working ones are
    // not read again unless resuming); no room takes no open; a resume reads the working
    // ones not held, started by nobody.
    let mut want = vec![close.id, opens[0]];
    want.sort();
    assert_eq!(ids(&first), want);
    assert!(first.iter().all(|a| a.started));
    assert_eq!(ids(&second), vec![opens[1]]);
    assert!(no_room.is_empty(), "{:?}", ids(&no_room));
    assert_eq!(ids(&resumed), vec![opens[0], opens[1]]);
    assert!(resumed.iter().all(|a| !a.started));
    for waits in &opens[2..] {
        let row = ledger.intent(*waits).await.unwrap().unwrap();
        assert_eq!(
            row.state,
            IntentState::Accepted,
            "the newer opens still wait"
        );
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn intake_leaves_held_intents_alone_and_gives_the_next_free_chunk_index(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let close = long_and_its_close(&ledger).await;
    let mut order = market_order(&close, "c-4", Side::Sell, PositionSide::Both, dec!(1));
    order.chunk_index = 4;
    ledger.record_order(&order).await.unwrap();

    let held = [close.id.get()];
    let rest = ledger
        .take_up_intents(VENUE, &held, "picked up")
        .await
        .unwrap();
    let held_one = ledger.intent(close.id).await.unwrap().unwrap();
    let all = ledger
        .take_up_intents(VENUE, &[], "picked up")
        .await
        .unwrap();

    assert!(rest.iter().all(|a| a.intent.id != close.id));
    assert_eq!(
        held_one.state,
        IntentState::Accepted,
        "a held intent is not touched"
    );
    let entry = all.iter().find(|a| a.intent.id == close.id).unwrap();
    assert_eq!(entry.next_chunk, 5);
    assert_eq!(all.len(), rest.len() + 1);
}

#[sqlx::test(migrations = "./migrations")]
async fn the_chunks_of_a_step_are_recorded_together_planned_in_the_order_given(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let close = long_and_its_close(&ledger).await;
    let orders: Vec<_> = ["c-1", "c-2", "c-3"]
        .iter()
        .zip([dec!(0.5), dec!(0.7), dec!(0.3)])
        .map(|(coid, q)| market_order(&close, coid, Side::Sell, PositionSide::Both, q))
        .collect();

    let recorded = ledger
        .record_orders(close.id, &orders)
        .await
        .unwrap()
        .expect("every order fits");

    let ids: Vec<&str> = recorded
        .iter()
        .map(|o| o.client_order_id.as_str())
        .collect();
    assert_eq!(ids, ["c-1", "c-2", "c-3"]);
    for (row, asked) in recorded.iter().zip(&orders) {
        let stored = ledger
            .order_by_client_id(&row.client_order_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&stored, row);
        assert_eq!(stored.status, OrderState::Planned);
        assert_eq!(stored.position_id, close.position_id);
        assert_eq!(stored.quantity, asked.request.quantity);
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn chunks_recorded_together_are_all_refused_when_one_does_not_fit(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let close = long_and_its_close(&ledger).await;
    // A BUY would add to the long this close reduces.
    let orders = vec![
        market_order(&close, "c-1", Side::Sell, PositionSide::Both, dec!(0.5)),
        market_order(&close, "c-2", Side::Buy, PositionSide::Both, dec!(0.5)),
    ];

    let recorded = ledger.record_orders(close.id, &orders).await.unwrap();

    assert!(recorded.is_none());
    for coid in ["c-1", "c-2"] {
        assert!(ledger.order_by_client_id(coid).await.unwrap().is_none());
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn chunks_of_another_intent_cannot_be_recorded_with_a_step(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let close = long_and_its_close(&ledger).await;
    let mut stray = market_order(&close, "c-2", Side::Sell, PositionSide::Both, dec!(0.5));
    stray.intent_id = sluice::ledger::IntentId(close.id.get() + 1);
    let orders = vec![
        market_order(&close, "c-1", Side::Sell, PositionSide::Both, dec!(0.5)),
        stray,
    ];

    let err = ledger.record_orders(close.id, &orders).await.unwrap_err();

    assert_eq!(field_of(&err), "intent_id");
    assert!(ledger.order_by_client_id("c-1").await.unwrap().is_none());
}

#[sqlx::test(migrations = "./migrations")]
async fn an_open_order_is_not_stored_once_the_halt_is_set_and_the_halt_is_the_answer(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let open = ledger
        .create_intent(
            &open_intent(
                "o",
                "SOLUSDT",
                Direction::Long,
                PositionMode::OneWay,
                dec!(100),
            ),
            usdt(dec!(1_000_000)),
        )
        .await
        .unwrap()
        .intent;
    ledger.take_up_intents(VENUE, &[], "test").await.unwrap();
    let before = ledger
        .record_order_unless_halted(&market_order(
            &open,
            "o-1",
            Side::Buy,
            PositionSide::Both,
            dec!(0.5),
        ))
        .await
        .unwrap();
    assert!(before.is_ok(), "stored while the halt is clear");

    ledger.halt("operator", "fat finger").await.unwrap();
    let after = ledger
        .record_order_unless_halted(&market_order(
            &open,
            "o-2",
            Side::Buy,
            PositionSide::Both,
            dec!(0.5),
        ))
        .await
        .unwrap();

    let halt = after.expect_err("a halted open order is refused");
    assert!(halt.halted);
    assert!(halt.refusal().contains("fat finger"), "{}", halt.refusal());
    assert!(ledger.order_by_client_id("o-2").await.unwrap().is_none());
    assert!(ledger.order_by_client_id("o-1").await.unwrap().is_some());
}

#[sqlx::test(migrations = "./migrations")]
async fn an_open_order_that_does_not_fit_is_refused_naming_the_field_while_the_halt_is_clear(
    pool: PgPool,
) {
    let ledger = Ledger::from_pool(pool);
    let open = ledger
        .create_intent(
            &open_intent(
                "o",
                "SOLUSDT",
                Direction::Long,
                PositionMode::OneWay,
                dec!(100),
            ),
            usdt(dec!(1_000_000)),
        )
        .await
        .unwrap()
        .intent;

    let err = ledger
        .record_order_unless_halted(&market_order(
            &open,
            "o-1",
            Side::Sell,
            PositionSide::Both,
            dec!(1),
        ))
        .await
        .unwrap_err();

    assert_eq!(field_of(&err), "side", "{err}");
    assert!(ledger.order_by_client_id("o-1").await.unwrap().is_none());
}

#[sqlx::test(migrations = "./migrations")]
async fn a_stored_intent_is_notified_with_its_id_and_kind_and_a_cancel_as_a_cancel(pool: PgPool) {
    // Arrange: a listener on the executor's channel.
    let mut listener = sqlx::postgres::PgListener::connect_with(&pool)
        .await
        .unwrap();
    listener.listen("sluice_intents").await.unwrap();
    let ledger = Ledger::from_pool(pool);

    // Act: an open is stored (and filled), then a close of its position.
    let close = long_and_its_close(&ledger).await;

    // Assert: each accepted intent was notified as `<id> <kind>`, in order.
    let mut got = Vec::new();
    while got.len() < 2 {
        got.push(listener.recv().await.unwrap().payload().to_string());
    }
    let (open_id, kind) = got[0].split_once(' ').expect("`<id> <kind>`");
    let open = ledger
        .intent(sluice::ledger::IntentId(open_id.parse().unwrap()))
        .await
        .unwrap()
        .expect("the notified open");
    assert_eq!((open.kind(), kind), (IntentKind::Open, "open"));
    assert_eq!(got[1], format!("{} close", close.id));

    // A cancel asked of the working close is notified as such, never as a new intent.
    ledger.take_up_intents(VENUE, &[], "t").await.unwrap();
    ledger.cancel_intent(close.id, "strategy").await.unwrap();
    let cancel = listener.recv().await.unwrap();
    assert_eq!(cancel.payload(), format!("{} cancel", close.id));
}
