//! The `sluice report` command as the CLI calls it: flag parsing (RFC 3339 times,
//! formats), an empty window, and the SVG written beside the text output.

mod report_common;

use clap::Parser;
use report_common::assert_well_formed;
use sluice::ledger::Ledger;
use sluice::ops::report::{command, Format, ReportArgs};
use sqlx::PgPool;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: ReportArgs,
}

fn parse(flags: &[&str]) -> Result<ReportArgs, clap::Error> {
    let argv = std::iter::once("report").chain(flags.iter().copied());
    Cli::try_parse_from(argv).map(|c| c.args)
}

#[test]
fn times_and_formats_parse_and_a_bad_time_is_named() {
    let args = parse(&["--since", "2025-10-11T21:00:00Z", "--format", "csv"]).expect("parses");
    assert_eq!(args.format, Format::Csv);
    assert_eq!(
        args.since.map(|t| t.to_rfc3339()),
        Some("2025-10-11T21:00:00+00:00".into())
    );
    let err = parse(&["--until", "yesterday"])
        .expect_err("refused")
        .to_string();
    assert!(err.contains("`yesterday` is not an RFC 3339 time"), "{err}");
}

#[sqlx::test(migrations = "./migrations")]
async fn an_empty_window_renders_json_and_writes_the_svg(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let dir = tempfile::tempdir().expect("temp dir");
    let svg = dir.path().join("t.svg");
    let mut args = parse(&["--format", "json"]).expect("parses");
    args.svg = Some(svg.clone());

    let out = command(&ledger, &args).await.expect("report");

    let json: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
    assert_eq!(json["totals"]["attempts"], 0);
    assert_well_formed(&std::fs::read_to_string(&svg).expect("svg written"));
}

#[sqlx::test(migrations = "./migrations")]
async fn a_window_that_ends_before_it_starts_is_refused(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let args = parse(&[
        "--since",
        "2025-10-12T00:00:00Z",
        "--until",
        "2025-10-11T00:00:00Z",
    ])
    .expect("parses");

    let err = command(&ledger, &args)
        .await
        .expect_err("refused")
        .to_string();

    assert!(
        err.contains("--since") && err.contains("before --until"),
        "{err}"
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn a_window_older_than_the_exchanges_trade_history_says_the_ledger_is_the_record(
    pool: PgPool,
) {
    let ledger = Ledger::from_pool(pool);
    let old = (chrono::Utc::now() - chrono::TimeDelta::days(120)).to_rfc3339();
    let out = command(&ledger, &parse(&["--since", &old]).expect("parses"))
        .await
        .expect("report");
    assert!(
        out.contains("Binance's userTrades covers only the past 3 months")
            && out.contains("rest on the ledger alone"),
        "{out}"
    );
    let json = command(
        &ledger,
        &parse(&["--since", &old, "--format", "json"]).unwrap(),
    )
    .await
    .expect("report");
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert!(v["ledger_only_before"].is_string(), "{v}");

    let recent = command(&ledger, &parse(&[]).unwrap())
        .await
        .expect("report");
    assert!(!recent.contains("userTrades covers"), "{recent}");
}
