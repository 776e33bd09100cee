//! Side by side, in one run: closing a SHORT of 80,000 SOLUSDT behind a hidden MARKET cap of
//! 400 (published 5,000), with the venue's order limits lifted so each figure is the
//! client's own cost. Three clients, each against a fresh simulator on loopback:
//!
//! - sluice: one close intent through the real `sluice run` daemon (as `e2e_daemon` does),
//!   which has to learn the cap from -4005;
//! - ccxt and the official Python SDK, from the project's pinned interop virtualenv
//!   (`tests/interop/run.sh` creates `target/interop-venv`): sequential reduce-only MARKET
//!   chunks of 400, the cap known in advance (`benches/peers/close_in_chunks.py`).
//!
//! Each is measured without and with 50 ms of venue latency on order requests (the
//! simulator's fault window `latency_ms`). Reports wall time to flat, orders sent, and CPU
//! per order: the daemon process's utime + stime from /proc for sluice (the bench process
//! and Postgres excluded), the Python process's CPU time in its send loop for the peers.
//!
//! Run (release): `eval "$(scripts/postgres.sh)"; tests/interop/run.sh -k nothing || true`
//! (creates the virtualenv), then `CARGO_TARGET_DIR=target-release cargo bench --bench side_by_side`.
//! Arguments after `--` pick clients by name (`sluice`, `ccxt`, `sdk`).

use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use sluice::domain::{IntentSpec, PositionMode, Usdt};
use sluice::ledger::NewIntent;
use sluice_sim::{spawn, Scenario};
use sluice_sim::{DEMO_API_KEY, DEMO_API_SECRET};

mod support;

use support::{cpu_ms, daemon_on, fresh_db, rss_kb, wait_for, wait_ready};

const VENUE: &str = "binance-usdm";
/// The daemon's budget (USDT), within the scenario's wallet.
const ALLOCATION: &str = "50000000";
const TOTAL: u32 = 80_000;
const CAP: u32 = 400;

struct Row {
    client: &'static str,
    latency_ms: u64,
    wall_s: f64,
    orders: usize,
    cpu_ms_per_order: f64,
    note: String,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let (base, only) = support::bench_args()?;
    let wanted = |name: &str| only.is_empty() || only.iter().any(|o| o == name);
    let mut rows = Vec::new();
    for latency_ms in [0, 50] {
        if wanted("sluice") {
            rows.push(sluice_close(&base, latency_ms).await?);
        }
        for peer in ["ccxt", "sdk"] {
            if wanted(peer) {
                rows.push(peer_close(peer, latency_ms).await?);
            }
        }
    }
    println!("| client | venue latency | wall to flat | orders | CPU per order | notes |");
    println!("|---|---|---|---|---|---|");
    for r in &rows {
        println!(
            "| {} | {} ms | {:.2} s | {} | {:.3} ms | {} |",
            r.client, r.latency_ms, r.wall_s, r.orders, r.cpu_ms_per_order, r.note
        );
    }
    Ok(())
}

/// SOLUSDT with the hidden cap and a deep book, limits lifted, a SHORT of 80,000.
fn scenario(latency_ms: u64) -> anyhow::Result<Scenario> {
    let faults = if latency_ms > 0 {
        format!("[[faults]]\nfrom = 0\nlatency_ms = {latency_ms}\n")
    } else {
        String::new()
    };
    let text = format!(
        "[rate_limits]\nrequest_weight_per_minute = 10000000\norders_per_10s = 10000000\norders_per_minute = 10000000\n\
         [[symbols]]\nname = \"SOLUSDT\"\nmarket_max_qty = \"5000\"\nhidden_market_max_qty = \"{CAP}\"\nlevel_qty = \"1000000\"\n\
         {faults}\
         [[accounts]]\napi_key = \"{DEMO_API_KEY}\"\napi_secret = \"{DEMO_API_SECRET}\"\nusdt = \"100000000\"\n\
         positions = [ {{ symbol = \"SOLUSDT\", side = \"SHORT\", quantity = \"{TOTAL}\", entry_price = \"180\" }} ]\n"
    );
    Scenario::from_toml_str(&text).map_err(|e| anyhow::anyhow!(e))
}

async fn sluice_close(base: &str, latency_ms: u64) -> anyhow::Result<Row> {
    let sim = spawn(scenario(latency_ms)?, "127.0.0.1:0".parse()?).await?;
    let (url, ledger) = fresh_db(base, &format!("sluice_bench_sbs_{latency_ms}")).await?;
    let (mut child, api) = daemon_on(&sim, &url, "127.0.0.1:0".parse()?, ALLOCATION)?;
    wait_ready(api).await?;
    wait_for(Duration::from_secs(60), || async {
        Ok(!ledger.open_positions().await?.is_empty())
    })
    .await?;
    let pid = child.id();
    let position = ledger.open_positions().await?.first().map(|p| p.id);
    around("before", pid)?;
    let cpu_before = cpu_ms(pid)?;
    let position = position.ok_or_else(|| anyhow::anyhow!("no open position to close"))?;
    let intent = NewIntent {
        spec: IntentSpec::Close {
            position,
            quantity: None,
        },
        venue: VENUE.into(),
        position_mode: PositionMode::OneWay,
        reference_price: None,
        idempotency_key: format!("sbs-{latency_ms}"),
        reason: "bench".into(),
    };
    let started = Instant::now();
    let created = ledger
        .create_intent(&intent, Usdt::new(Decimal::ONE))
        .await?
        .intent;
    loop {
        let row = ledger
            .intent(created.id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("intent gone"))?;
        if row.state.is_terminal() {
            anyhow::ensure!(row.error.is_none(), "close ended {:?}", row.error);
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(600),
            "not flat in 600 s"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let wall = started.elapsed().as_secs_f64();
    let cpu = cpu_ms(pid)? - cpu_before;
    around("after", pid)?;
    let rss = rss_kb(pid)?;
    let orders = ledger.orders_of_intent(created.id).await?;
    let refused = orders
        .iter()
        .filter(|o| o.last_error_code == Some(-4005))
        .count();
    child.kill()?;
    child.wait()?;
    sim.shutdown().await;
    Ok(Row {
        client: "sluice (one close intent, daemon)",
        latency_ms,
        wall_s: wall,
        orders: orders.len(),
        cpu_ms_per_order: cpu as f64 / orders.len().max(1) as f64,
        note: format!(
            "{refused} × -4005 while learning the cap; daemon VmHWM {} MiB",
            rss / 1024
        ),
    })
}

/// `SLUICE_BENCH_AROUND=<program>`: run `<program> before|after <daemon pid>` around the
/// close (e.g. a script calling `callgrind_control -z` / `--dump` when `SLUICE_BENCH_BIN`
/// starts the daemon under valgrind), so a profile covers the close alone.
fn around(when: &str, pid: u32) -> anyhow::Result<()> {
    if let Ok(program) = std::env::var("SLUICE_BENCH_AROUND") {
        let status = std::process::Command::new(program)
            .args([when, &pid.to_string()])
            .status()?;
        anyhow::ensure!(status.success(), "SLUICE_BENCH_AROUND {when}: {status}");
    }
    Ok(())
}

async fn peer_close(peer: &'static str, latency_ms: u64) -> anyhow::Result<Row> {
    let python = std::env::var("SLUICE_INTEROP_PYTHON").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/target/interop-venv/bin/python"
        )
        .to_string()
    });
    let sim = spawn(scenario(latency_ms)?, "127.0.0.1:0".parse()?).await?;
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/benches/peers/close_in_chunks.py"
    );
    let (total, cap) = (TOTAL.to_string(), CAP.to_string());
    let base = sim.base_url();
    let args = [
        script,
        peer,
        &base,
        DEMO_API_KEY,
        DEMO_API_SECRET,
        "SOLUSDT",
        &total,
        &cap,
    ];
    let out = tokio::process::Command::new(&python)
        .args(args)
        .output()
        .await?;
    sim.shutdown().await;
    anyhow::ensure!(
        out.status.success(),
        "{peer}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let orders = line["orders"].as_u64().unwrap_or(0) as usize;
    let cpu_s = line["cpu_s"].as_f64().unwrap_or(0.0);
    Ok(Row {
        client: if peer == "ccxt" {
            "ccxt 4.5.90, chunks of 400 (cap known)"
        } else {
            "official SDK 18.0.1, chunks of 400 (cap known)"
        },
        latency_ms,
        wall_s: line["wall_s"].as_f64().unwrap_or(0.0),
        orders,
        cpu_ms_per_order: cpu_s * 1000.0 / orders.max(1) as f64,
        note: "sequential reduce-only MARKET".into(),
    })
}
