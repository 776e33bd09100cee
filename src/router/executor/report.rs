//! What the exchange said about an order, stored: its status, exchange id and why it
//! expired ([`record_report`], or [`record_reports`] for all the orders of one answer),
//! in one statement that writes nothing when the stream already said the same. Fills
//! move the filled quantity, never these.

use super::context::Ctx;
use crate::exchange::OrderReport;
use crate::ledger::{OrderState, ReportedOrder};

/// Store what the exchange said about an order (status, exchange id, expire reason).
/// Fills move the filled quantity, never this.
pub(crate) async fn record_report(ctx: &Ctx, r: &OrderReport) -> anyhow::Result<()> {
    record_reports(ctx, &[r]).await
}

/// Store several reports (the orders of one `batchOrders` answer) in one statement.
pub(crate) async fn record_reports(ctx: &Ctx, reports: &[&OrderReport]) -> anyhow::Result<()> {
    if reports.is_empty() {
        return Ok(());
    }
    let rows: Vec<ReportedOrder> = reports
        .iter()
        .map(|r| {
            warn_self_trade_prevention(r);
            ReportedOrder {
                client_order_id: r.client_order_id.clone(),
                status: OrderState::from(r.status),
                exchange_order_id: r.order_id,
                expire_reason: r.expire_reason,
            }
        })
        .collect();
    ctx.ledger.record_order_reports(&rows).await?;
    Ok(())
}

/// A self-trade-prevention expiry is worth a warning: the account holds a resting order
/// on the other side.
pub(crate) fn warn_self_trade_prevention(r: &OrderReport) {
    if let Some(reason) = r.expire_reason.filter(|e| e.is_self_trade_prevention()) {
        tracing::warn!(client_order_id = %r.client_order_id, symbol = %r.symbol, status = r.status.as_wire(),
            er = reason.code(), "order expired by self-trade prevention: the account has a resting order it would have matched; an expiry, not a fill");
    }
}
