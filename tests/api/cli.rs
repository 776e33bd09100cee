//! The CLI client run as a process against a running daemon, and `sluice run` itself
//! serving until SIGTERM.

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;
use sluice::domain::{Direction, IntentState};
use sluice::ledger::IntentId;
use sluice_testkit::app::*;
use sluice_testkit::poll::until;
use sluice_testkit::process::DaemonProc;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

/// `sluice <args>` pointed at `addr` with the test token, environment otherwise clean.
fn sluice(addr: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sluice"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("USER", "tester")
        .env("SLUICE_CONFIG_DIR", config_dir())
        .env("SLUICE__API__LISTEN", addr)
        .env("SLUICE__API__TOKEN", TOKEN);
    cmd
}

pub(super) async fn run(addr: String, args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        sluice(&addr, &refs).output().expect("run sluice")
    })
    .await
    .expect("join")
}

fn stdout_json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[sqlx::test]
async fn the_cli_opens_shows_lists_and_halts_through_the_daemon(pool: PgPool) {
    let app = spawn_app(&pool).await;
    let addr = app.addr.to_string();
    app.position("ETHUSDT", Direction::Short, "0.1", "3000")
        .await;

    let open = run(
        addr.clone(),
        &[
            "intent",
            "open",
            "SOLUSDT",
            "long",
            "--notional",
            "100",
            "--key",
            "cli-1",
            "--json",
        ],
    )
    .await;
    let id = stdout_json(&open)["id"].as_i64().expect("id");
    let show = run(addr.clone(), &["intent", "show", &id.to_string()]).await;
    let positions = run(addr.clone(), &["positions"]).await;
    let list = run(addr.clone(), &["intent", "list"]).await;
    let halt = run(addr.clone(), &["halt", "--reason", "cli drill"]).await;
    let refused = run(
        addr.clone(),
        &["intent", "open", "SOLUSDT", "long", "--notional", "100"],
    )
    .await;
    let resume = run(addr.clone(), &["resume", "--json"]).await;

    assert!(
        open.status.success(),
        "{}",
        String::from_utf8_lossy(&open.stderr)
    );
    let show_text = String::from_utf8_lossy(&show.stdout);
    assert!(
        show_text.contains(&format!("intent #{id} open long SOLUSDT: accepted")),
        "{show_text}"
    );
    let list_text = String::from_utf8_lossy(&list.stdout);
    assert!(
        list_text.starts_with("ID") && list_text.contains("SOLUSDT"),
        "{list_text}"
    );
    let positions_text = String::from_utf8_lossy(&positions.stdout);
    assert!(
        positions_text.contains("ETHUSDT")
            && positions_text.contains("short")
            && positions_text.contains("0.1"),
        "{positions_text}"
    );
    assert!(String::from_utf8_lossy(&halt.stdout).contains("HALTED by cli:tester"));
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("halted"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert_eq!(stdout_json(&resume)["halt"]["halted"], false);
    app.stop().await;
}

#[sqlx::test]
async fn the_cli_submits_a_post_only_limit_open_and_refuses_a_gtd_too_near_by_name(pool: PgPool) {
    let app = spawn_app(&pool).await;
    let addr = app.addr.to_string();
    let base = ["intent", "open", "SOLUSDT", "long", "--notional", "100"];
    let gtx = [
        &base[..],
        &[
            "--limit", "179.5", "--tif", "GTX", "--key", "cli-gtx", "--json",
        ],
    ];
    let gtd = [
        &base[..],
        &["--limit", "179.5", "--tif", "GTD", "--good-till", "1000"],
    ];

    let open = run(addr.clone(), &gtx.concat()).await;
    let near = run(addr.clone(), &gtd.concat()).await;

    assert!(
        open.status.success(),
        "{}",
        String::from_utf8_lossy(&open.stderr)
    );
    let body = stdout_json(&open);
    assert_eq!(body["limit"]["price"], "179.5", "{body}");
    assert_eq!(body["limit"]["time_in_force"], "GTX", "{body}");
    let id = body["id"].as_i64().expect("id").to_string();
    let show = run(addr.clone(), &["intent", "show", &id]).await;
    let shown = String::from_utf8_lossy(&show.stdout);
    assert!(shown.contains("LIMIT 179.5 GTX"), "{shown}");
    assert!(!near.status.success());
    let said = String::from_utf8_lossy(&near.stderr);
    assert!(said.contains("good_till_date"), "{said}");
    app.stop().await;
}

#[sqlx::test]
async fn the_cli_cancels_an_intent_not_started_and_says_so_for_one_that_ended(pool: PgPool) {
    let app = spawn_app(&pool).await;
    let addr = app.addr.to_string();
    let mut ids = Vec::new();
    for key in ["cli-cancel", "cli-done"] {
        let (_, body) = app
            .post("/v1/intents", &open_body(key, "SOLUSDT", "long", "100"))
            .await;
        ids.push(body["id"].as_i64().expect("id"));
    }
    let (id, done) = (ids[0], IntentId(ids[1]));
    for to in [IntentState::Working, IntentState::Done] {
        app.ledger
            .set_intent_state(done, to, "test")
            .await
            .expect("moved");
    }

    let first = run(
        addr.clone(),
        &["intent", "cancel", &id.to_string(), "--json"],
    )
    .await;
    let human = run(addr.clone(), &["intent", "cancel", &id.to_string()]).await;
    let ended = run(addr.clone(), &["intent", "cancel", &done.get().to_string()]).await;

    let answer = stdout_json(&first);
    assert_eq!(answer["cancel"], "cancelled");
    assert_eq!(answer["intent"]["state"], "cancelled");
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(
        human.status.success() && text.starts_with("cancelled"),
        "{text}"
    );
    assert_eq!(ended.status.code(), Some(2));
    let refusal = String::from_utf8_lossy(&ended.stderr);
    assert!(refusal.contains("already ended `done`"), "{refusal}");
    let row = app.ledger.intent(done).await.expect("read").expect("row");
    assert_eq!(row.state, IntentState::Done);
    app.stop().await;
}

#[sqlx::test]
async fn the_cli_flattens_and_resume_is_refused_while_the_flatten_is_pending(pool: PgPool) {
    let app = spawn_app(&pool).await;
    let addr = app.addr.to_string();

    let flatten = run(
        addr.clone(),
        &["flatten", "--symbol", "SOLUSDT", "--reason", "drill"],
    )
    .await;
    let resume = run(addr.clone(), &["resume"]).await;
    let budget = run(addr.clone(), &["budget", "--json"]).await;

    let text = String::from_utf8_lossy(&flatten.stdout);
    assert!(
        flatten.status.success(),
        "{}",
        String::from_utf8_lossy(&flatten.stderr)
    );
    assert!(
        text.contains("HALTED by cli:tester") && text.contains("flatten SOLUSDT: accepted"),
        "{text}"
    );
    assert_eq!(resume.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&resume.stderr).contains("flatten_pending"));
    assert_eq!(stdout_json(&budget)["available"], "1000");
    app.stop().await;
}

#[sqlx::test]
async fn intent_wait_follows_the_intent_to_its_final_state(pool: PgPool) {
    let app = spawn_app(&pool).await;
    let (_, first) = app
        .post("/v1/intents", &open_body("waited", "BTCUSDT", "long", "50"))
        .await;
    let id = IntentId(first["id"].as_i64().expect("id"));
    let addr = app.addr.to_string();
    let waiting = tokio::spawn(run(
        addr,
        &[
            "intent",
            "open",
            "BTCUSDT",
            "long",
            "--notional",
            "50",
            "--key",
            "waited",
            "--wait",
            "--timeout",
            "30",
        ],
    ));

    app.ledger
        .set_intent_state(id, IntentState::Working, "executor started")
        .await
        .expect("working");
    app.ledger
        .set_intent_state(id, IntentState::Done, "all chunks filled")
        .await
        .expect("done");
    let out = waiting.await.expect("join");

    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("intent #{} open long BTCUSDT: done", id.get())),
        "{stdout}"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_cli_says_when_the_daemon_is_not_running() {
    let free = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = free.local_addr().expect("addr").to_string();
    drop(free);

    let out = run(addr, &["positions"]).await;

    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not running") && err.contains("sluice run"),
        "{err}"
    );
}

#[sqlx::test]
async fn sluice_run_serves_the_api_and_stops_cleanly_on_sigterm(
    _opts: PgPoolOptions,
    conn: PgConnectOptions,
) {
    let url = sluice_testkit::db::url_of(&conn);
    // No token anywhere: the daemon generates one into the state directory.
    let state = tempfile::tempdir().expect("state dir");
    let state_home = state.path().to_str().expect("utf-8 path").to_string();
    let mut cmd = sluice("127.0.0.1:0", &["--log-format", "json", "run"]);
    cmd.env_remove("SLUICE__API__TOKEN")
        .env("XDG_STATE_HOME", &state_home)
        .env("DATABASE_URL", url);
    let d = DaemonProc::watch("sluice", cmd).await;
    until("sluice is ready", Duration::from_secs(30), || async {
        d.logged("sluice is ready")
    })
    .await;
    let addr = d.api.to_string();

    let ready = reqwest::get(format!("http://{addr}/readyz"))
        .await
        .expect("readyz");
    let anonymous = reqwest::get(format!("http://{addr}/v1/budget"))
        .await
        .expect("budget");
    let token_file = state.path().join("sluice/control.token");
    let mode = std::fs::metadata(&token_file)
        .expect("the token file was generated")
        .permissions()
        .mode();
    let token = std::fs::read_to_string(&token_file).expect("token file");
    let budget = reqwest::Client::new()
        .get(format!("http://{addr}/v1/budget"))
        .bearer_auth(token.trim())
        .send()
        .await
        .expect("budget");
    // The CLI finds the same file on its own (no SLUICE__API__TOKEN).
    let cli = {
        let (addr, state_home) = (addr.clone(), state_home.clone());
        tokio::task::spawn_blocking(move || {
            sluice(&addr, &["budget", "--json"])
                .env_remove("SLUICE__API__TOKEN")
                .env("XDG_STATE_HOME", state_home)
                .output()
                .expect("run sluice budget")
        })
        .await
        .expect("join")
    };
    let (code, log) = d.stop(Duration::from_secs(30)).await;

    assert_eq!(ready.status().as_u16(), 200);
    assert_eq!(anonymous.status().as_u16(), 401, "a token is the default");
    assert_eq!(mode & 0o777, 0o600, "the token file is private");
    assert!(token.trim().len() >= 32, "a real token was generated");
    assert_eq!(budget.status().as_u16(), 200);
    assert!(
        cli.status.success(),
        "the CLI reads the generated token: {}",
        String::from_utf8_lossy(&cli.stderr)
    );
    assert_eq!(code, Some(0), "{log}");
    assert!(log.contains("sluice stopped"), "{log}");
}
