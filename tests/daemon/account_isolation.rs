//! One daemon serving several accounts (`daemon.accounts`): one account's exchange
//! trouble leaves the others trading, and the CLI's `--account` reaches the account it
//! names (docs/accounts.md, README "Many accounts").

use std::time::Duration;

use sluice::domain::IntentState;
use sluice::ledger::{IntentId, Ledger};
use sluice_testkit::process::*;
use sqlx::PgPool;

use crate::accounts::{daemon_serving_b_and_c, open, open_and_finish, revoke};

/// One daemon serving `b` and `c`: `c`'s key is deleted at the exchange; `c` goes into
/// key-loss safe mode (its `/readyz` says so, its open waits) while `b` keeps trading.
#[sqlx::test(migrations = "./migrations")]
async fn a_lost_key_of_one_account_does_not_stop_another_account_of_the_same_daemon(pool: PgPool) {
    let db_url = database_url(&pool).await;
    let ledger = Ledger::from_pool(pool.clone());
    let (sim, d) = daemon_serving_b_and_c(&db_url).await;
    revoke(&sim, "thirdKey1").await;
    let (code, created) = d.post("/v1/intents?account=c", &open("c-1")).await;
    assert_eq!(code, 202, "{created}");
    let stuck = IntentId(created["id"].as_i64().expect("id"));
    let lost = d
        .until_account_status("c", "not_ready", Duration::from_secs(30))
        .await;

    let reason = lost["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("key-loss safe mode"), "{lost}");
    assert_eq!(
        open_and_finish(&d, &ledger, "b", "b-1").await,
        IntentState::Done
    );
    assert_eq!(d.get("/readyz?account=b").await.1["status"], "ready");
    let waiting = ledger.intent(stuck).await.expect("read").expect("intent");
    assert!(
        !waiting.state.is_terminal(),
        "c's open waits for its key: {:?}",
        waiting.state
    );
    // The CLI's `--account` reaches that account of the daemon: `b` halts, `c` does not.
    let api = d.api.to_string();
    let cli = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(["--account", "b", "halt", "--reason", "b only"])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("SLUICE__API__LISTEN", api)
            .output()
            .expect("run sluice")
    })
    .await
    .expect("join");
    assert!(
        cli.status.success(),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    assert_eq!(d.get("/v1/halt?account=b").await.1["halt"]["halted"], true);
    assert_eq!(d.get("/v1/halt?account=c").await.1["halt"]["halted"], false);
    drop(d);
    sim.shutdown().await;
}
