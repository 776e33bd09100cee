//! The life of one order as sluice tracks it: the exchange's statuses plus the states
//! before the exchange answered. Stored as text (`orders.status`).

use serde::{Deserialize, Serialize};

use super::{DomainError, OrderStatus};

/// The ledger's view of an order: the exchange's statuses plus the states before
/// the exchange answered (`planned`, `sent`) and `unknown` (outcome to resolve).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    Planned,
    Sent,
    New,
    PartiallyFilled,
    Filled,
    Canceled,
    Expired,
    Rejected,
    Unknown,
}

const TEXT: [(OrderState, &str); 9] = [
    (OrderState::Planned, "planned"),
    (OrderState::Sent, "sent"),
    (OrderState::New, "new"),
    (OrderState::PartiallyFilled, "partially_filled"),
    (OrderState::Filled, "filled"),
    (OrderState::Canceled, "canceled"),
    (OrderState::Expired, "expired"),
    (OrderState::Rejected, "rejected"),
    (OrderState::Unknown, "unknown"),
];

impl OrderState {
    pub fn as_str(self) -> &'static str {
        TEXT.iter()
            .find(|(s, _)| *s == self)
            .map_or("unknown", |(_, t)| t)
    }
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        TEXT.iter()
            .find(|(_, t)| *t == raw)
            .map(|(s, _)| *s)
            .ok_or_else(|| DomainError::new("status", format!("`{raw}` is not a known value")))
    }
    /// No more fills can come for an order in a terminal state.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            OrderState::Filled | OrderState::Canceled | OrderState::Expired | OrderState::Rejected
        )
    }
}

impl From<OrderStatus> for OrderState {
    fn from(s: OrderStatus) -> Self {
        match s {
            OrderStatus::New => OrderState::New,
            OrderStatus::PartiallyFilled => OrderState::PartiallyFilled,
            OrderStatus::Filled => OrderState::Filled,
            OrderStatus::Canceled => OrderState::Canceled,
            OrderStatus::Expired | OrderStatus::ExpiredInMatch => OrderState::Expired,
            OrderStatus::Rejected => OrderState::Rejected,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_order_state_reads_back_from_its_text() {
        for (state, text) in TEXT {
            assert_eq!(state.as_str(), text);
            assert_eq!(OrderState::parse(text), Ok(state));
        }
        assert_eq!(OrderState::parse("gone").unwrap_err().field, "status");
    }
}
