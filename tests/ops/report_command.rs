//! The `sluice report` command as the CLI calls it: flag parsing (RFC 3339 times,
//! formats, `--bucket`), an empty window, a bucket too fine for the span, and the SVG
//! written beside the text output.

use clap::Parser;
use sluice::ledger::Ledger;
use sluice::ops::report::{command, About, Format, ReportArgs};
use sluice_testkit::report::{accepted_attempt, assert_well_formed};
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

#[test]
fn a_bucket_is_parsed_strictly_and_a_bad_one_names_the_flag() {
    let args = parse(&["--bucket", "10s", "--format", "html"]).expect("parses");
    assert_eq!(
        (args.bucket.map(|b| b.secs()), args.format),
        (Some(10), Format::Html)
    );
    for bad in ["10", "10 s", "1.5m", "0s", "-1m"] {
        let err = parse(&[&format!("--bucket={bad}")])
            .expect_err(bad)
            .to_string();
        assert!(err.contains("--bucket"), "{bad}: {err}");
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn a_bucket_too_fine_for_the_attempts_span_is_refused_and_writes_nothing(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let start = chrono::Utc::now() - chrono::TimeDelta::hours(23);
    let day = [start, start + chrono::TimeDelta::hours(22)];
    let records: Vec<_> = day
        .iter()
        .map(|t| accepted_attempt(*t, "SOLUSDT"))
        .collect();
    ledger.insert_attempts(&records).await.expect("stored");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut args = parse(&["--bucket", "1s"]).expect("parses");
    args.svg = Some(dir.path().join("t.svg"));

    let err = command(&ledger, &args, &About::new(None))
        .await
        .expect_err("refused")
        .to_string();

    assert!(err.contains("--bucket 1s would draw 79201 bars"), "{err}");
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "nothing written"
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn an_empty_window_renders_json_and_writes_the_svg(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let dir = tempfile::tempdir().expect("temp dir");
    let svg = dir.path().join("t.svg");
    let mut args = parse(&["--format", "json"]).expect("parses");
    args.svg = Some(svg.clone());

    let out = command(&ledger, &args, &About::new(None))
        .await
        .expect("report");

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

    let err = command(&ledger, &args, &About::new(None))
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
    let out = command(
        &ledger,
        &parse(&["--since", &old]).expect("parses"),
        &About::new(None),
    )
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
        &About::new(None),
    )
    .await
    .expect("report");
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert!(v["ledger_only_before"].is_string(), "{v}");

    let recent = command(&ledger, &parse(&[]).unwrap(), &About::new(None))
        .await
        .expect("report");
    assert!(!recent.contains("userTrades covers"), "{recent}");
}
