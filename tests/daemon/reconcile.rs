//! The daemon's own reconcile: it runs at start and every `daemon.reconcile_interval_s`,
//! reports each difference (WARN log, `sluice_reconcile_differences{kind}`,
//! `GET /v1/reconcile`), repairs nothing unless `daemon.reconcile_fix`, never trades,
//! and an exchange it cannot read is a failed run, never an empty account.

use std::sync::Arc;
use std::time::Duration;

use rust_decimal_macros::dec;
use serde_json::{json, Value};
use sluice::api::ReconcileBoard;
use sluice::domain::PositionSide;
use sluice::ledger::{IntentId, Ledger};
use sluice::ops::reconcile::Mode;
use sluice::startup::DaemonReconcile;
use sluice_sim::spawn;
use sluice_testkit::executor::scenario;
use sluice_testkit::ledger::{count, reported, t};
use sluice_testkit::process::*;
use sluice_testkit::reconcile::FakeExchange;
use sqlx::PgPool;

fn sim_scenario() -> sluice_sim::Scenario {
    scenario(
        "[[symbols]]\nname = \"SOLUSDT\"\nmarket_max_qty = \"100\"\nlevel_qty = \"2000\"\n",
        "",
    )
}

/// Poll `GET /v1/reconcile` until the last run satisfies `pred`.
async fn until_reconcile(d: &DaemonProc, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    d.until_ok(what, Duration::from_secs(60), || async {
        let (_, body) = d.get("/v1/reconcile").await;
        if pred(&body["last"]) {
            Ok(body["last"].clone())
        } else {
            Err(body)
        }
    })
    .await
}

fn remaining_kinds(last: &Value) -> Vec<(String, String)> {
    last["report"]["remaining"]
        .as_array()
        .map(|ds| {
            ds.iter()
                .map(|d| {
                    let symbol = d["symbol"].as_str().or(d["trade"]["symbol"].as_str());
                    (
                        d["kind"].as_str().unwrap_or("").to_string(),
                        symbol.unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[sqlx::test(migrations = "./migrations")]
async fn the_running_daemon_reports_a_position_opened_directly_on_the_exchange(pool: PgPool) {
    let db_url = database_url(&pool).await;
    let ledger = Ledger::from_pool(pool);
    let sim = spawn(sim_scenario(), "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("sim");
    let env = [
        ("SLUICE__DAEMON__RECONCILE_INTERVAL_S", "1"),
        ("SLUICE__DAEMON__ADOPT_UNKNOWN_POSITIONS", "false"),
    ];
    let d = spawn_daemon("D", &sim, &db_url, &env).await;
    d.until_status("ready", Duration::from_secs(60)).await;
    let first = until_reconcile(&d, "the start-up run", |l| !l.is_null()).await;
    assert_eq!(
        (first["trigger"].as_str(), first["outcome"].as_str()),
        (Some("start"), Some("clean"))
    );

    open_short_by_hand(&*hand_adapter(&sim).await, "SOLUSDT", "300", "hand-drift").await;

    let last = until_reconcile(&d, "the drift to be reported", |l| {
        l["outcome"] == "differences"
    })
    .await;
    assert_eq!(last["trigger"], "periodic");
    assert_eq!(
        remaining_kinds(&last),
        vec![(
            "position_unknown_to_ledger".to_string(),
            "SOLUSDT".to_string()
        )]
    );
    assert!(d
        .metrics()
        .await
        .contains("sluice_reconcile_differences{kind=\"position_unknown_to_ledger\"} 1"));
    assert!(d.logged("reconcile: ledger and exchange differ"));
    // A dry run: nothing adopted, nothing sent (the only order is the hand order).
    assert!(ledger.open_positions().await.expect("positions").is_empty());
    let orders = sim_account(&sim).await["orders"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(orders.len(), 1, "the daemon never traded: {orders:?}");
    drop(d);
    sim.shutdown().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn drift_injected_in_the_ledger_is_reported_by_the_running_daemon(pool: PgPool) {
    let db_url = database_url(&pool).await;
    let ledger = Ledger::from_pool(pool.clone());
    let sim = spawn(sim_scenario(), "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("sim");
    let env = [
        ("SLUICE__DAEMON__RECONCILE_INTERVAL_S", "1"),
        ("SLUICE__BUDGET__ALLOCATION_USDT", "1000000"),
    ];
    let d = spawn_daemon("D", &sim, &db_url, &env).await;
    d.until_status("ready", Duration::from_secs(60)).await;
    // The daemon opens a SHORT 300 itself, so the ledger holds its fills.
    let (code, created) = d
        .post(
            "/v1/intents",
            &json!({"kind": "open", "symbol": "SOLUSDT", "side": "short",
            "quantity": "300", "idempotency_key": "drift-open"}),
        )
        .await;
    assert_eq!(code, 202, "{created}");
    let intent = IntentId(created["id"].as_i64().expect("id"));
    until("the open to fill", Duration::from_secs(60), || async {
        let row = ledger.intent(intent).await.expect("read").expect("intent");
        row.state.is_terminal()
    })
    .await;
    let opened_at = chrono::Utc::now();
    let clean = until_reconcile(&d, "a run after the open", |l| {
        l["at"]
            .as_str()
            .and_then(|a| a.parse::<chrono::DateTime<chrono::Utc>>().ok())
            > Some(opened_at)
    })
    .await;
    assert_eq!(clean["outcome"], "clean", "the ledger matches: {clean}");

    // Drift: the ledger's SHORT loses 100 behind sluice's back.
    let changed = sqlx::query("UPDATE positions SET quantity = 200 WHERE status = 'open'")
        .execute(&pool)
        .await
        .expect("inject drift")
        .rows_affected();
    assert_eq!(changed, 1);

    let last = until_reconcile(&d, "the size mismatch", |l| l["outcome"] == "differences").await;
    assert_eq!(
        remaining_kinds(&last),
        vec![("size_mismatch".to_string(), "SOLUSDT".to_string())]
    );
    let mismatch = &last["report"]["remaining"][0];
    assert_eq!(
        (mismatch["ledger"].as_str(), mismatch["exchange"].as_str()),
        (Some("-200"), Some("-300"))
    );
    assert_eq!(
        ledger.open_positions().await.expect("p")[0].quantity.get(),
        dec!(200),
        "a dry run repairs nothing"
    );
    drop(d);
    sim.shutdown().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn an_unreadable_exchange_is_a_failed_reconcile_never_an_empty_account(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let mut exchange = FakeExchange::new(vec![], vec![], vec![]);
    exchange.fail_positions = true;
    let board = Arc::new(ReconcileBoard::default());
    let reconcile = DaemonReconcile::new(ledger, Arc::new(exchange), board.clone());

    let status = reconcile.run_once("periodic", false).await;

    assert_eq!(status.outcome, "failed");
    assert!(
        status.report.is_none(),
        "no report claims the account is empty"
    );
    let error = status.error.as_deref().unwrap_or("");
    assert!(
        error.contains("positions"),
        "names what could not be read: {error}"
    );
    assert_eq!(board.last().map(|s| s.outcome), Some("failed"));
}

#[sqlx::test(migrations = "./migrations")]
async fn reconcile_fix_repairs_the_ledger_and_never_trades(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let foreign = reported("ETHUSDT", PositionSide::Both, dec!(1), dec!(2000), t(1));
    let exchange = Arc::new(FakeExchange::new(vec![foreign], vec![], vec![]));
    let board = Arc::new(ReconcileBoard::default());
    let reconcile = DaemonReconcile::new(ledger.clone(), exchange.clone(), board);

    let status = reconcile.run_once("start", true).await;

    let report = status.report.expect("a report");
    assert_eq!(report.mode, Mode::Fixed);
    assert_eq!(report.found.len(), 1);
    assert!(!report.repairs.is_empty(), "the difference was repaired");
    assert!(
        count(&ledger, "ledger_adjustments").await >= 1,
        "with an adjustment row"
    );
    assert_eq!(exchange.trading_calls(), 0, "never trades");
}
