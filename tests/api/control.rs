//! Auth, the kill switch (halt, resume, flatten) across restarts, probes and metrics,
//! against the real daemon over HTTP.

use serde_json::json;
use sluice::domain::Direction;
use sluice::ledger::IntentId;
use sluice::startup::Application;
use sluice_testkit::app::*;
use sqlx::PgPool;

#[sqlx::test]
async fn v1_needs_the_bearer_token_and_the_probes_do_not(pool: PgPool) {
    let app = spawn_app(&pool).await;
    let budget = app.url("/v1/budget");

    let none = app.http.get(&budget).send().await.expect("send");
    let wrong = app
        .http
        .get(&budget)
        .bearer_auth("nope")
        .send()
        .await
        .expect("send");
    let (none_status, none_body) = read(none).await;
    let (right_status, _) = app.get("/v1/budget").await;
    let open = app
        .http
        .post(app.url("/v1/intents"))
        .json(&open_body("unauth", "BTCUSDT", "long", "10"))
        .send()
        .await
        .expect("send");

    assert_eq!(none_status, 401);
    assert_eq!(none_body["error"]["field"], "authorization");
    assert_eq!(wrong.status().as_u16(), 401);
    assert_eq!(right_status, 200);
    assert_eq!(open.status().as_u16(), 401);
    assert_eq!(app.count("intents").await, 0);
    for probe in ["/healthz", "/readyz", "/metrics"] {
        let r = app.http.get(app.url(probe)).send().await.expect("probe");
        assert_eq!(r.status().as_u16(), 200, "{probe}");
    }
    app.stop().await;
}

#[sqlx::test]
async fn a_public_bind_without_a_token_is_refused_at_startup(pool: PgPool) {
    let mut settings = settings(None, "1000");
    settings.api.listen = "0.0.0.0:0".parse().expect("addr");

    let built =
        Application::build_with_ledger(settings, sluice::ledger::Ledger::from_pool(pool)).await;

    let err = built.err().expect("refused");
    assert!(format!("{err:#}").contains("api.listen"), "{err:#}");
}

#[sqlx::test]
async fn a_halt_refuses_opens_naming_who_set_it_and_records_the_refusal(pool: PgPool) {
    let app = spawn_app(&pool).await;
    let (status, halt) = app
        .post(
            "/v1/halt",
            &json!({"reason": "exchange incident", "actor": "alice"}),
        )
        .await;
    assert_eq!(status, 200, "{halt}");
    assert_eq!(halt["halt"]["halted"], true);

    let (status, body) = app
        .post(
            "/v1/intents",
            &open_body("while-halted", "SOLUSDT", "long", "50"),
        )
        .await;

    assert_eq!(status, 409, "{body}");
    let reason = body["error"]["reason"].as_str().expect("reason");
    assert!(
        reason.contains("halted")
            && reason.contains("alice")
            && reason.contains("exchange incident"),
        "{reason}"
    );
    let id = body["error"]["intent_id"]
        .as_i64()
        .expect("refusal is recorded");
    let stored = app
        .ledger
        .intent(IntentId(id))
        .await
        .expect("read")
        .expect("row");
    assert_eq!(stored.state.as_str(), "failed");
    assert!(stored.error.unwrap_or_default().contains("halted"));
    app.stop().await;
}

#[sqlx::test]
async fn the_halt_survives_a_restart_of_the_application(pool: PgPool) {
    let first = spawn_app(&pool).await;
    first
        .post("/v1/halt", &json!({"reason": "before restart"}))
        .await;
    first.stop().await;

    let second = spawn_app(&pool).await;
    let (status, body) = second
        .post(
            "/v1/intents",
            &open_body("after-restart", "ETHUSDT", "short", "20"),
        )
        .await;
    let (_, halt) = second.get("/v1/halt").await;

    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "halted");
    assert_eq!(halt["halt"]["reason"], "before restart");
    let (resumed, _) = second.post("/v1/resume", &json!({})).await;
    let (status, _) = second
        .post(
            "/v1/intents",
            &open_body("after-resume", "ETHUSDT", "short", "20"),
        )
        .await;
    assert_eq!((resumed, status), (200, 202));
    second.stop().await;
}

#[sqlx::test]
async fn a_halt_cancels_opens_not_yet_started_and_still_allows_closes(pool: PgPool) {
    let app = spawn_app(&pool).await;
    let (_, open) = app
        .post(
            "/v1/intents",
            &open_body("pending", "SOLUSDT", "long", "50"),
        )
        .await;
    app.position("BTCUSDT", Direction::Long, "0.01", "60000")
        .await;

    let (_, halt) = app.post("/v1/halt", &json!({})).await;
    let close = json!({"kind": "close", "symbol": "BTCUSDT", "side": "long", "idempotency_key": "close-while-halted"});
    let (close_status, _) = app.post("/v1/intents", &close).await;

    assert_eq!(halt["cancelled_intents"], json!([open["id"]]));
    let (_, shown) = app.get(&format!("/v1/intents/{}", open["id"])).await;
    assert_eq!(shown["state"], "cancelled");
    assert_eq!(shown["events"][0]["to"], "cancelled");
    assert_eq!(close_status, 202);
    app.stop().await;
}

#[sqlx::test]
async fn a_flatten_halts_stores_its_intent_and_stays_latched_until_done(pool: PgPool) {
    let app = spawn_app(&pool).await;

    let (status, flat) = app
        .post(
            "/v1/flatten",
            &json!({"symbol": "solusdt", "reason": "drill", "idempotency_key": "f1"}),
        )
        .await;
    let (resume_status, refused) = app.post("/v1/resume", &json!({})).await;

    assert_eq!(status, 202, "{flat}");
    assert_eq!(flat["halt"]["halted"], true);
    assert_eq!(flat["flatten_intent"]["kind"], "flatten");
    assert_eq!(flat["flatten_intent"]["symbol"], "SOLUSDT");
    let flatten_id = flat["flatten_intent"]["id"].as_i64().expect("id");
    assert_eq!(flat["halt"]["flatten_intents"], json!([flatten_id]));
    assert_eq!(resume_status, 409);
    assert_eq!(refused["error"]["code"], "flatten_pending");

    let id = IntentId(flatten_id);
    app.ledger
        .set_intent_state(id, sluice::domain::IntentState::Working, "executor started")
        .await
        .expect("working");
    app.ledger
        .set_intent_state(
            id,
            sluice::domain::IntentState::Done,
            "exchange confirms flat",
        )
        .await
        .expect("done");
    let (resume_status, resumed) = app.post("/v1/resume", &json!({"actor": "bob"})).await;
    assert_eq!(resume_status, 200, "{resumed}");
    assert_eq!(resumed["halt"]["halted"], false);
    assert_eq!(resumed["halt"]["actor"], "bob");
    app.stop().await;
}

#[sqlx::test]
async fn a_retried_flatten_after_a_resume_does_not_halt_again(pool: PgPool) {
    let app = spawn_app(&pool).await;
    let body = json!({"idempotency_key": "flat-once"});
    let (_, first) = app.post("/v1/flatten", &body).await;
    app.post("/v1/resume", &json!({"force": true})).await;

    let (status, retried) = app.post("/v1/flatten", &body).await;

    assert_eq!(status, 200, "{retried}");
    assert_eq!(
        retried["flatten_intent"]["id"],
        first["flatten_intent"]["id"]
    );
    assert_eq!(retried["halt"]["halted"], false);
    assert_eq!(app.count("intents").await, 1);
    app.stop().await;
}

#[sqlx::test]
async fn resume_with_force_cancels_a_flatten_that_never_started(pool: PgPool) {
    let app = spawn_app(&pool).await;
    let (_, flat) = app
        .post(
            "/v1/intents",
            &json!({"kind": "flatten", "idempotency_key": "fall"}),
        )
        .await;

    let (status, resumed) = app.post("/v1/resume", &json!({"force": true})).await;

    assert_eq!(status, 200, "{resumed}");
    assert_eq!(resumed["cancelled_intents"], json!([flat["id"]]));
    let (_, shown) = app.get(&format!("/v1/intents/{}", flat["id"])).await;
    assert_eq!(shown["state"], "cancelled");
    app.stop().await;
}

#[sqlx::test]
async fn control_bodies_refuse_fields_that_do_not_belong(pool: PgPool) {
    let app = spawn_app(&pool).await;

    let (s1, b1) = app.post("/v1/halt", &json!({"symbol": "BTCUSDT"})).await;
    let (s2, b2) = app.post("/v1/halt", &json!({"halt": true})).await;

    assert_eq!((s1, b1["error"]["field"].clone()), (422, json!("symbol")));
    assert_eq!((s2, b2["error"]["field"].clone()), (400, json!("halt")));
    let (_, state) = app.get("/v1/halt").await;
    assert_eq!(state["halt"]["halted"], false);
    app.stop().await;
}

#[sqlx::test]
async fn metrics_expose_the_registered_series_in_prometheus_text(pool: PgPool) {
    let app = spawn_app(&pool).await;
    app.post("/v1/intents", &open_body("m1", "BTCUSDT", "long", "10"))
        .await;
    app.post("/v1/halt", &json!({})).await;
    sluice::metrics::record_attempt(&sluice::exchange::AttemptRecord {
        venue: "binance-usdm".into(),
        sent_at: chrono::Utc::now(),
        exchange_time: None,
        method: "POST".into(),
        endpoint: "/fapi/v1/order".into(),
        params: String::new(),
        is_order: true,
        symbol: Some("BTCUSDT".into()),
        client_order_id: None,
        http_status: Some(200),
        error_code: None,
        error_msg: None,
        error_class: None,
        latency_ms: 42,
        used_weight_1m: None,
        order_count_10s: None,
        order_count_1m: None,
    });
    sluice::metrics::set_breaker_state("orders", 2);

    let r = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics");
    let ctype = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let text = r.text().await.expect("text");

    assert!(ctype.starts_with("text/plain"), "{ctype}");
    assert!(
        text.contains("sluice_intents_total{kind=\"open\",outcome=\"accepted\"}"),
        "{text}"
    );
    // Other tests in this binary halt and resume concurrently: only the series is asserted.
    assert!(text.contains("sluice_halted "), "{text}");
    assert!(
        text.contains("sluice_orders_total{outcome=\"accepted\",code=\"0\"}"),
        "{text}"
    );
    assert!(
        text.contains(
            "sluice_order_latency_seconds_bucket{endpoint=\"/fapi/v1/order\",method=\"POST\",le=\"0.05\"}"
        ),
        "{text}"
    );
    assert!(
        text.contains("sluice_breaker_state{scope=\"orders\"} 2"),
        "{text}"
    );
    app.stop().await;
}
