//! The short read models: one line of the intent list ([`IntentSummary`],
//! [`IntentList`]), a ledger position ([`PositionView`]) and the answer of the halt,
//! resume and flatten writes ([`HaltResponse`]).
//!
//! Pure: built from ledger rows, no I/O. Decimals are strings on the wire.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::IntentResponse;
use crate::domain::{Direction, IntentKind, IntentState, Qty, Symbol, Usdt};
use crate::ledger::halt::HaltState;
use crate::ledger::{IntentId, IntentRow, PositionId, PositionRow};

/// One line of `GET /v1/intents`: the intent without its chunks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub(crate) struct IntentSummary {
    pub id: IntentId,
    pub kind: IntentKind,
    pub state: IntentState,
    /// As [`IntentResponse::outcome`].
    #[serde(default)]
    pub outcome: Option<String>,
    #[serde(default)]
    pub shortfall: Option<Qty>,
    pub symbol: Option<Symbol>,
    pub side: Option<Direction>,
    pub quantity: Option<Qty>,
    pub notional_usdt: Option<Usdt>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<&IntentRow> for IntentSummary {
    fn from(i: &IntentRow) -> Self {
        IntentSummary {
            id: i.id,
            kind: i.kind(),
            state: i.state,
            outcome: i.outcome().map(str::to_string),
            shortfall: i.shortfall,
            symbol: i.symbol.clone(),
            side: i.direction,
            quantity: i.spec.quantity(),
            notional_usdt: i.notional_usdt,
            error: i.error.clone(),
            created_at: i.created_at,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub(crate) struct IntentList {
    pub(crate) intents: Vec<IntentSummary>,
}

/// A ledger position as the API shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PositionView {
    pub id: PositionId,
    pub symbol: Symbol,
    pub side: Direction,
    pub quantity: Qty,
    #[schema(format = "decimal")]
    pub entry_price: Decimal,
    #[schema(format = "decimal")]
    pub notional_usdt: Decimal,
    #[schema(format = "decimal")]
    pub realized_pnl: Decimal,
    pub origin: String,
    pub status: String,
    pub opened_at: DateTime<Utc>,
}

impl From<&PositionRow> for PositionView {
    fn from(p: &PositionRow) -> Self {
        PositionView {
            id: p.id,
            symbol: p.symbol.clone(),
            side: p.direction,
            quantity: p.quantity,
            entry_price: p.entry_price,
            notional_usdt: p.notional(),
            realized_pnl: p.realized_pnl,
            origin: p.origin.as_str().to_string(),
            status: p.status.as_str().to_string(),
            opened_at: p.opened_at,
        }
    }
}

/// `POST /v1/halt`, `/v1/resume`, `/v1/flatten` answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub(crate) struct HaltResponse {
    pub halt: HaltState,
    /// Accepted opens the halt cancelled before anything was sent for them.
    #[serde(default)]
    pub cancelled_intents: Vec<IntentId>,
    /// The flatten intent, for `POST /v1/flatten`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flatten_intent: Option<IntentResponse>,
}
