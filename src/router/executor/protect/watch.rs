//! The watchdog (a fired stop that left its position open makes sluice close it) and
//! the comparison of the venue's open algo orders with the ledger's live rows.

use rust_decimal::Decimal;

use super::{Protector, PROTECTIVE_ONE_SIDED, PROTECTIVE_WATCHDOG_TOTAL};
use crate::exchange::AlgoStatus;
use crate::reconcile::protective::{one_sided, LedgerProtective};

/// IP weight of `GET /fapi/v1/openAlgoOrders` without a symbol (docs/binance-fapi.md §2.4).
const UNSCOPED_OPEN_ALGO_ORDERS_WEIGHT: u32 = 40;

impl Protector {
    /// Report protective orders held on one side only: the venue's open algo orders
    /// against the ledger's live rows (ERROR log per order, `sluice_protective_one_sided`),
    /// by the same pure comparison `sluice reconcile` reports.
    ///
    /// The venue read is unscoped (IP weight 40) and nothing waits on it to reduce risk:
    /// it is a background read, skipped (`Ok(false)`, the caller asks again at its next
    /// sweep) while the IP's weight has no room for one (`Exchange::background_read_fits`).
    pub(super) async fn compare(&self) -> anyhow::Result<bool> {
        if !self
            .exchange
            .background_read_fits(UNSCOPED_OPEN_ALGO_ORDERS_WEIGHT)
        {
            return Ok(false);
        }
        let venue = self.exchange.open_algo_orders().await?;
        let ledger: Vec<LedgerProtective> = self
            .ledger
            .live_protective_orders()
            .await?
            .iter()
            .filter(|r| r.venue == self.venue)
            .map(LedgerProtective::from)
            .collect();
        let sides = one_sided(&ledger, &venue);
        for a in &sides.exchange_only {
            tracing::error!(symbol = %a.symbol, client_algo_id = %a.client_algo_id, algo_id = a.algo_id, "an algo order at the venue that the ledger does not hold live (placed by hand, or lost): it may close a position sluice manages");
        }
        for r in &sides.ledger_only {
            tracing::error!(position_id = r.position_id.0, client_algo_id = %r.client_algo_id, "a protective order the ledger holds live that the venue does not list");
        }
        metrics::gauge!(PROTECTIVE_ONE_SIDED, "side" => "exchange_only")
            .set(sides.exchange_only.len() as f64);
        metrics::gauge!(PROTECTIVE_ONE_SIDED, "side" => "ledger_only")
            .set(sides.ledger_only.len() as f64);
        Ok(true)
    }

    /// Close positions whose stop fired and did not close them (see the module doc).
    pub(super) async fn watchdog(&self) -> anyhow::Result<()> {
        let limit = chrono::Duration::from_std(self.watchdog)?;
        let overdue = self
            .ledger
            .overdue_protective_orders(chrono::Utc::now() - limit)
            .await?;
        for row in overdue.iter().filter(|r| r.venue == self.venue) {
            let state = row.state.map_or("planned", AlgoStatus::as_str);
            let mode = if row.position_side == crate::domain::PositionSide::Both {
                crate::domain::PositionMode::OneWay
            } else {
                crate::domain::PositionMode::Hedge
            };
            let reason = format!(
                "watchdog: protective {} {} is {state} and position #{} is still open: sluice closes it",
                row.kind.as_str(),
                row.client_algo_id,
                row.position_id.0
            );
            let new = crate::ledger::NewIntent {
                spec: crate::domain::IntentSpec::Close {
                    position: row.position_id,
                    quantity: None,
                },
                venue: self.venue.clone(),
                position_mode: mode,
                reference_price: None,
                idempotency_key: format!("watchdog:{}", row.client_algo_id),
                reason: reason.clone(),
            };
            let created = self
                .ledger
                .create_intent(&new, crate::domain::Usdt::new(Decimal::ZERO))
                .await?;
            if !created.replayed {
                tracing::error!(position_id = row.position_id.0, client_algo_id = %row.client_algo_id, intent_id = %created.intent.id, state, "{reason}");
                metrics::counter!(PROTECTIVE_WATCHDOG_TOTAL, "state" => state).increment(1);
            }
        }
        Ok(())
    }
}
