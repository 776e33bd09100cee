//! The route table: the one list the router is built from ([`super::router_with`]) and
//! the OpenAPI document is checked against (`tests/api/openapi.rs`).
//!
//! Each route takes its path and methods from its handler's `#[utoipa::path]`
//! annotation, so the path a handler is served at and the path the document gives it
//! cannot differ. `Access::Token` routes sit behind the bearer-token layer.

use axum::handler::Handler;
use axum::routing::{on, MethodFilter, MethodRouter};
use utoipa::openapi::path::HttpMethod;

use super::{cancel, control, events, health, intents, openapi, read, reconcile, ApiState};

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// `Authorization: Bearer <api.token>` required (every `/v1` route).
    Token,
    /// No token: probes and the metrics scraper.
    Open,
}

/// One route: where, which methods, who may call it, and the handler.
pub(crate) struct ApiRoute {
    pub(crate) path: String,
    pub(crate) methods: Vec<HttpMethod>,
    pub(crate) access: Access,
    pub(crate) handler: MethodRouter<ApiState>,
}

/// A route as [`crate::api::routes`] lists it for tests and tools.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteInfo {
    /// Upper-case HTTP method (`GET`, `POST`).
    pub method: String,
    /// The path as axum and OpenAPI write it (`/v1/intents/{id}`).
    pub path: String,
    /// Who may call it.
    pub access: Access,
}

/// The handler `H`, served where its `#[utoipa::path]` annotation `P` says.
fn route<P: utoipa::Path, H, T>(access: Access, handler: H) -> ApiRoute
where
    H: Handler<T, ApiState>,
    T: 'static,
{
    let methods = P::methods();
    let filter = methods
        .iter()
        .map(filter_of)
        .reduce(MethodFilter::or)
        .expect("a #[utoipa::path] names at least one method");
    ApiRoute {
        path: P::path(),
        methods,
        access,
        handler: on(filter, handler),
    }
}

fn filter_of(method: &HttpMethod) -> MethodFilter {
    match method {
        HttpMethod::Get => MethodFilter::GET,
        HttpMethod::Post => MethodFilter::POST,
        HttpMethod::Put => MethodFilter::PUT,
        HttpMethod::Delete => MethodFilter::DELETE,
        HttpMethod::Options => MethodFilter::OPTIONS,
        HttpMethod::Head => MethodFilter::HEAD,
        HttpMethod::Patch => MethodFilter::PATCH,
        HttpMethod::Trace => MethodFilter::TRACE,
    }
}

fn name_of(method: &HttpMethod) -> &'static str {
    match method {
        HttpMethod::Get => "GET",
        HttpMethod::Post => "POST",
        HttpMethod::Put => "PUT",
        HttpMethod::Delete => "DELETE",
        HttpMethod::Options => "OPTIONS",
        HttpMethod::Head => "HEAD",
        HttpMethod::Patch => "PATCH",
        HttpMethod::Trace => "TRACE",
    }
}

/// Every route the API serves.
pub(crate) fn table() -> Vec<ApiRoute> {
    use Access::{Open, Token};
    vec![
        route::<intents::__path_create, _, _>(Token, intents::create),
        route::<intents::__path_list, _, _>(Token, intents::list),
        route::<intents::__path_show, _, _>(Token, intents::show),
        route::<cancel::__path_cancel, _, _>(Token, cancel::cancel),
        route::<events::__path_stream, _, _>(Token, events::stream),
        route::<read::__path_positions, _, _>(Token, read::positions),
        route::<read::__path_budget, _, _>(Token, read::budget),
        route::<control::__path_halt_status, _, _>(Token, control::halt_status),
        route::<control::__path_halt, _, _>(Token, control::halt),
        route::<control::__path_resume, _, _>(Token, control::resume),
        route::<control::__path_flatten, _, _>(Token, control::flatten),
        route::<reconcile::__path_last, _, _>(Token, reconcile::last),
        route::<openapi::__path_serve, _, _>(Token, openapi::serve),
        route::<health::__path_healthz, _, _>(Open, health::healthz),
        route::<health::__path_readyz, _, _>(Open, health::readyz),
        route::<super::__path_render_metrics, _, _>(Open, super::render_metrics),
    ]
}

/// The (method, path, access) of every route in [`table`].
pub(crate) fn infos() -> Vec<RouteInfo> {
    table()
        .iter()
        .flat_map(|r| {
            r.methods.iter().map(|m| RouteInfo {
                method: name_of(m).to_string(),
                path: r.path.clone(),
                access: r.access,
            })
        })
        .collect()
}
