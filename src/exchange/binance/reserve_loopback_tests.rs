//! What each request is booked as, through the real client against the simulator: an
//! adapter whose IP share keeps ALL of its weight for risk-reducing requests refuses every
//! routine request at once (it could never fit, and nothing is sent) and sends every
//! risk-reducing one. That makes the declared purpose of each read visible without waiting
//! for a venue minute to fill.

use std::sync::Arc;

use rust_decimal::Decimal;
use serde_json::Value;
use url::Url;

use super::ratelimit::{Budget, IpShare};
use super::*;
use crate::domain::{validate, OrderType, PositionSide, Qty, Side};
use crate::exchange::ErrorClass;

/// The simulator, with a SHORT 500 SOLUSDT on the test account.
async fn sim() -> sluice_sim::SimHandle {
    let text = format!(
        "[[accounts]]\napi_key = \"{}\"\napi_secret = \"{}\"\nusdt = \"1000000\"\n\
         positions = [ {{ symbol = \"SOLUSDT\", side = \"SHORT\", quantity = \"500\", entry_price = \"180\" }} ]\n",
        sluice_sim::DEMO_API_KEY,
        sluice_sim::DEMO_API_SECRET,
    );
    let scenario = sluice_sim::Scenario::from_toml_str(&text).expect("scenario");
    sluice_sim::spawn(scenario, "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("simulator")
}

pub(crate) fn config(sim: &sluice_sim::SimHandle) -> BinanceConfig {
    BinanceConfig::new(
        Url::parse(&sim.base_url()).expect("url"),
        Url::parse(&sim.ws_url()).expect("url"),
        sluice_sim::DEMO_API_KEY.to_string(),
        secrecy::SecretString::from(sluice_sim::DEMO_API_SECRET.to_string()),
    )
}

/// Requests the simulator has answered so far.
pub(crate) async fn requests(sim: &sluice_sim::SimHandle) -> i64 {
    let state: Value = reqwest::get(format!("{}/sim/state", sim.base_url()))
        .await
        .expect("GET /sim/state")
        .json()
        .await
        .expect("JSON");
    state["stats"]["requests"].as_i64().expect("request count")
}

/// An adapter on `cfg` whose IP share keeps every unit of weight for risk-reducing
/// requests, with the clock offset `normal` measured (its own measure would be routine).
fn all_reserved(cfg: &BinanceConfig, normal: &BinanceFutures) -> BinanceFutures {
    sharing(
        cfg,
        normal,
        IpShare::keeping(Budget::default(), Decimal::ONE),
    )
}

/// An adapter on `cfg` with its own IP share `ip`, with the clock offset `normal` measured.
pub(crate) fn sharing(
    cfg: &BinanceConfig,
    normal: &BinanceFutures,
    ip: Arc<IpShare>,
) -> BinanceFutures {
    let mut cfg = cfg.clone();
    cfg.shared_ip = Some(SharedIp(ip));
    let rest = RestClient::new(&cfg, AuditBuffer::new(1000)).expect("client");
    rest.clock.set_offset_ms(normal.rest.clock.offset_ms());
    BinanceFutures {
        cfg,
        rest: Arc::new(rest),
        tracker: Arc::new(Tracker::default()),
        marks: Arc::new(MarkCache::default()),
        timing: StreamTiming::default(),
        reopen: Arc::new(tokio::sync::Notify::new()),
        ws: None,
    }
}

fn refused_locally(result: Result<impl std::fmt::Debug, ExchangeError>, what: &str) {
    let e = result.expect_err(what);
    assert_eq!(
        (e.class, e.http_status),
        (ErrorClass::Fatal, None),
        "{what}: {e}"
    );
}

#[tokio::test]
async fn a_closes_resolution_reads_are_booked_as_risk_reducing_and_start_up_reads_are_not() {
    // Arrange: a close of 5 SOLUSDT filled through a normal adapter.
    let sim = sim().await;
    let cfg = config(&sim);
    let normal = BinanceFutures::connect(cfg.clone(), AuditBuffer::new(1000))
        .await
        .expect("connects");
    let sol = Symbol::new("SOLUSDT").expect("symbol");
    let rules = normal
        .symbol_rules(Purpose::Routine)
        .await
        .expect("rules")
        .into_iter()
        .find(|r| r.symbol == sol)
        .expect("listed");
    let mark = normal
        .mark_price(&sol, Purpose::Routine)
        .await
        .expect("mark")
        .mark_price;
    let id = ClientOrderId::new("reserve-close-1").expect("id");
    let close = OrderRequest {
        symbol: sol.clone(),
        side: Side::Buy,
        position_side: PositionSide::Both,
        order_type: OrderType::Market,
        quantity: Qty::parse("q", "5").expect("qty"),
        price: None,
        time_in_force: None,
        reduce_only: true,
        client_order_id: id.clone(),
        price_match: None,
        good_till_date: None,
    };
    let close = validate(&rules, close, mark).expect("passes filters");
    normal.place_order(&close).await.expect("close placed");
    let ex = all_reserved(&cfg, &normal);

    // Act + assert: what a close needs goes.
    match ex.resolve_order(&sol, &id, Purpose::ReduceRisk).await {
        Ok(OrderResolution::Known { order, trades }) => {
            assert_eq!(order.executed_qty, Qty::parse("q", "5").expect("qty"));
            assert!(!trades.is_empty(), "its trades were read too");
        }
        other => panic!("the close's resolution: {other:?}"),
    }
    let many = ex
        .resolve_orders(
            &sol,
            std::slice::from_ref(&id),
            chrono::Utc::now(),
            Purpose::ReduceRisk,
        )
        .await;
    assert!(
        matches!(many[..], [Ok(OrderResolution::Known { .. })]),
        "{many:?}"
    );
    ex.positions(Purpose::ReduceRisk)
        .await
        .expect("a close's position re-read");
    ex.open_orders(Some(&sol), Purpose::ReduceRisk)
        .await
        .expect("a flatten's open orders of its symbol");
    ex.ping(Purpose::ReduceRisk)
        .await
        .expect("the outage probe a parked close waits on");
    let cancel = ex
        .cancel_order(&sol, &ClientOrderId::new("never-sent").expect("id"))
        .await
        .expect_err("nothing to cancel");
    assert_eq!(cancel.code, Some(-2011), "the venue answered the cancel");

    // ... and nothing routine is sent, whatever its path.
    let before = requests(&sim).await;
    refused_locally(
        ex.resolve_order(&sol, &id, Purpose::Routine).await,
        "reconcile's resolution",
    );
    refused_locally(
        ex.positions(Purpose::Routine).await,
        "reconcile's positions",
    );
    refused_locally(
        ex.open_orders(None, Purpose::Routine).await,
        "an unscoped openOrders",
    );
    refused_locally(ex.user_trades(&sol, None).await, "reconcile's trades");
    refused_locally(ex.ping(Purpose::Routine).await, "preflight's ping");
    refused_locally(ex.symbol_rules(Purpose::Routine).await, "exchangeInfo");
    refused_locally(ex.position_mode().await, "accountConfig");
    refused_locally(
        ex.trading_status(Purpose::Routine).await,
        "apiTradingStatus",
    );
    refused_locally(ex.leverage_brackets(&sol).await, "leverage brackets");
    refused_locally(ex.open_algo_orders().await, "the protective comparison");
    refused_locally(
        ex.countdown_cancel_all(&sol, std::time::Duration::from_secs(60))
            .await,
        "the dead-man's switch",
    );
    refused_locally(
        ex.rest.sync_clock(Purpose::Routine).await,
        "a clock re-measure",
    );
    assert_eq!(
        requests(&sim).await,
        before,
        "nothing routine reached the venue"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn the_reads_a_close_waits_on_go_from_the_reserve_and_their_routine_callers_are_held() {
    // Arrange: a stop protecting the SHORT, placed through a normal adapter.
    let sim = sim().await;
    let cfg = config(&sim);
    let normal = BinanceFutures::connect(cfg.clone(), AuditBuffer::new(1000))
        .await
        .expect("connects");
    let sol = Symbol::new("SOLUSDT").expect("symbol");
    let mark = normal
        .mark_price(&sol, Purpose::Routine)
        .await
        .expect("mark")
        .mark_price
        .get();
    let stop = crate::exchange::AlgoOrderRequest {
        symbol: sol.clone(),
        side: Side::Buy,
        position_side: PositionSide::Both,
        kind: crate::exchange::ProtectionKind::StopLoss,
        trigger_price: crate::domain::Price::new("trigger", (mark * Decimal::TWO).round_dp(2))
            .expect("price"),
        working_type: crate::exchange::WorkingType::Mark,
        quantity: None,
        client_algo_id: "slp1g1".to_string(),
    };
    normal.place_algo_order(&stop).await.expect("stop placed");
    let ex = all_reserved(&cfg, &normal);

    // Act + assert: a fired stop's re-read, a close's rules reload after a filter
    // refusal and the key-loss probe go out with the routine share spent...
    let found = ex
        .algo_order("slp1g1", Purpose::ReduceRisk)
        .await
        .expect("a fired stop's re-read")
        .expect("the venue knows the stop");
    assert_eq!(found.client_algo_id, "slp1g1");
    let rules = ex
        .symbol_rules(Purpose::ReduceRisk)
        .await
        .expect("a close's rules reload");
    assert!(rules.iter().any(|r| r.symbol == sol), "SOLUSDT is listed");
    ex.trading_status(Purpose::ReduceRisk)
        .await
        .expect("apiTradingStatus for the key-loss probe");
    ex.reauthenticate(Some(&sol), Purpose::ReduceRisk)
        .await
        .expect("the key-loss probe");

    // ... while a routine caller of each is held, and nothing of theirs is sent.
    let before = requests(&sim).await;
    refused_locally(
        ex.algo_order("slp1g1", Purpose::Routine).await,
        "reconcile's algo-order look-up",
    );
    refused_locally(
        ex.symbol_rules(Purpose::Routine).await,
        "a start's or preflight's exchangeInfo",
    );
    refused_locally(
        ex.trading_status(Purpose::Routine).await,
        "preflight's apiTradingStatus",
    );
    refused_locally(
        ex.reauthenticate(Some(&sol), Purpose::Routine).await,
        "a routine re-authentication",
    );
    assert_eq!(
        requests(&sim).await,
        before,
        "nothing routine reached the venue"
    );
    sim.shutdown().await;
}

/// The request weight the simulator has admitted from this machine so far, over all
/// minute windows (its per-IP total).
async fn venue_weight(sim: &sluice_sim::SimHandle) -> i64 {
    let state: Value = reqwest::get(format!("{}/sim/state", sim.base_url()))
        .await
        .expect("GET /sim/state")
        .json()
        .await
        .expect("JSON");
    state["rateLimits"]["ips"]
        .as_array()
        .expect("per-IP weights")
        .iter()
        .map(|ip| ip["totalWeight"].as_i64().expect("total weight"))
        .sum()
}

#[tokio::test]
async fn the_key_loss_probe_names_a_symbol_so_it_costs_one_unit_of_weight_not_ten() {
    // Arrange
    let sim = sim().await;
    let cfg = config(&sim);
    let normal = BinanceFutures::connect(cfg.clone(), AuditBuffer::new(1000))
        .await
        .expect("connects");
    let sol = Symbol::new("SOLUSDT").expect("symbol");

    // Act + assert: the venue counts 1 for the probe naming a symbol, 10 without one.
    let before = venue_weight(&sim).await;
    normal
        .reauthenticate(Some(&sol), Purpose::ReduceRisk)
        .await
        .expect("the probe naming SOLUSDT");
    assert_eq!(
        venue_weight(&sim).await - before,
        1,
        "scoped probe's weight"
    );
    let before = venue_weight(&sim).await;
    normal
        .reauthenticate(None, Purpose::ReduceRisk)
        .await
        .expect("the unscoped probe");
    assert_eq!(
        venue_weight(&sim).await - before,
        10,
        "unscoped probe's weight"
    );

    // ... and the adapter books the same: with a minute of 5 units in all, the unscoped
    // probe can never fit (refused, nothing sent) while the scoped one goes.
    let small = sharing(
        &cfg,
        &normal,
        IpShare::keeping(
            Budget {
                weight_1m: 5,
                ..Budget::default()
            },
            Decimal::ZERO,
        ),
    );
    let before = requests(&sim).await;
    refused_locally(
        small.reauthenticate(None, Purpose::ReduceRisk).await,
        "the unscoped probe in a 5-unit minute",
    );
    assert_eq!(
        requests(&sim).await,
        before,
        "the unscoped probe was not sent"
    );
    small
        .reauthenticate(Some(&sol), Purpose::ReduceRisk)
        .await
        .expect("the scoped probe fits a 5-unit minute");
    assert_eq!(
        requests(&sim).await,
        before + 1,
        "the scoped probe was sent"
    );
    sim.shutdown().await;
}

/// An open position of `quantity` on `symbol`, as the ledger would hand it to the API.
fn position(symbol: &Symbol, quantity: Decimal) -> crate::ledger::PositionRow {
    let q = Qty::new("quantity", quantity).expect("qty");
    let now = chrono::Utc::now();
    crate::ledger::PositionRow {
        id: crate::ledger::PositionId(7),
        venue: "binance-usdm".into(),
        symbol: symbol.clone(),
        direction: crate::domain::Direction::Short,
        position_side: PositionSide::Both,
        status: crate::ledger::PositionStatus::Open,
        quantity: q,
        entry_price: Decimal::from(180),
        initial_quantity: Qty::ZERO,
        opened_quantity: q,
        closed_quantity: Qty::ZERO,
        exit_price: None,
        realized_pnl: Decimal::ZERO,
        origin: crate::ledger::Origin::Sluice,
        opened_at: now,
        closed_at: None,
        updated_at: now,
    }
}

#[tokio::test]
async fn the_apis_size_check_of_a_close_reads_the_rules_from_the_reserve_and_an_opens_does_not() {
    // Arrange: the API's rules cache, empty, over an adapter whose routine share is spent;
    // a position smaller than SOLUSDT's MARKET_LOT_SIZE.minQty (the size check refuses its
    // close whenever the rules are read).
    let sim = sim().await;
    let cfg = config(&sim);
    let normal = BinanceFutures::connect(cfg.clone(), AuditBuffer::new(1000))
        .await
        .expect("connects");
    let sol = Symbol::new("SOLUSDT").expect("symbol");
    let min_qty = normal
        .symbol_rules(Purpose::Routine)
        .await
        .expect("rules")
        .into_iter()
        .find(|r| r.symbol == sol)
        .expect("listed")
        .market_lot_size
        .min_qty;
    let tiny = min_qty / Decimal::TWO;
    let prices = crate::api::ExchangeMarkPrices::new(Arc::new(all_reserved(&cfg, &normal)));
    let before = requests(&sim).await;

    // Act + assert: an open's rules read is routine: held, nothing sent, so the API's
    // size check is skipped (the executor still refuses the size)...
    let open = crate::api::sizes::check_open(
        Some(&prices),
        &sol,
        crate::domain::OpenSize::Quantity(Qty::new("quantity", tiny).expect("qty")),
        Some(crate::domain::Price::new("mark", Decimal::from(180)).expect("price")),
    )
    .await;
    assert!(open.is_ok(), "{:?}", open.err().map(|e| e.body.reason));
    assert_eq!(requests(&sim).await, before, "the open's read was not sent");

    // ... while a close's goes from the reserve and its size check refuses the close,
    // naming the field.
    let close = crate::api::sizes::check_reduce(Some(&prices), &position(&sol, tiny), None)
        .await
        .expect_err("a close below minQty is refused at the door");
    assert_eq!(
        close.body.field.as_deref(),
        Some("quantity"),
        "{}",
        close.body.reason
    );
    assert_eq!(
        requests(&sim).await,
        before + 1,
        "the close's exchangeInfo was sent"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn the_apis_price_band_mark_of_a_limit_close_is_read_from_the_reserve_and_an_opens_is_not() {
    use crate::api::MarkPrices as _;
    // Arrange: the API's prices over an adapter whose routine share is spent and whose
    // market stream never connects (its WebSocket host refuses), so every mark is a REST
    // premiumIndex read; the rules already cached (read as a close would). A LIMIT BUY of
    // SOLUSDT at twice the mark is outside PERCENT_PRICE whenever the mark is read.
    let sim = sim().await;
    let cfg = config(&sim);
    let normal = BinanceFutures::connect(cfg.clone(), AuditBuffer::new(1000))
        .await
        .expect("connects");
    let sol = Symbol::new("SOLUSDT").expect("symbol");
    let mark = normal
        .mark_price(&sol, Purpose::Routine)
        .await
        .expect("mark")
        .mark_price
        .get();
    let mut no_stream = cfg.clone();
    no_stream.ws_url = Url::parse("ws://127.0.0.1:1").expect("url");
    let prices = crate::api::ExchangeMarkPrices::new(Arc::new(all_reserved(&no_stream, &normal)));
    prices
        .symbol_rules(&sol, Purpose::ReduceRisk)
        .await
        .expect("the rules, read from the reserve");
    let far = crate::domain::LimitTerms {
        price: crate::domain::limit::LimitPrice::Fixed(
            crate::domain::Price::new("price", (mark * Decimal::TWO).round_dp(2)).expect("price"),
        ),
        time_in_force: crate::domain::limit::LimitTif::Gtc,
    };
    let before = requests(&sim).await;

    // Act + assert: an open's mark read is routine: held, nothing sent, so the API's
    // price check is skipped (the executor still refuses the price)...
    let open = crate::api::limit_checks::check_limit(
        Some(&prices),
        &sol,
        Side::Buy,
        &far,
        Purpose::Routine,
    )
    .await;
    assert!(open.is_ok(), "{:?}", open.err().map(|e| e.body.reason));
    assert_eq!(
        requests(&sim).await,
        before,
        "the open's mark read was not sent"
    );

    // ... while a close's goes from the reserve and its price check refuses the close,
    // naming the field.
    let close = crate::api::limit_checks::check_limit(
        Some(&prices),
        &sol,
        Side::Buy,
        &far,
        Purpose::ReduceRisk,
    )
    .await
    .expect_err("a LIMIT close outside PERCENT_PRICE is refused at the door");
    assert_eq!(
        close.body.field.as_deref(),
        Some("price"),
        "{}",
        close.body.reason
    );
    assert_eq!(
        requests(&sim).await,
        before + 1,
        "the close's premiumIndex was sent"
    );
    sim.shutdown().await;
}
