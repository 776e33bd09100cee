//! Read-only endpoints: `GET /v1/positions` and `GET /v1/budget`, both from the
//! ledger (the single source of truth), never from the exchange's reported positions.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::views::PositionView;
use super::ApiState;
use crate::ledger::Budget;

#[derive(Debug, Default, Deserialize)]
pub struct PositionsQuery {
    /// Include closed positions.
    #[serde(default)]
    pub all: bool,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct PositionsResponse {
    pub positions: Vec<PositionView>,
}

pub async fn positions(
    State(state): State<ApiState>,
    query: Result<Query<PositionsQuery>, QueryRejection>,
) -> Result<Json<PositionsResponse>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request("all", e.body_text()))?;
    let all = query.all;
    let rows = if all {
        state.ledger.all_positions().await?
    } else {
        state.ledger.open_positions().await?
    };
    let positions = rows
        .iter()
        .filter(|p| p.venue == state.venue)
        .map(PositionView::from)
        .collect();
    Ok(Json(PositionsResponse { positions }))
}

pub async fn budget(State(state): State<ApiState>) -> Result<Json<Budget>, ApiError> {
    Ok(Json(state.ledger.budget(state.allocation).await?))
}
