//! Ed25519 keys in the daemon: the real `sluice run` binary signing with the private key
//! read from its key file (it adopts a position and closes it, every signed call accepted
//! by the simulator's independent Ed25519 verification), and key-loss safe mode taking an
//! Ed25519 key as the replacement of a deleted HMAC key.

use std::time::Duration;

use serde_json::json;
use sluice_sim::spawn;
use sluice_testkit::keys::{scenario_with_key, TestKey};
use sluice_testkit::process::*;
use sqlx::PgPool;

#[sqlx::test(migrations = "./migrations")]
async fn a_daemon_with_an_ed25519_key_file_closes_a_position(pool: PgPool) {
    // Arrange: the exchange holds only the public key; the daemon the private key file.
    let sim = spawn(
        scenario_with_key(
            TestKey::Ed25519,
            "",
            "positions = [ { symbol = \"SOLUSDT\", side = \"SHORT\", quantity = \"300\", entry_price = \"180\" } ]",
        ),
        "127.0.0.1:0".parse().expect("addr"),
    )
    .await
    .expect("simulator");
    let dir = tempfile::tempdir().expect("tempdir");
    let key_file = TestKey::Ed25519.private_key_file(dir.path());
    let key_path = key_file.display().to_string();
    let db = database_url(&pool).await;
    let d = spawn_daemon(
        "keys",
        &sim,
        &db,
        &[("SLUICE__EXCHANGE__API_SECRET_FILE", key_path.as_str())],
    )
    .await;
    d.until_status("ready", Duration::from_secs(60)).await;

    // Act: close the adopted short.
    let (status, created) = d
        .post(
            "/v1/intents",
            &json!({ "kind": "close", "symbol": "SOLUSDT", "side": "short",
                     "idempotency_key": "ed25519-close" }),
        )
        .await;
    assert!(status < 300, "intent accepted: {status} {created}");
    let id = created["id"].as_i64().expect("intent id");
    d.until_ok("the close to finish", Duration::from_secs(60), || async {
        let (_, intent) = d.get(&format!("/v1/intents/{id}")).await;
        if intent["state"] == "done" {
            Ok(())
        } else {
            Err(intent)
        }
    })
    .await;

    // Assert: the exchange is flat, no signature was refused, the key type was logged
    // and the key itself never was.
    let account = sim_account(&sim).await;
    let positions = account["positions"].as_array().cloned().unwrap_or_default();
    assert!(positions.is_empty(), "exchange flat, got {positions:?}");
    let state: serde_json::Value = reqwest::get(format!("{}/sim/state", sim.base_url()))
        .await
        .expect("state")
        .json()
        .await
        .expect("json");
    assert!(
        state["stats"]["responsesByCode"]["-1022"].is_null(),
        "{state}"
    );
    let loaded = d.log_lines("exchange key loaded");
    assert_eq!(
        loaded.first().map(|l| l["key_type"].clone()),
        Some(json!("ed25519")),
        "{loaded:?}"
    );
    let secret_line = TestKey::Ed25519.private_pem();
    assert!(!d
        .log()
        .contains(secret_line.lines().nth(1).expect("key body")));
}

/// Seed 000 with a modern key: the HMAC key is deleted mid-run and the operator's
/// replacement is an Ed25519 key; key-loss safe mode re-reads it and the close finishes.
#[sqlx::test(migrations = "./migrations")]
async fn a_deleted_hmac_key_is_replaced_by_an_ed25519_key_without_a_restart(pool: PgPool) {
    use sluice::domain::IntentState;
    use sluice::router::ExecutorStatus;
    use sluice_testkit::executor::{close_all, fast_config, scenario, start};

    // Arrange: an adopted short; the key is deleted before the close is asked for.
    let s = scenario(
        "",
        "positions = [ { symbol = \"SOLUSDT\", side = \"SHORT\", quantity = \"50\", entry_price = \"180\" } ]",
    );
    let d = start(pool, s, fast_config()).await;
    let executor = d.executor.as_ref().expect("executor");
    let position = executor.adopted[0].clone();
    let mut status = executor.status();
    let key = sluice_testkit::account::KEY;
    d.admin_post(&format!("/sim/accounts/{key}/revoke"), json!({}))
        .await;
    let id = d
        .submit(close_all(position.id, "close-after-rotation"))
        .await;
    wait_status(&mut status, |s| matches!(s, ExecutorStatus::KeyLoss { .. })).await;

    // Act: the account's new key is Ed25519; its private key goes where the daemon reads.
    let new_key = "edRotated0000000000000000000000000000000000000000000000000000001";
    d.admin_post(
        &format!("/sim/accounts/{key}/rotate"),
        json!({ "api_key": new_key, "public_key_pem": TestKey::Ed25519.public_pem() }),
    )
    .await;
    d.creds.set(new_key, &TestKey::Ed25519.private_pem());

    // Assert: trading resumes on the Ed25519 key and the close completes.
    wait_status(&mut status, |s| *s == ExecutorStatus::Running).await;
    let row = d.until_terminal(id, Duration::from_secs(60)).await;
    assert_eq!(row.state, IntentState::Done, "error: {:?}", row.error);
    assert!(d.sim_positions().await.is_empty());
    d.stop().await;
}

async fn wait_status(
    rx: &mut tokio::sync::watch::Receiver<sluice::router::ExecutorStatus>,
    pred: impl Fn(&sluice::router::ExecutorStatus) -> bool,
) {
    tokio::time::timeout(Duration::from_secs(30), rx.wait_for(|s| pred(s)))
        .await
        .expect("executor status reached in time")
        .expect("executor alive");
}
