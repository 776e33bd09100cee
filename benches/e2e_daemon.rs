//! End-to-end benchmark: the real `sluice run` binary against the in-process simulator,
//! over a fresh Postgres database per scenario. Not a timed test: it measures and prints.
//!
//! Run: `eval "$(scripts/postgres.sh)"; cargo bench --profile dev --bench e2e_daemon`
//! (`--profile dev` reuses the dev build; a release build measures faster numbers).
//! Arguments after `--` select scenarios by name (`latency`, `seed_000`, `flatten`,
//! `opens`, `accounts10`).
//!
//! Measures: intent accepted → first order on the wire (p50/p99, 50 opens); time to flat
//! for the seed-000 close (3 runs); a 1,000-order flatten across 50 symbols against the
//! exchange's floor of 300 orders / 10 s; daemon CPU time per order; resident memory;
//! 500 independent opens sent by 8 concurrent API clients: intent creation latency
//! (p50/p99, HTTP round trip to the control API) and the time until all 500 are done,
//! against the venue's floor of 300 orders per 10 s, then 500 more on the now warm daemon
//! (its steady state: pooled connections have planned their statements); ten accounts × a 100-order flatten at
//! once from one daemon (`support/accounts10.rs`).

use std::process::Child;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sluice::domain::{Direction, IntentSpec, OpenSize, PositionMode, Qty, Symbol, Usdt};
use sluice::ledger::{IntentId, Ledger, NewIntent};
use sluice_sim::scenario::{DEMO_API_KEY, DEMO_API_SECRET};
use sluice_sim::{spawn, Scenario, SimHandle};

#[path = "support/accounts10.rs"]
mod accounts10;
#[path = "support/first_order.rs"]
mod first_order;
mod support;

use support::{cpu_ms, daemon_on, fresh_db, rss_kb, wait_for, wait_ready};

const VENUE: &str = "binance-usdm";
/// The daemon's budget (USDT), within the scenario's wallet.
const ALLOCATION: &str = "100000000";

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let (base, only) = support::bench_args()?;
    let wanted = |name: &str| only.is_empty() || only.iter().any(|o| name.contains(o.as_str()));
    if wanted("latency") {
        latency(&base).await?;
    }
    if wanted("seed_000") {
        seed_000(&base).await?;
    }
    if wanted("flatten") {
        flatten_1000(&base).await?;
    }
    if wanted("opens") {
        opens_500(&base).await?;
    }
    if wanted("accounts10") {
        accounts10::accounts10(&base).await?;
    }
    Ok(())
}

fn daemon(sim: &SimHandle, db_url: &str) -> anyhow::Result<Child> {
    Ok(daemon_on(sim, db_url, "127.0.0.1:0".parse()?, ALLOCATION)?.0)
}

fn scenario(symbols: &str, positions: &str) -> anyhow::Result<Scenario> {
    let text = format!(
        "{symbols}\n[[accounts]]\napi_key = \"{DEMO_API_KEY}\"\napi_secret = \"{DEMO_API_SECRET}\"\nusdt = \"100000000\"\npositions = [ {positions} ]\n"
    );
    Scenario::from_toml_str(&text).map_err(|e| anyhow::anyhow!(e))
}

async fn wait_done(
    ledger: &Ledger,
    id: IntentId,
    within: Duration,
) -> anyhow::Result<DateTime<Utc>> {
    let deadline = Instant::now() + within;
    loop {
        let row = ledger
            .intent(id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("intent gone"))?;
        if row.state.is_terminal() {
            anyhow::ensure!(
                row.error.is_none(),
                "intent #{id} ended {:?}: {:?}",
                row.state,
                row.error
            );
            return Ok(row.updated_at);
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "intent #{id} not done within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn new_intent(spec: IntentSpec, key: String) -> NewIntent {
    NewIntent {
        spec,
        venue: VENUE.into(),
        position_mode: PositionMode::OneWay,
        reference_price: None,
        idempotency_key: key,
        reason: "bench".into(),
    }
}

/// A close of all of the first open position.
async fn close_first(ledger: &Ledger, key: String) -> anyhow::Result<NewIntent> {
    let pos = ledger.open_positions().await?;
    let position = pos.first().context("no open position to close")?.id;
    let spec = IntentSpec::Close {
        position,
        quantity: None,
    };
    Ok(new_intent(spec, key))
}

/// Intent accepted (stored) → first attempt of its first order handed to HTTP, measured
/// twice: the intents written by the bench itself (another process: the daemon learns of
/// them by `LISTEN/NOTIFY`) and posted to the daemon's control API (its executor gets
/// the stored row in-process).
async fn latency(base: &str) -> anyhow::Result<()> {
    latency_of(base, Writer::Ledger).await?;
    latency_of(base, Writer::Api).await
}

/// Who stores the latency scenario's intents.
#[derive(Clone, Copy, PartialEq)]
enum Writer {
    /// The bench, straight into the ledger (`Ledger::create_intent`).
    Ledger,
    /// The daemon's control API (`POST /v1/intents`).
    Api,
}

async fn latency_of(base: &str, writer: Writer) -> anyhow::Result<()> {
    let sim = spawn(scenario("", "")?, "127.0.0.1:0".parse()?).await?;
    let db = match writer {
        Writer::Ledger => "sluice_bench_latency",
        Writer::Api => "sluice_bench_latency_api",
    };
    let (url, ledger) = fresh_db(base, db).await?;
    let (mut child, api) = daemon_on(&sim, &url, "127.0.0.1:0".parse()?, ALLOCATION)?;
    wait_ready(api).await?;
    let http = reqwest::Client::new();
    let mut samples = Vec::new();
    let mut traced: [Vec<first_order::Stages>; 2] = [Vec::new(), Vec::new()];
    for i in 0..50 {
        let (id, created_at, committed) = match writer {
            Writer::Ledger => store_latency_intent(&ledger, i).await?,
            Writer::Api => post_latency_intent(&http, api, &ledger, i).await?,
        };
        wait_done(&ledger, id, Duration::from_secs(30)).await?;
        let orders = ledger.orders_of_intent(id).await?;
        let first = orders.first().ok_or_else(|| anyhow::anyhow!("no order"))?;
        let mut sent = None;
        for _ in 0..500 {
            sent = ledger
                .attempts_for(&first.client_order_id)
                .await?
                .first()
                .map(|a| a.sent_at);
            if sent.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let sent = sent.ok_or_else(|| anyhow::anyhow!("attempt never stored"))?;
        samples.push((sent - created_at).num_microseconds().unwrap_or(0) as f64 / 1000.0);
        let stages = first_order::read(&ledger, id, created_at, committed, sent).await?;
        traced[i % 2].push(stages);
    }
    child.kill()?;
    child.wait()?;
    sim.shutdown().await;
    let how = match writer {
        Writer::Ledger => "written by the bench, NOTIFY to the daemon",
        Writer::Api => "posted to the control API, handed over in-process",
    };
    first_order::print_all(how, &samples, &traced);
    Ok(())
}

/// Intent `i` of the latency scenario (even: an open LONG 1 SOLUSDT; odd: a close of it),
/// stored by the bench: its id, `created_at` and when the bench saw the commit.
async fn store_latency_intent(
    ledger: &Ledger,
    i: usize,
) -> anyhow::Result<(IntentId, DateTime<Utc>, DateTime<Utc>)> {
    let spec = IntentSpec::Open {
        symbol: Symbol::new("SOLUSDT")?,
        direction: Direction::Long,
        size: OpenSize::Quantity(Qty::parse("quantity", "1")?),
    };
    let mut n = new_intent(spec, format!("lat-{i}"));
    n.reference_price = Some(sluice::domain::Price::parse("p", "180")?);
    if i % 2 == 1 {
        // One-way: the SHORT open needs the LONG closed first; close it instead.
        n = close_first(ledger, format!("lat-{i}")).await?;
    }
    let created = ledger
        .create_intent(&n, Usdt::new(Decimal::new(100_000_000, 0)))
        .await?
        .intent;
    Ok((created.id, created.created_at, Utc::now()))
}

/// Intent `i` of the latency scenario posted to the control API. The commit is taken as
/// the API's answer (later than the commit itself by the answer's trip).
async fn post_latency_intent(
    http: &reqwest::Client,
    api: std::net::SocketAddr,
    ledger: &Ledger,
    i: usize,
) -> anyhow::Result<(IntentId, DateTime<Utc>, DateTime<Utc>)> {
    let key = format!("lat-api-{i}");
    let body = if i.is_multiple_of(2) {
        serde_json::json!({"kind": "open", "symbol": "SOLUSDT", "side": "long",
            "quantity": "1", "idempotency_key": key, "reason": "bench"})
    } else {
        serde_json::json!({"kind": "close", "symbol": "SOLUSDT", "side": "long",
            "idempotency_key": key, "reason": "bench"})
    };
    let answer = http
        .post(format!("http://{api}/v1/intents"))
        .json(&body)
        .send()
        .await?;
    let committed = Utc::now();
    let status = answer.status();
    let text = answer.text().await?;
    anyhow::ensure!(status.is_success(), "intent {i} refused: {status} {text}");
    let id: serde_json::Value = serde_json::from_str(&text)?;
    let id = IntentId(id["id"].as_i64().context("no id in the answer")?);
    let row = ledger
        .intent(id)
        .await?
        .context("posted intent not stored")?;
    Ok((id, row.created_at, committed))
}

/// The seed-000 close: one intent, hidden cap 400 learned, until flat.
async fn seed_000(base: &str) -> anyhow::Result<()> {
    for run in 0..3 {
        let sim = sluice::paper::start_simulator("127.0.0.1:0".parse()?).await?;
        let (url, ledger) = fresh_db(base, &format!("sluice_bench_seed000_{run}")).await?;
        let mut child = daemon(&sim, &url)?;
        wait_for(Duration::from_secs(60), || async {
            Ok(!ledger.open_positions().await?.is_empty())
        })
        .await?;
        let n = close_first(&ledger, format!("seed000-{run}")).await?;
        let created = ledger
            .create_intent(&n, Usdt::new(Decimal::ONE))
            .await?
            .intent;
        let done = wait_done(&ledger, created.id, Duration::from_secs(120)).await?;
        let orders = ledger.orders_of_intent(created.id).await?;
        let filled = orders
            .iter()
            .filter(|o| !o.filled_quantity.is_zero())
            .count();
        println!(
            "seed 000 close (8,486.84 SOLUSDT, hidden cap 400), run {run}: flat in {} ms, {} orders ({} filled, {} refused -4005)",
            (done - created.created_at).num_milliseconds(),
            orders.len(),
            filled,
            orders.iter().filter(|o| o.last_error_code == Some(-4005)).count()
        );
        child.kill()?;
        child.wait()?;
        sim.shutdown().await;
    }
    Ok(())
}

/// 50 symbols × SHORT 2,000 with a MARKET cap of 100: a flatten of 1,000 orders.
async fn flatten_1000(base: &str) -> anyhow::Result<()> {
    let names: Vec<String> = (0..50).map(|i| format!("BENCH{i:02}USDT")).collect();
    let symbols: String = names
        .iter()
        .map(|n| format!("[[symbols]]\nname = \"{n}\"\nmark_price = \"100\"\nstep_size = \"1\"\nmin_qty = \"1\"\nmarket_min_qty = \"1\"\nmarket_max_qty = \"100\"\nlevel_qty = \"5000\"\nmin_notional = \"5\"\n"))
        .collect();
    let positions: Vec<String> = names
        .iter()
        .map(|n| format!("{{ symbol = \"{n}\", side = \"SHORT\", quantity = \"2000\", entry_price = \"100\" }}"))
        .collect();
    let sim = spawn(
        scenario(&symbols, &positions.join(", "))?,
        "127.0.0.1:0".parse()?,
    )
    .await?;
    let (url, ledger) = fresh_db(base, "sluice_bench_flatten").await?;
    let mut child = daemon(&sim, &url)?;
    let pid = child.id();
    wait_for(Duration::from_secs(120), || async {
        Ok(ledger.open_positions().await?.len() == 50)
    })
    .await?;
    let cpu_before = cpu_ms(pid)?;
    let n = new_intent(IntentSpec::Flatten { symbol: None }, "bench-flatten".into());
    let (created, _) = ledger.flatten(&n, "bench").await?;
    let started = Instant::now();
    wait_done(&ledger, created.intent.id, Duration::from_secs(600)).await?;
    let elapsed = started.elapsed();
    let cpu = cpu_ms(pid)? - cpu_before;
    let rss = rss_kb(pid)?;
    let orders = ledger.orders_of_intent(created.intent.id).await?;
    let sent = orders.len();
    let (throttled,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM order_attempts WHERE http_status IN (418, 429)")
            .fetch_one(ledger.pool())
            .await?;
    let times: Vec<DateTime<Utc>> = orders.iter().map(|o| o.created_at).collect();
    let max_10s = times
        .iter()
        .map(|t| {
            times
                .iter()
                .filter(|u| **u >= *t && **u < *t + chrono::Duration::seconds(10))
                .count()
        })
        .max()
        .unwrap_or(0);
    // The venue's own measure: its fixed 10 s window count, from X-MBX-ORDER-COUNT-10S.
    let (max_window,): (Option<i64>,) =
        sqlx::query_as("SELECT max(order_count_10s) FROM order_attempts WHERE is_order")
            .fetch_one(ledger.pool())
            .await?;
    let max_window = max_window.unwrap_or(0);
    // Orders per fixed 10 s window of (loopback) server time, first to last: any window
    // but the first and the last below 300 is pacing slack.
    let mut per_window: Vec<(i64, usize)> = Vec::new();
    for w in times
        .iter()
        .map(|t| t.timestamp_millis().div_euclid(10_000))
    {
        match per_window.iter_mut().find(|(k, _)| *k == w) {
            Some((_, n)) => *n += 1,
            None => per_window.push((w, 1)),
        }
    }
    per_window.sort_unstable();
    let first = times.iter().min().copied().unwrap_or_default();
    let into_first = first.timestamp_millis().rem_euclid(10_000) as f64 / 1000.0;
    println!(
        "orders per venue 10 s window: {:?} (first order {into_first:.1} s into its window)",
        per_window.iter().map(|(_, n)| *n).collect::<Vec<_>>()
    );
    println!(
        "flatten across 50 symbols: {sent} orders in {:.1} s ({:.1} orders/s; the venue allows 300 per fixed 10 s window: a steady 30/s would take {:.1} s); busiest 10 s: {max_10s} orders (venue's busiest 10 s window, X-MBX-ORDER-COUNT-10S: {max_window}); 418/429 responses: {throttled}",
        elapsed.as_secs_f64(),
        sent as f64 / elapsed.as_secs_f64(),
        sent as f64 / 30.0
    );
    println!(
        "daemon CPU during the flatten: {cpu} ms = {:.2} ms per order; resident memory high-water mark: {} MiB",
        cpu as f64 / sent.max(1) as f64,
        rss / 1024
    );
    child.kill()?;
    child.wait()?;
    sim.shutdown().await;
    Ok(())
}

/// 500 opens of 1 SOLUSDT each, posted to the control API by 8 concurrent clients.
async fn opens_500(base: &str) -> anyhow::Result<()> {
    const OPENS: usize = 500;
    const CLIENTS: usize = 8;
    let sim = spawn(scenario("", "")?, "127.0.0.1:0".parse()?).await?;
    let (url, ledger) = fresh_db(base, "sluice_bench_opens").await?;
    let (mut child, api) = daemon_on(&sim, &url, "127.0.0.1:0".parse()?, ALLOCATION)?;
    wait_ready(api).await?;
    let pid = child.id();
    let cpu_before = cpu_ms(pid)?;
    let postmaster = postmaster_pid(ledger.pool()).await?;
    let split_before = cpu_split(pid, postmaster)?;
    let started = Instant::now();
    let mut created = post_opens(api, 0, OPENS, CLIENTS).await?;
    let submitted = started.elapsed();
    let split = cpu_split(pid, postmaster)?.since(split_before);
    // How much of the executor's work shared the posting's CPU.
    let (taken_up, sent): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM intents WHERE state <> 'accepted'), (SELECT count(*) FROM orders)",
    )
    .fetch_one(ledger.pool())
    .await?;
    wait_for(Duration::from_secs(300), || async {
        let (active,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM intents WHERE state NOT IN ('done', 'failed', 'cancelled')",
        )
        .fetch_one(ledger.pool())
        .await?;
        Ok(active == 0)
    })
    .await?;
    let all_done = started.elapsed();
    let cpu = cpu_ms(pid)? - cpu_before;
    let (done, orders): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM intents WHERE state = 'done'), (SELECT count(*) FROM orders)",
    )
    .fetch_one(ledger.pool())
    .await?;
    created.sort_by(|a, b| a.total_cmp(b));
    println!(
        "{OPENS} opens from {CLIENTS} concurrent API clients: intent creation p50 {:.1} ms, p99 {:.1} ms (all posted in {:.1} s); all terminal after {:.1} s ({done} done, {orders} orders; the venue's floor of 300 orders per 10 s allows 30/s: {:.1} s, target 1.2x = {:.1} s); daemon CPU {:.2} ms per order",
        percentile(&created, 50.0),
        percentile(&created, 99.0),
        submitted.as_secs_f64(),
        all_done.as_secs_f64(),
        OPENS as f64 / 30.0,
        1.2 * OPENS as f64 / 30.0,
        cpu as f64 / orders.max(1) as f64,
    );
    println!(
        "  CPU while posting, ms per creation: daemon {:.2}, Postgres {:.2}, bench (8 clients + simulator) {:.2}; total {:.2} of {:.2} available (2 cores x {:.2} s / {OPENS}); by then the executor had taken up {taken_up} intents and written {sent} orders",
        split.daemon as f64 / OPENS as f64,
        split.postgres as f64 / OPENS as f64,
        split.bench as f64 / OPENS as f64,
        (split.daemon + split.postgres + split.bench) as f64 / OPENS as f64,
        2000.0 * submitted.as_secs_f64() / OPENS as f64,
        submitted.as_secs_f64(),
    );
    // The same again on the now warm daemon (its pooled connections have planned every
    // statement, its caches are filled): a long-running daemon's steady state.
    let again = Instant::now();
    let mut warm = post_opens(api, OPENS, OPENS, CLIENTS).await?;
    let posted = again.elapsed();
    warm.sort_by(|a, b| a.total_cmp(b));
    println!(
        "  again on the warm daemon: intent creation p50 {:.1} ms, p99 {:.1} ms (all posted in {:.1} s)",
        percentile(&warm, 50.0),
        percentile(&warm, 99.0),
        posted.as_secs_f64(),
    );
    child.kill()?;
    child.wait()?;
    sim.shutdown().await;
    Ok(())
}

/// Post `count` opens of 1 SOL (keys from `first`) from `clients` concurrent API clients;
/// the HTTP round trip of each creation, in ms.
async fn post_opens(
    api: std::net::SocketAddr,
    first: usize,
    count: usize,
    clients: usize,
) -> anyhow::Result<Vec<f64>> {
    let http = reqwest::Client::new();
    let posting = (0..clients).map(|c| {
        let http = http.clone();
        let url = format!("http://{api}/v1/intents");
        async move {
            let mut took = Vec::new();
            for i in (first + c..first + count).step_by(clients) {
                let body = serde_json::json!({
                    "kind": "open", "symbol": "SOLUSDT", "side": "long", "quantity": "1",
                    "idempotency_key": format!("bench-open-{i}"), "reason": "bench",
                });
                let sent = Instant::now();
                let answer = http.post(&url).json(&body).send().await?;
                took.push(sent.elapsed().as_secs_f64() * 1000.0);
                anyhow::ensure!(
                    answer.status().is_success(),
                    "open {i} refused: {} {}",
                    answer.status(),
                    answer.text().await.unwrap_or_default()
                );
            }
            anyhow::Ok(took)
        }
    });
    let mut created = Vec::new();
    for took in futures_util::future::join_all(posting).await {
        created.extend(took?);
    }
    Ok(created)
}

/// CPU (ms, utime + stime) so far of the daemon, the Postgres server and this process.
struct CpuSplit {
    daemon: u64,
    postgres: u64,
    bench: u64,
}

fn cpu_split(daemon: u32, postmaster: u32) -> anyhow::Result<CpuSplit> {
    Ok(CpuSplit {
        daemon: cpu_ms(daemon)?,
        postgres: postgres_cpu_ms(postmaster),
        bench: cpu_ms(std::process::id())?,
    })
}

impl CpuSplit {
    fn since(self, before: CpuSplit) -> CpuSplit {
        CpuSplit {
            daemon: self.daemon - before.daemon,
            postgres: self.postgres - before.postgres,
            bench: self.bench - before.bench,
        }
    }
}

/// utime + stime, in ms, of the postmaster `postmaster` and its children (the backends
/// and the server's background processes): Postgres's share of the machine's CPU.
fn postgres_cpu_ms(postmaster: u32) -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let mut total = cpu_ms(postmaster).unwrap_or(0);
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
        if after.split_whitespace().nth(1) == Some(&postmaster.to_string()) {
            total += cpu_ms(pid).unwrap_or(0);
        }
    }
    total
}

/// The pid of the postmaster serving `pool` (the parent of one of its backends; the
/// server runs on this machine).
async fn postmaster_pid(pool: &sqlx::PgPool) -> anyhow::Result<u32> {
    let (backend,): (i32,) = sqlx::query_as("SELECT pg_backend_pid()")
        .fetch_one(pool)
        .await?;
    let stat = std::fs::read_to_string(format!("/proc/{backend}/stat"))?;
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    after
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no parent for backend {backend}"))
}
