//! The report's pure core: outcome classification, nearest-rank percentiles, and an
//! SVG that stays well-formed and readable (text inside the canvas and apart) for an
//! empty window and for a symbol that needs escaping.

use chrono::{TimeZone, Utc};
use sluice::ledger::AttemptFact;
use sluice::ops::report::{aggregate, figures, outcome, percentile, to_svg, Outcome};
use sluice_testkit::report::assert_well_formed;
use sluice_testkit::report::picture::assert_readable;

fn fact(
    status: Option<i32>,
    code: Option<i64>,
    class: Option<&str>,
    latency_ms: i64,
) -> AttemptFact {
    AttemptFact {
        sent_at: Utc.with_ymd_and_hms(2025, 10, 11, 21, 0, 0).unwrap(),
        exchange_time: None,
        symbol: Some("SOLUSDT".into()),
        client_order_id: None,
        http_status: status,
        error_code: code,
        error_class: class.map(String::from),
        latency_ms,
    }
}

#[test]
fn nearest_rank_percentiles_are_always_an_observed_value() {
    let hundred: Vec<i64> = (1..=100).collect();
    assert_eq!(
        (percentile(&hundred, 50), percentile(&hundred, 99)),
        (50, 99)
    );
    assert_eq!((percentile(&[7], 50), percentile(&[7], 99)), (7, 7));
    assert_eq!(percentile(&[1, 2, 3], 50), 2);
    assert_eq!(percentile(&[], 99), 0);
}

#[test]
fn an_outcome_unknown_503_is_neither_accepted_nor_rejected() {
    assert_eq!(
        outcome(&fact(Some(503), None, Some("outcome_unknown"), 1)),
        Outcome::Unknown
    );
    assert_eq!(outcome(&fact(None, None, None, 1)), Outcome::Unknown);
    assert_eq!(outcome(&fact(Some(200), None, None, 1)), Outcome::Accepted);
    assert_eq!(
        outcome(&fact(Some(400), Some(-2022), Some("replan"), 1)),
        Outcome::Rejected("400/-2022".into())
    );
    assert_eq!(
        outcome(&fact(None, None, Some("retry"), 1)),
        Outcome::Rejected("none/-".into())
    );
}

#[test]
fn a_200_carrying_an_error_code_counts_as_rejected() {
    let f = fact(Some(200), Some(-1000), Some("fatal"), 3);
    let fig = figures(&[&f]);
    assert_eq!(
        (fig.accepted, fig.rejected, fig.rejection_rate.to_string()),
        (0, 1, "1".into())
    );
}

#[test]
fn an_empty_window_still_renders_a_well_formed_svg_without_bars() {
    let since = Utc.with_ymd_and_hms(2025, 10, 11, 21, 0, 0).unwrap();
    let r = aggregate(
        since,
        since + chrono::Duration::hours(1),
        &[],
        vec![],
        vec![],
    );
    let svg = to_svg(&r);
    assert_well_formed(&svg);
    assert_readable(&svg);
    assert_eq!(svg.matches(r#"class="bucket""#).count(), 0);
    assert_eq!(r.totals.attempts, 0);
}

#[test]
fn a_code_with_markup_characters_is_escaped_in_the_svg() {
    let since = Utc.with_ymd_and_hms(2025, 10, 11, 21, 0, 0).unwrap();
    let mut weird = fact(Some(400), Some(-1), None, 2);
    weird.symbol = Some("A<&>B".into());
    let r = aggregate(
        since,
        since + chrono::Duration::hours(1),
        &[weird],
        vec![],
        vec![],
    );
    let svg = to_svg(&r);
    assert_well_formed(&svg);
    assert_readable(&svg);
    assert_eq!(svg.matches(r#"class="bucket""#).count(), 1);
    assert!(svg.contains("A&lt;&amp;&gt;B"), "the symbol is escaped");
}
