//! What a caller asked for, as opposed to the orders that carry it out.

use serde::{Deserialize, Serialize};

use super::DomainError;

/// Every order carries the intent of the request that produced it. Only `Open`
/// fills create or increase a position; the others only ever reduce the position
/// their order references (the rule that makes seed 002's phantom SHORT impossible).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IntentKind {
    Open,
    Close,
    Reduce,
    Flatten,
}

impl IntentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IntentKind::Open => "open",
            IntentKind::Close => "close",
            IntentKind::Reduce => "reduce",
            IntentKind::Flatten => "flatten",
        }
    }
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        match raw {
            "open" => Ok(IntentKind::Open),
            "close" => Ok(IntentKind::Close),
            "reduce" => Ok(IntentKind::Reduce),
            "flatten" => Ok(IntentKind::Flatten),
            other => Err(DomainError::new(
                "kind",
                format!("`{other}` is not one of open, close, reduce, flatten"),
            )),
        }
    }
    /// Risk-reducing intents are scheduled before risk-increasing ones.
    pub fn reduces_risk(self) -> bool {
        !matches!(self, IntentKind::Open)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IntentState {
    Accepted,
    Working,
    Done,
    Failed,
    Cancelled,
}

impl IntentState {
    pub fn as_str(self) -> &'static str {
        match self {
            IntentState::Accepted => "accepted",
            IntentState::Working => "working",
            IntentState::Done => "done",
            IntentState::Failed => "failed",
            IntentState::Cancelled => "cancelled",
        }
    }
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        match raw {
            "accepted" => Ok(IntentState::Accepted),
            "working" => Ok(IntentState::Working),
            "done" => Ok(IntentState::Done),
            "failed" => Ok(IntentState::Failed),
            "cancelled" => Ok(IntentState::Cancelled),
            other => Err(DomainError::new(
                "state",
                format!("`{other}` is not a known state"),
            )),
        }
    }
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            IntentState::Done | IntentState::Failed | IntentState::Cancelled
        )
    }
}
