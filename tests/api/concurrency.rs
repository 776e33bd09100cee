//! Races a trader would worry about: one idempotency key sent many times at once, and
//! a halt landing in the middle of a burst of opens.

use serde_json::json;
use sluice_testkit::app::*;
use sqlx::PgPool;

#[sqlx::test]
async fn one_key_sent_concurrently_stores_one_intent_and_every_answer_names_it(pool: PgPool) {
    let app = spawn_app(&pool).await;
    let body = open_body("burst-key", "SOLUSDT", "long", "10");

    let answers =
        futures_util::future::join_all((0..12).map(|_| app.post("/v1/intents", &body))).await;

    let ids: std::collections::BTreeSet<String> =
        answers.iter().map(|(_, b)| b["id"].to_string()).collect();
    assert_eq!(ids.len(), 1, "{answers:?}");
    assert!(
        answers.iter().all(|(s, _)| *s == 200 || *s == 202),
        "{answers:?}"
    );
    assert_eq!(answers.iter().filter(|(s, _)| *s == 202).count(), 1);
    assert_eq!(app.count("intents").await, 1);
    app.stop().await;
}

#[sqlx::test]
async fn no_open_is_left_to_execute_after_a_halt_that_raced_it(pool: PgPool) {
    let app = spawn_app(&pool).await;
    let opens = (0..16).map(|i| {
        let body = open_body(&format!("race-{i}"), "BTCUSDT", "long", "10");
        let app = &app;
        async move { app.post("/v1/intents", &body).await }
    });
    let halt = async { app.post("/v1/halt", &json!({"reason": "race"})).await };

    let (answers, (halt_status, _)) = tokio::join!(futures_util::future::join_all(opens), halt);

    assert_eq!(halt_status, 200);
    let still_accepted: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM intents WHERE kind = 'open' AND state = 'accepted'",
    )
    .fetch_one(&pool)
    .await
    .expect("count");
    assert_eq!(still_accepted, 0, "{answers:?}");
    // Every open was answered either as accepted-then-cancelled or refused by the halt.
    assert!(
        answers.iter().all(|(s, _)| *s == 202 || *s == 409),
        "{answers:?}"
    );
    app.stop().await;
}
