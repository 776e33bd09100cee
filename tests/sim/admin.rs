//! The admin API and scenario loading over the wire: /sim/state contents, marks, fault
//! windows posted as JSON (latency, -1001, 503 Service Unavailable), scenario positions.

use serde_json::json;
use sluice_testkit::sim_client::*;

const SHORT: &str = "[[accounts]]\napi_key = \"shortKey1\"\napi_secret = \"shortSecret1\"\nusdt = \"50000\"\npositions = [ { symbol = \"SOLUSDT\", side = \"SHORT\", quantity = \"500\", entry_price = \"180\" } ]\n";

#[tokio::test]
async fn sim_state_lists_balances_positions_and_every_order_per_account() {
    let sim = start(scenario(SHORT, "")).await;
    let r = sim
        .signed_as("shortKey1", "shortSecret1", "POST", "/fapi/v1/order", "symbol=SOLUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=100&price=170&reduceOnly=true&newClientOrderId=close-1")
        .await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    let bad = sim
        .signed_as(
            "shortKey1",
            "shortSecret1",
            "POST",
            "/fapi/v1/order",
            "symbol=SOLUSDT&side=BUY&type=MARKET&quantity=0.5",
        )
        .await;
    assert_eq!(bad.code(), -1111);
    let state = sim.state().await;
    let acct = state["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["apiKeys"][0] == "shortKey1")
        .unwrap()
        .clone();
    assert_eq!(acct["positions"][0]["symbol"], "SOLUSDT");
    assert_eq!(acct["positions"][0]["position_amt"], "-500");
    assert!(acct["balances"][0]["wallet_balance"].is_string());
    let order = &acct["orders"][0];
    assert_eq!(
        (
            order["clientOrderId"].as_str(),
            order["status"].as_str(),
            order["reduceOnly"].as_bool()
        ),
        (Some("close-1"), Some("NEW"), Some(true))
    );
    assert_eq!(order["origQty"], "100");
    assert_eq!(acct["openOrders"].as_array().unwrap().len(), 1);
    assert_eq!(state["stats"]["responsesByCode"]["-1111"], 1);
    assert_eq!(
        state["stats"]["requestsByEndpoint"]["POST /fapi/v1/order"],
        2
    );
    assert_eq!(state["stats"]["responsesByStatus"]["200"], 1);
    assert!(state["scenarioTimeMs"].is_i64());
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn scenario_positions_show_in_position_risk() {
    let sim = start(scenario(SHORT, "")).await;
    let r = sim
        .signed_as(
            "shortKey1",
            "shortSecret1",
            "GET",
            "/fapi/v2/positionRisk",
            "symbol=SOLUSDT",
        )
        .await;
    assert_eq!(r.json[0]["positionAmt"], "-500");
    assert_eq!(r.json[0]["entryPrice"], "180.00000000");
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn posted_marks_move_the_premium_index_and_bad_bodies_are_refused_by_name() {
    let sim = start(scenario("", "")).await;
    let r = sim
        .admin(
            "POST",
            "/sim/marks",
            json!({"symbol": "BTCUSDT", "mark_price": "70000.5"}),
        )
        .await;
    assert_eq!(r.status, 200);
    let pi = sim.public("/fapi/v1/premiumIndex", "symbol=BTCUSDT").await;
    assert_eq!(pi.json["markPrice"], "70000.50000000");
    let r = sim
        .admin(
            "POST",
            "/sim/marks",
            json!({"symbol": "BTCUSDT", "price": "1"}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(r.json["error"].as_str().unwrap().contains("price"));
    let r = sim
        .admin("POST", "/sim/faults", json!({"overload_1008": 2.0}))
        .await;
    assert_eq!(r.status, 400);
    assert!(r.json["error"]
        .as_str()
        .unwrap()
        .contains("faults.overload_1008"));
    let r = sim
        .admin("POST", "/sim/accounts/nobody/revoke", json!({}))
        .await;
    assert_eq!(r.status, 404);
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn fault_windows_on_any_endpoint_give_minus_1001_and_service_unavailable() {
    let sim = start(scenario("", "")).await;
    sim.admin(
        "POST",
        "/sim/faults",
        json!({"internal_1001": 1.0, "endpoints": ["GET /fapi/v2/balance"]}),
    )
    .await;
    let r = sim.signed("GET", "/fapi/v2/balance", "").await;
    assert_eq!(
        (r.status, r.code(), r.msg()),
        (
            503,
            -1001,
            "Internal error; unable to process your request. Please try again."
        )
    );
    assert_eq!(
        sim.signed("GET", "/fapi/v3/balance", "").await.status,
        200,
        "other endpoints unaffected"
    );
    sim.admin("DELETE", "/sim/faults", json!({})).await;
    sim.admin(
        "POST",
        "/sim/faults",
        json!({"unavailable_503": 1.0, "latency_ms": 50}),
    )
    .await;
    let r = sim.signed("POST", "/fapi/v1/order", "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=60000&newClientOrderId=u-1").await;
    assert_eq!((r.status, r.msg()), (503, "Service Unavailable."));
    sim.admin("DELETE", "/sim/faults", json!({})).await;
    let q = sim
        .signed(
            "GET",
            "/fapi/v1/order",
            "symbol=BTCUSDT&origClientOrderId=u-1",
        )
        .await;
    assert_eq!(q.code(), -2013, "Service Unavailable never executes");
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn a_scenario_window_opens_at_its_from_second_on_scaled_time() {
    // 600x: the window [60 s, 120 s) of scenario time opens 0.1 s after start.
    let sim = start(scenario(
        "time_scale = 600.0\n[[faults]]\nfrom = 60\nuntil = 100000\nreject_2010 = 1.0\n",
        "",
    ))
    .await;
    let order = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=60000";
    let first = sim.signed("POST", "/fapi/v1/order", order).await;
    assert_eq!(
        first.status, 200,
        "window not open yet at scenario second ~0"
    );
    let mut ticker = tokio::time::interval(std::time::Duration::from_millis(20));
    loop {
        ticker.tick().await;
        let t = sim.admin("GET", "/sim/time", json!({})).await;
        if t.json["scenarioTimeMs"].as_i64().unwrap() >= 60_000 {
            break;
        }
    }
    let r = sim.signed("POST", "/fapi/v1/order", order).await;
    assert_eq!(
        (r.status, r.code(), r.msg()),
        (400, -2010, "NEW_ORDER_REJECTED")
    );
    sim.handle.shutdown().await;
}
