//! The two plain snapshots reconcile compares: what the ledger believes and what the
//! exchange reports. Built at the edges (`ops::reconcile`), compared by the pure
//! [`super::diff::diff`]. No I/O here.
//!
//! Invariants: quantities are `Decimal`/`Qty` (never float); a ledger position is an
//! OPEN position with a positive quantity; `known_trades` holds the ledger's trade ids
//! for every (symbol, trade id) the exchange snapshot's trades could name.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::protective::{ExchangeAlgoState, LedgerProtective};
use crate::domain::{Direction, Fill, OrderStatus, PositionSide, Qty, Symbol};
use crate::exchange::{AlgoOrderReport, ExchangePosition, OrderReport};
use crate::ledger::{OrderId, OrderRow, OrderState, PositionId, PositionRow};

/// One open ledger position.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerPosition {
    /// The ledger's position id.
    pub position_id: PositionId,
    /// The symbol.
    pub symbol: Symbol,
    /// The leg.
    pub position_side: PositionSide,
    /// Long or short.
    pub direction: Direction,
    /// The open quantity.
    pub quantity: Qty,
}

impl LedgerPosition {
    /// Signed as the exchange writes it: long positive, short negative.
    pub fn signed_amount(&self) -> Decimal {
        match self.direction {
            Direction::Long => self.quantity.get(),
            Direction::Short => -self.quantity.get(),
        }
    }
}

impl From<&PositionRow> for LedgerPosition {
    fn from(p: &PositionRow) -> Self {
        LedgerPosition {
            position_id: p.id,
            symbol: p.symbol.clone(),
            position_side: p.position_side,
            direction: p.direction,
            quantity: p.quantity,
        }
    }
}

/// One non-terminal ledger order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerOrder {
    /// The ledger's order id.
    pub order_id: OrderId,
    /// Its client order id.
    pub client_order_id: String,
    /// The symbol.
    pub symbol: Symbol,
    /// The leg.
    pub position_side: PositionSide,
    /// Its state in the ledger.
    pub status: OrderState,
}

impl LedgerOrder {
    /// Should the exchange list this order as open? A `planned` order was never
    /// handed to the exchange; every other non-terminal state may be live there.
    pub fn expected_open_on_exchange(&self) -> bool {
        !self.status.is_terminal() && self.status != OrderState::Planned
    }
}

impl From<&OrderRow> for LedgerOrder {
    fn from(o: &OrderRow) -> Self {
        LedgerOrder {
            order_id: o.id,
            client_order_id: o.client_order_id.clone(),
            symbol: o.symbol.clone(),
            position_side: o.position_side,
            status: o.status,
        }
    }
}

/// What the ledger believes, for one venue.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerSnapshot {
    /// Open positions.
    pub positions: Vec<LedgerPosition>,
    /// Non-terminal orders.
    pub orders: Vec<LedgerOrder>,
    /// (symbol, trade id) of the fills the ledger holds, at least from each symbol's
    /// last trade id on (the window the exchange trades were fetched for).
    pub known_trades: BTreeSet<(Symbol, i64)>,
    /// The live protective rows (planned ones included; the comparison skips them).
    pub protective: Vec<LedgerProtective>,
}

/// What the exchange reports, for one venue.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExchangeSnapshot {
    /// As `positionRisk` returns them; zero amounts are ignored.
    pub positions: Vec<ExchangePosition>,
    /// `openOrders` for every symbol.
    pub open_orders: Vec<OrderReport>,
    /// Per symbol, the trades from the ledger's last trade id on, plus the trades of
    /// every order resolved by clientOrderId.
    pub trades: Vec<Fill>,
    /// What the exchange said when asked about a ledger order it does not list open
    /// (GET order / userTrades by clientOrderId), keyed by clientOrderId.
    pub resolved: BTreeMap<String, ExchangeOrderState>,
    /// `openAlgoOrders` (all symbols); None when the venue was not asked (it has no
    /// Algo Service), which leaves protective orders uncompared.
    pub open_algo_orders: Option<Vec<AlgoOrderReport>>,
    /// What the venue said about each live protective row it does not list open,
    /// keyed by clientAlgoId.
    pub resolved_algo: BTreeMap<String, ExchangeAlgoState>,
}

/// The exchange's answer about one order it does not list as open.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", content = "status", rename_all = "snake_case")]
pub enum ExchangeOrderState {
    /// Not asked (or the question failed).
    #[default]
    Unresolved,
    /// The exchange knows the order and reports this status.
    Known(OrderStatus),
    /// The exchange has no record of it: it never executed.
    NotFound,
}

/// The exchange amount signed by direction. Hedge legs carry their direction in the
/// leg (Binance reports SHORT legs negative, but the leg is what counts); one-way
/// (`BOTH`) amounts carry it in their sign.
pub(crate) fn signed_exchange_amount(p: &ExchangePosition) -> Decimal {
    match p.position_side {
        PositionSide::Both => p.amount,
        PositionSide::Long => p.amount.abs(),
        PositionSide::Short => -p.amount.abs(),
    }
}
