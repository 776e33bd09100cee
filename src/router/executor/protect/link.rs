//! A fired stop's order: from the user stream's `ALGO_UPDATE` (or a REST re-read) to a
//! close order of the protected position whose fills are applied as close fills.

use std::sync::Arc;

use super::failure;
use crate::exchange::{AlgoOrderReport, AlgoStatus, Exchange};
use crate::ledger::protective::ProtectiveRow;
use crate::ledger::{FillOutcome, FillSource, Ledger};
/// An `ALGO_UPDATE` from the user stream: record it; a trigger's order is linked at
/// once, before the stream's next events (its fills) are applied.
pub(crate) async fn on_algo_update(
    ledger: &Ledger,
    venue: &str,
    exchange: &Arc<dyn Exchange>,
    report: &AlgoOrderReport,
) {
    let row = match ledger.record_protective_report(report).await {
        Ok(Some(row)) => row,
        Ok(None) => return, // not one of sluice's
        Err(e) => {
            tracing::error!(error = %e, client_algo_id = %report.client_algo_id, "recording an ALGO_UPDATE failed");
            return;
        }
    };
    match report.status {
        AlgoStatus::Rejected => {
            tracing::error!(position_id = row.position_id.0, client_algo_id = %row.client_algo_id, reason = report.reject_reason.as_deref().unwrap_or(""), "a protective order was rejected when it triggered");
            failure("trigger", None);
        }
        AlgoStatus::Triggering | AlgoStatus::Triggered => {
            tracing::warn!(position_id = row.position_id.0, client_algo_id = %row.client_algo_id, status = report.status.as_str(), "a protective order fired");
        }
        _ => {}
    }
    if let Err(e) = link_triggered(ledger, venue, exchange, &row, true).await {
        tracing::error!(error = %e, client_algo_id = %row.client_algo_id, "linking a triggered protective order failed; the sweep retries");
    }
}

/// A row whose trigger produced an order not yet linked: find the order (and its
/// client order id) by exchange id, record it as the position's close order, apply its
/// fills. `fallback`: when the order cannot be read now, link it under the clientAlgoId
/// anyway, so the stream's fills that follow still find it by exchange order id.
pub(super) async fn link_triggered(
    ledger: &Ledger,
    venue: &str,
    exchange: &Arc<dyn Exchange>,
    row: &ProtectiveRow,
    fallback: bool,
) -> anyhow::Result<()> {
    let (Some(ai), None) = (row.actual_order_id, row.order_id) else {
        return Ok(());
    };
    let (coid, trades) = match exchange.order_by_id(&row.symbol, ai).await {
        Ok((order, trades)) => (order.client_order_id, trades),
        Err(e) if fallback => {
            tracing::warn!(error = %e, order_id = ai, "reading a stop's order failed; linking it by exchange id");
            (row.client_algo_id.clone(), Vec::new())
        }
        Err(e) => {
            failure("link", e.code);
            return Err(e.into());
        }
    };
    ledger.link_protective_order(row.id, ai, &coid).await?;
    for t in &trades {
        let outcome = ledger
            .apply_fill_from(venue, t, &[], Some(FillSource::Rest))
            .await?;
        if !matches!(outcome, FillOutcome::Duplicate) {
            crate::metrics::record_fill(FillSource::Rest.as_str());
        }
    }
    let stranded = ledger
        .external_fills_of_order(venue, &row.symbol, ai)
        .await?;
    if stranded > 0 {
        // Fills of the order still external after the link (which gives the order those
        // stored before it, `Ledger::link_protective_order`): they moved nothing, so the
        // ledger still shows what the venue closed. Reconcile reports the drift and
        // `reconcile --fix --confirm` corrects it.
        tracing::error!(position_id = row.position_id.0, client_algo_id = %row.client_algo_id, order_id = ai, stranded, "a protective order's fills arrived before its ALGO_UPDATE and were stored as external: run `sluice reconcile --fix --confirm`");
        failure("link", None);
    }
    tracing::info!(position_id = row.position_id.0, client_algo_id = %row.client_algo_id, order_id = ai, fills = trades.len(), "a protective order's fills are recorded as close fills");
    Ok(())
}
