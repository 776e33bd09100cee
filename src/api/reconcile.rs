//! `GET /v1/reconcile`: the daemon's last reconcile of the ledger against the exchange
//! (when, why it ran, what differed, or why the exchange could not be read).
//!
//! The board is written by the daemon's reconcile task and only read here. A failed
//! run is published as a failure with its error: an unreadable exchange never shows
//! as "no differences".

use std::sync::Mutex;

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::ApiState;
use crate::ops::reconcile::ReconcileReport;

/// One reconcile run as the API shows it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ReconcileStatus {
    pub at: DateTime<Utc>,
    /// `start` (after recovery, before intents are worked) or `periodic`.
    #[schema(value_type = String)]
    pub trigger: &'static str,
    /// `clean`, `differences` or `failed`.
    #[schema(value_type = String)]
    pub outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The report of `sluice reconcile --json` (venue, mode, found, planned,
    /// repairs, remaining); described as an object, its shape is the CLI's.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub report: Option<ReconcileReport>,
}

/// The last reconcile run, shared between the daemon's task and the API.
#[derive(Debug, Default)]
pub struct ReconcileBoard {
    last: Mutex<Option<ReconcileStatus>>,
    /// `daemon.reconcile_interval_s` (0 = periodic runs off).
    interval_s: Mutex<u64>,
}

impl ReconcileBoard {
    pub(crate) fn publish(&self, status: ReconcileStatus) {
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Some(status);
    }
    /// The last reconcile run published, None before the first.
    pub fn last(&self) -> Option<ReconcileStatus> {
        self.last.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
    pub(crate) fn set_interval_s(&self, every: u64) {
        *self.interval_s.lock().unwrap_or_else(|p| p.into_inner()) = every;
    }
    fn interval_s(&self) -> u64 {
        *self.interval_s.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ReconcileResponse {
    /// None until the first run finished (a standby never runs one).
    pub last: Option<ReconcileStatus>,
    pub interval_s: u64,
}

#[utoipa::path(
    get, path = "/v1/reconcile", tag = "control",
    responses((status = 200, description = "The daemon's last reconcile of the ledger against the exchange", body = ReconcileResponse))
)]
pub(crate) async fn last(State(state): State<ApiState>) -> Json<ReconcileResponse> {
    Json(ReconcileResponse {
        last: state.reconcile.last(),
        interval_s: state.reconcile.interval_s(),
    })
}
