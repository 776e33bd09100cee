//! Unit tests of fault windows: profiles, draws, matching and validation.

use super::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn profile() -> FaultWindow {
    FaultWindow {
        profile: Some(PROFILE_2025_10_11.into()),
        until: Some(60.0),
        ..Default::default()
    }
    .resolved()
    .unwrap()
}

#[test]
fn the_2025_10_11_profile_fails_nearly_every_reduce_only_order_with_the_seed_codes() {
    let w = profile();
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let mut codes = std::collections::BTreeMap::new();
    let n = 2000;
    for _ in 0..n {
        if let Some(o) = w.draw(&mut rng, true) {
            let e = match o {
                FaultOutcome::Refuse(e)
                | FaultOutcome::ExecuteThenFail(e)
                | FaultOutcome::Throttle(e, _) => e,
            };
            *codes.entry((e.http, e.code)).or_insert(0) += 1;
        }
    }
    let failed: i32 = codes.values().sum();
    assert!(failed > n * 9 / 10, "only {failed} of {n} failed");
    for k in [
        (400, -2010),
        (400, -4118),
        (400, -2022),
        (503, -1008),
        (503, -1000),
    ] {
        assert!(codes.contains_key(&k), "{k:?} never drawn: {codes:?}");
    }
}

#[test]
fn the_2025_10_11_profile_fails_nearly_every_open_too() {
    let w = profile();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let n = 2000;
    let failed = (0..n).filter(|_| w.draw(&mut rng, false).is_some()).count();
    assert!(failed > n * 9 / 10, "only {failed} of {n} opens failed");
}

#[test]
fn overload_spares_reduce_only_orders_unless_the_exemption_is_broken() {
    let mut w = FaultWindow {
        overload_1008: 1.0,
        ..Default::default()
    };
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    assert_eq!(w.draw(&mut rng, true), None);
    assert_eq!(
        w.draw(&mut rng, false),
        Some(FaultOutcome::Refuse(overload_1008()))
    );
    w.overload_hits_reduce_only = true;
    assert_eq!(
        w.draw(&mut rng, true),
        Some(FaultOutcome::Refuse(overload_1008()))
    );
}

#[test]
fn unknown_503_executes_in_the_configured_share() {
    let w = FaultWindow {
        unknown_503: 1.0,
        executed_share: 1.0,
        ..Default::default()
    };
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    assert_eq!(
        w.draw(&mut rng, false),
        Some(FaultOutcome::ExecuteThenFail(unknown_503()))
    );
}

#[test]
fn windows_match_endpoints_and_time() {
    let w = FaultWindow {
        from: 10.0,
        until: Some(20.0),
        endpoints: vec!["/fapi/v2/account".into(), "DELETE /fapi/v1/order".into()],
        ..Default::default()
    };
    assert!(w.is_active(10.0) && !w.is_active(20.0) && !w.is_active(9.9));
    assert!(w.matches("GET", "/fapi/v2/account", None));
    assert!(w.matches("DELETE", "/fapi/v1/order", Some("BTCUSDT")));
    assert!(!w.matches("POST", "/fapi/v1/order", None));
    assert!(FaultWindow::default().matches("POST", "/fapi/v1/batchOrders", None));
}

#[test]
fn bad_rates_and_unknown_profiles_are_named() {
    let e = FaultWindow {
        overload_1008: 1.5,
        ..Default::default()
    }
    .resolved()
    .unwrap_err();
    assert!(e.contains("faults.overload_1008"), "{e}");
    let e = FaultWindow {
        profile: Some("x".into()),
        ..Default::default()
    }
    .resolved()
    .unwrap_err();
    assert!(e.contains("faults.profile"), "{e}");
}

#[test]
fn a_window_naming_symbols_matches_only_requests_for_them() {
    let w = FaultWindow {
        symbols: vec!["SOLUSDT".into()],
        ..Default::default()
    };
    assert!(w.matches("POST", "/fapi/v1/order", Some("SOLUSDT")));
    assert!(!w.matches("POST", "/fapi/v1/order", Some("BTCUSDT")));
    assert!(!w.matches("POST", "/fapi/v1/order", None));
}

#[test]
fn a_reduce_only_restriction_refuses_every_open_and_no_close() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for code in RESTRICTION_CODES {
        let w = FaultWindow {
            restrict_to_reduce_only: Some(code),
            ..Default::default()
        }
        .resolved()
        .unwrap();
        for _ in 0..50 {
            match w.draw(&mut rng, false) {
                Some(FaultOutcome::Refuse(e)) => assert_eq!((e.http, e.code), (400, code)),
                other => panic!("open under {code} was not refused: {other:?}"),
            }
            assert_eq!(w.draw(&mut rng, true), None);
        }
    }
    assert_eq!(
        restriction(-4087).unwrap().msg,
        "User can only place reduce only order."
    );
}

#[test]
fn a_throttle_carries_the_second_the_window_closes() {
    let w = FaultWindow {
        throttle_429: 1.0,
        until: Some(12.5),
        ..Default::default()
    };
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    assert_eq!(
        w.draw(&mut rng, true),
        Some(FaultOutcome::Throttle(throttle_429(), Some(12_500)))
    );
}

#[test]
fn a_restriction_code_outside_the_binance_set_is_named() {
    let e = FaultWindow {
        restrict_to_reduce_only: Some(-2010),
        ..Default::default()
    }
    .resolved()
    .unwrap_err();
    assert!(
        e.starts_with("faults.restrict_to_reduce_only: -2010"),
        "{e}"
    );
    let e = FaultWindow {
        recv_window_5028: -0.1,
        ..Default::default()
    }
    .resolved()
    .unwrap_err();
    assert!(e.contains("faults.recv_window_5028"), "{e}");
}

#[test]
fn a_window_limited_to_market_orders_spares_limits_and_other_requests() {
    let w = FaultWindow {
        order_types: vec!["MARKET".into()],
        ..Default::default()
    };
    assert!(w.matches_order_type(Some("MARKET")) && w.matches_order_type(Some("market")));
    assert!(!w.matches_order_type(Some("LIMIT")) && !w.matches_order_type(None));
    assert!(FaultWindow::default().matches_order_type(Some("LIMIT")));
}
