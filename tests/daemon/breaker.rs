//! The breaker's open periods are evidence: the 2025-10-11 profile trips it, the executor
//! persists the transition, and `sluice report` lists and shades the period.

use std::time::Duration;

use chrono::Utc;
use sluice::domain::IntentState;
use sluice::ledger::BreakerTransitionRecord;
use sluice::ops::report::{self, Format};
use sluice_testkit::executor::*;
use sqlx::PgPool;

/// SOLUSDT with a published MARKET cap of 100 (a 1,000 close is 10 chunks) and the
/// 2025-10-11 fault profile on order endpoints for the first 8 scenario seconds.
fn storm() -> sluice_sim::Scenario {
    scenario(
        "[[symbols]]\nname = \"SOLUSDT\"\nmarket_max_qty = \"100\"\nlevel_qty = \"2000\"\n\
         [[faults]]\nfrom = 0\nuntil = 8\nprofile = \"2025-10-11\"\n",
        "positions = [ { symbol = \"SOLUSDT\", side = \"SHORT\", quantity = \"1000\", entry_price = \"180\" } ]",
    )
}

/// Wait (bounded) until the ledger holds a transition to `open`.
async fn until_opened(d: &Daemon, since: chrono::DateTime<Utc>) -> Vec<BreakerTransitionRecord> {
    until_some("the breaker to open", Duration::from_secs(60), || async {
        let t = d
            .ledger
            .breaker_transitions(since, Utc::now() + chrono::TimeDelta::minutes(1))
            .await
            .expect("read transitions");
        t.iter().any(|t| t.to_state == "open").then_some(t)
    })
    .await
}

#[sqlx::test(migrations = "./migrations")]
async fn the_storm_opens_the_breaker_and_the_report_lists_and_shades_the_period(pool: PgPool) {
    // Arrange: the storm from the first request on.
    let since = Utc::now() - chrono::TimeDelta::minutes(1);
    let d = start(pool, storm(), fast_config()).await;
    let position = d.executor.as_ref().expect("executor").adopted[0].clone();

    // Act: close through the storm.
    let id = d.submit(close_all(position.id, "storm-close")).await;
    let transitions = until_opened(&d, since).await;
    let closed = d.until_terminal(id, Duration::from_secs(120)).await;

    // Assert: the ledger holds the opening with the window that tripped it...
    assert_eq!(closed.state, IntentState::Done, "error: {:?}", closed.error);
    let opening = transitions
        .iter()
        .find(|t| t.to_state == "open")
        .expect("an opening");
    assert_eq!(
        (opening.venue.as_str(), opening.scope.as_str()),
        (VENUE, "orders")
    );
    let distress = opening.server_errors + opening.throttled + opening.unknown;
    // Default breaker: at least 10 outcomes, at least 30% in distress.
    assert!(opening.window_total >= 10, "{opening:?}");
    assert!(distress * 100 >= 30 * opening.window_total, "{opening:?}");

    // ...and the report lists the period in JSON and Markdown and shades it in the SVG.
    let until = Utc::now() + chrono::TimeDelta::minutes(1);
    let r = report::run(&d.ledger, Some(since), Some(until))
        .await
        .expect("report");
    assert!(!r.breaker_open.is_empty(), "no open period in the report");
    assert_eq!(r.breaker_open[0].opened_at, opening.at);
    let json: serde_json::Value =
        serde_json::from_str(&report::render(&r, Format::Json).expect("json")).expect("parses");
    let listed = json["breaker_open"].as_array().cloned().unwrap_or_default();
    assert_eq!(listed.len(), r.breaker_open.len());
    assert_eq!(listed[0]["scope"], "orders");
    let md = report::render(&r, Format::Md).expect("md");
    assert!(!md.contains("None recorded."), "{md}");
    let svg = report::to_svg(&r);
    assert!(svg.contains(r#"class="breaker-open""#), "{svg}");
}
