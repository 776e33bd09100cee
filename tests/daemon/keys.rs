//! The real `sluice run` binary signing with an Ed25519 private key read from its key
//! file: it adopts a position and closes it, every signed call accepted by the
//! simulator's independent Ed25519 verification.

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
