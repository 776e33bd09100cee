//! Runs the Python interop suite (tests/interop: ccxt and the official Binance USDⓈ-M SDK)
//! against an in-process simulator, so `cargo test` exercises real third-party clients.
//! The venv is created from the pinned requirements on first use (needs the package
//! registry once); the test fails, naming the step, if that is impossible.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use sluice_sim::scenario::{DEMO_API_KEY, DEMO_API_SECRET};
use sluice_sim::{spawn, Scenario};
use tokio::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

async fn ensure_venv(venv: &Path) {
    if venv.join("bin/pytest").exists() {
        return;
    }
    let status = Command::new("python3")
        .args(["-m", "venv"])
        .arg(venv)
        .status()
        .await;
    assert!(
        status.is_ok_and(|s| s.success()),
        "failed to create {}",
        venv.display()
    );
    let req = root().join("tests/interop/requirements.txt");
    let status = Command::new(venv.join("bin/pip"))
        .args(["install", "-q", "-r"])
        .arg(&req)
        .status()
        .await;
    assert!(
        status.is_ok_and(|s| s.success()),
        "failed to pip install {}",
        req.display()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_binance_clients_trade_and_stream_against_the_simulator() {
    let venv = root().join("target/interop-venv");
    ensure_venv(&venv).await;
    let sim = spawn(Scenario::demo(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let out = Command::new(venv.join("bin/pytest"))
        .arg("-q")
        .arg(root().join("tests/interop"))
        .env("SIM_URL", sim.base_url())
        .env("SIM_WS", sim.ws_url())
        .env("SIM_API_KEY", DEMO_API_KEY)
        .env("SIM_API_SECRET", DEMO_API_SECRET)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .await
        .expect("pytest runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "interop suite failed:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // 10 with HMAC keys, 5 with Ed25519 and RSA keys (test_keys.py), 3 over the WebSocket
    // API (test_wsapi.py), 1 stop through the Algo Service (test_ccxt.py), 2 ccxt.pro
    // orders over the WebSocket API (test_ccxt_pro_wsapi.py).
    assert!(text.contains("21 passed"), "{text}");
    sim.shutdown().await;
}
