//! The answer is the truth about what happened on the exchange: an intent that filled
//! anything never ends `failed` (it ends `done`, with the shortfall stated when the venue
//! left part undone), and a size the exchange cannot carry out is refused or fails with
//! the reason, never `done` with nothing sent. End to end against the simulator through
//! the real adapter and executor; the API checks against the same simulator.

use std::time::Duration;

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::{json, Value};
use sluice::domain::{Direction, IntentSpec, IntentState, OpenSize, Qty, Usdt};
use sluice::ledger::{IntentRow, NewIntent, PositionId};
use sluice_testkit::executor::*;
use sqlx::PgPool;

fn open_notional(symbol: &str, notional: Decimal, key: &str) -> NewIntent {
    NewIntent {
        spec: IntentSpec::Open {
            symbol: sym(symbol),
            direction: Direction::Long,
            size: OpenSize::Notional(Usdt::new(notional)),
        },
        reference_price: None,
        ..open(symbol, Direction::Long, "1", key)
    }
}

fn reduce(position: PositionId, q: &str, key: &str) -> NewIntent {
    NewIntent {
        spec: IntentSpec::Reduce {
            position,
            quantity: Qty::parse("quantity", q).expect("qty"),
        },
        ..close_all(position, key)
    }
}

/// SOLUSDT as in the report: minQty 1, step 0.01, a SHORT of 10 to adopt.
fn sol_min_1_step_001() -> sluice_sim::Scenario {
    scenario(
        "[[symbols]]\nname = \"SOLUSDT\"\nstep_size = \"0.01\"\nmin_qty = \"1\"\nmarket_min_qty = \"1\"\nquantity_precision = 2\n",
        "positions = [ { symbol = \"SOLUSDT\", side = \"SHORT\", quantity = \"10\", entry_price = \"180\" } ]",
    )
}

async fn filled(d: &Daemon, row: &IntentRow) -> Decimal {
    let orders = d.ledger.orders_of_intent(row.id).await.expect("orders");
    orders.iter().map(|o| o.filled_quantity.get()).sum()
}

async fn sim_amount(d: &Daemon, symbol: &str) -> Decimal {
    d.sim_positions()
        .await
        .iter()
        .filter(|p| p["symbol"] == symbol)
        .map(|p| dec(&p["position_amt"]))
        .sum()
}

#[sqlx::test(migrations = "./migrations")]
async fn an_open_by_notional_whose_dust_is_below_min_qty_ends_done_not_failed(pool: PgPool) {
    // Arrange: BTCUSDT at 65,000 (minQty 0.001, step 0.001, MIN_NOTIONAL 100).
    let d = start(pool, scenario("", ""), fast_config()).await;

    // Act: 150 USDT is 0.0023077 BTC; 0.002 can be sent, the 0.000307 rest never can.
    let id = d
        .submit(open_notional("BTCUSDT", dec!(150), "notional-150"))
        .await;
    let row = d.until_terminal(id, Duration::from_secs(30)).await;

    // Assert: done (the notional floored to the step), 0.002 bought, nothing short.
    assert_eq!(row.state, IntentState::Done, "error: {:?}", row.error);
    assert_eq!(row.outcome(), Some("done"));
    assert_eq!(filled(&d, &row).await, dec!(0.002));
    assert_eq!(sim_amount(&d, "BTCUSDT").await, dec!(0.002));
    d.stop().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn an_open_the_venue_fills_partly_ends_done_with_the_shortfall_stated(pool: PgPool) {
    // Arrange: one ask level of 0.002 BTC; 0.003 is asked for.
    let s = scenario(
        "[[symbols]]\nname = \"BTCUSDT\"\nbook_levels = 1\nlevel_qty = \"0.002\"\n",
        "",
    );
    let d = start(pool, s, fast_config()).await;

    // Act: 0.002 fills, the 0.001 rest (65 USDT) is below MIN_NOTIONAL 100 and unsendable.
    let id = d
        .submit(open("BTCUSDT", Direction::Long, "0.003", "thin-open"))
        .await;
    let row = d.until_terminal(id, Duration::from_secs(30)).await;

    // Assert: done_partial, the shortfall and its reason stated; the exchange holds 0.002.
    assert_eq!(row.state, IntentState::Done, "error: {:?}", row.error);
    assert_eq!(row.outcome(), Some("done_partial"));
    assert_eq!(row.shortfall.map(|q| q.get()), Some(dec!(0.001)));
    assert!(
        row.error.as_deref().unwrap_or("").contains("MIN_NOTIONAL"),
        "{:?}",
        row.error
    );
    assert_eq!(filled(&d, &row).await, dec!(0.002));
    assert_eq!(sim_amount(&d, "BTCUSDT").await, dec!(0.002));
    let report = sluice::ops::doctor::run(
        &d.ledger,
        sluice::ops::doctor::DoctorOptions {
            confirm: false,
            allocation: dec!(1000000),
        },
    )
    .await
    .expect("doctor");
    assert!(
        !report
            .findings
            .iter()
            .any(|f| f.class == sluice::ops::doctor::FindingClass::IntentStateMismatch),
        "{report}"
    );
    d.stop().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn a_reduce_below_min_qty_fails_with_the_reason_instead_of_done_with_nothing_sent(
    pool: PgPool,
) {
    // Arrange: the adopted SHORT of 10 SOL (minQty 1).
    let d = start(pool, sol_min_1_step_001(), fast_config()).await;
    let position = d.executor.as_ref().expect("executor").adopted[0].clone();

    // Act: a reduce of 0.005 stored directly in the ledger (past any API check).
    let id = d.submit(reduce(position.id, "0.005", "tiny-reduce")).await;
    let row = d.until_terminal(id, Duration::from_secs(30)).await;

    // Assert: failed, naming minQty; nothing was sent; the SHORT is untouched.
    assert_eq!(row.state, IntentState::Failed);
    assert!(
        row.error.as_deref().unwrap_or("").contains("minQty 1"),
        "{:?}",
        row.error
    );
    assert!(d.ledger.orders_of_intent(id).await.unwrap().is_empty());
    assert_eq!(sim_amount(&d, "SOLUSDT").await, dec!(-10));
    d.stop().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn a_reduce_off_the_step_sends_what_it_can_and_states_the_shortfall(pool: PgPool) {
    // Arrange: the adopted SHORT of 10 SOL (step 0.01).
    let d = start(pool, sol_min_1_step_001(), fast_config()).await;
    let position = d.executor.as_ref().expect("executor").adopted[0].clone();

    // Act: 1.005 is 1.00 on the step plus 0.005 nobody can send.
    let id = d.submit(reduce(position.id, "1.005", "off-step")).await;
    let row = d.until_terminal(id, Duration::from_secs(30)).await;

    // Assert: done_partial with 0.005 short; 1.00 bought back on the exchange.
    assert_eq!(row.state, IntentState::Done, "error: {:?}", row.error);
    assert_eq!(row.outcome(), Some("done_partial"));
    assert_eq!(row.shortfall.map(|q| q.get()), Some(dec!(0.005)));
    assert_eq!(filled(&d, &row).await, dec!(1));
    assert_eq!(sim_amount(&d, "SOLUSDT").await, dec!(-9));
    d.stop().await;
}

async fn post(base: &str, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{base}/v1/intents"))
        .json(&body)
        .send()
        .await
        .expect("POST");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[sqlx::test(migrations = "./migrations")]
async fn the_api_refuses_a_close_or_reduce_below_min_qty_or_off_the_step_naming_quantity(
    pool: PgPool,
) {
    // Arrange: the API valuing sizes against the simulator, the SHORT of 10 SOL adopted.
    let d = start(pool, sol_min_1_step_001(), fast_config()).await;
    let position = d.executor.as_ref().expect("executor").adopted[0].clone();
    let base = serve_api_on(&d.ledger, d.exchange.clone()).await;
    let body = |q: &str, key: &str| {
        json!({"kind": "reduce", "position_id": position.id.get(), "quantity": q,
               "idempotency_key": key})
    };

    // Act.
    let (below, below_body) = post(&base, body("0.005", "r1")).await;
    let (off, off_body) = post(&base, body("1.005", "r2")).await;
    let (fine, _) = post(&base, body("1.01", "r3")).await;

    // Assert: 422 naming quantity with the filter's numbers; nothing stored for them.
    assert_eq!((below, off), (422, 422), "{below_body} {off_body}");
    assert_eq!(below_body["error"]["field"], "quantity");
    assert!(below_body["error"]["reason"]
        .as_str()
        .unwrap_or("")
        .contains("minQty 1"));
    assert_eq!(off_body["error"]["field"], "quantity");
    assert!(off_body["error"]["reason"]
        .as_str()
        .unwrap_or("")
        .contains("stepSize 0.01"));
    assert_eq!(fine, 202);
    let stored = d.ledger.recent_intents(10).await.unwrap();
    assert_eq!(stored.len(), 1, "only the sendable reduce is stored");
    d.stop().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn the_api_refuses_an_open_too_small_for_one_order_naming_its_size_field(pool: PgPool) {
    // Arrange: BTCUSDT at 65,000 needs at least 0.002 (MIN_NOTIONAL 100).
    let d = start(pool, scenario("", ""), fast_config()).await;
    let base = serve_api_on(&d.ledger, d.exchange.clone()).await;
    let open = |size: (&str, &str), key: &str| {
        let mut b = json!({"kind": "open", "symbol": "BTCUSDT", "side": "long",
                           "idempotency_key": key});
        b[size.0] = json!(size.1);
        b
    };

    // Act.
    let (by_notional, nb) = post(&base, open(("notional_usdt", "90"), "o1")).await;
    let (by_qty, qb) = post(&base, open(("quantity", "0.001"), "o2")).await;
    let (off_step, sb) = post(&base, open(("quantity", "0.0025"), "o3")).await;

    // Assert.
    assert_eq!(
        (by_notional, by_qty, off_step),
        (422, 422, 422),
        "{nb} {qb} {sb}"
    );
    assert_eq!(nb["error"]["field"], "notional_usdt");
    assert_eq!(qb["error"]["field"], "quantity");
    assert!(qb["error"]["reason"]
        .as_str()
        .unwrap_or("")
        .contains("MIN_NOTIONAL"));
    assert_eq!(sb["error"]["field"], "quantity");
    assert!(d.ledger.recent_intents(10).await.unwrap().is_empty());
    d.stop().await;
}
