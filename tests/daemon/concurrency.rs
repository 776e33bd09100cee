//! Chunks of one intent out at once, intents in parallel, batchOrders: against the
//! simulator with venue latency, every close still ends flat, never over-closes, never
//! sends a chunk twice (even across a SIGKILL), and one chunk per intent keeps the strict
//! order. Overlap is read from the attempt rows (two requests outstanding at once), never
//! from how long anything took.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use sluice::domain::{Direction, IntentState};
use sluice::ledger::{IntentId, Ledger, OrderRow, PositionStatus};
use sluice::router::ExecutorConfig;
use sluice_testkit::executor::*;
use sqlx::PgPool;

/// SOLUSDT behind a published MARKET cap of 100, every order answered after
/// `latency_ms`; `extra` adds to the symbol, `account` to the account.
fn venue(extra: &str, latency_ms: u32, account: &str) -> sluice_sim::Scenario {
    scenario(
        &format!(
            "[[symbols]]\nname = \"SOLUSDT\"\nmarket_max_qty = \"100\"\nlevel_qty = \"5000\"\n{extra}\n\
             [[faults]]\nfrom = 0\nlatency_ms = {latency_ms}\n"
        ),
        account,
    )
}

/// A SHORT of `quantity` SOL on a venue answering orders after 50 ms.
fn slow_venue(extra: &str, quantity: &str) -> sluice_sim::Scenario {
    venue(
        extra,
        50,
        &format!(
            "positions = [ {{ symbol = \"SOLUSDT\", side = \"SHORT\", quantity = \"{quantity}\", entry_price = \"180\" }} ]"
        ),
    )
}

fn config(per_intent: usize, batch: bool) -> ExecutorConfig {
    let mut cfg = fast_config();
    cfg.max_in_flight_per_intent = per_intent;
    cfg.batch_orders = batch;
    cfg
}

/// One request as its attempt row shows it: client order id, endpoint, sent .. answered.
struct Window {
    coid: String,
    endpoint: String,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
}

/// The attempt rows of every order of `intent`, once each order has one.
async fn windows(ledger: &Ledger, orders: &[OrderRow]) -> Vec<Window> {
    let mut out = Vec::new();
    for o in orders {
        let rows = until_some(
            "the order's attempt row",
            Duration::from_secs(10),
            || async {
                let rows = ledger
                    .attempts_for(&o.client_order_id)
                    .await
                    .expect("attempts");
                (!rows.is_empty()).then_some(rows)
            },
        )
        .await;
        out.extend(rows.into_iter().map(|a| Window {
            coid: o.client_order_id.clone(),
            endpoint: a.endpoint.clone(),
            from: a.sent_at,
            to: a.sent_at + chrono::Duration::milliseconds(a.latency_ms),
        }));
    }
    out
}

/// Two requests for different orders were outstanding at the same moment.
fn some_overlap(w: &[Window]) -> bool {
    w.iter().enumerate().any(|(i, a)| {
        w[i + 1..]
            .iter()
            .any(|b| a.coid != b.coid && a.from < b.to && b.from < a.to)
    })
}

async fn closed_flat(
    d: &Daemon,
    id: IntentId,
    position: &sluice::ledger::PositionRow,
    total: Decimal,
) {
    let intent = d.until_terminal(id, Duration::from_secs(60)).await;
    assert_eq!(intent.state, IntentState::Done, "error: {:?}", intent.error);
    assert!(d.sim_positions().await.is_empty(), "the exchange is flat");
    let row = d.ledger.position(position.id).await.unwrap().unwrap();
    assert_eq!(row.status, PositionStatus::Closed);
    let orders = d.ledger.orders_of_intent(id).await.unwrap();
    let filled: Decimal = orders.iter().map(|o| o.filled_quantity.get()).sum();
    assert_eq!(filled, total, "exactly the position was closed");
    assert!(
        orders.iter().all(|o| o.last_error_code != Some(-2022)),
        "no reduce-only conflict between chunks out together"
    );
    assert!(d.ledger.anomalies().await.unwrap().is_empty());
}

#[sqlx::test(migrations = "./migrations")]
async fn chunks_of_one_close_are_out_at_once_and_it_ends_flat_without_over_closing(pool: PgPool) {
    // Arrange: single placements only, so overlap means parallel requests.
    let d = start(pool, slow_venue("", "1000"), config(8, false)).await;
    let position = d.executor.as_ref().expect("executor").adopted[0].clone();

    // Act
    let id = d.submit(close_all(position.id, "overlap-close")).await;

    // Assert: flat and exact; at least two of its orders were out at the same moment.
    closed_flat(&d, id, &position, dec!(1000)).await;
    let orders = d.ledger.orders_of_intent(id).await.unwrap();
    let w = windows(&d.ledger, &orders).await;
    assert!(
        some_overlap(&w),
        "no two chunks of the close were out at once"
    );
    assert!(w.iter().all(|w| w.endpoint == "/fapi/v1/order"));
    d.stop().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn chunks_ready_together_go_as_one_batch_audited_per_order(pool: PgPool) {
    // Arrange: batching on (the default).
    let d = start(pool, slow_venue("", "1000"), config(8, true)).await;
    let position = d.executor.as_ref().expect("executor").adopted[0].clone();

    // Act
    let id = d.submit(close_all(position.id, "batch-close")).await;

    // Assert: flat; some orders went in a batch, and every order has its own attempt
    // row carrying its own client order id.
    closed_flat(&d, id, &position, dec!(1000)).await;
    let orders = d.ledger.orders_of_intent(id).await.unwrap();
    let w = windows(&d.ledger, &orders).await;
    let batched = w
        .iter()
        .filter(|w| w.endpoint == "/fapi/v1/batchOrders")
        .count();
    assert!(batched >= 2, "{batched} orders went in a batch");
    for o in &orders {
        assert!(
            w.iter().any(|w| w.coid == o.client_order_id),
            "{} has no attempt row",
            o.client_order_id
        );
    }
    d.stop().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn a_hidden_market_cap_with_chunks_out_ends_flat_with_no_over_close(pool: PgPool) {
    // Arrange: the venue refuses MARKET chunks above 40 with -4005 (published 100).
    let s = slow_venue("hidden_market_max_qty = \"40\"", "1000");
    let d = start(pool, s, config(8, true)).await;
    let position = d.executor.as_ref().expect("executor").adopted[0].clone();

    // Act
    let id = d.submit(close_all(position.id, "hidden-cap-close")).await;

    // Assert: flat and exact; the cap was learned; no filled chunk above it.
    closed_flat(&d, id, &position, dec!(1000)).await;
    let orders = d.ledger.orders_of_intent(id).await.unwrap();
    assert!(orders.iter().any(|o| o.last_error_code == Some(-4005)));
    assert!(orders
        .iter()
        .filter(|o| !o.filled_quantity.is_zero())
        .all(|o| o.quantity.get() <= dec!(40)));
    d.stop().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn a_large_close_keeps_chunks_of_the_proven_size_out_while_a_larger_size_is_probed(
    pool: PgPool,
) {
    // Arrange: a hidden MARKET cap of 40 under the published 100, and a close large
    // enough (5,000) that probing upward overlaps chunks of the size already accepted.
    let s = slow_venue("hidden_market_max_qty = \"40\"", "5000");
    let d = start(pool, s, config(8, true)).await;
    let position = d.executor.as_ref().expect("executor").adopted[0].clone();

    // Act
    let id = d.submit(close_all(position.id, "probe-beside-close")).await;

    // Assert: flat and exact, no filled chunk above the hidden cap; a probe refused with
    // -4005 above the size the halving found was out at the same moment as a chunk
    // that filled.
    closed_flat(&d, id, &position, dec!(5000)).await;
    let orders = d.ledger.orders_of_intent(id).await.unwrap();
    let filled: Vec<&OrderRow> = orders
        .iter()
        .filter(|o| !o.filled_quantity.is_zero())
        .collect();
    assert!(filled.iter().all(|o| o.quantity.get() <= dec!(40)));
    let smallest_filled = filled
        .iter()
        .map(|o| o.quantity.get())
        .min()
        .expect("fills");
    let probes: Vec<&OrderRow> = orders
        .iter()
        .filter(|o| o.last_error_code == Some(-4005) && o.quantity.get() > smallest_filled)
        .filter(|o| o.quantity.get() < dec!(50))
        .collect();
    assert!(
        !probes.is_empty(),
        "no probe above {smallest_filled} was refused"
    );
    let w = windows(&d.ledger, &orders).await;
    let beside = probes.iter().any(|p| {
        w.iter().filter(|a| a.coid == p.client_order_id).any(|a| {
            w.iter().any(|b| {
                filled.iter().any(|f| f.client_order_id == b.coid) && a.from < b.to && b.from < a.to
            })
        })
    });
    assert!(
        beside,
        "no refused probe was out beside a chunk that filled"
    );
    d.stop().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn one_chunk_per_intent_keeps_the_strict_order(pool: PgPool) {
    // Arrange
    let d = start(pool, slow_venue("", "500"), config(1, true)).await;
    let position = d.executor.as_ref().expect("executor").adopted[0].clone();

    // Act
    let id = d.submit(close_all(position.id, "strict-close")).await;

    // Assert: each request was answered before the next one left, chunk by chunk.
    closed_flat(&d, id, &position, dec!(500)).await;
    let orders = d.ledger.orders_of_intent(id).await.unwrap();
    let mut w = windows(&d.ledger, &orders).await;
    w.sort_by_key(|w| w.from);
    assert!(
        w.windows(2).all(|p| p[0].to <= p[1].from),
        "two requests overlapped"
    );
    assert!(w.iter().all(|w| w.endpoint == "/fapi/v1/order"));
    let indices: Vec<i32> = orders.iter().map(|o| o.chunk_index).collect();
    assert!(indices.windows(2).all(|p| p[0] <= p[1]), "{indices:?}");
    d.stop().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn sixty_opens_in_parallel_all_end_done_with_exactly_their_quantity(pool: PgPool) {
    // Arrange: no position; opens of 1 SOL each.
    let d = start(pool, venue("", 50, ""), config(8, true)).await;

    // Act
    let mut ids = Vec::new();
    for i in 0..60 {
        let key = format!("open-{i}");
        ids.push(d.submit(open("SOLUSDT", Direction::Long, "1", &key)).await);
    }

    // Assert: every open done, the exchange holds exactly their sum.
    for id in ids {
        let row = d.until_terminal(id, Duration::from_secs(90)).await;
        assert_eq!(row.state, IntentState::Done, "error: {:?}", row.error);
    }
    let amount: Decimal = d
        .sim_positions()
        .await
        .iter()
        .filter(|p| p["symbol"] == "SOLUSDT")
        .map(|p| dec(&p["position_amt"]))
        .sum();
    assert_eq!(amount, dec!(60));
    d.stop().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn opens_beyond_the_held_cap_wait_in_the_ledger_and_a_close_goes_past_them(pool: PgPool) {
    // Arrange: a LONG of 0.5 BTC to close; every order answered after 200 ms; the executor
    // works two opens at once.
    let mut cfg = config(8, true);
    cfg.max_opens_held = 2;
    let long = "positions = [ { symbol = \"BTCUSDT\", side = \"LONG\", quantity = \"0.5\", entry_price = \"60000\" } ]";
    let d = start(pool.clone(), venue("", 200, long), cfg).await;
    let position = d.executor.as_ref().expect("executor").adopted[0].clone();

    // Act: eight opens of 1 SOL, then the close.
    let mut opens = Vec::new();
    for i in 0..8 {
        let key = format!("held-open-{i}");
        opens.push(d.submit(open("SOLUSDT", Direction::Long, "1", &key)).await);
    }
    let close = d.submit(close_all(position.id, "close-past-opens")).await;

    // Assert: everything done, the exchange holds exactly the opens.
    for id in opens.iter().copied().chain([close]) {
        let row = d.until_terminal(id, Duration::from_secs(60)).await;
        assert_eq!(row.state, IntentState::Done, "error: {:?}", row.error);
    }
    let held: Vec<(String, Decimal)> = d
        .sim_positions()
        .await
        .iter()
        .map(|p| {
            (
                p["symbol"].as_str().unwrap().to_string(),
                dec(&p["position_amt"]),
            )
        })
        .collect();
    assert_eq!(held, vec![("SOLUSDT".to_string(), dec!(8))]);
    // From the intents' own events, in commit order: never more than two opens working at
    // once, and the close was taken up before the last open was.
    let events: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT e.intent_id, e.to_state, i.kind FROM intent_events e \
         JOIN intents i ON i.id = e.intent_id ORDER BY e.id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let (mut working, mut most) = (0i32, 0i32);
    for (_, to, _) in events.iter().filter(|(_, _, kind)| kind == "open") {
        match to.as_str() {
            "working" => working += 1,
            "done" | "failed" | "cancelled" => working -= 1,
            _ => {}
        }
        most = most.max(working);
    }
    assert_eq!(most, 2, "opens working at once (events: {events:?})");
    let taken_at = |id: IntentId| {
        events
            .iter()
            .position(|(i, to, _)| *i == id.get() && to == "working")
            .expect("taken up")
    };
    let last_open = opens.iter().map(|id| taken_at(*id)).max().unwrap();
    assert!(
        taken_at(close) < last_open,
        "the close waited behind the opens: {events:?}"
    );
    d.stop().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn a_sigkill_with_several_chunks_out_recovers_by_client_order_id_without_a_duplicate(
    pool: PgPool,
) {
    use sluice_testkit::process::{
        database_url, hand_adapter, open_short_by_hand, spawn_daemon, until,
    };
    // Arrange: a SHORT 2000 (twenty chunks) the daemon adopts; orders answered after 300 ms.
    let db_url = database_url(&pool).await;
    let ledger = Ledger::from_pool(pool);
    let sim = sluice_sim::spawn(venue("", 300, ""), "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("sim");
    let hand = hand_adapter(&sim).await;
    open_short_by_hand(&hand, "SOLUSDT", "2000", "hand-short").await;
    let mut daemon = spawn_daemon("conc-crash", &sim, &db_url, &[]).await;
    let adopted = || async {
        let open = ledger.open_positions().await.expect("positions");
        open.iter()
            .find(|p| p.quantity.get() == dec!(2000))
            .map(|p| p.id)
    };
    until("adoption", Duration::from_secs(60), || async {
        adopted().await.is_some()
    })
    .await;
    let position = adopted().await.expect("adopted");
    let intent = ledger
        .create_intent(&close_all(position, "crash-in-flight"), allocation())
        .await
        .expect("close stored")
        .intent
        .id;

    // Act: SIGKILL while at least three of its orders are recorded and unanswered.
    until(
        "three chunks out at once",
        Duration::from_secs(60),
        || async {
            let orders = ledger.orders_of_intent(intent).await.expect("orders");
            orders.iter().filter(|o| !o.status.is_terminal()).count() >= 3
        },
    )
    .await;
    daemon.kill();
    let mut daemon = spawn_daemon("conc-crash", &sim, &db_url, &[]).await;
    until("the close to finish", Duration::from_secs(90), || async {
        let row = ledger.intent(intent).await.expect("read").expect("intent");
        row.state.is_terminal()
    })
    .await;
    daemon.kill();

    // Assert: done; the exchange flat; no client order id sent twice and no chunk
    // executed twice; the ledger's fills equal the exchange's executions.
    let row = ledger.intent(intent).await.expect("read").expect("intent");
    assert_eq!(row.state, IntentState::Done, "error: {:?}", row.error);
    let state: serde_json::Value = reqwest::get(format!("{}/sim/state", sim.base_url()))
        .await
        .expect("state")
        .json()
        .await
        .expect("json");
    let account = &state["accounts"][0];
    let positions = account["positions"].as_array().cloned().unwrap_or_default();
    assert!(positions.is_empty(), "exchange flat, got {positions:?}");
    let orders = account["orders"].as_array().expect("orders");
    let total = sluice_testkit::process::executed_once_per_chunk(orders, intent, "crash");
    assert_eq!(total, dec!(2000), "exactly the position was closed");
    assert!(ledger.open_positions().await.expect("p").is_empty());
    let filled: Decimal = ledger
        .orders_of_intent(intent)
        .await
        .expect("orders")
        .iter()
        .map(|o| o.filled_quantity.get())
        .sum();
    assert_eq!(filled, total, "ledger fills equal exchange executions");
    sim.shutdown().await;
}
