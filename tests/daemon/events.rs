//! The event stream and intent cancel end to end: a strategy away for a whole seed-000
//! close (in process, and across a SIGKILL of the real binary) resumes with `since` and
//! gets every event once, in order; a close cancelled before it started never sends,
//! one cancelled while working ends `cancelled` with its fills, ledger = exchange.

use std::collections::HashSet;
use std::time::Duration;

use rust_decimal::Decimal;
use serde_json::json;
use sluice::domain::IntentState;
use sluice::ledger::{IntentId, Ledger};
use sluice_testkit::events::{open as open_events, SseEvent};
use sluice_testkit::executor::*;
use sqlx::PgPool;

pub(crate) fn is_intent(e: &SseEvent, id: IntentId, state: &str) -> bool {
    e.kind == "intent" && e.data["intent_id"] == id.get() && e.data["state"] == state
}

/// What a client has seen last: the newest event now.
pub(crate) async fn newest(ledger: &Ledger) -> i64 {
    ledger
        .events_after(i64::MAX, 1)
        .await
        .expect("events")
        .newest
}

/// The stream delivered exactly the outbox after `since`: same seqs, in order, once.
pub(crate) async fn assert_is_the_outbox(ledger: &Ledger, since: i64, got: &[SseEvent]) {
    let stored = ledger.events_after(since, 10_000).await.expect("events");
    let want: Vec<i64> = stored
        .events
        .iter()
        .map(|e| e.seq)
        .take(got.len())
        .collect();
    let seqs: Vec<i64> = got.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, want, "the stream is the outbox, in order");
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "strictly increasing");
    assert!(seqs.first().is_some_and(|s| *s > since));
}

/// Every order and fill of `intent` appears in `events` (fills exactly once), and the
/// intent's own events go accepted → working → `end`.
pub(crate) async fn assert_covers(
    ledger: &Ledger,
    intent: IntentId,
    events: &[SseEvent],
    end: &str,
) {
    let view = ledger
        .intent_view(intent)
        .await
        .expect("view")
        .expect("intent");
    let placed: HashSet<i64> = events
        .iter()
        .filter(|e| e.kind == "order" && e.data["status"] == "planned")
        .filter_map(|e| e.data["order_id"].as_i64())
        .collect();
    for o in &view.orders {
        assert!(placed.contains(&o.id.get()), "order {} placed", o.id.get());
    }
    let fills: Vec<i64> = events
        .iter()
        .filter(|e| e.kind == "fill" && e.data["intent_id"] == intent.get())
        .filter_map(|e| e.data["fill_id"].as_i64())
        .collect();
    let mut want: Vec<i64> = view.fills.iter().map(|f| f.id.get()).collect();
    let mut got = fills.clone();
    want.sort_unstable();
    got.sort_unstable();
    assert_eq!(got, want, "each fill once");
    let states: Vec<&str> = events
        .iter()
        .filter(|e| e.kind == "intent" && e.data["intent_id"] == intent.get())
        .filter_map(|e| e.data["state"].as_str())
        .collect();
    assert_eq!(states, vec!["accepted", "working", end]);
}

#[sqlx::test(migrations = "./migrations")]
async fn a_client_away_for_the_whole_seed_000_close_resumes_and_gets_every_event_once_in_order(
    pool: PgPool,
) {
    let d = start(
        pool,
        sluice::paper::demo_scenario().expect("demo"),
        fast_config(),
    )
    .await;
    let base = serve_api_on(&d.ledger, d.exchange.clone()).await;
    let position = d.executor.as_ref().expect("executor").adopted[0].clone();
    let http = reqwest::Client::new();
    let last_seen = newest(&d.ledger).await;

    // Away for the whole close.
    let id = d.submit(close_all(position.id, "events-seed-000")).await;
    let intent = d.until_terminal(id, Duration::from_secs(60)).await;
    assert_eq!(intent.state, IntentState::Done, "{:?}", intent.error);

    let mut stream = open_events(&http, &base, None, Some(last_seen))
        .await
        .expect("stream");
    let got = stream
        .until("the close's end", Duration::from_secs(20), |got| {
            got.iter().any(|e| is_intent(e, id, "done"))
        })
        .await;

    assert_is_the_outbox(&d.ledger, last_seen, &got).await;
    assert_covers(&d.ledger, id, &got, "done").await;
    // The hidden cap's refusals and the position's end are in the stream.
    assert!(got
        .iter()
        .any(|e| e.kind == "order" && e.data["error_code"] == -4005));
    let last_position = got
        .iter()
        .rfind(|e| e.kind == "position" && e.data["position_id"] == position.id.get())
        .expect("position events");
    assert_eq!(last_position.data["status"], "closed");
    assert_eq!(last_position.data["quantity"], "0");
    d.stop().await;
}

/// SOLUSDT behind a MARKET cap of 100, answering after `latency_ms`, the account SHORT
/// `short` (empty: flat).
/// `POST /v1/intents/{id}/cancel` as the strategy; the answer's status.
async fn cancel_as_strategy(base: &str, id: IntentId) -> u16 {
    reqwest::Client::new()
        .post(format!("{base}/v1/intents/{}/cancel", id.get()))
        .json(&json!({ "actor": "strategy" }))
        .send()
        .await
        .expect("cancel")
        .status()
        .as_u16()
}

fn capped_venue(latency_ms: u32, short: &str) -> sluice_sim::Scenario {
    let account = if short.is_empty() {
        String::new()
    } else {
        format!("positions = [ {{ symbol = \"SOLUSDT\", side = \"SHORT\", quantity = \"{short}\", entry_price = \"180\" }} ]")
    };
    scenario(
        &format!(
            "[[symbols]]\nname = \"SOLUSDT\"\nmarket_max_qty = \"100\"\nlevel_qty = \"5000\"\n\
             [[faults]]\nfrom = 0\nlatency_ms = {latency_ms}\n"
        ),
        &account,
    )
}

#[sqlx::test(migrations = "./migrations")]
async fn across_a_sigkill_and_restart_the_client_resumes_and_gets_every_event_once_in_order(
    pool: PgPool,
) {
    let db_url = sluice_testkit::process::database_url(&pool).await;
    let ledger = Ledger::from_pool(pool);
    // 30 chunks, two at a time, each answered after 150 ms: the kill lands mid-close.
    let sim = sluice_testkit::account::start_sim(capped_venue(150, "")).await;
    let slow: &[(&str, &str)] = &[("SLUICE__EXECUTOR__MAX_IN_FLIGHT_PER_INTENT", "2")];
    let hand = sluice_testkit::process::hand_adapter(&sim).await;
    sluice_testkit::process::open_short_by_hand(&hand, "SOLUSDT", "3000", "hand-1").await;
    let mut daemon = sluice_testkit::process::spawn_daemon("events", &sim, &db_url, slow).await;
    let position =
        sluice_testkit::poll::until_some("adoption", Duration::from_secs(60), || async {
            let open = ledger.open_positions().await.expect("positions");
            open.first().map(|p| p.id)
        })
        .await;
    let http = reqwest::Client::new();
    let first_seen = newest(&ledger).await;
    let mut stream = open_events(&http, &daemon.url(""), None, Some(first_seen))
        .await
        .expect("stream");
    let id = ledger
        .create_intent(&close_all(position, "events-crash"), allocation())
        .await
        .expect("close stored")
        .intent
        .id;

    // Connected until a few chunks filled, then the daemon is SIGKILLed mid-close.
    let before = stream
        .until("some fills", Duration::from_secs(60), |got| {
            got.iter().filter(|e| e.kind == "fill").count() >= 3
        })
        .await;
    daemon.kill();
    let mid = ledger.intent(id).await.expect("read").expect("row");
    assert!(!mid.state.is_terminal(), "killed mid-close, not after it");
    let last_seen = before.last().expect("events").seq;
    let mut daemon = sluice_testkit::process::spawn_daemon("events", &sim, &db_url, slow).await;
    let mut stream =
        sluice_testkit::poll::until_ok("the restarted stream", Duration::from_secs(60), || {
            let (http, url) = (http.clone(), daemon.url(""));
            async move { open_events(&http, &url, None, Some(last_seen)).await }
        })
        .await;
    let after = stream
        .until("the close's end", Duration::from_secs(90), |got| {
            got.iter().any(|e| is_intent(e, id, "done"))
        })
        .await;
    daemon.kill();

    let mut all = before;
    all.extend(after);
    assert_is_the_outbox(&ledger, first_seen, &all).await;
    assert_covers(&ledger, id, &all, "done").await;
    // The restarted daemon's start-up reconcile is in the stream too.
    assert!(
        all.iter()
            .any(|e| e.kind == "reconcile" && e.data["trigger"] == "start"),
        "a reconcile event"
    );
    sim.shutdown().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn a_close_cancelled_before_the_executor_takes_it_up_never_sends_an_order(pool: PgPool) {
    // A stopped executor leaves the close `accepted`; the cancel lands first.
    let d = start(pool.clone(), capped_venue(0, "500"), fast_config()).await;
    let position = d.executor.as_ref().expect("executor").adopted[0].clone();
    let sim = d.stop().await;
    let ledger = Ledger::from_pool(pool.clone());
    let base = serve_api_on(&ledger, sluice_testkit::process::hand_adapter(&sim).await).await;
    let close = ledger
        .create_intent(&close_all(position.id, "cancel-accepted"), allocation())
        .await
        .expect("stored")
        .intent
        .id;
    assert_eq!(cancel_as_strategy(&base, close).await, 200);

    // The executor starts again and works a later intent: the cancelled one stays put.
    let d = start_on(pool, sim, fast_config()).await;
    let probe = d
        .submit(open(
            "SOLUSDT",
            sluice::domain::Direction::Short,
            "1",
            "probe",
        ))
        .await;
    d.until_terminal(probe, Duration::from_secs(30)).await;

    let probed = d.ledger.intent(probe).await.expect("read").expect("row");
    assert_eq!(probed.state, IntentState::Done, "{:?}", probed.error);
    let row = d.ledger.intent(close).await.expect("read").expect("row");
    assert_eq!(row.state, IntentState::Cancelled);
    assert!(d
        .ledger
        .orders_of_intent(close)
        .await
        .expect("orders")
        .is_empty());
    let short = d.sim_positions().await;
    assert_eq!(short.len(), 1, "{short:?}");
    assert_eq!(
        dec(&short[0]["position_amt"]),
        Decimal::from(-501),
        "only the probe traded"
    );
    d.stop().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn a_working_close_cancelled_ends_cancelled_with_its_fills_and_the_position_consistent(
    pool: PgPool,
) {
    // 50 chunks of 100, each answered after 100 ms: the close is working for seconds.
    let d = start(pool, capped_venue(100, "5000"), fast_config()).await;
    let position = d.executor.as_ref().expect("executor").adopted[0].clone();
    let base = serve_api_on(&d.ledger, d.exchange.clone()).await;
    let id = d.submit(close_all(position.id, "cancel-working")).await;
    d.until_filled_some(id).await;

    assert_eq!(cancel_as_strategy(&base, id).await, 202);
    let row = d.until_terminal(id, Duration::from_secs(30)).await;

    assert_eq!(row.state, IntentState::Cancelled, "{:?}", row.error);
    let orders = d.ledger.orders_of_intent(id).await.expect("orders");
    assert!(
        orders.iter().all(|o| o.status.is_terminal()),
        "nothing left out: {orders:?}"
    );
    let filled: Decimal = orders.iter().map(|o| o.filled_quantity.get()).sum();
    assert!(
        filled > Decimal::ZERO && filled < Decimal::from(5000),
        "filled {filled}"
    );
    let left = d
        .ledger
        .position(position.id)
        .await
        .expect("read")
        .expect("row");
    assert_eq!(left.quantity.get(), Decimal::from(5000) - filled);
    let venue = d.sim_positions().await;
    assert_eq!(venue.len(), 1);
    assert_eq!(
        dec(&venue[0]["position_amt"]),
        -(Decimal::from(5000) - filled)
    );
    let timeline = d.ledger.intent_events(id).await.expect("timeline");
    assert_eq!(timeline.last().expect("events").2, "cancelled by strategy");
    d.stop().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn a_cancel_that_arrives_while_the_last_chunk_is_out_ends_done_when_that_chunk_fills_it_all(
    pool: PgPool,
) {
    // One chunk of 100 closes it all, answered after a second: the cancel lands while it
    // is out, and the chunk then fills everything the close asked for.
    let d = start(pool, capped_venue(1000, "100"), fast_config()).await;
    let position = d.executor.as_ref().expect("executor").adopted[0].clone();
    let base = serve_api_on(&d.ledger, d.exchange.clone()).await;
    let id = d.submit(close_all(position.id, "cancel-too-late")).await;
    sluice_testkit::poll::until("the only chunk is out", Duration::from_secs(30), || async {
        !d.ledger
            .orders_of_intent(id)
            .await
            .expect("orders")
            .is_empty()
    })
    .await;

    assert_eq!(
        cancel_as_strategy(&base, id).await,
        202,
        "asked while working"
    );
    let row = d.until_terminal(id, Duration::from_secs(30)).await;

    assert_eq!(row.state, IntentState::Done, "{:?}", row.error);
    let filled: Decimal = d
        .ledger
        .orders_of_intent(id)
        .await
        .expect("orders")
        .iter()
        .map(|o| o.filled_quantity.get())
        .sum();
    assert_eq!(filled, Decimal::from(100));
    assert!(d.sim_positions().await.is_empty(), "flat on the venue");
    d.stop().await;
}
