//! The outcome-unknown protocol: "what happened to the order with this clientOrderId?"
//!
//! Order of questions: GET order (by origClientOrderId) → openOrders of the symbol →
//! after a short grace, GET order once more (an order may be "not yet visible" right
//! after an ambiguous send, -2013). When the order is known, its fills come from
//! userTrades filtered by orderId (userTrades carries no clientOrderId, so it can only
//! answer once the order id is known). `NotFound` is returned only when every question
//! said "unknown", which is when re-sending with a fresh id is safe.

use std::time::Duration;

use super::parse;
use super::rest::{wire, RestClient};
use crate::domain::{ClientOrderId, Symbol};
use crate::exchange::{ExchangeError, OrderResolution};

/// How long to wait before the second look for a not-yet-visible order.
pub(crate) const NOT_YET_VISIBLE_GRACE: Duration = Duration::from_millis(500);

pub(crate) async fn resolve(
    rest: &RestClient,
    symbol: &Symbol,
    id: &ClientOrderId,
) -> Result<OrderResolution, ExchangeError> {
    if let Some(order) = lookup(rest, symbol, id).await? {
        return known(rest, id, &order).await;
    }
    let open = rest.open_orders(Some(symbol)).await?;
    if let Some(order) = open.iter().find(|o| o.client_order_id == id.as_str()) {
        return known(rest, id, order).await;
    }
    tokio::time::sleep(NOT_YET_VISIBLE_GRACE).await;
    match lookup(rest, symbol, id).await? {
        Some(order) => known(rest, id, &order).await,
        None => Ok(OrderResolution::NotFound),
    }
}

/// GET order; -2013 means "not known (now)".
async fn lookup(
    rest: &RestClient,
    symbol: &Symbol,
    id: &ClientOrderId,
) -> Result<Option<wire::Order>, ExchangeError> {
    match rest.query_order(symbol, id).await {
        Ok(o) => Ok(Some(o)),
        Err(e) if e.code == Some(-2013) => Ok(None),
        Err(e) => Err(e),
    }
}

async fn known(
    rest: &RestClient,
    id: &ClientOrderId,
    order: &wire::Order,
) -> Result<OrderResolution, ExchangeError> {
    let report = parse::order_report(order)?;
    let trades = if report.executed_qty.is_zero() {
        Vec::new()
    } else {
        rest.user_trades(&report.symbol, None, Some(report.order_id))
            .await?
            .iter()
            .filter(|t| t.order_id == report.order_id)
            .map(|t| {
                parse::fill_from_trade(t).map(|mut f| {
                    f.client_order_id = Some(id.clone());
                    f
                })
            })
            .collect::<Result<Vec<_>, _>>()?
    };
    Ok(OrderResolution::Known {
        order: report,
        trades,
    })
}
