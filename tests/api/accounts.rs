//! Account selection at the API (docs/accounts.md): `account=<name>` picks one account's
//! positions or events; without it the default account's; an unknown name is a 404.

use super::cli::run;
use sluice_testkit::app::*;
use sqlx::PgPool;

/// A second account `b` with an open SOLUSDT long.
async fn account_b_with_a_position(pool: &PgPool) {
    sqlx::raw_sql(
        "INSERT INTO accounts (name, venue, position_mode) VALUES ('b', 'binance-usdm', 'one-way');
         INSERT INTO positions (account_id, venue, symbol, direction, position_side, status,
             quantity, entry_price, opened_quantity, origin)
         SELECT id, 'binance-usdm', 'SOLUSDT', 'long', 'BOTH', 'open', 3, 150, 3, 'sluice'
           FROM accounts WHERE name = 'b';",
    )
    .execute(pool)
    .await
    .unwrap();
}

#[sqlx::test]
async fn positions_are_listed_per_account_and_the_default_account_without_a_name(pool: PgPool) {
    let app = spawn_app(&pool).await;
    account_b_with_a_position(&pool).await;

    let (b_status, of_b) = app.get("/v1/positions?account=b").await;
    let (main_status, of_main) = app.get("/v1/positions").await;
    let (named_status, named_main) = app.get("/v1/positions?account=main&all=true").await;

    assert_eq!((b_status, main_status, named_status), (200, 200, 200));
    let b = of_b["positions"].as_array().unwrap();
    assert_eq!(b.len(), 1, "{of_b}");
    assert_eq!(b[0]["quantity"], "3");
    assert_eq!(
        of_main["positions"].as_array().unwrap().len(),
        0,
        "{of_main}"
    );
    assert_eq!(named_main["positions"].as_array().unwrap().len(), 0);
    app.stop().await;
}

#[sqlx::test]
async fn an_unknown_account_is_not_found_for_positions_and_events(pool: PgPool) {
    let app = spawn_app(&pool).await;

    let (positions, body) = app.get("/v1/positions?account=nobody").await;
    let events = app
        .http
        .get(app.url("/v1/events?account=nobody"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16();

    assert_eq!(positions, 404, "{body}");
    assert!(body.to_string().contains("nobody"), "{body}");
    assert_eq!(events, 404);
    app.stop().await;
}

#[sqlx::test]
async fn sluice_positions_account_shows_that_accounts_positions(pool: PgPool) {
    let app = spawn_app(&pool).await;
    account_b_with_a_position(&pool).await;
    let addr = app.addr.to_string();

    let of_b = run(addr.clone(), &["positions", "--account", "b", "--json"]).await;
    let bad = run(addr, &["positions", "--account", "Not A Name"]).await;

    assert!(
        of_b.status.success(),
        "{}",
        String::from_utf8_lossy(&of_b.stderr)
    );
    let listed: serde_json::Value = serde_json::from_slice(&of_b.stdout).unwrap();
    assert_eq!(listed["positions"][0]["quantity"], "3", "{listed}");
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("not an account name"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    app.stop().await;
}
