//! Concurrent opens accepted together (`src/ledger/accept_batch.rs`, one statement per
//! batch): the budget holds in every batch, a key asked at once by many callers is stored
//! once, and an open the batch cannot take does not keep the others from being accepted.

use rust_decimal_macros::dec;
use sluice::domain::{Direction, IntentState, PositionMode, PositionSide, Side};
use sluice::ledger::{IntentCreated, Ledger, LedgerError};
use sluice_testkit::ledger::*;
use sqlx::PgPool;

/// Create `intents` at once on `ledger` with `allocation`, answers in the same order.
async fn all_at_once(
    ledger: &Ledger,
    intents: Vec<sluice::ledger::NewIntent>,
    allocation: rust_decimal::Decimal,
) -> Vec<Result<IntentCreated, LedgerError>> {
    let tasks = intents.into_iter().map(|intent| {
        let ledger = ledger.clone();
        tokio::spawn(async move { ledger.create_intent(&intent, usdt(allocation)).await })
    });
    futures_util::future::join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.expect("task ran"))
        .collect()
}

#[sqlx::test(migrations = "./migrations")]
async fn opens_accepted_together_never_commit_more_than_the_allocation(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let opens = (0..24)
        .map(|i| {
            open_intent(
                &format!("k-{i}"),
                &format!("S{}USDT", i % 3),
                Direction::Long,
                PositionMode::OneWay,
                dec!(10),
            )
        })
        .collect();

    let answers = all_at_once(&ledger, opens, dec!(100)).await;

    let accepted: Vec<_> = answers.iter().filter_map(|a| a.as_ref().ok()).collect();
    let refused = answers
        .iter()
        .filter(|a| matches!(a, Err(LedgerError::NotEnoughBudget { .. })))
        .count();
    assert_eq!(accepted.len(), 10, "{answers:?}");
    assert_eq!(refused, 14, "{answers:?}");
    assert!(accepted
        .iter()
        .all(|c| c.intent.state == IntentState::Accepted && !c.replayed));
    let budget = ledger.budget(usdt(dec!(100))).await.unwrap();
    assert_eq!(budget.reserved.get(), dec!(100));
    assert_eq!(budget.available.get(), dec!(0));
    assert!(ledger.reserved_check().await.unwrap().agrees());
}

#[sqlx::test(migrations = "./migrations")]
async fn one_key_asked_by_many_callers_at_once_is_stored_once_and_replayed_to_the_rest(
    pool: PgPool,
) {
    let ledger = Ledger::from_pool(pool);
    let opens = (0..8)
        .map(|_| {
            open_intent(
                "same-key",
                "SOLUSDT",
                Direction::Long,
                PositionMode::OneWay,
                dec!(10),
            )
        })
        .collect();

    let answers = all_at_once(&ledger, opens, dec!(1000)).await;

    let created: Vec<&IntentCreated> = answers
        .iter()
        .map(|a| a.as_ref().expect("stored or replayed"))
        .collect();
    assert_eq!(created.iter().filter(|c| !c.replayed).count(), 1);
    let id = created[0].intent.id;
    assert!(created.iter().all(|c| c.intent.id == id), "{created:?}");
    let budget = ledger.budget(usdt(dec!(1000))).await.unwrap();
    assert_eq!(budget.reserved.get(), dec!(10), "reserved once");
}

#[sqlx::test(migrations = "./migrations")]
async fn an_open_too_big_for_the_budget_does_not_keep_smaller_concurrent_opens_out(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let mut opens = vec![open_intent(
        "big",
        "BTCUSDT",
        Direction::Long,
        PositionMode::OneWay,
        dec!(500),
    )];
    opens.extend((0..7).map(|i| {
        open_intent(
            &format!("small-{i}"),
            "SOLUSDT",
            Direction::Long,
            PositionMode::OneWay,
            dec!(10),
        )
    }));

    let answers = all_at_once(&ledger, opens, dec!(100)).await;

    assert!(
        matches!(answers[0], Err(LedgerError::NotEnoughBudget { .. })),
        "{:?}",
        answers[0]
    );
    assert!(
        answers[1..].iter().all(|a| a.is_ok()),
        "every small open fits: {answers:?}"
    );
    let budget = ledger.budget(usdt(dec!(100))).await.unwrap();
    assert_eq!(budget.reserved.get(), dec!(70));
    assert!(ledger.reserved_check().await.unwrap().agrees());
}

#[sqlx::test(migrations = "./migrations")]
async fn an_open_is_accepted_while_an_uncommitted_insert_references_its_legs_position(
    pool: PgPool,
) {
    let ledger = Ledger::from_pool(pool.clone());
    let first = open_intent(
        "first",
        "SOLUSDT",
        Direction::Long,
        PositionMode::OneWay,
        dec!(100),
    );
    let first = ledger
        .create_intent(&first, usdt(dec!(1000)))
        .await
        .unwrap()
        .intent;
    let order = market_order(&first, "o-first", Side::Buy, PositionSide::Both, dec!(1));
    ledger.record_order(&order).await.unwrap();
    let f = fill(
        "SOLUSDT",
        1,
        1,
        Some("o-first"),
        Side::Buy,
        PositionSide::Both,
        dec!(0.5),
        dec!(100),
    );
    ledger.apply_fill(VENUE, &f, &[]).await.unwrap();
    let position = ledger.open_positions().await.unwrap().remove(0);
    // What the executor's order or fill insert holds until its commit: the foreign-key
    // check's FOR KEY SHARE on the position it references.
    let mut other = pool.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM positions WHERE id = $1 FOR KEY SHARE")
        .bind(position.id)
        .execute(&mut *other)
        .await
        .unwrap();

    let second = open_intent(
        "second",
        "SOLUSDT",
        Direction::Long,
        PositionMode::OneWay,
        dec!(100),
    );
    let accepted = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        ledger.create_intent(&second, usdt(dec!(1000))),
    )
    .await
    .expect("the accept does not wait for the other transaction's end")
    .unwrap();

    assert_eq!(accepted.intent.state, IntentState::Accepted);
    assert_eq!(accepted.intent.position_id, Some(position.id));
    other.rollback().await.unwrap();
}
