//! The evidence trail: one record per REST attempt to the exchange.
//!
//! The adapter produces these without waiting on storage (seed 003: every attempt
//! is evidence a trader can hand to the exchange). The ledger persists them in
//! `order_attempts`; the adapter never sees Postgres, so the hand-off is this type.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One request/response exchange with the venue. Parameters are stored without
/// `signature` and without the API key; secrets never reach this type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptRecord {
    pub venue: String,
    /// Local time the request was handed to the HTTP client.
    pub sent_at: DateTime<Utc>,
    /// Exchange time of the response when it reported one (updateTime / transactTime / Date header).
    pub exchange_time: Option<DateTime<Utc>>,
    /// `POST /fapi/v1/order` style: method and path.
    pub method: String,
    pub endpoint: String,
    /// Query/body parameters as sent, minus `signature`; `timestamp`/`recvWindow` kept.
    pub params: String,
    /// True for order-placing and cancelling requests: these rows are never dropped.
    pub is_order: bool,
    pub symbol: Option<String>,
    pub client_order_id: Option<String>,
    /// None when no HTTP response arrived (timeout, reset).
    pub http_status: Option<u16>,
    pub error_code: Option<i64>,
    pub error_msg: Option<String>,
    /// The error class the adapter assigned, if the attempt failed.
    pub error_class: Option<String>,
    pub latency_ms: i64,
    pub used_weight_1m: Option<i64>,
    pub order_count_10s: Option<i64>,
    pub order_count_1m: Option<i64>,
}

/// How one attempt ended, as far as anyone can tell from its record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// A 2xx answer without an error code.
    Accepted,
    /// Certainly not executed: the exchange said no, or the request never left.
    Rejected,
    /// May or may not have executed (503 "Unknown error", a timeout after sending).
    Unknown,
}

impl AttemptOutcome {
    /// Classify from the recorded facts. The adapter's class decides "unknown"; no
    /// response and no class is also unknown: never counted accepted or rejected on a guess.
    pub fn of(
        http_status: Option<u16>,
        error_code: Option<i64>,
        error_class: Option<&str>,
    ) -> AttemptOutcome {
        if error_class == Some("outcome_unknown") {
            return AttemptOutcome::Unknown;
        }
        match (http_status, error_code) {
            (Some(s), None) if (200..300).contains(&s) => AttemptOutcome::Accepted,
            (None, None) if error_class.is_none() => AttemptOutcome::Unknown,
            _ => AttemptOutcome::Rejected,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AttemptOutcome::Accepted => "accepted",
            AttemptOutcome::Rejected => "rejected",
            AttemptOutcome::Unknown => "unknown",
        }
    }
}

impl AttemptRecord {
    pub fn outcome(&self) -> AttemptOutcome {
        AttemptOutcome::of(
            self.http_status,
            self.error_code,
            self.error_class.as_deref(),
        )
    }
}
