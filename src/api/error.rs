//! The control API's one error shape:
//! `{"error": {"code": "...", "field": "...", "reason": "...", "intent_id": 7}}`.
//!
//! `field` names what the caller must change (absent when nothing in the request is
//! wrong); `intent_id` is present when a refusal was stored as a `failed` intent.
//! Bad input is 400 (not JSON, wrong type) or 422 (well-formed but not acceptable);
//! business refusals are 409/422; ledger failures are 503 (retry) or 500.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use crate::domain::DomainError;
use crate::ledger::{IntentId, LedgerError};

/// What went wrong, in the shape every error answer of the API has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorBody {
    /// Machine-readable: `bad_request`, `invalid`, `unauthorized`, `forbidden`,
    /// `not_found`, `unsupported_media_type`, `payload_too_large`, `not_enough_budget`,
    /// `opposite_position_open`, `halted`, `idempotency_key_reused`,
    /// `invalid_transition`, `already_ended`, `not_cancellable`, `flatten_pending`,
    /// `since_too_old`, `account_not_served`, `standby`, `not_leader`, `starting`,
    /// `ledger_unavailable`, `ledger_corrupt`.
    #[schema(value_type = String, example = "invalid")]
    pub code: &'static str,
    /// The request field (or header) the caller must change; absent when nothing in
    /// the request is wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The reason, in words.
    pub reason: String,
    /// The intent a refusal was stored as (a `failed` intent), when one was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub intent_id: Option<IntentId>,
}

/// The body of every error answer: `{"error": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorResponse {
    pub error: ErrorBody,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub body: ErrorBody,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, field: Option<String>, reason: String) -> Self {
        ApiError {
            status,
            body: ErrorBody {
                code,
                field,
                reason,
                intent_id: None,
            },
        }
    }
    /// The body could not be read as the expected JSON (syntax, type, unknown field).
    pub(crate) fn bad_request(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            Some(field.into()),
            reason.into(),
        )
    }
    /// A write without `Content-Type: application/json` (the JSON extractor's rule).
    pub(crate) fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            Some("content-type".into()),
            "every write must be sent as `Content-Type: application/json` (charset utf-8), also with an empty object `{}`".into(),
        )
    }
    /// A body over the API's size limit.
    pub(crate) fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            Some("body".into()),
            format!("is larger than {limit} bytes"),
        )
    }
    /// A request from a foreign web origin or to a foreign host name (the guard's rule).
    pub(crate) fn forbidden(field: &str, reason: impl Into<String>) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            Some(field.into()),
            reason.into(),
        )
    }
    /// Well-formed, but a field's value is not acceptable.
    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            Some(field.into()),
            reason.into(),
        )
    }
    pub(crate) fn not_found(what: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", None, what.into())
    }
    pub(crate) fn conflict(
        code: &'static str,
        field: Option<&str>,
        reason: impl Into<String>,
    ) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            code,
            field.map(str::to_string),
            reason.into(),
        )
    }
    pub(crate) fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            Some("authorization".into()),
            "a valid `Authorization: Bearer <api.token>` header is required".into(),
        )
    }
    pub(crate) fn with_intent(mut self, id: IntentId) -> Self {
        self.body.intent_id = Some(id);
        self
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        ApiError::invalid(e.field, e.reason)
    }
}

impl From<LedgerError> for ApiError {
    fn from(e: LedgerError) -> Self {
        let reason = e.to_string();
        match e {
            LedgerError::NotEnoughBudget { intent_id, .. } => {
                let status = StatusCode::UNPROCESSABLE_ENTITY;
                let field = Some("notional_usdt".to_string());
                ApiError::new(status, "not_enough_budget", field, reason).with_intent(intent_id)
            }
            LedgerError::OppositePositionOpen { intent_id, .. } => {
                ApiError::conflict("opposite_position_open", Some("side"), reason)
                    .with_intent(intent_id)
            }
            LedgerError::Invalid { field, reason } => ApiError::invalid(field, reason),
            LedgerError::NotFound { what } => ApiError::not_found(format!("{what} not found")),
            LedgerError::InvalidTransition { intent_id, .. } => {
                ApiError::conflict("invalid_transition", None, reason).with_intent(intent_id)
            }
            LedgerError::Database(_) => {
                tracing::error!(error = %reason, "ledger unavailable");
                let status = StatusCode::SERVICE_UNAVAILABLE;
                ApiError::new(status, "ledger_unavailable", None, reason)
            }
            LedgerError::Corrupt { .. } | LedgerError::Migrate(_) => {
                tracing::error!(error = %reason, "ledger is inconsistent");
                let status = StatusCode::INTERNAL_SERVER_ERROR;
                ApiError::new(status, "ledger_corrupt", None, reason)
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(ErrorResponse { error: self.body })).into_response()
    }
}
