//! The user stream as Binance serves it since 2026-04-23 (docs/binance-fapi.md §0): the
//! retired path form `/private/ws/<listenKey>` (and the unrouted `/ws/<listenKey>`)
//! connects and stays silent; the query form
//! `/private/ws?listenKey=<k>&events=A/B` delivers only the listed events, plus
//! `listenKeyExpired` always.

use std::time::Duration;

use serde_json::Value;
use sluice_testkit::sim_client::*;

fn kind(v: &Value) -> &str {
    v["e"].as_str().unwrap_or("")
}

/// How long a socket must stay silent after the order is known to have filled.
const SILENCE: Duration = Duration::from_millis(500);

#[tokio::test]
async fn the_retired_path_form_connects_and_delivers_nothing_while_an_order_fills() {
    let sim = start(scenario("tick_ms = 10\n", "")).await;
    let key = sim.listen_key().await;
    let mut silent = sim.ws(&format!("/private/ws/{key}")).await;
    let mut unrouted = sim.ws(&format!("/ws/{key}")).await;
    let mut live = sim.ws(&format!("/private/ws?listenKey={key}")).await;
    let r = sim
        .signed(
            "POST",
            "/fapi/v1/order",
            "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.01&newClientOrderId=old-form-1",
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    let q = sim
        .signed(
            "GET",
            "/fapi/v1/order",
            "symbol=BTCUSDT&origClientOrderId=old-form-1",
        )
        .await;
    assert_eq!(q.json["status"], "FILLED", "{:?}", q.json);
    // The same key on the query form proves the fill was streamed...
    let fill = live
        .until(|v| kind(v) == "ORDER_TRADE_UPDATE" && v["o"]["X"] == "FILLED")
        .await;
    assert_eq!(fill["o"]["c"], "old-form-1");
    // ...and the path-form socket, subscribed before the order, got none of it.
    let heard = tokio::time::timeout(SILENCE, silent.next_json()).await;
    assert!(heard.is_err(), "the path form delivered {heard:?}");
    // The legacy unrouted /ws/<listenKey> carries public data only since 2026-04-23.
    let heard = tokio::time::timeout(SILENCE, unrouted.next_json()).await;
    assert!(heard.is_err(), "the unrouted form delivered {heard:?}");
    assert_eq!(sim.state().await["stats"]["silentUserSockets"], 2);
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn the_path_form_never_answers_with_an_error_even_for_an_unknown_key() {
    let sim = start(scenario("", "")).await;
    let mut ws = sim.ws("/private/ws/no-such-key").await;
    let heard = tokio::time::timeout(SILENCE, ws.next_json()).await;
    assert!(heard.is_err(), "the path form sent {heard:?}");
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn the_query_form_delivers_only_the_listed_events() {
    let sim = start(scenario("tick_ms = 10\n", "")).await;
    let key = sim.listen_key().await;
    let mut ws = sim
        .ws(&format!(
            "/private/ws?listenKey={key}&events=ACCOUNT_CONFIG_UPDATE"
        ))
        .await;
    // A fill (TRADE_LITE, ORDER_TRADE_UPDATE, ACCOUNT_UPDATE) and then a leverage change:
    // events leave in order, so the first one delivered must be the config update.
    let r = sim
        .signed(
            "POST",
            "/fapi/v1/order",
            "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.01",
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    sim.signed("POST", "/fapi/v1/leverage", "symbol=BTCUSDT&leverage=6")
        .await;
    let first = ws.next_json().await.expect("an event");
    assert_eq!(kind(&first), "ACCOUNT_CONFIG_UPDATE", "{first}");
    assert_eq!(first["ac"]["l"], 6);
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn listen_key_expired_arrives_even_when_the_filter_does_not_name_it() {
    // 3600x: sixty scenario minutes last one real second.
    let sim = start(scenario("time_scale = 3600.0\ntick_ms = 10\n", "")).await;
    let key = sim.listen_key().await;
    let mut ws = sim
        .ws(&format!(
            "/private/ws?listenKey={key}&events=ORDER_TRADE_UPDATE"
        ))
        .await;
    let v = ws.next_json().await.expect("listenKeyExpired");
    assert_eq!(kind(&v), "listenKeyExpired", "{v}");
    assert_eq!(v["listenKey"], key.as_str());
    sim.handle.shutdown().await;
}
