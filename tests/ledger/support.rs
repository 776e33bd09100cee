//! What several modules of this binary share: a second account on one database, and the
//! migrator of the schema as it stood before a migration (to test that migration on rows
//! written the old way).

use std::borrow::Cow;

use sluice::ledger::{connect_options_for, Ledger, NewAccount};
use sluice_testkit::ledger::VENUE;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// The second account `b` (one-way) on `main`'s database, and its ledger.
pub(crate) async fn second_account(main: &Ledger) -> Ledger {
    main.upsert_account(&NewAccount {
        name: "b",
        venue: Some(VENUE),
        position_mode: Some("one-way"),
        allocation_usdt: None,
        symbols: &[],
        credential_source: None,
    })
    .await
    .expect("account b");
    let options = main.pool().connect_options().as_ref().clone();
    Ledger::connect_with(
        PgPoolOptions::new(),
        connect_options_for(options, Some("b")),
    )
    .await
    .expect("connect as b")
}

/// The default account's ledger and account `b`'s, on one database.
pub(crate) async fn two_ledgers(conn: PgConnectOptions) -> (Ledger, Ledger) {
    let main = Ledger::connect_with(PgPoolOptions::new(), conn)
        .await
        .expect("connect");
    let b = second_account(&main).await;
    (main, b)
}

/// The migrations before `version`.
pub(crate) fn migrations_before(version: i64) -> Migrator {
    let mut m = sqlx::migrate!("./migrations");
    let before: Vec<_> = m
        .migrations
        .iter()
        .filter(|x| x.version < version)
        .cloned()
        .collect();
    m.migrations = Cow::Owned(before);
    m
}
