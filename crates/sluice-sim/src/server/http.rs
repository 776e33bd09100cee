//! The axum router: `/fapi/*` through the pipeline, WebSocket paths, and `/sim/*` admin,
//! all on one listener.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;

use crate::admin;
use crate::error::ApiError;
use crate::server::pipeline::{self, RawRequest};
use crate::server::state::SimState;
use crate::ws::routes as ws;

pub(crate) fn router(state: Arc<SimState>) -> Router {
    Router::new()
        .route("/sim/state", get(admin::state))
        .route("/sim/time", get(admin::time))
        .route(
            "/sim/faults",
            post(admin::add_fault).delete(admin::clear_faults),
        )
        .route("/sim/marks", post(admin::set_mark))
        .route("/sim/accounts/{api_key}/revoke", post(admin::revoke))
        .route("/sim/accounts/{api_key}/rotate", post(admin::rotate))
        .route(
            "/sim/accounts/{api_key}/keys",
            post(crate::admin_keys::add_key),
        )
        .route(
            "/sim/accounts/{api_key}/permissions",
            post(crate::admin_permissions::set_permissions),
        )
        .route("/private/ws/{key}", any(ws::private_ws_path))
        .route("/private/ws", any(ws::private_ws_query))
        .route("/private/stream", any(ws::private_stream))
        .route("/market/ws/{*streams}", any(ws::market_ws))
        .route("/public/ws/{*streams}", any(ws::market_ws))
        .route("/market/stream", any(ws::market_stream))
        .route("/public/stream", any(ws::market_stream))
        .route("/stream", any(ws::market_stream))
        .route("/ws/{*path}", any(ws::legacy_ws))
        .route("/ws-fapi/v1", any(crate::wsapi::route))
        .fallback(fapi)
        .with_state(state)
}

async fn fapi(
    State(state): State<Arc<SimState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(body) = std::str::from_utf8(&body) else {
        let e = ApiError::new(400, -1100, "Illegal characters found in a parameter.");
        return json_response(e.http, e.body(), Vec::new());
    };
    let api_key = headers.get("x-mbx-apikey").and_then(|v| v.to_str().ok());
    // Parameters travel in a body only when it is declared form-encoded
    // (docs/binance-fapi.md §1.3); any other body is not read as parameters.
    let body = if is_form(&headers) { body } else { "" };
    let req = RawRequest {
        method: method.as_str(),
        path: uri.path(),
        query: uri.query().unwrap_or(""),
        body,
        ip: peer.ip(),
        api_key,
    };
    let out = pipeline::handle(&state, req).await;
    json_response(out.status, out.body, out.headers)
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

fn json_response(status: u16, body: String, headers: Vec<(&'static str, String)>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    h.insert("content-type", HeaderValue::from_static("application/json"));
    for (name, value) in headers {
        // `from_bytes` lower-cases; a static upper-case name would panic in `insert`.
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            h.insert(n, v);
        }
    }
    resp
}
