//! The user-stream consumer: account events into the ledger, then a poke to the executor.
//!
//! - `Fill` → `Ledger::apply_fill_from` (exactly once per trade id: a duplicate is
//!   harmless), recorded as learned from the stream or, between a `Disconnected` and the
//!   next `Resynced`, from the adapter's REST resync;
//! - `Order` → `update_order_status` (a terminal order never goes back to live);
//! - `Positions` → `record_exchange_positions` (the exchange's view, for reconcile); a
//!   complete REST snapshot also zeroes the stored legs it does not list;
//! - `Resynced`/`Disconnected` → logged; the executor's settle timeout resolves any order
//!   whose fills a gap may have swallowed, so nothing is lost.
//!
//! Every event also feeds the [`StreamWatch`], which this task asks, a few times per
//! grace period, whether the stream is silent and should be re-opened.
//!
//! The ledger is driven by fills (trade ids) only; order responses never move quantities.

use std::sync::Arc;

use tokio::sync::{mpsc, Notify};

use super::stream_watch::StreamWatch;
use crate::exchange::{AccountEvent, Exchange};
use crate::ledger::{FillOutcome, FillSource, Ledger, LedgerError, OrderState, OrderUpdate};
use crate::shutdown::Shutdown;

/// Whether the user stream is connected: None once a (re)connect has resynced, else why
/// not (`/readyz` lists it as a degradation; the adapter keeps reconnecting meanwhile).
pub type StreamLink = Option<String>;

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
        match &ev {
            AccountEvent::Resynced => {
                c.link.send_replace(None);
            }
            AccountEvent::Disconnected { reason } => {
                c.link.send_replace(Some(reason.clone()));
            }
            AccountEvent::Algo(a) => {
                super::protect::on_algo_update(&c.ledger, &c.venue, &c.exchange, a).await
            }
            _ => {}
        }
        let source = if c.watch.observe(&ev) {
            FillSource::Stream
        } else {
            FillSource::Rest
        };
        if let Err(e) = handle(&c.ledger, &c.venue, &ev, source).await {
            tracing::error!(error = %e, event = ?ev, "applying an account event failed; the settle timeout will resolve it over REST");
        }
        c.notify.notify_one();
    }
}

async fn handle(
    ledger: &Ledger,
    venue: &str,
    ev: &AccountEvent,
    source: FillSource,
) -> Result<(), LedgerError> {
    match ev {
        AccountEvent::Fill(fill) => {
            let outcome = ledger
                .apply_fill_from(venue, fill, &[], Some(source))
                .await?;
            if !matches!(outcome, FillOutcome::Duplicate) {
                crate::metrics::record_fill(source.as_str());
            }
            tracing::debug!(symbol = %fill.symbol, trade_id = fill.trade_id, source = source.as_str(), outcome = ?outcome, "fill");
        }
        AccountEvent::Order(r) => {
            let update = OrderUpdate {
                status: OrderState::from(r.status),
                exchange_order_id: Some(r.order_id),
                error_code: None,
                error_msg: None,
            };
            match ledger
                .update_order_status(&r.client_order_id, &update)
                .await
            {
                // Not one of sluice's orders (placed by hand or by another tool).
                Err(LedgerError::NotFound { .. }) => {}
                other => {
                    other?;
                    if let Some(reason) = r.expire_reason {
                        super::report::record_expiry(ledger, r, reason).await?;
                    }
                }
            }
        }
        AccountEvent::Positions {
            positions,
            time,
            complete: true,
        } => {
            ledger
                .record_exchange_snapshot(venue, positions, *time)
                .await?;
        }
        AccountEvent::Positions { positions, .. } => {
            ledger.record_exchange_positions(venue, positions).await?;
        }
        AccountEvent::Resynced => tracing::info!("user stream resynced"),
        AccountEvent::Disconnected { reason } => {
            tracing::warn!(%reason, "user stream down; waiting for the adapter to resync")
        }
        AccountEvent::Balances(_) | AccountEvent::ConfigChanged { .. } => {}
        // Handled by `protect::on_algo_update` in `run`, which needs the exchange.
        AccountEvent::Algo(_) => {}
    }
    Ok(())
}
