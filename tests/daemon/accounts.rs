//! Two accounts on one ledger, each traded by its own `sluice run` (`exchange.account`),
//! both active at once: each leads its own account's lock, trades with its own key, a
//! halt of one account does not stop the other, and a SIGKILLed daemon's account is
//! taken over by its standby while the other account trades on (docs/accounts.md). Three
//! accounts, two daemons that may each serve all three (`daemon.accounts`): a killed
//! daemon's account is taken over by the other daemon, which trades the rest meanwhile.

use std::time::Duration;

use serde_json::json;
use sluice::domain::IntentState;
use sluice::ledger::{IntentId, Ledger};
use sluice_sim::spawn;
use sluice_testkit::executor::scenario;
use sluice_testkit::process::*;
use sqlx::PgPool;

pub(crate) const SECOND: &str =
    "[[accounts]]\napi_key = \"secondKey1\"\napi_secret = \"secondSecret1\"\nusdt = \"1000000\"\n";

pub(crate) const THIRD: &str =
    "[[accounts]]\napi_key = \"thirdKey1\"\napi_secret = \"thirdSecret1\"\nusdt = \"1000000\"\n";

/// What both daemons of the three-account test share: the keys of `b` and `c`.
pub(crate) const SERVE_THREE: [(&str, &str); 6] = [
    ("SLUICE__DAEMON__RECONCILE_INTERVAL_S", "3600"),
    ("SLUICE__BUDGET__ALLOCATION_USDT", "100000"),
    ("SLUICE__ACCOUNTS__B__API_KEY", "secondKey1"),
    ("SLUICE__ACCOUNTS__B__API_SECRET", "secondSecret1"),
    ("SLUICE__ACCOUNTS__C__API_KEY", "thirdKey1"),
    ("SLUICE__ACCOUNTS__C__API_SECRET", "thirdSecret1"),
];

/// A simulator with accounts `b` and `c`, and one daemon serving both, each ready.
pub(crate) async fn daemon_serving_b_and_c(db_url: &str) -> (sluice_sim::SimHandle, DaemonProc) {
    let sim = spawn(
        scenario(&format!("{SECOND}{THIRD}"), ""),
        "127.0.0.1:0".parse().expect("addr"),
    )
    .await
    .expect("sim");
    let env: Vec<_> = SERVE_THREE
        .into_iter()
        .chain([("SLUICE__DAEMON__ACCOUNTS", "b,c")])
        .collect();
    let d = spawn_daemon("BC", &sim, db_url, &env).await;
    d.until_account_status("b", "ready", Duration::from_secs(60))
        .await;
    d.until_account_status("c", "ready", Duration::from_secs(60))
        .await;
    (sim, d)
}

/// Delete the API key `key` at the simulated exchange.
pub(crate) async fn revoke(sim: &sluice_sim::SimHandle, key: &str) {
    let revoked = reqwest::Client::new()
        .post(format!("{}/sim/accounts/{key}/revoke", sim.base_url()))
        .json(&json!({}))
        .send()
        .await
        .expect("admin request");
    assert!(revoked.status().is_success(), "{}", revoked.status());
}

pub(crate) fn open(key: &str) -> serde_json::Value {
    json!({"kind": "open", "symbol": "BTCUSDT", "side": "long", "quantity": "0.01",
           "idempotency_key": key})
}

#[sqlx::test(migrations = "./migrations")]
async fn two_daemons_trade_two_accounts_at_once_and_a_halt_of_one_does_not_stop_the_other(
    pool: PgPool,
) {
    let db_url = database_url(&pool).await;
    let ledger = Ledger::from_pool(pool.clone());
    let sim = spawn(scenario(SECOND, ""), "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("sim");
    let env = [("SLUICE__DAEMON__RECONCILE_INTERVAL_S", "3600")];
    let b_env = [
        ("SLUICE__DAEMON__RECONCILE_INTERVAL_S", "3600"),
        ("SLUICE__EXCHANGE__ACCOUNT", "b"),
        ("SLUICE__EXCHANGE__API_KEY", "secondKey1"),
        ("SLUICE__EXCHANGE__API_SECRET", "secondSecret1"),
    ];

    let main = spawn_daemon("MAIN", &sim, &db_url, &env).await;
    let b = spawn_daemon("B", &sim, &db_url, &b_env).await;
    main.until_status("ready", Duration::from_secs(60)).await;
    b.until_status("ready", Duration::from_secs(60)).await;
    let (halt, _) = main.post("/v1/halt", &json!({"reason": "main only"})).await;
    let (refused, _) = main.post("/v1/intents", &open("main-1")).await;
    let (accepted, created) = b.post("/v1/intents", &open("b-1")).await;

    assert_eq!(halt, 200);
    assert!(refused >= 400, "main is halted");
    assert_eq!(accepted, 202, "{created}");
    let intent = IntentId(created["id"].as_i64().expect("id"));
    let row = b
        .until_ok("b's open to finish", Duration::from_secs(60), || async {
            let row = ledger.intent(intent).await.expect("read").expect("intent");
            if row.state.is_terminal() {
                Ok(row)
            } else {
                Err(format!("{:?}", row.state))
            }
        })
        .await;
    assert_eq!(row.state, IntentState::Done, "{:?}", row.error);
    let (_, of_b) = main.get("/v1/positions?account=b").await;
    let (_, of_main) = main.get("/v1/positions").await;
    assert_eq!(of_b["positions"][0]["quantity"], "0.01", "{of_b}");
    assert_eq!(
        of_main["positions"].as_array().map(Vec::len),
        Some(0),
        "{of_main}"
    );
    let (b_sessions,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2
           AND classid = 1936487779
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .fetch_one(&pool)
    .await
    .expect("locks");
    assert_eq!(b_sessions, 2, "each daemon holds its own account's lock");
    main.stop(Duration::from_secs(30)).await;
    b.stop(Duration::from_secs(30)).await;
}

/// Account `main` is led by A1 with A2 as its standby; account `b` by B. A1 is SIGKILLed
/// mid-close: A2 takes `main` over after the grace and finishes the close with no chunk
/// sent twice, while B keeps trading `b` and never loses its lock.
#[sqlx::test(migrations = "./migrations")]
async fn a_killed_daemon_s_account_is_taken_over_while_another_account_trades_on(pool: PgPool) {
    let db_url = database_url(&pool).await;
    let ledger = Ledger::from_pool(pool.clone());
    let sim = spawn(
        crate::standby::close_scenario_with(SECOND),
        "127.0.0.1:0".parse().expect("addr"),
    )
    .await
    .expect("sim");
    let hand = hand_adapter(&sim).await;
    open_short_by_hand(&hand, "SOLUSDT", "5000", "hand-0").await;
    let env = [("SLUICE__DAEMON__RECONCILE_INTERVAL_S", "3600")];
    let b_env = [
        ("SLUICE__DAEMON__RECONCILE_INTERVAL_S", "3600"),
        ("SLUICE__EXCHANGE__ACCOUNT", "b"),
        ("SLUICE__EXCHANGE__API_KEY", "secondKey1"),
        ("SLUICE__EXCHANGE__API_SECRET", "secondSecret1"),
        ("SLUICE__BUDGET__ALLOCATION_USDT", "100000"),
    ];
    let mut a1 = spawn_daemon("A1", &sim, &db_url, &env).await;
    a1.until_status("ready", Duration::from_secs(60)).await;
    let a2 = spawn_daemon("A2", &sim, &db_url, &env).await;
    a2.until_status("standby", Duration::from_secs(30)).await;
    let b = spawn_daemon("B", &sim, &db_url, &b_env).await;
    b.until_status("ready", Duration::from_secs(60)).await;

    let position = a1.get("/v1/positions").await.1["positions"][0]["id"]
        .as_i64()
        .expect("the adopted short");
    let (code, created) = a1
        .post(
            "/v1/intents",
            &json!({"kind": "close", "position_id": position,
                    "idempotency_key": "main-close", "reason": "test"}),
        )
        .await;
    assert_eq!(code, 202, "{created}");
    let close = IntentId(created["id"].as_i64().expect("id"));
    until("some chunks filled", Duration::from_secs(60), || async {
        crate::standby::filled(&ledger, close).await >= rust_decimal::Decimal::from(300)
    })
    .await;
    a1.kill();
    // While `main` has no leader, `b` trades.
    let mut b_intents = Vec::new();
    for i in 0..3 {
        let (code, created) = b.post("/v1/intents", &open(&format!("b-{i}"))).await;
        assert_eq!(code, 202, "{created}");
        b_intents.push(IntentId(created["id"].as_i64().expect("id")));
    }
    for id in &b_intents {
        let state = b
            .until_ok("b's open to finish", Duration::from_secs(60), || async {
                let row = ledger.intent(*id).await.expect("read").expect("intent");
                row.state
                    .is_terminal()
                    .then_some(row.state)
                    .ok_or(format!("{:?}", row.state))
            })
            .await;
        assert_eq!(state, IntentState::Done);
    }

    a2.until_status("ready", Duration::from_secs(60)).await;
    let row = a2
        .until_ok(
            "the close to finish on A2",
            Duration::from_secs(120),
            || async {
                let row = ledger.intent(close).await.expect("read").expect("intent");
                row.state
                    .is_terminal()
                    .then_some(row.clone())
                    .ok_or(format!("{:?}", row.state))
            },
        )
        .await;
    assert_eq!(row.state, IntentState::Done, "{:?}", row.error);
    crate::standby::assert_closed_once(&ledger, &sim, close).await;
    assert!(
        !b.logged("LOST the leader lock"),
        "b's leader never changed"
    );
    assert_eq!(b.get("/readyz").await.1["role"], "active");
    drop(a2);
    drop(b);
    sim.shutdown().await;
}

/// Post an open on `account` of `daemon` and wait until it ends; its final state.
pub(crate) async fn open_and_finish(
    daemon: &DaemonProc,
    ledger: &Ledger,
    account: &str,
    key: &str,
) -> IntentState {
    let path = format!("/v1/intents?account={account}");
    let (code, created) = daemon.post(&path, &open(key)).await;
    assert_eq!(code, 202, "{created}");
    let id = IntentId(created["id"].as_i64().expect("id"));
    daemon
        .until_ok("an open to finish", Duration::from_secs(60), || async {
            let row = ledger.intent(id).await.expect("read").expect("intent");
            row.state
                .is_terminal()
                .then_some(row.state)
                .ok_or(format!("{:?}", row.state))
        })
        .await
}

/// D1 may serve main, b and c but leads one account at most (`daemon.max_accounts = 1`):
/// it takes `main`, the first it lists. D2 serves all three, `b` and `c` first: it leads
/// those and stands by on `main`. D1 is SIGKILLed mid-close on `main`: while `main` has
/// no leader D2 trades `b` and `c`; then D2 takes `main` over after the grace and
/// finishes the close with no chunk sent twice. A halt of `main` on D2 does not stop `b`.
#[sqlx::test(migrations = "./migrations")]
async fn one_daemon_takes_over_a_killed_daemons_account_while_trading_two_others_of_its_own(
    pool: PgPool,
) {
    let db_url = database_url(&pool).await;
    let ledger = Ledger::from_pool(pool.clone());
    let accounts = format!("{SECOND}{THIRD}");
    let sim = spawn(
        crate::standby::close_scenario_with(&accounts),
        "127.0.0.1:0".parse().expect("addr"),
    )
    .await
    .expect("sim");
    let hand = hand_adapter(&sim).await;
    open_short_by_hand(&hand, "SOLUSDT", "5000", "hand-0").await;
    let d1_env: Vec<_> = SERVE_THREE
        .into_iter()
        .chain([
            ("SLUICE__DAEMON__ACCOUNTS", "main,b,c"),
            ("SLUICE__DAEMON__MAX_ACCOUNTS", "1"),
        ])
        .collect();
    let d2_env: Vec<_> = SERVE_THREE
        .into_iter()
        .chain([
            ("SLUICE__DAEMON__ACCOUNTS", "b,c,main"),
            ("SLUICE__DAEMON__MAX_ACCOUNTS", "3"),
        ])
        .collect();
    let mut d1 = spawn_daemon("D1", &sim, &db_url, &d1_env).await;
    d1.until_status("ready", Duration::from_secs(60)).await;
    d1.until_account_status("b", "standby", Duration::from_secs(30))
        .await;
    let d2 = spawn_daemon("D2", &sim, &db_url, &d2_env).await;
    d2.until_account_status("b", "ready", Duration::from_secs(60))
        .await;
    d2.until_account_status("c", "ready", Duration::from_secs(60))
        .await;
    d2.until_account_status("main", "standby", Duration::from_secs(30))
        .await;

    let position = d1.get("/v1/positions").await.1["positions"][0]["id"]
        .as_i64()
        .expect("the adopted short");
    let (code, created) = d1
        .post(
            "/v1/intents?account=main",
            &json!({"kind": "close", "position_id": position,
                    "idempotency_key": "main-close", "reason": "test"}),
        )
        .await;
    assert_eq!(code, 202, "{created}");
    let close = IntentId(created["id"].as_i64().expect("id"));
    until("some chunks filled", Duration::from_secs(60), || async {
        crate::standby::filled(&ledger, close).await >= rust_decimal::Decimal::from(300)
    })
    .await;
    d1.kill();
    // While `main` has no leader, D2 trades `b` and `c`.
    assert_eq!(
        open_and_finish(&d2, &ledger, "b", "b-1").await,
        IntentState::Done
    );
    assert_eq!(
        open_and_finish(&d2, &ledger, "c", "c-1").await,
        IntentState::Done
    );

    d2.until_account_status("main", "ready", Duration::from_secs(60))
        .await;
    let row = d2
        .until_ok(
            "the close to finish on D2",
            Duration::from_secs(120),
            || async {
                let row = ledger.intent(close).await.expect("read").expect("intent");
                row.state
                    .is_terminal()
                    .then_some(row.clone())
                    .ok_or(format!("{:?}", row.state))
            },
        )
        .await;
    assert_eq!(row.state, IntentState::Done, "{:?}", row.error);
    crate::standby::assert_closed_once(&ledger, &sim, close).await;
    let metrics = d2.metrics().await;
    for account in ["main", "b", "c"] {
        let led = format!("sluice_account_leader{{account=\"{account}\"}} 1");
        assert!(metrics.contains(&led), "D2 leads {account}: {metrics}");
    }

    let (halt, _) = d2
        .post("/v1/halt?account=main", &json!({"reason": "main only"}))
        .await;
    let (refused, _) = d2.post("/v1/intents?account=main", &open("main-1")).await;
    let (elsewhere, _) = d2.post("/v1/intents?account=zzz", &open("zzz-1")).await;
    assert_eq!(halt, 200);
    assert!(refused >= 400, "main is halted");
    assert_eq!(elsewhere, 409, "an account this daemon does not serve");
    assert_eq!(
        open_and_finish(&d2, &ledger, "b", "b-2").await,
        IntentState::Done
    );
    let (_, of_c) = d2.get("/v1/positions?account=c").await;
    assert_eq!(of_c["positions"][0]["quantity"], "0.01", "{of_c}");
    assert!(!d2.logged("LOST the leader lock"), "D2 never lost b or c");
    let (code, _) = d2.stop(Duration::from_secs(30)).await;
    assert_eq!(code, Some(0));
    // A clean stop ends the term of every account D2 led: each one's next leader may
    // skip the grace.
    let latest: Vec<(String, bool)> = sqlx::query_as(
        "SELECT DISTINCT ON (a.name) a.name, t.stopped_cleanly_at IS NOT NULL
           FROM leader_terms t JOIN accounts a ON a.id = t.account_id
          ORDER BY a.name, t.id DESC",
    )
    .fetch_all(&pool)
    .await
    .expect("terms");
    let names: Vec<&str> = latest.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["b", "c", "main"]);
    assert!(latest.iter().all(|(_, clean)| *clean), "{latest:?}");
    sim.shutdown().await;
}
