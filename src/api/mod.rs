//! The control API (axum): loopback by default, bearer token, thin handlers.
//!
//! A token is the default (`api.auth = "none"` is the explicit opt-out, loopback
//! only); [`guard`] refuses foreign `Origin`/`Host` values; [`json`] requires
//! `application/json` on every write and refuses trailing bytes; [`server`] bounds
//! connections and header/idle time.
//!
//! Handlers hold no SQL and no wire types: they parse the request into domain types,
//! call the ledger, and render its read models ([`views`]). `/healthz`, `/readyz` and
//! `/metrics` answer without a token (they reveal no positions or secrets) so probes
//! and scrapers can use them; everything under `/v1` requires
//! `Authorization: Bearer <api.token>` when a token is set.
//!
//! Endpoints: `POST|GET /v1/intents`, `GET /v1/intents/{id}`,
//! `POST /v1/intents/{id}/cancel`, `GET /v1/events` (Server-Sent Events), `GET /v1/positions`,
//! `GET /v1/budget`, `GET|POST /v1/halt`, `POST /v1/resume`, `POST /v1/flatten`,
//! `GET /v1/reconcile`, `GET /v1/openapi.json`, `GET /healthz`, `GET /readyz`,
//! `GET /metrics`. The table of routes is [`routes`]; the OpenAPI 3.1 document
//! generated from the handlers' types is [`openapi`].
//!
//! Hot standby: only a daemon whose role accepts writes (the leader, or one without
//! an executor) runs a non-GET request; a standby answers 503 `standby` (reads work).

pub(crate) mod auth;
pub(crate) mod by_account;
pub(crate) mod cancel;
pub(crate) mod control;
pub(crate) mod error;
pub(crate) mod events;
pub(crate) mod guard;
pub(crate) mod health;
pub(crate) mod intent_request;
pub(crate) mod intents;
pub(crate) mod json;
mod limit_body;
pub(crate) mod limit_checks;
pub(crate) mod openapi;
pub(crate) mod prices;
pub(crate) mod protection_body;
pub(crate) mod read;
pub(crate) mod reconcile;
pub(crate) mod routes;
pub(crate) mod server;
pub(crate) mod sizes;
pub(crate) mod text;
pub(crate) mod views;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::domain::{PositionMode, Symbol, Usdt};
use crate::ledger::Ledger;
use crate::settings::Secret;

pub(crate) use error::ApiError;
pub use events::EventHub;
pub use health::{Readiness, Role};
pub use prices::{ExchangeMarkPrices, MarkPrices};
pub use read::PositionsResponse;
pub use reconcile::ReconcileBoard;
pub use routes::{Access, RouteInfo};

/// Bodies are small JSON objects; anything bigger is a mistake or an attack.
pub(crate) const MAX_BODY_BYTES: usize = 64 * 1024;

/// What the handlers share. Cheap to clone.
#[derive(Clone)]
pub struct ApiState {
    /// What `/readyz` reports; shared with the parts that change it.
    pub readiness: Arc<Readiness>,
    /// The bearer token every `/v1` request must carry; None only on a loopback-only daemon.
    pub token: Option<Secret>,
    /// The single source of truth: intents are written here before anything is sent.
    pub ledger: Ledger,
    /// The venue name intents are stored under (`binance-usdm`).
    pub venue: String,
    /// The account's position mode (`exchange.position_mode`): which legs an intent may name.
    pub position_mode: PositionMode,
    /// `exchange.symbols`: the symbols opens may use (empty = any). Closes are not
    /// limited, so a position on a symbol dropped from the list can still be closed.
    pub symbols: Vec<Symbol>,
    /// `budget.allocation_usdt`: what opens may spend in total.
    pub allocation: Usdt,
    /// Values an open given by quantity for the budget check; None when no exchange
    /// is connected (such opens are then refused, naming the reason).
    pub mark_prices: Option<Arc<dyn MarkPrices>>,
    /// Renders `GET /metrics`; None serves no metrics.
    pub metrics: Option<PrometheusHandle>,
    /// The daemon's last reconcile run (`GET /v1/reconcile`).
    pub reconcile: Arc<reconcile::ReconcileBoard>,
    /// `[symbols.<S>] stop_loss_pct` / `take_profit_pct`: the protection an open of the
    /// symbol gets for each leg it does not ask for itself.
    pub protection_defaults: std::collections::BTreeMap<Symbol, crate::domain::Protection>,
    /// Wakes the `GET /v1/events` streams; closed when the daemon stops.
    pub events: Arc<events::EventHub>,
}

/// [`router_with`] behind [`guard::Guard::loopback`] (for a listener the caller binds).
pub fn router(state: ApiState) -> Router {
    router_with(state, guard::Guard::loopback())
}

/// The API; `guard` refuses foreign `Origin` and `Host` values before routing.
pub(crate) fn router_with(state: ApiState, guard: guard::Guard) -> Router {
    let mut v1 = Router::new();
    let mut open = Router::new();
    for route in routes::table() {
        match route.access {
            Access::Token => v1 = v1.route(&route.path, route.handler),
            Access::Open => open = open.route(&route.path, route.handler),
        }
    }
    let v1 = v1.route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    open.merge(v1)
        .fallback(|| async { ApiError::not_found("no such endpoint") })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            writes_need_leader,
        ))
        .layer(middleware::from_fn_with_state(guard, guard::check))
        .with_state(state)
}

/// Every route the API serves (method, path, whether it needs the token): the table the
/// router is built from, for tests and tools that check the OpenAPI document against it.
pub fn routes() -> Vec<RouteInfo> {
    routes::infos()
}

/// Refuse every write on a daemon that does not lead (standby, starting, stopping):
/// two daemons must never both act on the ledger. Reads always pass.
async fn writes_need_leader(State(state): State<ApiState>, req: Request, next: Next) -> Response {
    let role = state.readiness.role();
    if matches!(*req.method(), Method::GET | Method::HEAD) || role.accepts_writes() {
        return next.run(req).await;
    }
    let (_, reason) = state.readiness.get();
    let (code, reason) = match role {
        Role::Standby => (
            "standby",
            format!("this daemon is the standby and does not trade; send writes to the active daemon ({reason})"),
        ),
        _ => (
            "not_leader",
            format!("this daemon is not the active one yet or any more ({reason}); retry on the active daemon"),
        ),
    };
    ApiError {
        status: StatusCode::SERVICE_UNAVAILABLE,
        body: error::ErrorBody {
            code,
            field: None,
            reason,
            intent_id: None,
        },
    }
    .into_response()
}

/// `/v1/*` only: refuse a request without the configured bearer token.
async fn require_token(State(state): State<ApiState>, req: Request, next: Next) -> Response {
    if let Some(token) = &state.token {
        let header = req
            .headers()
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        if !auth::token_matches(token, header) {
            let mut response = ApiError::unauthorized().into_response();
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return response;
        }
    }
    next.run(req).await
}

/// Prometheus text exposition of every series in [`crate::metrics`].
#[utoipa::path(
    get, path = "/metrics", tag = "health", security(()),
    responses((status = 200, description = "Prometheus text exposition (version 0.0.4)", content_type = "text/plain", body = String))
)]
async fn render_metrics(State(state): State<ApiState>) -> Response {
    let body = state
        .metrics
        .as_ref()
        .map(PrometheusHandle::render)
        .unwrap_or_default();
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        body,
    )
        .into_response()
}
