//! The user-stream consumer: account events into the ledger, then a poke to the executor.
//!
//! It takes every event already queued (up to [`DRAIN`]) and stores them together, then
//! wakes the executor once:
//! - `Fill` → `Ledger::apply_fills`, one transaction for the drain's fills in arrival
//!   order (exactly once per trade id: a duplicate is harmless), recorded as learned from
//!   the stream or, between a `Disconnected` and the next `Resynced`, from the adapter's
//!   REST resync;
//! - `Order` → `record_order_reports`, one statement for the drain (a terminal order
//!   never goes back to live; an update that repeats what a fill wrote writes nothing);
//! - `Positions` → `record_exchange_positions` (the exchange's view, for reconcile); a
//!   complete REST snapshot also zeroes the stored legs it does not list;
//! - `Algo` (ALGO_UPDATE) → `protect::on_algo_update`, after what came before it in the
//!   drain and before what follows (a fired stop's order is known before its fills);
//! - `Resynced`/`Disconnected` → logged; the executor's settle timeout resolves any order
//!   whose fills a gap may have swallowed, so nothing is lost.
//!
//! Every event also feeds the [`StreamWatch`], which this task asks, a few times per
//! grace period, whether the stream is silent and should be re-opened.
//!
//! The ledger is driven by fills (trade ids) only; order responses never move quantities.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, Notify};

use super::stream_watch::StreamWatch;
use crate::domain::Fill;
use crate::exchange::{AccountEvent, Exchange, ExchangePosition};
use crate::ledger::{FillOutcome, FillSource, Ledger, LedgerError, OrderState, ReportedOrder};
use crate::shutdown::Shutdown;

/// Whether the user stream is connected: None once a (re)connect has resynced, else why
/// not (`/readyz` lists it as a degradation; the adapter keeps reconnecting meanwhile).
pub(crate) type StreamLink = Option<String>;

/// What the consumer needs besides its channel.
pub(crate) struct Consumer {
    pub ledger: Ledger,
    pub venue: String,
    pub exchange: Arc<dyn Exchange>,
    pub watch: Arc<StreamWatch>,
    pub notify: Arc<Notify>,
    /// Connected or why not (`/readyz`).
    pub link: tokio::sync::watch::Sender<StreamLink>,
}

/// At most this many queued events are applied together (one transaction for their
/// fills, one statement for their order updates), then the executor is woken once.
const DRAIN: usize = 256;

/// Consume `events` until the stream ends or shutdown is asked.
pub(crate) async fn run(
    c: Consumer,
    mut events: mpsc::Receiver<AccountEvent>,
    mut shutdown: Shutdown,
) {
    let mut checks = tokio::time::interval(c.watch.check_every());
    checks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        let ev = tokio::select! {
            _ = shutdown.recv() => break,
            _ = checks.tick() => {
                if c.watch.check() {
                    c.exchange.reopen_user_stream();
                }
                continue;
            }
            ev = events.recv() => ev,
        };
        let Some(ev) = ev else {
            tracing::error!("user stream closed: fills now arrive only through REST resolution");
            break;
        };
        let mut drained = vec![ev];
        while drained.len() < DRAIN {
            match events.try_recv() {
                Ok(ev) => drained.push(ev),
                Err(_) => break, // empty now, or closed: the next recv says which
            }
        }
        apply(&c, drained).await;
        c.notify.notify_one();
    }
}

/// The drained events, sorted by what stores them, in arrival order within each kind.
#[derive(Default)]
struct Gathered {
    /// Runs of fills learned the same way, in order.
    fills: Vec<(FillSource, Vec<Fill>)>,
    reports: Vec<ReportedOrder>,
    /// ACCOUNT_UPDATE legs (newer event wins, so their order against fills is free).
    positions: Vec<ExchangePosition>,
    snapshots: Vec<(Vec<ExchangePosition>, DateTime<Utc>)>,
}

/// Store a drain of events: its fills in one `apply_fills` per run of one source, then
/// the reported positions (one statement, newer event wins), its order updates in one
/// statement, then complete snapshots. Order updates may follow the fills they arrived
/// with: a fill moves an order's status only forward and an update never moves it back
/// (`record_order_reports`), so each order ends as if every event had been applied on
/// its own, in order. A failure is logged; the executor's settle timeout resolves the
/// orders involved over REST, and reconcile the positions.
///
/// An `ALGO_UPDATE` splits the drain: what came before it is stored first, then the update
/// (`protect::on_algo_update`, which records the order a fired stop produced), so the fills
/// of that order arriving after it find it and are applied as close fills.
async fn apply(c: &Consumer, events: Vec<AccountEvent>) {
    let mut g = Gathered::default();
    for ev in events {
        if let AccountEvent::Algo(a) = &ev {
            c.watch.observe(&ev);
            store(c, std::mem::take(&mut g)).await;
            super::protect::on_algo_update(&c.ledger, &c.venue, &c.exchange, a).await;
            continue;
        }
        gather(c, &mut g, ev);
    }
    store(c, g).await;
}

async fn store(c: &Consumer, g: Gathered) {
    for (source, fills) in &g.fills {
        apply_run(c, fills, *source).await;
    }
    let failed = |what: &str, e: LedgerError| tracing::error!(error = %e, "storing {what} failed");
    if !g.positions.is_empty() {
        if let Err(e) = c
            .ledger
            .record_exchange_positions(&c.venue, &g.positions)
            .await
        {
            failed("exchange positions", e);
        }
    }
    if let Err(e) = c.ledger.record_order_reports(&g.reports).await {
        failed("order updates", e);
    }
    for (positions, time) in &g.snapshots {
        if let Err(e) = c
            .ledger
            .record_exchange_snapshot(&c.venue, positions, *time)
            .await
        {
            failed("a position snapshot", e);
        }
    }
}

fn gather(c: &Consumer, g: &mut Gathered, ev: AccountEvent) {
    match &ev {
        AccountEvent::Resynced => {
            c.link.send_replace(None);
        }
        AccountEvent::Disconnected { reason } => {
            c.link.send_replace(Some(reason.clone()));
        }
        _ => {}
    }
    let source = if c.watch.observe(&ev) {
        FillSource::Stream
    } else {
        FillSource::Rest
    };
    match ev {
        AccountEvent::Fill(fill) => match g.fills.last_mut() {
            Some((s, run)) if *s == source => run.push(fill),
            _ => g.fills.push((source, vec![fill])),
        },
        AccountEvent::Order(r) => {
            super::report::warn_self_trade_prevention(&r);
            g.reports.push(ReportedOrder {
                client_order_id: r.client_order_id,
                status: OrderState::from(r.status),
                exchange_order_id: r.order_id,
                expire_reason: r.expire_reason,
            });
        }
        AccountEvent::Positions {
            positions,
            time,
            complete: true,
        } => g.snapshots.push((positions, time)),
        AccountEvent::Positions { positions, .. } => g.positions.extend(positions),
        AccountEvent::Resynced => tracing::info!("user stream resynced"),
        AccountEvent::Disconnected { reason } => {
            tracing::warn!(%reason, "user stream down; waiting for the adapter to resync")
        }
        AccountEvent::Balances(_) | AccountEvent::ConfigChanged { .. } => {}
        // Never gathered: `apply` hands it to `protect::on_algo_update` in its place.
        AccountEvent::Algo(_) => {}
    }
}

/// Apply one run of fills in one transaction; a fill the ledger refused is logged (the
/// settle timeout resolves its order over REST), the others count.
async fn apply_run(c: &Consumer, fills: &[Fill], source: FillSource) {
    let outcomes = match c
        .ledger
        .apply_fills(&c.venue, fills, &[], Some(source))
        .await
    {
        Ok(o) => o,
        Err(e) => {
            tracing::error!(error = %e, fills = fills.len(), "applying fills failed; the settle timeout will resolve them over REST");
            return;
        }
    };
    for (fill, outcome) in fills.iter().zip(outcomes) {
        match outcome {
            Ok(outcome) => {
                if !matches!(outcome, FillOutcome::Duplicate) {
                    crate::metrics::record_fill(source.as_str());
                }
                tracing::debug!(symbol = %fill.symbol, trade_id = fill.trade_id, source = source.as_str(), outcome = ?outcome, "fill");
            }
            Err(e) => {
                tracing::error!(error = %e, symbol = %fill.symbol, trade_id = fill.trade_id, "applying a fill failed; the settle timeout will resolve it over REST")
            }
        }
    }
}
