//! Paper mode: the simulator in-process on a loopback port, holding the seed-000
//! position, so the real daemon (real adapter, real ledger) can be tried without an
//! exchange account.
//!
//! The demo scenario is seed 000 as it happened: a one-way account SHORT 8,486.84
//! SOLUSDT (step 0.01) where the venue enforces a MARKET cap of 400 that exchangeInfo
//! does not publish (it shows 5,000). Closing it takes one intent; the router learns the
//! cap from the -4005 rejections.

use std::net::SocketAddr;

use anyhow::Context;

use crate::settings::{Secret, Settings, Venue};
use crate::sim::scenario::{DEMO_API_KEY, DEMO_API_SECRET};
use crate::sim::{Scenario, SimHandle};

/// The seed-000 position size.
pub const DEMO_SHORT_QTY: &str = "8486.84";

/// The demo scenario as TOML (the same text `sluice sim --scenario` accepts).
pub fn demo_scenario_toml() -> String {
    format!(
        r#"
[[symbols]]
name = "SOLUSDT"
mark_price = "180"
step_size = "0.01"
quantity_precision = 2
min_qty = "0.01"
market_min_qty = "0.01"
market_max_qty = "5000"
hidden_market_max_qty = "400"

[[accounts]]
api_key = "{DEMO_API_KEY}"
api_secret = "{DEMO_API_SECRET}"
usdt = "1000000"
positions = [ {{ symbol = "SOLUSDT", side = "SHORT", quantity = "{DEMO_SHORT_QTY}", entry_price = "180" }} ]
"#
    )
}

/// The demo scenario: seed 000's SHORT with the hidden MARKET cap.
pub fn demo_scenario() -> anyhow::Result<Scenario> {
    Scenario::from_toml_str(&demo_scenario_toml())
        .map_err(|e| anyhow::anyhow!("the built-in demo scenario is invalid: {e}"))
}

/// Start the simulator with the demo scenario on `listen` (port 0 picks a free port).
pub async fn start_simulator(listen: SocketAddr) -> anyhow::Result<SimHandle> {
    crate::sim::spawn(demo_scenario()?, listen)
        .await
        .context("failed to start the paper-mode simulator")
}

/// Point `settings` at a running paper simulator with the demo account's keys.
pub fn point_at(settings: &mut Settings, sim: &SimHandle) {
    settings.exchange.venue = Venue::Custom;
    settings.exchange.rest_url = Some(sim.base_url());
    settings.exchange.ws_url = Some(sim.ws_url());
    settings.exchange.api_key = Some(DEMO_API_KEY.to_string());
    settings.exchange.api_secret = Some(Secret::new(DEMO_API_SECRET.to_string()));
    settings.exchange.api_secret_file = None;
}

/// `sluice run --paper`: the demo simulator on a loopback port, then the normal daemon
/// (real adapter, real ledger) against it, until `shutdown`.
pub async fn run(
    mut settings: Settings,
    shutdown: crate::shutdown::Shutdown,
) -> anyhow::Result<()> {
    let sim = start_simulator(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    tracing::info!(simulator = %sim.base_url(), "paper mode: simulator holds SHORT {DEMO_SHORT_QTY} SOLUSDT with a hidden MARKET cap of 400");
    point_at(&mut settings, &sim);
    let app = crate::startup::Application::build(settings).await?;
    let result = app.run_until_stopped(shutdown).await;
    sim.shutdown().await;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_scenario_holds_the_seed_000_short_with_a_hidden_cap() {
        let s = demo_scenario().expect("demo scenario parses");
        let sol = s
            .symbols
            .iter()
            .find(|x| x.name == "SOLUSDT")
            .expect("SOLUSDT");
        assert_eq!(
            sol.hidden_market_max_qty,
            Some(rust_decimal_macros::dec!(400))
        );
        assert_eq!(sol.market_step, rust_decimal_macros::dec!(0.01));
        let pos = &s.accounts[0].positions[0];
        assert_eq!(pos.amount, rust_decimal_macros::dec!(-8486.84));
    }
}
