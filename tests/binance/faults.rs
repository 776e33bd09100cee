//! Error classes the simulator provokes with a fault (scenario TOML or `POST /sim/faults`),
//! sent through the real adapter over loopback: the class it reports AND what it did.
//!
//! Every `ErrorClass` and the loopback test that provokes it:
//! - `Retry`, `Backoff` (-1008), `OutcomeUnknown`, `Replan`: `binance_loopback`
//!   `each_injected_fault_gets_the_class_the_reference_prescribes`, plus the resolve tests.
//! - `ShrinkChunk` (-4005 over a hidden MARKET cap), `Auth` (revoked key), `ResyncClock`
//!   (-1021), `Banned` (418), `Noop` (second cancel): `binance_loopback`.
//! - `ReduceOnlyRestricted` (-4087, -4400, -4401, -4140), `ResyncClock` (-5028), `Backoff`
//!   (429 + Retry-After), `Fatal` (bad symbol): here.

use serde_json::{json, Value};
use sluice::domain::{OrderStatus, Side, Symbol};
use sluice::exchange::Purpose;
use sluice::exchange::{ErrorClass, Exchange};
use sluice_testkit::adapter::*;

const SHORT_SOL: &str =
    "positions = [ { symbol = \"SOLUSDT\", side = \"SHORT\", quantity = \"500\", entry_price = \"180\" } ]";

fn count(state: &Value, endpoint: &str) -> i64 {
    state["stats"]["requestsByEndpoint"][endpoint]
        .as_i64()
        .unwrap_or(0)
}

async fn sol_short(l: &Loop) -> rust_decimal::Decimal {
    let sol = Symbol::new("SOLUSDT").unwrap();
    l.ex.positions(Purpose::Routine)
        .await
        .unwrap()
        .into_iter()
        .filter(|p| p.symbol == sol)
        .map(|p| p.amount)
        .sum()
}

#[tokio::test]
async fn an_account_restricted_to_reduce_only_refuses_opens_with_that_class_and_accepts_closes() {
    let l = start(scenario("", SHORT_SOL)).await;
    for code in [-4087, -4400, -4401] {
        l.fault(json!({ "restrict_to_reduce_only": code })).await;
        let open = l
            .market("SOLUSDT", Side::Sell, "1", false, &format!("open{code}"))
            .await;
        let err = l.ex.place_order(&open).await.unwrap_err();
        assert_eq!(
            (err.http_status, err.code, err.class),
            (Some(400), Some(code), ErrorClass::ReduceOnlyRestricted),
            "{err}"
        );
        let before = sol_short(&l).await;
        let close = l
            .market("SOLUSDT", Side::Buy, "1", true, &format!("close{code}"))
            .await;
        let report =
            l.ex.place_order(&close)
                .await
                .expect("a close goes through");
        assert_eq!(report.status, OrderStatus::Filled);
        assert_eq!(sol_short(&l).await, before + rust_decimal::Decimal::ONE);
        l.clear_faults().await;
    }
    let state = l.state().await;
    for code in ["-4087", "-4400", "-4401"] {
        assert_eq!(state["stats"]["responsesByCode"][code], 1, "{code}");
    }
    l.sim.shutdown().await;
}

#[tokio::test]
async fn opening_blocked_on_one_symbol_refuses_opens_there_only_and_closes_go_on() {
    let l = start(scenario(
        "[[faults]]\nrestrict_to_reduce_only = -4140\nsymbols = [\"SOLUSDT\"]",
        SHORT_SOL,
    ))
    .await;
    let open = l
        .market("SOLUSDT", Side::Sell, "1", false, "open-sol")
        .await;
    let err = l.ex.place_order(&open).await.unwrap_err();
    assert_eq!(
        (err.code, err.class),
        (Some(-4140), ErrorClass::ReduceOnlyRestricted)
    );
    assert_eq!(err.msg, "Invalid symbol status for opening position.");
    let close = l.market("SOLUSDT", Side::Buy, "1", true, "close-sol").await;
    assert_eq!(
        l.ex.place_order(&close).await.unwrap().status,
        OrderStatus::Filled
    );
    let other = l
        .market("BTCUSDT", Side::Buy, "0.01", false, "open-btc")
        .await;
    assert_eq!(
        l.ex.place_order(&other).await.unwrap().status,
        OrderStatus::Filled
    );
    l.sim.shutdown().await;
}

#[tokio::test]
async fn an_me_recv_window_rejection_re_measures_the_clock_and_retries_exactly_once() {
    let l = start(scenario("", SHORT_SOL)).await;
    let close = l.market("SOLUSDT", Side::Buy, "1", true, "me-5028").await;
    // Our offset is 2 s off (still inside recvWindow): only a re-measure corrects it.
    l.ex.rest().clock.set_offset_ms(2_000);
    let before = l.state().await;
    l.fault(json!({ "recv_window_5028": 1.0 })).await;
    let err = l.ex.place_order(&close).await.unwrap_err();
    assert_eq!(
        (err.http_status, err.code, err.class),
        (Some(400), Some(-5028), ErrorClass::ResyncClock)
    );
    let after = l.state().await;
    let sent = |s: &Value| count(s, "POST /fapi/v1/order");
    let timed = |s: &Value| count(s, "GET /fapi/v1/time");
    assert_eq!(sent(&after) - sent(&before), 2, "the order and one retry");
    assert_eq!(timed(&after) - timed(&before), 1, "one re-measure");
    assert!(l.ex.clock_offset_ms().await.unwrap().abs() < 1_000);
    l.sim.shutdown().await;
}

#[tokio::test]
async fn a_429_with_retry_after_holds_every_request_until_the_venue_lifts_the_limit() {
    let l = start(scenario("", SHORT_SOL)).await;
    let first = l.market("SOLUSDT", Side::Buy, "1", true, "t-1").await;
    let second = l.market("SOLUSDT", Side::Buy, "1", true, "t-2").await;
    l.fault(json!({ "throttle_429": 1.0, "until": 1.5 })).await;
    let err = l.ex.place_order(&first).await.unwrap_err();
    assert_eq!(
        (err.http_status, err.code, err.class),
        (Some(429), Some(-1003), ErrorClass::Backoff)
    );
    // Whole seconds, rounded up, until the window closes 1.5 s after it opened.
    let wait = err.retry_after.expect("Retry-After is read");
    assert!((1..=2).contains(&wait.as_secs()), "{wait:?}");
    // Sent at once by the caller; the adapter holds it until Retry-After has passed, so
    // the venue sees it only after the window closed (else it would answer 429 again).
    let report =
        l.ex.place_order(&second)
            .await
            .expect("sent after the limit lifted");
    assert_eq!(report.status, OrderStatus::Filled);
    let state = l.state().await;
    assert_eq!(state["stats"]["responsesByStatus"]["429"], 1);
    assert_eq!(count(&state, "POST /fapi/v1/order"), 2);
    l.sim.shutdown().await;
}

#[tokio::test]
async fn a_symbol_the_venue_does_not_list_is_fatal_and_not_retried() {
    let l = start(scenario("", "")).await;
    let before = count(&l.state().await, "GET /fapi/v1/openOrders");
    let err =
        l.ex.open_orders(Some(&Symbol::new("NOPEUSDT").unwrap()), Purpose::Routine)
            .await
            .unwrap_err();
    assert_eq!(
        (err.http_status, err.code, err.class),
        (Some(400), Some(-1121), ErrorClass::Fatal)
    );
    let after = count(&l.state().await, "GET /fapi/v1/openOrders");
    assert_eq!(after - before, 1, "sent once");
    l.sim.shutdown().await;
}
