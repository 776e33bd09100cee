//! The JSON body extractor: like `axum::Json`, but every failure is an [`ApiError`]
//! naming the field (`quantity: invalid type: integer, expected a string`).
//!
//! The body must be sent as `application/json`: a browser can POST `text/plain` to a
//! loopback port without a CORS preflight, and a kill switch must not be flippable by
//! a web page. An empty body reads as `{}` so bodiless `POST /v1/halt` works.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use serde::de::DeserializeOwned;

use super::error::ApiError;

pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().starts_with("application/json"));
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::bad_request("body", e.body_text()))?;
        let bytes = if bytes.iter().all(u8::is_ascii_whitespace) {
            Bytes::from_static(b"{}")
        } else if !is_json {
            return Err(ApiError::bad_request(
                "content-type",
                "send the body as application/json",
            ));
        } else {
            bytes
        };
        parse(&bytes).map(ApiJson)
    }
}

/// Deserialize `bytes`, naming the field that failed.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let inner = e.inner();
        let message = inner.to_string();
        let path = e.path().to_string();
        let field = if let Some(name) = quoted_after(&message, "unknown field `") {
            name
        } else if let Some(name) = quoted_after(&message, "missing field `") {
            name
        } else if inner.is_syntax() || inner.is_eof() || path == "." {
            "body".to_string()
        } else {
            path
        };
        ApiError::bad_request(field, message)
    })
}

fn quoted_after(message: &str, prefix: &str) -> Option<String> {
    let rest = message.split_once(prefix)?.1;
    Some(rest.split_once('`')?.0.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        quantity: Option<String>,
    }

    #[test]
    fn a_wrong_type_names_the_field() {
        let err = parse::<Body>(br#"{"quantity": 1.5}"#).unwrap_err();
        assert_eq!(err.body.field.as_deref(), Some("quantity"));
    }

    #[test]
    fn an_unknown_field_is_named_so_a_typo_is_never_ignored() {
        let err = parse::<Body>(br#"{"quantiy": "1"}"#).unwrap_err();
        assert_eq!(err.body.field.as_deref(), Some("quantiy"));
    }

    #[test]
    fn broken_json_names_the_body() {
        let err = parse::<Body>(br#"{"quantity": "#).unwrap_err();
        assert_eq!(err.body.field.as_deref(), Some("body"));
        assert_eq!(err.status, axum::http::StatusCode::BAD_REQUEST);
    }
}
