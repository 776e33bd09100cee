//! The real `sluice run` binary against an in-process simulator: spawn it with JSON
//! logs, learn its API address from its own "control API serving" line, poll its API,
//! SIGTERM or SIGKILL it. The one harness for tests of the daemon as a process.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::Value;
use sluice::domain::{
    validate, ClientOrderId, OrderRequest, OrderType, PositionSide, Price, Qty, Side, Symbol,
    TimeInForce,
};
use sluice::exchange::binance::{AuditBuffer, BinanceFutures};
use sluice::exchange::Exchange;

use crate::account::{SimHandle, KEY, SECRET};
use crate::paths::sluice_bin;
use crate::poll::{poll, poll_seen};

pub use crate::account::sim_account;
pub use crate::db::database_url;
pub use crate::poll::until;

/// A running `sluice run` process.
pub struct DaemonProc {
    pub name: &'static str,
    pub child: Child,
    pub api: SocketAddr,
    pub logs: Arc<Mutex<Vec<String>>>,
    pub http: reqwest::Client,
    /// The thread that drains stderr into `logs`; it ends when the process does.
    reader: Option<std::thread::JoinHandle<()>>,
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
    let mut cmd = Command::new(sluice_bin());
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
    ])
    .arg(sluice_bin());
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
        .env("SLUICE__EXCHANGE__API_KEY", KEY)
        .env("SLUICE__EXCHANGE__API_SECRET", SECRET)
        .env("SLUICE__TELEMETRY__LOG_FILTER", "info,sqlx=warn");
    for (k, v) in FAST_LEADER_ENV.iter().chain(extra) {
        cmd.env(k, v);
    }
    DaemonProc::watch(name, cmd).await
}

impl DaemonProc {
    /// Spawn `cmd` (a `sluice --log-format json run` with its environment set), keep its
    /// log, and wait (30 s at most) for its "control API serving" line.
    pub async fn watch(name: &'static str, mut cmd: Command) -> DaemonProc {
        cmd.stdout(Stdio::null()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("sluice starts");
        let stderr = child.stderr.take().expect("piped stderr");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = tokio::sync::oneshot::channel();
        let sink = logs.clone();
        let reader = std::thread::spawn(move || read_logs(stderr, sink, tx));
        let api = tokio::time::timeout(Duration::from_secs(30), rx)
            .await
            .unwrap_or_else(|_| panic!("{name}: no 'control API serving' line within 30 s"))
            .unwrap_or_else(|_| panic!("{name}: exited before serving: {:?}", logs_of(&logs)));
        DaemonProc {
            name,
            child,
            api,
            logs,
            // Drop idle connections before the daemon's API does (`api.idle_timeout_ms`,
            // 30 s): a request on a connection the server is closing fails with
            // IncompleteMessage, which a test waiting half a minute would read as a crash.
            http: reqwest::Client::builder()
                .pool_idle_timeout(Duration::from_secs(10))
                .build()
                .expect("http client"),
            reader: Some(reader),
        }
    }

    /// SIGTERM, then the exit code and the whole log once the process exited and its
    /// last line was read (bounded by `within`).
    pub async fn stop(mut self, within: Duration) -> (Option<i32>, String) {
        let code = self.terminate(within).await;
        if let Some(reader) = self.reader.take() {
            tokio::task::spawn_blocking(move || reader.join())
                .await
                .expect("join")
                .expect("the log reader ends with the process");
        }
        (code, self.log())
    }

    /// The log so far, one line per line.
    pub fn log(&self) -> String {
        logs_of(&self.logs).join("\n")
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
        let what = format!("readyz {want}");
        self.until_readyz(&what, within, |body| body["status"] == want)
            .await
    }

    /// Fail with `what` and this daemon's log tail.
    pub fn fail(&self, what: &str) -> ! {
        let logs = logs_of(&self.logs);
        let tail = &logs[logs.len().saturating_sub(40)..];
        panic!(
            "{}: timed out waiting for {what}; log tail:\n{}",
            self.name,
            tail.join("\n")
        );
    }

    /// Poll `check` until it is `Ok` (returned); after `within`, fail with `what`, the
    /// last thing `check` saw and this daemon's log tail.
    pub async fn until_ok<T, S: std::fmt::Display>(
        &self,
        what: &str,
        within: Duration,
        check: impl AsyncFnMut() -> Result<T, S>,
    ) -> T {
        match poll_seen(within, check).await {
            Ok(value) => value,
            Err(seen) => self.fail(&format!("{what}; last {seen}")),
        }
    }

    /// Open a LONG of 1 `symbol` through the control API as a GTC LIMIT at `price` (under
    /// the mark, so it rests) and wait until the order rests on `l`'s book; its client
    /// order id. Orders resting before the call are not counted.
    pub async fn rest_limit_open(
        &self,
        l: &crate::adapter::Loop,
        symbol: &str,
        price: &str,
        idempotency_key: &str,
    ) -> String {
        let before = l.resting_ids().await;
        let body = serde_json::json!({"kind": "open", "symbol": symbol, "side": "long",
            "quantity": "1", "price": price, "time_in_force": "GTC",
            "idempotency_key": idempotency_key});
        let (code, created) = self.post("/v1/intents", &body).await;
        assert_eq!(code, 202, "{created}");
        self.until_ok(
            "sluice's order to rest",
            Duration::from_secs(30),
            async || {
                let new: Vec<String> = l
                    .resting_ids()
                    .await
                    .into_iter()
                    .filter(|id| !before.contains(id))
                    .collect();
                match new.as_slice() {
                    [one] => Ok(one.clone()),
                    other => Err(other.len()),
                }
            },
        )
        .await
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
        let exited = poll(within, async || self.child.try_wait().expect("try_wait")).await;
        match exited {
            Some(status) => status.code(),
            None => self.fail("exit after SIGTERM"),
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
        self.until_readyz_at("/readyz", what, within, pred).await
    }

    /// Poll `/readyz?account=<account>` (one account of a daemon serving several) until
    /// its `status` is `want`.
    pub async fn until_account_status(&self, account: &str, want: &str, within: Duration) -> Value {
        let path = format!("/readyz?account={account}");
        let what = format!("readyz of account {account}: {want}");
        self.until_readyz_at(&path, &what, within, |body| body["status"] == want)
            .await
    }

    async fn until_readyz_at(
        &self,
        path: &str,
        what: &str,
        within: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        self.until_ok(what, within, || async {
            // Not answering (yet, or while wedged) is one more thing seen, not a failure.
            let body = match self.http.get(self.url(path)).send().await {
                Ok(r) => r.json().await.unwrap_or(Value::Null),
                Err(e) => return Err(Value::String(e.to_string())),
            };
            if pred(&body) {
                Ok(body)
            } else {
                Err(body)
            }
        })
        .await
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

/// A test-side adapter on the simulator's test account.
pub async fn hand_adapter(sim: &SimHandle) -> Arc<BinanceFutures> {
    BinanceFutures::connect(crate::adapter::config(sim), AuditBuffer::new(1000))
        .await
        .expect("test adapter")
}

/// The open position of `qty` the daemon adopted from the venue, once it has.
pub async fn adopted_position(
    ledger: &sluice::ledger::Ledger,
    qty: Decimal,
) -> Option<sluice::ledger::PositionId> {
    ledger
        .open_positions()
        .await
        .expect("positions")
        .iter()
        .find(|p| p.quantity.get() == qty)
        .map(|p| p.id)
}

/// Whether `intent` has reached a final state.
pub async fn intent_is_final(
    ledger: &sluice::ledger::Ledger,
    intent: sluice::ledger::IntentId,
) -> bool {
    let row = ledger.intent(intent).await.expect("read").expect("intent");
    row.state.is_terminal()
}

/// Open SHORT `qty` on `symbol` by hand (a LIMIT IOC through the book), outside sluice.
pub async fn open_short_by_hand(ex: &BinanceFutures, symbol: &str, qty: &str, coid: &str) {
    let sym = Symbol::new(symbol).expect("symbol");
    let rules = ex
        .symbol_rules(sluice::exchange::Purpose::Routine)
        .await
        .expect("rules")
        .into_iter()
        .find(|r| r.symbol == sym)
        .expect("symbol listed");
    let mark = ex
        .mark_price(&sym, sluice::exchange::Purpose::Routine)
        .await
        .expect("mark")
        .mark_price;
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
        price_match: None,
        good_till_date: None,
    };
    let order = validate(&rules, req, mark).expect("filters");
    let r = ex.place_order(&order).await.expect("hand order");
    assert_eq!(
        r.executed_qty.get(),
        qty.parse::<Decimal>().expect("qty"),
        "the book filled the hand order"
    );
}

/// The simulator's orders of `intent`: every clientOrderId sent once, at most one
/// execution per chunk index; returns the total executed. `label` names the trial.
pub fn executed_once_per_chunk(
    orders: &[Value],
    intent: sluice::ledger::IntentId,
    label: &str,
) -> Decimal {
    use sluice::router::{IntentRef, SluiceOrderId};
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
