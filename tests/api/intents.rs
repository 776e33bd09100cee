//! The intent endpoints of the real daemon over HTTP: storing, idempotency, validation
//! that writes nothing, budget refusals, closes, and the read models.

use serde_json::json;
use sluice::domain::{
    ClientOrderId, Direction, OrderRequest, OrderType, PositionSide, Qty, Side, Symbol,
};
use sluice::exchange::AttemptRecord;
use sluice::ledger::{IntentId, NewOrder, OrderState, OrderUpdate};
use sluice_testkit::app::*;
use sqlx::PgPool;

#[sqlx::test]
async fn an_open_is_stored_as_accepted_before_it_is_acknowledged(pool: PgPool) {
    let app = spawn_app(&pool).await;

    let (status, body) = app
        .post(
            "/v1/intents",
            &open_body("k-open", "solusdt", "short", "250"),
        )
        .await;

    assert_eq!(status, 202, "{body}");
    assert_eq!(body["state"], "accepted");
    assert_eq!(body["kind"], "open");
    assert_eq!(body["symbol"], "SOLUSDT");
    assert_eq!(body["side"], "short");
    assert_eq!(body["notional_usdt"], "250");
    assert_eq!(body["filled_quantity"], "0");
    assert_eq!(body["chunks"], json!([]));
    let id = body["id"].as_i64().expect("id");
    let row = app
        .ledger
        .intent(IntentId(id))
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(row.state.as_str(), "accepted");
    let (status, shown) = app.get(&format!("/v1/intents/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(shown["id"], body["id"]);
    let (_, list) = app.get("/v1/intents?limit=5").await;
    assert_eq!(list["intents"][0]["id"], body["id"]);
    let (status, bad) = app.get("/v1/intents?limit=0").await;
    assert_eq!(
        (status, bad["error"]["field"].clone()),
        (422, json!("limit"))
    );
    app.stop().await;
}

#[sqlx::test]
async fn the_same_idempotency_key_twice_returns_the_first_intent_and_stores_one_row(pool: PgPool) {
    let app = spawn_app(&pool).await;
    let body = open_body("same-key", "BTCUSDT", "long", "100");

    let (first_status, first) = app.post("/v1/intents", &body).await;
    let (second_status, second) = app.post("/v1/intents", &body).await;

    assert_eq!(first_status, 202);
    assert_eq!(second_status, 200);
    assert_eq!(first["id"], second["id"]);
    assert_eq!(second["replayed"], true);
    assert_eq!(app.count("intents").await, 1);
    app.stop().await;
}

#[sqlx::test]
async fn an_open_key_replayed_after_a_halt_returns_the_first_intent_and_records_no_refusal(
    pool: PgPool,
) {
    let app = spawn_app(&pool).await;
    let body = open_body("before-halt", "BTCUSDT", "long", "100");
    let (first_status, first) = app.post("/v1/intents", &body).await;
    let (halt_status, _) = app
        .post("/v1/halt", &json!({"reason": "incident", "actor": "alice"}))
        .await;

    let (status, again) = app.post("/v1/intents", &body).await;

    assert_eq!((first_status, halt_status), (202, 200));
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["replayed"], true);
    assert_eq!(app.count("intents").await, 1);
    app.stop().await;
}

#[sqlx::test]
async fn a_reused_key_with_a_different_request_is_refused_naming_the_key(pool: PgPool) {
    let app = spawn_app(&pool).await;
    app.post("/v1/intents", &open_body("k", "BTCUSDT", "long", "100"))
        .await;

    let (status, body) = app
        .post("/v1/intents", &open_body("k", "BTCUSDT", "long", "900"))
        .await;

    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["field"], "idempotency_key");
    assert_eq!(app.count("intents").await, 1);
    app.stop().await;
}

#[sqlx::test]
async fn bad_bodies_are_refused_naming_the_field_and_write_nothing(pool: PgPool) {
    let app = spawn_app(&pool).await;
    let cases = [
        (
            json!({"kind": "open", "symbol": "SOLUSDT", "side": "long", "quantity": 1.5, "idempotency_key": "a"}),
            400,
            "quantity",
        ),
        (
            json!({"kind": "open", "symbol": "SOLUSDT", "side": "long", "quantiy": "1", "idempotency_key": "a"}),
            400,
            "quantiy",
        ),
        (json!({"kind": "hold", "idempotency_key": "a"}), 422, "kind"),
        (
            json!({"kind": "open", "symbol": "SOL/USDT", "side": "long", "notional_usdt": "5", "idempotency_key": "a"}),
            422,
            "symbol",
        ),
        (
            json!({"kind": "open", "symbol": "SOLUSDT", "side": "up", "notional_usdt": "5", "idempotency_key": "a"}),
            422,
            "side",
        ),
        (
            json!({"kind": "open", "symbol": "SOLUSDT", "side": "long", "quantity": "-2", "idempotency_key": "a"}),
            422,
            "quantity",
        ),
        (
            json!({"kind": "open", "symbol": "SOLUSDT", "side": "long", "notional_usdt": "abc", "idempotency_key": "a"}),
            422,
            "notional_usdt",
        ),
        (
            json!({"kind": "open", "symbol": "SOLUSDT", "side": "long", "notional_usdt": "5"}),
            422,
            "idempotency_key",
        ),
        (
            json!({"kind": "close", "idempotency_key": "a"}),
            422,
            "position_id",
        ),
        (
            json!({"kind": "reduce", "position_id": 1, "idempotency_key": "a"}),
            422,
            "quantity",
        ),
        (
            json!({"kind": "close", "position_id": 999, "idempotency_key": "a"}),
            422,
            "position_id",
        ),
    ];
    for (body, want_status, want_field) in cases {
        let (status, answer) = app.post("/v1/intents", &body).await;
        assert_eq!(status, want_status, "{body} -> {answer}");
        assert_eq!(answer["error"]["field"], want_field, "{body} -> {answer}");
    }
    let raw = app
        .http
        .post(app.url("/v1/intents"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body("{\"kind\": ")
        .send()
        .await
        .expect("send");
    let (status, answer) = read(raw).await;
    assert_eq!(
        (status, answer["error"]["field"].clone()),
        (400, json!("body"))
    );
    let plain = app
        .http
        .post(app.url("/v1/intents"))
        .bearer_auth(TOKEN)
        .header("content-type", "text/plain")
        .body(open_body("plain", "SOLUSDT", "long", "5").to_string())
        .send()
        .await
        .expect("send");
    let (status, answer) = read(plain).await;
    assert_eq!(
        (status, answer["error"]["field"].clone()),
        (415, json!("content-type"))
    );
    assert_eq!(app.count("intents").await, 0);
    app.stop().await;
}

#[sqlx::test]
async fn a_budget_refusal_is_422_with_the_refused_intent_id(pool: PgPool) {
    let app = spawn_with(
        &pool,
        Spawn {
            allocation: "100",
            ..Spawn::default()
        },
    )
    .await;

    let (status, body) = app
        .post("/v1/intents", &open_body("big", "SOLUSDT", "long", "500"))
        .await;

    assert_eq!(status, 422, "{body}");
    let error = &body["error"];
    assert_eq!(error["code"], "not_enough_budget");
    assert_eq!(
        error["reason"],
        "Not enough budget. Available: $100.00, Requested: $500.00"
    );
    let id = error["intent_id"].as_i64().expect("refused intent id");
    let (_, refused) = app.get(&format!("/v1/intents/{id}")).await;
    assert_eq!(refused["state"], "failed");
    app.stop().await;
}

#[sqlx::test]
async fn an_open_by_quantity_is_valued_at_the_mark_price_or_refused_without_one(pool: PgPool) {
    let no_prices = spawn_app(&pool).await;
    let body = json!({"kind": "open", "symbol": "SOLUSDT", "side": "long", "quantity": "2", "idempotency_key": "q1"});
    let (status, answer) = no_prices.post("/v1/intents", &body).await;
    assert_eq!(
        (status, answer["error"]["field"].clone()),
        (422, json!("quantity"))
    );
    assert_eq!(no_prices.count("intents").await, 0);
    no_prices.stop().await;

    let priced = spawn_with(
        &pool,
        Spawn {
            mark_price: Some("150"),
            ..Spawn::default()
        },
    )
    .await;
    let (status, answer) = priced.post("/v1/intents", &body).await;
    assert_eq!(status, 202, "{answer}");
    let (_, budget) = priced.get("/v1/budget").await;
    assert_eq!(
        dec(budget["reserved"].as_str().expect("reserved")),
        dec("300")
    );
    assert_eq!(
        dec(budget["available"].as_str().expect("available")),
        dec("700")
    );
    priced.stop().await;
}

#[sqlx::test]
async fn a_close_names_its_position_by_symbol_and_side_and_no_quantity_means_all(pool: PgPool) {
    let app = spawn_app(&pool).await;
    let position = app.position("SOLUSDT", Direction::Short, "40", "180").await;

    let too_much = json!({"kind": "reduce", "symbol": "SOLUSDT", "side": "short", "quantity": "41", "idempotency_key": "r"});
    let (status, refused) = app.post("/v1/intents", &too_much).await;
    let close =
        json!({"kind": "close", "symbol": "SOLUSDT", "side": "short", "idempotency_key": "c"});
    let (close_status, closed) = app.post("/v1/intents", &close).await;

    assert_eq!(
        (status, refused["error"]["field"].clone()),
        (422, json!("quantity"))
    );
    assert_eq!(close_status, 202, "{closed}");
    assert_eq!(closed["position_id"], json!(position.id.get()));
    assert_eq!(closed["quantity"], json!(null));
    let (_, positions) = app.get("/v1/positions").await;
    assert_eq!(positions["positions"][0]["quantity"], "40");
    assert_eq!(positions["positions"][0]["side"], "short");
    app.stop().await;
}

#[sqlx::test]
async fn an_intent_shows_its_chunks_with_client_order_ids_attempts_and_errors(pool: PgPool) {
    let app = spawn_app(&pool).await;
    let (_, open) = app
        .post(
            "/v1/intents",
            &open_body("chunked", "SOLUSDT", "long", "400"),
        )
        .await;
    let intent_id = IntentId(open["id"].as_i64().expect("id"));
    for (attempt, coid) in ["sl-1-0-0", "sl-1-0-1"].iter().enumerate() {
        let order = NewOrder {
            intent_id,
            position_id: None,
            request: OrderRequest {
                symbol: Symbol::new("SOLUSDT").expect("symbol"),
                side: Side::Buy,
                position_side: PositionSide::Both,
                order_type: OrderType::Market,
                quantity: Qty::parse("quantity", "2").expect("qty"),
                price: None,
                time_in_force: None,
                reduce_only: false,
                client_order_id: ClientOrderId::new(coid).expect("coid"),
                price_match: None,
                good_till_date: None,
            },
            chunk_index: 0,
            attempt: attempt as i32,
        };
        app.ledger.record_order(&order).await.expect("order stored");
    }
    let rejected = OrderUpdate {
        status: OrderState::Rejected,
        exchange_order_id: None,
        error_code: Some(-2019),
        error_msg: Some("Margin is insufficient.".into()),
    };
    app.ledger
        .update_order_status("sl-1-0-1", &rejected)
        .await
        .expect("update");
    let attempt = AttemptRecord {
        venue: "binance-usdm".into(),
        sent_at: chrono::Utc::now(),
        exchange_time: None,
        method: "POST".into(),
        endpoint: "/fapi/v1/order".into(),
        params: "symbol=SOLUSDT&side=BUY".into(),
        is_order: true,
        symbol: Some("SOLUSDT".into()),
        client_order_id: Some("sl-1-0-1".into()),
        http_status: Some(400),
        error_code: Some(-2019),
        error_msg: Some("Margin is insufficient.".into()),
        error_class: Some("replan".into()),
        latency_ms: 37,
        used_weight_1m: Some(12),
        order_count_10s: Some(1),
        order_count_1m: Some(1),
    };
    app.ledger
        .insert_attempts(&[attempt])
        .await
        .expect("attempt stored");

    let (status, shown) = app.get(&format!("/v1/intents/{}", intent_id.get())).await;

    assert_eq!(status, 200);
    let chunk = &shown["chunks"][0];
    assert_eq!(chunk["client_order_id"], "sl-1-0-1");
    assert_eq!(chunk["attempts"], 2);
    assert_eq!(chunk["status"], "rejected");
    assert_eq!(chunk["last_error_code"], -2019);
    assert_eq!(chunk["quantity"], "2");
    assert_eq!(chunk["filled_quantity"], "0");
    assert_eq!(chunk["requests"][0]["http_status"], 400);
    assert_eq!(chunk["requests"][0]["latency_ms"], 37);
    assert_eq!(chunk["requests"][0]["endpoint"], "/fapi/v1/order");
    app.stop().await;
}

#[sqlx::test]
async fn unknown_and_malformed_intent_ids_are_404_and_400(pool: PgPool) {
    let app = spawn_app(&pool).await;

    let (missing, _) = app.get("/v1/intents/424242").await;
    let (malformed, body) = app.get("/v1/intents/abc").await;

    assert_eq!(missing, 404);
    assert_eq!(
        (malformed, body["error"]["field"].clone()),
        (400, json!("id"))
    );
    app.stop().await;
}
