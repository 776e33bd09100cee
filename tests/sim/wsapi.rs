//! The WebSocket API (`/ws-fapi/v1`) over the wire: per-request signatures over the params
//! sorted by name (HMAC and Ed25519), `session.logon` with an Ed25519 key then unsigned
//! requests, `rateLimits` in every order answer, and REST's error codes.

use serde_json::{json, Value};
use sluice::exchange::binance::signer_from_material;
use sluice_testkit::keys::{scenario_with_key, TestKey};
use sluice_testkit::sim_client::*;

/// `params` plus `apiKey` and `timestamp`, signed over the sorted `k=v&…` text.
fn signed(params: Value, sign_with: impl Fn(&str) -> String) -> Value {
    let mut p = params;
    p["apiKey"] = json!(KEY);
    p["timestamp"] = json!(now_ms());
    let mut pairs: Vec<(String, String)> = p
        .as_object()
        .expect("object")
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_str().map_or_else(|| v.to_string(), str::to_owned),
            )
        })
        .collect();
    pairs.sort();
    let payload: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    p["signature"] = json!(sign_with(&payload.join("&")));
    p
}

fn hmac(payload: &str) -> String {
    sign(SECRET, payload)
}

async fn call(ws: &mut Ws, id: Value, method: &str, params: Value) -> Value {
    ws.send_json(&json!({ "id": id, "method": method, "params": params }))
        .await;
    let answer = ws.next_json().await.expect("an answer");
    assert_eq!(answer["id"], id, "{answer}");
    answer
}

fn limit_order(cid: &str) -> Value {
    json!({ "symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
            "quantity": "0.010", "price": "30000", "newClientOrderId": cid })
}

#[tokio::test]
async fn an_order_is_placed_queried_and_cancelled_with_per_request_hmac_signatures() {
    let sim = start(scenario("", "")).await;
    let mut ws = sim.ws("/ws-fapi/v1").await;
    let placed = call(
        &mut ws,
        json!(1),
        "order.place",
        signed(limit_order("ws-1"), hmac),
    )
    .await;
    assert_eq!(placed["status"], 200, "{placed}");
    assert_eq!(placed["result"]["status"], "NEW");
    let limits = placed["rateLimits"].as_array().expect("rateLimits");
    assert!(
        limits
            .iter()
            .any(|l| l["rateLimitType"] == "ORDERS" && l["count"] == 1),
        "{limits:?}"
    );
    let order_id = placed["result"]["orderId"].clone();
    let query = json!({ "symbol": "BTCUSDT", "orderId": order_id });
    let status = call(
        &mut ws,
        json!("two"),
        "order.status",
        signed(query.clone(), hmac),
    )
    .await;
    assert_eq!(status["result"]["clientOrderId"], "ws-1", "{status}");
    let cancelled = call(&mut ws, Value::Null, "order.cancel", signed(query, hmac)).await;
    assert_eq!(cancelled["result"]["status"], "CANCELED", "{cancelled}");
    // The same venue: REST sees the WS order.
    let r = sim
        .signed(
            "GET",
            "/fapi/v1/order",
            "symbol=BTCUSDT&origClientOrderId=ws-1",
        )
        .await;
    assert_eq!(r.json["status"], "CANCELED");
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn errors_carry_rests_codes_and_a_bad_signature_is_minus_1022() {
    let sim = start(scenario("", "")).await;
    let mut ws = sim.ws("/ws-fapi/v1").await;
    let mut order = limit_order("ws-bad");
    order.as_object_mut().unwrap().remove("quantity");
    let missing = call(&mut ws, json!(1), "order.place", signed(order, hmac)).await;
    assert_eq!(
        (
            missing["status"].as_i64(),
            missing["error"]["code"].as_i64()
        ),
        (Some(400), Some(-1102)),
        "{missing}"
    );
    assert!(missing["error"]["msg"]
        .as_str()
        .unwrap()
        .contains("'quantity'"));
    let mut tampered = signed(limit_order("ws-tampered"), hmac);
    tampered["price"] = json!("30001");
    let bad = call(&mut ws, json!(2), "order.place", tampered).await;
    assert_eq!(
        (bad["status"].as_i64(), bad["error"]["code"].as_i64()),
        (Some(400), Some(-1022)),
        "{bad}"
    );
    let unsigned = call(
        &mut ws,
        json!(3),
        "order.status",
        json!({ "symbol": "BTCUSDT", "apiKey": KEY, "timestamp": now_ms() }),
    )
    .await;
    assert_eq!(unsigned["error"]["code"], -1102, "{unsigned}");
    let unknown = call(&mut ws, json!(4), "order.teleport", json!({})).await;
    assert_eq!(unknown["status"], 400, "{unknown}");
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn an_ed25519_session_logon_lets_later_requests_go_unsigned() {
    let sim = start(scenario_with_key(TestKey::Ed25519, "", "")).await;
    let signer = signer_from_material(&TestKey::Ed25519.private_pem()).unwrap();
    let ed = |payload: &str| signer.sign(payload.as_bytes()).unwrap();
    let mut ws = sim.ws("/ws-fapi/v1").await;
    // Before logon, an unsigned order is refused; a per-request Ed25519 signature works.
    let bare = json!({ "symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                       "quantity": "0.010", "price": "30000", "newClientOrderId": "ed-0", "timestamp": now_ms() });
    assert_eq!(
        call(&mut ws, json!(1), "order.place", bare.clone()).await["error"]["code"],
        -1102
    );
    let placed = call(
        &mut ws,
        json!(2),
        "order.place",
        signed(limit_order("ed-1"), ed),
    )
    .await;
    assert_eq!(placed["status"], 200, "{placed}");
    let logon = call(&mut ws, json!(3), "session.logon", signed(json!({}), ed)).await;
    assert_eq!(logon["result"]["apiKey"], KEY, "{logon}");
    let placed = call(&mut ws, json!(4), "order.place", bare).await;
    assert_eq!(placed["result"]["clientOrderId"], "ed-0", "{placed}");
    let status = call(&mut ws, json!(5), "session.status", json!({})).await;
    assert!(status["result"]["authorizedSince"].is_i64(), "{status}");
    let out = call(&mut ws, json!(6), "session.logout", json!({})).await;
    assert!(out["result"]["apiKey"].is_null(), "{out}");
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn session_logon_refuses_an_hmac_key_with_minus_4056() {
    let sim = start(scenario("", "")).await;
    let mut ws = sim.ws("/ws-fapi/v1").await;
    let refused = call(&mut ws, json!(1), "session.logon", signed(json!({}), hmac)).await;
    assert_eq!(
        (
            refused["status"].as_i64(),
            refused["error"]["code"].as_i64()
        ),
        (Some(400), Some(-4056)),
        "{refused}"
    );
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn fault_windows_reach_the_websocket_api_with_rests_status_and_code() {
    let sim = start(scenario("", "")).await;
    let r = sim
        .admin("POST", "/sim/faults", json!({"overload_1008": 1.0}))
        .await;
    assert_eq!(r.status, 200);
    let mut ws = sim.ws("/ws-fapi/v1").await;
    let open = call(
        &mut ws,
        json!(1),
        "order.place",
        signed(limit_order("ws-1008"), hmac),
    )
    .await;
    assert_eq!(
        (open["status"].as_i64(), open["error"]["code"].as_i64()),
        (Some(503), Some(-1008)),
        "{open}"
    );
    assert!(open["rateLimits"].is_array(), "{open}");
    let state = sim.state().await;
    assert_eq!(
        state["stats"]["responsesByCode"]["-1008"], 1,
        "one venue, one count"
    );
    sim.handle.shutdown().await;
}
