//! From a chunk to a sendable order ([`checked_order`], the one order builder): side,
//! position side and reduce-only per mode, a deterministic client id per chunk, and the
//! order through `domain::validate`. [`to_orders`] does the same for a whole plan.
//!
//! The reduce-only contract (docs/binance-fapi.md §9):
//! - `OrderRequest::reduce_only` means "this order reduces risk" and is `true` for every
//!   close, reduce and flatten, in both modes. It also buys the MIN_NOTIONAL exemption in
//!   `validate`.
//! - One-way mode: the position side is `BOTH` and the adapter sends `reduceOnly=true`, so
//!   the venue can never flip the position (seed 002).
//! - Hedge mode: the closing side plus the leg's `LONG`/`SHORT` position side is what makes
//!   the order risk-reducing; the adapter must NOT send `reduceOnly` (-1106), even though the
//!   domain flag is `true`.
//!
//! Either every chunk becomes a `FilterChecked` order, or none does (no half-built batch).

use crate::domain::{
    validate, Direction, FilterChecked, FilterViolation, IntentKind, LimitTerms, OrderRequest,
    OrderType, PositionMode, PositionSide, Price, Qty, SymbolRules,
};

use super::client_id::{IdTooLong, IntentRef, SluiceOrderId};
use super::plan::ChunkPlan;

/// What every chunk of one intent has in common.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderTemplate {
    /// The intent kind every chunk serves.
    pub kind: IntentKind,
    /// The intent every chunk belongs to (it goes into each client order id).
    pub intent: IntentRef,
    /// Direction of the position being opened, reduced or closed.
    pub direction: Direction,
    /// The account's position mode: decides `positionSide` and `reduceOnly`.
    pub mode: PositionMode,
    /// MARKET or LIMIT, for every chunk.
    pub order_type: OrderType,
    /// Price (or price match) and time in force for LIMIT orders; None for MARKET.
    pub limit: Option<LimitTerms>,
    /// Index of the plan's first chunk: a re-plan of the remainder continues numbering
    /// after the chunks already sent, so no two chunks of an intent share an id.
    pub first_chunk: u32,
    /// Send attempt for every chunk of this plan (0 for a fresh plan).
    pub attempt: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ToOrdersError {
    #[error("chunk {chunk} ({qty}) fails the filters: {violation}")]
    Filter {
        chunk: u32,
        qty: String,
        violation: FilterViolation,
    },
    #[error(transparent)]
    ClientId(#[from] IdTooLong),
    #[error("order type {order_type:?} does not match the limit price given: {detail}")]
    LimitMismatch {
        order_type: OrderType,
        detail: &'static str,
    },
    #[error("chunk index overflows after {first} + {count}")]
    ChunkIndexOverflow { first: u32, count: usize },
}

impl OrderTemplate {
    /// BUY/SELL for this intent: opens go the position's way, everything else against it.
    pub fn side(&self) -> crate::domain::Side {
        if self.kind.reduces_risk() {
            self.direction.close_side()
        } else {
            self.direction.open_side()
        }
    }
}

/// The one order builder: `qty` as chunk `template.first_chunk` of the intent, with
/// its side, position side, reduce-only flag and client id, through `validate`.
pub(crate) fn checked_order(
    rules: &SymbolRules,
    template: &OrderTemplate,
    qty: Qty,
    mark: Price,
) -> Result<FilterChecked<OrderRequest>, ToOrdersError> {
    let limit = match (template.order_type, template.limit) {
        (OrderType::Market, None) => None,
        (OrderType::Limit, Some(terms)) => Some(terms),
        (order_type, given) => {
            return Err(ToOrdersError::LimitMismatch {
                order_type,
                detail: if given.is_some() {
                    "MARKET orders take no price"
                } else {
                    "LIMIT orders need a price and time in force"
                },
            })
        }
    };
    let chunk = template.first_chunk;
    let id = SluiceOrderId {
        kind: template.kind,
        intent: template.intent,
        chunk,
        attempt: template.attempt,
    };
    let order = OrderRequest {
        symbol: rules.symbol.clone(),
        side: template.side(),
        position_side: PositionSide::for_mode(template.mode, template.direction),
        order_type: template.order_type,
        quantity: qty,
        price: limit.and_then(|l| l.fixed_price()),
        time_in_force: limit.map(|l| l.time_in_force.time_in_force()),
        reduce_only: template.kind.reduces_risk(),
        client_order_id: id.encode()?,
        price_match: limit.and_then(|l| l.price_match()),
        good_till_date: limit.and_then(|l| l.time_in_force.good_till_ms()),
    };
    validate(rules, order, mark).map_err(|violation| ToOrdersError::Filter {
        chunk,
        qty: qty.to_string(),
        violation,
    })
}

/// Turn each chunk of `plan` into a filter-checked order ([`checked_order`], chunk
/// indices counting from `template.first_chunk`). All or nothing.
pub fn to_orders(
    plan: &ChunkPlan,
    rules: &SymbolRules,
    template: &OrderTemplate,
    mark: Price,
) -> Result<Vec<FilterChecked<OrderRequest>>, ToOrdersError> {
    let overflow = ToOrdersError::ChunkIndexOverflow {
        first: template.first_chunk,
        count: plan.chunks.len(),
    };
    let mut out = Vec::with_capacity(plan.chunks.len());
    for (i, qty) in plan.chunks.iter().enumerate() {
        let chunk = u32::try_from(i)
            .ok()
            .and_then(|i| template.first_chunk.checked_add(i))
            .ok_or_else(|| overflow.clone())?;
        let one = OrderTemplate {
            first_chunk: chunk,
            ..template.clone()
        };
        out.push(checked_order(rules, &one, *qty, mark)?);
    }
    Ok(out)
}

#[cfg(test)]
#[path = "orders_tests.rs"]
mod tests;
