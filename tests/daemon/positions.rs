//! `GET /v1/positions` after the seed-000 close: the hidden MARKET cap the router learned
//! from -4005 is shown with the published cap, when and why it was learned, and when
//! the published cap will be tried again; the CLI prints it under the positions.

use std::time::Duration;

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use sluice::api::PositionsResponse;
use sluice::domain::IntentState;
use sluice_testkit::executor::*;
use sqlx::PgPool;

#[sqlx::test(migrations = "./migrations")]
async fn after_the_seed_000_close_positions_show_the_learned_cap_and_when_it_expires(pool: PgPool) {
    // Arrange: the seed-000 account (hidden MARKET cap 400 under a published one).
    let scenario = sluice::paper::demo_scenario().expect("demo scenario");
    let mut cfg = fast_config();
    cfg.retry_published_cap_after_ms = 30 * 60 * 1000;
    let d = start(pool, scenario, cfg).await;
    let api = serve_api(&d.ledger).await;
    let position = d.executor.as_ref().expect("executor").adopted[0].clone();

    // Act: close it, then read the positions over the API (closed ones included).
    let id = d.submit(close_all(position.id, "caps-close")).await;
    let intent = d.until_terminal(id, Duration::from_secs(60)).await;
    assert_eq!(intent.state, IntentState::Done, "error: {:?}", intent.error);
    let body: serde_json::Value = d
        .http
        .get(format!("{api}/v1/positions?all=true"))
        .send()
        .await
        .expect("positions answers")
        .json()
        .await
        .expect("positions json");

    // Assert: one SOLUSDT cap at or below the hidden 400, under the published cap,
    // taught by a -4005, retried 30 minutes after it was learned.
    let caps = body["learned_caps"].as_array().cloned().unwrap_or_default();
    assert_eq!(caps.len(), 1, "{body}");
    let cap = &caps[0];
    assert_eq!(cap["symbol"], "SOLUSDT");
    let learned = dec(&cap["learned_market_max_qty"]);
    let published = dec(&cap["published_market_max_qty"]);
    assert!(learned > Decimal::ZERO && learned <= dec!(400), "{cap}");
    assert!(published > dec!(400), "{cap}");
    assert!(
        cap["reason"].as_str().unwrap_or("").contains("-4005"),
        "{cap}"
    );
    assert_eq!(cap["in_force"], true);
    let at = |k: &str| {
        chrono::DateTime::parse_from_rfc3339(cap[k].as_str().unwrap_or("")).expect("a time")
    };
    let retry_in = at("retry_published_at") - at("learned_at");
    // learned_at is the database's clock, retry_published_at the executor's: allow slack.
    assert!(
        (retry_in - chrono::TimeDelta::minutes(30))
            .num_seconds()
            .abs()
            <= 5,
        "{cap}"
    );
    let response: PositionsResponse = serde_json::from_value(body).expect("client model");
    let text = sluice::client::render_positions(&response);
    let line = format!("SOLUSDT market cap learned {learned} (published {published}) at ");
    assert!(text.contains(&line), "{text}");
    assert!(text.contains("retry published at"), "{text}");
}
