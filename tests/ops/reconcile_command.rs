//! The `sluice reconcile` command as the CLI calls it: flag parsing, table or JSON
//! output, and the exit policy (0 clean, 1 differences remain, 2 error).

use clap::Parser;
use rust_decimal_macros::dec;
use sluice::domain::PositionSide;
use sluice::ledger::Ledger;
use sluice::ops::reconcile::{command, ReconcileArgs};
use sluice_testkit::ledger::*;
use sluice_testkit::reconcile::*;
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

#[sqlx::test(migrations = "./migrations")]
async fn an_adopted_positions_opening_trade_is_not_a_missing_fill_but_a_later_one_is(pool: PgPool) {
    // Arrange: a SHORT 50 opened by hand (trade 1), adopted by sluice afterwards; then a
    // later hand trade (trade 2, after the adoption) the ledger knows nothing of.
    let ledger = Ledger::from_pool(pool);
    ledger
        .adopt_position(&sluice::ledger::AdoptPosition {
            venue: VENUE.into(),
            symbol: sym("SOLUSDT"),
            direction: sluice::domain::Direction::Short,
            position_side: PositionSide::Both,
            quantity: qty(dec!(50)),
            entry_price: price(dec!(180)),
            actor: "test".into(),
            reason: "opened by hand".into(),
        })
        .await
        .expect("adopted");
    let opening = fill(
        "SOLUSDT",
        1,
        1,
        None,
        sluice::domain::Side::Sell,
        PositionSide::Both,
        dec!(50),
        dec!(180),
    );
    let mut later = fill(
        "SOLUSDT",
        2,
        2,
        None,
        sluice::domain::Side::Sell,
        PositionSide::Both,
        dec!(1),
        dec!(180),
    );
    later.time = chrono::Utc::now() + chrono::Duration::seconds(5);
    let position = reported("SOLUSDT", PositionSide::Both, dec!(-50), dec!(180), t(1));

    // Act.
    let only_opening = FakeExchange::new(vec![position.clone()], vec![], vec![opening.clone()]);
    let clean =
        sluice::ops::reconcile::run(&ledger, &only_opening, Default::default(), &is_sluice_id)
            .await
            .expect("reconcile");
    let with_later = FakeExchange::new(vec![position], vec![], vec![opening, later]);
    let found =
        sluice::ops::reconcile::run(&ledger, &with_later, Default::default(), &is_sluice_id)
            .await
            .expect("reconcile");

    // Assert: the adoption covers the trade that built the position, not what came after.
    assert!(clean.found.is_empty(), "{:?}", clean.found);
    assert_eq!(
        found
            .found
            .iter()
            .map(|d| d.kind_name())
            .collect::<Vec<_>>(),
        vec!["fill_missing_from_ledger"]
    );
}
