//! LIMIT and post-only intents end to end: submitted over the control API of an
//! in-process daemon, executed against the simulator's book. A post-only open rests and
//! is cancelled; one that would take is refused once; a GTC close rests in chunks and
//! fills as the mark moves; bad prices and GTD dates are 422s naming the field.

use std::time::Duration;

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::{json, Value};
use sluice::domain::IntentState;
use sluice::ledger::{IntentId, PositionStatus};
use sluice::router::ChunkCap;
use sluice_testkit::executor::*;
use sqlx::PgPool;

/// SOLUSDT as on mainnet (mark 180, tick 0.001, asks from 180.001 and bids from 179.999
/// every 0.01), the account holding `long` SOLUSDT (empty: flat).
pub(super) fn sol_venue(long: &str) -> sluice_sim::Scenario {
    let account = if long.is_empty() {
        String::new()
    } else {
        format!("positions = [ {{ symbol = \"SOLUSDT\", side = \"LONG\", quantity = \"{long}\", entry_price = \"180\" }} ]")
    };
    scenario("", &account)
}

/// SOLUSDT with only 4 units at each level of the book, the account flat.
pub(super) fn thin_sol() -> sluice_sim::Scenario {
    scenario("[[symbols]]\nname = \"SOLUSDT\"\nlevel_qty = \"4\"\n", "")
}

/// `POST /v1/intents/{id}/cancel` as the strategy; it must be accepted.
pub(super) async fn cancel(base: &str, id: IntentId) {
    let r = reqwest::Client::new()
        .post(format!("{base}/v1/intents/{}/cancel", id.get()))
        .json(&json!({"actor": "strategy"}))
        .send()
        .await
        .expect("cancel");
    assert!(r.status().is_success(), "{}", r.status());
}

/// `POST /v1/intents` with `body`: the status and the answer.
pub(super) async fn post_intent(base: &str, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{base}/v1/intents"))
        .json(&body)
        .send()
        .await
        .expect("intent request");
    let status = r.status().as_u16();
    (status, r.json().await.expect("json answer"))
}

pub(super) fn intent_id(answer: &Value) -> IntentId {
    IntentId(answer["id"].as_i64().expect("intent id"))
}

/// The simulator's orders of the test account still open on the book.
pub(super) async fn open_on_book(d: &Daemon) -> Vec<Value> {
    d.sim_orders()
        .await
        .into_iter()
        .filter(|o| matches!(o["status"].as_str(), Some("NEW" | "PARTIALLY_FILLED")))
        .collect()
}

pub(super) async fn reserved(d: &Daemon) -> Decimal {
    d.ledger
        .budget(allocation())
        .await
        .expect("budget")
        .reserved
        .get()
}

pub(super) fn open_body(key: &str, extra: Value) -> Value {
    let mut body = json!({
        "kind": "open", "symbol": "SOLUSDT", "side": "long", "quantity": "10",
        "idempotency_key": key,
    });
    for (k, v) in extra.as_object().expect("object") {
        body[k] = v.clone();
    }
    body
}

#[sqlx::test(migrations = "./migrations")]
async fn a_post_only_open_rests_and_a_cancel_ends_it_cancelled_flat_with_its_budget_released(
    pool: PgPool,
) {
    // Arrange: a flat account; a GTX buy below the best ask rests.
    let d = start(pool, sol_venue(""), fast_config()).await;
    let base = serve_api_on(&d.ledger, d.exchange.clone()).await;
    let (status, answer) = post_intent(
        &base,
        open_body(
            "gtx-rest",
            json!({"price": "179.5", "time_in_force": "GTX"}),
        ),
    )
    .await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["limit"]["time_in_force"], "GTX", "{answer}");
    assert_eq!(answer["limit"]["price"], "179.5", "{answer}");
    let id = intent_id(&answer);
    sluice_testkit::poll::until("the order rests", Duration::from_secs(20), || async {
        open_on_book(&d).await.len() == 1
    })
    .await;
    let row = d.ledger.intent(id).await.unwrap().unwrap();
    assert_eq!(row.state, IntentState::Working, "resting keeps it working");
    // The open's notional at its limit price is reserved while it rests.
    assert_eq!(reserved(&d).await, dec!(1795.0));

    // Act: the strategy cancels it.
    cancel(&base, id).await;
    let ended = d.until_terminal(id, Duration::from_secs(30)).await;

    // Assert: cancelled, nothing on the book, no position, nothing reserved.
    assert_eq!(ended.state, IntentState::Cancelled, "{:?}", ended.error);
    assert!(open_on_book(&d).await.is_empty());
    assert!(d.sim_positions().await.is_empty());
    assert!(d.ledger.open_positions().await.unwrap().is_empty());
    assert_eq!(reserved(&d).await, Decimal::ZERO);
    let orders = d.ledger.orders_of_intent(id).await.unwrap();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].status.as_str(), "canceled");
    // The cancel is in the audit trail like every other request for the order.
    let coid = orders[0].client_order_id.clone();
    sluice_testkit::poll::until("the cancel is audited", Duration::from_secs(10), || async {
        d.ledger
            .attempts_for(&coid)
            .await
            .unwrap()
            .iter()
            .any(|a| a.method == "DELETE" && a.endpoint == "/fapi/v1/order")
    })
    .await;
    d.stop().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn a_post_only_open_that_would_take_fails_with_the_venues_reason_and_is_not_resent(
    pool: PgPool,
) {
    let d = start(pool, sol_venue(""), fast_config()).await;
    let base = serve_api_on(&d.ledger, d.exchange.clone()).await;

    // Act: a GTX priced by the venue at the best ask would take.
    let (status, answer) = post_intent(
        &base,
        open_body(
            "gtx-take",
            json!({"price_match": "OPPONENT", "time_in_force": "GTX"}),
        ),
    )
    .await;
    assert_eq!(status, 202, "{answer}");
    let id = intent_id(&answer);
    let ended = d.until_terminal(id, Duration::from_secs(30)).await;

    // Assert: failed with -5022 named, one order only, nothing on the exchange.
    assert_eq!(ended.state, IntentState::Failed);
    let error = ended.error.unwrap_or_default();
    assert!(error.contains("-5022"), "{error}");
    let orders = d.ledger.orders_of_intent(id).await.unwrap();
    assert_eq!(orders.len(), 1, "nothing re-sent");
    assert_eq!(orders[0].last_error_code, Some(-5022));
    assert!(d.sim_positions().await.is_empty());
    assert_eq!(reserved(&d).await, Decimal::ZERO);
    d.stop().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn a_gtc_reduce_only_close_rests_in_chunks_and_fills_as_the_book_moves(pool: PgPool) {
    // Arrange: LONG 30 SOLUSDT, chunks of at most 10.
    let mut cfg = fast_config();
    cfg.chunk_cap = Some(ChunkCap::Qty(
        sluice::domain::Qty::parse("cap", "10").unwrap(),
    ));
    let d = start(pool, sol_venue("30"), cfg).await;
    let position = d.executor.as_ref().expect("executor").adopted[0].clone();
    let base = serve_api_on(&d.ledger, d.exchange.clone()).await;

    // Act: close all at 181 GTC (above the best bid: it rests), then lift the mark.
    let (status, answer) = post_intent(
        &base,
        json!({"kind": "close", "position_id": position.id.get(), "price": "181",
               "time_in_force": "GTC", "idempotency_key": "gtc-close"}),
    )
    .await;
    assert_eq!(status, 202, "{answer}");
    let id = intent_id(&answer);
    sluice_testkit::poll::until("three chunks rest", Duration::from_secs(20), || async {
        open_on_book(&d).await.len() == 3
    })
    .await;
    assert_eq!(d.sim_positions().await.len(), 1, "nothing filled yet");
    d.admin_post(
        "/sim/marks",
        json!({"symbol": "SOLUSDT", "mark_price": "181.5"}),
    )
    .await;
    let ended = d.until_terminal(id, Duration::from_secs(30)).await;

    // Assert: done and flat, three reduce-only LIMIT chunks at 181, each filled once.
    assert_eq!(ended.state, IntentState::Done, "{:?}", ended.error);
    assert!(ended.shortfall.is_none());
    assert!(d.sim_positions().await.is_empty(), "the exchange is flat");
    let row = d.ledger.position(position.id).await.unwrap().unwrap();
    assert_eq!(row.status, PositionStatus::Closed);
    let orders = d.ledger.orders_of_intent(id).await.unwrap();
    assert_eq!(orders.len(), 3);
    for o in &orders {
        assert!(o.reduce_only);
        assert_eq!(o.price.map(|p| p.get()), Some(dec!(181)));
        assert_eq!(o.filled_quantity.get(), dec!(10));
    }
    d.stop().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn bad_limit_prices_and_gtd_dates_are_refused_naming_the_field(pool: PgPool) {
    let d = start(pool, sol_venue(""), fast_config()).await;
    let base = serve_api_on(&d.ledger, d.exchange.clone()).await;
    let now_ms = chrono::Utc::now().timestamp_millis();
    let refused = [
        (json!({"price": "179.0005"}), "price", "tickSize"),
        (json!({"price": "250"}), "price", "PERCENT_PRICE"),
        (json!({"price": "1e2"}), "price", ""),
        (
            json!({"price_match": "OPPONENT_10"}),
            "price_match",
            "removed",
        ),
        (
            json!({"price": "179", "time_in_force": "GTD", "good_till_date": now_ms - 1000}),
            "good_till_date",
            "600 s",
        ),
        (
            json!({"price": "179", "time_in_force": "GTD", "good_till_date": now_ms + 300_000}),
            "good_till_date",
            "600 s",
        ),
        (json!({"time_in_force": "GTX"}), "time_in_force", ""),
    ];
    for (i, (extra, field, says)) in refused.into_iter().enumerate() {
        let (status, answer) = post_intent(&base, open_body(&format!("bad-{i}"), extra)).await;
        assert_eq!(status, 422, "{answer}");
        assert_eq!(answer["error"]["field"], field, "{answer}");
        let reason = answer["error"]["reason"].as_str().unwrap_or_default();
        assert!(reason.contains(says), "{field}: {reason}");
    }
    assert!(d.ledger.recent_intents(50).await.unwrap().is_empty());
    // A GTD far enough ahead is accepted and rests.
    let (status, answer) = post_intent(
        &base,
        open_body(
            "gtd-ok",
            json!({"price": "179", "time_in_force": "GTD", "good_till_date": now_ms + 3_600_000}),
        ),
    )
    .await;
    assert_eq!(status, 202, "{answer}");
    let id = intent_id(&answer);
    sluice_testkit::poll::until("the GTD order rests", Duration::from_secs(20), || async {
        let row = d.ledger.intent(id).await.unwrap().unwrap();
        assert!(!row.state.is_terminal(), "{:?}", row.error);
        open_on_book(&d)
            .await
            .iter()
            .any(|o| o["timeInForce"] == "GTD" && o["goodTillDate"] == now_ms + 3_600_000)
    })
    .await;
    d.stop().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn a_halt_cancels_a_resting_limit_open(pool: PgPool) {
    let d = start(pool, sol_venue(""), fast_config()).await;
    let base = serve_api_on(&d.ledger, d.exchange.clone()).await;
    let (status, answer) = post_intent(
        &base,
        open_body("gtc-halt", json!({"price_match": "QUEUE"})),
    )
    .await;
    assert_eq!(status, 202, "{answer}");
    let id = intent_id(&answer);
    sluice_testkit::poll::until("the order rests", Duration::from_secs(20), || async {
        open_on_book(&d).await.len() == 1
    })
    .await;

    // Act: the operator halts.
    let r = reqwest::Client::new()
        .post(format!("{base}/v1/halt"))
        .json(&json!({"reason": "limit drill", "actor": "ops"}))
        .send()
        .await
        .expect("halt");
    assert!(r.status().is_success(), "{}", r.status());
    let ended = d.until_terminal(id, Duration::from_secs(30)).await;

    // Assert: the open is cancelled with the halt as cause, nothing left on the book.
    assert_eq!(ended.state, IntentState::Cancelled, "{:?}", ended.error);
    assert!(open_on_book(&d).await.is_empty());
    assert!(d.sim_positions().await.is_empty());
    let sent = d.ledger.orders_of_intent(id).await.unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].price, None, "priced by the venue (QUEUE)");
    d.stop().await;
}
