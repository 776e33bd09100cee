//! An exchange that does not answer at start (connection refused, DNS, TLS, 5xx on the
//! clock or exchangeInfo): the daemon still starts, takes the lead, accepts closes into
//! the ledger, and connects the adapter in the background with backoff and jitter; the
//! executor starts as soon as it connects (docs/incidents.md (seed 003): never locked out).
//!
//! Invariants: nothing is sent before the adapter is connected (there is nothing to send
//! with); `/readyz` says "not_ready" with the last connect error meanwhile; the connected
//! adapter is kept for the life of the process (a later lost leader lock re-uses it).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::OnceCell;

use super::retry::RetryDelay;
use crate::api::{MarkPrices, Readiness};
use crate::domain::{Price, Symbol};
use crate::exchange::binance::{AuditBuffer, BinanceFutures};
use crate::exchange::Exchange;
use crate::settings::Settings;
use crate::shutdown::Shutdown;

/// The adapter, connected now or later.
#[derive(Clone)]
pub(crate) struct LateExchange {
    cell: Arc<OnceCell<Arc<dyn Exchange>>>,
    settings: Arc<Settings>,
    audit: AuditBuffer,
}

impl LateExchange {
    pub(crate) fn new(settings: Settings, audit: AuditBuffer) -> Self {
        LateExchange {
            cell: Arc::new(OnceCell::new()),
            settings: Arc::new(settings),
            audit,
        }
    }

    /// The connected adapter, if it is.
    pub(crate) fn get(&self) -> Option<Arc<dyn Exchange>> {
        self.cell.get().cloned()
    }

    /// Connect (retrying with backoff and jitter) unless already connected. None when
    /// `shutdown` came first.
    pub(crate) async fn connect(
        &self,
        readiness: &Readiness,
        shutdown: &mut Shutdown,
    ) -> Option<Arc<dyn Exchange>> {
        if let Some(e) = self.get() {
            return Some(e);
        }
        let mut delay = RetryDelay::new(Duration::from_millis(500), Duration::from_secs(10), 0xe8);
        for attempt in 1u64.. {
            let cfg = match self.settings.exchange.binance_config() {
                Ok(c) => c,
                Err(e) => {
                    // Settings were checked at start; this cannot change by waiting.
                    readiness.set_not_ready(&format!("exchange settings: {e:#}"));
                    shutdown.recv().await;
                    return None;
                }
            };
            match BinanceFutures::connect(cfg, self.audit.clone()).await {
                Ok(adapter) => {
                    let adapter: Arc<dyn Exchange> = adapter;
                    tracing::info!(attempt, "exchange reachable: adapter connected");
                    return Some(self.cell.get_or_init(|| async { adapter }).await.clone());
                }
                Err(e) => {
                    let wait = delay.next();
                    let reason = format!(
                        "exchange unreachable: {e}; retrying in {} ms (intents are kept and worked once it answers)",
                        wait.as_millis()
                    );
                    tracing::warn!(attempt, error = %e, retry_in_ms = wait.as_millis() as u64,
                        "exchange unreachable at start; retrying (no restart needed)");
                    readiness.set_not_ready(&reason);
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = shutdown.recv() => return None,
                    }
                }
            }
        }
        None
    }
}

/// Mark prices from the adapter once it is connected; until then, why there are none.
pub(crate) struct LateMarkPrices(pub LateExchange);

#[async_trait]
impl MarkPrices for LateMarkPrices {
    async fn mark_price(
        &self,
        symbol: &Symbol,
        purpose: crate::exchange::Purpose,
    ) -> Result<Price, String> {
        let Some(exchange) = self.0.get() else {
            return Err("the exchange is not reachable yet: no mark price".into());
        };
        // As `ExchangeMarkPrices`: booked as the caller's purpose.
        exchange
            .mark_price(symbol, purpose)
            .await
            .map(|m| m.mark_price)
            .map_err(|e| e.to_string())
    }
}
