//! The wire error every simulator endpoint answers with: an HTTP status plus Binance's
//! `{"code": <negative int>, "msg": <string>}` body. Messages are Binance's exact texts so
//! clients that match on them behave as they would against the real venue.

use std::fmt;

/// One Binance error response. `http` is the status line, `code`/`msg` the JSON body.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub http: u16,
    pub code: i64,
    pub msg: String,
}

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {} {} {}", self.http, self.code, self.msg)
    }
}

impl ApiError {
    pub(crate) fn new(http: u16, code: i64, msg: impl Into<String>) -> Self {
        ApiError {
            http,
            code,
            msg: msg.into(),
        }
    }

    /// The JSON body Binance sends for this error.
    pub(crate) fn body(&self) -> String {
        let mut o = crate::json::JsonObj::new();
        o.int("code", self.code).str("msg", &self.msg);
        o.finish()
    }

    /// `-1102`: a mandatory parameter is missing, empty or malformed.
    pub(crate) fn mandatory(name: &str) -> Self {
        Self::new(
            400,
            -1102,
            format!("Mandatory parameter '{name}' was not sent, was empty/null, or malformed."),
        )
    }

    /// `-1100`: a parameter holds characters it may not.
    pub(crate) fn illegal_chars(name: &str) -> Self {
        Self::new(
            400,
            -1100,
            format!(
                "Illegal characters found in parameter '{name}'; legal range is '^[0-9]{{1,20}}$'."
            ),
        )
    }

    pub(crate) fn duplicate_param() -> Self {
        Self::new(400, -1101, "Duplicate values for a parameter detected.")
    }

    pub(crate) fn bad_symbol() -> Self {
        Self::new(400, -1121, "Invalid symbol.")
    }

    pub(crate) fn bad_api_key_format() -> Self {
        Self::new(401, -2014, "API-key format invalid.")
    }

    pub(crate) fn rejected_key() -> Self {
        Self::new(
            401,
            -2015,
            "Invalid API-key, IP, or permissions for action.",
        )
    }

    pub(crate) fn bad_signature() -> Self {
        Self::new(400, -1022, "Signature for this request is not valid.")
    }

    pub(crate) fn outside_recv_window() -> Self {
        Self::new(
            400,
            -1021,
            "Timestamp for this request is outside of the recvWindow.",
        )
    }

    pub(crate) fn ahead_of_server() -> Self {
        Self::new(
            400,
            -1021,
            "Timestamp for this request was 1000ms ahead of the server's time.",
        )
    }

    pub(crate) fn invalid_listen_key() -> Self {
        Self::new(
            400,
            -1125,
            "This listenKey does not exist. Please use POST /fapi/v1/listenKey to recreate listenKey",
        )
    }

    pub(crate) fn not_found() -> Self {
        Self::new(404, -1099, "Not found, unauthenticated, or unauthorized.")
    }
}

impl From<crate::venue::Reject> for ApiError {
    fn from(r: crate::venue::Reject) -> Self {
        ApiError::new(r.http, r.code, r.msg)
    }
}
