//! `e2e_daemon -- accounts10`: one daemon serving ten accounts (`daemon.accounts`,
//! `daemon.max_accounts = 10`), each holding five SHORT positions of 2,000 above a MARKET
//! cap of 100, flattened all at once (ten `POST /v1/flatten?account=…`): 100 orders per
//! account, 1,000 in all, every account through the one process and its one IP.
//!
//! Prints per account: orders, time to flat (its flatten intent created → done), its
//! busiest 10 s (sliding, from the ledger's order times, and the venue's own fixed-window
//! count); for the IP: the peak request weight of one minute against the limit and the
//! 429/418 answers, as the simulator counted them (`GET /sim/state` `rateLimits`,
//! `stats.responsesByStatus`) and as the daemon recorded them (`order_attempts`).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use sluice_sim::scenario::{DEMO_API_KEY, DEMO_API_SECRET};
use sluice_sim::{spawn, Scenario};
use sqlx::PgPool;

use crate::support::{cpu_ms, daemon_with, fresh_db, wait_for};

const ACCOUNTS: usize = 10;
const SYMBOLS: usize = 5;
/// Per position: 2,000 at a MARKET cap of 100 is 20 orders; five of them make 100.
const QTY: &str = "2000";
/// Each account's budget (USDT): within what its wallet has free next to its positions'
/// margin, so preflight passes and `/readyz` says `ready`.
const ALLOCATION: &str = "1000000";

fn names() -> Vec<String> {
    std::iter::once("main".to_string())
        .chain((1..ACCOUNTS).map(|i| format!("acct{i}")))
        .collect()
}

/// The key of account `i` (0 is `main`, with the daemon's `[exchange]` key).
fn key_of(i: usize) -> (String, String) {
    match i {
        0 => (DEMO_API_KEY.into(), DEMO_API_SECRET.into()),
        i => (format!("acctKey{i}"), format!("acctSecret{i}")),
    }
}

fn scenario() -> anyhow::Result<Scenario> {
    let symbols: Vec<String> = (0..SYMBOLS).map(|i| format!("MULTI{i}USDT")).collect();
    let mut text: String = symbols
        .iter()
        .map(|n| format!("[[symbols]]\nname = \"{n}\"\nmark_price = \"100\"\nstep_size = \"1\"\nmin_qty = \"1\"\nmarket_min_qty = \"1\"\nmarket_max_qty = \"100\"\nlevel_qty = \"50000\"\nmin_notional = \"5\"\n"))
        .collect();
    let positions: Vec<String> = symbols
        .iter()
        .map(|n| format!("{{ symbol = \"{n}\", side = \"SHORT\", quantity = \"{QTY}\", entry_price = \"100\" }}"))
        .collect();
    for i in 0..ACCOUNTS {
        let (key, secret) = key_of(i);
        text.push_str(&format!(
            "[[accounts]]\napi_key = \"{key}\"\napi_secret = \"{secret}\"\nusdt = \"100000000\"\npositions = [ {} ]\n",
            positions.join(", ")
        ));
    }
    Scenario::from_toml_str(&text).map_err(|e| anyhow::anyhow!(e))
}

fn settings() -> Vec<(String, String)> {
    let mut env = vec![
        ("SLUICE__DAEMON__ACCOUNTS".to_string(), names().join(",")),
        (
            "SLUICE__DAEMON__MAX_ACCOUNTS".to_string(),
            ACCOUNTS.to_string(),
        ),
    ];
    for (i, name) in names().iter().enumerate().skip(1) {
        let (key, secret) = key_of(i);
        let up = name.to_uppercase();
        env.push((format!("SLUICE__ACCOUNTS__{up}__API_KEY"), key));
        env.push((format!("SLUICE__ACCOUNTS__{up}__API_SECRET"), secret));
    }
    env
}

/// One account's flatten, measured.
struct Flat {
    orders: i64,
    took: chrono::Duration,
    busiest_10s: usize,
    venue_10s: i64,
    throttled: i64,
}

/// Ten accounts × a 100-order flatten, all at once, from one daemon.
pub(crate) async fn accounts10(base: &str) -> anyhow::Result<()> {
    let sim = spawn(scenario()?, "127.0.0.1:0".parse()?).await?;
    let (url, ledger) = fresh_db(base, "sluice_bench_accounts10").await?;
    let pool = ledger.pool().clone();
    let (mut child, api) =
        daemon_with(&sim, &url, "127.0.0.1:0".parse()?, ALLOCATION, &settings())?;
    let pid = child.id();
    let http = reqwest::Client::new();
    all_ready(&http, api, &pool).await?;
    let before = sim_state(&http, &sim).await?;
    let cpu_before = cpu_ms(pid)?;
    let started = Instant::now();
    let posts = names().into_iter().map(|name| {
        let http = http.clone();
        async move {
            let body = json!({"reason": "bench", "idempotency_key": format!("bench-{name}")});
            let answer = http
                .post(format!("http://{api}/v1/flatten?account={name}"))
                .json(&body)
                .send()
                .await?;
            let status = answer.status();
            let v: Value = answer.json().await?;
            anyhow::ensure!(status.is_success(), "flatten of {name}: {status} {v}");
            let id = v["flatten_intent"]["id"].as_i64();
            Ok((
                name,
                id.ok_or_else(|| anyhow::anyhow!("no intent id: {v}"))?,
            ))
        }
    });
    let intents: Vec<(String, i64)> = futures_util::future::try_join_all(posts).await?;
    let ids: Vec<i64> = intents.iter().map(|(_, id)| *id).collect();
    all_done(&pool, &ids).await?;
    let wall = started.elapsed();
    let cpu = cpu_ms(pid)? - cpu_before;
    let mut total = 0;
    for (name, id) in &intents {
        let f = measure(&pool, name, *id).await?;
        total += f.orders;
        println!(
            "  {name:>6}: {} orders, flat in {:.2} s (intent created -> done), busiest 10 s: {} orders sliding / {} in the venue's fixed window (X-MBX-ORDER-COUNT-10S; limit 300), 418/429 on its requests: {}",
            f.orders,
            f.took.num_milliseconds() as f64 / 1000.0,
            f.busiest_10s,
            f.venue_10s,
            f.throttled
        );
    }
    let venue = sim_state(&http, &sim).await?;
    print_venue(&venue, &before, &pool).await?;
    println!(
        "10 accounts x 100-order flattens from one daemon: {total} orders, all flat after {:.2} s ({:.0} orders/s); daemon CPU {cpu} ms = {:.2} ms per order",
        wall.as_secs_f64(),
        total as f64 / wall.as_secs_f64(),
        cpu as f64 / total.max(1) as f64
    );
    child.kill()?;
    child.wait()?;
    sim.shutdown().await;
    Ok(())
}

async fn sim_state(http: &reqwest::Client, sim: &sluice_sim::SimHandle) -> anyhow::Result<Value> {
    let url = format!("{}/sim/state", sim.base_url());
    Ok(http.get(url).send().await?.json().await?)
}

/// The requests by endpoint counted in `after` and not yet in `before`, busiest first.
fn requests_between(before: &Value, after: &Value) -> String {
    let count = |v: &Value, k: &str| v["stats"]["requestsByEndpoint"][k].as_i64().unwrap_or(0);
    let mut counts: Vec<(String, i64)> = after["stats"]["requestsByEndpoint"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, _)| (k.clone(), count(after, k) - count(before, k)))
        .filter(|(_, n)| *n > 0)
        .collect();
    counts.sort_by_key(|c| std::cmp::Reverse(c.1));
    let listed: Vec<String> = counts.iter().map(|(k, n)| format!("{k} {n}")).collect();
    listed.join(", ")
}

/// Every account `ready` on `/readyz?account=` and its five positions adopted.
async fn all_ready(
    http: &reqwest::Client,
    api: std::net::SocketAddr,
    pool: &PgPool,
) -> anyhow::Result<()> {
    for name in names() {
        let url = format!("http://{api}/readyz?account={name}");
        wait_for(Duration::from_secs(120), || {
            let req = http.get(&url).send();
            async move {
                Ok(match req.await {
                    Ok(r) => r
                        .json::<Value>()
                        .await
                        .ok()
                        .is_some_and(|b| b["status"] == "ready"),
                    Err(_) => false,
                })
            }
        })
        .await
        .map_err(|e| anyhow::anyhow!("account {name} not ready: {e}"))?;
    }
    wait_for(Duration::from_secs(120), || async {
        let (adopted,): (i64,) =
            sqlx::query_as("SELECT count(*) FROM positions WHERE status = 'open'")
                .fetch_one(pool)
                .await?;
        Ok(adopted == (ACCOUNTS * SYMBOLS) as i64)
    })
    .await
}

async fn all_done(pool: &PgPool, ids: &[i64]) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let rows: Vec<(i64, String, Option<String>)> =
            sqlx::query_as("SELECT id, state, error FROM intents WHERE id = ANY($1)")
                .bind(ids)
                .fetch_all(pool)
                .await?;
        let open = rows
            .iter()
            .filter(|(_, s, _)| matches!(s.as_str(), "accepted" | "working"))
            .count();
        if open == 0 {
            for (id, state, error) in rows {
                anyhow::ensure!(state == "done", "flatten #{id} ended {state}: {error:?}");
            }
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "{open} flattens not done in 600 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn measure(pool: &PgPool, name: &str, id: i64) -> anyhow::Result<Flat> {
    let (created, updated): (DateTime<Utc>, DateTime<Utc>) =
        sqlx::query_as("SELECT created_at, updated_at FROM intents WHERE id = $1")
            .bind(id)
            .fetch_one(pool)
            .await?;
    let times: Vec<(DateTime<Utc>,)> =
        sqlx::query_as("SELECT created_at FROM orders WHERE intent_id = $1")
            .bind(id)
            .fetch_all(pool)
            .await?;
    let busiest_10s = times
        .iter()
        .map(|(t,)| {
            let end = *t + chrono::Duration::seconds(10);
            times.iter().filter(|(u,)| u >= t && *u < end).count()
        })
        .max()
        .unwrap_or(0);
    let (venue_10s, throttled): (Option<i64>, i64) = sqlx::query_as(
        "SELECT max(order_count_10s) FILTER (WHERE is_order),
                count(*) FILTER (WHERE http_status IN (418, 429))
           FROM order_attempts
          WHERE account_id = (SELECT id FROM accounts WHERE name = $1)",
    )
    .bind(name)
    .fetch_one(pool)
    .await?;
    Ok(Flat {
        orders: times.len() as i64,
        took: updated - created,
        busiest_10s,
        venue_10s: venue_10s.unwrap_or(0),
        throttled,
    })
}

/// The venue's own counts: the IP's peak weight, each account's peak orders, the 418/429
/// answers; and that every account is flat at the venue.
async fn print_venue(venue: &Value, before: &Value, pool: &PgPool) -> anyhow::Result<()> {
    let limits = &venue["rateLimits"];
    let by_status = &venue["stats"]["responsesByStatus"];
    let (recorded_weight,): (Option<i64>,) =
        sqlx::query_as("SELECT max(used_weight_1m) FROM order_attempts")
            .fetch_one(pool)
            .await?;
    let mut per_account = BTreeMap::new();
    for a in limits["accounts"].as_array().into_iter().flatten() {
        per_account.insert(a["account"].as_i64().unwrap_or(-1), a.clone());
    }
    let mut not_flat = Vec::new();
    let mut peaks = Vec::new();
    for acc in venue["accounts"].as_array().into_iter().flatten() {
        let id = acc["account"].as_i64().unwrap_or(-1);
        if acc["positions"].as_array().is_some_and(|p| !p.is_empty()) {
            not_flat.push(id);
        }
        let p = &per_account.get(&id).cloned().unwrap_or(Value::Null);
        peaks.push(format!(
            "{}: {}/10 s {}/1 min",
            acc["apiKeys"][0].as_str().unwrap_or("?"),
            p["peakOrders10s"],
            p["peakOrders1m"]
        ));
    }
    println!(
        "venue's per-account order peaks (limits {} per 10 s, {} per 1 min): {}",
        limits["ordersPer10s"],
        limits["ordersPerMinute"],
        peaks.join(", ")
    );
    for ip in limits["ips"].as_array().into_iter().flatten() {
        println!(
            "IP {}: peak request weight {} in one minute (limit {}; highest X-MBX-USED-WEIGHT-1M the daemon recorded: {}); 429 answers {}, 418 answers {}",
            ip["ip"].as_str().unwrap_or("?"),
            ip["peakWeight1m"],
            limits["requestWeightPerMinute"],
            recorded_weight.unwrap_or(0),
            by_status["429"].as_i64().unwrap_or(0),
            by_status["418"].as_i64().unwrap_or(0),
        );
    }
    let weight_of = |state: &Value| -> u64 {
        let ips = state["rateLimits"]["ips"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        ips.iter().filter_map(|ip| ip["totalWeight"].as_u64()).sum()
    };
    println!(
        "IP weight spent: start-up until all ready {}, during the flattens {}",
        weight_of(before),
        weight_of(venue) - weight_of(before)
    );
    // Where the weight goes, by endpoint (weights: docs/binance-fapi.md; `openOrders` and
    // `openAlgoOrders` without a symbol cost 40, `batchOrders` 5, `POST order` 0).
    println!(
        "requests by endpoint, start-up until all ready: {}",
        requests_between(&Value::Null, before)
    );
    println!(
        "requests by endpoint, during the flattens: {}",
        requests_between(before, venue)
    );
    anyhow::ensure!(not_flat.is_empty(), "venue accounts not flat: {not_flat:?}");
    Ok(())
}
