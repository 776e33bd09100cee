//! `POST /v1/intents/{id}/cancel` (body `{}` or `{"actor": "..."}`).
//!
//! Answers (the body is `{"cancel": <what happened>, "intent": <the intent>}`):
//! - 200 `cancelled`: the intent had not started and is `cancelled` now (nothing was
//!   sent), or it had already ended `cancelled` (a repeated cancel);
//! - 202 `requested`: the intent is working; it sends no new chunk, waits for what is
//!   out, and ends `cancelled` with what filled (watch `GET /v1/intents/{id}` or the
//!   `intent` events). Repeating the cancel answers the same and changes nothing;
//! - 409 `already_ended`: the intent ended `done` or `failed`; nothing was changed;
//! - 409 `not_cancellable`: a flatten (the kill switch; see `sluice resume --force`);
//! - 404: no such intent. A standby answers 503 like every write.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};

use super::error::{ApiError, ErrorResponse};
use super::json::ApiJson;
use super::views::IntentResponse;
use super::ApiState;
use crate::domain::IntentState;
use crate::ledger::{CancelOutcome, IntentId};

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CancelBody {
    /// Who asks (kept on the intent and in its event); default `api`.
    pub actor: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub(crate) struct CancelResponse {
    /// `cancelled` or `requested`.
    pub cancel: String,
    pub intent: IntentResponse,
}

#[utoipa::path(
    post, path = "/v1/intents/{id}/cancel", tag = "intents",
    params(("id" = i64, Path, description = "The intent's id")),
    request_body = CancelBody,
    responses(
        (status = 200, description = "`cancelled`: the intent had not started (nothing was sent) or had already ended cancelled", body = CancelResponse),
        (status = 202, description = "`requested`: the intent is working; it sends no new chunk and ends `cancelled` with what filled", body = CancelResponse),
        (status = 404, description = "No such intent", body = ErrorResponse),
        (status = 409, description = "`already_ended` (done or failed) or `not_cancellable` (a flatten)", body = ErrorResponse),
    )
)]
pub(crate) async fn cancel(
    State(state): State<ApiState>,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<CancelBody>,
) -> Result<(StatusCode, Json<CancelResponse>), ApiError> {
    let id = raw
        .parse::<i64>()
        .map(IntentId)
        .map_err(|_| ApiError::bad_request("id", format!("`{raw}` is not an intent id")))?;
    let actor = body.actor.unwrap_or_else(|| "api".into());
    if actor.trim().is_empty() || actor.len() > 200 {
        return Err(ApiError::invalid("actor", "must be 1 to 200 characters"));
    }
    let (status, cancel) = match state.ledger.cancel_intent(id, &actor).await? {
        CancelOutcome::Cancelled(_) => (StatusCode::OK, "cancelled"),
        CancelOutcome::Requested { first, .. } => {
            if first {
                tracing::info!(intent_id = %id, %actor, "cancel requested for a working intent");
            }
            (StatusCode::ACCEPTED, "requested")
        }
        CancelOutcome::Ended(intent) if intent.state == IntentState::Cancelled => {
            (StatusCode::OK, "cancelled")
        }
        CancelOutcome::Ended(intent) => {
            let reason = format!(
                "intent #{id} already ended `{}`; nothing was changed",
                intent.state.as_str()
            );
            return Err(ApiError::conflict("already_ended", Some("id"), reason).with_intent(id));
        }
        CancelOutcome::Refused { reason, .. } => {
            return Err(ApiError::conflict("not_cancellable", Some("id"), reason).with_intent(id));
        }
    };
    let (_, Json(intent)) = super::intents::respond(&state, id, false).await?;
    Ok((
        status,
        Json(CancelResponse {
            cancel: cancel.into(),
            intent,
        }),
    ))
}
