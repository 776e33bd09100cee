//! The OpenAPI 3.1 description of the control API, generated (utoipa) from the
//! handlers' own request and response types and their `#[utoipa::path]` annotations,
//! and served at `GET /v1/openapi.json` (behind the bearer token like all of `/v1`: a
//! strategy generator holds the token anyway, and the document stays one rule).
//!
//! Invariants:
//! - every route of [`super::routes::table`] (which builds the router) is an operation
//!   of the document and every operation is a route: `tests/api/openapi.rs` compares
//!   the two and probes the live router with each operation;
//! - the answers every route shares are added here, once, from the route's access
//!   rule: 403 (the Origin/Host guard) everywhere, 401 under `/v1`, and 400/413/415 and
//!   503 `standby`/`not_leader` on every write; 503 `ledger_unavailable` on every `/v1`
//!   route; the `account` query parameter (`super::by_account`) on every `/v1` route and
//!   its 409 `account_not_served` on every write;
//! - error bodies are [`ErrorResponse`], the type the API serialises.

use std::sync::OnceLock;

use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::path::{HttpMethod, Operation};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use super::error::ErrorResponse;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "sluice control API",
        description = "Intents, positions, budget, the kill switch and the event stream of a sluice daemon. \
            Every `/v1` route needs `Authorization: Bearer <api.token>` (the token the daemon keeps in \
            `api.token_file`, default `<state dir>/control.token`). Decimals are strings. Every error \
            answer is `{\"error\": {\"code\", \"field\", \"reason\", \"intent_id\"}}`.",
    ),
    paths(
        super::intents::create,
        super::intents::list,
        super::intents::show,
        super::cancel::cancel,
        super::events::stream,
        super::read::positions,
        super::read::budget,
        super::control::halt_status,
        super::control::halt,
        super::control::resume,
        super::control::flatten,
        super::reconcile::last,
        serve,
        super::health::healthz,
        super::health::readyz,
        super::render_metrics,
    ),
    components(schemas(ErrorResponse)),
    security(("bearer" = [])),
    modifiers(&CommonAnswers),
    tags(
        (name = "intents", description = "Submit, read and cancel intents"),
        (name = "events", description = "The durable event stream (Server-Sent Events)"),
        (name = "account", description = "Positions and budget, from the ledger"),
        (name = "control", description = "Halt, resume, flatten, reconcile"),
        (name = "health", description = "Probes and metrics (no token)"),
        (name = "meta", description = "This document"),
    )
)]
struct ApiDoc;

/// The document as served.
pub(crate) fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// `GET /v1/openapi.json`.
#[utoipa::path(
    get, path = "/v1/openapi.json", tag = "meta", operation_id = "openapi",
    responses((status = 200, description = "This OpenAPI 3.1 document", content_type = "application/json", body = Object))
)]
pub(crate) async fn serve() -> Response {
    static RENDERED: OnceLock<Result<String, String>> = OnceLock::new();
    match RENDERED.get_or_init(|| document().to_json().map_err(|e| e.to_string())) {
        Ok(json) => ([(CONTENT_TYPE, "application/json")], json.clone()).into_response(),
        Err(e) => {
            let mut error = super::ApiError::invalid("openapi", format!("cannot be rendered: {e}"));
            error.status = StatusCode::INTERNAL_SERVER_ERROR;
            error.into_response()
        }
    }
}

/// Adds the bearer scheme and the answers the middleware gives on every route.
struct CommonAnswers;

impl Modify for CommonAnswers {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("`api.token` (or the content of `api.token_file`)"))
                    .build(),
            ),
        );
        for (path, item) in doc.paths.paths.iter_mut() {
            let token = path.starts_with("/v1/");
            let ops = [
                (HttpMethod::Get, item.get.as_mut()),
                (HttpMethod::Post, item.post.as_mut()),
            ];
            for (method, op) in ops {
                if let Some(op) = op {
                    add_common(op, token, method == HttpMethod::Post);
                }
            }
        }
    }
}

fn add_common(op: &mut Operation, token: bool, write: bool) {
    let mut answers = vec![(
        "403",
        "`forbidden`: a foreign `Origin` or `Host` (the loopback guard)",
    )];
    if token {
        answers.push((
            "401",
            "`unauthorized`: no or a wrong `Authorization: Bearer` token",
        ));
        answers.push((
            "503",
            "`ledger_unavailable` or `starting` (retry); on a write also `standby` or `not_leader` (send it to the active daemon)",
        ));
    }
    if token {
        add_account_parameter(op);
    }
    if token && write {
        answers.push((
            "409",
            "`account_not_served`: `?account=` names an account this daemon does not serve",
        ));
    }
    if write {
        answers.push((
            "400",
            "`bad_request`: the body is not the expected JSON (the field and why)",
        ));
        answers.push(("413", "`payload_too_large`: a body over 64 KiB"));
        answers.push((
            "415",
            "`unsupported_media_type`: every write must be `Content-Type: application/json`",
        ));
    }
    for (status, description) in answers {
        let response = ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorResponse")))
                    .build(),
            )
            .build();
        match op.responses.responses.entry(status.to_string()) {
            std::collections::btree_map::Entry::Vacant(slot) => {
                slot.insert(response.into());
            }
            // The route describes this status itself: the common cause is added to it.
            std::collections::btree_map::Entry::Occupied(mut slot) => {
                if let utoipa::openapi::RefOr::T(own) = slot.get_mut() {
                    if !own.description.contains(description) {
                        own.description = format!("{}; or {description}", own.description);
                    }
                }
            }
        }
    }
}

/// `?account=NAME` picks the account a multi-account daemon answers for (docs/accounts.md);
/// a route that describes the parameter itself keeps its own description.
fn add_account_parameter(op: &mut Operation) {
    use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
    use utoipa::openapi::{ObjectBuilder, Required, Type};
    let params = op.parameters.get_or_insert_with(Vec::new);
    if params.iter().any(|p| p.name == "account") {
        return;
    }
    params.push(
        ParameterBuilder::new()
            .name("account")
            .parameter_in(ParameterIn::Query)
            .required(Required::False)
            .description(Some(
                "The account to act on, by name; the daemon's first account when absent",
            ))
            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
            .build(),
    );
}
