//! The kill switch over HTTP: `GET|POST /v1/halt`, `POST /v1/resume`, `POST /v1/flatten`.
//!
//! The halt is a ledger row (it survives restarts). A flatten sets the halt and stores a
//! flatten intent in one transaction; cancelling sluice's open orders and closing every
//! position is the executor's job, and the halt stays latched (resume refused) until
//! the flatten intents are done.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};

use super::error::{ApiError, ErrorResponse};
use super::intent_request::Meta;
use super::intents::{respond, store_flatten};
use super::json::ApiJson;
use super::views::HaltResponse;
use super::ApiState;
use crate::domain::Symbol;
use crate::ledger::halt::ResumeOutcome;
use crate::metrics::set_halted;

const DEFAULT_ACTOR: &str = "api";

/// Body of `POST /v1/halt`, `/v1/resume` and `/v1/flatten`; every field is optional.
#[derive(Debug, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ControlBody {
    pub reason: Option<String>,
    pub actor: Option<String>,
    /// `/v1/flatten` only: one symbol instead of everything.
    pub symbol: Option<String>,
    /// `/v1/flatten` only: a retried flatten with the same key stores one intent.
    pub idempotency_key: Option<String>,
    /// `/v1/resume` only: cancel flatten intents that never started.
    #[serde(default)]
    pub force: bool,
}

impl ControlBody {
    fn actor(&self) -> Result<String, ApiError> {
        let actor = self.actor.as_deref().unwrap_or(DEFAULT_ACTOR).trim();
        if actor.is_empty() || actor.len() > 128 || super::text::has_unsafe(actor) {
            return Err(ApiError::invalid(
                "actor",
                "must be 1 to 128 printable characters (no control or format characters such as U+202E)",
            ));
        }
        Ok(actor.to_string())
    }
    fn reason(&self, default: &str) -> Result<String, ApiError> {
        let reason = self.reason.as_deref().unwrap_or("").trim();
        if reason.len() > 500 || super::text::has_unsafe(reason) {
            return Err(ApiError::invalid(
                "reason",
                "must be at most 500 printable characters (no control or format characters such as U+202E)",
            ));
        }
        Ok(if reason.is_empty() { default } else { reason }.to_string())
    }
}

#[utoipa::path(
    get, path = "/v1/halt", tag = "control",
    responses((status = 200, description = "The halt flag", body = HaltResponse))
)]
pub(crate) async fn halt_status(
    State(state): State<ApiState>,
) -> Result<Json<HaltResponse>, ApiError> {
    let halt = state.ledger.halt_state().await?;
    Ok(Json(HaltResponse {
        halt,
        cancelled_intents: Vec::new(),
        flatten_intent: None,
    }))
}

#[utoipa::path(
    post, path = "/v1/halt", tag = "control", request_body = ControlBody,
    responses(
        (status = 200, description = "Halted: opens are refused; accepted opens that never started are cancelled", body = HaltResponse),
        (status = 422, description = "A field only another endpoint accepts, or a bad actor/reason", body = ErrorResponse),
    )
)]
#[tracing::instrument(skip_all)]
pub(crate) async fn halt(
    State(state): State<ApiState>,
    ApiJson(body): ApiJson<ControlBody>,
) -> Result<Json<HaltResponse>, ApiError> {
    refuse_flatten_fields(&body)?;
    if body.force {
        return Err(ApiError::invalid("force", "is only accepted by /v1/resume"));
    }
    let actor = body.actor()?;
    let reason = body.reason("manual halt")?;
    let outcome = state.ledger.halt(&actor, &reason).await?;
    set_halted(state.readiness.account(), true);
    tracing::warn!(%actor, %reason, cancelled = outcome.cancelled_opens.len(), "trading halted");
    Ok(Json(HaltResponse {
        halt: outcome.halt,
        cancelled_intents: outcome.cancelled_opens,
        flatten_intent: None,
    }))
}

#[utoipa::path(
    post, path = "/v1/resume", tag = "control", request_body = ControlBody,
    responses(
        (status = 200, description = "Resumed (with `force`, flatten intents that never started are cancelled)", body = HaltResponse),
        (status = 409, description = "`flatten_pending`: a flatten is not yet confirmed flat; the halt stays latched", body = ErrorResponse),
        (status = 422, description = "A field only another endpoint accepts, or a bad actor", body = ErrorResponse),
    )
)]
#[tracing::instrument(skip_all)]
pub(crate) async fn resume(
    State(state): State<ApiState>,
    ApiJson(body): ApiJson<ControlBody>,
) -> Result<Json<HaltResponse>, ApiError> {
    refuse_flatten_fields(&body)?;
    let actor = body.actor()?;
    match state.ledger.resume(&actor, body.force).await? {
        ResumeOutcome::Resumed {
            halt,
            cancelled_flattens,
        } => {
            set_halted(state.readiness.account(), false);
            tracing::warn!(%actor, "trading resumed");
            Ok(Json(HaltResponse {
                halt,
                cancelled_intents: cancelled_flattens,
                flatten_intent: None,
            }))
        }
        ResumeOutcome::FlattenPending { intents } => {
            let ids: Vec<String> = intents.iter().map(|i| format!("#{i}")).collect();
            Err(ApiError::conflict(
                "flatten_pending",
                None,
                format!(
                    "flatten intent(s) {} not yet confirmed flat: the halt stays latched (force cancels flattens that never started)",
                    ids.join(", ")
                ),
            ))
        }
    }
}

#[utoipa::path(
    post, path = "/v1/flatten", tag = "control", request_body = ControlBody,
    responses(
        (status = 202, description = "A flatten intent is stored and the halt latched until it is done", body = HaltResponse),
        (status = 200, description = "The idempotency key was used before: the first flatten", body = HaltResponse),
        (status = 422, description = "A bad symbol, key, actor or reason", body = ErrorResponse),
    )
)]
#[tracing::instrument(skip_all)]
pub(crate) async fn flatten(
    State(state): State<ApiState>,
    ApiJson(body): ApiJson<ControlBody>,
) -> Result<(StatusCode, Json<HaltResponse>), ApiError> {
    if body.force {
        return Err(ApiError::invalid("force", "is only accepted by /v1/resume"));
    }
    let symbol = body.symbol.as_deref().map(Symbol::new).transpose()?;
    let key = match body.idempotency_key.as_deref().map(str::trim) {
        Some("") => return Err(ApiError::invalid("idempotency_key", "is empty")),
        Some(k) if k.len() > 128 => {
            return Err(ApiError::invalid(
                "idempotency_key",
                "is longer than 128 characters",
            ))
        }
        Some(k) => k.to_string(),
        None => format!("flatten-{}", uuid::Uuid::new_v4()),
    };
    let meta = Meta {
        idempotency_key: key,
        reason: body.reason("flatten")?,
        actor: body.actor()?,
    };
    let (created, outcome) = store_flatten(&state, symbol, &meta).await?;
    let (status, Json(intent)) = respond(&state, created.intent.id, created.replayed).await?;
    Ok((
        status,
        Json(HaltResponse {
            halt: outcome.halt,
            cancelled_intents: outcome.cancelled_opens,
            flatten_intent: Some(intent),
        }),
    ))
}

fn refuse_flatten_fields(body: &ControlBody) -> Result<(), ApiError> {
    if body.symbol.is_some() {
        return Err(ApiError::invalid(
            "symbol",
            "is only accepted by /v1/flatten",
        ));
    }
    if body.idempotency_key.is_some() {
        return Err(ApiError::invalid(
            "idempotency_key",
            "is only accepted by /v1/flatten",
        ));
    }
    Ok(())
}
