//! Cancelling an intent in the ledger: at once while `accepted`, as a request while
//! `working`, never for an ended intent or a flatten; the executor's move to `working`
//! loses against a cancel that came first.

use rust_decimal_macros::dec;
use sluice::domain::{Direction, IntentKind, IntentState, PositionMode};
use sluice::ledger::{CancelOutcome, Ledger, LedgerError};
use sluice_testkit::ledger::*;
use sqlx::PgPool;

async fn stored_open(ledger: &Ledger, key: &str) -> sluice::ledger::IntentId {
    let open = open_intent(
        key,
        "SOLUSDT",
        Direction::Long,
        PositionMode::OneWay,
        dec!(10),
    );
    ledger
        .create_intent(&open, usdt(dec!(100)))
        .await
        .expect("stored")
        .intent
        .id
}

#[sqlx::test(migrations = "./migrations")]
async fn an_accepted_intent_is_cancelled_at_once_and_a_second_cancel_changes_nothing(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let id = stored_open(&ledger, "c1").await;

    let first = ledger.cancel_intent(id, "tester").await.expect("cancel");
    let second = ledger
        .cancel_intent(id, "tester")
        .await
        .expect("cancel again");

    assert!(matches!(first, CancelOutcome::Cancelled(ref r) if r.state == IntentState::Cancelled));
    assert!(matches!(second, CancelOutcome::Ended(ref r) if r.state == IntentState::Cancelled));
    let timeline = ledger.intent_events(id).await.expect("timeline");
    assert_eq!(timeline.len(), 1, "one state change: {timeline:?}");
    assert_eq!(timeline[0].2, "cancelled by tester");
    // The executor's intake read it as accepted before the cancel: its move loses.
    let taken = ledger
        .set_intent_state(id, IntentState::Working, "picked up by the executor")
        .await;
    assert!(
        matches!(taken, Err(LedgerError::InvalidTransition { .. })),
        "{taken:?}"
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn a_working_intent_gets_a_request_once_that_the_executor_reads_and_the_stream_shows(
    pool: PgPool,
) {
    let ledger = Ledger::from_pool(pool);
    let id = stored_open(&ledger, "c2").await;
    ledger
        .set_intent_state(id, IntentState::Working, "picked up by the executor")
        .await
        .expect("working");

    let first = ledger
        .cancel_intent(id, "strategy-7")
        .await
        .expect("cancel");
    let second = ledger
        .cancel_intent(id, "someone-else")
        .await
        .expect("again");

    let (at1, at2) = match (first, second) {
        (
            CancelOutcome::Requested {
                requested_at: a,
                first: true,
                intent,
            },
            CancelOutcome::Requested {
                requested_at: b,
                first: false,
                ..
            },
        ) => {
            assert_eq!(intent.state, IntentState::Working);
            (a, b)
        }
        other => panic!("two requests expected, got {other:?}"),
    };
    assert_eq!(at1, at2, "the second cancel changed nothing");
    let requests = ledger.cancel_requests(VENUE).await.expect("requests");
    assert_eq!(requests, vec![(id, "cancelled by strategy-7".to_string())]);
    let row = ledger.intent(id).await.expect("read").expect("intent");
    assert_eq!(row.state, IntentState::Working, "the executor ends it");
    let page = ledger.events_after(0, 100).await.expect("events");
    let last = page.events.last().expect("an event");
    assert_eq!(
        (last.kind.as_str(), &last.payload["cancel_requested"]),
        ("intent", &serde_json::json!(true))
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn an_ended_intent_and_a_flatten_are_left_unchanged(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let done = stored_open(&ledger, "c3").await;
    ledger
        .set_intent_state(done, IntentState::Working, "picked up")
        .await
        .expect("working");
    ledger
        .set_intent_state(done, IntentState::Done, "filled")
        .await
        .expect("done");
    let flatten = close_intent(
        "f1",
        IntentKind::Flatten,
        sluice::ledger::PositionId(1),
        PositionMode::OneWay,
    );
    let (created, _) = ledger.flatten(&flatten, "tester").await.expect("flatten");

    let ended = ledger.cancel_intent(done, "tester").await.expect("cancel");
    let refused = ledger
        .cancel_intent(created.intent.id, "tester")
        .await
        .expect("cancel");
    let missing = ledger
        .cancel_intent(sluice::ledger::IntentId(9999), "tester")
        .await;

    assert!(matches!(ended, CancelOutcome::Ended(ref r) if r.state == IntentState::Done));
    assert!(
        matches!(refused, CancelOutcome::Refused { ref reason, .. } if reason.contains("resume"))
    );
    let flat = ledger
        .intent(created.intent.id)
        .await
        .expect("read")
        .expect("row");
    assert_eq!(flat.state, IntentState::Accepted);
    assert!(matches!(missing, Err(LedgerError::NotFound { .. })));
    assert!(ledger
        .cancel_requests(VENUE)
        .await
        .expect("requests")
        .is_empty());
}
