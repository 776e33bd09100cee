//! The JSON body extractor: like `axum::Json`, but every failure is an [`ApiError`]
//! naming the field (`quantity: invalid type: integer, expected a string`).
//!
//! Every write must be sent as `application/json` (exact media type, any case,
//! `charset=utf-8` the only parameter allowed), *including* a bodiless one: a browser
//! can POST `text/plain` or an empty body to a loopback port without a CORS
//! preflight, and a kill switch must not be flippable by a web page. So an empty body
//! is 415 without the header; with it, it must be a JSON object (`{}` for "no
//! fields"). Trailing bytes after the JSON value are refused (400), and a body over
//! the limit answers 413.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

use super::error::ApiError;

pub(crate) struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        check_content_type(req.headers())?;
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::too_large(super::MAX_BODY_BYTES)
            } else {
                ApiError::bad_request("body", e.body_text())
            }
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::bad_request(
                "body",
                "is empty; send a JSON object (`{}` when no field is needed)",
            ));
        }
        parse(&bytes).map(ApiJson)
    }
}

/// Is `value` exactly `application/json`, optionally `; charset=utf-8` (any case)?
pub(crate) fn is_json_media_type(value: &str) -> bool {
    let mut parts = value.split(';');
    let media = parts.next().unwrap_or("").trim();
    if !media.eq_ignore_ascii_case("application/json") {
        return false;
    }
    parts.all(|param| {
        let Some((name, val)) = param.split_once('=') else {
            return false;
        };
        let val = val.trim().trim_matches('"');
        name.trim().eq_ignore_ascii_case("charset") && val.eq_ignore_ascii_case("utf-8")
    })
}

fn check_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let mut values = headers.get_all(CONTENT_TYPE).iter();
    let ok = match (values.next(), values.next()) {
        (Some(v), None) => v.to_str().is_ok_and(is_json_media_type),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(ApiError::unsupported_media_type())
    }
}

/// Deserialize `bytes`, naming the field that failed.
pub(crate) fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
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
    })?;
    de.end().map_err(|_| {
        ApiError::bad_request(
            "body",
            "has trailing bytes after the JSON value; send exactly one JSON object",
        )
    })?;
    Ok(value)
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
    fn trailing_bytes_after_the_object_are_refused() {
        let err = parse::<Body>(br#"{"quantity":"1"}{"quantity":"5000"} junk"#).unwrap_err();
        assert_eq!(err.body.field.as_deref(), Some("body"));
        assert!(err.body.reason.contains("trailing"), "{}", err.body.reason);
        assert!(parse::<Body>(b"{\"quantity\":\"1\"}  \n").is_ok());
    }

    #[test]
    fn the_media_type_is_exact_and_any_case() {
        for ok in [
            "application/json",
            "APPLICATION/JSON",
            "application/json; charset=UTF-8",
        ] {
            assert!(is_json_media_type(ok), "{ok}");
        }
        for bad in [
            "application/jsonp",
            "application/json-seq",
            "text/plain",
            "application/json; charset=latin1",
            "application/json; boundary=x",
            "",
        ] {
            assert!(!is_json_media_type(bad), "{bad}");
        }
    }

    #[test]
    fn broken_json_names_the_body() {
        let err = parse::<Body>(br#"{"quantity": "#).unwrap_err();
        assert_eq!(err.body.field.as_deref(), Some("body"));
        assert_eq!(err.status, axum::http::StatusCode::BAD_REQUEST);
    }
}
