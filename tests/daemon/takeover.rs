//! The takeover grace is waited only when another daemon may still be signing: the
//! restart of the only daemon after a clean stop trades at once (its term was marked
//! clean on the lock's own connection), a takeover from a SIGKILLed holder waits it. The
//! decision is read from the daemon's own "takeover grace decided" log line.

use std::time::Duration;

use serde_json::Value;
use sluice_sim::spawn;
use sluice_testkit::executor::*;
use sqlx::PgPool;

/// With `sluice_testkit::process::FAST_LEADER_ENV`: check 200 + timeout 1000 + recvWindow 2000 + 1000.
const FULL_GRACE_MS: u64 = 4200;

fn decision(d: &sluice_testkit::process::DaemonProc) -> Value {
    let lines = d.log_lines("takeover grace decided");
    assert_eq!(lines.len(), 1, "one term: {lines:?}");
    lines[0].clone()
}

#[sqlx::test(migrations = "./migrations")]
async fn a_restart_after_a_clean_stop_skips_the_grace(pool: PgPool) {
    // Arrange: the only daemon leads, then stops cleanly (SIGTERM).
    let db_url = sluice_testkit::process::database_url(&pool).await;
    let sim = spawn(scenario("", ""), "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("sim");
    let mut first = sluice_testkit::process::spawn_daemon("first", &sim, &db_url, &[]).await;
    first.until_status("ready", Duration::from_secs(60)).await;
    let stopped = first.terminate(Duration::from_secs(30)).await;
    assert_eq!(stopped, Some(0), "a clean stop exits 0");
    assert!(first.logged("leader term ended cleanly"));

    // Act: start it again.
    let second = sluice_testkit::process::spawn_daemon("second", &sim, &db_url, &[]).await;
    second.until_status("ready", Duration::from_secs(60)).await;

    // Assert: the recorded decision skipped the grace, waiting nothing (no order was open).
    let d = decision(&second);
    let why = d["decision"].as_str().unwrap_or_default();
    assert!(
        why.starts_with("grace skipped: previous holder stopped cleanly"),
        "{d}"
    );
    assert_eq!(d["wait_ms"].as_u64(), Some(0), "{d}");
    drop(second);
    sim.shutdown().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn a_takeover_from_a_killed_holder_waits_the_full_grace(pool: PgPool) {
    // Arrange: the holder is SIGKILLed (it could not mark its term).
    let db_url = sluice_testkit::process::database_url(&pool).await;
    let sim = spawn(scenario("", ""), "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("sim");
    let mut first = sluice_testkit::process::spawn_daemon("killed", &sim, &db_url, &[]).await;
    first.until_status("ready", Duration::from_secs(60)).await;
    first.kill();

    // Act.
    let second = sluice_testkit::process::spawn_daemon("after-kill", &sim, &db_url, &[]).await;
    second.until_status("ready", Duration::from_secs(60)).await;

    // Assert.
    let d = decision(&second);
    let why = d["decision"].as_str().unwrap_or_default();
    assert!(why.contains("did not stop cleanly"), "{d}");
    assert_eq!(d["wait_ms"].as_u64(), Some(FULL_GRACE_MS), "{d}");
    let (term_rows,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM leader_terms WHERE stopped_cleanly_at IS NULL")
            .fetch_one(&pool)
            .await
            .expect("terms");
    assert_eq!(term_rows, 2, "neither term is marked clean yet");
    drop(second);
    sim.shutdown().await;
}
