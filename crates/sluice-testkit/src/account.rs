//! The one test account and the one scenario builder: every test that starts a
//! simulator trades on the simulator's own demo key pair with 1 000 000 USDT, one-way
//! unless the test's TOML says otherwise, on a loopback port of its own.

use std::net::SocketAddr;

use serde_json::Value;
use sluice_sim::spawn;

/// The simulator's types, named here only: the rest of this crate takes them from here.
pub use sluice_sim::{Scenario, SimHandle};

/// The test account's API key (the simulator's demo key: play money, not a secret).
pub const KEY: &str = sluice_sim::scenario::DEMO_API_KEY;
/// The test account's HMAC secret.
pub const SECRET: &str = sluice_sim::scenario::DEMO_API_SECRET;

/// `extra` TOML (top-level keys, `[venue]`, `[[faults]]`…), then the test account with
/// `account_extra` keys (`position_mode`, `positions = […]`…).
pub fn scenario(extra: &str, account_extra: &str) -> Scenario {
    let text = format!(
        "{extra}\n[[accounts]]\napi_key = \"{KEY}\"\napi_secret = \"{SECRET}\"\nusdt = \"1000000\"\n{account_extra}\n"
    );
    Scenario::from_toml_str(&text).expect("test scenario parses")
}

/// A simulator serving `scenario` on a free loopback port.
pub async fn start_sim(scenario: Scenario) -> SimHandle {
    let addr: SocketAddr = "127.0.0.1:0".parse().expect("loopback address");
    spawn(scenario, addr).await.expect("simulator starts")
}

/// The simulator's own view (`GET /sim/state`): accounts, balances, positions, orders.
pub async fn sim_state(sim: &SimHandle) -> Value {
    reqwest::get(format!("{}/sim/state", sim.base_url()))
        .await
        .expect("GET /sim/state")
        .json()
        .await
        .expect("/sim/state is JSON")
}

/// The test account in [`sim_state`]: the one holding [`KEY`] (the first account when
/// none does, e.g. a scenario of other keys only).
pub async fn sim_account(sim: &SimHandle) -> Value {
    let state = sim_state(sim).await;
    let accounts = state["accounts"].as_array().cloned().unwrap_or_default();
    let holds_key = |a: &&Value| {
        a["apiKeys"]
            .as_array()
            .is_some_and(|keys| keys.iter().any(|k| k.as_str() == Some(KEY)))
    };
    accounts
        .iter()
        .find(holds_key)
        .or(accounts.first())
        .cloned()
        .unwrap_or(Value::Null)
}
