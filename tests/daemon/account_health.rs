//! One daemon serving two accounts, seen from outside: `/readyz` and the Prometheus
//! gauges answer per account, one account's key loss leaves the daemon ready for the
//! other (docs/accounts.md "Health"), and the operator tools run with `--account b`
//! (`positions`, `report`, `reconcile`, `doctor`) see b's rows only.

use std::time::Duration;

use serde_json::{json, Value};
use sluice::domain::IntentState;
use sluice::ledger::Ledger;
use sluice_sim::{spawn, SimHandle};
use sluice_testkit::executor::scenario;
use sluice_testkit::process::*;
use sqlx::PgPool;

use crate::accounts::{daemon_serving_b_and_c, open, open_and_finish, revoke, SECOND};

/// A daemon (or CLI run) of `main` and `b`, with b's key.
const SERVE_MAIN_AND_B: [(&str, &str); 5] = [
    ("SLUICE__DAEMON__RECONCILE_INTERVAL_S", "3600"),
    ("SLUICE__BUDGET__ALLOCATION_USDT", "100000"),
    ("SLUICE__ACCOUNTS__B__API_KEY", "secondKey1"),
    ("SLUICE__ACCOUNTS__B__API_SECRET", "secondSecret1"),
    ("SLUICE__DAEMON__ACCOUNTS", "main,b"),
];

/// A `name{labels} value` line of the metrics text, parsed (None when absent).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// One daemon serving `b` and `c`; `c`'s key is deleted at the exchange. `/readyz`
/// without `?account=` stays 200 (`degraded`, naming `c`) with each account's own answer,
/// and every per-account gauge says which account is in trouble.
#[sqlx::test(migrations = "./migrations")]
async fn one_account_s_lost_key_leaves_the_daemon_ready_and_is_named_per_account(pool: PgPool) {
    let db_url = database_url(&pool).await;
    let (sim, d) = daemon_serving_b_and_c(&db_url).await;
    let (code, both) = d.get("/readyz").await;
    assert_eq!(
        (code, both["status"].as_str()),
        (200, Some("ready")),
        "{both}"
    );

    revoke(&sim, "thirdKey1").await;
    let (code, created) = d.post("/v1/intents?account=c", &open("c-1")).await;
    assert_eq!(code, 202, "{created}");
    d.until_account_status("c", "not_ready", Duration::from_secs(30))
        .await;
    let (halted, _) = d
        .post("/v1/halt?account=b", &json!({"reason": "b only"}))
        .await;

    let (code, daemon) = d.get("/readyz").await;
    assert_eq!(code, 200, "b still trades: {daemon}");
    assert_eq!(daemon["status"], "degraded", "{daemon}");
    assert_eq!(daemon["role"], "active", "{daemon}");
    let of = |name: &str| -> Value {
        let list = daemon["accounts"].as_array().cloned().unwrap_or_default();
        list.into_iter()
            .find(|a| a["account"] == name)
            .unwrap_or_else(|| panic!("no entry for {name}: {daemon}"))
    };
    assert_eq!(
        (of("b")["ready"].clone(), of("b")["status"].clone()),
        (json!(true), json!("ready"))
    );
    assert_eq!(of("c")["status"], "not_ready");
    let reason = of("c")["reason"].as_str().unwrap_or_default().to_string();
    assert!(reason.contains("key-loss safe mode"), "{reason}");
    let degraded = daemon["degraded"].to_string();
    assert!(degraded.contains("c: not_ready"), "{degraded}");
    assert!(!degraded.contains("b: "), "{degraded}");

    assert_eq!(halted, 200);
    let metrics = d.metrics().await;
    let gauge = |series: &str| {
        sample(&metrics, series).unwrap_or_else(|| panic!("{series} missing:\n{metrics}"))
    };
    assert_eq!(gauge(r#"sluice_key_loss{account="c"}"#), 1.0);
    assert_eq!(gauge(r#"sluice_key_loss{account="b"}"#), 0.0);
    assert_eq!(gauge(r#"sluice_ready{account="c"}"#), 0.0);
    assert_eq!(gauge(r#"sluice_ready{account="b"}"#), 1.0);
    assert_eq!(gauge(r#"sluice_halted{account="b"}"#), 1.0);
    assert_eq!(gauge(r#"sluice_halted{account="c"}"#), 0.0);
    assert_eq!(
        gauge(r#"sluice_breaker_state{scope="orders",account="b"}"#),
        0.0
    );
    assert_eq!(gauge(r#"sluice_user_stream_connected{account="b"}"#), 1.0);
    assert_eq!(gauge(r#"sluice_user_stream_silent{account="b"}"#), 0.0);
    assert!(
        sample(&metrics, "sluice_key_loss").is_none(),
        "no unlabelled series beside the accounts'"
    );
    drop(d);
    sim.shutdown().await;
}

/// `sluice --account <name> <args>` against the test's database, simulator and daemon
/// API (`api`: the commands that ask the daemon), with both accounts' keys in the
/// settings: its exit code and stdout (stderr on failure).
async fn cli(
    sim: &SimHandle,
    db_url: &str,
    api: &str,
    account: &str,
    args: &[&str],
) -> (i32, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"));
    cmd.args(["--account", account])
        .args(args)
        .env_clear()
        .env("SLUICE__API__LISTEN", api)
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", db_url)
        .env("SLUICE__EXCHANGE__VENUE", "custom")
        .env("SLUICE__EXCHANGE__REST_URL", sim.base_url())
        .env("SLUICE__EXCHANGE__WS_URL", sim.ws_url())
        .env("SLUICE__EXCHANGE__API_KEY", sluice_testkit::account::KEY)
        .env(
            "SLUICE__EXCHANGE__API_SECRET",
            sluice_testkit::account::SECRET,
        )
        .env("SLUICE__BUDGET__ALLOCATION_USDT", "100000");
    for (k, v) in SERVE_MAIN_AND_B {
        cmd.env(k, v);
    }
    let out = tokio::task::spawn_blocking(move || cmd.output().expect("sluice runs"))
        .await
        .expect("join");
    let code = out.status.code().unwrap_or(-1);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    if code > 1 {
        panic!(
            "{args:?} for {account} failed: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    (code, text)
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// `main` holds 0.02 BTCUSDT (two opens), `b` 0.01 (one); then main's position row is
/// made wrong in the ledger. Each operator tool run with `--account b` sees b's rows only
/// (positions, the report's attempts, a clean reconcile and doctor), and run for `main`
/// finds main's fault, which b's runs never mention.
#[sqlx::test(migrations = "./migrations")]
async fn operator_tools_on_a_named_account_see_only_that_account_s_rows(pool: PgPool) {
    let db_url = database_url(&pool).await;
    let ledger = Ledger::from_pool(pool.clone());
    let sim = spawn(scenario(SECOND, ""), "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("sim");
    let d = spawn_daemon("MB", &sim, &db_url, &SERVE_MAIN_AND_B).await;
    d.until_account_status("main", "ready", Duration::from_secs(60))
        .await;
    d.until_account_status("b", "ready", Duration::from_secs(60))
        .await;
    for key in ["main-1", "main-2"] {
        assert_eq!(
            open_and_finish(&d, &ledger, "main", key).await,
            IntentState::Done
        );
    }
    assert_eq!(
        open_and_finish(&d, &ledger, "b", "b-1").await,
        IntentState::Done
    );
    let api = d.api.to_string();
    let (_, positions) = cli(&sim, &db_url, &api, "b", &["positions", "--json"]).await;
    d.stop(Duration::from_secs(30)).await;
    let (main_position,): (i64,) = sqlx::query_as(
        "UPDATE positions SET quantity = quantity + 1
          WHERE account_id = (SELECT id FROM accounts WHERE name = 'main') AND status = 'open'
          RETURNING id",
    )
    .fetch_one(&pool)
    .await
    .expect("main's position");
    let (b_attempts,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM order_attempts
          WHERE is_order AND account_id = (SELECT id FROM accounts WHERE name = 'b')",
    )
    .fetch_one(&pool)
    .await
    .expect("count");

    let (_, report) = cli(&sim, &db_url, &api, "b", &["report", "--format", "json"]).await;
    let (_, main_report) = cli(&sim, &db_url, &api, "main", &["report", "--format", "json"]).await;
    let (b_reconcile, b_diff) = cli(&sim, &db_url, &api, "b", &["reconcile", "--json"]).await;
    let (main_reconcile, main_diff) =
        cli(&sim, &db_url, &api, "main", &["reconcile", "--json"]).await;
    let (b_doctor, b_found) = cli(&sim, &db_url, &api, "b", &["doctor", "--json"]).await;
    let (main_doctor, main_found) = cli(&sim, &db_url, &api, "main", &["doctor", "--json"]).await;

    let positions = json_of(&positions);
    let list = positions.as_array().cloned().unwrap_or_else(|| {
        positions["positions"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    });
    assert_eq!(list.len(), 1, "{positions}");
    assert_eq!(list[0]["quantity"], "0.01", "{positions}");
    assert_eq!(json_of(&report)["totals"]["attempts"], json!(b_attempts));
    assert_eq!(b_attempts, 1);
    assert_eq!(json_of(&main_report)["totals"]["attempts"], json!(2));
    assert_eq!(
        b_reconcile, 0,
        "b's ledger and b's exchange agree: {b_diff}"
    );
    assert_eq!(main_reconcile, 1, "main's wrong row is found: {main_diff}");
    assert_eq!(b_doctor, 0, "{b_found}");
    assert_eq!(main_doctor, 1, "{main_found}");
    assert!(
        main_found.contains(&main_position.to_string()),
        "{main_found}"
    );
    sim.shutdown().await;
}
