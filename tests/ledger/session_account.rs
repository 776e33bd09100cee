//! A process that trades one account (`exchange.account`) connects with that account in
//! its sessions (`connect_options_for`): every write path stores its rows in that account
//! and every read sees only that account, on the same ledger as the default account.

use rust_decimal_macros::dec;
use sluice::domain::{Direction, PositionMode};
use sluice_testkit::ledger::*;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::support::two_ledgers;

#[sqlx::test(migrations = "./migrations")]
async fn two_accounts_open_the_same_leg_and_each_sees_only_its_own(
    _: PgPoolOptions,
    conn: PgConnectOptions,
) {
    let (main, b) = two_ledgers(conn).await;
    let one_way = PositionMode::OneWay;

    open_filled(
        &main,
        "m-1",
        "SOLUSDT",
        Direction::Long,
        one_way,
        dec!(2),
        dec!(150),
        1,
    )
    .await;
    open_filled(
        &b,
        "b-1",
        "SOLUSDT",
        Direction::Short,
        one_way,
        dec!(3),
        dec!(150),
        2,
    )
    .await;

    let of_main = main.open_positions().await.unwrap();
    let of_b = b.open_positions().await.unwrap();
    assert_eq!(of_main.len(), 1);
    assert_eq!(of_b.len(), 1);
    assert_eq!(of_main[0].direction, Direction::Long);
    assert_eq!(of_b[0].direction, Direction::Short);
    assert_eq!(of_b[0].quantity.get(), dec!(3));
    let b_id = b.account(Some("b")).await.unwrap().id;
    let (fills_of_b,): (i64,) = sqlx::query_as("SELECT count(*) FROM fills WHERE account_id = $1")
        .bind(b_id)
        .fetch_one(main.pool())
        .await
        .unwrap();
    assert_eq!(fills_of_b, 1);
    assert_eq!(
        main.budget(usdt(dec!(1000))).await.unwrap().used.get(),
        dec!(300)
    );
    assert_eq!(
        b.budget(usdt(dec!(1000))).await.unwrap().used.get(),
        dec!(450)
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn a_halt_of_one_account_is_not_seen_by_the_others_opens(
    _: PgPoolOptions,
    conn: PgConnectOptions,
) {
    let (main, b) = two_ledgers(conn).await;
    let open = |key| {
        open_intent(
            key,
            "SOLUSDT",
            Direction::Long,
            PositionMode::OneWay,
            dec!(100),
        )
    };

    main.halt("operator", "main only").await.unwrap();
    let refused = main.create_intent(&open("m-1"), usdt(dec!(1000))).await;
    let accepted = b.create_intent(&open("b-1"), usdt(dec!(1000))).await;

    assert!(main.halt_state().await.unwrap().halted);
    assert!(!b.halt_state().await.unwrap().halted);
    let refused = refused.expect("the ledger stores it; the API refuses it");
    assert!(!refused.halt_clear, "main's open sees main's halt");
    let accepted = accepted.expect("b is not halted");
    assert!(accepted.halt_clear, "b's open does not see main's halt");
    let ids = |taken: Vec<sluice::ledger::ActiveIntent>| -> Vec<_> {
        taken.iter().map(|a| a.intent.id).collect()
    };
    let b_work = ids(b.take_up_intents(VENUE, &[], "t").await.unwrap());
    let main_work = ids(main.take_up_intents(VENUE, &[], "t").await.unwrap());
    assert_eq!(b_work, vec![accepted.intent.id]);
    assert_eq!(main_work, vec![refused.intent.id]);
}
