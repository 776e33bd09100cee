//! One leader lock per account (docs/accounts.md): a session leads one account; holding
//! one account's lock never keeps another daemon from leading a different account.

use std::time::Duration;

use sluice::ledger::{Ledger, LockSessionOptions, NewAccount};
use sluice_testkit::poll::until;
use sqlx::PgPool;

fn options(name: &str, account: Option<&str>) -> LockSessionOptions {
    LockSessionOptions {
        venue: "binance-usdm".into(),
        application_name: name.into(),
        keepalive_idle: Duration::from_secs(5),
        account: account.map(str::to_string),
    }
}

async fn add(ledger: &Ledger, name: &str) {
    let new = NewAccount {
        name,
        venue: Some("binance-usdm"),
        position_mode: Some("one-way"),
        allocation_usdt: None,
        symbols: &[],
        credential_source: Some("/etc/sluice/keys/b.key"),
    };
    ledger.upsert_account(&new).await.unwrap();
}

#[sqlx::test(migrations = "./migrations")]
async fn each_account_is_led_through_its_own_lock(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    add(&ledger, "b").await;
    add(&ledger, "c").await;
    let mut first_b = ledger
        .lock_session(&options("d1", Some("b")))
        .await
        .unwrap();
    let mut second_b = ledger
        .lock_session(&options("d2", Some("b")))
        .await
        .unwrap();
    let mut second_c = ledger
        .lock_session(&options("d2", Some("c")))
        .await
        .unwrap();
    let mut second_main = ledger.lock_session(&options("d2", None)).await.unwrap();

    assert!(first_b.try_acquire().await.unwrap());
    assert!(!second_b.try_acquire().await.unwrap(), "b has a leader");
    assert!(second_c.try_acquire().await.unwrap(), "c is free");
    assert!(second_main.try_acquire().await.unwrap(), "main is free");
    let holder = second_b.holder().await.unwrap().expect("b's holder");
    assert_eq!(holder.application_name.as_deref(), Some("d1"));

    first_b.close().await;
    // The server frees a closed session's locks when its backend has exited.
    until("b is taken over", Duration::from_secs(10), async || {
        second_b.try_acquire().await.unwrap()
    })
    .await;
}

#[sqlx::test(migrations = "./migrations")]
async fn the_default_account_keeps_the_lock_of_a_ledger_without_accounts(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let by_name = ledger
        .lock_session(&options("d1", Some("main")))
        .await
        .unwrap();
    let unnamed = ledger.lock_session(&options("d2", None)).await.unwrap();

    assert_eq!(by_name.key(), unnamed.key());
}

#[sqlx::test(migrations = "./migrations")]
async fn an_unknown_account_cannot_be_led(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);

    let err = ledger
        .lock_session(&options("d1", Some("nobody")))
        .await
        .err()
        .expect("no account named nobody");

    assert!(err.to_string().contains("nobody"), "{err}");
}

#[sqlx::test(migrations = "./migrations")]
async fn an_account_keeps_credential_sources_but_refuses_a_secret(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    add(&ledger, "b").await;
    let secret = NewAccount {
        name: "c",
        venue: None,
        position_mode: None,
        allocation_usdt: None,
        symbols: &[],
        credential_source: Some("vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"),
    };

    let refused = ledger.upsert_account(&secret).await;
    let names: Vec<String> = ledger
        .accounts()
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.name)
        .collect();

    assert!(refused.is_err());
    assert_eq!(names, vec!["main".to_string(), "b".to_string()]);
    let b = ledger.account(Some("b")).await.unwrap();
    assert_eq!(
        b.credential_source.as_deref(),
        Some("/etc/sluice/keys/b.key")
    );
    assert!(ledger.account(None).await.unwrap().is_default);
}
