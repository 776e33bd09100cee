//! The order of one sweep (module doc): a fired stop's re-read goes first and is never
//! held behind a routine re-read; routine re-reads are sent only while a background read
//! fits the IP's weight, and are otherwise deferred to the next sweep.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use rust_decimal::Decimal;
use sqlx::PgPool;

use super::{Protector, Routine, Work};
use crate::domain::{Direction, PositionSide, Price, ProtectionKind, Qty, Side, Symbol};
use crate::exchange::binance::ratelimit::{Budget, IpShare};
use crate::exchange::binance::reserve_loopback_tests::{config, requests, sharing};
use crate::exchange::binance::{AuditBuffer, BinanceFutures};
use crate::exchange::{AlgoOrderRequest, AlgoStatus, Exchange, Purpose, WorkingType};
use crate::ledger::{AdoptPosition, Ledger, NewProtective};

const VENUE: &str = "binance-usdm";

#[test]
fn fired_stops_come_first_then_placements_and_cancels_and_routine_reads_last() {
    let new = Some(AlgoStatus::New);
    let fired = Some(AlgoStatus::Triggered);
    // (state, flat, full, cancelled) in ledger order: routine reads first.
    let rows = [
        (new, false, true, false),    // full check: routine
        (None, true, false, false),   // planned, position flat: routine
        (new, true, false, true),     // cancelled, re-read deferred: routine
        (new, true, false, false),    // flat: cancel
        (None, false, false, false),  // planned: place
        (fired, false, false, false), // fired, position open
        (new, false, false, false),   // nothing between full checks
    ];
    let work: Vec<(Work, usize)> = rows
        .iter()
        .enumerate()
        .filter_map(|(i, &(s, flat, full, c))| Work::of(s, flat, full, c).map(|w| (w, i)))
        .collect();
    let ordered: Vec<(Work, usize)> = Work::ordered(work);
    assert_eq!(
        ordered,
        [
            (Work::ReadFired, 5),
            (Work::Cancel, 3),
            (Work::Place, 4),
            (Work::Reread, 0),
            (Work::DropPlanned, 1),
            (Work::Reread, 2),
        ]
    );
    assert!(ordered[3..].iter().all(|(w, _)| w.is_routine()));
    assert!(ordered[..3].iter().all(|(w, _)| !w.is_routine()));
}

/// The simulator, with a SHORT on SOLUSDT and one on BTCUSDT.
async fn sim() -> sluice_sim::SimHandle {
    let text = format!(
        "[[accounts]]\napi_key = \"{}\"\napi_secret = \"{}\"\nusdt = \"1000000\"\n\
         positions = [ {{ symbol = \"SOLUSDT\", side = \"SHORT\", quantity = \"500\", entry_price = \"180\" }}, \
         {{ symbol = \"BTCUSDT\", side = \"SHORT\", quantity = \"1\", entry_price = \"60000\" }} ]\n",
        sluice_sim::DEMO_API_KEY,
        sluice_sim::DEMO_API_SECRET,
    );
    let scenario = sluice_sim::Scenario::from_toml_str(&text).expect("scenario");
    sluice_sim::spawn(scenario, "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("simulator")
}

/// A SHORT of `quantity` on `symbol` in the ledger with a stop placed at the venue
/// (far above the mark, so it stays NEW there) and recorded NEW.
async fn protected_short(
    ledger: &Ledger,
    ex: &BinanceFutures,
    symbol: &str,
    quantity: i64,
    id: &str,
) -> crate::exchange::AlgoOrderReport {
    let symbol = Symbol::new(symbol).expect("symbol");
    let mark = ex
        .mark_price(&symbol, Purpose::Routine)
        .await
        .expect("mark")
        .mark_price
        .get();
    let position = ledger
        .adopt_position(&AdoptPosition {
            venue: VENUE.into(),
            symbol: symbol.clone(),
            direction: Direction::Short,
            position_side: PositionSide::Both,
            quantity: Qty::new("quantity", Decimal::from(quantity)).expect("qty"),
            entry_price: Price::new("price", mark).expect("price"),
            actor: "test".into(),
            reason: "test".into(),
        })
        .await
        .expect("adopted");
    let trigger = (mark * Decimal::TWO).round_dp(1);
    ledger
        .plan_protective(&NewProtective {
            position_id: position.id,
            intent_id: None,
            venue: VENUE.into(),
            symbol: symbol.clone(),
            position_side: PositionSide::Both,
            side: Side::Buy,
            kind: ProtectionKind::StopLoss,
            generation: 1,
            trigger_price: trigger,
            working_type: WorkingType::Mark,
            client_algo_id: id.into(),
        })
        .await
        .expect("planned");
    let placed = ex
        .place_algo_order(&AlgoOrderRequest {
            symbol,
            side: Side::Buy,
            position_side: PositionSide::Both,
            kind: ProtectionKind::StopLoss,
            trigger_price: Price::new("trigger", trigger).expect("price"),
            working_type: WorkingType::Mark,
            quantity: None,
            client_algo_id: id.into(),
        })
        .await
        .expect("placed");
    ledger
        .record_protective_report(&placed)
        .await
        .expect("recorded");
    placed
}

fn protector(ledger: &Ledger, exchange: Arc<dyn Exchange>) -> Protector {
    Protector {
        ledger: ledger.clone(),
        exchange,
        venue: VENUE.into(),
        ticks: HashMap::new(),
        watchdog: Duration::from_secs(3600),
        cancelled: Default::default(),
        unread: Default::default(),
    }
}

async fn state_of(ledger: &Ledger, id: &str) -> Option<AlgoStatus> {
    ledger
        .live_protective_orders()
        .await
        .expect("rows")
        .into_iter()
        .find(|r| r.client_algo_id == id)
        .expect("live")
        .state
}

#[sqlx::test(migrations = "./migrations")]
async fn a_fired_stops_reread_goes_while_the_routine_rereads_before_it_are_deferred(pool: PgPool) {
    // Arrange: two protected SHORTs; the ledger's first row is a plain NEW stop (a full
    // check re-reads it, routine), the second a stop the ledger holds TRIGGERED while its
    // position is open (as an ALGO_UPDATE would leave it; the venue still lists it NEW).
    let ledger = Ledger::from_pool(pool);
    let sim = sim().await;
    let cfg = config(&sim);
    let normal = BinanceFutures::connect(cfg.clone(), AuditBuffer::new(1000))
        .await
        .expect("connects");
    protected_short(&ledger, &normal, "BTCUSDT", 1, "slp-routine").await;
    let mut fired = protected_short(&ledger, &normal, "SOLUSDT", 500, "slp-fired").await;
    fired.status = AlgoStatus::Triggered;
    ledger
        .record_protective_report(&fired)
        .await
        .expect("recorded");
    assert_eq!(
        state_of(&ledger, "slp-fired").await,
        Some(AlgoStatus::Triggered)
    );
    // An adapter whose IP has no room for a background read at all (a one-unit minute:
    // half of it rounds to none) while a risk-reducing read still fits.
    let busy = sharing(
        &cfg,
        &normal,
        IpShare::keeping(
            Budget {
                weight_1m: 1,
                ..Budget::default()
            },
            Decimal::ZERO,
        ),
    );
    assert!(!busy.background_read_fits(1));
    let p = protector(&ledger, Arc::new(busy));
    let before = requests(&sim).await;

    // Act: a full sweep.
    let swept = p.sweep(true, Routine::WhileRoomLeft).await.expect("sweep");

    // Assert: the fired stop was re-read (the venue's NEW is recorded) and it was the one
    // request sent; the routine re-read was deferred, not sent, and the sweep says so.
    assert_eq!(state_of(&ledger, "slp-fired").await, Some(AlgoStatus::New));
    assert_eq!(
        requests(&sim).await,
        before + 1,
        "only the fired stop's read"
    );
    assert!(!swept.full_done, "the full check stays due");

    // ... and with room for background reads, the next sweep does the routine re-reads.
    let p = protector(&ledger, normal.clone());
    let before = requests(&sim).await;
    let swept = p.sweep(true, Routine::WhileRoomLeft).await.expect("sweep");
    assert!(swept.full_done);
    assert_eq!(requests(&sim).await, before + 2, "both rows re-read");
    sim.shutdown().await;
}

/// An adapter on `cfg` whose IP has no room for a background read at all (a one-unit
/// minute: half of it rounds to none) while a routine read still fits.
fn no_background_room(
    cfg: &crate::exchange::binance::BinanceConfig,
    normal: &BinanceFutures,
) -> BinanceFutures {
    sharing(
        cfg,
        normal,
        IpShare::keeping(
            Budget {
                weight_1m: 1,
                ..Budget::default()
            },
            Decimal::ZERO,
        ),
    )
}

/// An adapter on `cfg` whose fresh IP share has room for exactly one background read of
/// weight 1 (a two-unit minute: half of it is one; once a read is answered the venue's
/// count fills it).
fn room_for_one_background_read(
    cfg: &crate::exchange::binance::BinanceConfig,
    normal: &BinanceFutures,
) -> BinanceFutures {
    sharing(
        cfg,
        normal,
        IpShare::keeping(
            Budget {
                weight_1m: 2,
                ..Budget::default()
            },
            Decimal::ZERO,
        ),
    )
}

fn is_live(rows: &[crate::ledger::protective::ProtectiveRow], id: &str) -> bool {
    rows.iter().any(|r| r.client_algo_id == id)
}

#[sqlx::test(migrations = "./migrations")]
async fn the_sweep_at_start_rereads_what_a_running_sweep_defers_for_want_of_room(pool: PgPool) {
    // Arrange: a protected SHORT whose stop the venue no longer holds open (it ended while
    // sluice was down) while the ledger still holds it NEW; only the start-up sweep's full
    // check re-reads such a row. The IP has no room for a background read.
    let ledger = Ledger::from_pool(pool);
    let sim = sim().await;
    let cfg = config(&sim);
    let normal = BinanceFutures::connect(cfg.clone(), AuditBuffer::new(1000))
        .await
        .expect("connects");
    protected_short(&ledger, &normal, "BTCUSDT", 1, "slp-down").await;
    assert!(normal
        .cancel_algo_order("slp-down")
        .await
        .expect("cancelled at the venue"));
    let busy = Arc::new(no_background_room(&cfg, &normal));
    assert!(!busy.background_read_fits(1));
    let p = protector(&ledger, busy);

    // Act + Assert: a running sweep's full check defers the re-read (nothing is sent) ...
    let before = requests(&sim).await;
    let swept = p.sweep(true, Routine::WhileRoomLeft).await.expect("sweep");
    assert!(!swept.full_done, "the full check stays due");
    assert_eq!(requests(&sim).await, before, "the re-read was deferred");
    assert_eq!(state_of(&ledger, "slp-down").await, Some(AlgoStatus::New));

    // ... while the sweep at start re-reads it all the same: the venue's end is recorded
    // before the executor trades.
    p.sweep_at_start().await;
    let live = ledger.live_protective_orders().await.expect("rows");
    assert!(
        !is_live(&live, "slp-down"),
        "the start-up sweep re-read the row"
    );
    assert_eq!(requests(&sim).await, before + 1, "one read, at start");
    assert!(
        p.unread_lock().is_empty(),
        "the start-up full check is done"
    );
    sim.shutdown().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn a_full_check_with_room_for_one_read_per_sweep_resumes_where_it_stopped(pool: PgPool) {
    // Arrange: two protected SHORTs with stops NEW in the ledger; the venue holds the
    // first NEW too, but the second's ended (so its re-read is seen: the row leaves the
    // live set). Each sweep gets a fresh IP share with room for one background read.
    let ledger = Ledger::from_pool(pool);
    let sim = sim().await;
    let cfg = config(&sim);
    let normal = BinanceFutures::connect(cfg.clone(), AuditBuffer::new(1000))
        .await
        .expect("connects");
    protected_short(&ledger, &normal, "BTCUSDT", 1, "slp-head").await;
    protected_short(&ledger, &normal, "SOLUSDT", 500, "slp-tail").await;
    assert!(normal
        .cancel_algo_order("slp-tail")
        .await
        .expect("cancelled at the venue"));
    let mut p = protector(
        &ledger,
        Arc::new(room_for_one_background_read(&cfg, &normal)),
    );

    // Act: the first sweep of a full check.
    let before = requests(&sim).await;
    let swept = p.sweep(true, Routine::WhileRoomLeft).await.expect("sweep");

    // Assert: it read the ledger's first row only; the check is not done.
    assert_eq!(requests(&sim).await, before + 1, "one read");
    assert!(!swept.full_done);
    let live = ledger.live_protective_orders().await.expect("rows");
    assert!(is_live(&live, "slp-head") && is_live(&live, "slp-tail"));

    // Act: the next sweep (the check still due), again with room for one read.
    p.exchange = Arc::new(room_for_one_background_read(&cfg, &normal));
    let before = requests(&sim).await;
    let swept = p.sweep(true, Routine::WhileRoomLeft).await.expect("sweep");

    // Assert: it read the row the first did not (not the head again), and with both rows
    // read, the full check is done after two sweeps for two rows.
    assert_eq!(requests(&sim).await, before + 1, "one read");
    let live = ledger.live_protective_orders().await.expect("rows");
    assert!(!is_live(&live, "slp-tail"), "the tail row was re-read");
    assert!(is_live(&live, "slp-head"));
    assert!(swept.full_done, "every row of the check was read");

    // ... and the next due check starts again from every live row.
    p.exchange = Arc::new(room_for_one_background_read(&cfg, &normal));
    let swept = p.sweep(true, Routine::WhileRoomLeft).await.expect("sweep");
    assert!(swept.full_done, "one live row, read");
    sim.shutdown().await;
}
