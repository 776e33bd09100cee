//! The evidence report of a 2025-10-11 storm, checked against the simulator's own
//! counts of what it answered. A trader hands this report to an exchange, so every
//! figure must match what the exchange itself saw; and its picture must show the
//! storm second by second, each second's attempts by code, with every text readable.
//!
//! With `SLUICE_REPORT_EXAMPLE_DIR` set, the picture is also rendered there as
//! `report-example.png` (the README's example: `scripts/report-example.sh`).

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use serde_json::Value;
use sluice::domain::IntentState;
use sluice_testkit::executor::*;
use sqlx::PgPool;

/// SOLUSDT with a published MARKET cap of 100 and the 2025-10-11 profile on the order
/// endpoints for the first 6 scenario seconds.
fn storm() -> sluice_sim::Scenario {
    scenario(
        "[[symbols]]\nname = \"SOLUSDT\"\nmarket_max_qty = \"100\"\nlevel_qty = \"2000\"\n\
         [[faults]]\nfrom = 0\nuntil = 6\nprofile = \"2025-10-11\"\n",
        "positions = [ { symbol = \"SOLUSDT\", side = \"SHORT\", quantity = \"600\", entry_price = \"180\" } ]",
    )
}

fn counts(v: &Value) -> BTreeMap<String, u64> {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, n)| (k.clone(), n.as_u64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default()
}

/// Wait (bounded) until the audit writer has stored `n` attempts.
async fn until_attempts_stored(pool: &PgPool, n: i64) {
    let stored = until_some(
        format!("{n} attempts stored"),
        Duration::from_secs(20),
        || async {
            let stored = sluice_testkit::db::count(pool, "order_attempts").await;
            (stored >= n).then_some(stored)
        },
    )
    .await;
    assert_eq!(
        stored, n,
        "more attempts stored than the simulator answered"
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn the_storm_report_matches_the_simulators_own_counts(pool: PgPool) {
    // Arrange: close the adopted SHORT through the storm and past it.
    let since = Utc::now() - TimeDelta::seconds(1);
    // Single placements: the simulator counts HTTP answers by code, which is one per
    // order only when each order is its own request (a batch's elements are audited one
    // row each but share one HTTP answer).
    let mut cfg = fast_config();
    cfg.batch_orders = false;
    let d = start(pool.clone(), storm(), cfg).await;
    let position = d.executor.as_ref().expect("executor").adopted[0].clone();
    let close = d.submit(close_all(position.id, "storm-close")).await;
    let row = d.until_terminal(close, Duration::from_secs(120)).await;
    assert_eq!(row.state, IntentState::Done, "error: {:?}", row.error);
    let sim = d.stop().await;
    let http = reqwest::Client::new();
    let state: Value = http
        .get(format!("{}/sim/state", sim.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let stats = &state["stats"];
    let requests = stats["requests"].as_u64().expect("requests");
    let by_code = counts(&stats["responsesByCode"]);
    until_attempts_stored(&pool, requests as i64).await;

    // Act.
    let ledger = sluice::ledger::Ledger::from_pool(pool);
    let report = sluice::ops::report::run(&ledger, Some(since), None)
        .await
        .expect("report");

    // Assert: the storm happened, and every figure is the simulator's.
    let t = &report.totals;
    let endpoints = counts(&stats["requestsByEndpoint"]);
    let injected = counts(&stats["faultsInjected"]);
    let order_requests: u64 = ["POST /fapi/v1/order", "DELETE /fapi/v1/order"]
        .iter()
        .filter_map(|e| endpoints.get(*e))
        .sum();
    let rejected_with = |code: &str| -> u64 {
        t.rejected_by
            .iter()
            .filter(|(k, _)| k.ends_with(&format!("/{code}")))
            .map(|(_, n)| n)
            .sum()
    };
    assert!(t.rejected > 10, "the storm rejected orders: {t:?}");
    assert_eq!(
        t.attempts, order_requests,
        "order attempts: report vs simulator"
    );
    assert_eq!(t.accepted + t.rejected + t.unknown, t.attempts);
    // Every order error in this scenario is one the simulator injected.
    assert_eq!(t.rejected + t.unknown, injected.values().sum::<u64>());
    // Codes the adapter never reads as "outcome unknown" are counted one for one, and
    // the simulator's answers by code agree with its injections.
    for (code, n) in injected
        .iter()
        .filter(|(c, _)| !["-1000", "-1007"].contains(&c.as_str()))
    {
        assert_eq!(rejected_with(code), *n, "code {code}");
        assert_eq!(
            by_code.get(code),
            Some(n),
            "code {code} answered as injected"
        );
    }
    // 503 "Unknown error" and -1007 are unknown outcomes; 503 "Service Unavailable"
    // (-1000 too) is a certain rejection: together they are the -1000/-1007 injections.
    let unknown_like =
        injected.get("-1000").copied().unwrap_or(0) + injected.get("-1007").copied().unwrap_or(0);
    assert_eq!(
        t.unknown + rejected_with("-1000") + rejected_with("-1007"),
        unknown_like
    );
    assert!(requests >= order_requests);
    let bucketed: u64 = report.buckets.iter().map(|m| m.figures.attempts).sum();
    assert_eq!(
        bucketed, t.attempts,
        "the per-bucket rows add up to the total"
    );
    assert_storm_picture(&report);
    let intent = report
        .close_intents
        .iter()
        .find(|c| c.fact.intent_id == close)
        .expect("the close intent is in the report");
    assert!(intent.time_to_flat_ms.is_some());
}

/// The storm's picture: 1-second bars while the storm lasts under two minutes, a bar
/// per second and symbol with attempts, every rejection code drawn, every text inside
/// the canvas and apart. Written out for the README when asked.
fn assert_storm_picture(report: &sluice::ops::report::EvidenceReport) {
    let t = &report.totals;
    let span = t.last_sent_at.unwrap() - t.first_sent_at.unwrap();
    if span < TimeDelta::seconds(119) {
        assert_eq!(
            report.bucket.secs(),
            1,
            "a storm of seconds is drawn in seconds"
        );
    }
    let svg = sluice::ops::report::to_svg(report);
    let picture = sluice_testkit::report::picture::assert_readable(&svg);
    assert_eq!(
        svg.matches(r#"class="bucket""#).count(),
        report.buckets.len()
    );
    for code in t.rejected_by.keys() {
        assert!(
            svg.contains(&format!(r#"data-code="{code}""#)),
            "{code} drawn"
        );
    }
    if let Ok(dir) = std::env::var("SLUICE_REPORT_EXAMPLE_DIR") {
        let dir = std::path::Path::new(&dir);
        let png = sluice_testkit::report::picture::png(&picture);
        std::fs::write(dir.join("report-example.png"), png).expect("example PNG");
    }
}
