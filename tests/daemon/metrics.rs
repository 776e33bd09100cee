//! `GET /metrics` after real work: the executor's orders, latencies, breaker, rate-limit
//! use and finished intents are recorded where they happen, not just described.
//!
//! The recorder is process-global and other tests in this binary may record too, so
//! every assertion is "this series exists and is at least N", never an exact total.

use std::time::Duration;

use sluice::domain::IntentState;
use sluice_testkit::executor::*;
use sqlx::PgPool;

/// The value of the sample whose name and labels are exactly `series`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        l.strip_prefix(series)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

async fn scrape(http: &reqwest::Client, api: &str) -> String {
    http.get(format!("{api}/metrics"))
        .send()
        .await
        .expect("metrics answers")
        .text()
        .await
        .expect("metrics text")
}

#[sqlx::test(migrations = "./migrations")]
async fn the_seed_000_close_shows_its_orders_rejections_latency_and_breaker_in_metrics(
    pool: PgPool,
) {
    // Arrange: the recorder first (recording before it exists is a no-op), then the
    // seed-000 account, whose hidden MARKET cap answers -4005.
    sluice::metrics::install().expect("recorder");
    let scenario = sluice::paper::demo_scenario().expect("demo scenario");
    let d = start(pool, scenario, fast_config()).await;
    let api = serve_api(&d.ledger).await;
    let position = d.executor.as_ref().expect("executor").adopted[0].clone();

    // Act: close it.
    let id = d.submit(close_all(position.id, "metrics-close")).await;
    let intent = d.until_terminal(id, Duration::from_secs(60)).await;
    assert_eq!(intent.state, IntentState::Done, "error: {:?}", intent.error);
    let text = scrape(&d.http, &api).await;

    // Assert: accepted placements, the -4005 rejections by code, their latencies.
    let accepted = sample(&text, r#"sluice_orders_total{outcome="accepted",code="0"}"#);
    assert!(accepted.is_some_and(|n| n >= 1.0), "{text}");
    let rejected = sample(
        &text,
        r#"sluice_orders_total{outcome="rejected",code="-4005"}"#,
    );
    assert!(rejected.is_some_and(|n| n >= 1.0), "{text}");
    // A batch element has its own audit row, so its own latency sample (the batch's).
    let latencies = ["/fapi/v1/order", "/fapi/v1/batchOrders"]
        .iter()
        .filter_map(|e| {
            let key =
                format!(r#"sluice_order_latency_seconds_count{{endpoint="{e}",method="POST"}}"#);
            sample(&text, &key)
        })
        .reduce(|a, b| a + b);
    assert!(
        latencies.is_some_and(|n| n >= accepted.unwrap_or(0.0) + rejected.unwrap_or(0.0)),
        "every placement has a latency: {text}"
    );
    let breaker = sample(&text, r#"sluice_breaker_state{scope="orders"}"#);
    assert!(breaker.is_some_and(|v| (0.0..=2.0).contains(&v)), "{text}");
    let weight = sample(&text, r#"sluice_rate_limit_used{limit="weight_1m"}"#);
    assert!(weight.is_some_and(|w| w > 0.0), "{text}");
    let done = sample(
        &text,
        r#"sluice_intents_finished_total{kind="close",state="done"}"#,
    );
    assert!(done.is_some_and(|n| n >= 1.0), "{text}");
    let took = sample(
        &text,
        r#"sluice_intent_duration_seconds_count{kind="close"}"#,
    );
    assert!(took.is_some_and(|n| n >= 1.0), "{text}");
}

#[sqlx::test(migrations = "./migrations")]
async fn a_dropped_user_stream_is_counted_as_a_reconnect(pool: PgPool) {
    // Arrange: a running daemon with its user stream connected.
    sluice::metrics::install().expect("recorder");
    let d = start(pool, scenario("", ""), fast_config()).await;
    let api = serve_api(&d.ledger).await;
    let series = r#"sluice_stream_reconnects_total{stream="user"}"#;
    let before = sample(&scrape(&d.http, &api).await, series).unwrap_or(0.0);

    // Act: the simulator closes every WebSocket now.
    d.fault(serde_json::json!({ "from": 0, "disconnect_sockets": true }))
        .await;

    // Assert: the adapter counted the reconnect (bounded wait: it reconnects with backoff).
    until(
        "a user-stream reconnect recorded",
        Duration::from_secs(20),
        || async { sample(&scrape(&d.http, &api).await, series).unwrap_or(0.0) > before },
    )
    .await;
}
