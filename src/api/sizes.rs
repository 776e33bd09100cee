//! Refuse at the door a size the exchange cannot carry out (422 naming the field), so an
//! intent is never stored only to end `done` with nothing sent: a close or reduce below
//! MARKET_LOT_SIZE.minQty or off its step, an open below minQty/MIN_NOTIONAL or off the
//! step, an open by notional that buys less than the smallest open.
//!
//! The rules come from the exchange (cached, see [`super::prices`]). Without them (no
//! exchange connected, exchangeInfo unreadable) nothing is refused here and the executor
//! still refuses an unsendable size before any order, naming the reason.

use super::error::ApiError;
use super::ApiState;
use crate::domain::{OpenSize, Price, Qty, Symbol, SymbolRules};
use crate::ledger::PositionRow;
use crate::router::sizing;

async fn rules_of(state: &ApiState, symbol: &Symbol) -> Option<SymbolRules> {
    state.mark_prices.as_ref()?.symbol_rules(symbol).await
}

/// An open of `size` on `symbol`; `mark` is the price the budget check used, if any.
pub(super) async fn check_open(
    state: &ApiState,
    symbol: &Symbol,
    size: OpenSize,
    mark: Option<Price>,
) -> Result<(), ApiError> {
    let Some(rules) = rules_of(state, symbol).await else {
        return Ok(());
    };
    let mark = match (mark, &state.mark_prices) {
        (Some(m), _) => m,
        (None, Some(source)) => match source.mark_price(symbol).await {
            Ok(m) => m,
            // No mark: the executor sizes the open at its own mark and refuses it there.
            Err(_) => return Ok(()),
        },
        (None, None) => return Ok(()),
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

/// A close (`quantity` None: all of the position) or reduce of `position`.
pub(super) async fn check_reduce(
    state: &ApiState,
    position: &PositionRow,
    quantity: Option<Qty>,
) -> Result<(), ApiError> {
    let Some(rules) = rules_of(state, &position.symbol).await else {
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
