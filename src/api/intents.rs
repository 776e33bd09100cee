//! `POST /v1/intents` and `GET /v1/intents/{id}`.
//!
//! Order of checks on a submission: parse the whole body (400/422, nothing written);
//! a MARKET open that passes its checks goes to the one-statement accept first, which
//! takes only a new key with the halt clear (`ledger/accept_open.rs`); otherwise answer
//! a replayed idempotency key with the FIRST intent (200, or 409 when the body asks for
//! something else); refuse opens while halted (stored as `failed`, 409); then
//! the ledger stores the intent (202) or a refusal (422/409 with the refused intent id).
//! The executor picks `accepted` intents up from the ledger; nothing executes here.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;

use super::error::{ApiError, ErrorResponse};
use super::intent_request::{IntentBody, Meta, ParsedIntent, PositionRef};
use super::json::ApiJson;
use super::views::{IntentList, IntentResponse, IntentSummary};
use super::ApiState;
use crate::domain::{Direction, IntentSpec, LimitTerms, OpenSize, Symbol};
use crate::ledger::halt::{HaltOutcome, HaltState};
use crate::ledger::{
    IntentCreated, IntentId, IntentRow, IntentView, LedgerError, NewIntent, PositionRow,
};
use crate::metrics::{record_intent, set_halted};

type Answer = Result<(StatusCode, Json<IntentResponse>), ApiError>;

#[utoipa::path(
    post, path = "/v1/intents", tag = "intents",
    request_body = IntentBody,
    responses(
        (status = 202, description = "Stored as `accepted` (nothing sent yet); follow it with `GET /v1/intents/{id}` or `GET /v1/events`", body = IntentResponse),
        (status = 200, description = "The idempotency key was used before: the FIRST intent as it is now (`replayed` is true)", body = IntentResponse),
        (status = 409, description = "`halted` (stored as a failed intent), `opposite_position_open`, `idempotency_key_reused`", body = ErrorResponse),
        (status = 422, description = "`invalid` (the field and why) or `not_enough_budget` (stored as a failed intent)", body = ErrorResponse),
    )
)]
#[tracing::instrument(skip_all, fields(kind = body.kind.as_deref(), key = body.idempotency_key.as_deref()))]
pub(crate) async fn create(
    State(state): State<ApiState>,
    ApiJson(body): ApiJson<IntentBody>,
) -> Answer {
    let parsed = body
        .parse("api")
        .inspect_err(|_| record_intent("unknown", "invalid"))?;
    // An open looks its key up only when the one-statement accept does not take it (that
    // statement refuses a used key itself): one round trip fewer per accepted open.
    if !matches!(parsed.spec, IntentSpec::Open { .. }) {
        let key = &parsed.meta.idempotency_key;
        if let Some(first) = replay(&state, key, &parsed.spec, parsed.limit.as_ref()).await? {
            return Ok(first);
        }
    }
    let ParsedIntent {
        spec,
        meta,
        protection,
        limit,
    } = parsed;
    match spec {
        IntentSpec::Open {
            symbol,
            direction,
            size,
        } => {
            let open = OpenAsk {
                symbol,
                direction,
                size,
                protection,
                limit,
            };
            submit_open(&state, open, meta).await
        }
        IntentSpec::Flatten { symbol } => {
            let (created, _) = store_flatten(&state, symbol, &meta).await?;
            respond(&state, created.intent.id, created.replayed).await
        }
        close_or_reduce => submit_reduce(&state, close_or_reduce, meta, limit).await,
    }
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// How many of the most recent intents (1 to 1000, default 50).
    pub limit: Option<i64>,
}

#[utoipa::path(
    get, path = "/v1/intents", tag = "intents", params(ListQuery),
    responses(
        (status = 200, description = "The most recent intents, newest first", body = IntentList),
        (status = 422, description = "`limit` out of range", body = ErrorResponse),
    )
)]
pub(crate) async fn list(
    State(state): State<ApiState>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<IntentList>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request("limit", e.body_text()))?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid("limit", "must be between 1 and 1000"));
    }
    let rows = state.ledger.recent_intents(limit).await?;
    let intents = rows.iter().map(IntentSummary::from).collect();
    Ok(Json(IntentList { intents }))
}

#[utoipa::path(
    get, path = "/v1/intents/{id}", tag = "intents",
    params(("id" = i64, Path, description = "The intent's id")),
    responses(
        (status = 200, description = "The intent with its chunks, fills, state history and timings", body = IntentResponse),
        (status = 404, description = "No such intent", body = ErrorResponse),
    )
)]
pub(crate) async fn show(State(state): State<ApiState>, Path(raw): Path<String>) -> Answer {
    let id = raw
        .parse::<i64>()
        .map(IntentId)
        .map_err(|_| ApiError::bad_request("id", format!("`{raw}` is not an intent id")))?;
    respond(&state, id, false)
        .await
        .map(|(_, body)| (StatusCode::OK, body))
}

pub(super) async fn respond(state: &ApiState, id: IntentId, replayed: bool) -> Answer {
    let view = state
        .ledger
        .intent_view(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("intent #{id} not found")))?;
    let events = state.ledger.intent_timeline(id).await?;
    let mut requests = Vec::new();
    for order in &view.orders {
        requests.extend(state.ledger.attempts_for(&order.client_order_id).await?);
    }
    let status = if replayed {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    Ok((
        status,
        Json(IntentResponse::build(view, events, &requests, replayed)),
    ))
}

/// The answer to a store: a replay shows the first intent as it is now; an intent this
/// request has just stored is answered from the stored row (202, `accepted`, nothing
/// sent yet as of its acceptance) without reading it back. Its progress is
/// `GET /v1/intents/{id}`.
async fn answer_created(state: &ApiState, created: IntentCreated) -> Answer {
    if created.replayed {
        return respond(state, created.intent.id, true).await;
    }
    let view = IntentView {
        intent: created.intent,
        orders: Vec::new(),
        fills: Vec::new(),
    };
    Ok((
        StatusCode::ACCEPTED,
        Json(IntentResponse::build(view, Vec::new(), &[], false)),
    ))
}

pub(super) fn new_intent(state: &ApiState, spec: IntentSpec, meta: &Meta) -> NewIntent {
    NewIntent {
        spec,
        venue: state.venue.clone(),
        position_mode: state.position_mode,
        reference_price: None,
        idempotency_key: meta.idempotency_key.clone(),
        reason: meta.reason.clone(),
    }
}

/// What an open asks for besides its meta.
struct OpenAsk {
    symbol: Symbol,
    direction: Direction,
    size: OpenSize,
    protection: crate::domain::Protection,
    limit: Option<LimitTerms>,
}

async fn submit_open(state: &ApiState, open: OpenAsk, meta: Meta) -> Answer {
    let OpenAsk {
        symbol,
        direction,
        size,
        protection,
        limit,
    } = open;
    let unlisted = (!state.symbols.is_empty() && !state.symbols.contains(&symbol)).then(|| {
        let listed: Vec<&str> = state.symbols.iter().map(Symbol::as_str).collect();
        let why = format!(
            "{symbol} is not in exchange.symbols ({})",
            listed.join(", ")
        );
        ApiError::invalid("symbol", why)
    });
    let spec = IntentSpec::Open {
        symbol: symbol.clone(),
        direction,
        size,
    };
    let mut new = new_intent(state, spec, &meta);
    // The halt flag is read only when the open does not go through at once: the
    // one-statement accept sees it clear itself. A halt still answers before any other
    // refusal.
    // A LIMIT open is valued (budget, MIN_NOTIONAL) at its own price; a MARKET or
    // price-matched open at the mark.
    let at_limit = limit.and_then(|l| l.fixed_price());
    let checked = async {
        if let Some(e) = &unlisted {
            return Err(e.clone());
        }
        if let Some(terms) = &limit {
            super::limit_checks::check_limit(
                state.mark_prices.as_deref(),
                &symbol,
                direction.open_side(),
                terms,
                crate::exchange::Purpose::Routine,
            )
            .await?;
        }
        if let (OpenSize::Quantity(_), None) = (size, at_limit) {
            new.reference_price = Some(mark_price(state, &symbol).await?);
        }
        new.reference_price = at_limit.or(new.reference_price);
        super::sizes::check_open(
            state.mark_prices.as_deref(),
            &symbol,
            size,
            new.reference_price,
        )
        .await
    }
    .await;
    let protection = with_defaults(state, &symbol, protection);
    // A LIMIT open takes the full path (its terms are stored with it).
    if checked.is_ok() && limit.is_none() {
        let at_once = state
            .ledger
            .accept_open_at_once(&new, state.allocation, Some(&protection))
            .await?;
        if let Some(created) = at_once {
            record_intent("open", "accepted");
            return answer_created(state, created).await;
        }
    }
    // Not taken at once: a replayed key answers first, then an unlisted symbol, the halt
    // and the checks, as for any other kind.
    let asked = IntentSpec::Open {
        symbol,
        direction,
        size,
    };
    if let Some(first) = replay(state, &meta.idempotency_key, &asked, limit.as_ref()).await? {
        return Ok(first);
    }
    if let Some(e) = unlisted {
        return Err(e);
    }
    let halt = state.ledger.halt_state().await?;
    if halt.halted {
        return refuse_halted(state, &new, &halt).await;
    }
    checked?;
    let created = store(state, &new, Some(&protection), limit.as_ref()).await?;
    if !created.replayed && !created.halt_clear {
        // A halt set while this open was being checked: cancel it before anything is sent.
        let halt = state.ledger.halt_state().await?;
        let id = created.intent.id;
        if halt.halted && state.ledger.cancel_if_accepted(id, &halt.refusal()).await? {
            record_intent("open", "refused_halt");
            return Err(halted(&halt).with_intent(id));
        }
    }
    answer_created(state, created).await
}

/// The open's own protection, each leg it left out taken from `[symbols.<S>]`.
fn with_defaults(
    state: &ApiState,
    symbol: &Symbol,
    asked: crate::domain::Protection,
) -> crate::domain::Protection {
    let Some(d) = state.protection_defaults.get(symbol) else {
        return asked;
    };
    crate::domain::Protection {
        stop_loss: asked.stop_loss.or(d.stop_loss),
        take_profit: asked.take_profit.or(d.take_profit),
    }
}

/// A close or reduce: look its position up, check its size, store it by position id.
async fn submit_reduce(
    state: &ApiState,
    spec: IntentSpec<PositionRef>,
    meta: Meta,
    limit: Option<LimitTerms>,
) -> Answer {
    let Some(named) = spec.position() else {
        return Err(ApiError::invalid("kind", "is not a close or reduce"));
    };
    let position = find_position(state, named).await?;
    let quantity = spec.quantity();
    if let Some(q) = quantity.filter(|q| *q > position.quantity) {
        return Err(ApiError::invalid(
            "quantity",
            format!(
                "{q} is more than position #{} holds ({})",
                position.id, position.quantity
            ),
        ));
    }
    super::sizes::check_reduce(state.mark_prices.as_deref(), &position, quantity).await?;
    if let Some(terms) = &limit {
        let side = position.direction.close_side();
        super::limit_checks::check_limit(
            state.mark_prices.as_deref(),
            &position.symbol,
            side,
            terms,
            crate::exchange::Purpose::ReduceRisk,
        )
        .await?;
    }
    let new = new_intent(state, spec.with_position(|_| position.id), &meta);
    let created = store(state, &new, None, limit.as_ref()).await?;
    answer_created(state, created).await
}

/// Store through the ledger, counting the outcome.
async fn store(
    state: &ApiState,
    new: &NewIntent,
    protection: Option<&crate::domain::Protection>,
    limit: Option<&LimitTerms>,
) -> Result<IntentCreated, ApiError> {
    let kind = new.spec.kind().as_str();
    match state
        .ledger
        .create_intent_with(new, state.allocation, protection, limit)
        .await
    {
        Ok(created) => {
            record_intent(
                kind,
                if created.replayed {
                    "replayed"
                } else {
                    "accepted"
                },
            );
            Ok(created)
        }
        Err(e) => {
            let outcome = match &e {
                LedgerError::NotEnoughBudget { .. } => "refused_budget",
                LedgerError::OppositePositionOpen { .. } => "refused_opposite",
                LedgerError::Invalid { .. } | LedgerError::NotFound { .. } => "invalid",
                _ => "error",
            };
            record_intent(kind, outcome);
            Err(e.into())
        }
    }
}

async fn refuse_halted(state: &ApiState, new: &NewIntent, halt: &HaltState) -> Answer {
    let created = state
        .ledger
        .record_refused_intent(new, &halt.refusal())
        .await?;
    if created.replayed {
        return respond(state, created.intent.id, true).await;
    }
    record_intent("open", "refused_halt");
    Err(halted(halt).with_intent(created.intent.id))
}

fn halted(halt: &HaltState) -> ApiError {
    ApiError::conflict("halted", None, halt.refusal())
}

async fn mark_price(state: &ApiState, symbol: &Symbol) -> Result<crate::domain::Price, ApiError> {
    let Some(source) = &state.mark_prices else {
        return Err(ApiError::invalid(
            "quantity",
            "an open given by quantity needs a mark price for the budget check and no exchange is connected; give notional_usdt instead",
        ));
    };
    // An open's budget check: routine.
    let read = source.mark_price(symbol, crate::exchange::Purpose::Routine);
    read.await.map_err(|e| {
        let reason = format!(
            "no mark price for {symbol} to value the quantity ({e}); retry or give notional_usdt"
        );
        let mut err = ApiError::invalid("quantity", reason);
        err.status = StatusCode::SERVICE_UNAVAILABLE;
        err
    })
}

async fn find_position(state: &ApiState, target: &PositionRef) -> Result<PositionRow, ApiError> {
    match target {
        PositionRef::Id(id) => state
            .ledger
            .position(*id)
            .await?
            .ok_or_else(|| ApiError::invalid("position_id", format!("no position #{id}"))),
        PositionRef::Leg { symbol, direction } => state
            .ledger
            .open_positions()
            .await?
            .into_iter()
            .find(|p| p.venue == state.venue && p.symbol == *symbol && p.direction == *direction)
            .ok_or_else(|| {
                ApiError::invalid(
                    "position_id",
                    format!("no open {} {symbol} position", direction.as_str()),
                )
            }),
    }
}

/// A used idempotency key: the FIRST intent as it is now (200), or 409 when this request
/// asks for something else. `None`: the key is new.
async fn replay(
    state: &ApiState,
    key: &str,
    asked: &IntentSpec<PositionRef>,
    limit: Option<&LimitTerms>,
) -> Result<Option<(StatusCode, Json<IntentResponse>)>, ApiError> {
    let Some(first) = state.ledger.intent_by_idempotency_key(key).await? else {
        return Ok(None);
    };
    check_same_request(&first, asked, limit)?;
    record_intent(first.kind().as_str(), "replayed");
    respond(state, first.id, true).await.map(Some)
}

/// A replayed key must ask for the same thing; otherwise it is a caller bug (two
/// different requests under one key) and answering with the first would hide it.
fn check_same_request(
    first: &IntentRow,
    asked: &IntentSpec<PositionRef>,
    limit: Option<&LimitTerms>,
) -> Result<(), ApiError> {
    let same_position = match asked.position() {
        None => true,
        Some(PositionRef::Id(id)) => first.spec.position() == Some(id),
        Some(PositionRef::Leg { symbol, direction }) => {
            first.symbol.as_ref() == Some(symbol) && first.direction == Some(*direction)
        }
    };
    let same = same_position
        && first.kind() == asked.kind()
        && first.spec.symbol() == asked.symbol()
        && first.spec.direction() == asked.direction()
        && first.spec.quantity() == asked.quantity()
        && first.spec.notional() == asked.notional()
        && first.limit.as_ref() == limit;
    if same {
        return Ok(());
    }
    Err(ApiError::conflict(
        "idempotency_key_reused",
        Some("idempotency_key"),
        format!(
            "already used by intent #{} for a different request; use a new key",
            first.id
        ),
    )
    .with_intent(first.id))
}

/// Store a flatten intent and latch the halt (shared with `POST /v1/intents`).
pub(super) async fn store_flatten(
    state: &ApiState,
    symbol: Option<Symbol>,
    meta: &Meta,
) -> Result<(IntentCreated, HaltOutcome), ApiError> {
    let new = new_intent(state, IntentSpec::Flatten { symbol }, meta);
    let (created, outcome) = state.ledger.flatten(&new, &meta.actor).await?;
    set_halted(state.readiness.account(), outcome.halt.halted);
    record_intent(
        "flatten",
        if created.replayed {
            "replayed"
        } else {
            "accepted"
        },
    );
    tracing::warn!(actor = %meta.actor, intent_id = %created.intent.id, "flatten stored, trading halted");
    Ok((created, outcome))
}
