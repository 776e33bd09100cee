//! The real binary: `sluice smoke` against the simulator opens the smallest allowed
//! position through the daemon's executor and ledger, closes it, checks ledger ==
//! exchange and doctor, prints the evidence and exits 0; it sends nothing and exits 1
//! when the symbol is not flat.

use std::process::{Command, Output};

use serde_json::Value;
use sluice::domain::IntentState;
use sluice::ledger::Ledger;
use sluice_testkit::preflight::*;
use sqlx::PgPool;

async fn smoke(pool: &PgPool, sim: &sluice_sim::SimHandle, args: &[&str]) -> Output {
    let db = sluice_testkit::process::database_url(pool).await;
    let mut env = env_for(sim, &[]);
    env.insert("DATABASE_URL".into(), db);
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_sluice"))
            .arg("smoke")
            .args(&args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("SLUICE_CONFIG_DIR", config_dir())
            .env("SLUICE__API__AUTH", "none")
            .envs(env)
            .output()
            .expect("run sluice smoke")
    })
    .await
    .expect("join")
}

async fn sim_account(sim: &sluice_sim::SimHandle) -> Value {
    sluice_testkit::process::sim_account(sim).await
}

#[sqlx::test(migrations = "./migrations")]
async fn smoke_opens_and_closes_the_smallest_position_and_exits_0_with_the_evidence(pool: PgPool) {
    // Arrange: a healthy demo account; BTCUSDT at 65,000 needs 0.002 (MIN_NOTIONAL 100).
    let sim = start(scenario("", "")).await;

    // Act.
    let out = smoke(&pool, &sim, &["--timeout-s", "30"]).await;

    // Assert: exit 0 and the evidence printed.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for step in [
        "preflight",
        "leader_lock",
        "flat_before",
        "size",
        "open",
        "close",
        "flat_after",
        "ledger_exchange",
        "doctor",
    ] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with("pass") && l.contains(step)),
            "step {step} passed in\n{stdout}"
        );
    }
    assert!(stdout.contains("0.002 BTCUSDT at mark"), "{stdout}");
    assert!(
        stdout.contains("position before: exchange 0 ledger 0"),
        "{stdout}"
    );
    assert!(
        stdout.contains("position after: exchange 0 ledger 0"),
        "{stdout}"
    );
    assert!(
        stdout.trim_end().ends_with("smoke PASSED on BTCUSDT"),
        "{stdout}"
    );
    // The exchange saw exactly a BUY 0.002 and a reduce-only SELL 0.002, both filled,
    // and holds nothing now.
    let account = sim_account(&sim).await;
    let orders = account["orders"].as_array().cloned().unwrap_or_default();
    let sides: Vec<(String, String)> = orders
        .iter()
        .map(|o| {
            (
                o["side"].as_str().unwrap_or("").to_string(),
                o["executedQty"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        sides,
        vec![
            ("BUY".to_string(), "0.002".to_string()),
            ("SELL".to_string(), "0.002".to_string())
        ],
        "{orders:?}"
    );
    assert!(account["positions"].as_array().is_none_or(|p| p.is_empty()));
    // The ledger holds the two intents, both done, worked by the executor.
    let ledger = Ledger::from_pool(pool);
    let intents = ledger.recent_intents(10).await.unwrap();
    assert_eq!(intents.len(), 2);
    assert!(intents.iter().all(|i| i.state == IntentState::Done));
    for i in &intents {
        assert_eq!(ledger.orders_of_intent(i.id).await.unwrap().len(), 1);
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn smoke_sends_nothing_and_exits_1_when_the_symbol_is_not_flat(pool: PgPool) {
    // Arrange: the account already holds a SOLUSDT SHORT.
    let sim = start(scenario(
        "",
        "positions = [ { symbol = \"SOLUSDT\", side = \"SHORT\", quantity = \"10\", entry_price = \"180\" } ]",
    ))
    .await;

    // Act.
    let out = smoke(&pool, &sim, &["--symbol", "SOLUSDT", "--json"]).await;

    // Assert: exit 1, the failed step says why, and no order reached the exchange.
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    let failed: Vec<&Value> = report["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter(|s| s["passed"] == false)
        .collect();
    assert_eq!(failed.len(), 1, "{report}");
    assert_eq!(failed[0]["name"], "flat_before");
    assert!(failed[0]["detail"]
        .as_str()
        .unwrap_or("")
        .contains("exchange -10"));
    let account = sim_account(&sim).await;
    assert!(account["orders"].as_array().is_none_or(|o| o.is_empty()));
}
