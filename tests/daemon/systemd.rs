//! systemd for real: the `sluice run` binary against a fake `NOTIFY_SOCKET` (a Unix
//! datagram socket this test owns) with `WATCHDOG_USEC`/`WATCHDOG_PID` set as systemd
//! sets them. `READY=1` comes only once the API serves, `WATCHDOG=1` keeps coming, no
//! ping comes while the executor's loop is wedged on one request, and SIGTERM sends `STOPPING=1`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::UnixDatagram;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use sluice_sim::spawn;
use sluice_testkit::process::*;
use sqlx::PgPool;

/// The socket systemd would own: every datagram the daemon sends, in order. On
/// `READY=1` it asks `/healthz` at once and records the answer next to it.
struct NotifySocket {
    path: String,
    seen: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    _dir: tempfile::TempDir,
}

impl NotifySocket {
    fn bind(api: SocketAddr) -> NotifySocket {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("notify.sock");
        let socket = UnixDatagram::bind(&path).expect("bind the notify socket");
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .expect("timeout");
        let (seen, stop) = (
            Arc::new(Mutex::new(Vec::new())),
            Arc::new(AtomicBool::new(false)),
        );
        let (sink, halt) = (seen.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while !halt.load(Ordering::Relaxed) {
                let Ok(n) = socket.recv(&mut buf) else {
                    continue;
                };
                let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
                if lines.iter().any(|l| l == "READY=1") {
                    lines.push(format!("healthz at READY: {}", healthz(api)));
                }
                sink.lock().expect("sink").extend(lines);
            }
        });
        NotifySocket {
            path: path.display().to_string(),
            seen,
            stop,
            _dir: dir,
        }
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().expect("sink").clone()
    }

    fn count(&self, line: &str) -> usize {
        self.seen().iter().filter(|l| *l == line).count()
    }

    /// Wait (bounded) until `pred` holds for what arrived so far.
    async fn until(&self, d: &DaemonProc, what: &str, pred: impl Fn(&[String]) -> bool) {
        d.until_ok(what, Duration::from_secs(45), || async {
            let seen = self.seen();
            if pred(&seen) {
                Ok(())
            } else {
                Err(format!("notify socket got {seen:?}"))
            }
        })
        .await
    }
}

impl Drop for NotifySocket {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// `GET /healthz` over a fresh connection: the status code, or why there was none.
fn healthz(api: SocketAddr) -> String {
    let Ok(mut s) = TcpStream::connect_timeout(&api, Duration::from_secs(2)) else {
        return "connection refused".into();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let req = format!("GET /healthz HTTP/1.1\r\nHost: {api}\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return "write failed".into();
    }
    let mut head = [0u8; 12];
    match s.read_exact(&mut head) {
        Ok(()) => String::from_utf8_lossy(&head[9..12]).into_owned(),
        Err(e) => format!("no answer ({e})"),
    }
}

fn free_port() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr")
}

async fn start(
    pool: &PgPool,
    name: &'static str,
    extra: &[(&str, &str)],
) -> (DaemonProc, NotifySocket, sluice_sim::SimHandle) {
    let sim = spawn(
        sluice_testkit::executor::scenario("", ""),
        "127.0.0.1:0".parse().expect("addr"),
    )
    .await
    .expect("simulator");
    let db = database_url(pool).await;
    let api = free_port();
    let socket = NotifySocket::bind(api);
    let listen = api.to_string();
    let mut env = vec![
        ("SLUICE__API__LISTEN", listen.as_str()),
        ("NOTIFY_SOCKET", socket.path.as_str()),
        // A 1 s watchdog: pings every 0.5 s.
        ("WATCHDOG_USEC", "1000000"),
    ];
    env.extend_from_slice(extra);
    let d = spawn_daemon_under_watchdog(name, &sim, &db, &env).await;
    (d, socket, sim)
}

#[sqlx::test(migrations = "./migrations")]
async fn ready_follows_the_serving_api_the_watchdog_is_petted_and_sigterm_sends_stopping(
    pool: PgPool,
) {
    // Arrange + Act: start under the fake systemd.
    let (mut d, socket, _sim) = start(&pool, "systemd", &[]).await;
    socket
        .until(&d, "READY=1", |s| s.iter().any(|l| l == "READY=1"))
        .await;
    let pings_at_ready = socket.count("WATCHDOG=1");
    socket
        .until(&d, "three more pings", |s| {
            s.iter().filter(|l| *l == "WATCHDOG=1").count() >= pings_at_ready + 3
        })
        .await;
    let code = d.terminate(Duration::from_secs(30)).await;

    // Assert: the API answered when READY=1 arrived; pings kept coming; SIGTERM ended
    // the daemon cleanly with STOPPING=1 and no ping after it.
    let seen = socket.seen();
    let ready = seen.iter().position(|l| l == "READY=1").expect("READY=1");
    assert_eq!(seen[ready + 1], "healthz at READY: 200", "{seen:?}");
    assert_eq!(code, Some(0), "exit code after SIGTERM");
    let stopping = seen
        .iter()
        .position(|l| l == "STOPPING=1")
        .unwrap_or_else(|| panic!("no STOPPING=1 in {seen:?}"));
    assert!(
        !seen[stopping..].iter().any(|l| l == "WATCHDOG=1"),
        "a ping after STOPPING=1: {seen:?}"
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn no_watchdog_ping_comes_while_the_executor_is_wedged_and_pings_resume_after(pool: PgPool) {
    // Arrange: a daemon that waits up to 20 s for an order's answer; ready to trade.
    let (d, socket, sim) = start(
        &pool,
        "wedged",
        &[("SLUICE__EXCHANGE__REQUEST_TIMEOUT_MS", "20000")],
    )
    .await;
    d.until_status("ready", Duration::from_secs(60)).await;
    socket
        .until(&d, "pings", |s| {
            s.iter().filter(|l| *l == "WATCHDOG=1").count() >= 2
        })
        .await;

    // A GTC LIMIT open of sluice's rests under the mark (a flatten clears it first).
    let (status, body) = d
        .post(
            "/v1/intents",
            &json!({"kind": "open", "symbol": "SOLUSDT", "side": "long", "quantity": "1",
                    "price": "170", "time_in_force": "GTC", "idempotency_key": "resting"}),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    until(
        "sluice's order to rest",
        Duration::from_secs(30),
        || async {
            let state = sluice_testkit::account::sim_state(&sim).await;
            state["accounts"][0]["orders"]
                .as_array()
                .is_some_and(|o| o.iter().any(|o| o["status"] == "NEW"))
        },
    )
    .await;

    // Act: the venue now takes 5 s to list open orders, which the executor's loop awaits
    // itself when a flatten first clears sluice's resting orders (read for the symbols of
    // sluice's resting orders; order answers are awaited off the loop and cannot wedge
    // it); a flatten is submitted.
    let r = reqwest::Client::new()
        .post(format!("{}/sim/faults", sim.base_url()))
        .json(&json!({"from": 0, "endpoints": ["GET /fapi/v1/openOrders"], "latency_ms": 5000}))
        .send()
        .await
        .expect("fault");
    assert!(r.status().is_success());
    let (status, body) = d
        .post(
            "/v1/intents",
            &json!({"kind": "flatten", "idempotency_key": "wedge"}),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let stuck = |l: &String| l.starts_with("STATUS=executor stuck");
    socket
        .until(&d, "the stuck status", |s| s.iter().any(stuck))
        .await;
    socket
        .until(&d, "pings after the order answered", |s| {
            let Some(from) = s.iter().position(stuck) else {
                return false;
            };
            s[from..].iter().any(|l| l == "WATCHDOG=1")
        })
        .await;

    // Assert: from the stuck status until "running" again, not one ping; then pings.
    let seen = socket.seen();
    let from = seen.iter().position(stuck).expect("stuck status");
    let resumed = from
        + seen[from..]
            .iter()
            .position(|l| l == "STATUS=running")
            .unwrap_or_else(|| panic!("no STATUS=running after the wedge: {seen:?}"));
    assert!(
        !seen[from..resumed].iter().any(|l| l == "WATCHDOG=1"),
        "a ping while wedged: {seen:?}"
    );
    assert!(seen[resumed..].iter().any(|l| l == "WATCHDOG=1"));
    // The wedge was a slow venue, not a lost request: the flatten completes.
    let id = body["id"].as_i64().expect("intent id");
    let intent = d
        .until_ok("the flatten done", Duration::from_secs(30), || async {
            let (_, intent) = d.get(&format!("/v1/intents/{id}")).await;
            if intent["state"] == "done" {
                Ok(intent)
            } else {
                Err(intent)
            }
        })
        .await;
    assert_eq!(intent["kind"], "flatten", "{intent}");
}
