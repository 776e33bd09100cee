//! Hot standby: two real `sluice run` processes on one ledger and one account. Exactly
//! one holds the leader lock and trades; the other serves reads, refuses writes with
//! 503 and waits. SIGKILL the active one mid-close: the standby takes the lock,
//! recovers, and finishes the close with no clientOrderId sent twice.
//! Also the lock itself, on two plain connections.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use rust_decimal::Decimal;
use serde_json::{json, Value};
use sluice::domain::IntentState;
use sluice::exchange::Exchange;
use sluice::ledger::LEADER_CLASSID;
use sluice::ledger::{IntentId, Ledger, LockSessionOptions};
use sluice::settings::Settings;
use sluice::startup::{Application, Trading};
use sluice_sim::{spawn, SimHandle};
use sluice_testkit::executor::scenario;
use sluice_testkit::process::*;
use sqlx::PgPool;

const POSITION: &str = "5000";

fn session_options(name: &str) -> LockSessionOptions {
    LockSessionOptions {
        venue: "binance-usdm".into(),
        application_name: name.into(),
        keepalive_idle: Duration::from_secs(5),
        account: None,
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn a_second_session_cannot_take_the_lock_until_the_first_connection_closes(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let mut first = ledger
        .lock_session(&session_options("sluice first"))
        .await
        .expect("first");
    let mut second = ledger
        .lock_session(&session_options("sluice second"))
        .await
        .expect("second");
    assert_eq!(
        first.key(),
        second.key(),
        "same venue, same ledger: same key"
    );
    assert_eq!(first.key().classid, LEADER_CLASSID);

    assert!(first.try_acquire().await.expect("first try"));
    assert!(
        !second.try_acquire().await.expect("second try"),
        "the lock is taken"
    );
    let holder = second
        .holder()
        .await
        .expect("holder")
        .expect("someone holds it");
    assert_eq!(holder.application_name.as_deref(), Some("sluice first"));
    assert!(first.still_held().await.expect("check"));
    assert!(!second.still_held().await.expect("check"));

    first.close().await;
    // The server releases the lock when it has processed the disconnect.
    until(
        "the lock to be freed",
        Duration::from_secs(10),
        async || second.try_acquire().await.expect("second try"),
    )
    .await;
    assert!(second.still_held().await.expect("check"));
}

#[sqlx::test(migrations = "./migrations")]
async fn a_terminated_lock_session_is_never_reported_as_held(pool: PgPool) {
    let ledger = Ledger::from_pool(pool.clone());
    let mut session = ledger
        .lock_session(&session_options("sluice victim"))
        .await
        .expect("s");
    assert!(session.try_acquire().await.expect("try"));
    let pid = session.backend_pid().await.expect("pid");

    let (killed,): (bool,) = sqlx::query_as("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .fetch_one(&pool)
        .await
        .expect("terminate");
    assert!(killed);

    assert!(
        session.still_held().await.is_err(),
        "a dead session is an error, never 'held'"
    );
}

/// SOLUSDT publishes a MARKET cap of 100: closing 5,000 takes 50 chunks.
fn close_scenario() -> sluice_sim::Scenario {
    close_scenario_with("")
}

/// [`close_scenario`] with `extra` TOML (more accounts…).
pub(crate) fn close_scenario_with(extra: &str) -> sluice_sim::Scenario {
    scenario(
        &format!("[[symbols]]\nname = \"SOLUSDT\"\nmarket_max_qty = \"100\"\nlevel_qty = \"2000\"\n{extra}"),
        "",
    )
}

#[sqlx::test(migrations = "./migrations")]
async fn the_standby_takes_over_a_killed_active_daemon_and_finishes_its_close_once(pool: PgPool) {
    let db_url = database_url(&pool).await;
    let ledger = Ledger::from_pool(pool);
    let sim = spawn(close_scenario(), "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("sim");
    open_short_by_hand(&*hand_adapter(&sim).await, "SOLUSDT", POSITION, "hand-0").await;
    let env = [("SLUICE__DAEMON__RECONCILE_INTERVAL_S", "3600")];

    // A leads (and adopts the SHORT); B waits.
    let mut a = spawn_daemon("A", &sim, &db_url, &env).await;
    a.until_status("ready", Duration::from_secs(60)).await;
    let b = spawn_daemon("B", &sim, &db_url, &env).await;
    let standby = b.until_status("standby", Duration::from_secs(30)).await;
    assert_standby_serves_reads_only(&b, &standby).await;

    // A strategy follows the events on A from now on.
    let http = reqwest::Client::new();
    let first_seen = crate::events::newest(&ledger).await;
    let mut on_a = sluice_testkit::events::open(&http, &a.url(""), None, Some(first_seen))
        .await
        .expect("stream on A");

    // A close is posted to A; A is SIGKILLed once some chunks are in the ledger.
    let position = b.get("/v1/positions").await.1["positions"][0]["id"]
        .as_i64()
        .expect("id");
    let (code, created) = a
        .post(
            "/v1/intents",
            &json!({"kind": "close", "position_id": position,
            "idempotency_key": "standby-close", "reason": "test"}),
        )
        .await;
    assert_eq!(code, 202, "{created}");
    let intent = IntentId(created["id"].as_i64().expect("intent id"));
    until("some chunks filled", Duration::from_secs(60), || async {
        filled(&ledger, intent).await >= Decimal::from(300)
    })
    .await;
    a.kill();
    let killed_at = std::time::Instant::now();
    // What A sent before it died (the stream then ends).
    let mut seen = Vec::new();
    while let Some(e) = on_a.next(Duration::from_secs(10)).await {
        seen.push(e);
    }
    let at_kill = filled(&ledger, intent).await;
    let row = ledger.intent(intent).await.expect("read").expect("intent");
    assert!(
        !row.state.is_terminal() && at_kill < Decimal::from(5000),
        "A must die mid-close (state {:?}, filled {at_kill})",
        row.state
    );

    // B takes the lock, recovers, reconciles, and finishes the close.
    b.until_status("ready", Duration::from_secs(60)).await;
    // Reported, never asserted: the grace period dominates it.
    eprintln!(
        "takeover: B ready {:?} after A was killed with {at_kill} of {POSITION} closed",
        killed_at.elapsed()
    );
    assert!(b.logged("leader lock acquired"), "B logs the transition");
    let row = b
        .until_ok(
            "the close to finish on B",
            Duration::from_secs(120),
            || async {
                let row = ledger.intent(intent).await.expect("read").expect("intent");
                if row.state.is_terminal() {
                    Ok(row)
                } else {
                    Err(format!("{:?}", row.state))
                }
            },
        )
        .await;
    assert_eq!(row.state, IntentState::Done, "{:?}", row.error);
    let (_, reconcile) = b.get("/v1/reconcile").await;
    assert_eq!(reconcile["last"]["trigger"], "start", "{reconcile}");
    assert_eq!(
        reconcile["last"]["outcome"], "clean",
        "after recovery the ledger equals the exchange: {reconcile}"
    );
    assert_closed_once(&ledger, &sim, intent).await;
    // The strategy resumes on B from the last event A sent: everything, in order, once.
    let last_seen = seen.last().map_or(first_seen, |e| e.seq);
    let mut on_b = sluice_testkit::events::open(&http, &b.url(""), None, Some(last_seen))
        .await
        .expect("stream on B");
    let rest = on_b
        .until("the close's end on B", Duration::from_secs(30), |got| {
            got.iter()
                .any(|e| crate::events::is_intent(e, intent, "done"))
        })
        .await;
    seen.extend(rest);
    crate::events::assert_is_the_outbox(&ledger, first_seen, &seen).await;
    crate::events::assert_covers(&ledger, intent, &seen, "done").await;
    drop(b);
    sim.shutdown().await;
}

async fn assert_standby_serves_reads_only(b: &DaemonProc, readyz: &Value) {
    assert_eq!(readyz["ready"], false);
    assert_eq!(readyz["role"], "standby");
    let reason = readyz["reason"].as_str().expect("reason");
    assert!(
        reason.contains("held by 'sluice"),
        "names the holder: {reason}"
    );
    let (code, positions) = b.get("/v1/positions").await;
    assert_eq!(code, 200, "reads work on the standby");
    assert_eq!(positions["positions"].as_array().map(Vec::len), Some(1));
    for path in ["/v1/intents", "/v1/budget", "/healthz", "/v1/reconcile"] {
        assert_eq!(b.get(path).await.0, 200, "GET {path} on the standby");
    }
    let (code, refused) = b
        .post(
            "/v1/intents",
            &json!({"kind": "close", "symbol": "SOLUSDT", "side": "short",
            "idempotency_key": "to-standby"}),
        )
        .await;
    assert_eq!(code, 503, "writes are refused on the standby: {refused}");
    assert_eq!(refused["error"]["code"], "standby");
    assert!(b.metrics().await.contains("sluice_leader 0"));
}

pub(crate) async fn filled(ledger: &Ledger, intent: IntentId) -> Decimal {
    ledger
        .orders_of_intent(intent)
        .await
        .expect("orders")
        .iter()
        .map(|o| o.filled_quantity.get())
        .sum()
}

/// Exchange flat, every clientOrderId sent once, one execution per chunk, the ledger
/// equal to the exchange.
pub(crate) async fn assert_closed_once(ledger: &Ledger, sim: &SimHandle, intent: IntentId) {
    let account = sim_account(sim).await;
    let positions = account["positions"].as_array().cloned().unwrap_or_default();
    assert!(positions.is_empty(), "exchange flat, got {positions:?}");
    let orders = account["orders"].as_array().expect("orders");
    let total = executed_once_per_chunk(orders, intent, "takeover");
    assert_eq!(
        total,
        Decimal::from(5000),
        "exactly the position was closed"
    );
    assert!(
        ledger.open_positions().await.expect("p").is_empty(),
        "ledger flat"
    );
    assert_eq!(
        filled(ledger, intent).await,
        total,
        "ledger fills equal exchange executions"
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn an_active_daemon_that_loses_its_lock_connection_stops_trading_and_leads_again_in_process(
    pool: PgPool,
) {
    let sim = spawn(close_scenario(), "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("sim");
    let mut env: HashMap<String, String> = FAST_LEADER_ENV
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    env.insert("SLUICE__API__LISTEN".into(), "127.0.0.1:0".into());
    let config = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/config"));
    let settings = Settings::load_with_env(&config, env).expect("settings");
    let exchange: Arc<dyn Exchange> = hand_adapter(&sim).await;
    let app = Application::build_with_ledger(settings, Ledger::from_pool(pool.clone()))
        .await
        .expect("app")
        .with_trading(Trading {
            exchange,
            audit: None,
            config: sluice_testkit::executor::fast_config(),
        });
    let readyz = format!("http://{}/readyz", app.api_addr());
    let (trigger, shutdown) = sluice::shutdown::channel();
    let running = tokio::spawn(app.run_until_stopped(shutdown));
    let readyz_is = |want: &'static str| {
        let readyz = readyz.clone();
        async move {
            let body: Value = reqwest::get(&readyz)
                .await
                .expect("readyz")
                .json()
                .await
                .expect("json");
            body["status"] == want
        }
    };
    until("the daemon to lead", Duration::from_secs(60), || {
        readyz_is("ready")
    })
    .await;

    // The lock's connection dies (an operator's pg_terminate_backend, a proxy, a failover).
    let (pid,): (i32,) = sqlx::query_as(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2 \
         AND classid = $1::int8::oid AND granted \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .bind(i64::from(LEADER_CLASSID))
    .fetch_one(&pool)
    .await
    .expect("the leader's session");
    sqlx::query("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .execute(&pool)
        .await
        .expect("terminate");

    // Assert: trading stops (not ready), then the same daemon takes the lock again.
    until("trading to stop", Duration::from_secs(30), || {
        readyz_is("not_ready")
    })
    .await;
    until("the daemon to lead again", Duration::from_secs(60), || {
        readyz_is("ready")
    })
    .await;
    assert!(
        !running.is_finished(),
        "a lost lock does not end the daemon"
    );
    let (holders,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2 \
         AND classid = $1::int8::oid AND granted \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .bind(i64::from(LEADER_CLASSID))
    .fetch_one(&pool)
    .await
    .expect("holders");
    assert_eq!(holders, 1, "the lock is held again, once");
    trigger.trigger();
    let ended = tokio::time::timeout(Duration::from_secs(30), running)
        .await
        .expect("the daemon stops on shutdown")
        .expect("joins");
    assert!(ended.is_ok(), "{ended:?}");
    sim.shutdown().await;
}
