//! The exact Binance answers the fault windows inject (HTTP status, code, message), in one
//! place so the texts match the reference (§4.2) byte for byte.

use crate::error::ApiError;

pub(crate) fn unknown_503() -> ApiError {
    ApiError::new(
        503,
        -1000,
        "Unknown error, please check your request or try again later.",
    )
}

pub(crate) fn unavailable_503() -> ApiError {
    ApiError::new(503, -1000, "Service Unavailable.")
}

pub(crate) fn overload_1008() -> ApiError {
    ApiError::new(
        503,
        -1008,
        "Request throttled by system-level protection. Reduce-only/close-position orders are exempt. Please try again.",
    )
}

pub(crate) fn internal_1001() -> ApiError {
    ApiError::new(
        503,
        -1001,
        "Internal error; unable to process your request. Please try again.",
    )
}

pub(crate) fn timeout_1007() -> ApiError {
    ApiError::new(
        408,
        -1007,
        "Timeout waiting for response from backend server. Send status unknown; execution status unknown.",
    )
}

pub(crate) fn reject_2010() -> ApiError {
    ApiError::new(400, -2010, "NEW_ORDER_REJECTED")
}

pub(crate) fn precision_1111() -> ApiError {
    ApiError::new(
        400,
        -1111,
        "Precision is over the maximum defined for this asset.",
    )
}

pub(crate) fn reject_2022() -> ApiError {
    ApiError::new(400, -2022, "ReduceOnly Order is rejected.")
}

pub(crate) fn reject_4118() -> ApiError {
    ApiError::new(
        400,
        -4118,
        "ReduceOnly Order Failed. Please check your existing position and open orders",
    )
}

/// HTTP 429 `-1003` as the weight limiter words it.
pub(crate) fn throttle_429() -> ApiError {
    ApiError::new(
        429,
        -1003,
        "Too many requests; current limit is 2400 requests per minute. Please use the websocket for live updates to avoid polling the API.",
    )
}

/// HTTP 400 `-5028`: the matching engine's own recvWindow check failed.
pub(crate) fn me_recv_window_5028() -> ApiError {
    ApiError::new(
        400,
        -5028,
        "Timestamp for this request is outside of the ME recvWindow.",
    )
}

/// The codes a reduce-only restriction may answer with.
pub(crate) const RESTRICTION_CODES: [i64; 4] = [-4087, -4400, -4401, -4140];

/// The refusal of an exposure-increasing order under a reduce-only restriction, or `None`
/// when `code` is not one of [`RESTRICTION_CODES`].
pub(crate) fn restriction(code: i64) -> Option<ApiError> {
    let msg = match code {
        -4087 => "User can only place reduce only order.",
        -4400 => "Futures Trading Quantitative Rules violated, only reduceOnly order is allowed, please try again later.",
        -4401 => "Compliance restricted account permission: can only place reduceOnly order.",
        -4140 => "Invalid symbol status for opening position.",
        _ => return None,
    };
    Some(ApiError::new(400, code, msg))
}
