//! What went wrong at the exchange, classified by what the caller must do about it.
//!
//! The exchange layer classifies; it does not decide policy. The router reads the
//! class and acts (retry, back off, re-plan, resolve an unknown outcome, stop).

use std::time::Duration;

/// What the caller must do after an exchange error. One table in the Binance
/// adapter maps (HTTP status, code, message) to exactly one of these.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// Certainly not executed; safe to send again soon (-1001, 503 "Service Unavailable").
    Retry,
    /// Certainly not executed; the exchange is overloaded or we hit a limit: wait first
    /// (-1008, 429, -1003, -1015).
    Backoff,
    /// IP banned (418) until the given instant; nothing may be sent before it.
    Banned,
    /// The clock is off (-1021, -5028): re-measure the offset, then retry once.
    ResyncClock,
    /// The request itself was wrong for the current state: re-read and plan again
    /// (price/qty/filters, -2022/-4118 reduce-only conflicts, -4061 position mode...).
    Replan,
    /// The quantity exceeded a cap the exchange enforces (-4005): shrink the chunk.
    ShrinkChunk,
    /// The request may or may not have executed (503 "Unknown error", 408, -1000,
    /// -1006, -1007, -4116, timeouts after send): resolve by clientOrderId before any re-send.
    OutcomeUnknown,
    /// The account may only reduce risk (-4087, -4400, -4401, -4140 for opens).
    ReduceOnlyRestricted,
    /// The state is already as wanted (-4046, -4059, -2011 for a known-closed order).
    Noop,
    /// Authentication or permission failure (-2014, -2015, -1022, -1002): stop sending
    /// and enter key-loss safe mode.
    Auth,
    /// Configuration or a bug (bad symbol, unsupported operation): stop and alert.
    Fatal,
}

impl ErrorClass {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Retry => "retry",
            ErrorClass::Backoff => "backoff",
            ErrorClass::Banned => "banned",
            ErrorClass::ResyncClock => "resync_clock",
            ErrorClass::Replan => "replan",
            ErrorClass::ShrinkChunk => "shrink_chunk",
            ErrorClass::OutcomeUnknown => "outcome_unknown",
            ErrorClass::ReduceOnlyRestricted => "reduce_only_restricted",
            ErrorClass::Noop => "noop",
            ErrorClass::Auth => "auth",
            ErrorClass::Fatal => "fatal",
        }
    }
}

/// The tail of the message of [`ExchangeError::unsupported`].
const UNSUPPORTED: &str = ": not supported by this venue";

/// An error from the exchange seam. `code` and `msg` are the exchange's own words,
/// kept verbatim because they are evidence (seed 003).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{class:?}: HTTP {http_status:?} code {code:?}: {msg}")]
pub struct ExchangeError {
    pub class: ErrorClass,
    /// None when no HTTP response arrived (timeout, reset, DNS).
    pub http_status: Option<u16>,
    pub code: Option<i64>,
    pub msg: String,
    /// How long the exchange asked us to wait (Retry-After, or until a 418 ban ends).
    pub retry_after: Option<Duration>,
}

impl ExchangeError {
    pub fn new(
        class: ErrorClass,
        http_status: Option<u16>,
        code: Option<i64>,
        msg: impl Into<String>,
    ) -> Self {
        Self {
            class,
            http_status,
            code,
            msg: msg.into(),
            retry_after: None,
        }
    }
    /// The venue behind the seam does not offer `what` (a test double, a venue without
    /// an Algo Service): a configuration problem, never a retry.
    pub(crate) fn unsupported(what: &str, about: &str) -> Self {
        Self::new(
            ErrorClass::Fatal,
            None,
            None,
            format!("{what} ({about}){UNSUPPORTED}"),
        )
    }
    /// Made by [`ExchangeError::unsupported`]: the venue lacks the call (nothing was sent).
    pub(crate) fn is_unsupported(&self) -> bool {
        self.class == ErrorClass::Fatal
            && self.http_status.is_none()
            && self.code.is_none()
            && self.msg.ends_with(UNSUPPORTED)
    }
    pub fn is_outcome_unknown(&self) -> bool {
        self.class == ErrorClass::OutcomeUnknown
    }
}
