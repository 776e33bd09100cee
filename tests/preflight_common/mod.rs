//! Shared helpers for the preflight tests: a simulator on port 0 holding one demo
//! account, settings pointed at it (as the environment would set them), and the admin
//! call that changes what the account may do.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde_json::Value;
use sluice::ops::preflight::{CheckLine, PreflightReport, Status};
use sluice::settings::Settings;
use sluice_sim::scenario::{DEMO_API_KEY, DEMO_API_SECRET};
use sluice_sim::{spawn, Scenario, SimHandle};

pub fn config_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/config"))
}

/// The demo account (1 000 000 USDT, one-way) plus `account_extra` keys, after `extra`.
pub fn scenario(extra: &str, account_extra: &str) -> Scenario {
    let text = format!(
        "{extra}\n[[accounts]]\napi_key = \"{DEMO_API_KEY}\"\napi_secret = \"{DEMO_API_SECRET}\"\nusdt = \"1000000\"\n{account_extra}\n"
    );
    Scenario::from_toml_str(&text).expect("test scenario parses")
}

pub async fn start(scenario: Scenario) -> SimHandle {
    let addr: SocketAddr = "127.0.0.1:0".parse().expect("addr");
    spawn(scenario, addr).await.expect("simulator starts")
}

/// The environment a deployment would set to point sluice at `sim`, plus `extra`
/// (later pairs win).
pub fn env_for(sim: &SimHandle, extra: &[(&str, &str)]) -> HashMap<String, String> {
    let mut env: HashMap<String, String> = [
        ("SLUICE__EXCHANGE__VENUE", "custom".to_string()),
        ("SLUICE__EXCHANGE__REST_URL", sim.base_url()),
        ("SLUICE__EXCHANGE__WS_URL", sim.ws_url()),
        ("SLUICE__EXCHANGE__API_KEY", DEMO_API_KEY.to_string()),
        ("SLUICE__EXCHANGE__API_SECRET", DEMO_API_SECRET.to_string()),
        ("SLUICE__EXCHANGE__SYMBOLS", "BTCUSDT,SOLUSDT".to_string()),
        ("SLUICE__BUDGET__ALLOCATION_USDT", "1000".to_string()),
        ("SLUICE__PREFLIGHT__CHECK_TIMEOUT_MS", "3000".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for (k, v) in extra {
        env.insert(k.to_string(), v.to_string());
    }
    env
}

pub fn settings(env: HashMap<String, String>) -> Settings {
    Settings::load_with_env(&config_dir(), env).expect("test settings load")
}

/// Run preflight against `sim` with the default environment plus `extra`.
pub async fn preflight(sim: &SimHandle, extra: &[(&str, &str)]) -> PreflightReport {
    sluice::ops::preflight::run(&settings(env_for(sim, extra)))
        .await
        .expect("preflight runs")
}

pub fn failing(report: &PreflightReport) -> Vec<&str> {
    report.failed().map(|l| l.name.as_str()).collect()
}

pub fn line<'a>(report: &'a PreflightReport, name: &str) -> &'a CheckLine {
    report
        .lines
        .iter()
        .find(|l| l.name == name)
        .unwrap_or_else(|| panic!("no line {name} in\n{report}"))
}

/// The report failed exactly `names`, each line failing on its own.
pub fn assert_only_fails(report: &PreflightReport, names: &[&str]) {
    assert_eq!(failing(report), names, "\n{report}");
    assert!(
        report.lines.iter().all(|l| l.status != Status::Warn),
        "\n{report}"
    );
    assert_eq!(report.exit_code(), 1);
}

/// `POST /sim/accounts/<demo key>/permissions`.
pub async fn set_permissions(sim: &SimHandle, body: Value) {
    let resp = reqwest::Client::new()
        .post(format!(
            "{}/sim/accounts/{DEMO_API_KEY}/permissions",
            sim.base_url()
        ))
        .json(&body)
        .send()
        .await
        .expect("admin call reaches the simulator");
    assert_eq!(resp.status().as_u16(), 200, "{:?}", resp.text().await);
}
