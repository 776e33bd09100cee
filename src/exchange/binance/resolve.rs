//! The outcome-unknown protocol: "what happened to the order with this clientOrderId?"
//!
//! Order of questions: GET order (by origClientOrderId) → openOrders of the symbol →
//! after a short grace, GET order once more (an order may be "not yet visible" right
//! after an ambiguous send, -2013). When the order is known, its fills come from
//! userTrades filtered by orderId (userTrades carries no clientOrderId, so it can only
//! answer once the order id is known). `NotFound` is returned only when every question
//! said "unknown", which is when re-sending with a fresh id is safe. Several orders of
//! one symbol (crash recovery) share one userTrades read ([`resolve_many`]). Every read
//! is made for the caller's [`Purpose`]: the executor's and recovery's resolutions may
//! use the IP weight kept for risk-reducing requests, reconcile's may not.

use std::time::Duration;

use super::parse;
use super::rest::{wire, RestClient};
use crate::domain::{ClientOrderId, Symbol};
use crate::exchange::{ExchangeError, OrderResolution, Purpose};

/// How long to wait before the second look for a not-yet-visible order.
pub(crate) const NOT_YET_VISIBLE_GRACE: Duration = Duration::from_millis(500);

pub(crate) async fn resolve(
    rest: &RestClient,
    symbol: &Symbol,
    id: &ClientOrderId,
    purpose: Purpose,
) -> Result<OrderResolution, ExchangeError> {
    if let Some(order) = lookup(rest, symbol, id, purpose).await? {
        return known(rest, id, &order, purpose).await;
    }
    let open = rest.open_orders(Some(symbol), purpose).await?;
    if let Some(order) = open.iter().find(|o| o.client_order_id == id.as_str()) {
        return known(rest, id, order, purpose).await;
    }
    tokio::time::sleep(NOT_YET_VISIBLE_GRACE).await;
    match lookup(rest, symbol, id, purpose).await? {
        Some(order) => known(rest, id, &order, purpose).await,
        None => Ok(OrderResolution::NotFound),
    }
}

/// GET order; -2013 means "not known (now)".
async fn lookup(
    rest: &RestClient,
    symbol: &Symbol,
    id: &ClientOrderId,
    purpose: Purpose,
) -> Result<Option<wire::Order>, ExchangeError> {
    match rest.query_order(symbol, id, purpose).await {
        Ok(o) => Ok(Some(o)),
        Err(e) if e.code == Some(-2013) => Ok(None),
        Err(e) => Err(e),
    }
}

async fn known(
    rest: &RestClient,
    id: &ClientOrderId,
    order: &wire::Order,
    purpose: Purpose,
) -> Result<OrderResolution, ExchangeError> {
    let report = parse::order_report(order)?;
    let trades = if report.executed_qty.is_zero() {
        Vec::new()
    } else {
        rest.user_trades(&report.symbol, None, Some(report.order_id), purpose)
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

/// Trades of several orders from one read: from a minute before the first was sent (our
/// clock may be off by that much), within userTrades' 7-day span.
const SPAN_MARGIN_MS: i64 = 60_000;
const MAX_SPAN_MS: i64 = 7 * 24 * 3600 * 1000;
/// userTrades answers at most this many rows: a full answer may be cut short.
const TRADES_LIMIT: usize = 1000;

/// [`resolve`] for several orders of `symbol`, asking the same questions in the same
/// order, each shared where it can be: GET order for each; for those it does not know, ONE
/// openOrders read of the symbol and, after ONE grace, GET order once more; then ONE
/// userTrades read (weight 5) for the fills of every executed one, where [`resolve`] reads
/// them per order (5 each). The shared trades read comes after every GET order, so it
/// holds every fill the orders' `executedQty` counts; an order whose fills there do not
/// add up to its `executedQty` (an answer cut at the row limit, a span over 7 days) has
/// them read by orderId as [`resolve`] does.
pub(crate) async fn resolve_many(
    rest: &RestClient,
    symbol: &Symbol,
    ids: &[ClientOrderId],
    sent_since: chrono::DateTime<chrono::Utc>,
    purpose: Purpose,
) -> Vec<Result<OrderResolution, ExchangeError>> {
    let looked = look_up_all(rest, symbol, ids, purpose).await;
    let executed = looked
        .iter()
        .filter(|l| matches!(l, Ok(Some(o)) if !o.executed_qty.is_zero()))
        .count();
    let shared = if executed > 1 {
        shared_trades(rest, symbol, sent_since, purpose).await
    } else {
        None
    };
    let mut out = Vec::with_capacity(ids.len());
    for (id, l) in ids.iter().zip(looked) {
        out.push(match l {
            Ok(Some(order)) => match shared.as_deref().and_then(|t| complete(id, &order, t)) {
                Some(resolution) => resolution,
                None => known(rest, id, &order, purpose).await,
            },
            Ok(None) => Ok(OrderResolution::NotFound),
            Err(e) => Err(e),
        });
    }
    out
}

/// GET order for each id; the ids it does not know are looked for in one openOrders read
/// of the symbol and, after one grace, by GET order once more (`Ok(None)`: unknown to
/// every question, never executed).
async fn look_up_all(
    rest: &RestClient,
    symbol: &Symbol,
    ids: &[ClientOrderId],
    purpose: Purpose,
) -> Vec<Result<Option<wire::Order>, ExchangeError>> {
    let mut looked = Vec::with_capacity(ids.len());
    for id in ids {
        looked.push(lookup(rest, symbol, id, purpose).await);
    }
    if !looked.iter().any(|l| matches!(l, Ok(None))) {
        return looked;
    }
    let open = match rest.open_orders(Some(symbol), purpose).await {
        Ok(open) => open,
        Err(e) => {
            for l in looked.iter_mut().filter(|l| matches!(l, Ok(None))) {
                *l = Err(e.clone());
            }
            return looked;
        }
    };
    for (id, l) in ids.iter().zip(looked.iter_mut()) {
        if matches!(l, Ok(None)) {
            if let Some(o) = open.iter().find(|o| o.client_order_id == id.as_str()) {
                *l = Ok(Some(o.clone()));
            }
        }
    }
    if looked.iter().any(|l| matches!(l, Ok(None))) {
        tokio::time::sleep(NOT_YET_VISIBLE_GRACE).await;
        for (id, l) in ids.iter().zip(looked.iter_mut()) {
            if matches!(l, Ok(None)) {
                *l = lookup(rest, symbol, id, purpose).await;
            }
        }
    }
    looked
}

/// Every trade of `symbol` since `sent_since` (less the margin) from one read; None when
/// one read cannot be trusted to hold them all (span too long, answer full, read failed).
async fn shared_trades(
    rest: &RestClient,
    symbol: &Symbol,
    sent_since: chrono::DateTime<chrono::Utc>,
    purpose: Purpose,
) -> Option<Vec<wire::UserTrade>> {
    let end = rest.clock.server_now_ms() + SPAN_MARGIN_MS;
    let start = sent_since.timestamp_millis() - SPAN_MARGIN_MS;
    if end - start > MAX_SPAN_MS {
        return None;
    }
    match rest.user_trades_between(symbol, start, end, purpose).await {
        Ok(trades) if trades.len() < TRADES_LIMIT => Some(trades),
        Ok(_) => None,
        Err(e) => {
            tracing::warn!(%symbol, error = %e, "reading the trades of several orders at once failed; reading them per order");
            None
        }
    }
}

/// The resolution of `order` from the shared trades, when they hold all of its fills.
fn complete(
    id: &ClientOrderId,
    order: &wire::Order,
    trades: &[wire::UserTrade],
) -> Option<Result<OrderResolution, ExchangeError>> {
    let report = match parse::order_report(order) {
        Ok(r) => r,
        Err(e) => return Some(Err(e)),
    };
    let own: Vec<&wire::UserTrade> = trades
        .iter()
        .filter(|t| t.order_id == report.order_id)
        .collect();
    let filled: rust_decimal::Decimal = own.iter().map(|t| t.qty).sum();
    if filled != report.executed_qty.get() {
        return None;
    }
    let fills = own
        .into_iter()
        .map(|t| {
            parse::fill_from_trade(t).map(|mut f| {
                f.client_order_id = Some(id.clone());
                f
            })
        })
        .collect::<Result<Vec<_>, _>>();
    Some(fills.map(|trades| OrderResolution::Known {
        order: report,
        trades,
    }))
}
