//! The WS API order transport over a real socket to the simulator: orders, cancels and
//! their audit rows over `session.logon` (Ed25519) or per-request signatures (HMAC); an
//! order in flight when the socket drops is outcome-unknown and resolves over REST; REST
//! carries orders while the socket is refused and the WS API takes them back after; the
//! 503 variants classify as over REST; a planned reconnect at the connection's lifetime.

use std::time::Duration;

use serde_json::json;
use sluice::domain::{ClientOrderId, OrderStatus, Side, Symbol, TimeInForce};
use sluice::exchange::binance::Logon;
use sluice::exchange::AttemptRecord;
use sluice::exchange::Purpose;
use sluice::exchange::{ErrorClass, Exchange, OrderResolution};
use sluice_testkit::account::start_sim;
use sluice_testkit::adapter::*;
use sluice_testkit::poll::until;
use sluice_testkit::wsapi::{ws_config_ed25519, ws_config_hmac};

fn btc() -> Symbol {
    Symbol::new("BTCUSDT").unwrap()
}

fn ws_rows(l: &Loop) -> Vec<AttemptRecord> {
    l.audit.drain(10_000)
}

/// A resting BUY placed and cancelled; the attempts as recorded.
async fn place_and_cancel(l: &Loop, id: &str) -> Vec<AttemptRecord> {
    let price = resting_price(l, "BTCUSDT").await;
    let order = l
        .limit("BTCUSDT", Side::Buy, "0.01", &price, TimeInForce::Gtc, id)
        .await;
    let placed = l.ex.place_order(&order).await.expect("order placed");
    assert_eq!(placed.status, OrderStatus::New);
    let cid = ClientOrderId::new(id).unwrap();
    let cancelled = l.ex.cancel_order(&btc(), &cid).await.expect("cancelled");
    assert_eq!(cancelled.status, OrderStatus::Canceled);
    ws_rows(l)
        .into_iter()
        .filter(|r| r.client_order_id.as_deref() == Some(id))
        .collect()
}

#[tokio::test]
async fn with_an_ed25519_key_orders_go_over_the_ws_api_after_session_logon() {
    let sim = start_sim(scenario("", "")).await;
    let cfg = ws_config_ed25519(&sim).await;
    let l = start_with(sim, cfg).await;
    let ws = l.ex.ws_api().expect("ws transport");
    assert_eq!(ws.logon(), Logon::Accepted);
    assert!(l.ex.orders_over_ws());

    let rows = place_and_cancel(&l, "ws-ed-1").await;

    let seen: Vec<_> = rows
        .iter()
        .map(|r| (r.method.as_str(), r.endpoint.as_str(), r.http_status))
        .collect();
    assert_eq!(
        seen,
        [
            ("WS", "order.place", Some(200)),
            ("WS", "order.cancel", Some(200))
        ]
    );
    for r in &rows {
        assert!(r.is_order);
        assert!(r.params.contains("timestamp="), "{}", r.params);
        assert!(!r.params.contains("signature"), "{}", r.params);
        assert!(!r.params.contains("apiKey"), "{}", r.params);
    }
    // The venue's counts came back on the answer, as REST's headers carry them.
    assert!(rows[0].order_count_10s.is_some(), "{:?}", rows[0]);
    l.sim.shutdown().await;
}

#[tokio::test]
async fn with_an_hmac_key_every_ws_api_request_is_signed_without_a_session() {
    let sim = start_sim(scenario("", "")).await;
    let cfg = ws_config_hmac(&sim);
    let l = start_with(sim, cfg).await;
    let ws = l.ex.ws_api().expect("ws transport");
    assert_eq!(ws.logon(), Logon::NotAttempted);

    let rows = place_and_cancel(&l, "ws-hmac-1").await;

    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r.method == "WS"), "{rows:?}");
    let state = l.state().await;
    assert!(
        state["stats"]["responsesByCode"]["-1022"].is_null(),
        "{state}"
    );
    l.sim.shutdown().await;
}

#[tokio::test]
async fn an_order_in_flight_when_the_socket_drops_is_outcome_unknown_and_resolves_over_rest() {
    // Arrange: every WS API order closes the socket instead of being answered, after
    // the order executed.
    let sim = start_sim(scenario("", "")).await;
    let cfg = ws_config_ed25519(&sim).await;
    let l = start_with(sim, cfg).await;
    l.fault(json!({ "drop_ws_api": 1.0, "executed_share": 1.0 }))
        .await;
    let order = l
        .market("BTCUSDT", Side::Buy, "0.01", false, "ws-drop-1")
        .await;

    // Act.
    let err = l.ex.place_order(&order).await.expect_err("no answer");

    // Assert: unknown, never a retry; the executed order is found by its client id.
    assert_eq!(err.class, ErrorClass::OutcomeUnknown, "{err:?}");
    let rows = ws_rows(&l);
    let attempt = rows
        .iter()
        .find(|r| r.endpoint == "order.place")
        .expect("the attempt is recorded");
    assert_eq!(attempt.error_class.as_deref(), Some("outcome_unknown"));
    assert_eq!(attempt.http_status, None);
    l.clear_faults().await;
    let cid = ClientOrderId::new("ws-drop-1").unwrap();
    match l
        .ex
        .resolve_order(&btc(), &cid, Purpose::ReduceRisk)
        .await
        .expect("resolved")
    {
        OrderResolution::Known { order, .. } => assert_eq!(order.status, OrderStatus::Filled),
        other => panic!("the executed order is known: {other:?}"),
    }
    l.sim.shutdown().await;
}

#[tokio::test]
async fn while_the_ws_api_is_refused_orders_go_over_rest_and_return_to_it_when_it_is_back() {
    let sim = start_sim(scenario("", "")).await;
    let cfg = ws_config_ed25519(&sim).await;
    let l = start_with(sim, cfg).await;
    let ws = l.ex.ws_api().expect("ws transport");
    let first = ws.sessions();

    // Act 1: the venue drops the socket and refuses new ones.
    l.fault(json!({ "refuse_ws_api": true })).await;
    until("the socket to be down", Duration::from_secs(10), || async {
        !l.ex.orders_over_ws()
    })
    .await;
    let over_rest = place_and_cancel(&l, "ws-down-1").await;

    // Act 2: the venue takes connections again.
    l.clear_faults().await;
    until("the socket to be back", Duration::from_secs(20), || async {
        l.ex.orders_over_ws()
    })
    .await;
    let over_ws = place_and_cancel(&l, "ws-back-1").await;

    // Assert.
    let endpoints = |rows: &[AttemptRecord]| -> Vec<String> {
        rows.iter().map(|r| r.endpoint.clone()).collect()
    };
    assert_eq!(endpoints(&over_rest), ["/fapi/v1/order", "/fapi/v1/order"]);
    assert_eq!(endpoints(&over_ws), ["order.place", "order.cancel"]);
    assert!(ws.sessions() > first, "a new connection was opened");
    l.sim.shutdown().await;
}

#[tokio::test]
async fn the_503_variants_over_the_ws_api_keep_their_rest_classes() {
    let sim = start_sim(scenario("", "")).await;
    let cfg = ws_config_ed25519(&sim).await;
    let l = start_with(sim, cfg).await;
    let cases = [
        ("unknown_503", ErrorClass::OutcomeUnknown),
        ("unavailable_503", ErrorClass::Retry),
        ("overload_1008", ErrorClass::Backoff),
    ];
    for (i, (fault, class)) in cases.into_iter().enumerate() {
        l.fault(json!({ fault: 1.0 })).await;
        let order = l
            .market("BTCUSDT", Side::Buy, "0.01", false, &format!("ws-503-{i}"))
            .await;
        let err = l.ex.place_order(&order).await.expect_err("refused");
        assert_eq!(err.http_status, Some(503), "{fault}: {err:?}");
        assert_eq!(err.class, class, "{fault}: {err:?}");
        l.clear_faults().await;
    }
    assert!(ws_rows(&l).iter().any(|r| r.endpoint == "order.place"));
    l.sim.shutdown().await;
}

#[tokio::test]
async fn at_its_lifetime_the_connection_is_replaced_and_orders_keep_going_over_it() {
    let sim = start_sim(scenario("", "")).await;
    let mut cfg = ws_config_ed25519(&sim).await;
    cfg.ws_api_lifetime = Duration::from_millis(300);
    let l = start_with(sim, cfg).await;
    let ws = l.ex.ws_api().expect("ws transport");

    until(
        "two planned reconnects",
        Duration::from_secs(20),
        || async { ws.sessions() >= 3 },
    )
    .await;
    until("the socket to be up", Duration::from_secs(10), || async {
        l.ex.orders_over_ws()
    })
    .await;
    let rows = place_and_cancel(&l, "ws-aged-1").await;

    assert_eq!(ws.logon(), Logon::Accepted, "each new connection logs on");
    assert!(rows.iter().all(|r| r.error_class.is_none()), "{rows:?}");
    l.sim.shutdown().await;
}

#[tokio::test]
async fn the_servers_pings_are_answered_with_their_own_payload() {
    // 3 scenario minutes between pings = 50 ms at 3,600 scenario seconds per second.
    let sim = start_sim(scenario("time_scale = 3600.0", "")).await;
    let cfg = ws_config_ed25519(&sim).await;
    let l = start_with(sim, cfg).await;

    until(
        "three pongs echoing their ping",
        Duration::from_secs(20),
        || async { l.state().await["stats"]["wsApiPongs"].as_u64().unwrap_or(0) >= 3 },
    )
    .await;

    assert!(l.ex.orders_over_ws(), "the connection is still up");
    l.sim.shutdown().await;
}
