//! Key-loss safe mode in the real `sluice run` binary (seed 000: the API key deleted
//! mid-strategy): `/readyz` and `/metrics` say so, nothing is failed, and a key rotated
//! by rewriting the key files is picked up without a restart.

use std::time::Duration;

use serde_json::{json, Value};
use sluice_sim::scenario::{DEMO_API_KEY, DEMO_API_SECRET};
use sluice_sim::spawn;
use sluice_testkit::process::*;
use sqlx::PgPool;

async fn admin_post(base: &str, path: &str, body: Value) {
    let r = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .json(&body)
        .send()
        .await
        .expect("admin request");
    assert!(r.status().is_success(), "{path}: {}", r.status());
}

#[sqlx::test(migrations = "./migrations")]
async fn a_deleted_key_shows_on_readyz_and_a_rotated_key_file_resumes_the_daemon(pool: PgPool) {
    // Arrange: the daemon reads its key pair from files.
    let sim = spawn(
        sluice_testkit::executor::scenario("", ""),
        "127.0.0.1:0".parse().expect("addr"),
    )
    .await
    .expect("simulator");
    let dir = tempfile::tempdir().expect("tempdir");
    let (key_file, secret_file) = (dir.path().join("api_key"), dir.path().join("api_secret"));
    std::fs::write(&key_file, DEMO_API_KEY).expect("key file");
    std::fs::write(&secret_file, DEMO_API_SECRET).expect("secret file");
    let db = database_url(&pool).await;
    let (key_path, secret_path) = (
        key_file.display().to_string(),
        secret_file.display().to_string(),
    );
    let d = spawn_daemon(
        "keyloss",
        &sim,
        &db,
        &[
            ("SLUICE__EXCHANGE__API_KEY_FILE", key_path.as_str()),
            ("SLUICE__EXCHANGE__API_SECRET_FILE", secret_path.as_str()),
        ],
    )
    .await;
    d.until_status("ready", Duration::from_secs(60)).await;

    // Act 1: the key is deleted, then an open arrives (the first signed call finds out).
    admin_post(
        &sim.base_url(),
        &format!("/sim/accounts/{DEMO_API_KEY}/revoke"),
        json!({}),
    )
    .await;
    let (status, created) = d
        .post(
            "/v1/intents",
            &json!({ "kind": "open", "symbol": "BTCUSDT", "side": "long",
                     "quantity": "0.01", "idempotency_key": "after-key-loss" }),
        )
        .await;
    assert!(status < 300, "intent accepted: {status} {created}");
    let id = created["id"].as_i64().expect("intent id");
    let lost = d.until_status("not_ready", Duration::from_secs(30)).await;

    // Assert: the reason names key loss and the exchange's code; the intent waits.
    let reason = lost["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("key-loss safe mode"), "{lost}");
    assert!(reason.contains("-2015"), "{lost}");
    assert!(d.metrics().await.contains("sluice_key_loss 1"));
    let (_, intent) = d.get(&format!("/v1/intents/{id}")).await;
    assert_eq!(intent["state"], "working", "{intent}");

    // Act 2: a new key for the account, written where the daemon reads its key from.
    let (new_key, new_secret) = ("K".repeat(64), "k".repeat(64));
    admin_post(
        &sim.base_url(),
        &format!("/sim/accounts/{DEMO_API_KEY}/rotate"),
        json!({ "api_key": new_key, "api_secret": new_secret }),
    )
    .await;
    std::fs::write(&key_file, &new_key).expect("key file");
    std::fs::write(&secret_file, &new_secret).expect("secret file");

    // Assert: ready again without a restart, the open done on the new key.
    d.until_status("ready", Duration::from_secs(90)).await;
    d.until_ok("the open to finish", Duration::from_secs(30), || async {
        let (_, intent) = d.get(&format!("/v1/intents/{id}")).await;
        if intent["state"] == "done" {
            Ok(())
        } else {
            Err(intent)
        }
    })
    .await;
    assert!(d.metrics().await.contains("sluice_key_loss 0"));
    assert!(d.logged("reconciled after key loss"));
    // The event stream tells a strategy both changes, in order.
    let mut events =
        sluice_testkit::events::open(&reqwest::Client::new(), &d.url(""), None, Some(0))
            .await
            .expect("stream");
    let got = events
        .until("key-loss recovered", Duration::from_secs(10), |got| {
            got.iter()
                .any(|e| e.kind == "key_loss" && e.data["state"] == "recovered")
        })
        .await;
    let key_loss: Vec<&Value> = got
        .iter()
        .filter(|e| e.kind == "key_loss")
        .map(|e| &e.data)
        .collect();
    assert_eq!(key_loss.len(), 2, "{key_loss:?}");
    assert_eq!(key_loss[0]["state"], "entered");
    assert!(key_loss[0]["reason"]
        .as_str()
        .unwrap_or_default()
        .contains("-2015"));
}
