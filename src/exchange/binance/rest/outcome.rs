//! What one attempt came back with ([`Outcome`]) and what the client makes of it:
//! the classified error of a non-2xx answer or a transport failure, how long a ban or
//! a 429 keeps the client quiet, the refusal when the limiter will not send, and the
//! attempt's audit row.
//!
//! No I/O: the client (`client.rs`) feeds it the response and acts on the result.

use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, TimeZone, Utc};
use tokio::time::Instant;

use super::super::classify::{classify, classify_transport};
use super::super::clock::Clock;
use super::super::ratelimit::Wait;
use super::request::{RateHeaders, Request};
use super::wire;
use crate::exchange::audit::AttemptRecord;
use crate::exchange::{ErrorClass, ExchangeError};

/// What came back from one attempt, before deserialisation.
pub(crate) struct Outcome {
    pub(crate) status: Option<u16>,
    pub(crate) headers: RateHeaders,
    pub(crate) date: Option<DateTime<Utc>>,
    pub(crate) result: Result<Bytes, ExchangeError>,
}

/// The error of a non-2xx answer: the venue's code and message (else the body's first
/// 300 bytes), classified; a ban lasts until the epoch the venue names, a 429 its
/// `Retry-After` or else until the next minute.
pub(crate) fn error_from(
    clock: &Clock,
    req: &Request,
    status: u16,
    body: &[u8],
    retry_after: Option<Duration>,
) -> ExchangeError {
    let (code, msg) = match serde_json::from_slice::<wire::ErrorBody>(body) {
        Ok(b) => (Some(b.code), b.msg),
        Err(_) => (
            None,
            String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned(),
        ),
    };
    let class = classify(status, code, &msg, req.kind);
    let mut err = ExchangeError::new(class, Some(status), code, msg);
    err.retry_after = match class {
        ErrorClass::Banned => {
            banned_until_ms(&err.msg).map(|until| ms_until(until, clock.server_now_ms()))
        }
        // Without Retry-After, wait for the venue's next minute window.
        ErrorClass::Backoff if status == 429 => {
            Some(retry_after.unwrap_or_else(|| ms_until_next_minute(clock.server_now_ms())))
        }
        _ => retry_after,
    };
    err
}

/// The audit row of one attempt: the params as recorded (no signature), the venue's
/// own time for an order (its `updateTime`, else the `Date` header) and the rate
/// headers it reported.
pub(crate) fn attempt_record(
    venue: &str,
    req: &Request,
    params: String,
    sent_at: DateTime<Utc>,
    latency: Duration,
    out: &Outcome,
) -> AttemptRecord {
    let err = out.result.as_ref().err();
    let exchange_time = out
        .result
        .as_ref()
        .ok()
        .filter(|_| req.is_order())
        .and_then(|b| update_time(b))
        .or(out.date);
    AttemptRecord {
        venue: venue.to_string(),
        sent_at,
        exchange_time,
        method: req.method.to_string(),
        endpoint: req.path.to_string(),
        params,
        is_order: req.is_order(),
        symbol: req.find("symbol"),
        client_order_id: req
            .find("newClientOrderId")
            .or_else(|| req.find("origClientOrderId"))
            .or_else(|| req.find("clientAlgoId")),
        http_status: out.status,
        error_code: err.and_then(|e| e.code),
        error_msg: err.map(|e| e.msg.clone()),
        error_class: err.map(|e| e.class.as_str().to_string()),
        latency_ms: i64::try_from(latency.as_millis()).unwrap_or(i64::MAX),
        used_weight_1m: out.headers.used_weight_1m.map(i64::from),
        order_count_10s: out.headers.order_count_10s.map(i64::from),
        order_count_1m: out.headers.order_count_1m.map(i64::from),
    }
}

/// Why the limiter would not send: a ban still running, or a cost over the budget.
pub(crate) fn wait_error(w: Wait) -> ExchangeError {
    match w {
        Wait::Banned(until) => {
            let mut e = ExchangeError::new(
                ErrorClass::Banned,
                None,
                None,
                "IP banned by the venue; not sending",
            );
            e.retry_after = Some(until.saturating_duration_since(Instant::now()));
            e
        }
        _ => ExchangeError::new(
            ErrorClass::Fatal,
            None,
            None,
            "request costs more than the rate-limit budget allows",
        ),
    }
}

/// An attempt that got no answer; `sent` says whether the request may have reached
/// the venue (which decides, for an order, whether its outcome is unknown).
pub(super) fn transport_outcome(req: &Request, e: &reqwest::Error, sent: bool) -> Outcome {
    let class = classify_transport(sent, req.kind);
    let what = if e.is_timeout() {
        "timeout"
    } else if sent {
        "connection lost after send"
    } else {
        "connect failed"
    };
    Outcome {
        status: None,
        headers: RateHeaders::default(),
        date: None,
        result: Err(ExchangeError::new(
            class,
            None,
            None,
            format!("{what}: {e}"),
        )),
    }
}

/// `updateTime` of an order reply, the venue's own time for the attempt.
fn update_time(body: &[u8]) -> Option<DateTime<Utc>> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct T {
        update_time: i64,
    }
    let t: T = serde_json::from_slice(body).ok()?;
    Utc.timestamp_millis_opt(t.update_time).single()
}

/// The epoch ms in "IP banned until 1790931239698" (with or without "IP(a.b.c.d)").
fn banned_until_ms(msg: &str) -> Option<i64> {
    let rest = &msg[msg.find("banned until")? + "banned until".len()..];
    let digits: String = rest
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

fn ms_until(until_ms: i64, now_ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(until_ms - now_ms).unwrap_or(0))
}

fn ms_until_next_minute(now_ms: i64) -> Duration {
    ms_until(now_ms - now_ms.rem_euclid(60_000) + 60_000, now_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ban_epoch_is_read_from_both_message_forms() {
        let a = "Way too many requests; IP banned until 1790931239698. Please use the websocket for live updates to avoid bans.";
        let b = "Way too many requests; IP(1.2.3.4) banned until 1790931239698. Please use the websocket";
        assert_eq!(banned_until_ms(a), Some(1790931239698));
        assert_eq!(banned_until_ms(b), Some(1790931239698));
        assert_eq!(banned_until_ms("Too many requests"), None);
    }

    #[test]
    fn a_429_without_retry_after_waits_for_the_next_minute_boundary() {
        assert_eq!(
            ms_until_next_minute(120_000 + 15_000),
            Duration::from_millis(45_000)
        );
        assert_eq!(ms_until(10, 20), Duration::ZERO);
    }
}
