//! Observed → verdict, without I/O: every threshold and every failure's wording.

use std::time::Duration;

use proptest::prelude::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use super::evaluate::{bracket_cap, evaluate};
use super::expect::{check_names, probe_order, Expectations, SymbolExpectation};
use super::observe::{
    AccountFacts, KeyFacts, Observations, ProbeError, SymbolConfigFacts, SymbolObservation,
    TestOrderFacts,
};
use super::{CheckLine, Status};
use crate::domain::{ClientOrderId, PositionMode, PositionSide, Price, Symbol, SymbolRules};
use crate::exchange::{ErrorClass, LeverageBracket, TradingStatus};
use crate::settings::MarginType;

fn sym(s: &str) -> Symbol {
    Symbol::new(s).unwrap()
}

/// Mainnet SOLUSDT's filters (step 1, MARKET maxQty 5000) under `name`.
fn rules(name: &str) -> SymbolRules {
    SymbolRules {
        symbol: sym(name),
        price_precision: 3,
        quantity_precision: 0,
        ..crate::router::fixtures::rules(dec!(1), dec!(1), dec!(5000), dec!(5))
    }
}

fn brackets() -> Vec<LeverageBracket> {
    [(75, 0, 5_000), (50, 5_000, 50_000), (20, 50_000, 1_000_000)]
        .iter()
        .enumerate()
        .map(|(i, &(lev, floor, cap))| LeverageBracket {
            bracket: i as u32 + 1,
            initial_leverage: lev,
            notional_floor: Decimal::from(floor),
            notional_cap: Decimal::from(cap),
            maint_margin_ratio: dec!(0.01),
        })
        .collect()
}

fn expectations() -> Expectations {
    Expectations {
        symbols: vec![SymbolExpectation {
            symbol: sym("SOLUSDT"),
            leverage: Some(20),
            margin_type: Some(MarginType::Cross),
            max_position_usdt: Some(dec!(100000)),
        }],
        position_mode: PositionMode::OneWay,
        multi_assets_margin: false,
        allocation_usdt: dec!(1000),
        clock_offset_max_ms: 1000,
        key_permissions_url: None,
    }
}

fn healthy() -> Observations {
    Observations {
        rest_latency: Ok(Duration::from_millis(42)),
        clock_offset_ms: Ok(12),
        account: Ok(AccountFacts {
            can_trade: true,
            can_withdraw: true,
            usdt_available: Some(dec!(5000)),
        }),
        key: None,
        trading_status: Ok(TradingStatus {
            account_locked: false,
            locked_symbols: vec![],
        }),
        position_mode: Ok(PositionMode::OneWay),
        multi_assets: Ok(false),
        rules: Ok(vec![rules("SOLUSDT")]),
        symbols: vec![SymbolObservation {
            symbol: sym("SOLUSDT"),
            config: Ok(SymbolConfigFacts {
                margin_type: "CROSSED".into(),
                leverage: 20,
            }),
            brackets: Ok(brackets()),
            test_order: Ok(TestOrderFacts {
                side: "BUY".into(),
                quantity: dec!(1),
                price: dec!(171),
                mark: dec!(180),
            }),
        }],
        listen_key: Ok(()),
        user_stream: Ok(()),
    }
}

fn find<'a>(lines: &'a [CheckLine], name: &str) -> &'a CheckLine {
    lines.iter().find(|l| l.name == name).expect(name)
}

fn verdict(o: &Observations, name: &str) -> (Status, String) {
    let lines = evaluate(o, &expectations());
    let l = find(&lines, name);
    (l.status, l.observed.clone())
}

fn refused(code: i64, msg: &str) -> ProbeError {
    ProbeError::Exchange {
        class: ErrorClass::Auth,
        http_status: Some(401),
        code: Some(code),
        msg: msg.into(),
    }
}

#[test]
fn a_healthy_account_passes_every_check_in_the_published_order() {
    let lines = evaluate(&healthy(), &expectations());
    let names: Vec<&str> = lines.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, check_names(&expectations()));
    assert!(lines.iter().all(|l| l.status == Status::Pass), "{lines:#?}");
}

#[test]
fn the_clock_warns_past_half_the_bound_and_fails_past_it() {
    let mut o = healthy();
    for (offset, status) in [
        (500, Status::Pass),
        (-501, Status::Warn),
        (1000, Status::Warn),
        (-1001, Status::Fail),
    ] {
        o.clock_offset_ms = Ok(offset);
        assert_eq!(verdict(&o, "clock_offset").0, status, "offset {offset}");
    }
    assert_eq!(verdict(&o, "clock_offset").1, "-1001 ms (local - server)");
}

#[test]
fn a_slow_round_trip_is_a_warning_not_a_failure() {
    let mut o = healthy();
    o.rest_latency = Ok(Duration::from_millis(1500));
    assert_eq!(
        verdict(&o, "rest_reachable"),
        (Status::Warn, "1500 ms".into())
    );
}

#[test]
fn minus_2015_names_all_three_causes_and_how_to_check_each() {
    let mut o = healthy();
    o.account = Err(refused(
        -2015,
        "Invalid API-key, IP, or permissions for action.",
    ));
    let lines = evaluate(&o, &expectations());
    let key = find(&lines, "api_key");
    assert_eq!(key.status, Status::Fail);
    assert_eq!(
        key.observed,
        "HTTP 401 code -2015: Invalid API-key, IP, or permissions for action."
    );
    assert!(key.detail.contains("(1)") && key.detail.contains("(2)") && key.detail.contains("(3)"));
    assert_eq!(find(&lines, "permissions").observed, "not checked");
    assert_eq!(find(&lines, "balance").observed, "not checked");
}

fn key(enable_futures: bool, enable_withdrawals: bool, ip_restrict: bool) -> KeyFacts {
    KeyFacts {
        enable_futures,
        enable_withdrawals,
        ip_restrict,
    }
}

fn with_key_check() -> Expectations {
    let mut e = expectations();
    e.key_permissions_url = Some(url::Url::parse("https://api.binance.com").unwrap());
    e
}

#[test]
fn key_permissions_pass_only_with_futures_on_withdrawals_off_and_an_ip_whitelist() {
    let e = with_key_check();
    let mut o = healthy();
    let status = |o: &Observations| find(&evaluate(o, &e), "key_permissions").status;
    o.key = Some(Ok(key(true, false, true)));
    assert_eq!(status(&o), Status::Pass);
    let names: Vec<String> = evaluate(&o, &e).into_iter().map(|l| l.name).collect();
    assert_eq!(names, check_names(&e));
    o.key = Some(Ok(key(true, true, true)));
    assert_eq!(status(&o), Status::Warn);
    o.key = Some(Ok(key(true, false, false)));
    assert_eq!(status(&o), Status::Warn);
    o.key = Some(Ok(key(false, false, true)));
    assert_eq!(status(&o), Status::Fail);
}

#[test]
fn the_spot_hosts_answer_narrows_minus_2015_to_its_cause() {
    let e = with_key_check();
    let mut o = healthy();
    o.account = Err(refused(
        -2015,
        "Invalid API-key, IP, or permissions for action.",
    ));
    o.key = Some(Ok(key(false, false, true)));
    let detail = find(&evaluate(&o, &e), "api_key").detail.clone();
    assert!(detail.starts_with("cause (3)"), "{detail}");
    o.key = Some(Err(refused(
        -2015,
        "Invalid API-key, IP, or permissions for action.",
    )));
    let detail = find(&evaluate(&o, &e), "api_key").detail.clone();
    assert!(detail.contains("cause (1) or (2)"), "{detail}");
}

#[test]
fn a_bad_signature_blames_the_secret_and_a_bad_key_format_the_key() {
    let mut o = healthy();
    o.account = Err(refused(-1022, "Signature for this request is not valid."));
    let lines = evaluate(&o, &expectations());
    assert!(find(&lines, "api_key").detail.contains("api_secret"));
    o.account = Err(refused(-2014, "API-key format invalid."));
    let lines = evaluate(&o, &expectations());
    assert!(find(&lines, "api_key").detail.contains("malformed"));
}

#[test]
fn a_symbol_that_is_not_trading_fails_its_filters_line_with_the_status() {
    let mut o = healthy();
    let mut settling = rules("SOLUSDT");
    settling.status = "SETTLING".into();
    o.rules = Ok(vec![settling]);
    assert_eq!(
        verdict(&o, "filters:SOLUSDT"),
        (Status::Fail, "status SETTLING".into())
    );
}

#[test]
fn a_timeout_is_a_failed_line_saying_how_long_it_waited() {
    let mut o = healthy();
    o.multi_assets = Err(ProbeError::Timeout { after_ms: 5000 });
    assert_eq!(
        verdict(&o, "multi_assets_mode"),
        (Status::Fail, "no answer within 5000 ms".into())
    );
}

#[test]
fn a_lock_on_a_symbol_sluice_does_not_trade_is_not_a_failure() {
    let mut o = healthy();
    o.trading_status = Ok(TradingStatus {
        account_locked: false,
        locked_symbols: vec![sym("DOGEUSDT")],
    });
    assert_eq!(verdict(&o, "trading_status").0, Status::Pass);
    o.trading_status = Ok(TradingStatus {
        account_locked: false,
        locked_symbols: vec![sym("DOGEUSDT"), sym("SOLUSDT")],
    });
    assert_eq!(
        verdict(&o, "trading_status"),
        (Status::Fail, "locked: SOLUSDT".into())
    );
}

#[test]
fn a_balance_equal_to_the_allocation_passes_and_no_usdt_fails() {
    let mut o = healthy();
    o.account = Ok(AccountFacts {
        can_trade: true,
        can_withdraw: false,
        usdt_available: Some(dec!(1000.00)),
    });
    assert_eq!(verdict(&o, "balance").0, Status::Pass);
    o.account = Ok(AccountFacts {
        can_trade: true,
        can_withdraw: false,
        usdt_available: None,
    });
    assert_eq!(
        verdict(&o, "balance"),
        (Status::Fail, "no USDT asset".into())
    );
}

#[test]
fn margin_types_compare_in_the_venue_spelling_whatever_the_case() {
    let mut o = healthy();
    o.symbols[0].config = Ok(SymbolConfigFacts {
        margin_type: "crossed".into(),
        leverage: 20,
    });
    assert_eq!(verdict(&o, "leverage:SOLUSDT").0, Status::Pass);
    o.symbols[0].config = Ok(SymbolConfigFacts {
        margin_type: "ISOLATED".into(),
        leverage: 20,
    });
    assert_eq!(
        verdict(&o, "leverage:SOLUSDT"),
        (Status::Fail, "20x ISOLATED".into())
    );
}

#[test]
fn the_bracket_cap_is_that_of_the_widest_bracket_still_allowing_the_leverage() {
    let b = brackets();
    assert_eq!(bracket_cap(&b, 20), Some(dec!(1000000)));
    assert_eq!(bracket_cap(&b, 21), Some(dec!(50000)));
    assert_eq!(bracket_cap(&b, 75), Some(dec!(5000)));
    assert_eq!(bracket_cap(&b, 76), None);
}

#[test]
fn a_max_position_fits_up_to_the_cap_exactly_and_fails_one_cent_over() {
    let mut e = expectations();
    e.symbols[0].leverage = Some(50);
    e.symbols[0].max_position_usdt = Some(dec!(50000));
    let o = healthy();
    let lines = evaluate(&o, &e);
    assert_eq!(find(&lines, "max_position:SOLUSDT").status, Status::Pass);
    e.symbols[0].max_position_usdt = Some(dec!(50000.01));
    let lines = evaluate(&o, &e);
    let l = find(&lines, "max_position:SOLUSDT");
    assert_eq!(
        (l.status, l.observed.as_str()),
        (Status::Fail, "cap 50000 USDT at 50x")
    );
    assert!(l.detail.contains("leverage 20x or lower"), "{}", l.detail);
}

#[test]
fn without_a_configured_max_position_there_is_no_bracket_line() {
    let mut e = expectations();
    e.symbols[0].max_position_usdt = None;
    let lines = evaluate(&healthy(), &e);
    assert!(lines.iter().all(|l| !l.name.starts_with("max_position")));
}

fn probe(mark: Decimal, mode: PositionMode) -> crate::domain::OrderRequest {
    probe_order(
        &rules("SOLUSDT"),
        Price::new("mark", mark).unwrap(),
        mode,
        ClientOrderId::new("pf-1").unwrap(),
    )
    .expect("probe passes sluice's filters")
    .into_inner()
}

#[test]
fn the_probe_order_is_an_opening_limit_buy_far_below_the_mark() {
    let o = probe(dec!(180), PositionMode::OneWay);
    assert_eq!(o.price.map(|p| p.get()), Some(dec!(171)));
    assert_eq!(o.quantity.get(), dec!(1));
    assert!(!o.reduce_only);
    assert_eq!(o.position_side, PositionSide::Both);
    assert_eq!(
        probe(dec!(180), PositionMode::Hedge).position_side,
        PositionSide::Long
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn the_probe_order_always_meets_min_notional_and_never_crosses_the_mark(
        mark_cents in 50i64..10_000_000,
        min_notional in 1i64..500,
    ) {
        let mark = Decimal::new(mark_cents, 2);
        let mut r = rules("SOLUSDT");
        r.min_notional = Decimal::from(min_notional);
        r.price_filter.max_price = dec!(1000000);
        let built = probe_order(&r, Price::new("mark", mark).unwrap(), PositionMode::OneWay, ClientOrderId::new("pf-1").unwrap());
        let o = built.expect("valid probe").into_inner();
        let price = o.price.map(|p| p.get()).unwrap_or_default();
        prop_assert!(price < mark);
        prop_assert!(price * o.quantity.get() >= r.min_notional);
    }
}
