//! Exchange-side protective orders (the Algo Service, docs/binance-fapi.md §2.2, §5.6):
//! the normalised request sluice sends and the report the venue answers with, whether
//! from REST or from the `ALGO_UPDATE` stream event.
//!
//! Only what a protective stop needs is modelled: STOP_MARKET (stop-loss) and
//! TAKE_PROFIT_MARKET (take-profit), closing the whole position (`closePosition`) or a
//! reduce-only quantity, triggered by the mark or the last (contract) price.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::domain::{PositionSide, Price, Qty, Side, Symbol};
pub use crate::domain::{ProtectionKind, WorkingType};

/// `algoStatus` / ALGO_UPDATE `X`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlgoStatus {
    /// In the Algo Service, not triggered.
    New,
    /// Trigger reached, being forwarded to the matching engine.
    Triggering,
    /// Its order is in the matching engine (`ai` names it).
    Triggered,
    /// Its order filled or was cancelled in the matching engine.
    Finished,
    Canceled,
    /// Cancelled by the system.
    Expired,
    /// The matching engine refused its order (`rm` says why).
    Rejected,
}

impl AlgoStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AlgoStatus::New => "new",
            AlgoStatus::Triggering => "triggering",
            AlgoStatus::Triggered => "triggered",
            AlgoStatus::Finished => "finished",
            AlgoStatus::Canceled => "canceled",
            AlgoStatus::Expired => "expired",
            AlgoStatus::Rejected => "rejected",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [
            AlgoStatus::New,
            AlgoStatus::Triggering,
            AlgoStatus::Triggered,
            AlgoStatus::Finished,
            AlgoStatus::Canceled,
            AlgoStatus::Expired,
            AlgoStatus::Rejected,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
    pub(crate) fn from_wire(s: &str) -> Option<Self> {
        Self::parse(&s.to_ascii_lowercase())
    }
    /// Still protecting, or on its way to close: the Algo Service holds it.
    pub fn is_live(self) -> bool {
        matches!(
            self,
            AlgoStatus::New | AlgoStatus::Triggering | AlgoStatus::Triggered
        )
    }
    /// The trigger was reached: the position should be closing.
    pub(crate) fn has_fired(self) -> bool {
        matches!(
            self,
            AlgoStatus::Triggering | AlgoStatus::Triggered | AlgoStatus::Finished
        )
    }
}

/// A protective order to place. `quantity` None means `closePosition=true` (the whole
/// position at trigger time); Some means a reduce-only quantity (one-way mode).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlgoOrderRequest {
    pub symbol: Symbol,
    /// The closing side (SELL for a long).
    pub side: Side,
    pub position_side: PositionSide,
    pub kind: ProtectionKind,
    pub trigger_price: Price,
    pub working_type: WorkingType,
    pub quantity: Option<Qty>,
    /// `^[.A-Z:/a-z0-9_-]{1,36}$`, deterministic per position and generation.
    pub client_algo_id: String,
}

/// An algo order as the venue reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlgoOrderReport {
    pub symbol: Symbol,
    pub algo_id: i64,
    pub client_algo_id: String,
    /// None for a conditional type sluice does not place (a trailing stop by hand).
    pub kind: Option<ProtectionKind>,
    pub side: Side,
    pub position_side: PositionSide,
    pub status: AlgoStatus,
    pub trigger_price: Decimal,
    pub working_type: Option<WorkingType>,
    pub close_position: bool,
    pub quantity: Decimal,
    /// The order the trigger produced (`ai` / `actualOrderId`).
    pub actual_order_id: Option<i64>,
    /// Why the trigger failed (`rm`).
    pub(crate) reject_reason: Option<String>,
    pub update_time: DateTime<Utc>,
}
