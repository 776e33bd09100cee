//! `LedgerError`: what went wrong in the ledger, phrased as what the caller should do.
//!
//! Refusals (`NotEnoughBudget`, `OppositePositionOpen`) are business answers: the
//! refused intent is stored as `failed` so the caller can show it. `Invalid` and
//! `NotFound` mean nothing was written and the input must change. `Corrupt` means a
//! stored row breaks an invariant: run `sluice doctor`. `Database` is transient.

use rust_decimal::Decimal;

use super::ids::{IntentId, PositionId};
use crate::domain::{two_decimals, Direction, DomainError};

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// Opening would spend more than is available. The intent is stored as `failed`.
    #[error("Not enough budget. Available: ${}, Requested: ${}", two_decimals(*.available), two_decimals(*.requested))]
    NotEnoughBudget {
        intent_id: IntentId,
        available: Decimal,
        requested: Decimal,
    },
    /// One-way mode holds one position per symbol: the open one must be closed first.
    /// The intent is stored as `failed`.
    #[error(
        "position #{position_id} ({open_direction:?} {symbol}) is open in one-way mode; \
         close it before opening the other direction"
    )]
    OppositePositionOpen {
        intent_id: IntentId,
        position_id: PositionId,
        symbol: String,
        open_direction: Direction,
    },
    /// The request itself is wrong; nothing was written. Fix the named field.
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    /// The row the request names does not exist; nothing was written.
    #[error("{what} not found")]
    NotFound { what: String },
    /// A state change that the intent's current state does not allow.
    #[error("intent #{intent_id} is {from} and cannot become {to}")]
    InvalidTransition {
        intent_id: IntentId,
        from: &'static str,
        to: &'static str,
    },
    /// A stored row breaks an invariant the code relies on: run `sluice doctor`.
    #[error("stored row {table}#{row_id} is corrupt: {reason}; run `sluice doctor`")]
    Corrupt {
        table: &'static str,
        row_id: i64,
        reason: String,
    },
    /// The database failed; the transaction was rolled back. Retry later.
    #[error("database error (nothing was written; retry): {0}")]
    Database(#[from] sqlx::Error),
    /// The schema could not be brought up to date; sluice must not run.
    #[error("migrating the ledger schema failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl LedgerError {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        LedgerError::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
    pub(crate) fn not_found(what: impl Into<String>) -> Self {
        LedgerError::NotFound { what: what.into() }
    }
    /// True for a business refusal whose intent row was stored as `failed`.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            LedgerError::NotEnoughBudget { .. } | LedgerError::OppositePositionOpen { .. }
        )
    }
}

impl From<DomainError> for LedgerError {
    fn from(e: DomainError) -> Self {
        LedgerError::Invalid {
            field: e.field,
            reason: e.reason,
        }
    }
}
