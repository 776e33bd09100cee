//! Never locked out (docs/incidents.md (seed 003)): the real `sluice run` binary started
//! while the venue is already in distress comes up, says why it is degraded, refuses
//! opens with the breaker's reason, closes what it is told to, and lifts the hold by
//! itself once the failed probes pass; a configuration failure refuses opens only.

use std::time::Duration;

use serde_json::{json, Value};
use sluice::domain::IntentState;
use sluice::ledger::OrderState;
use sluice::ledger::{IntentId, Ledger};
use sluice_sim::spawn;
use sluice_testkit::executor::*;
use sqlx::PgPool;

/// DOGE and XRP longs; for the first `until` scenario seconds every test order gets
/// -1008 and real orders the 2025-10-11 profile.
fn storm_at_start(until: u32) -> sluice_sim::Scenario {
    storm_with(until, "")
}

/// The storm for the first `until` seconds, with extra `[[symbols]]` TOML (the scenario's
/// fields are the simulator's own: a variant is built from TOML, never patched).
fn storm_with(until: u32, symbols: &str) -> sluice_sim::Scenario {
    scenario(
        &format!(
            "{symbols}[[faults]]\nfrom = 0\nuntil = {until}\nendpoints = [\"POST /fapi/v1/order/test\"]\noverload_1008 = 1.0\n\
             [[faults]]\nfrom = 0\nuntil = {until}\nprofile = \"2025-10-11\"\n"
        ),
        "positions = [ { symbol = \"DOGEUSDT\", side = \"LONG\", quantity = \"5000\", entry_price = \"0.2\" }, \
                       { symbol = \"XRPUSDT\", side = \"LONG\", quantity = \"2000\", entry_price = \"2.5\" } ]",
    )
}

const SYMBOLS: (&str, &str) = ("SLUICE__EXCHANGE__SYMBOLS", "BTCUSDT,DOGEUSDT,XRPUSDT");
/// Room in the budget for the BTC open next to the adopted DOGE and XRP longs.
const ALLOCATION: (&str, &str) = ("SLUICE__BUDGET__ALLOCATION_USDT", "100000");

async fn submit(d: &sluice_testkit::process::DaemonProc, body: Value) -> IntentId {
    let (code, created) = d.post("/v1/intents", &body).await;
    assert_eq!(code, 202, "{created}");
    IntentId(created["id"].as_i64().expect("intent id"))
}

async fn terminal(ledger: &Ledger, id: IntentId, within: Duration) -> sluice::ledger::IntentRow {
    sluice_testkit::process::until("the intent to finish", within, || async {
        let row = ledger.intent(id).await.expect("read").expect("intent");
        row.state.is_terminal()
    })
    .await;
    ledger.intent(id).await.expect("read").expect("intent")
}

fn close(symbol: &str, key: &str) -> Value {
    json!({"kind": "close", "symbol": symbol, "side": "long", "idempotency_key": key,
           "reason": "incident"})
}

fn open_btc(key: &str) -> Value {
    json!({"kind": "open", "symbol": "BTCUSDT", "side": "long", "quantity": "0.01",
           "idempotency_key": key})
}

#[sqlx::test(migrations = "./migrations")]
async fn started_in_the_2025_10_11_storm_it_closes_doge_and_xrp_and_refuses_opens_until_it_passes(
    pool: PgPool,
) {
    // Arrange: the venue is in distress from the simulator's first second.
    let db_url = sluice_testkit::process::database_url(&pool).await;
    let ledger = Ledger::from_pool(pool.clone());
    let sim = spawn(storm_at_start(12), "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("sim");

    // Act: start the daemon in the storm.
    let d = sluice_testkit::process::spawn_daemon("lockout", &sim, &db_url, &[SYMBOLS, ALLOCATION])
        .await;

    // Assert: it runs, and /readyz says why it is degraded.
    let ready = d.until_status("degraded", Duration::from_secs(60)).await;
    let why = ready["degraded"].to_string();
    assert!(
        why.contains("preflight") && why.contains("-1008"),
        "{ready}"
    );
    assert!(d.logged("venue distress at start"));

    // Act: an open and two closes during the storm.
    let open = submit(&d, open_btc("storm-open")).await;
    let doge = submit(&d, close("DOGEUSDT", "storm-doge")).await;
    let xrp = submit(&d, close("XRPUSDT", "storm-xrp")).await;

    // Assert: the open is refused with the breaker's reason; the closes end done.
    let opened = terminal(&ledger, open, Duration::from_secs(30)).await;
    assert_eq!(opened.state, IntentState::Failed);
    let reason = opened.error.unwrap_or_default();
    assert!(reason.contains("exchange in distress at start"), "{reason}");
    for id in [doge, xrp] {
        let row = terminal(&ledger, id, Duration::from_secs(120)).await;
        assert_eq!(row.state, IntentState::Done, "close error: {:?}", row.error);
    }
    let positions = sluice_testkit::process::sim_account(&sim).await["positions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(positions.is_empty(), "flat after the storm: {positions:?}");
    // The breaker's evidence: forced open at start with the failed probes counted.
    let (opened_rows,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM breaker_transitions WHERE to_state = 'open' AND throttled > 0",
    )
    .fetch_one(&pool)
    .await
    .expect("transitions");
    assert!(opened_rows >= 1);
    // The background re-check lifts the hold once the probes pass; opens go again.
    d.until_status("ready", Duration::from_secs(120)).await;
    let after = submit(&d, open_btc("after-storm-open")).await;
    let row = terminal(&ledger, after, Duration::from_secs(60)).await;
    assert_eq!(row.state, IntentState::Done, "open after: {:?}", row.error);
    // Never a 429 or a 418.
    let (banned,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM order_attempts WHERE http_status IN (418, 429)")
            .fetch_one(&pool)
            .await
            .expect("attempts");
    assert_eq!(banned, 0);
    drop(d);
    sim.shutdown().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn a_wrong_position_mode_starts_the_daemon_but_refuses_opens_with_the_reason(pool: PgPool) {
    // Arrange: sluice expects one-way, the account is in hedge mode with a LONG leg.
    let db_url = sluice_testkit::process::database_url(&pool).await;
    let ledger = Ledger::from_pool(pool);
    let s = scenario(
        "",
        "position_mode = \"hedge\"\npositions = [ { symbol = \"DOGEUSDT\", side = \"LONG\", quantity = \"5000\", entry_price = \"0.2\" } ]",
    );
    let sim = spawn(s, "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("sim");

    // Act.
    let d = sluice_testkit::process::spawn_daemon(
        "misconfigured",
        &sim,
        &db_url,
        &[SYMBOLS, ALLOCATION],
    )
    .await;
    let ready = d.until_status("degraded", Duration::from_secs(60)).await;
    let open = submit(&d, open_btc("misconfigured-open")).await;

    // Assert: readiness names the check; the open is refused with the configuration reason.
    assert!(
        ready["degraded"].to_string().contains("position_mode"),
        "{ready}"
    );
    let opened = terminal(&ledger, open, Duration::from_secs(30)).await;
    assert_eq!(opened.state, IntentState::Failed);
    let reason = opened.error.unwrap_or_default();
    assert!(
        reason.contains("configuration") && reason.contains("position_mode"),
        "{reason}"
    );
    assert!(
        sluice_testkit::process::sim_account(&sim).await["positions"]
            .as_array()
            .is_some_and(|p| p.iter().all(|x| x["symbol"] != "BTCUSDT"))
    );
    drop(d);
    sim.shutdown().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn with_a_configuration_failure_closes_still_run_and_only_opens_are_refused(pool: PgPool) {
    // Arrange: sluice expects 10x isolated on DOGE; the account has 20x cross.
    let db_url = sluice_testkit::process::database_url(&pool).await;
    let ledger = Ledger::from_pool(pool);
    let s = scenario(
        "",
        "positions = [ { symbol = \"DOGEUSDT\", side = \"LONG\", quantity = \"5000\", entry_price = \"0.2\" } ]",
    );
    let sim = spawn(s, "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("sim");
    let env = [
        SYMBOLS,
        ALLOCATION,
        ("SLUICE__SYMBOLS__DOGEUSDT__LEVERAGE", "10"),
        ("SLUICE__SYMBOLS__DOGEUSDT__MARGIN_TYPE", "isolated"),
    ];

    // Act.
    let d = sluice_testkit::process::spawn_daemon("leverage", &sim, &db_url, &env).await;
    let ready = d.until_status("degraded", Duration::from_secs(60)).await;
    let open = submit(&d, open_btc("leverage-open")).await;
    let doge = submit(&d, close("DOGEUSDT", "leverage-close")).await;

    // Assert: the open is refused naming the check; the close ends done, flat.
    assert!(
        ready["degraded"].to_string().contains("leverage:DOGEUSDT"),
        "{ready}"
    );
    let opened = terminal(&ledger, open, Duration::from_secs(30)).await;
    assert_eq!(opened.state, IntentState::Failed);
    assert!(opened
        .error
        .unwrap_or_default()
        .contains("leverage:DOGEUSDT"));
    let closed = terminal(&ledger, doge, Duration::from_secs(60)).await;
    assert_eq!(closed.state, IntentState::Done, "close: {:?}", closed.error);
    let positions = sluice_testkit::process::sim_account(&sim).await["positions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(positions.is_empty(), "flat: {positions:?}");
    drop(d);
    sim.shutdown().await;
}

/// The storm for the first `until` seconds, DOGE closed in MARKET chunks of 1,000.
fn storm_in_chunks(until: u32) -> sluice_sim::Scenario {
    storm_with(
        until,
        "[[symbols]]\nname = \"DOGEUSDT\"\nmarket_max_qty = \"1000\"\n",
    )
}

#[sqlx::test(migrations = "./migrations")]
async fn sigkilled_while_closes_fail_in_the_storm_it_resumes_resolving_first_and_sends_no_chunk_twice(
    pool: PgPool,
) {
    // Arrange: the storm runs from the first second; a daemon starts in it, a close is
    // submitted, and the venue fails some of its chunks with 503/-1008.
    let db_url = sluice_testkit::process::database_url(&pool).await;
    let ledger = Ledger::from_pool(pool.clone());
    let sim = spawn(storm_in_chunks(30), "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("sim");
    let mut d =
        sluice_testkit::process::spawn_daemon("storm-crash", &sim, &db_url, &[SYMBOLS]).await;
    d.until_status("degraded", Duration::from_secs(60)).await;
    let doge = submit(&d, close("DOGEUSDT", "storm-crash-doge")).await;
    sluice_testkit::process::until(
        "a chunk failing in the storm",
        Duration::from_secs(60),
        || async {
            let orders = ledger.orders_of_intent(doge).await.expect("orders");
            orders
                .iter()
                .any(|o| o.last_error_code.is_some() || o.status == OrderState::Unknown)
        },
    )
    .await;

    // Act: SIGKILL in the middle of it; start again while the storm still runs.
    d.kill();
    let at_kill = ledger.orders_of_intent(doge).await.expect("orders");
    let d =
        sluice_testkit::process::spawn_daemon("storm-crash-again", &sim, &db_url, &[SYMBOLS]).await;

    // Assert: the close ends done after the storm, each chunk executed once, flat.
    let row = terminal(&ledger, doge, Duration::from_secs(180)).await;
    assert_eq!(row.state, IntentState::Done, "close: {:?}", row.error);
    assert!(
        d.logged("executor recovered"),
        "recovery ran before new work"
    );
    let orders = ledger.orders_of_intent(doge).await.expect("orders");
    assert!(
        orders.iter().all(|o| o.status != OrderState::Unknown),
        "every unknown outcome was resolved by client order id: {orders:?}"
    );
    for before in at_kill.iter().filter(|o| !o.status.is_terminal()) {
        let now = orders
            .iter()
            .find(|o| o.client_order_id == before.client_order_id)
            .expect("the order is still in the ledger");
        assert!(now.status.is_terminal(), "resolved: {now:?}");
    }
    let account = sluice_testkit::process::sim_account(&sim).await;
    let executed = sluice_testkit::process::executed_once_per_chunk(
        account["orders"].as_array().expect("orders"),
        doge,
        "storm crash",
    );
    assert_eq!(executed, rust_decimal::Decimal::from(5000));
    assert!(account["positions"]
        .as_array()
        .is_some_and(|p| p.iter().all(|x| x["symbol"] != "DOGEUSDT")));
    let (banned,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM order_attempts WHERE http_status IN (418, 429)")
            .fetch_one(&pool)
            .await
            .expect("attempts");
    assert_eq!(banned, 0, "no 429/418 earned");
    drop(d);
    sim.shutdown().await;
}
