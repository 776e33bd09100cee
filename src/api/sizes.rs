//! Refuse at the door a size the exchange cannot carry out (422 naming the field), so an
//! intent is never stored only to end `done` with nothing sent: a close or reduce below
//! MARKET_LOT_SIZE.minQty or off its step, an open below minQty/MIN_NOTIONAL or off the
//! step, an open by notional that buys less than the smallest open.
//!
//! The rules come from the exchange (cached, see [`super::prices`]). Without them (no
//! exchange connected, exchangeInfo unreadable) nothing is refused here and the executor
//! still refuses an unsendable size before any order, naming the reason.

use super::error::ApiError;
use super::prices::MarkPrices;
use crate::domain::{OpenSize, Price, Qty, Symbol};
use crate::exchange::Purpose;
use crate::ledger::PositionRow;
use crate::router::sizing;

/// An open of `size` on `symbol`, checked against the rules `prices` has (`mark`: the
/// price the budget check used, if any). An open's rules read is routine.
pub(crate) async fn check_open(
    prices: Option<&dyn MarkPrices>,
    symbol: &Symbol,
    size: OpenSize,
    mark: Option<Price>,
) -> Result<(), ApiError> {
    let Some(source) = prices else {
        return Ok(());
    };
    let Some(rules) = source.symbol_rules(symbol, Purpose::Routine).await else {
        return Ok(());
    };
    let mark = match mark {
        Some(m) => m,
        None => match source.mark_price(symbol, Purpose::Routine).await {
            Ok(m) => m,
            // No mark: the executor sizes the open at its own mark and refuses it there.
            Err(_) => return Ok(()),
        },
    };
    match size {
        OpenSize::Quantity(q) => {
            sizing::check_open(&rules, q, mark).map_err(|e| ApiError::invalid("quantity", e.0))
        }
        OpenSize::Notional(n) => sizing::open_of_notional(&rules, n.get(), mark)
            .map(|_| ())
            .map_err(|e| ApiError::invalid("notional_usdt", e.0)),
    }
}

/// A close (`quantity` None: all of the position) or reduce of `position`, checked against
/// the rules `prices` has. The close is posted now and waits on this read when the rules
/// cache is empty: it is booked as risk-reducing, so a spent routine share of the IP's
/// weight does not hold it until the minute ends.
pub(crate) async fn check_reduce(
    prices: Option<&dyn MarkPrices>,
    position: &PositionRow,
    quantity: Option<Qty>,
) -> Result<(), ApiError> {
    let Some(source) = prices else {
        return Ok(());
    };
    let Some(rules) = source
        .symbol_rules(&position.symbol, Purpose::ReduceRisk)
        .await
    else {
        return Ok(());
    };
    let q = quantity.unwrap_or(position.quantity);
    sizing::check_reduce(&rules, q).map_err(|e| {
        let reason = match quantity {
            Some(_) => e.0,
            None => format!("position #{} holds {q}: {}", position.id, e.0),
        };
        ApiError::invalid("quantity", reason)
    })
}
