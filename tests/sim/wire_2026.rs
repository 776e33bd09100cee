//! REST answers as Binance gives them in 2026 (docs/binance-fapi.md §0): POST/DELETE order
//! answers without `avgPrice`/`cumQuote` unless the scenario asks for the legacy fields,
//! and userTrades refusing what lies beyond its 3-month retention or a 7-day span.

use serde_json::Value;
use sluice_testkit::sim_client::*;

const DAY_MS: i64 = 24 * 3_600_000;

fn has(v: &Value, key: &str) -> bool {
    v.get(key).is_some()
}

async fn place_then_cancel(sim: &Sim) -> (Value, Value, Value) {
    let mark = sim.public("/fapi/v1/premiumIndex", "symbol=ETHUSDT").await;
    let mark: f64 = mark.json["markPrice"].as_str().unwrap().parse().unwrap();
    let price = format!("{:.2}", (mark * 0.9).floor());
    let placed = sim
        .signed(
            "POST",
            "/fapi/v1/order",
            &format!("symbol=ETHUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price={price}&newClientOrderId=shape-1"),
        )
        .await;
    assert_eq!(placed.status, 200, "{:?}", placed.json);
    let queried = sim
        .signed(
            "GET",
            "/fapi/v1/order",
            "symbol=ETHUSDT&origClientOrderId=shape-1",
        )
        .await;
    let cancelled = sim
        .signed(
            "DELETE",
            "/fapi/v1/order",
            "symbol=ETHUSDT&origClientOrderId=shape-1",
        )
        .await;
    assert_eq!(cancelled.status, 200, "{:?}", cancelled.json);
    (placed.json, queried.json, cancelled.json)
}

#[tokio::test]
async fn order_answers_omit_avg_price_and_cum_quote_by_default() {
    let sim = start(scenario("", "")).await;
    let (placed, queried, cancelled) = place_then_cancel(&sim).await;
    for (name, v) in [("POST", &placed), ("DELETE", &cancelled)] {
        assert!(!has(v, "avgPrice") && !has(v, "cumQuote"), "{name}: {v}");
        assert!(has(v, "executedQty") && has(v, "cumQty"), "{name}: {v}");
    }
    assert!(
        has(&queried, "avgPrice") && has(&queried, "cumQuote"),
        "{queried}"
    );
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn the_venue_table_brings_the_legacy_fields_back() {
    let sim = start(scenario(
        "[venue]\norder_response_legacy_fields = true\n",
        "",
    ))
    .await;
    let (placed, _, cancelled) = place_then_cancel(&sim).await;
    for v in [&placed, &cancelled] {
        assert_eq!(v["avgPrice"], "0.00000", "{v}");
        assert_eq!(v["cumQuote"], "0.00000", "{v}");
    }
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn user_trades_refuse_a_start_older_than_three_months_and_a_span_over_seven_days() {
    let sim = start(scenario("", "")).await;
    let old = now_ms() - 91 * DAY_MS;
    let r = sim
        .signed(
            "GET",
            "/fapi/v1/userTrades",
            &format!("symbol=BTCUSDT&startTime={old}&endTime={}", old + DAY_MS),
        )
        .await;
    assert_eq!((r.status, r.code()), (400, -1130), "{:?}", r.json);
    assert!(r.msg().contains("startTime"), "{}", r.msg());
    let start = now_ms() - 20 * DAY_MS;
    let r = sim
        .signed(
            "GET",
            "/fapi/v1/userTrades",
            &format!(
                "symbol=BTCUSDT&startTime={start}&endTime={}",
                start + 8 * DAY_MS
            ),
        )
        .await;
    assert_eq!((r.status, r.code()), (400, -1127), "{:?}", r.json);
    let r = sim
        .signed(
            "GET",
            "/fapi/v1/userTrades",
            &format!(
                "symbol=BTCUSDT&startTime={start}&endTime={}",
                start + 7 * DAY_MS - 1
            ),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    sim.handle.shutdown().await;
}
