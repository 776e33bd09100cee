//! The user-stream consumer: account events into the ledger, then a poke to the executor.
//!
//! - `Fill` → `Ledger::apply_fill` (exactly once per trade id: a duplicate is harmless);
//! - `Order` → `update_order_status` (a terminal order never goes back to live);
//! - `Positions` → `record_exchange_positions` (the exchange's view, for reconcile);
//! - `Resynced`/`Disconnected` → logged; the executor's settle timeout resolves any order
//!   whose fills a gap may have swallowed, so nothing is lost.
//!
//! The ledger is driven by fills (trade ids) only; order responses never move quantities.

use std::sync::Arc;

use tokio::sync::{mpsc, Notify};

use crate::exchange::AccountEvent;
use crate::ledger::{Ledger, LedgerError, OrderState, OrderUpdate};
use crate::shutdown::Shutdown;

/// Whether the user stream is connected: None once a (re)connect has resynced, else why
/// not (`/readyz` lists it as a degradation; the adapter keeps reconnecting meanwhile).
pub type StreamLink = Option<String>;

/// Consume `events` until the stream ends or shutdown is asked.
pub(crate) async fn run(
    ledger: Ledger,
    venue: String,
    mut events: mpsc::Receiver<AccountEvent>,
    notify: Arc<Notify>,
    link: tokio::sync::watch::Sender<StreamLink>,
    mut shutdown: Shutdown,
) {
    loop {
        let ev = tokio::select! {
            _ = shutdown.recv() => break,
            ev = events.recv() => ev,
        };
        let Some(ev) = ev else {
            tracing::error!("user stream closed: fills now arrive only through REST resolution");
            break;
        };
        match &ev {
            AccountEvent::Resynced => {
                link.send_replace(None);
            }
            AccountEvent::Disconnected { reason } => {
                link.send_replace(Some(reason.clone()));
            }
            _ => {}
        }
        if let Err(e) = handle(&ledger, &venue, &ev).await {
            tracing::error!(error = %e, event = ?ev, "applying an account event failed; the settle timeout will resolve it over REST");
        }
        notify.notify_one();
    }
}

async fn handle(ledger: &Ledger, venue: &str, ev: &AccountEvent) -> Result<(), LedgerError> {
    match ev {
        AccountEvent::Fill(fill) => {
            let outcome = ledger.apply_fill(venue, fill, &[]).await?;
            tracing::debug!(symbol = %fill.symbol, trade_id = fill.trade_id, outcome = ?outcome, "fill");
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
                        super::progress::record_expiry(ledger, r, reason).await?;
                    }
                }
            }
        }
        AccountEvent::Positions { positions, .. } => {
            ledger.record_exchange_positions(venue, positions).await?;
        }
        AccountEvent::Resynced => tracing::info!("user stream resynced"),
        AccountEvent::Disconnected { reason } => {
            tracing::warn!(%reason, "user stream down; waiting for the adapter to resync")
        }
        AccountEvent::Balances(_) | AccountEvent::ConfigChanged { .. } => {}
    }
    Ok(())
}
