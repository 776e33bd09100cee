//! An intent handed over in-process taken up with its first orders in one statement
//! (`Ledger::take_up_with_orders`), against a real Postgres: stored together, lost to a
//! race without writing anything, refused orders leaving the intent taken up, and the
//! halt gate of an open's orders.

use rust_decimal_macros::dec;
use sluice::domain::{Direction, IntentState, PositionMode, PositionSide, Side};
use sluice::ledger::{IntentRow, Ledger, OrderState, TakeUp};
use sluice_testkit::ledger::*;
use sqlx::PgPool;

async fn accepted_open(ledger: &Ledger) -> IntentRow {
    let open = open_intent(
        "o",
        "SOLUSDT",
        Direction::Long,
        PositionMode::OneWay,
        dec!(100),
    );
    ledger
        .create_intent(&open, usdt(dec!(1_000_000)))
        .await
        .unwrap()
        .intent
}

/// Take `open` up with one BUY of 0.5 ("o-1") as its first order.
async fn take_up_with_one_buy(ledger: &Ledger, open: &IntentRow) -> TakeUp {
    let orders = vec![market_order(
        open,
        "o-1",
        Side::Buy,
        PositionSide::Both,
        dec!(0.5),
    )];
    ledger
        .take_up_with_orders(open.id, VENUE, "picked up", &orders, true)
        .await
        .unwrap()
}

async fn moves_to_working(ledger: &Ledger, intent: &IntentRow) -> usize {
    ledger
        .intent_events(intent.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|(from, to, _)| *from == IntentState::Accepted && *to == IntentState::Working)
        .count()
}

#[sqlx::test(migrations = "./migrations")]
async fn a_handed_intent_is_taken_up_with_its_first_orders_stored_planned(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let close = long_and_its_close(&ledger).await;
    let orders = vec![
        market_order(&close, "c-1", Side::Sell, PositionSide::Both, dec!(1)),
        market_order(&close, "c-2", Side::Sell, PositionSide::Both, dec!(1)),
    ];

    let took = ledger
        .take_up_with_orders(close.id, VENUE, "picked up", &orders, false)
        .await
        .unwrap();

    assert_eq!(took, TakeUp::Stored);
    let row = ledger.intent(close.id).await.unwrap().unwrap();
    assert_eq!(row.state, IntentState::Working);
    assert_eq!(moves_to_working(&ledger, &close).await, 1);
    for (coid, asked) in ["c-1", "c-2"].iter().zip(&orders) {
        let stored = ledger.order_by_client_id(coid).await.unwrap().unwrap();
        assert_eq!(stored.status, OrderState::Planned);
        assert_eq!(stored.position_id, close.position_id);
        assert_eq!(stored.quantity, asked.request.quantity);
    }
    // The ledger's intake does not start it again, and resumes it after these chunks.
    let active = ledger.take_up_intents(VENUE, &[], "again").await.unwrap();
    let entry = active.iter().find(|a| a.intent.id == close.id).unwrap();
    assert!(!entry.started);
    assert_eq!(entry.next_chunk, 1);
}

#[sqlx::test(migrations = "./migrations")]
async fn a_take_up_that_lost_the_race_writes_nothing(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let close = long_and_its_close(&ledger).await;
    // Another executor (or this one's intake) took it up first.
    ledger
        .take_up_intents(VENUE, &[], "elsewhere")
        .await
        .unwrap();
    let orders = vec![market_order(
        &close,
        "c-1",
        Side::Sell,
        PositionSide::Both,
        dec!(1),
    )];

    let took = ledger
        .take_up_with_orders(close.id, VENUE, "picked up", &orders, false)
        .await
        .unwrap();

    assert_eq!(took, TakeUp::Lost);
    assert!(ledger.order_by_client_id("c-1").await.unwrap().is_none());
    assert_eq!(moves_to_working(&ledger, &close).await, 1);
}

#[sqlx::test(migrations = "./migrations")]
async fn an_open_the_halt_cancelled_before_its_take_up_sends_nothing(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let open = accepted_open(&ledger).await;
    ledger.halt("operator", "fat finger").await.unwrap();

    let took = take_up_with_one_buy(&ledger, &open).await;

    assert_eq!(took, TakeUp::Lost);
    assert!(ledger.order_by_client_id("o-1").await.unwrap().is_none());
    let row = ledger.intent(open.id).await.unwrap().unwrap();
    assert_eq!(row.state, IntentState::Cancelled);
}

#[sqlx::test(migrations = "./migrations")]
async fn an_open_taken_up_while_the_halt_is_set_stores_no_order(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let open = accepted_open(&ledger).await;
    // The flag alone, as a halt committed between the accept and the take-up would
    // leave it had it not cancelled the open (the statement's own gate is what is tested).
    sqlx::query(
        "INSERT INTO control_flags (key, value, actor)
         VALUES ('halt', '{\"halted\": true, \"reason\": \"fat finger\"}', 'test')",
    )
    .execute(ledger.pool())
    .await
    .unwrap();

    let took = take_up_with_one_buy(&ledger, &open).await;

    assert_eq!(took, TakeUp::Halted);
    assert!(ledger.order_by_client_id("o-1").await.unwrap().is_none());
    let row = ledger.intent(open.id).await.unwrap().unwrap();
    assert_eq!(
        row.state,
        IntentState::Working,
        "taken up, to be cancelled by the executor"
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn orders_that_do_not_fit_are_all_refused_and_the_intent_is_still_taken_up(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let close = long_and_its_close(&ledger).await;
    // A BUY would add to the long this close reduces.
    let orders = vec![
        market_order(&close, "c-1", Side::Sell, PositionSide::Both, dec!(1)),
        market_order(&close, "c-2", Side::Buy, PositionSide::Both, dec!(1)),
    ];

    let took = ledger
        .take_up_with_orders(close.id, VENUE, "picked up", &orders, false)
        .await
        .unwrap();

    assert_eq!(took, TakeUp::Refused);
    for coid in ["c-1", "c-2"] {
        assert!(ledger.order_by_client_id(coid).await.unwrap().is_none());
    }
    let row = ledger.intent(close.id).await.unwrap().unwrap();
    assert_eq!(row.state, IntentState::Working);
    assert_eq!(moves_to_working(&ledger, &close).await, 1);
}

#[sqlx::test(migrations = "./migrations")]
async fn an_order_of_another_intent_cannot_ride_on_a_take_up(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let close = long_and_its_close(&ledger).await;
    let mut stray = market_order(&close, "c-1", Side::Sell, PositionSide::Both, dec!(1));
    stray.intent_id = sluice::ledger::IntentId(close.id.get() + 1);

    let err = ledger
        .take_up_with_orders(close.id, VENUE, "picked up", &[stray], false)
        .await
        .unwrap_err();

    assert!(err.to_string().contains("intent_id"), "{err}");
    let row = ledger.intent(close.id).await.unwrap().unwrap();
    assert_eq!(row.state, IntentState::Accepted, "nothing written");
}
