//! WebSocket streams over the wire: user-data events of an order's life in Binance's order
//! and key order, listenKey expiry on scaled time, pings, market streams (raw and combined),
//! and socket disconnect faults.

use serde_json::{json, Value};
use sluice_testkit::sim_client::*;
use tokio_tungstenite::tungstenite::Message;

fn kind(v: &Value) -> &str {
    v["e"].as_str().unwrap_or("")
}

#[tokio::test]
async fn a_marketable_order_streams_trade_lite_new_account_update_and_trade() {
    let sim = start(scenario("tick_ms = 10\n", "")).await;
    let key = sim.listen_key().await;
    let mut ws = sim.ws(&format!("/private/ws?listenKey={key}")).await;
    let r = sim
        .signed(
            "POST",
            "/fapi/v1/order",
            "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.01&newClientOrderId=mkt-1",
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    let mut seen = Vec::new();
    while seen.len() < 4 {
        let v = ws.next_json().await.expect("event");
        seen.push(v);
    }
    let kinds: Vec<String> = seen
        .iter()
        .map(|v| {
            let k = kind(v).to_owned();
            if k == "ORDER_TRADE_UPDATE" {
                format!("{k}:{}", v["o"]["x"].as_str().unwrap())
            } else {
                k
            }
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "TRADE_LITE",
            "ORDER_TRADE_UPDATE:NEW",
            "ACCOUNT_UPDATE",
            "ORDER_TRADE_UPDATE:TRADE"
        ]
    );
    let new = &seen[1]["o"];
    assert_eq!(new["c"], "mkt-1");
    assert_eq!(new["n"], "0");
    assert!(new["N"].is_string());
    assert_eq!(new["q"], "0.010");
    let trade = &seen[3]["o"];
    assert_eq!(trade["X"], "FILLED");
    assert_eq!(trade["z"], "0.010");
    let acct = &seen[2]["a"];
    assert_eq!(acct["m"], "ORDER");
    assert_eq!(acct["P"][0]["pa"], "0.010");
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn order_trade_update_carries_every_field_in_binance_order() {
    let sim = start(scenario("tick_ms = 10\n", "")).await;
    let key = sim.listen_key().await;
    let url = format!(
        "{}/private/ws?listenKey={key}&events=ORDER_TRADE_UPDATE",
        sim.handle.ws_url()
    );
    let (mut raw, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    sim.signed(
        "POST",
        "/fapi/v1/order",
        "symbol=ETHUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=3000",
    )
    .await;
    use futures_util::StreamExt;
    let text = loop {
        if let Some(Ok(Message::Text(t))) = raw.next().await {
            break t.to_string();
        }
    };
    assert!(
        text.starts_with(r#"{"e":"ORDER_TRADE_UPDATE","T":"#),
        "{text}"
    );
    let keys = [
        "s", "c", "S", "o", "f", "q", "p", "ap", "sp", "x", "X", "i", "l", "z", "L", "n", "N", "T",
        "t", "b", "a", "m", "R", "wt", "ot", "ps", "cp", "rp", "pP", "si", "ss", "V", "pm", "gtd",
        "er",
    ];
    let inner = &text[text.find("\"o\":{").unwrap()..];
    let mut at = 0;
    for k in keys {
        let needle = format!("\"{k}\":");
        let pos = inner[at..]
            .find(&needle)
            .unwrap_or_else(|| panic!("{k} missing or out of order in {inner}"));
        at += pos + needle.len();
    }
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn leverage_changes_stream_account_config_update() {
    let sim = start(scenario("tick_ms = 10\n", "")).await;
    let key = sim.listen_key().await;
    let mut ws = sim.ws(&format!("/private/ws?listenKey={key}")).await;
    sim.signed("POST", "/fapi/v1/leverage", "symbol=BTCUSDT&leverage=7")
        .await;
    let v = ws.until(|v| kind(v) == "ACCOUNT_CONFIG_UPDATE").await;
    assert_eq!(v["ac"], json!({"s": "BTCUSDT", "l": 7}));
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn a_listen_key_expires_after_sixty_scenario_minutes_with_listen_key_expired() {
    // 3600x: sixty scenario minutes last one real second.
    let sim = start(scenario("time_scale = 3600.0\ntick_ms = 10\n", "")).await;
    let key = sim.listen_key().await;
    let mut ws = sim.ws(&format!("/private/ws?listenKey={key}")).await;
    let v = ws.until(|v| kind(v) == "listenKeyExpired").await;
    assert_eq!(v["listenKey"], key.as_str());
    assert!(v["E"].is_i64());
    assert_eq!(
        ws.next_json().await,
        None,
        "the socket closes after listenKeyExpired"
    );
    let r = sim
        .raw("PUT", "/fapi/v1/listenKey", "", "", Some(KEY))
        .await;
    assert_eq!(r.code(), -1125);
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn the_server_pings_every_three_scenario_minutes() {
    let sim = start(scenario("time_scale = 600.0\n", "")).await;
    let key = sim.listen_key().await;
    let mut ws = sim.ws(&format!("/private/ws?listenKey={key}")).await;
    let frame = ws.next_frame().await.expect("a frame");
    assert!(matches!(frame, Message::Ping(_)), "{frame:?}");
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn unknown_listen_keys_are_refused_with_minus_1125() {
    let sim = start(scenario("", "")).await;
    let r = sim
        .http
        .get(sim.url("/private/ws?listenKey=nope"))
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["code"], -1125);
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn market_streams_serve_mark_price_and_book_ticker_raw_and_combined() {
    let sim = start(scenario("tick_ms = 10\n", "")).await;
    let mut raw = sim.ws("/market/ws/btcusdt@markPrice@1s").await;
    let v = raw.until(|v| kind(v) == "markPriceUpdate").await;
    assert_eq!(v["s"], "BTCUSDT");
    assert!(v["p"].is_string());
    let mut combined = sim
        .ws("/public/stream?streams=ethusdt@bookTicker/btcusdt@markPrice@1s")
        .await;
    // Move the mark so the book changes and a bookTicker is due.
    sim.admin(
        "POST",
        "/sim/marks",
        json!({"symbol": "ETHUSDT", "mark_price": "3600.00"}),
    )
    .await;
    let v = combined
        .until(|v| v["stream"] == "ethusdt@bookticker")
        .await;
    assert_eq!(v["data"]["e"], "bookTicker");
    assert_eq!(v["data"]["s"], "ETHUSDT");
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn a_disconnect_fault_closes_open_sockets() {
    let sim = start(scenario("tick_ms = 10\n", "")).await;
    let key = sim.listen_key().await;
    let mut user = sim.ws(&format!("/private/ws?listenKey={key}")).await;
    let mut market = sim.ws("/market/ws/btcusdt@markPrice@1s").await;
    sim.admin(
        "POST",
        "/sim/faults",
        json!({"disconnect_sockets": true, "endpoints": ["/fapi/v1/ping"]}),
    )
    .await;
    assert_eq!(user.next_json().await, None);
    while market.next_json().await.is_some() {}
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn dropped_user_events_never_arrive_but_later_ones_do() {
    let sim = start(scenario("tick_ms = 10\n", "")).await;
    let key = sim.listen_key().await;
    let mut ws = sim.ws(&format!("/private/ws?listenKey={key}")).await;
    sim.admin(
        "POST",
        "/sim/faults",
        json!({"user_event_drop": 1.0, "endpoints": ["/fapi/v1/ping"]}),
    )
    .await;
    sim.signed("POST", "/fapi/v1/leverage", "symbol=BTCUSDT&leverage=3")
        .await;
    sim.admin("DELETE", "/sim/faults", json!({})).await;
    sim.signed("POST", "/fapi/v1/leverage", "symbol=BTCUSDT&leverage=4")
        .await;
    let v = ws.until(|v| kind(v) == "ACCOUNT_CONFIG_UPDATE").await;
    assert_eq!(
        v["ac"]["l"], 4,
        "the event sent during the drop window was dropped"
    );
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn delayed_user_events_arrive_late_but_in_order() {
    let sim = start(scenario("tick_ms = 10\n", "")).await;
    let key = sim.listen_key().await;
    let mut ws = sim.ws(&format!("/private/ws?listenKey={key}")).await;
    sim.admin(
        "POST",
        "/sim/faults",
        json!({"user_event_delay_ms": 200, "endpoints": ["/fapi/v1/ping"]}),
    )
    .await;
    sim.signed("POST", "/fapi/v1/leverage", "symbol=BTCUSDT&leverage=3")
        .await;
    sim.admin("DELETE", "/sim/faults", json!({})).await;
    sim.signed("POST", "/fapi/v1/leverage", "symbol=BTCUSDT&leverage=4")
        .await;
    let first = ws.until(|v| kind(v) == "ACCOUNT_CONFIG_UPDATE").await;
    let second = ws.until(|v| kind(v) == "ACCOUNT_CONFIG_UPDATE").await;
    assert_eq!(
        (first["ac"]["l"].as_i64(), second["ac"]["l"].as_i64()),
        (Some(3), Some(4))
    );
    let state = sim.state().await;
    assert_eq!(
        state["stats"]["requestsByEndpoint"]["POST /fapi/v1/leverage"],
        2
    );
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn a_combined_socket_subscribes_live_to_a_listen_key() {
    use futures_util::{SinkExt, StreamExt};
    let sim = start(scenario("tick_ms = 10\n", "")).await;
    let key = sim.listen_key().await;
    let url = format!("{}/private/stream", sim.handle.ws_url());
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let sub = json!({"method": "SUBSCRIBE", "params": [key], "id": 7}).to_string();
    ws.send(Message::Text(sub.into())).await.unwrap();
    let ack = loop {
        if let Some(Ok(Message::Text(t))) = ws.next().await {
            break serde_json::from_str::<Value>(&t).unwrap();
        }
    };
    assert_eq!(ack, json!({"result": null, "id": 7}));
    sim.signed("POST", "/fapi/v1/leverage", "symbol=ETHUSDT&leverage=9")
        .await;
    let ev = loop {
        if let Some(Ok(Message::Text(t))) = ws.next().await {
            break serde_json::from_str::<Value>(&t).unwrap();
        }
    };
    assert_eq!(ev["stream"], key.as_str());
    assert_eq!(ev["data"]["e"], "ACCOUNT_CONFIG_UPDATE");
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn a_socket_is_closed_at_the_twenty_four_hour_cap() {
    // 86400x: twenty-four scenario hours last one real second.
    let sim = start(scenario("time_scale = 86400.0\n", "")).await;
    let mut ws = sim.ws("/market/ws/btcusdt@bookTicker").await;
    let mut frames = 0u32;
    while ws
        .next_frame()
        .await
        .is_some_and(|f| !matches!(f, Message::Close(_)))
    {
        frames += 1;
    }
    assert!(
        frames > 0,
        "pings arrive every 3 scenario minutes before the cap"
    );
    sim.handle.shutdown().await;
}
