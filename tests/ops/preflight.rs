//! `sluice preflight` against the simulator over loopback, through the real adapter: a
//! healthy account passes every line; each way an account can be unfit to trade fails
//! exactly its own line, with the observed value; a hung or unreachable venue is a
//! failed line, not a hang.

use serde_json::json;
use sluice::ops::preflight::check_names;
use sluice::ops::preflight::{Expectations, Status};
use sluice_testkit::preflight::*;

const SYMBOL_EXPECTATIONS: [(&str, &str); 3] = [
    ("SLUICE__SYMBOLS__BTCUSDT__LEVERAGE", "20"),
    ("SLUICE__SYMBOLS__BTCUSDT__MARGIN_TYPE", "cross"),
    ("SLUICE__SYMBOLS__BTCUSDT__MAX_POSITION_USDT", "1000000"),
];

#[tokio::test]
async fn a_healthy_demo_account_passes_every_line_in_order() {
    let sim = start(scenario("", "")).await;
    let env = env_for(&sim, &SYMBOL_EXPECTATIONS);
    let expect = Expectations::from_settings(&settings(env.clone())).expect("expectations");

    let report = sluice::ops::preflight::run(&settings(env))
        .await
        .expect("runs");

    let names: Vec<String> = report.lines.iter().map(|l| l.name.clone()).collect();
    assert_eq!(names, check_names(&expect));
    assert!(names.contains(&"max_position:BTCUSDT".to_string()));
    assert!(
        report.lines.iter().all(|l| l.status == Status::Pass),
        "\n{report}"
    );
    assert_eq!(report.exit_code(), 0);
    assert_eq!(line(&report, "leverage:BTCUSDT").observed, "20x CROSSED");
    assert!(line(&report, "test_order:SOLUSDT")
        .observed
        .starts_with("accepted: BUY"));
    assert_eq!(line(&report, "position_mode").observed, "one-way");
}

#[tokio::test]
async fn trading_disabled_fails_the_permissions_line_only() {
    let sim = start(scenario("", "can_trade = false")).await;
    let report = preflight(&sim, &[]).await;
    assert_only_fails(&report, &["permissions"]);
    assert!(line(&report, "permissions")
        .observed
        .contains("canTrade=false"));
}

#[tokio::test]
async fn a_locked_account_or_symbol_fails_the_trading_status_line_only() {
    let sim = start(scenario("", "trading_locked = true")).await;
    let report = preflight(&sim, &[]).await;
    assert_only_fails(&report, &["trading_status"]);
    assert_eq!(line(&report, "trading_status").observed, "account locked");

    set_permissions(
        &sim,
        json!({"trading_locked": false, "locked_symbols": ["SOLUSDT"]}),
    )
    .await;
    let report = preflight(&sim, &[]).await;
    assert_only_fails(&report, &["trading_status"]);
    assert_eq!(line(&report, "trading_status").observed, "locked: SOLUSDT");
}

#[tokio::test]
async fn an_ip_restricted_key_fails_api_key_with_the_three_causes_and_checks_nothing_keyed() {
    let sim = start(scenario("", "")).await;
    set_permissions(&sim, json!({"ip_restricted": true})).await;

    let report = preflight(&sim, &[]).await;

    let key = line(&report, "api_key");
    assert_eq!(key.status, Status::Fail);
    assert!(key.observed.contains("-2015"), "{}", key.observed);
    for cause in ["does not exist", "IP whitelist", "Enable Futures"] {
        assert!(key.detail.contains(cause), "{}", key.detail);
    }
    // Public data still answers; every keyed check says it was not checked, not "ok".
    for public in [
        "rest_reachable",
        "clock_offset",
        "filters:BTCUSDT",
        "filters:SOLUSDT",
    ] {
        assert_eq!(
            line(&report, public).status,
            Status::Pass,
            "{public}\n{report}"
        );
    }
    for l in report.failed().filter(|l| l.name != "api_key") {
        assert_eq!(l.observed, "not checked", "{}\n{report}", l.name);
    }
}

#[tokio::test]
async fn a_position_mode_other_than_configured_fails_its_line_only() {
    let sim = start(scenario("", "position_mode = \"hedge\"")).await;
    let report = preflight(&sim, &[]).await;
    assert_only_fails(&report, &["position_mode"]);
    assert_eq!(line(&report, "position_mode").observed, "hedge");
}

#[tokio::test]
async fn multi_assets_mode_on_fails_its_line_only_and_passes_when_expected() {
    let sim = start(scenario("", "multi_assets = true")).await;
    let report = preflight(&sim, &[]).await;
    assert_only_fails(&report, &["multi_assets_mode"]);
    assert_eq!(line(&report, "multi_assets_mode").observed, "multi-assets");

    let expected = preflight(&sim, &[("SLUICE__EXCHANGE__MULTI_ASSETS_MARGIN", "true")]).await;
    assert_eq!(expected.exit_code(), 0, "\n{expected}");
}

#[tokio::test]
async fn leverage_and_margin_type_other_than_configured_fail_the_leverage_line() {
    let sim = start(scenario("", "")).await;
    let report = preflight(
        &sim,
        &[
            ("SLUICE__SYMBOLS__SOLUSDT__LEVERAGE", "10"),
            ("SLUICE__SYMBOLS__SOLUSDT__MARGIN_TYPE", "isolated"),
        ],
    )
    .await;
    assert_only_fails(&report, &["leverage:SOLUSDT"]);
    let l = line(&report, "leverage:SOLUSDT");
    assert_eq!(l.observed, "20x CROSSED");
    assert!(
        l.detail.contains("leverage must be 10x") && l.detail.contains("isolated"),
        "{}",
        l.detail
    );
}

#[tokio::test]
async fn a_max_position_beyond_the_leverage_bracket_fails_and_names_a_leverage_that_fits() {
    let sim = start(scenario("", "")).await;
    let report = preflight(
        &sim,
        &[("SLUICE__SYMBOLS__BTCUSDT__MAX_POSITION_USDT", "200000000")],
    )
    .await;
    assert_only_fails(&report, &["max_position:BTCUSDT"]);
    let l = line(&report, "max_position:BTCUSDT");
    assert_eq!(l.observed, "cap 100000000 USDT at 20x");
    assert!(l.detail.contains("leverage 10x or lower"), "{}", l.detail);
}

#[tokio::test]
async fn a_balance_below_the_allocation_fails_the_balance_line_only() {
    let sim = start(scenario("", "")).await;
    let report = preflight(&sim, &[("SLUICE__BUDGET__ALLOCATION_USDT", "2000000.50")]).await;
    assert_only_fails(&report, &["balance"]);
    assert_eq!(line(&report, "balance").observed, "1000000 USDT available");
}

#[tokio::test]
async fn a_symbol_the_venue_does_not_list_fails_its_filters_line() {
    let sim = start(scenario("", "")).await;
    let report = preflight(&sim, &[("SLUICE__EXCHANGE__SYMBOLS", "BTCUSDT,NOPEUSDT")]).await;
    assert_eq!(line(&report, "filters:NOPEUSDT").observed, "not listed");
    for name in ["leverage:NOPEUSDT", "test_order:NOPEUSDT"] {
        assert_eq!(line(&report, name).observed, "not checked", "{name}");
    }
    assert_eq!(
        failing(&report),
        [
            "filters:NOPEUSDT",
            "leverage:NOPEUSDT",
            "test_order:NOPEUSDT"
        ]
    );
}

#[tokio::test]
async fn a_hung_endpoint_is_a_failed_line_at_the_deadline_not_a_hang() {
    let faults =
        "[[faults]]\nendpoints = [\"GET /fapi/v1/apiTradingStatus\"]\nlatency_ms = 30000\n";
    let sim = start(scenario(faults, "")).await;
    let report = preflight(&sim, &[("SLUICE__PREFLIGHT__CHECK_TIMEOUT_MS", "1000")]).await;
    assert_only_fails(&report, &["trading_status"]);
    assert_eq!(
        line(&report, "trading_status").observed,
        "no answer within 1000 ms"
    );
}

#[tokio::test]
async fn a_clock_offset_beyond_the_bound_fails_the_clock_line() {
    // The server stamps /time on arrival, then answers 1000 ms later: the round trip's
    // midpoint puts our clock ~500 ms ahead of the server's (at least 200 unless the
    // request alone took 600 ms to arrive).
    let faults = "[[faults]]\nendpoints = [\"GET /fapi/v1/time\"]\nlatency_ms = 1000\n";
    let sim = start(scenario(faults, "")).await;
    let report = preflight(&sim, &[("SLUICE__PREFLIGHT__CLOCK_OFFSET_MAX_MS", "200")]).await;
    assert_only_fails(&report, &["clock_offset"]);
    let clock = line(&report, "clock_offset");
    assert!(clock.observed.starts_with('+'), "{}", clock.observed);
    assert!(
        clock.detail.contains("clock_offset_max_ms = 200"),
        "{}",
        clock.detail
    );
}

#[tokio::test]
async fn an_unreachable_venue_fails_rest_reachable_and_checks_nothing_else() {
    let sim = start(scenario("", "")).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", closed.local_addr().expect("addr"));
    drop(closed);
    let report = preflight(&sim, &[("SLUICE__EXCHANGE__REST_URL", &url)]).await;
    assert_eq!(line(&report, "rest_reachable").status, Status::Fail);
    assert!(
        report
            .lines
            .iter()
            .skip(1)
            .all(|l| l.observed == "not checked"),
        "\n{report}"
    );
    assert_eq!(report.exit_code(), 1);
}

/// Point the key-permission check at the simulator, which also serves the spot route.
fn key_check(sim: &sluice_sim::SimHandle) -> (&'static str, String) {
    ("SLUICE__PREFLIGHT__KEY_PERMISSIONS_URL", sim.base_url())
}

#[tokio::test]
async fn a_futures_key_without_withdrawals_and_with_an_ip_whitelist_passes_key_permissions() {
    let sim = start(scenario("", "")).await;
    let (k, v) = key_check(&sim);
    let report = preflight(&sim, &[(k, &v)]).await;
    assert_eq!(report.exit_code(), 0, "\n{report}");
    assert_eq!(
        line(&report, "key_permissions").observed,
        "enableFutures=true enableWithdrawals=false ipRestrict=true"
    );
    assert_eq!(report.notes.len(), 1, "the 'not checked' note is gone");
}

#[tokio::test]
async fn withdrawals_enabled_or_no_ip_whitelist_is_a_warning_and_still_exits_0() {
    let sim = start(scenario(
        "",
        "withdrawals_enabled = true\nip_whitelist = false",
    ))
    .await;
    let (k, v) = key_check(&sim);
    let report = preflight(&sim, &[(k, &v)]).await;
    let l = line(&report, "key_permissions");
    assert_eq!(l.status, Status::Warn);
    assert!(
        l.detail.contains("Enable Withdrawals") && l.detail.contains("IP"),
        "{}",
        l.detail
    );
    assert!(report.failed().next().is_none(), "\n{report}");
    assert_eq!(report.exit_code(), 0);
}

#[tokio::test]
async fn a_key_without_futures_permission_is_told_apart_from_a_gone_key_or_a_foreign_ip() {
    let sim = start(scenario("", "futures_enabled = false")).await;
    let (k, v) = key_check(&sim);
    let report = preflight(&sim, &[(k, &v)]).await;
    let key = line(&report, "api_key");
    assert!(key.observed.contains("-2015"), "{}", key.observed);
    assert!(key.detail.starts_with("cause (3)"), "{}", key.detail);
    assert_eq!(line(&report, "key_permissions").status, Status::Fail);

    set_permissions(
        &sim,
        json!({"futures_enabled": true, "ip_restricted": true}),
    )
    .await;
    let report = preflight(&sim, &[(k, &v)]).await;
    assert!(
        line(&report, "api_key").detail.contains("cause (1) or (2)"),
        "\n{report}"
    );
}

#[tokio::test]
async fn an_ed25519_key_file_passes_preflight_and_the_report_names_the_key_type() {
    use sluice_testkit::keys::{scenario_with_key, TestKey};
    let sim = start(scenario_with_key(TestKey::Ed25519, "", "")).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let key_file = TestKey::Ed25519.private_key_file(dir.path());
    let path = key_file.display().to_string();
    let report = preflight(&sim, &[("SLUICE__EXCHANGE__API_SECRET_FILE", &path)]).await;
    assert!(
        report.lines.iter().all(|l| l.status == Status::Pass),
        "\n{report}"
    );
    assert_eq!(line(&report, "api_key").observed, "accepted (ed25519 key)");
}

#[tokio::test]
async fn with_the_ws_transport_an_ed25519_key_reports_session_logon_accepted() {
    use sluice_testkit::keys::{scenario_with_key, TestKey};
    let sim = start(scenario_with_key(TestKey::Ed25519, "", "")).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let key_file = TestKey::Ed25519.private_key_file(dir.path());
    let path = key_file.display().to_string();
    let report = preflight(
        &sim,
        &[
            ("SLUICE__EXCHANGE__API_SECRET_FILE", &path),
            ("SLUICE__EXCHANGE__ORDER_TRANSPORT", "ws"),
        ],
    )
    .await;
    let ws = line(&report, "ws_api");
    assert_eq!(ws.status, Status::Pass, "\n{report}");
    assert_eq!(ws.observed, "session.logon accepted (ed25519 key)");
    assert!(ws.detail.ends_with("/ws-fapi/v1"), "{}", ws.detail);
    assert_eq!(report.exit_code(), 0, "\n{report}");
}

#[tokio::test]
async fn with_the_ws_transport_an_hmac_key_reports_a_signed_probe_and_a_refused_socket_warns() {
    let sim = start(scenario("", "")).await;
    let ws = [("SLUICE__EXCHANGE__ORDER_TRANSPORT", "ws")];

    let report = preflight(&sim, &ws).await;
    let line_ok = line(&report, "ws_api");
    assert_eq!(line_ok.status, Status::Pass, "\n{report}");
    assert!(
        line_ok
            .observed
            .starts_with("signed order.status accepted (hmac key"),
        "{}",
        line_ok.observed
    );

    let r = reqwest::Client::new()
        .post(format!("{}/sim/faults", sim.base_url()))
        .json(&json!({ "refuse_ws_api": true }))
        .send()
        .await
        .expect("admin");
    assert!(r.status().is_success());
    let report = preflight(&sim, &ws).await;
    let refused = line(&report, "ws_api");
    assert_eq!(refused.status, Status::Warn, "\n{report}");
    assert!(
        refused.detail.contains("orders go over REST"),
        "{}",
        refused.detail
    );
    assert_eq!(
        report.exit_code(),
        0,
        "a warning does not fail preflight\n{report}"
    );
}
