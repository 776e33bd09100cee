//! What applying a fill did: the vocabulary `fills.rs` (the calls), `fill_plan.rs` (the
//! rules, in memory) and `fill_batch.rs` (the writes) share, so none of them imports
//! another for it.

use serde::{Deserialize, Serialize};

use super::ids::{FillId, OrderId, PositionId};
use super::model::AnomalyKind;
use crate::domain::Qty;

/// What a fill did to the position it was applied to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PositionEffect {
    Opened,
    Increased,
    Reduced,
    Closed,
    /// Nothing applied; the reason is in `ledger_anomalies`.
    Unchanged,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FillOutcome {
    /// This trade was already applied; nothing changed.
    Duplicate,
    /// No sluice order explains the fill: stored `external`, flagged, no position moved.
    External { fill_id: FillId },
    Applied {
        fill_id: FillId,
        order_id: OrderId,
        position_id: Option<PositionId>,
        /// What changed the position (less than the fill when an over-close was capped).
        applied: Qty,
        effect: PositionEffect,
        anomaly: Option<AnomalyKind>,
    },
}
