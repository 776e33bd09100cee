//! `GET /v1/events` and `POST /v1/intents/{id}/cancel` of the real daemon over HTTP:
//! token and Origin checks, resuming with `since` (or `Last-Event-ID`) after being away,
//! the retention floor, and every answer of a cancel.

use std::time::Duration;

use reqwest::header::ORIGIN;
use serde_json::{json, Value};
use sluice::domain::{IntentKind, IntentState, PositionMode};
use sluice::ledger::IntentId;
use sluice_testkit::app::*;
use sluice_testkit::events::{open as open_events, SseEvent};
use sqlx::PgPool;

const WITHIN: Duration = Duration::from_secs(10);

fn base(app: &TestApp) -> String {
    app.url("")
}

async fn submit_open(app: &TestApp, key: &str) -> i64 {
    let (status, body) = app
        .post("/v1/intents", &open_body(key, "SOLUSDT", "long", "50"))
        .await;
    assert_eq!(status, 202, "{body}");
    body["id"].as_i64().expect("id")
}

fn is_intent(e: &SseEvent, id: i64, state: &str) -> bool {
    e.kind == "intent" && e.data["intent_id"] == id && e.data["state"] == state
}

#[sqlx::test]
async fn the_stream_needs_the_token_and_refuses_a_foreign_origin(pool: PgPool) {
    let app = spawn_app(&pool).await;

    let anonymous = app
        .http
        .get(app.url("/v1/events"))
        .send()
        .await
        .expect("get");
    let foreign = app
        .http
        .get(app.url("/v1/events"))
        .bearer_auth(TOKEN)
        .header(ORIGIN, "http://evil.example")
        .send()
        .await
        .expect("get");
    let ok = open_events(&app.http, &base(&app), Some(TOKEN), None).await;

    assert_eq!(anonymous.status().as_u16(), 401);
    assert_eq!(foreign.status().as_u16(), 403);
    assert!(ok.is_ok(), "the token opens the stream");
    app.stop().await;
}

#[sqlx::test]
async fn a_client_away_resumes_with_since_and_gets_what_it_missed_in_order_once(pool: PgPool) {
    let app = spawn_app(&pool).await;
    let mut live = open_events(&app.http, &base(&app), Some(TOKEN), None)
        .await
        .expect("stream");
    let (status, _) = app.post("/v1/halt", &json!({ "reason": "drill" })).await;
    assert_eq!(status, 200);
    // Pushed while connected (no event existed when the stream opened).
    let halt = live
        .until("the halt event", WITHIN, |got| {
            got.iter().any(|e| e.kind == "halt")
        })
        .await;
    let last_seen = halt.last().expect("event").seq;
    drop(live);

    // Away: a resume, two opens, one of them cancelled.
    let (status, _) = app.post("/v1/resume", &json!({})).await;
    assert_eq!(status, 200);
    let kept = submit_open(&app, "away-1").await;
    let dropped = submit_open(&app, "away-2").await;
    let (status, _) = app
        .post(&format!("/v1/intents/{dropped}/cancel"), &json!({}))
        .await;
    assert_eq!(status, 200);

    let mut back = open_events(&app.http, &base(&app), Some(TOKEN), Some(last_seen))
        .await
        .expect("resumed stream");
    let missed = back
        .until("the cancel", WITHIN, |got| {
            got.iter().any(|e| is_intent(e, dropped, "cancelled"))
        })
        .await;

    // Exactly the outbox after `last_seen`, in order, each once.
    let stored = app
        .ledger
        .events_after(last_seen, 100)
        .await
        .expect("events");
    let seqs: Vec<i64> = missed.iter().map(|e| e.seq).collect();
    let want: Vec<i64> = stored.events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, want);
    assert!(seqs.windows(2).all(|w| w[0] < w[1]) && seqs[0] > last_seen);
    let kinds: Vec<&str> = missed.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, vec!["halt", "intent", "intent", "intent"]);
    assert_eq!(missed[0].data["halted"], false);
    assert!(is_intent(&missed[1], kept, "accepted"));
    assert!(is_intent(&missed[2], dropped, "accepted"));
    assert_eq!(missed[3].data["previous_state"], "accepted");
    // The standard header resumes the same way.
    let r = app
        .http
        .get(app.url("/v1/events"))
        .bearer_auth(TOKEN)
        .header("Last-Event-ID", last_seen.to_string())
        .send()
        .await
        .expect("get");
    assert_eq!(r.status().as_u16(), 200);
    app.stop().await;
}

#[sqlx::test]
async fn a_since_older_than_retention_is_refused_with_the_floor_and_bad_values_name_the_field(
    pool: PgPool,
) {
    let app = spawn_app(&pool).await;
    submit_open(&app, "old-1").await;
    submit_open(&app, "old-2").await;
    app.ledger
        .prune_events(chrono::Utc::now() + chrono::Duration::minutes(1))
        .await
        .expect("prune");
    let floor = app.ledger.events_after(0, 1).await.expect("page").floor;
    assert!(floor >= 2);

    let answer = |since: String| {
        let app = &app;
        async move {
            let r = app
                .http
                .get(app.url(&format!("/v1/events?since={since}")))
                .bearer_auth(TOKEN)
                .send()
                .await
                .expect("get");
            let status = r.status().as_u16();
            if status == 200 {
                return (status, Value::Null);
            }
            read(r).await
        }
    };
    let (too_old, body) = answer("0".into()).await;
    let (word, word_body) = answer("abc".into()).await;
    let (ahead, ahead_body) = answer((floor + 1000).to_string()).await;
    let (at_floor, _) = answer(floor.to_string()).await;

    assert_eq!(too_old, 410, "{body}");
    assert_eq!(body["error"]["code"], "since_too_old");
    assert!(body["error"]["reason"]
        .as_str()
        .expect("reason")
        .contains(&format!("since={floor}")));
    assert_eq!(
        (word, word_body["error"]["field"].clone()),
        (400, json!("since"))
    );
    assert_eq!(
        (ahead, ahead_body["error"]["field"].clone()),
        (422, json!("since"))
    );
    assert_eq!(at_floor, 200);
    app.stop().await;
}

#[sqlx::test]
async fn cancel_answers_cancelled_requested_already_ended_and_not_cancellable(pool: PgPool) {
    let app = spawn_app(&pool).await;
    let accepted = submit_open(&app, "c-accepted").await;
    let working = submit_open(&app, "c-working").await;
    let done = submit_open(&app, "c-done").await;
    for id in [working, done] {
        app.ledger
            .set_intent_state(IntentId(id), IntentState::Working, "picked up")
            .await
            .expect("working");
    }
    app.ledger
        .set_intent_state(IntentId(done), IntentState::Done, "filled")
        .await
        .expect("done");
    let flatten = sluice_testkit::ledger::close_intent(
        "c-flatten",
        IntentKind::Flatten,
        sluice::ledger::PositionId(1),
        PositionMode::OneWay,
    );
    let (flat, _) = app
        .ledger
        .flatten(&flatten, "tester")
        .await
        .expect("flatten");
    let cancel = |id: i64| {
        let app = &app;
        async move {
            app.post(
                &format!("/v1/intents/{id}/cancel"),
                &json!({ "actor": "strategy-1" }),
            )
            .await
        }
    };

    let first = cancel(accepted).await;
    let again = cancel(accepted).await;
    let requested = cancel(working).await;
    let requested_again = cancel(working).await;
    let ended = cancel(done).await;
    let kill_switch = cancel(flat.intent.id.get()).await;
    let missing = cancel(999_999).await;

    assert_eq!(
        (first.0, first.1["cancel"].clone()),
        (200, json!("cancelled"))
    );
    assert_eq!(first.1["intent"]["state"], "cancelled");
    assert_eq!(
        (again.0, again.1["cancel"].clone()),
        (200, json!("cancelled"))
    );
    assert_eq!(
        (requested.0, requested.1["cancel"].clone()),
        (202, json!("requested"))
    );
    assert_eq!(requested.1["intent"]["state"], "working");
    assert_eq!(requested_again.0, 202);
    assert_eq!(
        (ended.0, ended.1["error"]["code"].clone()),
        (409, json!("already_ended"))
    );
    assert_eq!(ended.1["error"]["intent_id"], done);
    assert_eq!(kill_switch.1["error"]["code"], "not_cancellable");
    assert_eq!(kill_switch.0, 409);
    assert_eq!(missing.0, 404);
    let still = app
        .ledger
        .intent(IntentId(done))
        .await
        .expect("read")
        .expect("row");
    assert_eq!(still.state, IntentState::Done);
    app.stop().await;
}

#[sqlx::test]
async fn an_open_stream_outlives_the_idle_timeout_of_keep_alive_connections(pool: PgPool) {
    let app = spawn_with(
        &pool,
        Spawn {
            env: &[("SLUICE__API__IDLE_TIMEOUT_MS", "200")],
            ..Spawn::default()
        },
    )
    .await;
    let mut stream = open_events(&app.http, &base(&app), Some(TOKEN), None)
        .await
        .expect("stream");
    // Nothing to await here: the property is that time passing does not close it.
    tokio::time::sleep(Duration::from_millis(800)).await;

    let id = submit_open(&app, "late").await;

    let got = stream
        .until("the late intent", WITHIN, |got| {
            got.iter().any(|e| is_intent(e, id, "accepted"))
        })
        .await;
    assert_eq!(got.len(), 1, "{got:?}");
    app.stop().await;
}
