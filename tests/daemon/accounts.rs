//! Two accounts on one ledger, each traded by its own `sluice run` (`exchange.account`),
//! both active at once: each leads its own account's lock, trades with its own key, and a
//! halt of one account does not stop the other (docs/accounts.md).

use std::time::Duration;

use serde_json::json;
use sluice::domain::IntentState;
use sluice::ledger::{IntentId, Ledger};
use sluice_sim::spawn;
use sluice_testkit::executor::scenario;
use sluice_testkit::process::*;
use sqlx::PgPool;

const SECOND: &str =
    "[[accounts]]\napi_key = \"secondKey1\"\napi_secret = \"secondSecret1\"\nusdt = \"1000000\"\n";

fn open(key: &str) -> serde_json::Value {
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
