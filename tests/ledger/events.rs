//! The event outbox against a real Postgres: numbered in commit order (two interleaved
//! transactions), a commit waiting for the numbering lock, retention and its floor, and
//! the appended kinds.

use std::time::Duration;

use rust_decimal_macros::dec;
use sluice::domain::{Direction, PositionMode};
use sluice::ledger::Ledger;
use sluice_testkit::ledger::*;
use sqlx::{Connection, PgPool};

const INSERT_OPEN: &str = "INSERT INTO intents (kind, venue, symbol, direction, position_mode,
     notional_usdt, idempotency_key, state)
     VALUES ('open', 'binance-usdm', 'SOLUSDT', 'long', 'one-way', 10, $1, 'accepted')
     RETURNING id";

/// The intent ids of the `intent` events after `since`, in sequence order.
async fn intent_events(ledger: &Ledger, since: i64) -> Vec<(i64, i64)> {
    let page = ledger.events_after(since, 100).await.expect("events");
    page.events
        .iter()
        .filter(|e| e.kind == "intent")
        .map(|e| (e.seq, e.payload["intent_id"].as_i64().expect("intent_id")))
        .collect()
}

#[sqlx::test(migrations = "./migrations")]
async fn a_transaction_that_wrote_first_but_commits_last_is_numbered_last_and_read_after_the_other(
    pool: PgPool,
) {
    let ledger = Ledger::from_pool(pool.clone());
    let mut a = pool.acquire().await.expect("connection a");
    let mut b = pool.acquire().await.expect("connection b");
    // A writes first (it holds the older transaction id), B writes and commits first.
    let mut ta = a.begin().await.expect("begin a");
    let id_a: i64 = sqlx::query_scalar(INSERT_OPEN)
        .bind("a")
        .fetch_one(&mut *ta)
        .await
        .expect("a inserts");
    let mut tb = b.begin().await.expect("begin b");
    let id_b: i64 = sqlx::query_scalar(INSERT_OPEN)
        .bind("b")
        .fetch_one(&mut *tb)
        .await
        .expect("b inserts");
    tb.commit().await.expect("b commits");

    // A reader now sees B's event only, and remembers its seq.
    let seen = intent_events(&ledger, 0).await;
    assert_eq!(seen.iter().map(|e| e.1).collect::<Vec<_>>(), vec![id_b]);
    let cursor = seen[0].0;

    ta.commit().await.expect("a commits");

    // Resuming after B's seq delivers A's event: it was numbered at A's commit.
    let after = intent_events(&ledger, cursor).await;
    assert_eq!(after.iter().map(|e| e.1).collect::<Vec<_>>(), vec![id_a]);
    assert!(after[0].0 > cursor);
    let all = intent_events(&ledger, 0).await;
    assert_eq!(
        all.iter().map(|e| e.1).collect::<Vec<_>>(),
        vec![id_b, id_a]
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn a_commit_waits_for_an_earlier_numbered_transaction_so_no_reader_sees_a_later_seq_first(
    pool: PgPool,
) {
    let ledger = Ledger::from_pool(pool.clone());
    let mut a = pool.acquire().await.expect("connection a");
    let mut ta = a.begin().await.expect("begin a");
    // A takes its number (and the numbering lock) and does not commit yet.
    sqlx::query("SELECT sluice_emit('reconcile', '{\"outcome\": \"clean\"}')")
        .execute(&mut *ta)
        .await
        .expect("a emits");
    let writer = {
        let pool = pool.clone();
        tokio::spawn(async move {
            let mut b = pool.acquire().await.expect("connection b");
            let mut tb = b.begin().await.expect("begin b");
            let id: i64 = sqlx::query_scalar(INSERT_OPEN)
                .bind("b")
                .fetch_one(&mut *tb)
                .await
                .expect("b inserts");
            tb.commit().await.expect("b commits");
            id
        })
    };
    sluice_testkit::poll::until(
        "b's commit waiting for the numbering lock",
        Duration::from_secs(10),
        || async {
            let waiting: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted",
            )
            .fetch_one(&pool)
            .await
            .expect("pg_locks");
            waiting == 1
        },
    )
    .await;
    assert!(
        ledger
            .events_after(0, 10)
            .await
            .expect("events")
            .events
            .is_empty(),
        "nothing is visible while the first numbered transaction is open"
    );

    ta.commit().await.expect("a commits");
    let id_b = writer.await.expect("b's task");

    let page = ledger.events_after(0, 10).await.expect("events");
    let kinds: Vec<&str> = page.events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, vec!["reconcile", "intent"]);
    assert_eq!(page.events[1].payload["intent_id"], id_b);
    assert!(page.events[0].seq < page.events[1].seq);
}

#[sqlx::test(migrations = "./migrations")]
async fn retention_deletes_a_prefix_and_raises_the_floor_a_reader_must_resume_from(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    for key in ["r1", "r2", "r3"] {
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
            .expect("stored");
    }
    let before = ledger.events_after(0, 100).await.expect("events");
    assert_eq!((before.floor, before.events.len()), (0, 3));

    let deleted = ledger
        .prune_events(chrono::Utc::now() + chrono::Duration::minutes(1))
        .await
        .expect("prune");

    assert_eq!(deleted, 3);
    let after = ledger.events_after(0, 100).await.expect("events");
    assert_eq!(
        after.floor, before.events[2].seq,
        "the floor is the last deleted"
    );
    assert!(after.events.is_empty());
    assert_eq!(after.newest, after.floor);
    // Nothing older than the retention: nothing is deleted, the floor stays.
    let open = open_intent(
        "r4",
        "SOLUSDT",
        Direction::Long,
        PositionMode::OneWay,
        dec!(10),
    );
    ledger
        .create_intent(&open, usdt(dec!(100)))
        .await
        .expect("stored");
    let kept = ledger
        .prune_events(chrono::Utc::now() - chrono::Duration::hours(1))
        .await
        .expect("prune");
    assert_eq!(kept, 0);
    let page = ledger.events_after(after.floor, 100).await.expect("events");
    assert_eq!(page.floor, after.floor);
    assert_eq!(page.events.len(), 1);
    assert!(page.events[0].seq > after.floor);
}

#[sqlx::test(migrations = "./migrations")]
async fn only_key_loss_and_reconcile_events_are_appended_and_each_needs_an_object(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);

    let fill = ledger.append_event("fill", &serde_json::json!({})).await;
    let scalar = ledger.append_event("key_loss", &serde_json::json!(1)).await;
    ledger
        .append_event("key_loss", &serde_json::json!({ "state": "entered" }))
        .await
        .expect("appended");

    assert!(fill.unwrap_err().to_string().contains("kind"));
    assert!(scalar.unwrap_err().to_string().contains("payload"));
    let page = ledger.events_after(0, 10).await.expect("events");
    assert_eq!(page.events.len(), 1);
    assert_eq!(page.events[0].kind, "key_loss");
    assert_eq!(page.events[0].payload["state"], "entered");
}
