//! The user-data stream over loopback: events become domain events, a cut during fills
//! loses nothing (the REST resync recovers every fill), and an expired or invalidated
//! listenKey is rotated and the stream recovers.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::json;
use sluice::domain::{ClientOrderId, OrderStatus, Side, Symbol, TimeInForce};
use sluice::exchange::binance::{AuditBuffer, BinanceFutures, StreamTiming};
use sluice::exchange::Purpose;
use sluice::exchange::{AccountEvent, Exchange};
use sluice_testkit::adapter::*;

const SHORT_SOL: &str =
    "positions = [ { symbol = \"SOLUSDT\", side = \"SHORT\", quantity = \"500\", entry_price = \"180\" } ]";

#[tokio::test]
async fn a_fill_arrives_as_a_fill_event_with_its_client_order_id() {
    let l = start(scenario("", SHORT_SOL)).await;
    let mut rx = l.ex.subscribe_account(&[]).await.unwrap();
    next_event(&mut rx, |e| matches!(e, AccountEvent::Resynced)).await;
    let close = l
        .market("SOLUSDT", Side::Buy, "7", true, "stream-close")
        .await;
    l.ex.place_order(&close).await.unwrap();
    // Binance order: NEW, ACCOUNT_UPDATE, then the TRADE update; collect both kinds.
    let (mut fill, mut amount) = (None, None);
    while fill.is_none() || amount.is_none() {
        match next_event(&mut rx, |_| true).await {
            AccountEvent::Fill(f) => fill = Some(f),
            AccountEvent::Positions { positions, .. } => {
                amount = positions
                    .iter()
                    .find(|p| p.symbol.as_str() == "SOLUSDT")
                    .map(|p| p.amount)
            }
            _ => {}
        }
    }
    let fill = fill.unwrap();
    assert_eq!(fill.client_order_id.unwrap().as_str(), "stream-close");
    assert_eq!(fill.side, Side::Buy);
    assert_eq!(fill.quantity.get(), rust_decimal_macros::dec!(7));
    assert_eq!(amount, Some(rust_decimal_macros::dec!(-493)));
    l.sim.shutdown().await;
}

#[tokio::test]
async fn every_fill_made_while_the_stream_was_cut_is_recovered_by_the_resync() {
    let l = start(scenario("", SHORT_SOL)).await;
    // A slow reconnect, so the fills certainly happen while no socket is open.
    let timing = StreamTiming {
        min_backoff: Duration::from_secs(2),
        max_backoff: Duration::from_secs(2),
        ..fast_timing()
    };
    let ex = BinanceFutures::connect_with(config(&l.sim), AuditBuffer::new(1000), timing)
        .await
        .unwrap();
    let mut rx = ex.subscribe_account(&[]).await.unwrap();
    next_event(&mut rx, |e| matches!(e, AccountEvent::Resynced)).await;
    l.fault(json!({"disconnect_sockets": true, "endpoints": ["GET /fapi/v1/ping"]}))
        .await;
    next_event(&mut rx, |e| matches!(e, AccountEvent::Disconnected { .. })).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let close = l
            .market("SOLUSDT", Side::Buy, "5", true, &format!("gap-{i}"))
            .await;
        ids.push(ex.place_order(&close).await.unwrap().order_id);
    }
    l.clear_faults().await;
    let mut recovered = BTreeSet::new();
    loop {
        match next_event(&mut rx, |_| true).await {
            AccountEvent::Fill(f) if ids.contains(&f.order_id) => {
                recovered.insert(f.trade_id);
            }
            AccountEvent::Resynced => break,
            _ => {}
        }
    }
    let sol = Symbol::new("SOLUSDT").unwrap();
    let truth: BTreeSet<i64> = ex
        .user_trades(&sol, None)
        .await
        .unwrap()
        .into_iter()
        .filter(|t| ids.contains(&t.order_id))
        .map(|t| t.trade_id)
        .collect();
    assert!(!truth.is_empty());
    assert_eq!(
        recovered, truth,
        "every fill of the gap came back before Resynced"
    );
    l.sim.shutdown().await;
}

#[tokio::test]
async fn an_invalidated_listen_key_is_replaced_and_the_stream_recovers() {
    let l = start(scenario("", SHORT_SOL)).await;
    let timing = StreamTiming {
        keepalive: Duration::from_millis(300),
        ..fast_timing()
    };
    let ex = BinanceFutures::connect_with(config(&l.sim), AuditBuffer::new(1000), timing)
        .await
        .unwrap();
    let mut rx = ex.subscribe_account(&[]).await.unwrap();
    next_event(&mut rx, |e| matches!(e, AccountEvent::Resynced)).await;
    l.fault(json!({"invalidate_listen_keys": true, "endpoints": ["GET /fapi/v1/ping"]}))
        .await;
    // The venue may close the socket of a dead key before our keepalive sees -1125.
    next_event(&mut rx, |e| matches!(e, AccountEvent::Disconnected { .. })).await;
    next_event(&mut rx, |e| matches!(e, AccountEvent::Resynced)).await;
    let keys = l.state().await["stats"]["requestsByEndpoint"]["POST /fapi/v1/listenKey"].as_i64();
    assert!(keys >= Some(2), "a new listenKey was created: {keys:?}");
    let close = l
        .market("SOLUSDT", Side::Buy, "3", true, "after-rotate")
        .await;
    ex.place_order(&close).await.unwrap();
    let ev = next_event(&mut rx, |e| matches!(e, AccountEvent::Fill(_))).await;
    assert!(
        matches!(&ev, AccountEvent::Fill(f) if f.client_order_id.as_ref().map(|c| c.as_str()) == Some("after-rotate")),
        "{ev:?}"
    );
    l.sim.shutdown().await;
}

#[tokio::test]
async fn an_expired_listen_key_in_scaled_time_rotates_and_the_stream_recovers() {
    // 600x: the 60-minute listenKey lives 6 real seconds; our keepalive (30 min real) never runs.
    let l = start(scenario("time_scale = 600.0", SHORT_SOL)).await;
    let mut rx = l.ex.subscribe_account(&[]).await.unwrap();
    next_event(&mut rx, |e| matches!(e, AccountEvent::Resynced)).await;
    let down = next_event(&mut rx, |e| matches!(e, AccountEvent::Disconnected { .. })).await;
    assert!(format!("{down:?}").contains("listenKeyExpired"), "{down:?}");
    next_event(&mut rx, |e| matches!(e, AccountEvent::Resynced)).await;
    let close = l
        .market("SOLUSDT", Side::Buy, "2", true, "after-expiry")
        .await;
    l.ex.place_order(&close).await.unwrap();
    let ev = next_event(&mut rx, |e| matches!(e, AccountEvent::Fill(_))).await;
    assert!(
        matches!(&ev, AccountEvent::Fill(f) if f.client_order_id.as_ref().map(|c| c.as_str()) == Some("after-expiry")),
        "{ev:?}"
    );
    l.sim.shutdown().await;
}

#[tokio::test]
async fn the_mark_price_comes_from_the_stream_once_it_runs() {
    let l = start(scenario("", "")).await;
    let sol = Symbol::new("SOLUSDT").unwrap();
    let first = l.ex.mark_price(&sol, Purpose::Routine).await.unwrap();
    assert_eq!(first.symbol, sol);
    let before = l.state().await["stats"]["requestsByEndpoint"]["GET /fapi/v1/premiumIndex"]
        .as_i64()
        .unwrap();
    // Let the stream deliver (1 s cadence), then ask again: no new REST call is needed.
    let mut served_from_stream = false;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        l.ex.mark_price(&sol, Purpose::Routine).await.unwrap();
        let now = l.state().await["stats"]["requestsByEndpoint"]["GET /fapi/v1/premiumIndex"]
            .as_i64()
            .unwrap();
        if now == before {
            served_from_stream = true;
            break;
        }
    }
    assert!(served_from_stream);
    l.sim.shutdown().await;
}

#[tokio::test]
async fn the_connection_is_recycled_before_its_age_cap_and_resyncs() {
    let l = start(scenario("", "")).await;
    let timing = StreamTiming {
        max_connection_age: Duration::from_millis(500),
        ..fast_timing()
    };
    let ex = BinanceFutures::connect_with(config(&l.sim), AuditBuffer::new(1000), timing)
        .await
        .unwrap();
    let mut rx = ex.subscribe_account(&[]).await.unwrap();
    next_event(&mut rx, |e| matches!(e, AccountEvent::Resynced)).await;
    let down = next_event(&mut rx, |e| matches!(e, AccountEvent::Disconnected { .. })).await;
    assert!(format!("{down:?}").contains("age cap"), "{down:?}");
    next_event(&mut rx, |e| matches!(e, AccountEvent::Resynced)).await;
    l.sim.shutdown().await;
}

/// docs/binance-fapi.md §0: only the query form delivers user data. Every fill of three
/// closes (one of them crossing book levels, so several trades) arrives on the stream
/// itself — no reconnect, hence no REST resync, happens in between — and the simulator
/// saw no socket on the retired path form.
#[tokio::test]
async fn every_fill_arrives_on_the_query_form_stream_without_a_resync() {
    let big_short = SHORT_SOL.replace("\"500\"", "\"2000\"");
    let l = start(scenario("", &big_short)).await;
    let mut rx = l.ex.subscribe_account(&[]).await.unwrap();
    next_event(&mut rx, |e| matches!(e, AccountEvent::Resynced)).await;
    let mut ids = Vec::new();
    for (i, qty) in ["5", "7", "1200"].iter().enumerate() {
        let close = l
            .market("SOLUSDT", Side::Buy, qty, true, &format!("q-form-{i}"))
            .await;
        ids.push(l.ex.place_order(&close).await.unwrap().order_id);
    }
    let sol = Symbol::new("SOLUSDT").unwrap();
    let truth: BTreeSet<i64> =
        l.ex.user_trades(&sol, None)
            .await
            .unwrap()
            .into_iter()
            .filter(|t| ids.contains(&t.order_id))
            .map(|t| t.trade_id)
            .collect();
    assert!(
        truth.len() > ids.len(),
        "the big close crossed levels: {truth:?}"
    );
    let mut streamed = BTreeSet::new();
    while streamed != truth {
        match next_event(&mut rx, |_| true).await {
            AccountEvent::Fill(f) if ids.contains(&f.order_id) => {
                streamed.insert(f.trade_id);
            }
            AccountEvent::Disconnected { reason } => panic!("stream dropped: {reason}"),
            AccountEvent::Resynced => panic!("a resync, not the stream, delivered fills"),
            _ => {}
        }
    }
    assert_eq!(streamed.len(), truth.len());
    assert_eq!(l.state().await["stats"]["silentUserSockets"], 0);
    l.sim.shutdown().await;
}

/// At start the caller names the orders that may be live (the daemon: the ledger's
/// non-terminal ones). The first resync asks about them and reads the open orders of their
/// symbol only, never every symbol's (IP weight 40), and the fill of one that filled before
/// the stream existed arrives naming its client order id.
#[tokio::test]
async fn the_first_resync_asks_about_the_orders_named_at_subscription_and_reads_no_unscoped_open_orders(
) {
    // Arrange: two orders sent before this adapter's stream existed (by another adapter,
    // as by the daemon before a restart): a close that filled and a resting buy.
    let l = start(scenario("", SHORT_SOL)).await;
    let earlier =
        BinanceFutures::connect_with(config(&l.sim), AuditBuffer::new(1000), fast_timing())
            .await
            .unwrap();
    let filled = l
        .market("SOLUSDT", Side::Buy, "3", true, "named-filled")
        .await;
    let filled_id = earlier.place_order(&filled).await.unwrap().order_id;
    let price = resting_price(&l, "SOLUSDT").await;
    let resting = l
        .limit(
            "SOLUSDT",
            Side::Buy,
            "1",
            &price,
            TimeInForce::Gtc,
            "named-resting",
        )
        .await;
    earlier.place_order(&resting).await.unwrap();
    l.audit.drain(usize::MAX);
    let sol = Symbol::new("SOLUSDT").unwrap();
    let named: Vec<(Symbol, ClientOrderId)> = ["named-filled", "named-resting"]
        .iter()
        .map(|id| (sol.clone(), ClientOrderId::new(id).unwrap()))
        .collect();

    // Act: subscribe naming them; collect what the first resync reports.
    let mut rx = l.ex.subscribe_account(&named).await.unwrap();
    let (mut fills, mut orders) = (Vec::new(), Vec::new());
    loop {
        match next_event(&mut rx, |_| true).await {
            AccountEvent::Resynced => break,
            AccountEvent::Fill(f) => fills.push(f),
            AccountEvent::Order(o) => orders.push((o.client_order_id, o.status)),
            _ => {}
        }
    }

    // Assert: both orders reported, the fill names its order, one scoped openOrders read.
    assert!(
        orders.contains(&("named-filled".into(), OrderStatus::Filled)),
        "{orders:?}"
    );
    assert!(
        orders.contains(&("named-resting".into(), OrderStatus::New)),
        "{orders:?}"
    );
    let fill = fills
        .iter()
        .find(|f| f.order_id == filled_id)
        .expect("the filled order's trade");
    assert_eq!(
        fill.client_order_id.as_ref().map(|c| c.as_str()),
        Some("named-filled")
    );
    let open_reads: Vec<Option<String>> = l
        .audit
        .drain(usize::MAX)
        .into_iter()
        .filter(|r| r.endpoint == "/fapi/v1/openOrders")
        .map(|r| r.symbol)
        .collect();
    assert_eq!(open_reads, [Some("SOLUSDT".to_string())]);
    l.sim.shutdown().await;
}
