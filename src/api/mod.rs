//! The control API (axum): loopback by default, bearer token, thin handlers.
//!
//! Handlers hold no SQL and no wire types: they call the ledger's read models and the
//! router's submission functions. `/healthz`, `/readyz` and `/metrics` answer without a
//! token (they reveal no positions or secrets) so probes and scrapers can use them;
//! everything under `/v1` requires `Authorization: Bearer <api.token>` when a token is set.

pub mod auth;
pub mod health;

use std::sync::Arc;

use axum::routing::get;
use axum::Router;

pub use health::Readiness;

/// What the handlers share.
#[derive(Clone)]
pub struct ApiState {
    pub readiness: Arc<Readiness>,
    pub token: Option<crate::settings::Secret>,
}

pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .with_state(state)
}
