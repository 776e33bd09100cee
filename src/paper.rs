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

use crate::settings::{DatabaseUrl, Secret, Settings, Venue};
use sluice_sim::{Scenario, SimHandle, DEMO_API_KEY, DEMO_API_SECRET};

/// The seed-000 position size.
pub(crate) const DEMO_SHORT_QTY: &str = "8486.84";

/// The demo scenario as TOML (the same text `sluice sim --scenario` accepts).
pub(crate) fn demo_scenario_toml() -> String {
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
    sluice_sim::spawn(demo_scenario()?, listen)
        .await
        .context("failed to start the paper-mode simulator")
}

/// Point `settings` at a running paper simulator with the demo account's keys.
pub(crate) fn point_at(settings: &mut Settings, sim: &SimHandle) -> anyhow::Result<()> {
    let url = |raw: String| {
        url::Url::parse(&raw).with_context(|| format!("the paper simulator's URL `{raw}`"))
    };
    settings.exchange.venue = Venue::Custom;
    settings.exchange.rest_url = Some(url(sim.base_url())?);
    settings.exchange.ws_url = Some(url(sim.ws_url())?);
    settings.exchange.api_key = Some(DEMO_API_KEY.to_string());
    settings.exchange.api_secret = Some(Secret::new(DEMO_API_SECRET.to_string()));
    settings.exchange.api_secret_file = None;
    Ok(())
}

/// The paper ledger's name: the configured database's name with `_paper` appended.
pub(crate) fn paper_database_name(database: &DatabaseUrl) -> String {
    let name = database.options().get_database().unwrap_or_default();
    let base = if name.is_empty() { "sluice" } else { name };
    format!("{}_paper", base.to_ascii_lowercase().replace('-', "_"))
}

/// Point `settings` at the paper ledger (created if missing): paper fills and the
/// simulator's demo positions must never reach the ledger of a real account.
async fn use_paper_database(settings: &mut Settings) -> anyhow::Result<()> {
    let real = settings.database.url()?;
    let name = paper_database_name(real);
    crate::ledger::Ledger::create_database_if_missing(real.options().clone(), &name)
        .await
        .map_err(|e| anyhow::anyhow!("failed to create the paper ledger database {name}: {e}"))?;
    let paper = real
        .with_database(&name)
        .map_err(|e| anyhow::anyhow!("database.url: {e}"))?;
    tracing::info!(database = %name, "paper mode: the ledger is a database of its own");
    settings.database.url = Some(paper);
    Ok(())
}

/// `sluice run --paper`, first half: the paper ledger, the demo simulator on a loopback
/// port, and `settings` pointed at both. The caller (`commands::run_daemon`) runs
/// preflight and the daemon against them, then shuts `sim` down.
pub async fn prepare(settings: &mut Settings) -> anyhow::Result<SimHandle> {
    use_paper_database(settings).await?;
    let sim = start_simulator(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    tracing::info!(simulator = %sim.base_url(), "paper mode: simulator holds SHORT {DEMO_SHORT_QTY} SOLUSDT with a hidden MARKET cap of 400");
    point_at(settings, &sim)?;
    Ok(sim)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_paper_ledger_is_named_after_the_real_one_and_never_equals_it() {
        let url = |raw: &str| DatabaseUrl::parse(raw).expect("url");
        let real = url("postgres://u:p@db:5432/sluice");
        let name = paper_database_name(&real);
        assert_eq!(name, "sluice_paper");
        let paper = real.with_database(&name).expect("paper url");
        assert_eq!(paper.options().get_database(), Some("sluice_paper"));
        assert_eq!(paper.options().get_host(), "db");
        assert_ne!(paper.expose(), real.expose());
        let unnamed = url("postgres://u@db/");
        if std::env::var_os("PGDATABASE").is_none() {
            assert_eq!(paper_database_name(&unnamed), "sluice_paper");
        }
    }

    #[tokio::test]
    async fn the_demo_scenario_holds_the_seed_000_short_and_publishes_the_looser_cap() {
        let sim = start_simulator("127.0.0.1:0".parse().expect("addr"))
            .await
            .expect("demo simulator starts");
        let get = |path: &str| {
            let url = format!("{}{path}", sim.base_url());
            async move {
                let body = reqwest::get(url).await.expect("simulator answers");
                body.json::<serde_json::Value>().await.expect("JSON")
            }
        };
        let state = get("/sim/state").await;
        let positions = &state["accounts"][0]["positions"];
        assert_eq!(positions.as_array().map(Vec::len), Some(1), "{positions}");
        assert_eq!(positions[0]["symbol"], "SOLUSDT");
        assert_eq!(positions[0]["position_amt"], format!("-{DEMO_SHORT_QTY}"));
        let info = get("/fapi/v1/exchangeInfo").await;
        let sol = info["symbols"]
            .as_array()
            .and_then(|s| s.iter().find(|x| x["symbol"] == "SOLUSDT"))
            .expect("SOLUSDT listed");
        let market = sol["filters"]
            .as_array()
            .and_then(|f| f.iter().find(|x| x["filterType"] == "MARKET_LOT_SIZE"))
            .expect("MARKET_LOT_SIZE");
        // exchangeInfo shows 5,000; the venue enforces 400 (the daemon tests learn it).
        assert_eq!(
            (&market["maxQty"], &market["stepSize"]),
            (&"5000".into(), &"0.01".into())
        );
        sim.shutdown().await;
    }
}
