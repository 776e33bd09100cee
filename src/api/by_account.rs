//! One control API for every account a daemon serves (docs/accounts.md): a request with
//! `?account=<name>` naming another account this process serves is answered by that
//! account's own API (its ledger pool, readiness, role and reconcile board); without it,
//! or naming this daemon's first account, by the first account's.
//!
//! `/readyz` without `?account=` on a daemon serving several accounts is the whole
//! daemon's answer over every account (`health::daemon_readyz`).
//!
//! Invariant: a write (any method but GET/HEAD) naming an account this process does not
//! serve is refused with 409 `account_not_served`, never applied to another account.
//! Reads naming such an account go to the first account's API, whose account-aware
//! reads (`/v1/positions`, `/v1/events`) read that account's rows from the ledger.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::Request;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower::ServiceExt;

use super::error::ErrorBody;
use super::health::daemon_readyz;
use super::{ApiError, Readiness};

/// `default` (the API of the account `default_name`) answering for itself and handing
/// requests for the accounts of `others` to their own APIs; `readiness` holds every
/// served account's, for the daemon's own `/readyz`.
pub(crate) fn route(
    default_name: String,
    default: Router,
    others: BTreeMap<String, Router>,
    readiness: Vec<Arc<Readiness>>,
) -> Router {
    let served = Arc::new(Served {
        default_name,
        others,
        readiness,
    });
    default.layer(axum::middleware::from_fn(
        move |req: Request, next: Next| {
            let served = served.clone();
            async move { pick(&served, req, next).await }
        },
    ))
}

struct Served {
    default_name: String,
    others: BTreeMap<String, Router>,
    readiness: Vec<Arc<Readiness>>,
}

async fn pick(served: &Served, req: Request, next: Next) -> Response {
    let (default_name, others) = (served.default_name.as_str(), &served.others);
    let Some(name) = account_param(req.uri().query()) else {
        if !others.is_empty() && req.uri().path() == "/readyz" {
            let (code, body) = daemon_readyz(&served.readiness);
            return (code, axum::Json(body)).into_response();
        }
        return next.run(req).await;
    };
    if let Some(api) = others.get(&name) {
        return match api.clone().oneshot(req).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
    }
    let reads = matches!(*req.method(), Method::GET | Method::HEAD);
    if name == default_name || reads {
        return next.run(req).await;
    }
    ApiError {
        status: StatusCode::CONFLICT,
        body: ErrorBody {
            code: "account_not_served",
            field: Some("account".into()),
            reason: format!(
                "this daemon does not serve account '{name}' (it serves {}); send it to the daemon that does",
                std::iter::once(default_name)
                    .chain(others.keys().map(String::as_str))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            intent_id: None,
        },
    }
    .into_response()
}

/// The `account` query parameter, percent-decoded; None when absent.
fn account_param(query: Option<&str>) -> Option<String> {
    let query = query?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "account")
        .map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_account_parameter_is_found_among_others_and_decoded() {
        assert_eq!(account_param(Some("since=3&account=b")), Some("b".into()));
        assert_eq!(account_param(Some("account=mm%2D1")), Some("mm-1".into()));
        assert_eq!(account_param(Some("since=3")), None);
        assert_eq!(account_param(None), None);
    }
}
