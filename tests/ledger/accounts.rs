//! Accounts in the ledger (docs/accounts.md): an existing single-account ledger migrates
//! into the default account, rows of one account cannot name another's, and the budget,
//! the halt and the event stream are per account.

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use sluice::ledger::Ledger;
use sluice_testkit::ledger::*;
use sqlx::PgPool;

use crate::support::migrations_before;

/// The first migration of the accounts.
const ACCOUNTS_MIGRATION: i64 = 20261206210000;

/// Every table whose rows carry their own account.
const ACCOUNT_TABLES: [&str; 12] = [
    "intents",
    "positions",
    "orders",
    "fills",
    "exchange_positions",
    "order_attempts",
    "breaker_transitions",
    "ledger_anomalies",
    "ledger_adjustments",
    "leader_terms",
    "events",
    "control_flags",
];

/// One of each row a single-account daemon writes, as the ledger stood before accounts.
const SINGLE_ACCOUNT_ROWS: &str = "
INSERT INTO positions (venue, symbol, direction, position_side, status, quantity, entry_price,
    opened_quantity, origin) VALUES ('binance-usdm', 'SOLUSDT', 'short', 'BOTH', 'open', 2, 150, 2, 'sluice');
INSERT INTO intents (kind, venue, symbol, direction, position_mode, quantity, notional_usdt,
    idempotency_key, state) VALUES ('open', 'binance-usdm', 'SOLUSDT', 'short', 'one-way', 2, 1000, 'k1', 'working');
INSERT INTO orders (intent_id, intent_kind, position_id, venue, symbol, side, position_side,
    order_type, quantity, reduce_only, client_order_id, chunk_index, attempt, status)
    SELECT i.id, 'open', p.id, 'binance-usdm', 'SOLUSDT', 'SELL', 'BOTH', 'MARKET', 2, false,
           'c1', 0, 0, 'filled' FROM intents i, positions p;
INSERT INTO fills (venue, symbol, trade_id, order_id, exchange_order_id, side, position_side,
    price, quantity, commission, commission_asset, realized_pnl, maker, traded_at, external,
    position_id, applied_quantity)
    SELECT 'binance-usdm', 'SOLUSDT', 7, o.id, 9, 'SELL', 'BOTH', 150, 2, 0.1, 'USDT', 0, false,
           now(), false, o.position_id, 2 FROM orders o;
INSERT INTO exchange_positions (venue, symbol, position_side, amount, entry_price, event_time)
    VALUES ('binance-usdm', 'SOLUSDT', 'BOTH', -2, 150, now());
INSERT INTO order_attempts (venue, sent_at, method, endpoint, params, is_order, latency_ms)
    VALUES ('binance-usdm', now(), 'POST', '/fapi/v1/order', 'symbol=SOLUSDT', true, 3);
INSERT INTO breaker_transitions (venue, scope, at, from_state, to_state, window_total,
    server_errors, throttled, unknown) VALUES ('binance-usdm', 'venue', now(), 'closed', 'open', 5, 5, 0, 0);
INSERT INTO ledger_anomalies (kind, detail) VALUES ('external_fill', '{}');
INSERT INTO ledger_adjustments (actor, reason, table_name, row_id) VALUES ('op', 'test', 'positions', 1);
INSERT INTO leader_terms (venue, instance, holder) VALUES ('binance-usdm', gen_random_uuid(), 'old');
INSERT INTO control_flags (key, value, actor) VALUES ('halt', '{\"halted\": true, \"reason\": \"r\"}', 'op');
";

#[sqlx::test(migrations = false)]
async fn an_existing_single_account_ledger_migrates_into_the_default_account(pool: PgPool) {
    migrations_before(ACCOUNTS_MIGRATION)
        .run(&pool)
        .await
        .unwrap();
    sqlx::raw_sql(SINGLE_ACCOUNT_ROWS)
        .execute(&pool)
        .await
        .unwrap();
    let ledger = Ledger::from_pool(pool.clone());
    let budget_before = ledger.budget(usdt(dec!(5000))).await.unwrap();

    ledger.migrate().await.unwrap();

    let (main, name): (i64, String) =
        sqlx::query_as("SELECT id, name FROM accounts WHERE is_default")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(name, "main");
    for table in ACCOUNT_TABLES {
        let (rows, in_main): (i64, i64) = sqlx::query_as(&format!(
            "SELECT count(*), count(*) FILTER (WHERE account_id = $1) FROM {table}"
        ))
        .bind(main)
        .fetch_one(&pool)
        .await
        .unwrap();
        assert!(rows > 0, "{table}: the fixture wrote no row");
        assert_eq!(rows, in_main, "{table}: rows outside the default account");
    }
    // The single-account reads see the same ledger as before.
    assert_eq!(
        ledger.budget(usdt(dec!(5000))).await.unwrap(),
        budget_before
    );
    assert!(ledger.halt_state().await.unwrap().halted);
    assert_eq!(ledger.open_positions().await.unwrap().len(), 1);
    assert_eq!(ledger.exchange_positions().await.unwrap().len(), 1);
}

/// A second account `name` and its id.
async fn add_account(pool: &PgPool, name: &str) -> i64 {
    sqlx::query_scalar("INSERT INTO accounts (name, venue, position_mode) VALUES ($1, 'binance-usdm', 'one-way') RETURNING id")
        .bind(name)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// An open intent of `account` for 1000 USDT, stored `working`; its id.
async fn working_open(pool: &PgPool, account: i64, key: &str) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO intents (account_id, kind, venue, symbol, direction, position_mode,
             notional_usdt, idempotency_key, state)
         VALUES ($1, 'open', 'binance-usdm', 'SOLUSDT', 'long', 'one-way', 1000, $2, 'working')
         RETURNING id",
    )
    .bind(account)
    .bind(key)
    .fetch_one(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrations = "./migrations")]
async fn an_order_cannot_belong_to_another_account_than_its_intent(pool: PgPool) {
    let b = add_account(&pool, "b").await;
    let intent = working_open(&pool, b, "b-1").await;
    let order = |account: Option<i64>| {
        sqlx::query(
            "INSERT INTO orders (account_id, intent_id, intent_kind, venue, symbol, side,
                 position_side, order_type, quantity, reduce_only, client_order_id, chunk_index,
                 attempt, status)
             VALUES (COALESCE($1, sluice_default_account()), $2, 'open', 'binance-usdm',
                 'SOLUSDT', 'BUY', 'BOTH', 'MARKET', 1, false, $3, 0, 0, 'planned')",
        )
        .bind(account)
        .bind(intent)
        .bind(format!("c-{account:?}"))
    };

    let defaulted = order(None).execute(&pool).await;
    let named = order(Some(b)).execute(&pool).await;

    let err = defaulted.expect_err("an order defaulted to main for b's intent must fail");
    assert!(err.to_string().contains("orders_intent_fk"), "{err}");
    assert!(named.is_ok());
}

#[sqlx::test(migrations = "./migrations")]
async fn the_budget_of_one_account_ignores_the_others(pool: PgPool) {
    let b = add_account(&pool, "b").await;
    working_open(&pool, b, "b-1").await;
    let ledger = Ledger::from_pool(pool.clone());

    let main_budget = ledger.budget(usdt(dec!(5000))).await.unwrap();
    let (b_reserved,): (Decimal,) = sqlx::query_as("SELECT reserved FROM sluice_budget_sums($1)")
        .bind(b)
        .fetch_one(&pool)
        .await
        .unwrap();

    assert_eq!(main_budget.reserved.get(), Decimal::ZERO);
    assert_eq!(b_reserved, dec!(1000));
}

/// Accept an open of 100 USDT for `account` through the one-statement accept.
async fn accept_open(pool: &PgPool, account: i64, key: &str) -> Option<i64> {
    sqlx::query_scalar(
        "SELECT id FROM sluice_accept_open($1, 1, 'halt', 'binance-usdm', 'SOLUSDT', 'long',
             'BOTH', 'one-way', NULL, 100, 5000, $2, '', NULL)",
    )
    .bind(account)
    .bind(key)
    .fetch_optional(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrations = "./migrations")]
async fn a_halt_on_one_account_refuses_only_that_accounts_opens(pool: PgPool) {
    let b = add_account(&pool, "b").await;
    let ledger = Ledger::from_pool(pool.clone());
    ledger.halt("operator", "main only").await.unwrap();
    let main: i64 = sqlx::query_scalar("SELECT sluice_default_account()")
        .fetch_one(&pool)
        .await
        .unwrap();

    let on_main = accept_open(&pool, main, "main-1").await;
    let on_b = accept_open(&pool, b, "b-1").await;

    assert_eq!(on_main, None);
    let stored = on_b.expect("b is not halted");
    let (account,): (i64,) = sqlx::query_as("SELECT account_id FROM intents WHERE id = $1")
        .bind(stored)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(account, b);
}

#[sqlx::test(migrations = "./migrations")]
async fn every_event_names_the_account_of_its_row(pool: PgPool) {
    let b = add_account(&pool, "b").await;
    let intent = working_open(&pool, b, "b-1").await;
    let ledger = Ledger::from_pool(pool.clone());
    ledger.halt("operator", "main only").await.unwrap();

    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT kind, account_id FROM events ORDER BY seq")
            .fetch_all(&pool)
            .await
            .unwrap();

    let main: i64 = sqlx::query_scalar("SELECT sluice_default_account()")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        rows,
        vec![("intent".to_string(), b), ("halt".to_string(), main)],
        "intent {intent}"
    );
}

/// An open position of `account` on SOLUSDT's one-way leg; its id.
async fn open_position(pool: &PgPool, account: i64) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO positions (account_id, venue, symbol, direction, position_side, status,
             quantity, entry_price, opened_quantity, origin)
         VALUES ($1, 'binance-usdm', 'SOLUSDT', 'long', 'BOTH', 'open', 1, 150, 1, 'sluice')
         RETURNING id",
    )
    .bind(account)
    .fetch_one(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrations = "./migrations")]
async fn the_default_accounts_daemon_never_works_or_halts_another_accounts_rows(pool: PgPool) {
    let b = add_account(&pool, "b").await;
    let b_position = open_position(&pool, b).await;
    let b_open: i64 = sqlx::query_scalar(
        "INSERT INTO intents (account_id, kind, venue, symbol, direction, position_mode,
             notional_usdt, idempotency_key, state)
         VALUES ($1, 'open', 'binance-usdm', 'SOLUSDT', 'long', 'one-way', 100, 'b-1', 'accepted')
         RETURNING id",
    )
    .bind(b)
    .fetch_one(&pool)
    .await
    .unwrap();
    let ledger = Ledger::from_pool(pool.clone());
    let main: i64 = sqlx::query_scalar("SELECT sluice_default_account()")
        .fetch_one(&pool)
        .await
        .unwrap();
    let main_position = open_position(&pool, main).await;

    let taken = ledger.take_up_intents(VENUE, &[], "test").await.unwrap();
    let halted = ledger.halt("operator", "main only").await.unwrap();
    let open: Vec<i64> = ledger
        .open_positions()
        .await
        .unwrap()
        .iter()
        .map(|p| p.id.get())
        .collect();

    assert!(taken.is_empty(), "b's intent is not main's work");
    assert!(
        halted.cancelled_opens.is_empty(),
        "main's halt leaves b's open"
    );
    assert_eq!(
        open,
        vec![main_position],
        "b's position {b_position} is not main's"
    );
    let (state,): (String,) = sqlx::query_as("SELECT state FROM intents WHERE id = $1")
        .bind(b_open)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(state, "accepted");
}

#[sqlx::test(migrations = "./migrations")]
async fn a_page_of_events_is_one_accounts_and_the_default_accounts_without_a_name(pool: PgPool) {
    let b = add_account(&pool, "b").await;
    working_open(&pool, b, "b-1").await;
    let ledger = Ledger::from_pool(pool.clone());
    ledger.halt("operator", "main only").await.unwrap();

    let of_b = ledger.events_of(Some(b), 0, 100).await.unwrap();
    let of_main = ledger.events_after(0, 100).await.unwrap();

    let kinds = |page: &sluice::ledger::EventPage| -> Vec<String> {
        page.events.iter().map(|e| e.kind.clone()).collect()
    };
    assert_eq!(kinds(&of_b), vec!["intent"]);
    assert_eq!(kinds(&of_main), vec!["halt"]);
    assert_eq!(of_b.newest, of_main.newest, "one sequence for the ledger");
}

#[sqlx::test(migrations = "./migrations")]
async fn both_sides_of_a_trade_between_two_accounts_are_stored(pool: PgPool) {
    let b = add_account(&pool, "b").await;
    let fill = |account: Option<i64>, exchange_order: i64, side: &'static str| {
        sqlx::query(
            "INSERT INTO fills (account_id, venue, symbol, trade_id, exchange_order_id, side,
                 position_side, price, quantity, commission, commission_asset, realized_pnl,
                 maker, traded_at, external)
             VALUES (COALESCE($1, sluice_default_account()), 'binance-usdm', 'SOLUSDT', 42, $2,
                 $3, 'BOTH', 150, 1, 0, 'USDT', 0, false, now(), true)",
        )
        .bind(account)
        .bind(exchange_order)
        .bind(side)
    };

    let main_side = fill(None, 1, "BUY").execute(&pool).await;
    let b_side = fill(Some(b), 2, "SELL").execute(&pool).await;
    let again = fill(Some(b), 2, "SELL").execute(&pool).await;

    assert!(
        main_side.is_ok() && b_side.is_ok(),
        "{main_side:?} {b_side:?}"
    );
    assert!(again.is_err(), "one row per account and trade");
}
