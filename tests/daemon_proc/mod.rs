//! The real `sluice run` binary against an in-process simulator: spawn it with JSON
//! logs, learn its API address from its own "control API serving" line, poll its API,
//! SIGKILL it. Used by the standby and daemon-reconcile tests.
#![allow(dead_code)]

pub mod cluster;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use secrecy::SecretString;
use serde_json::Value;
use sluice::domain::{
    validate, ClientOrderId, OrderRequest, OrderType, PositionSide, Price, Qty, Side, Symbol,
    TimeInForce,
};
use sluice::exchange::binance::{AuditBuffer, BinanceConfig, BinanceFutures};
use sluice::exchange::Exchange;
use sluice_sim::scenario::{DEMO_API_KEY, DEMO_API_SECRET};
use sluice_sim::SimHandle;
use sqlx::PgPool;
use url::Url;

/// The URL of the test's own database (the one `#[sqlx::test]` created for `pool`).
pub async fn database_url(pool: &PgPool) -> String {
    let (db,): (String,) = sqlx::query_as("SELECT current_database()")
        .fetch_one(pool)
        .await
        .expect("db name");
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let (prefix, _) = base.rsplit_once('/').expect("url with a database");
    format!("{prefix}/{db}")
}

/// A running `sluice run` process.
pub struct DaemonProc {
    pub name: &'static str,
    pub child: Child,
    pub api: SocketAddr,
    pub logs: Arc<Mutex<Vec<String>>>,
    pub http: reqwest::Client,
}

/// Fast leader checks and a short recvWindow keep the takeover grace at ~4 s.
pub const FAST_LEADER_ENV: [(&str, &str); 3] = [
    ("SLUICE__DAEMON__LEADER_CHECK_MS", "200"),
    ("SLUICE__DAEMON__LEADER_CHECK_TIMEOUT_MS", "1000"),
    ("SLUICE__EXCHANGE__RECV_WINDOW_MS", "2000"),
];

/// Start `sluice run` on `sim` and `db_url`, with `extra` environment on top.
pub async fn spawn_daemon(
    name: &'static str,
    sim: &SimHandle,
    db_url: &str,
    extra: &[(&str, &str)],
) -> DaemonProc {
    spawn_daemon_on(name, &sim.addr(), db_url, extra).await
}

/// Start `sluice run` against a simulator at `sim` (which may not be listening yet).
pub async fn spawn_daemon_on(
    name: &'static str,
    sim: &SocketAddr,
    db_url: &str,
    extra: &[(&str, &str)],
) -> DaemonProc {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sluice"));
    cmd.args(["--log-format", "json", "run"]);
    start_daemon(name, cmd, sim, db_url, extra).await
}

/// As [`spawn_daemon`], with `WATCHDOG_PID` set to the daemon's own pid as systemd sets
/// it (a shell exports its `$$`, then `exec`s sluice under that pid). Pass
/// `NOTIFY_SOCKET` and `WATCHDOG_USEC` in `extra`.
pub async fn spawn_daemon_under_watchdog(
    name: &'static str,
    sim: &SimHandle,
    db_url: &str,
    extra: &[(&str, &str)],
) -> DaemonProc {
    let mut cmd = Command::new("sh");
    cmd.args([
        "-c",
        "WATCHDOG_PID=$$; export WATCHDOG_PID; exec \"$0\" --log-format json run",
        env!("CARGO_BIN_EXE_sluice"),
    ]);
    start_daemon(name, cmd, &sim.addr(), db_url, extra).await
}

async fn start_daemon(
    name: &'static str,
    mut cmd: Command,
    sim: &SocketAddr,
    db_url: &str,
    extra: &[(&str, &str)],
) -> DaemonProc {
    cmd.env("DATABASE_URL", db_url)
        .env("SLUICE__API__LISTEN", "127.0.0.1:0")
        .env_remove("SLUICE__API__TOKEN")
        .env("SLUICE__API__AUTH", "none")
        .env_remove("RUST_LOG")
        .env("SLUICE__EXCHANGE__VENUE", "custom")
        .env("SLUICE__EXCHANGE__REST_URL", format!("http://{sim}"))
        .env("SLUICE__EXCHANGE__WS_URL", format!("ws://{sim}"))
        .env("SLUICE__EXCHANGE__API_KEY", DEMO_API_KEY)
        .env("SLUICE__EXCHANGE__API_SECRET", DEMO_API_SECRET)
        .env("SLUICE__TELEMETRY__LOG_FILTER", "info,sqlx=warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in FAST_LEADER_ENV.iter().chain(extra) {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("sluice starts");
    let stderr = child.stderr.take().expect("piped stderr");
    let logs = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = tokio::sync::oneshot::channel();
    let sink = logs.clone();
    std::thread::spawn(move || read_logs(stderr, sink, tx));
    let api = tokio::time::timeout(Duration::from_secs(30), rx)
        .await
        .unwrap_or_else(|_| panic!("{name}: no 'control API serving' line within 30 s"))
        .unwrap_or_else(|_| panic!("{name}: exited before serving: {:?}", logs_of(&logs)));
    DaemonProc {
        name,
        child,
        api,
        logs,
        http: reqwest::Client::new(),
    }
}

/// Keep every line; hand over the API address from the "control API serving" line.
fn read_logs(
    stderr: std::process::ChildStderr,
    sink: Arc<Mutex<Vec<String>>>,
    tx: tokio::sync::oneshot::Sender<SocketAddr>,
) {
    let mut tx = Some(tx);
    for line in BufReader::new(stderr).lines().map_while(Result::ok) {
        if let Ok(v) = serde_json::from_str::<Value>(&line) {
            if v["message"] == "control API serving" {
                let addr = v["api"].as_str().and_then(|a| a.parse().ok());
                if let (Some(addr), Some(tx)) = (addr, tx.take()) {
                    let _ = tx.send(addr);
                }
            }
        }
        sink.lock().expect("log sink").push(line);
    }
}

fn logs_of(logs: &Arc<Mutex<Vec<String>>>) -> Vec<String> {
    logs.lock().expect("log sink").clone()
}

impl DaemonProc {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.api)
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let r = self.http.get(self.url(path)).send().await.expect("GET");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let r = self
            .http
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("POST");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn metrics(&self) -> String {
        let r = self
            .http
            .get(self.url("/metrics"))
            .send()
            .await
            .expect("GET");
        r.text().await.expect("metrics text")
    }

    /// Poll `/readyz` until its `status` is `want` (bounded; the logs are shown on failure).
    pub async fn until_status(&self, want: &str, within: Duration) -> Value {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let (_, body) = self.get("/readyz").await;
            if body["status"] == want {
                return body;
            }
            self.assert_before(deadline, &format!("readyz {want}, last {body}"));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Fail with this daemon's log when `deadline` passed.
    pub fn assert_before(&self, deadline: tokio::time::Instant, what: &str) {
        if tokio::time::Instant::now() >= deadline {
            let logs = logs_of(&self.logs);
            let tail = &logs[logs.len().saturating_sub(40)..];
            panic!(
                "{}: timed out waiting for {what}; log tail:\n{}",
                self.name,
                tail.join("\n")
            );
        }
    }

    /// Whether any log line carries `message`.
    pub fn logged(&self, message: &str) -> bool {
        logs_of(&self.logs).iter().any(|l| l.contains(message))
    }

    /// SIGTERM (a clean stop, as systemd's `stop`); the exit code once it exited (bounded).
    pub async fn terminate(&mut self, within: Duration) -> Option<i32> {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "SIGTERM to {pid}");
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status.code();
            }
            self.assert_before(deadline, "exit after SIGTERM");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }

    /// Whether the process is still running (it has not exited).
    pub fn running(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    /// Poll `/readyz` until `pred` holds on its body (bounded; the logs on failure).
    pub async fn until_readyz(
        &self,
        what: &str,
        within: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Ok(r) = self.http.get(self.url("/readyz")).send().await {
                let body: Value = r.json().await.unwrap_or(Value::Null);
                if pred(&body) {
                    return body;
                }
            }
            self.assert_before(deadline, what);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The log lines carrying `message`, parsed.
    pub fn log_lines(&self, message: &str) -> Vec<Value> {
        logs_of(&self.logs)
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["message"] == message)
            .collect()
    }
}

impl Drop for DaemonProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Wait (bounded) until `pred` holds.
pub async fn until<F, Fut>(what: &str, within: Duration, mut pred: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    while !pred().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A test-side adapter on the simulator's demo account.
pub async fn hand_adapter(sim: &SimHandle) -> std::sync::Arc<BinanceFutures> {
    let cfg = BinanceConfig::new(
        Url::parse(&sim.base_url()).expect("url"),
        Url::parse(&sim.ws_url()).expect("url"),
        DEMO_API_KEY.into(),
        SecretString::from(DEMO_API_SECRET.to_string()),
    );
    BinanceFutures::connect(cfg, AuditBuffer::new(1000))
        .await
        .expect("test adapter")
}

/// Open SHORT `qty` on `symbol` by hand (a LIMIT IOC through the book), outside sluice.
pub async fn open_short_by_hand(ex: &BinanceFutures, symbol: &str, qty: &str, coid: &str) {
    let sym = Symbol::new(symbol).expect("symbol");
    let rules = ex
        .symbol_rules()
        .await
        .expect("rules")
        .into_iter()
        .find(|r| r.symbol == sym)
        .expect("symbol listed");
    let mark = ex.mark_price(&sym).await.expect("mark").mark_price;
    let price = (mark.get() * dec!(0.97)).round_dp(2);
    let req = OrderRequest {
        symbol: sym,
        side: Side::Sell,
        position_side: PositionSide::Both,
        order_type: OrderType::Limit,
        quantity: Qty::parse("q", qty).expect("qty"),
        price: Some(Price::new("p", price).expect("price")),
        time_in_force: Some(TimeInForce::Ioc),
        reduce_only: false,
        client_order_id: ClientOrderId::new(coid).expect("id"),
    };
    let order = validate(&rules, req, mark).expect("filters");
    let r = ex.place_order(&order).await.expect("hand order");
    assert_eq!(
        r.executed_qty.get(),
        qty.parse::<Decimal>().expect("qty"),
        "the book filled the hand order"
    );
}

/// `GET /sim/state`'s demo account.
pub async fn sim_account(sim: &SimHandle) -> Value {
    let state: Value = reqwest::get(format!("{}/sim/state", sim.base_url()))
        .await
        .expect("state")
        .json()
        .await
        .expect("json");
    state["accounts"][0].clone()
}

/// The simulator's orders of `intent`: every clientOrderId sent once, at most one
/// execution per chunk index; returns the total executed. `label` names the trial.
pub fn executed_once_per_chunk(
    orders: &[Value],
    intent: sluice::ledger::IntentId,
    label: &str,
) -> Decimal {
    use sluice::router::client_id::{IntentRef, SluiceOrderId};
    let mut seen = std::collections::HashSet::new();
    let mut executed = std::collections::HashMap::new();
    let mut total = Decimal::ZERO;
    for o in orders {
        let coid = o["clientOrderId"].as_str().unwrap_or("");
        assert!(
            seen.insert(coid.to_string()),
            "{label}: clientOrderId {coid} sent twice"
        );
        let Ok(id) = SluiceOrderId::parse(coid) else {
            continue;
        };
        if id.intent != IntentRef::Seq(intent.get() as u64) {
            continue;
        }
        let qty: Decimal = o["executedQty"]
            .as_str()
            .and_then(|q| q.parse().ok())
            .expect("executedQty is a decimal string");
        if qty > Decimal::ZERO {
            assert!(
                executed.insert(id.chunk, qty).is_none(),
                "{label}: chunk {} executed twice",
                id.chunk
            );
            total += qty;
        }
    }
    total
}
