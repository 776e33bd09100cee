//! The seed-000 close through the real `sluice run` binary and the simulator in its 2026
//! mode, with the user stream working and with it silenced (connected, delivering
//! nothing, as the retired path form does on mainnet, docs/binance-fapi.md §0). Either
//! way the close ends done and flat, `exchange_positions` matches the simulator and
//! `sluice doctor` exits 0; silenced, the fills come over REST and `/readyz` says so.

use std::process::Command;
use std::time::Duration;

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::{json, Value};
use sluice_sim::{spawn, SimHandle};
use sluice_testkit::process::*;
use sqlx::PgPool;

/// The grace after which an unreported fill marks the stream silent (default 5000).
const GRACE_ENV: (&str, &str) = ("SLUICE__DAEMON__USER_STREAM_SILENCE_GRACE_MS", "1500");

async fn seed_000_sim() -> SimHandle {
    let scenario = sluice::paper::demo_scenario().expect("demo scenario");
    spawn(scenario, "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("simulator")
}

async fn sim_state(sim: &SimHandle) -> Value {
    reqwest::get(format!("{}/sim/state", sim.base_url()))
        .await
        .expect("state")
        .json()
        .await
        .expect("json")
}

/// Post the close of the adopted seed-000 SHORT and wait until it is terminal.
async fn close_the_short(d: &DaemonProc) -> (i64, Value) {
    let (_, positions) = d.get("/v1/positions").await;
    let position = &positions["positions"][0];
    assert_eq!(position["symbol"], "SOLUSDT", "{positions}");
    let (code, created) = d
        .post(
            "/v1/intents",
            &json!({"kind": "close", "position_id": position["id"],
                    "idempotency_key": "seed-000-close", "reason": "test"}),
        )
        .await;
    assert_eq!(code, 202, "{created}");
    let id = created["id"].as_i64().expect("intent id");
    let intent = d
        .until_ok("the close to finish", Duration::from_secs(180), || async {
            let (_, intent) = d.get(&format!("/v1/intents/{id}")).await;
            match intent["state"].as_str() {
                Some("done" | "failed" | "cancelled") => Ok(intent),
                _ => Err(intent),
            }
        })
        .await;
    (id, intent)
}

/// The close's fills by source (`stream`, `rest`), with their total quantity.
async fn fills_by_source(pool: &PgPool, intent: i64) -> (Vec<(Option<String>, i64)>, Decimal) {
    let rows: Vec<(Option<String>, i64, Decimal)> = sqlx::query_as(
        "SELECT f.source, count(*), sum(f.quantity) FROM fills f JOIN orders o ON o.id = f.order_id
          WHERE o.intent_id = $1 GROUP BY f.source ORDER BY f.source",
    )
    .bind(intent)
    .fetch_all(pool)
    .await
    .expect("fills");
    let total = rows.iter().map(|r| r.2).sum();
    (rows.into_iter().map(|r| (r.0, r.1)).collect(), total)
}

/// What `exchange_positions` holds for SOLUSDT.
async fn stored_exchange_amount(pool: &PgPool) -> Decimal {
    let (amount,): (Decimal,) =
        sqlx::query_as("SELECT amount FROM exchange_positions WHERE symbol = 'SOLUSDT'")
            .fetch_one(pool)
            .await
            .expect("a SOLUSDT row");
    amount
}

/// `sluice doctor` on the test's database: its exit code and output.
async fn doctor(db_url: &str) -> (i32, String) {
    let db = db_url.to_string();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_sluice"))
            .arg("doctor")
            .env_remove("RUST_LOG")
            .env("DATABASE_URL", db)
            .output()
            .expect("sluice doctor runs")
    })
    .await
    .expect("join");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// The value of a metric line `name value` (0 when the series is absent).
fn metric(text: &str, name: &str) -> Decimal {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_default()
}

#[sqlx::test(migrations = "./migrations")]
async fn seed_000_with_a_working_stream_every_fill_arrives_on_it_and_doctor_is_clean(pool: PgPool) {
    // Arrange: the seed-000 account (SHORT 8,486.84 SOLUSDT, hidden MARKET cap 400).
    let sim = seed_000_sim().await;
    let db = database_url(&pool).await;
    let d = spawn_daemon("stream-ok", &sim, &db, &[GRACE_ENV]).await;
    d.until_status("ready", Duration::from_secs(60)).await;
    let trades_before = sim_state(&sim).await["tradesTotal"].as_i64().expect("n");

    // Act: close it.
    let (id, intent) = close_the_short(&d).await;

    // Assert: done and flat; every trade the simulator made arrived on the stream.
    assert_eq!(intent["state"], "done", "{intent}");
    let state = sim_state(&sim).await;
    assert_eq!(state["accounts"][0]["positions"], json!([]), "flat");
    let trades = state["tradesTotal"].as_i64().expect("n") - trades_before;
    let (sources, total) = fills_by_source(&pool, id).await;
    assert_eq!(total, dec!(8486.84));
    assert_eq!(sources, vec![(Some("stream".to_string()), trades)]);
    let shown = intent["fills"].as_array().expect("fills");
    assert!(shown.iter().all(|f| f["source"] == "stream"), "{intent}");
    let metrics = d.metrics().await;
    assert_eq!(
        metric(&metrics, "sluice_fills_total{source=\"stream\"}"),
        Decimal::from(trades)
    );
    assert_eq!(metric(&metrics, "sluice_user_stream_silent_total"), dec!(0));
    assert!(metrics.contains("sluice_user_stream_silent 0"), "{metrics}");
    // The exchange's view is current, nothing is degraded, and the ledger is consistent.
    assert_eq!(stored_exchange_amount(&pool).await, dec!(0));
    let (_, ready) = d.get("/readyz").await;
    assert_eq!(ready["status"], "ready", "{ready}");
    let (code, report) = doctor(&db).await;
    assert_eq!(code, 0, "{report}");
    sim.shutdown().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn seed_000_with_a_silenced_stream_closes_over_rest_shows_degraded_and_doctor_is_clean(
    pool: PgPool,
) {
    // Arrange: the daemon is ready, then the simulator stops delivering user events (the
    // socket stays open: connected, silent).
    let sim = seed_000_sim().await;
    let db = database_url(&pool).await;
    let d = spawn_daemon("stream-silent", &sim, &db, &[GRACE_ENV]).await;
    d.until_status("ready", Duration::from_secs(60)).await;
    let admin = reqwest::Client::new();
    let r = admin
        .post(format!("{}/sim/faults", sim.base_url()))
        .json(&json!({"user_event_drop": 1.0}))
        .send()
        .await
        .expect("fault");
    assert!(r.status().is_success(), "{}", r.status());

    // Act: close it.
    let (id, intent) = close_the_short(&d).await;

    // Assert: done and flat, every fill learned over REST.
    assert_eq!(intent["state"], "done", "{intent}");
    let state = sim_state(&sim).await;
    assert_eq!(state["accounts"][0]["positions"], json!([]), "flat");
    let (sources, total) = fills_by_source(&pool, id).await;
    assert_eq!(total, dec!(8486.84));
    assert_eq!(sources.len(), 1, "{sources:?}");
    assert_eq!(sources[0].0.as_deref(), Some("rest"), "{sources:?}");
    let shown: Vec<&Value> = intent["fills"].as_array().expect("fills").iter().collect();
    assert_eq!(shown.len() as i64, sources[0].1, "{intent}");
    assert!(shown.iter().all(|f| f["source"] == "rest"), "{intent}");
    // The silence is shown: /readyz degraded naming the stream, counted once, logged at
    // ERROR once, and the stream re-opened.
    let ready = d.until_status("degraded", Duration::from_secs(10)).await;
    let parts = ready["degraded"].as_array().cloned().unwrap_or_default();
    let stream = parts
        .iter()
        .find(|p| p["component"] == "user_stream")
        .unwrap_or_else(|| panic!("no user_stream degradation: {ready}"));
    assert!(
        stream["reason"].as_str().unwrap_or("").contains("silent"),
        "{ready}"
    );
    let metrics = d.metrics().await;
    assert_eq!(metric(&metrics, "sluice_user_stream_silent_total"), dec!(1));
    assert!(metrics.contains("sluice_user_stream_silent 1"), "{metrics}");
    assert_eq!(
        metric(&metrics, "sluice_fills_total{source=\"rest\"}"),
        Decimal::from(sources[0].1)
    );
    let errors = d
        .logs
        .lock()
        .expect("logs")
        .iter()
        .filter(|l| l.contains("\"ERROR\"") && l.contains("user stream silent"))
        .count();
    assert_eq!(errors, 1, "one ERROR line per episode");
    assert!(d.logged("re-opening: the stream delivered nothing"));
    // The exchange's view was kept current over REST, and the ledger is consistent.
    assert_eq!(stored_exchange_amount(&pool).await, dec!(0));
    let (code, report) = doctor(&db).await;
    assert_eq!(code, 0, "{report}");

    // Act 2: the stream delivers again; an open's fill is heard on it.
    let r = admin
        .delete(format!("{}/sim/faults", sim.base_url()))
        .send()
        .await
        .expect("clear faults");
    assert!(r.status().is_success(), "{}", r.status());
    let (code, created) = d
        .post(
            "/v1/intents",
            &json!({"kind": "open", "symbol": "BTCUSDT", "side": "long",
                    "quantity": "0.01", "idempotency_key": "after-silence"}),
        )
        .await;
    assert!(code < 300, "{created}");

    // Assert: the degradation clears on the first event the stream delivers.
    d.until_status("ready", Duration::from_secs(60)).await;
    assert!(d.metrics().await.contains("sluice_user_stream_silent 0"));
    sim.shutdown().await;
}
