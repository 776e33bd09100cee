//! `GET /v1/reconcile` reports the interval the daemon's periodic reconcile really runs
//! at (it once said 0 while runs happened every 60 s).

use std::time::Duration;

use sluice_sim::spawn;
use sluice_testkit::executor::scenario;
use sluice_testkit::process::*;
use sqlx::PgPool;

#[sqlx::test(migrations = "./migrations")]
async fn the_reconcile_endpoint_reports_the_configured_interval(pool: PgPool) {
    let db_url = database_url(&pool).await;
    let sim = spawn(scenario("", ""), "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("sim");
    let env = [("SLUICE__DAEMON__RECONCILE_INTERVAL_S", "7")];
    let d = spawn_daemon("D", &sim, &db_url, &env).await;
    d.until_status("ready", Duration::from_secs(60)).await;
    let body = d
        .until_ok("interval_s set", Duration::from_secs(30), || async {
            let (status, body) = d.get("/v1/reconcile").await;
            assert_eq!(status, 200, "{body}");
            if body["interval_s"] != 0 {
                Ok(body)
            } else {
                Err(body)
            }
        })
        .await;

    assert_eq!(body["interval_s"], 7, "{body}");
    assert!(
        !body["last"].is_null(),
        "the start-up run is reported: {body}"
    );
}
