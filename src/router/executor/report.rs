//! What the exchange said about an order, stored: its status and exchange id
//! ([`record_report`]) and why it expired ([`record_expiry`]). Fills move the filled
//! quantity, never these.

use super::context::Ctx;
use crate::exchange::OrderReport;
use crate::ledger::{OrderState, OrderUpdate};

/// Store what the exchange said about an order (status, exchange id). Fills move the
/// filled quantity, never this.
pub(crate) async fn record_report(ctx: &Ctx, r: &OrderReport) -> anyhow::Result<()> {
    ctx.ledger
        .update_order_status(
            &r.client_order_id,
            &OrderUpdate {
                status: OrderState::from(r.status),
                exchange_order_id: Some(r.order_id),
                error_code: None,
                error_msg: None,
            },
        )
        .await?;
    if let Some(reason) = r.expire_reason {
        record_expiry(&ctx.ledger, r, reason).await?;
    }
    Ok(())
}

/// Keep the exchange's expire reason on the order. A self-trade-prevention expiry is
/// worth a warning: the account holds a resting order on the other side.
pub(crate) async fn record_expiry(
    ledger: &crate::ledger::Ledger,
    r: &crate::exchange::OrderReport,
    reason: crate::domain::ExpireReason,
) -> Result<(), crate::ledger::LedgerError> {
    if reason.is_self_trade_prevention() {
        tracing::warn!(client_order_id = %r.client_order_id, symbol = %r.symbol, status = r.status.as_wire(),
            er = reason.code(), "order expired by self-trade prevention: the account has a resting order it would have matched; an expiry, not a fill");
    }
    ledger
        .record_expire_reason(&r.client_order_id, reason)
        .await
}
