//! The `sluice reconcile` command as the CLI calls it: flag parsing, table or JSON
//! output, and the exit policy (0 clean, 1 differences remain, 2 error).

mod ledger_common;
mod reconcile_common;

use clap::Parser;
use ledger_common::*;
use reconcile_common::*;
use rust_decimal_macros::dec;
use sluice::domain::PositionSide;
use sluice::ledger::Ledger;
use sluice::ops::reconcile::{command, ReconcileArgs};
use sqlx::PgPool;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: ReconcileArgs,
}

fn parse(flags: &[&str]) -> ReconcileArgs {
    let argv = std::iter::once("reconcile").chain(flags.iter().copied());
    Cli::try_parse_from(argv).expect("flags parse").args
}

#[test]
fn the_flags_parse_and_default_to_a_dry_run() {
    let dry = parse(&[]);
    assert!(!dry.json && !dry.options.fix && !dry.options.confirm);
    let fix = parse(&["--json", "--fix", "--confirm"]);
    assert!(fix.json && fix.options.fix && fix.options.confirm);
}

#[sqlx::test(migrations = "./migrations")]
async fn json_output_lists_the_differences_and_exits_one(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let unknown = reported("BTCUSDT", PositionSide::Both, dec!(0.5), dec!(60000), t(1));
    let ex = FakeExchange::new(vec![unknown], vec![], vec![]);

    let (out, code) = command(&ledger, &ex, parse(&["--json"]), &is_sluice_id).await;

    assert_eq!(code, 1);
    let json: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
    assert_eq!(json["mode"], "dry_run");
    assert_eq!(json["found"][0]["kind"], "position_unknown_to_ledger");
    assert_eq!(json["found"][0]["amount"], "0.5");
    assert_eq!(json["found"][0]["sluice_tagged"], false);
}

#[sqlx::test(migrations = "./migrations")]
async fn a_clean_table_says_they_agree_and_exits_zero(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let ex = FakeExchange::new(vec![], vec![], vec![]);

    let (out, code) = command(&ledger, &ex, parse(&[]), &is_sluice_id).await;

    assert_eq!(code, 0);
    assert!(out.contains("ledger and exchange agree"), "{out}");
}

#[sqlx::test(migrations = "./migrations")]
async fn an_error_is_rendered_and_exits_two(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let mut ex = FakeExchange::new(vec![], vec![], vec![]);
    ex.fail_positions = true;

    let (out, code) = command(&ledger, &ex, parse(&["--json"]), &is_sluice_id).await;

    assert_eq!(code, 2);
    let json: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
    let error = json["error"].as_str().expect("an error message");
    assert!(
        error.contains("failed to fetch the exchange's positions"),
        "{error}"
    );
}
