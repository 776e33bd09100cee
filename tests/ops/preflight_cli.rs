//! The real binary: `sluice preflight [--json]` exit codes and JSON, and `sluice run`
//! holding opens on a failed check (it still starts: closes must run), passing a healthy
//! one, and starting anyway (loudly) with `--skip-preflight`.

use std::collections::HashMap;
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;
use sluice_sim::SimHandle;
use sluice_testkit::poll::poll;
use sluice_testkit::preflight::*;
use sluice_testkit::process::DaemonProc;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// `sluice <args>` with only the given environment.
fn sluice(env: &HashMap<String, String>, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sluice"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("SLUICE_CONFIG_DIR", config_dir())
        .env("SLUICE__API__LISTEN", "127.0.0.1:0")
        .env("SLUICE__API__AUTH", "none")
        .envs(env);
    cmd
}

async fn output(env: HashMap<String, String>, args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        sluice(&env, &refs).output().expect("run sluice")
    })
    .await
    .expect("join")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn preflight_json_is_an_array_of_passing_lines_and_exits_0_for_a_healthy_account() {
    let sim = start(scenario("", "")).await;
    let out = output(env_for(&sim, &[]), &["preflight", "--json"]).await;

    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let lines = lines.as_array().expect("an array");
    assert!(lines.len() >= 14, "{lines:?}");
    for l in lines {
        assert_eq!(l["status"], "pass", "{l}");
        for key in ["name", "observed", "detail"] {
            assert!(l[key].is_string(), "{key} in {l}");
        }
    }
    assert!(lines.iter().any(|l| l["name"] == "user_stream"));
}

#[tokio::test]
async fn preflight_exits_1_with_the_failing_line_when_the_key_is_refused() {
    let sim = start(scenario("", "ip_restricted = true")).await;
    let out = output(env_for(&sim, &[]), &["preflight"]).await;

    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    let key_line = stdout
        .lines()
        .find(|l| l.contains("api_key"))
        .expect("an api_key line");
    assert!(
        key_line.starts_with("fail") && key_line.contains("-2015"),
        "{stdout}"
    );
    assert!(stdout.contains("NOT ready to trade"), "{stdout}");
}

#[tokio::test]
async fn preflight_exits_2_on_a_configuration_error() {
    let sim = start(scenario("", "")).await;
    let env = env_for(&sim, &[("SLUICE__PREFLIGHT__CLOCK_OFFSET_MAX_MS", "soon")]);
    let out = output(env, &["preflight"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("clock_offset_max_ms"),
        "{}",
        text(&out.stderr)
    );
}

#[sqlx::test]
async fn a_daemon_against_an_account_that_cannot_trade_starts_but_holds_opens_naming_the_check(
    _opts: PgPoolOptions,
    conn: PgConnectOptions,
) {
    let sim = start(scenario("", "can_trade = false")).await;
    let log = run_until_ready(&sim, &conn, &[]).await;
    let failed = log
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or(Value::Null))
        .find(|v| v["check"] == "permissions")
        .expect("the failing check is logged");
    assert_eq!(failed["level"], "ERROR");
    assert!(
        failed["observed"]
            .as_str()
            .is_some_and(|o| o.contains("canTrade=false")),
        "{failed}"
    );
    let held = log.find("opens held by the start-up gate").expect("held");
    let executor = log.find("executor running").expect("executor started");
    assert!(held < executor, "{log}");
}

/// Start `sluice --log-format json run <extra>`, wait for "sluice is ready", stop it with
/// SIGTERM; returns the whole log.
async fn run_until_ready(sim: &SimHandle, conn: &PgConnectOptions, extra: &[&str]) -> String {
    let mut env = env_for(sim, &[]);
    env.insert("DATABASE_URL".into(), sluice_testkit::db::url_of(conn));
    let mut args = vec!["--log-format", "json", "run"];
    args.extend_from_slice(extra);
    let d = DaemonProc::watch("sluice", sluice(&env, &args)).await;
    let ready = poll(Duration::from_secs(30), || async {
        d.logged("sluice is ready").then_some(())
    })
    .await;
    let (_, log) = d.stop(Duration::from_secs(30)).await;
    assert!(ready.is_some(), "the daemon never became ready:\n{log}");
    log
}

#[sqlx::test]
async fn a_daemon_against_a_healthy_account_passes_preflight_and_starts_trading(
    _opts: PgPoolOptions,
    conn: PgConnectOptions,
) {
    let sim = start(scenario("", "")).await;
    let log = run_until_ready(&sim, &conn, &[]).await;
    let passed = log.find("preflight passed").expect("preflight ran");
    let executor = log.find("executor running").expect("executor started");
    assert!(passed < executor, "{log}");
}

#[sqlx::test]
async fn skip_preflight_starts_anyway_and_warns_naming_every_skipped_check(
    _opts: PgPoolOptions,
    conn: PgConnectOptions,
) {
    let sim = start(scenario("", "can_trade = false")).await;
    let log = run_until_ready(&sim, &conn, &["--skip-preflight"]).await;
    let warning = log
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or(Value::Null))
        .find(|v| {
            v["message"]
                .as_str()
                .is_some_and(|m| m.contains("PREFLIGHT SKIPPED"))
        })
        .expect("a loud warning");
    assert_eq!(warning["level"], "WARN");
    let skipped = warning["skipped"].as_str().expect("skipped names");
    for name in [
        "api_key",
        "permissions",
        "balance",
        "test_order:SOLUSDT",
        "user_stream",
    ] {
        assert!(skipped.contains(name), "{name} missing from {skipped}");
    }
    assert!(log.contains("executor running"), "{log}");
}
