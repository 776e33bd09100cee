//! The adapter's rate limiter over loopback against the simulator's limiter: a burst that
//! must wait and never draw a 429, a binding order limit whose venue windows are filled
//! exactly to the limit, and a 418 ban honoured without sending.

use std::sync::Arc;

use secrecy::SecretString;
use sluice::domain::{Side, TimeInForce};
use sluice::exchange::binance::{AuditBuffer, BinanceFutures, SharedIp, Signer};
use sluice::exchange::Purpose;
use sluice::exchange::{ErrorClass, Exchange};
use sluice_testkit::account::start_sim;
use sluice_testkit::adapter::*;

const SHORT_SOL: &str =
    "positions = [ { symbol = \"SOLUSDT\", side = \"SHORT\", quantity = \"500\", entry_price = \"180\" } ]";

#[tokio::test]
async fn a_burst_of_1000_orders_waits_for_the_budget_and_never_draws_a_429() {
    let l = start(scenario(
        "[rate_limits]\norders_per_10s = 1000\norders_per_minute = 6000",
        "",
    ))
    .await;
    let price = resting_price(&l, "DOGEUSDT").await;
    let rules = l.rules("DOGEUSDT").await;
    let qty = (rules.min_notional / price.parse::<rust_decimal::Decimal>().unwrap()).ceil()
        + rust_decimal::Decimal::ONE;
    let mut orders = Vec::new();
    for i in 0..1000 {
        orders.push(
            l.limit(
                "DOGEUSDT",
                Side::Buy,
                &qty.to_string(),
                &price,
                TimeInForce::Ioc,
                &format!("burst-{i}"),
            )
            .await,
        );
    }
    let orders = Arc::new(orders);
    let mut tasks = Vec::new();
    for w in 0..16 {
        let (ex, orders) = (l.ex.clone(), orders.clone());
        tasks.push(tokio::spawn(async move {
            let mut ok = 0;
            for o in orders.iter().skip(w).step_by(16) {
                ex.place_order(o)
                    .await
                    .expect("no order of the burst fails");
                ok += 1;
            }
            ok
        }));
    }
    let mut sent = 0;
    for t in tasks {
        sent += t.await.unwrap();
    }
    assert_eq!(sent, 1000);
    let state = l.state().await;
    assert!(
        state["stats"]["responsesByStatus"].get("429").is_none(),
        "{}",
        state["stats"]
    );
    assert_eq!(
        state["stats"]["requestsByEndpoint"]["POST /fapi/v1/order"],
        1000
    );
    l.sim.shutdown().await;
}

/// The venue's order limit binds (20 per 10 s): the limiter must fill each venue window
/// to the limit (its view equals the venue's) and never over it.
#[tokio::test]
async fn under_a_binding_order_limit_each_venue_window_is_filled_exactly_to_its_limit() {
    let l = start(scenario("[rate_limits]\norders_per_10s = 20", SHORT_SOL)).await;
    let mut closes = Vec::new();
    for i in 0..50 {
        closes.push(
            l.market("SOLUSDT", Side::Buy, "1", true, &format!("bind-{i}"))
                .await,
        );
    }
    let closes = Arc::new(closes);
    let mut tasks = Vec::new();
    for w in 0..8 {
        let (ex, closes) = (l.ex.clone(), closes.clone());
        tasks.push(tokio::spawn(async move {
            for o in closes.iter().skip(w).step_by(8) {
                ex.place_order(o)
                    .await
                    .expect("no close of the burst fails");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let counts: Vec<i64> = l
        .audit
        .drain(usize::MAX)
        .iter()
        .filter(|r| r.is_order)
        .filter_map(|r| r.order_count_10s)
        .collect();
    assert_eq!(counts.len(), 50);
    assert_eq!(
        counts.iter().max(),
        Some(&20),
        "a full venue window: {counts:?}"
    );
    let state = l.state().await;
    assert!(
        state["stats"]["responsesByStatus"].get("429").is_none(),
        "{}",
        state["stats"]
    );
    l.sim.shutdown().await;
}

#[tokio::test]
async fn a_418_ban_stops_every_request_until_it_ends() {
    let l = start(scenario(
        "[rate_limits]\nrequest_weight_per_minute = 60\nban_seconds = 600",
        "",
    ))
    .await;
    // Another client on the same IP burns the weight and keeps going through the 429.
    let url = format!("{}/fapi/v1/exchangeInfo", l.sim.base_url());
    let mut saw_418 = false;
    for _ in 0..200 {
        if l.http.get(&url).send().await.unwrap().status().as_u16() == 418 {
            saw_418 = true;
            break;
        }
    }
    assert!(saw_418, "the simulator should have banned the IP");
    let first = l.ex.symbol_rules(Purpose::Routine).await.unwrap_err();
    assert_eq!(first.class, ErrorClass::Banned);
    assert!(first.retry_after.is_some());
    let before = l.state().await["stats"]["requests"].as_i64().unwrap();
    let second = l.ex.positions(Purpose::Routine).await.unwrap_err();
    assert_eq!(
        (second.class, second.http_status),
        (ErrorClass::Banned, None),
        "refused locally"
    );
    let after = l.state().await["stats"]["requests"].as_i64().unwrap();
    assert_eq!(after, before, "nothing was sent during the ban");
    l.sim.shutdown().await;
}

/// Two accounts served from one host: their limiters share the IP's weight, so reads of
/// both, sent at once and worth more than a minute's weight together, wait for the next
/// venue minute instead of drawing a 429.
#[tokio::test]
async fn two_accounts_on_one_ip_share_its_weight_and_never_draw_a_429() {
    let second = "[[accounts]]\napi_key = \"secondKey1\"\napi_secret = \"secondSecret1\"\nusdt = \"1000000\"";
    let sim = start_sim(scenario(
        &format!("[rate_limits]\nrequest_weight_per_minute = 60\n{second}"),
        "",
    ))
    .await;
    let ip = SharedIp::new();
    let mut first_cfg = config(&sim);
    first_cfg.shared_ip = Some(ip.clone());
    let mut second_cfg = config(&sim);
    second_cfg.api_key = "secondKey1".into();
    second_cfg.signer = Signer::new(SecretString::from("secondSecret1".to_string()));
    second_cfg.shared_ip = Some(ip);
    let other = BinanceFutures::connect_with(second_cfg, AuditBuffer::new(1000), fast_timing())
        .await
        .expect("the second account connects");
    let l = start_with(sim, first_cfg).await;

    let mut reads = Vec::new();
    for i in 0..16 {
        let ex: Arc<BinanceFutures> = if i % 2 == 0 {
            l.ex.clone()
        } else {
            other.clone()
        };
        reads.push(tokio::spawn(async move {
            ex.positions(Purpose::Routine).await.map(|_| ())
        }));
    }
    for r in reads {
        r.await.unwrap().expect("every read is answered");
    }

    let state = l.state().await;
    assert!(
        state["stats"]["responsesByStatus"].get("429").is_none(),
        "{}",
        state["stats"]
    );
    l.sim.shutdown().await;
}
