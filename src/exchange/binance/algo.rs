//! The adapter's side of protective orders: placing, looking up, cancelling and listing
//! algo orders, and reading the order a triggered stop produced, each translated into
//! the seam's types. Errors keep the classification of the one code table
//! (`classify.rs`); a lookup's `-2013` and a cancel's `-2011` are answers, not failures.

use super::parse;
use super::rest::algo::{algo_report, AlgoOrderWire};
use super::rest::RestClient;
use crate::domain::{Fill, Symbol};
use crate::exchange::{AlgoOrderReport, AlgoOrderRequest, ExchangeError, OrderReport, Purpose};

pub(super) async fn place(
    rest: &RestClient,
    order: &AlgoOrderRequest,
) -> Result<AlgoOrderReport, ExchangeError> {
    let w: AlgoOrderWire = rest.new_algo_order(order).await?;
    algo_report(&w)
}

/// None when the venue does not know the clientAlgoId (`-2013`).
pub(super) async fn lookup(
    rest: &RestClient,
    client_algo_id: &str,
    purpose: Purpose,
) -> Result<Option<AlgoOrderReport>, ExchangeError> {
    match rest.query_algo_order(client_algo_id, purpose).await {
        Ok(w) => algo_report(&w).map(Some),
        Err(e) if e.code == Some(-2013) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `Ok(false)` when the order is no longer cancellable (`-2011`: unknown, triggered or
/// finished); the caller looks it up to learn which.
pub(super) async fn cancel(rest: &RestClient, client_algo_id: &str) -> Result<bool, ExchangeError> {
    match rest.cancel_algo_order(client_algo_id).await {
        Ok(_) => Ok(true),
        Err(e) if e.code == Some(-2011) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The open algo orders of `symbol`, or of every symbol.
pub(super) async fn open(
    rest: &RestClient,
    symbol: Option<&Symbol>,
) -> Result<Vec<AlgoOrderReport>, ExchangeError> {
    rest.open_algo_orders(symbol)
        .await?
        .iter()
        .map(algo_report)
        .collect()
}

/// The order with exchange id `order_id` and its trades (userTrades by orderId): the
/// close a fired stop produced, whose fills settle the position, so both reads may use
/// the reserve.
pub(super) async fn order_by_id(
    rest: &RestClient,
    symbol: &Symbol,
    order_id: i64,
) -> Result<(OrderReport, Vec<Fill>), ExchangeError> {
    let report = parse::order_report(&rest.query_order_by_id(symbol, order_id).await?)?;
    let trades = if report.executed_qty.is_zero() {
        Vec::new()
    } else {
        rest.user_trades(symbol, None, Some(order_id), Purpose::ReduceRisk)
            .await?
            .iter()
            .map(parse::fill_from_trade)
            .collect::<Result<Vec<_>, _>>()?
    };
    Ok((report, trades))
}
