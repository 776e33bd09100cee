//! What the end-to-end benches share: a fresh database per scenario, the real `sluice run`
//! binary against a simulator, waiting for it to be ready, and the daemon process's CPU
//! time and peak memory read from Linux's /proc.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sluice::ledger::Ledger;
use sluice_sim::{SimHandle, DEMO_API_KEY, DEMO_API_SECRET};

/// The Postgres server the benches use (`DATABASE_URL`), and the scenario names given
/// after `--` (empty: run every scenario).
pub(crate) fn bench_args() -> anyhow::Result<(String, Vec<String>)> {
    let base = std::env::var("DATABASE_URL").map_err(|_| {
        anyhow::anyhow!("DATABASE_URL: run `eval \"$(scripts/postgres.sh)\"` first")
    })?;
    let only = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    Ok((base, only))
}

/// Database `name` on the server `base` points at, dropped and created anew, migrated.
pub(crate) async fn fresh_db(base: &str, name: &str) -> anyhow::Result<(String, Ledger)> {
    let admin = Ledger::connect(base).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(admin.pool())
        .await?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(admin.pool())
        .await?;
    let (prefix, _) = base
        .rsplit_once('/')
        .ok_or_else(|| anyhow::anyhow!("DATABASE_URL has no database"))?;
    let url = format!("{prefix}/{name}");
    let ledger = Ledger::connect(&url).await?;
    ledger.migrate().await?;
    Ok((url, ledger))
}

/// Start `sluice run` with its control API on `api` (port 0: a free port picked here) and
/// a budget of `allocation_usdt` (within the scenario's wallet, or preflight holds opens
/// and `/readyz` never says `ready`).
pub(crate) fn daemon_on(
    sim: &SimHandle,
    db_url: &str,
    api: std::net::SocketAddr,
    allocation_usdt: &str,
) -> anyhow::Result<(Child, std::net::SocketAddr)> {
    // A free port for the API, so /readyz can be polled (a small race with other binds).
    let api = std::net::TcpListener::bind(api)?.local_addr()?;
    // SLUICE_BENCH_DAEMON_LOG=<filter> shows the daemon's log (e.g. `info`) when a run fails.
    let log = std::env::var("SLUICE_BENCH_DAEMON_LOG").ok();
    // SLUICE_BENCH_BIN=<path> runs another build of the daemon (A/B against a copy of the
    // binary built from an older commit, same bench code).
    let bin = std::env::var("SLUICE_BENCH_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_sluice").to_string());
    let child = Command::new(bin)
        .arg("run")
        .env("DATABASE_URL", db_url)
        .env("SLUICE__API__LISTEN", api.to_string())
        .env_remove("SLUICE__API__TOKEN")
        .env("SLUICE__API__AUTH", "none")
        .env("SLUICE__EXCHANGE__VENUE", "custom")
        .env("SLUICE__EXCHANGE__REST_URL", sim.base_url())
        .env("SLUICE__EXCHANGE__WS_URL", sim.ws_url())
        .env("SLUICE__EXCHANGE__API_KEY", DEMO_API_KEY)
        .env("SLUICE__EXCHANGE__API_SECRET", DEMO_API_SECRET)
        .env("SLUICE__BUDGET__ALLOCATION_USDT", allocation_usdt)
        .env(
            "SLUICE__TELEMETRY__LOG_FILTER",
            log.as_deref().unwrap_or("error"),
        )
        .stdout(Stdio::null())
        .stderr(if log.is_some() {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .spawn()?;
    Ok((child, api))
}

/// Poll the daemon's `/readyz` until it says `ready` (its takeover grace, recovery and
/// start-up reconcile are behind it, so what is measured next is the hot path).
pub(crate) async fn wait_ready(api: std::net::SocketAddr) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let url = format!("http://{api}/readyz");
    wait_for(Duration::from_secs(60), || {
        let req = http.get(&url).send();
        async move {
            Ok(match req.await {
                Ok(r) => r
                    .json::<serde_json::Value>()
                    .await
                    .ok()
                    .is_some_and(|b| b["status"] == "ready"),
                Err(_) => false,
            })
        }
    })
    .await
}

/// Poll `pred` every 10 ms until it holds, or fail after `within`.
pub(crate) async fn wait_for<F, Fut>(within: Duration, mut pred: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<bool>>,
{
    let deadline = Instant::now() + within;
    while !pred().await? {
        anyhow::ensure!(
            Instant::now() < deadline,
            "condition not met within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}

/// utime + stime of `pid`, in ms (Linux /proc).
pub(crate) fn cpu_ms(pid: u32) -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = f.get(11).and_then(|s| s.parse().ok()).unwrap_or(0)
        + f.get(12).and_then(|s| s.parse().ok()).unwrap_or(0);
    Ok(ticks * 10) // USER_HZ is 100 on Linux
}

/// VmHWM of `pid` in KiB.
pub(crate) fn rss_kb(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    Ok(status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0))
}
