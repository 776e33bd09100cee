//! API keys through the admin API: `POST /sim/accounts/<api_key>/keys` registers another
//! key on that key's account (a Binance user may hold several keys, e.g. an HMAC key and
//! an Ed25519 key), and [`key_body`] reads the new key of a rotation.
//!
//! Body: `{"api_key": "...", "api_secret": "..."}` for an HMAC key, or
//! `{"api_key": "...", "public_key_pem": "-----BEGIN PUBLIC KEY-----..."}` for an Ed25519
//! or RSA key. A public key the simulator cannot use is answered 400 with Binance's code
//! (`-4056` wrong key type, `-4057` bad RSA key) beside the field-naming `error`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::keys::KeyAuth;
use crate::server::state::SimState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyBody {
    api_key: String,
    #[serde(default)]
    api_secret: Option<String>,
    #[serde(default)]
    public_key_pem: Option<String>,
}

/// A refused key body: the 400 answer's JSON.
pub(crate) struct Refused(Value);

impl Refused {
    pub(crate) fn into_response(self) -> Response {
        (StatusCode::BAD_REQUEST, axum::Json(self.0)).into_response()
    }
}

fn refuse(msg: String) -> Refused {
    Refused(json!({ "error": msg }))
}

/// The new key's name and verifier from a request body, or why it is refused.
pub(crate) fn key_body(body: &[u8]) -> Result<(String, KeyAuth), Refused> {
    let b: KeyBody =
        serde_json::from_slice(body).map_err(|e| refuse(format!("invalid key: {e}")))?;
    if crate::auth::check_key_format(Some(&b.api_key)).is_err() {
        return Err(refuse("api_key: must be 1-128 ASCII letters/digits".into()));
    }
    let auth = match (b.api_secret, b.public_key_pem) {
        (Some(s), None) if !s.is_empty() => KeyAuth::Hmac(s),
        (None, Some(pem)) => KeyAuth::from_public_pem(&pem).map_err(|e| {
            let msg = "public_key_pem: not an Ed25519 or RSA (2048+ bits) public key";
            Refused(json!({ "error": msg, "code": e.code, "msg": e.msg }))
        })?,
        _ => {
            return Err(refuse(
                "api_secret, public_key_pem: give exactly one, not empty".into(),
            ))
        }
    };
    Ok((b.api_key, auth))
}

/// `POST /sim/accounts/<api_key>/keys`: one more key on `<api_key>`'s account.
pub(crate) async fn add_key(
    State(s): State<Arc<SimState>>,
    Path(existing): Path<String>,
    body: Bytes,
) -> Response {
    let (api_key, auth) = match key_body(&body) {
        Ok(k) => k,
        Err(r) => return r.into_response(),
    };
    let kind = auth.kind();
    let mut venue = s.venue();
    let Some((account, _)) = venue.account_by_key(&existing) else {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({ "error": "api_key: no such key" })),
        )
            .into_response();
    };
    if venue.account_by_key(&api_key).is_some() {
        return (
            StatusCode::CONFLICT,
            axum::Json(json!({ "error": "api_key: already registered" })),
        )
            .into_response();
    }
    venue.add_key(account, &api_key, auth);
    (
        StatusCode::OK,
        axum::Json(json!({ "added": true, "type": kind })),
    )
        .into_response()
}
