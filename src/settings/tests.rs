//! The settings as an operator meets them: layers, overrides, refusals naming the key.

use std::time::Duration;

use super::*;
use crate::domain::PositionMode;
use crate::exchange::binance::config::OrderTransport;

fn dir_with(extra: Option<(&str, &str)>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let default =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/default.toml"))
            .expect("config/default.toml");
    std::fs::write(dir.path().join("default.toml"), default).expect("write");
    if let Some((name, body)) = extra {
        std::fs::write(dir.path().join(format!("{name}.toml")), body).expect("write");
    }
    dir
}

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn environment_overrides_files_and_database_url_is_honoured() {
    let dir = dir_with(None);
    let s = Settings::load_with_env(
        dir.path(),
        env(&[
            ("SLUICE__EXCHANGE__REST_URL", "http://127.0.0.1:9001"),
            ("SLUICE__BUDGET__ALLOCATION_USDT", "2500.75"),
            ("DATABASE_URL", "postgres://u:pw@db/sluice"),
        ]),
    )
    .expect("settings load");
    assert_eq!(
        s.exchange.effective_rest_url().map(String::from),
        Some("http://127.0.0.1:9001/".to_string())
    );
    assert_eq!(s.budget.allocation_usdt.to_string(), "2500.75");
    assert_eq!(
        s.database.url().expect("url").expose(),
        "postgres://u:pw@db/sluice"
    );
}

#[test]
fn an_unknown_key_in_a_file_is_an_error_naming_it() {
    let dir = dir_with(Some(("bad", "[exchange]\nbogus = 1\n")));
    let err = Settings::load_with_env(dir.path(), env(&[("SLUICE_ENV", "bad")])).unwrap_err();
    let text = format!("{err:#}");
    assert!(
        text.contains("bogus") && text.contains("exchange"),
        "{text}"
    );
}

#[test]
fn the_self_trade_prevention_mode_is_typed_with_a_default_and_a_bad_one_names_the_key() {
    let dir = dir_with(None);
    let s = Settings::load_with_env(dir.path(), env(&[])).expect("defaults load");
    let default = crate::domain::SelfTradePrevention::ExpireTaker;
    assert_eq!(s.exchange.self_trade_prevention_mode, default);
    let both = env(&[(
        "SLUICE__EXCHANGE__SELF_TRADE_PREVENTION_MODE",
        "EXPIRE_BOTH",
    )]);
    let s = Settings::load_with_env(dir.path(), both).expect("settings load");
    let mode = s.exchange.self_trade_prevention_mode;
    assert_eq!(mode, crate::domain::SelfTradePrevention::ExpireBoth);
    let bad = env(&[("SLUICE__EXCHANGE__SELF_TRADE_PREVENTION_MODE", "MAKER")]);
    let err = Settings::load_with_env(dir.path(), bad).unwrap_err();
    assert!(
        format!("{err:#}").contains("self_trade_prevention_mode"),
        "{err:#}"
    );
}

#[test]
fn the_order_transport_defaults_to_rest_and_ws_takes_the_venues_ws_api_url() {
    let dir = dir_with(None);
    let s = Settings::load_with_env(dir.path(), env(&[])).expect("defaults load");
    assert_eq!(s.exchange.order_transport, OrderTransport::Rest);
    let ws = env(&[("SLUICE__EXCHANGE__ORDER_TRANSPORT", "ws")]);
    let s = Settings::load_with_env(dir.path(), ws).expect("settings load");
    assert_eq!(s.exchange.order_transport, OrderTransport::Ws);
    assert_eq!(
        s.exchange.effective_ws_api_url().map(|u| u.to_string()),
        Some("wss://testnet.binancefuture.com/ws-fapi/v1".to_string())
    );
    let bad = env(&[("SLUICE__EXCHANGE__ORDER_TRANSPORT", "grpc")]);
    let err = Settings::load_with_env(dir.path(), bad).unwrap_err();
    assert!(format!("{err:#}").contains("order_transport"), "{err:#}");
    let demo = env(&[
        ("SLUICE__EXCHANGE__ORDER_TRANSPORT", "ws"),
        ("SLUICE__EXCHANGE__VENUE", "demo"),
    ]);
    let err = Settings::load_with_env(dir.path(), demo).unwrap_err();
    assert!(
        format!("{err:#}").contains("exchange.ws_api_url"),
        "{err:#}"
    );
}

#[test]
fn a_wrong_type_names_the_key() {
    let dir = dir_with(Some(("bad", "[api]\nlisten = 7\n")));
    let err = Settings::load_with_env(dir.path(), env(&[("SLUICE_ENV", "bad")])).unwrap_err();
    assert!(format!("{err:#}").contains("api.listen"), "{err:#}");
}

#[test]
fn a_float_amount_is_refused_because_money_never_passes_through_f64() {
    let dir = dir_with(Some(("bad", "[budget]\nallocation_usdt = 0.1\n")));
    let err = Settings::load_with_env(dir.path(), env(&[("SLUICE_ENV", "bad")])).unwrap_err();
    assert!(
        format!("{err:#}").contains("budget.allocation_usdt"),
        "{err:#}"
    );
}

#[test]
fn a_secret_in_a_config_file_is_refused() {
    let dir = dir_with(Some(("leak", "[api]\ntoken = \"hunter2\"\n")));
    let err = Settings::load_with_env(dir.path(), env(&[("SLUICE_ENV", "leak")])).unwrap_err();
    let text = format!("{err:#}");
    assert!(
        text.contains("api.token") && !text.contains("hunter2"),
        "{text}"
    );
}

#[test]
fn secrets_come_from_files_and_never_show() {
    let dir = dir_with(None);
    let secret_path = dir.path().join("secret");
    std::fs::write(&secret_path, "s3cr3t-value\n").expect("write");
    let s = Settings::load_with_env(
        dir.path(),
        env(&[
            (
                "SLUICE__EXCHANGE__API_SECRET_FILE",
                secret_path.to_str().expect("utf8"),
            ),
            ("SLUICE__API__TOKEN", "tok-abcdef"),
            ("DATABASE_URL", "postgres://u:dbpass@db/sluice"),
        ]),
    )
    .expect("settings load");
    assert_eq!(
        s.exchange.api_secret.as_ref().map(Secret::expose),
        Some("s3cr3t-value")
    );
    let shown = s.to_redacted_toml().expect("toml") + &format!("{s:?}");
    for leaked in ["s3cr3t-value", "tok-abcdef", "dbpass"] {
        assert!(!shown.contains(leaked), "{leaked} leaked into {shown}");
    }
    // Only where the database is: no user, no password, no database name.
    assert!(shown.contains("url = \"postgres://db\""), "{shown}");
    assert!(!shown.contains("postgres://u"), "{shown}");
}

#[test]
fn config_show_prints_the_effective_hosts_and_the_user_stream_form() {
    let dir = dir_with(None);
    let s = Settings::load_with_env(dir.path(), env(&[("SLUICE__EXCHANGE__VENUE", "demo")]))
        .expect("settings load");
    let shown = s.to_redacted_toml().expect("toml");
    assert!(
        shown.contains("# rest        = https://demo-fapi.binance.com\n"),
        "{shown}"
    );
    assert!(
        shown.contains("# ws          = wss://demo-fstream.binance.com\n"),
        "{shown}"
    );
    assert!(
        shown.contains(
            "# user stream = wss://demo-fstream.binance.com/private/ws?listenKey=<listenKey>&events=ORDER_TRADE_UPDATE/"
        ),
        "{shown}"
    );
    toml::from_str::<toml::Value>(&shown).expect("the host lines are TOML comments");
}

#[test]
fn symbols_accept_a_comma_separated_environment_value() {
    let dir = dir_with(None);
    let s = Settings::load_with_env(
        dir.path(),
        env(&[("SLUICE__EXCHANGE__SYMBOLS", "solusdt, BTCUSDT")]),
    )
    .expect("settings load");
    let names: Vec<&str> = s.exchange.symbols.iter().map(Symbol::as_str).collect();
    assert_eq!(names, vec!["SOLUSDT", "BTCUSDT"]);
}

#[test]
fn custom_venue_needs_both_urls() {
    let dir = dir_with(None);
    let err = Settings::load_with_env(dir.path(), env(&[("SLUICE__EXCHANGE__VENUE", "custom")]))
        .unwrap_err();
    assert!(format!("{err:#}").contains("exchange.venue"));
}

#[test]
fn per_symbol_expectations_load_with_money_as_strings() {
    let dir = dir_with(Some((
        "sym",
        "[symbols.SOLUSDT]\nleverage = 10\nmargin_type = \"isolated\"\nmax_position_usdt = \"50000.5\"\n",
    )));
    let s =
        Settings::load_with_env(dir.path(), env(&[("SLUICE_ENV", "sym")])).expect("settings load");
    let sol = s.symbols.get(&sym("SOLUSDT")).expect("SOLUSDT section");
    assert_eq!(sol.leverage, Some(10));
    assert_eq!(sol.margin_type, Some(MarginType::Isolated));
    assert_eq!(
        sol.max_position_usdt.map(|d| d.to_string()),
        Some("50000.5".into())
    );
    let shown = s.to_redacted_toml().expect("toml");
    assert!(shown.contains("[symbols.SOLUSDT]"), "{shown}");
    assert_eq!(s.preflight.clock_offset_max, Duration::from_millis(1000));
}

#[test]
fn the_environment_overrides_a_symbol_section_field_by_field() {
    let dir = dir_with(Some((
        "sym",
        "[symbols.SOLUSDT]\nleverage = 10\nmargin_type = \"cross\"\n",
    )));
    let s = Settings::load_with_env(
        dir.path(),
        env(&[
            ("SLUICE_ENV", "sym"),
            ("SLUICE__SYMBOLS__SOLUSDT__LEVERAGE", "5"),
        ]),
    )
    .expect("settings load");
    assert_eq!(s.symbols.len(), 1, "{:?}", s.symbols);
    let sol = s.symbols.get(&sym("SOLUSDT")).expect("SOLUSDT section");
    assert_eq!(sol.leverage, Some(5));
    assert_eq!(sol.margin_type, Some(MarginType::Cross));
}

#[test]
fn a_symbol_section_for_an_untraded_symbol_or_an_unknown_key_is_an_error() {
    let dir = dir_with(Some(("bad", "[symbols.PEPEUSDT]\nleverage = 5\n")));
    // (Section names are upper-cased on load; errors name them so.)
    let err = Settings::load_with_env(dir.path(), env(&[("SLUICE_ENV", "bad")])).unwrap_err();
    assert!(format!("{err:#}").contains("PEPEUSDT"), "{err:#}");
    let dir = dir_with(Some(("bad", "[symbols.SOLUSDT]\nlev = 5\n")));
    let err = Settings::load_with_env(dir.path(), env(&[("SLUICE_ENV", "bad")])).unwrap_err();
    assert!(format!("{err:#}").contains("lev"), "{err:#}");
    let dir = dir_with(Some(("bad", "[symbols.SOLUSDT]\nleverage = 500\n")));
    let err = Settings::load_with_env(dir.path(), env(&[("SLUICE_ENV", "bad")])).unwrap_err();
    assert!(
        format!("{err:#}").contains("symbols.SOLUSDT.leverage"),
        "{err:#}"
    );
}

#[test]
fn the_silence_grace_defaults_to_five_seconds_and_zero_is_refused_naming_the_key() {
    let dir = dir_with(None);
    let s = Settings::load_with_env(dir.path(), env(&[])).expect("defaults load");
    assert_eq!(s.daemon.user_stream_silence_grace, Duration::from_secs(5));
    let zero = env(&[("SLUICE__DAEMON__USER_STREAM_SILENCE_GRACE_MS", "0")]);
    let err = Settings::load_with_env(dir.path(), zero).expect_err("refused");
    assert!(
        format!("{err:#}").contains("daemon.user_stream_silence_grace_ms"),
        "{err:#}"
    );
}

fn sym(name: &str) -> Symbol {
    Symbol::new(name).expect("symbol")
}

#[test]
fn the_built_in_defaults_load_without_a_config_directory() {
    let s = Settings::load_builtin_with_env(env(&[])).expect("built-in defaults load");
    assert_eq!(s.exchange.venue, Venue::Testnet);
    assert_eq!(s.exchange.position_mode, PositionMode::OneWay);
    assert_eq!(
        s.exchange.symbols,
        vec![sym("BTCUSDT"), sym("ETHUSDT"), sym("SOLUSDT")]
    );
    assert_eq!(s.database.max_connections.get(), 10);
    assert_eq!(s.daemon.reconcile_interval, Some(Duration::from_secs(60)));
    assert_eq!(s.api.listen.to_string(), "127.0.0.1:7878");
}

#[test]
fn a_config_file_overrides_only_the_keys_it_sets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let body = "[budget]\nallocation_usdt = \"5\"\n[exchange]\nposition_mode = \"hedge\"\n";
    std::fs::write(dir.path().join("default.toml"), body).expect("write");
    let s = Settings::load_with_env(dir.path(), env(&[])).expect("settings load");
    assert_eq!(s.budget.allocation_usdt.to_string(), "5");
    assert_eq!(s.exchange.position_mode, PositionMode::Hedge);
    assert_eq!(s.exchange.venue, Venue::Testnet, "the rest stays built in");
    assert_eq!(s.exchange.recv_window, Duration::from_millis(5000));
}

#[test]
fn sluice_env_falls_back_to_the_built_in_file_of_that_name_and_an_unknown_name_is_refused() {
    let empty = tempfile::tempdir().expect("tempdir");
    let s = Settings::load_with_env(empty.path(), env(&[("SLUICE_ENV", "paper")]))
        .expect("the built-in paper file");
    assert_eq!(s.exchange.venue, Venue::Custom);
    assert_eq!(
        s.exchange.rest_url.as_ref().map(url::Url::as_str),
        Some("http://127.0.0.1:9001/")
    );
    let err = Settings::load_builtin_with_env(env(&[("SLUICE_ENV", "staging")])).unwrap_err();
    assert!(format!("{err:#}").contains("SLUICE_ENV=staging"), "{err:#}");
}

#[test]
fn a_config_directory_that_does_not_exist_is_refused_naming_it() {
    let err =
        Settings::load_with_env(Path::new("/nonexistent/sluice-config"), env(&[])).unwrap_err();
    let text = format!("{err:#}");
    assert!(text.contains("/nonexistent/sluice-config"), "{text}");
}

#[test]
fn bad_values_are_refused_naming_the_key_and_the_reason() {
    let cases = [
        (
            "SLUICE__EXCHANGE__POSITION_MODE",
            "both",
            "exchange.position_mode",
        ),
        ("SLUICE__EXCHANGE__WS_URL", "not a url", "exchange.ws_url"),
        ("SLUICE__EXCHANGE__SYMBOLS", "BTC/USDT", "exchange.symbols"),
        (
            "SLUICE__DATABASE__MAX_CONNECTIONS",
            "0",
            "database.max_connections",
        ),
        (
            "SLUICE__PREFLIGHT__CHECK_TIMEOUT_MS",
            "0",
            "preflight.check_timeout_ms",
        ),
        (
            "SLUICE__PREFLIGHT__KEY_PERMISSIONS_URL",
            "api.binance.com",
            "preflight.key_permissions_url",
        ),
        (
            "SLUICE__DAEMON__LIMIT_IOC_FALLBACK_AFTER",
            "0",
            "daemon.limit_ioc_fallback_after",
        ),
        (
            "SLUICE__EXCHANGE__RISK_RESERVE_SHARE",
            "1",
            "exchange.risk_reserve_share",
        ),
        ("SLUICE__API__IDLE_TIMEOUT_MS", "0", "api.idle_timeout_ms"),
        ("SLUICE__API__MAX_CONNECTIONS", "0", "api.max_connections"),
    ];
    for (key, value, named) in cases {
        let err = Settings::load_builtin_with_env(env(&[(key, value)])).unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains(named), "{key}={value}: {text}");
    }
}

#[test]
fn a_malformed_database_url_is_refused_naming_the_key_but_not_the_password() {
    let bad = env(&[("DATABASE_URL", "postgres://u:hunter2@db:port/x")]);
    let err = Settings::load_builtin_with_env(bad).unwrap_err();
    let text = format!("{err:#}");
    assert!(
        text.contains("database.url") && !text.contains("hunter2"),
        "{text}"
    );
}

#[test]
fn every_preset_venue_has_both_hosts_and_custom_has_none() {
    let mut s = Settings::load_builtin_with_env(env(&[]))
        .expect("defaults")
        .exchange;
    for venue in [Venue::Mainnet, Venue::Testnet, Venue::Demo] {
        s.venue = venue;
        assert!(s.effective_rest_url().is_some(), "{venue:?}");
        assert!(s.effective_ws_url().is_some(), "{venue:?}");
    }
    s.venue = Venue::Custom;
    assert!(s.effective_rest_url().is_none() && s.effective_ws_url().is_none());
}

#[test]
fn the_adapter_config_comes_from_the_exchange_section() {
    let s = Settings::load_builtin_with_env(env(&[
        ("SLUICE__EXCHANGE__VENUE", "demo"),
        ("SLUICE__EXCHANGE__API_KEY", "key-1"),
        ("SLUICE__EXCHANGE__API_SECRET", "secret-1"),
        ("SLUICE__EXCHANGE__RECV_WINDOW_MS", "2500"),
    ]))
    .expect("settings load");
    let cfg = s.exchange.binance_config().expect("adapter config");
    assert_eq!(cfg.rest_url.as_str(), "https://demo-fapi.binance.com/");
    assert_eq!(cfg.recv_window_ms, 2500);
    assert_eq!(cfg.venue_name, crate::startup::VENUE);
    let none = Settings::load_builtin_with_env(env(&[])).expect("defaults");
    let err = none.exchange.binance_config().unwrap_err();
    assert!(format!("{err:#}").contains("exchange.api_key"), "{err:#}");
}

#[test]
fn protective_defaults_load_per_symbol_and_a_pct_out_of_range_names_the_key() {
    let dir = dir_with(Some((
        "protect",
        "[symbols.SOLUSDT]\nstop_loss_pct = \"2\"\ntake_profit_pct = \"4.5\"\n",
    )));
    let s = Settings::load_with_env(dir.path(), env(&[("SLUICE_ENV", "protect")]))
        .expect("settings load");
    let p = s.symbols[&sym("SOLUSDT")].default_protection();
    assert!(matches!(
        p.stop_loss.map(|l| l.trigger),
        Some(crate::domain::TriggerSpec::Pct(d)) if d == rust_decimal::Decimal::from(2)
    ));
    assert!(p.take_profit.is_some());
    assert_eq!(s.daemon.stop_watchdog, Duration::from_secs(5));
    assert_eq!(s.daemon.dead_man_switch, Some(Duration::from_secs(60)));
    let dir = dir_with(Some((
        "bad",
        "[symbols.SOLUSDT]\nstop_loss_pct = \"100\"\n",
    )));
    let err = Settings::load_with_env(dir.path(), env(&[("SLUICE_ENV", "bad")])).unwrap_err();
    assert!(
        format!("{err:#}").contains("symbols.SOLUSDT.stop_loss_pct"),
        "{err:#}"
    );
}

#[test]
fn the_executor_caps_have_defaults_and_zero_is_refused_naming_the_key() {
    let dir = dir_with(None);
    let s = Settings::load_with_env(dir.path(), env(&[])).expect("defaults load");
    assert_eq!(s.executor.max_in_flight_per_intent.get(), 16);
    assert_eq!(s.executor.max_in_flight.get(), 32);
    assert!(s.executor.batch_orders);
    assert_eq!(s.executor.max_opens_held.get(), 64);
    let one = env(&[("SLUICE__EXECUTOR__MAX_IN_FLIGHT_PER_INTENT", "1")]);
    let s = Settings::load_with_env(dir.path(), one).expect("settings load");
    let mut cfg = crate::router::ExecutorConfig::default();
    s.executor.apply(&mut cfg);
    assert_eq!(cfg.max_in_flight_per_intent, 1);
    let zero = env(&[("SLUICE__EXECUTOR__MAX_IN_FLIGHT", "0")]);
    let err = Settings::load_with_env(dir.path(), zero).unwrap_err();
    assert!(format!("{err:#}").contains("max_in_flight"), "{err:#}");
    let zero = env(&[("SLUICE__EXECUTOR__MAX_OPENS_HELD", "0")]);
    let err = Settings::load_with_env(dir.path(), zero).unwrap_err();
    assert!(format!("{err:#}").contains("max_opens_held"), "{err:#}");
}
