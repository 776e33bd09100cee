//! Fault injection over the wire: scenario windows, the 2025-10-11 profile, the -1008
//! reduce-only exemption, "may have executed" 503s, API-key revocation and listenKey
//! invalidation, all counted in /sim/state.

use serde_json::json;
use sluice_testkit::sim_client::*;

const SHORT_SOL: &str = "[[accounts]]\napi_key = \"shortKey1\"\napi_secret = \"shortSecret1\"\nusdt = \"50000\"\npositions = [ { symbol = \"SOLUSDT\", side = \"SHORT\", quantity = \"500\", entry_price = \"180\" } ]\n";

#[tokio::test]
async fn the_2025_10_11_profile_fails_nearly_every_reduce_only_close_then_recovers() {
    let sim = start(scenario(
        &format!("[[faults]]\nfrom = 0\nprofile = \"2025-10-11\"\n{SHORT_SOL}"),
        "",
    ))
    .await;
    let close = "symbol=SOLUSDT&side=BUY&type=MARKET&quantity=1&reduceOnly=true";
    let mut codes = std::collections::BTreeSet::new();
    let mut failed = 0;
    for _ in 0..60 {
        let r = sim
            .signed_as("shortKey1", "shortSecret1", "POST", "/fapi/v1/order", close)
            .await;
        if r.status != 200 {
            failed += 1;
            codes.insert((r.status, r.code()));
        }
    }
    assert!(failed >= 50, "only {failed} of 60 closes failed");
    for want in [(400, -2010), (400, -4118), (400, -2022), (503, -1008)] {
        assert!(codes.contains(&want), "{want:?} missing from {codes:?}");
    }
    assert!(
        codes.iter().any(|c| c.0 == 503 && c.1 == -1000),
        "no HTTP 503 in {codes:?}"
    );
    // Recovery: the window is removed, closes go through.
    assert_eq!(
        sim.admin("DELETE", "/sim/faults", json!({})).await.json["removed"],
        1
    );
    let r = sim
        .signed_as("shortKey1", "shortSecret1", "POST", "/fapi/v1/order", close)
        .await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    let state = sim.state().await;
    let injected: i64 = state["stats"]["faultsInjected"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_i64().unwrap())
        .sum();
    assert_eq!(injected, failed);
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn overload_spares_reduce_only_orders_unless_the_window_breaks_the_exemption() {
    let sim = start(scenario(SHORT_SOL, "")).await;
    let r = sim
        .admin("POST", "/sim/faults", json!({"overload_1008": 1.0}))
        .await;
    assert_eq!(r.status, 200);
    let open = sim
        .signed_as(
            "shortKey1",
            "shortSecret1",
            "POST",
            "/fapi/v1/order",
            "symbol=SOLUSDT&side=SELL&type=MARKET&quantity=1",
        )
        .await;
    assert_eq!((open.status, open.code()), (503, -1008));
    assert_eq!(open.msg(), "Request throttled by system-level protection. Reduce-only/close-position orders are exempt. Please try again.");
    let close = sim
        .signed_as(
            "shortKey1",
            "shortSecret1",
            "POST",
            "/fapi/v1/order",
            "symbol=SOLUSDT&side=BUY&type=MARKET&quantity=1&reduceOnly=true",
        )
        .await;
    assert_eq!(close.status, 200);
    sim.admin("DELETE", "/sim/faults", json!({})).await;
    sim.admin(
        "POST",
        "/sim/faults",
        json!({"overload_1008": 1.0, "overload_hits_reduce_only": true}),
    )
    .await;
    let close = sim
        .signed_as(
            "shortKey1",
            "shortSecret1",
            "POST",
            "/fapi/v1/order",
            "symbol=SOLUSDT&side=BUY&type=MARKET&quantity=1&reduceOnly=true",
        )
        .await;
    assert_eq!((close.status, close.code()), (503, -1008));
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn an_unknown_503_may_really_have_executed_the_order() {
    let sim = start(scenario("", "")).await;
    sim.admin(
        "POST",
        "/sim/faults",
        json!({"unknown_503": 1.0, "executed_share": 1.0}),
    )
    .await;
    let r = sim.signed("POST", "/fapi/v1/order", "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=60000&newClientOrderId=maybe-1").await;
    assert_eq!(
        (r.status, r.code(), r.msg()),
        (
            503,
            -1000,
            "Unknown error, please check your request or try again later."
        )
    );
    sim.admin("DELETE", "/sim/faults", json!({})).await;
    let q = sim
        .signed(
            "GET",
            "/fapi/v1/order",
            "symbol=BTCUSDT&origClientOrderId=maybe-1",
        )
        .await;
    assert_eq!(
        q.json["status"], "NEW",
        "the order executed despite the 503"
    );
    let state = sim.state().await;
    assert_eq!(state["stats"]["executedDespiteError"], 1);
    assert_eq!(state["stats"]["responsesByStatus"]["503"], 1);
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn a_timeout_1007_that_did_not_execute_leaves_no_order() {
    let sim = start(scenario("", "")).await;
    sim.admin(
        "POST",
        "/sim/faults",
        json!({"timeout_1007": 1.0, "executed_share": 0.0}),
    )
    .await;
    let r = sim.signed("POST", "/fapi/v1/order", "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=60000&newClientOrderId=lost-1").await;
    assert_eq!((r.status, r.code()), (408, -1007));
    sim.admin("DELETE", "/sim/faults", json!({})).await;
    let q = sim
        .signed(
            "GET",
            "/fapi/v1/order",
            "symbol=BTCUSDT&origClientOrderId=lost-1",
        )
        .await;
    assert_eq!(q.code(), -2013);
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn reduce_only_fault_codes_hit_only_reduce_only_orders() {
    let sim = start(scenario(SHORT_SOL, "")).await;
    sim.admin("POST", "/sim/faults", json!({"reduce_only_4118": 1.0}))
        .await;
    let close = sim
        .signed_as(
            "shortKey1",
            "shortSecret1",
            "POST",
            "/fapi/v1/order",
            "symbol=SOLUSDT&side=BUY&type=MARKET&quantity=1&reduceOnly=true",
        )
        .await;
    assert_eq!(
        (close.status, close.code(), close.msg()),
        (
            400,
            -4118,
            "ReduceOnly Order Failed. Please check your existing position and open orders"
        )
    );
    let open = sim
        .signed_as(
            "shortKey1",
            "shortSecret1",
            "POST",
            "/fapi/v1/order",
            "symbol=SOLUSDT&side=SELL&type=MARKET&quantity=1",
        )
        .await;
    assert_eq!(open.status, 200);
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn a_window_can_revoke_keys_and_invalidate_listen_keys_when_it_opens() {
    let sim = start(scenario("tick_ms = 10\n", "")).await;
    let key = sim.listen_key().await;
    let mut ws = sim.ws(&format!("/private/ws?listenKey={key}")).await;
    sim.admin("POST", "/sim/faults", json!({"invalidate_listen_keys": true, "revoke_keys": [KEY], "endpoints": ["/fapi/v1/ping"]})).await;
    // The socket is closed by the invalidation (awaited, not slept for).
    assert_eq!(ws.next_json().await, None);
    let r = sim.signed("GET", "/fapi/v2/balance", "").await;
    assert_eq!((r.status, r.code()), (401, -2015));
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn invalidated_listen_keys_answer_minus_1125_on_keepalive() {
    let sim = start(scenario("tick_ms = 10\n", "")).await;
    sim.listen_key().await;
    let r = sim
        .raw("PUT", "/fapi/v1/listenKey", "", "", Some(KEY))
        .await;
    assert_eq!(r.status, 200);
    sim.admin(
        "POST",
        "/sim/faults",
        json!({"invalidate_listen_keys": true, "endpoints": ["/fapi/v1/ping"]}),
    )
    .await;
    let r = sim
        .raw("PUT", "/fapi/v1/listenKey", "", "", Some(KEY))
        .await;
    assert_eq!((r.status, r.code(), r.msg()), (400, -1125, "This listenKey does not exist. Please use POST /fapi/v1/listenKey to recreate listenKey"));
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn a_fault_window_on_market_orders_refuses_each_batch_element_on_its_own() {
    // A window refusing every MARKET order with -1008 (reduce-only included); a batch of
    // one MARKET and one LIMIT reduce-only close.
    let sim = start(scenario(
        &format!(
            "[[faults]]\nfrom = 0\norder_types = [\"MARKET\"]\noverload_1008 = 1.0\n\
             overload_hits_reduce_only = true\n{SHORT_SOL}"
        ),
        "",
    ))
    .await;
    let batch = r#"[{"symbol":"SOLUSDT","side":"BUY","type":"MARKET","quantity":"1","reduceOnly":"true"},{"symbol":"SOLUSDT","side":"BUY","type":"LIMIT","timeInForce":"IOC","quantity":"1","price":"181","reduceOnly":"true"}]"#;
    let enc: String = form_urlencoded::byte_serialize(batch.as_bytes()).collect();
    let r = sim
        .signed_as(
            "shortKey1",
            "shortSecret1",
            "POST",
            "/fapi/v1/batchOrders",
            &format!("batchOrders={enc}"),
        )
        .await;
    // The MARKET element is refused in its slot as a lone MARKET order would be; the
    // LIMIT element is not a MARKET order and is placed.
    assert_eq!(r.status, 200, "{:?}", r.json);
    assert_eq!(r.json[0]["code"], -1008, "{:?}", r.json);
    assert!(r.json[1]["orderId"].is_i64(), "{:?}", r.json);
    assert!(r.json[1].get("code").is_none(), "{:?}", r.json);
    let state = sim.state().await;
    assert_eq!(state["stats"]["faultsInjected"]["-1008"], 1, "{state}");
    sim.handle.shutdown().await;
}
