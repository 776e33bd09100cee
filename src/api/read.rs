//! Read-only endpoints: `GET /v1/positions` and `GET /v1/budget`, both from the
//! ledger (the single source of truth), never from the exchange's reported positions.
//!
//! `GET /v1/positions` also lists the MARKET caps the router learned from -4005
//! (seed 000): per symbol, the cap, the published one it undercuts, when and why it was
//! learned, and when the published cap is tried again. Caps are per symbol, not per
//! position, so they are listed beside the positions (a cap also limits future opens).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::views::PositionView;
use super::ApiState;
use crate::domain::{Qty, Symbol};
use crate::ledger::{Budget, SymbolCap};

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PositionsQuery {
    /// Include closed positions.
    #[serde(default)]
    pub all: bool,
    /// The account whose positions to list (docs/accounts.md); the default one if absent.
    pub account: Option<String>,
}

/// The id of the account named `name` (404 when there is none); None for no name.
pub(crate) async fn account_id(
    state: &ApiState,
    name: Option<&str>,
) -> Result<Option<i64>, ApiError> {
    match name {
        None => Ok(None),
        Some(name) => Ok(Some(state.ledger.account(Some(name)).await?.id)),
    }
}

/// `GET /v1/positions`: the ledger's positions and the caps learned per symbol.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PositionsResponse {
    /// Open positions (all positions when asked with `all=true`).
    pub positions: Vec<PositionView>,
    /// Caps learned from -4005, one per symbol (expired ones too: they are evidence).
    #[serde(default)]
    pub learned_caps: Vec<LearnedCapView>,
}

/// A MARKET quantity cap the exchange enforced without publishing it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LearnedCapView {
    pub symbol: Symbol,
    pub learned_market_max_qty: Qty,
    /// The published MARKET_LOT_SIZE maxQty it undercuts (None if not recorded).
    pub published_market_max_qty: Option<Qty>,
    pub learned_at: DateTime<Utc>,
    /// The rejection that taught it, in words.
    pub reason: String,
    /// From this time the router plans with the published cap again.
    pub retry_published_at: Option<DateTime<Utc>>,
    /// True while the router still plans with the learned cap.
    pub in_force: bool,
}

impl LearnedCapView {
    pub fn of(cap: &SymbolCap, now: DateTime<Utc>) -> Self {
        LearnedCapView {
            symbol: cap.symbol.clone(),
            learned_market_max_qty: cap.learned_market_max_qty,
            published_market_max_qty: cap.published_market_max_qty,
            learned_at: cap.learned_at,
            reason: cap.reason.clone(),
            retry_published_at: cap.retry_after,
            in_force: cap.retry_after.is_none_or(|t| now < t),
        }
    }
}

#[utoipa::path(
    get, path = "/v1/positions", tag = "account", params(PositionsQuery),
    responses((status = 200, description = "The ledger's positions and the caps learned per symbol", body = PositionsResponse))
)]
pub(crate) async fn positions(
    State(state): State<ApiState>,
    query: Result<Query<PositionsQuery>, QueryRejection>,
) -> Result<Json<PositionsResponse>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request("all", e.body_text()))?;
    let all = query.all;
    let rows = match account_id(&state, query.account.as_deref()).await? {
        Some(account) => state.ledger.positions_of(account, all).await?,
        None if all => state.ledger.all_positions().await?,
        None => state.ledger.open_positions().await?,
    };
    let positions = rows
        .iter()
        .filter(|p| p.venue == state.venue)
        .map(PositionView::from)
        .collect();
    let now = Utc::now();
    let learned_caps = state
        .ledger
        .symbol_caps(&state.venue)
        .await?
        .iter()
        .map(|c| LearnedCapView::of(c, now))
        .collect();
    Ok(Json(PositionsResponse {
        positions,
        learned_caps,
    }))
}

#[utoipa::path(
    get, path = "/v1/budget", tag = "account",
    responses((status = 200, description = "`budget.allocation_usdt`, what open positions use, what live opens reserve, and what is left", body = Budget))
)]
pub(crate) async fn budget(State(state): State<ApiState>) -> Result<Json<Budget>, ApiError> {
    Ok(Json(state.ledger.budget(state.allocation).await?))
}
