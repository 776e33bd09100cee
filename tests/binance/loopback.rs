//! The real adapter against the simulator over loopback: reports, the order lifecycle,
//! one provoked fault per error class, the outcome-unknown protocol, clock resync and the
//! audit trail. The rate limiter's loopback tests are in `binance_ratelimit`.

use serde_json::json;
use sluice::domain::{ClientOrderId, OrderStatus, PositionMode, Side, Symbol, TimeInForce};
use sluice::exchange::Purpose;
use sluice::exchange::{ErrorClass, Exchange, OrderResolution};
use sluice_testkit::adapter::*;

const SHORT_SOL: &str =
    "positions = [ { symbol = \"SOLUSDT\", side = \"SHORT\", quantity = \"500\", entry_price = \"180\" } ]";

#[tokio::test]
async fn exchange_info_and_account_reports_show_what_the_simulator_serves() {
    let l = start(scenario("", SHORT_SOL)).await;
    let sol = Symbol::new("SOLUSDT").unwrap();
    let info = sluice::ops::exchange_info::run(&*l.ex, Some(&sol))
        .await
        .unwrap();
    assert_eq!(info.symbols.len(), 1);
    assert_eq!(
        info.symbols[0].market_lot_size.max_qty,
        rust_decimal_macros::dec!(5000)
    );
    assert_eq!(
        info.symbols[0].lot_size.max_qty,
        rust_decimal_macros::dec!(1000000)
    );
    assert!(info.to_string().contains("SOLUSDT"));
    let missing = Symbol::new("NOPEUSDT").unwrap();
    assert!(sluice::ops::exchange_info::run(&*l.ex, Some(&missing))
        .await
        .is_err());

    let acct = sluice::ops::account::run(&*l.ex).await.unwrap();
    assert!(acct.account.can_trade);
    assert_eq!(acct.account.position_mode, PositionMode::OneWay);
    assert_eq!(
        acct.account.total_wallet_balance,
        rust_decimal_macros::dec!(1000000)
    );
    let short = acct
        .account
        .positions
        .iter()
        .find(|p| p.symbol == sol)
        .expect("SOL short");
    assert_eq!(short.amount, rust_decimal_macros::dec!(-500));
    let json = serde_json::to_value(&acct).unwrap();
    assert_eq!(json["account"]["position_mode"], "one-way");
    assert!(acct.to_string().contains("POSITIONS"));
    l.sim.shutdown().await;
}

#[tokio::test]
async fn a_resting_order_is_placed_resolved_cancelled_and_a_second_cancel_is_a_noop() {
    let l = start(scenario("", "")).await;
    let price = resting_price(&l, "BTCUSDT").await;
    let order = l
        .limit(
            "BTCUSDT",
            Side::Buy,
            "0.01",
            &price,
            TimeInForce::Gtc,
            "rest-1",
        )
        .await;
    let placed = l.ex.place_order(&order).await.unwrap();
    assert_eq!(placed.status, OrderStatus::New);
    let btc = Symbol::new("BTCUSDT").unwrap();
    let id = ClientOrderId::new("rest-1").unwrap();
    match l
        .ex
        .resolve_order(&btc, &id, Purpose::ReduceRisk)
        .await
        .unwrap()
    {
        OrderResolution::Known { order, trades } => {
            assert_eq!(order.order_id, placed.order_id);
            assert!(trades.is_empty());
        }
        other => panic!("expected the order to be known: {other:?}"),
    }
    assert_eq!(
        l.ex.open_orders(Some(&btc), Purpose::Routine)
            .await
            .unwrap()
            .len(),
        1
    );
    let cancelled = l.ex.cancel_order(&btc, &id).await.unwrap();
    assert_eq!(cancelled.status, OrderStatus::Canceled);
    let again = l.ex.cancel_order(&btc, &id).await.unwrap_err();
    assert_eq!((again.code, again.class), (Some(-2011), ErrorClass::Noop));
    l.sim.shutdown().await;
}

#[tokio::test]
async fn every_attempt_is_audited_without_signature_key_or_secret() {
    let l = start(scenario("", "")).await;
    let price = resting_price(&l, "BTCUSDT").await;
    let order = l
        .limit(
            "BTCUSDT",
            Side::Buy,
            "0.01",
            &price,
            TimeInForce::Gtc,
            "audit-1",
        )
        .await;
    l.ex.place_order(&order).await.unwrap();
    let dup = l.ex.place_order(&order).await.unwrap_err();
    assert_eq!(
        dup.class,
        ErrorClass::OutcomeUnknown,
        "-4116 means a live order has that id"
    );
    let rows = l.audit.drain(usize::MAX);
    let state = l.state().await;
    assert_eq!(
        rows.len() as i64,
        state["stats"]["requests"].as_i64().unwrap()
    );
    let orders: Vec<_> = rows.iter().filter(|r| r.is_order).collect();
    assert_eq!(orders.len(), 2);
    assert_eq!(orders[1].error_code, Some(-4116));
    assert_eq!(orders[1].client_order_id.as_deref(), Some("audit-1"));
    assert!(orders[0].exchange_time.is_some());
    for r in &rows {
        assert!(!r.params.contains("signature"), "{}", r.params);
        assert!(!r.params.contains(KEY) && !r.params.contains(SECRET));
    }
    assert!(orders[0].params.contains("timestamp="));
    l.sim.shutdown().await;
}

#[tokio::test]
async fn a_market_order_over_a_hidden_cap_is_classified_shrink_chunk() {
    let l = start(scenario(
        "[[symbols]]\nname = \"SOLUSDT\"\nhidden_market_max_qty = \"400\"",
        SHORT_SOL,
    ))
    .await;
    let close = l
        .market("SOLUSDT", Side::Buy, "500", true, "big-close")
        .await;
    let err = l.ex.place_order(&close).await.unwrap_err();
    assert_eq!(
        (err.code, err.class),
        (Some(-4005), ErrorClass::ShrinkChunk)
    );
    let ok = l.market("SOLUSDT", Side::Buy, "400", true, "chunk-1").await;
    assert_eq!(
        l.ex.place_order(&ok).await.unwrap().status,
        OrderStatus::Filled
    );
    l.sim.shutdown().await;
}

#[tokio::test]
async fn a_mixed_batch_answers_each_order_on_its_own_and_one_minus_4005_leaves_the_rest_filled() {
    let l = start(scenario(
        "[[symbols]]\nname = \"SOLUSDT\"\nhidden_market_max_qty = \"400\"",
        SHORT_SOL,
    ))
    .await;
    let batch = vec![
        l.market("SOLUSDT", Side::Buy, "100", true, "batch-0").await,
        l.market("SOLUSDT", Side::Buy, "450", true, "batch-1").await,
        l.market("SOLUSDT", Side::Buy, "150", true, "batch-2").await,
    ];
    let results =
        l.ex.place_batch(&batch)
            .await
            .expect("the batch is answered");
    assert_eq!(results.len(), 3);
    let first = results[0].as_ref().expect("the first order is accepted");
    assert_eq!(
        (first.client_order_id.as_str(), first.status),
        ("batch-0", OrderStatus::Filled)
    );
    let refused = results[1]
        .as_ref()
        .expect_err("the order over the hidden cap is refused");
    assert_eq!(
        (refused.code, refused.class),
        (Some(-4005), ErrorClass::ShrinkChunk)
    );
    let third = results[2].as_ref().expect("the third order is accepted");
    assert_eq!(
        (third.client_order_id.as_str(), third.status),
        ("batch-2", OrderStatus::Filled)
    );
    let left = l.ex.positions(Purpose::Routine).await.expect("positions");
    let sol = left
        .iter()
        .find(|p| p.symbol.as_str() == "SOLUSDT")
        .expect("SOL leg");
    assert_eq!(
        sol.amount.normalize().to_string(),
        "-250",
        "500 short less 100 and 150"
    );
    // One request on the wire, charged as Binance charges a batch: 5 on the 10 s order
    // counter and 1 on the minute counter, whatever its size; audited as one row per
    // order, each with its own client order id, request and answer.
    let rows = l.audit.drain(usize::MAX);
    let sent: Vec<_> = rows
        .iter()
        .filter(|r| r.endpoint == "/fapi/v1/batchOrders")
        .collect();
    let ids: Vec<_> = sent
        .iter()
        .map(|r| r.client_order_id.as_deref().unwrap_or("none"))
        .collect();
    assert_eq!(ids, ["batch-0", "batch-1", "batch-2"]);
    for r in &sent {
        assert_eq!(r.http_status, Some(200));
        assert_eq!((r.order_count_10s, r.order_count_1m), (Some(5), Some(1)));
        let own = r.client_order_id.as_deref().unwrap_or("none");
        assert!(
            r.params.contains(own),
            "{} carries its own request",
            r.params
        );
        assert!(!r.params.contains("signature") && r.params.contains("timestamp="));
        assert_eq!(
            r.latency_ms, sent[0].latency_ms,
            "the batch's shared latency"
        );
        assert_eq!(r.symbol.as_deref(), Some("SOLUSDT"));
    }
    assert!(!sent[0].params.contains("batch-1"), "only its own element");
    assert_eq!(
        sent.iter().map(|r| r.error_code).collect::<Vec<_>>(),
        [None, Some(-4005), None]
    );
    assert_eq!(sent[1].error_class.as_deref(), Some("shrink_chunk"));
    assert!(sent[0].exchange_time.is_some(), "a placed order's own time");
    l.sim.shutdown().await;
}

#[tokio::test]
async fn a_batch_of_more_than_five_orders_is_refused_before_anything_is_sent() {
    let l = start(scenario("", SHORT_SOL)).await;
    let mut batch = Vec::new();
    for i in 0..6 {
        batch.push(
            l.market("SOLUSDT", Side::Buy, "1", true, &format!("six-{i}"))
                .await,
        );
    }
    let err =
        l.ex.place_batch(&batch)
            .await
            .expect_err("six orders are too many");
    assert!(err.msg.contains("1 to 5"), "{}", err.msg);
    let rows = l.audit.drain(usize::MAX);
    assert!(rows.iter().all(|r| r.endpoint != "/fapi/v1/batchOrders"));
    let empty =
        l.ex.place_batch(&[])
            .await
            .expect_err("an empty batch is refused");
    assert_eq!(empty.class, ErrorClass::Replan);
    l.sim.shutdown().await;
}

/// Provoke one fault on the next order and return the adapter's classification.
async fn class_of(
    l: &Loop,
    window: serde_json::Value,
    reduce: bool,
    id: &str,
) -> (Option<u16>, Option<i64>, ErrorClass) {
    l.fault(window).await;
    let order = if reduce {
        l.market("SOLUSDT", Side::Buy, "1", true, id).await
    } else {
        l.market("SOLUSDT", Side::Sell, "1", false, id).await
    };
    let err = l.ex.place_order(&order).await.unwrap_err();
    l.clear_faults().await;
    (err.http_status, err.code, err.class)
}

#[tokio::test]
async fn each_injected_fault_gets_the_class_the_reference_prescribes() {
    let l = start(scenario("", SHORT_SOL)).await;
    let cases = [
        (json!({"unavailable_503": 1.0}), false, ErrorClass::Retry),
        (json!({"internal_1001": 1.0}), false, ErrorClass::Retry),
        (json!({"overload_1008": 1.0}), false, ErrorClass::Backoff),
        (
            json!({"timeout_1007": 1.0, "executed_share": 0.0}),
            false,
            ErrorClass::OutcomeUnknown,
        ),
        (
            json!({"unknown_503": 1.0, "executed_share": 0.0}),
            false,
            ErrorClass::OutcomeUnknown,
        ),
        (json!({"reject_2010": 1.0}), true, ErrorClass::Replan),
        (json!({"reduce_only_2022": 1.0}), true, ErrorClass::Replan),
        (json!({"reduce_only_4118": 1.0}), true, ErrorClass::Replan),
    ];
    for (i, (window, reduce, want)) in cases.into_iter().enumerate() {
        let (status, code, class) = class_of(&l, window.clone(), reduce, &format!("f-{i}")).await;
        assert_eq!(class, want, "{window}: HTTP {status:?} code {code:?}");
    }
    l.sim.shutdown().await;
}

#[tokio::test]
async fn an_unknown_outcome_is_resolved_by_client_order_id_before_any_resend() {
    let l = start(scenario("", "")).await;
    let price = resting_price(&l, "BTCUSDT").await;
    let btc = Symbol::new("BTCUSDT").unwrap();
    l.fault(json!({"unknown_503": 1.0, "executed_share": 1.0}))
        .await;
    let o = l
        .limit(
            "BTCUSDT",
            Side::Buy,
            "0.01",
            &price,
            TimeInForce::Gtc,
            "maybe-1",
        )
        .await;
    assert!(l.ex.place_order(&o).await.unwrap_err().is_outcome_unknown());
    l.clear_faults().await;
    l.fault(json!({"unknown_503": 1.0, "executed_share": 0.0}))
        .await;
    let o2 = l
        .limit(
            "BTCUSDT",
            Side::Buy,
            "0.01",
            &price,
            TimeInForce::Gtc,
            "maybe-2",
        )
        .await;
    assert!(l
        .ex
        .place_order(&o2)
        .await
        .unwrap_err()
        .is_outcome_unknown());
    l.clear_faults().await;
    let live =
        l.ex.resolve_order(
            &btc,
            &ClientOrderId::new("maybe-1").unwrap(),
            Purpose::ReduceRisk,
        )
        .await
        .unwrap();
    assert!(
        matches!(live, OrderResolution::Known { ref order, .. } if order.status == OrderStatus::New),
        "{live:?}"
    );
    let lost =
        l.ex.resolve_order(
            &btc,
            &ClientOrderId::new("maybe-2").unwrap(),
            Purpose::ReduceRisk,
        )
        .await
        .unwrap();
    assert_eq!(lost, OrderResolution::NotFound);
    l.sim.shutdown().await;
}

#[tokio::test]
async fn a_filled_order_resolves_with_its_trades() {
    let l = start(scenario("", SHORT_SOL)).await;
    l.fault(json!({"unknown_503": 1.0, "executed_share": 1.0}))
        .await;
    let close = l
        .market("SOLUSDT", Side::Buy, "10", true, "close-503")
        .await;
    assert!(l
        .ex
        .place_order(&close)
        .await
        .unwrap_err()
        .is_outcome_unknown());
    l.clear_faults().await;
    let sol = Symbol::new("SOLUSDT").unwrap();
    match l
        .ex
        .resolve_order(
            &sol,
            &ClientOrderId::new("close-503").unwrap(),
            Purpose::ReduceRisk,
        )
        .await
        .unwrap()
    {
        OrderResolution::Known { order, trades } => {
            assert_eq!(order.status, OrderStatus::Filled);
            let filled: rust_decimal::Decimal = trades.iter().map(|t| t.quantity.get()).sum();
            assert_eq!(filled, rust_decimal_macros::dec!(10));
            assert!(trades
                .iter()
                .all(|t| t.client_order_id.as_ref().map(|c| c.as_str()) == Some("close-503")));
        }
        other => panic!("expected a known filled order: {other:?}"),
    }
    l.sim.shutdown().await;
}

#[tokio::test]
async fn a_revoked_key_is_an_auth_error() {
    let l = start(scenario("", "")).await;
    l.admin("POST", &format!("/sim/accounts/{KEY}/revoke"), json!({}))
        .await;
    let err = l.ex.account().await.unwrap_err();
    assert_eq!(
        (err.http_status, err.code, err.class),
        (Some(401), Some(-2015), ErrorClass::Auth)
    );
    l.sim.shutdown().await;
}

#[tokio::test]
async fn a_clock_rejection_re_measures_the_offset_and_retries_once() {
    let l = start(scenario("", "")).await;
    // Pretend our clock is 30 s behind the server's view: timestamps land in the future.
    l.ex.rest().clock.set_offset_ms(-30_000);
    let acct = l.ex.account().await;
    assert!(acct.is_ok(), "{acct:?}");
    assert!(l.ex.clock_offset_ms().await.unwrap().abs() < 5_000);
    let state = l.state().await;
    assert_eq!(state["stats"]["responsesByCode"]["-1021"], 1);
    l.sim.shutdown().await;
}
