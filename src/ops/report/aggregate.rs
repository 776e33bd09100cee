//! The report's pure core: classify each attempt, count per bucket and symbol, take
//! nearest-rank percentiles, and fit the bucket to the incident's span.
//!
//! Invariants: every figure comes from the attempts given, nothing is guessed: an
//! attempt whose outcome is not certain is "unknown", never accepted or rejected.
//! Percentiles use the nearest-rank method (always an observed latency). Rates are
//! `Decimal` rounded to 4 places; no float anywhere.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use rust_decimal::Decimal;

use super::{BreakerPeriod, Bucket, BucketRow, CloseIntentRow, EvidenceReport, Figures};
use crate::exchange::audit::AttemptOutcome;
use crate::ledger::{AttemptFact, CloseIntentFact};

/// How one attempt ended.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// The exchange accepted the order.
    Accepted,
    /// Certainly not executed; the key is `status/code` (`400/-2022`, `503/-`, `none/-`).
    Rejected(String),
    /// May or may not have executed (503 "Unknown error", timeout after send...).
    Unknown,
}

impl std::fmt::Display for Outcome {
    /// `accepted`, `400/-2022`, `unknown`: the names the tables and the legend use.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Accepted => f.write_str("accepted"),
            Outcome::Rejected(key) => f.write_str(key),
            Outcome::Unknown => f.write_str("unknown"),
        }
    }
}

/// Classify one attempt. The adapter's class decides "unknown"; a response without
/// one, or no response at all without a class, is also unknown (never counted as
/// accepted or rejected on a guess).
pub fn outcome(a: &AttemptFact) -> Outcome {
    let status = a.http_status.and_then(|s| u16::try_from(s).ok());
    match AttemptOutcome::of(status, a.error_code, a.error_class.as_deref()) {
        AttemptOutcome::Accepted => Outcome::Accepted,
        AttemptOutcome::Unknown => Outcome::Unknown,
        AttemptOutcome::Rejected => Outcome::Rejected(format!(
            "{}/{}",
            a.http_status.map_or("none".to_string(), |s| s.to_string()),
            a.error_code.map_or("-".to_string(), |c| c.to_string())
        )),
    }
}

/// Nearest-rank percentile of sorted values: the smallest value with at least `p`% of
/// the values at or below it. 0 for no values.
pub fn percentile(sorted: &[i64], p: u32) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let n = sorted.len();
    let rank = (p as usize * n).div_ceil(100).clamp(1, n);
    sorted[rank - 1]
}

/// The figures of `attempts` (any order).
pub fn figures(attempts: &[&AttemptFact]) -> Figures {
    let mut f = Figures::default();
    let mut latencies: Vec<i64> = Vec::with_capacity(attempts.len());
    for a in attempts {
        f.attempts += 1;
        latencies.push(a.latency_ms);
        match outcome(a) {
            Outcome::Accepted => f.accepted += 1,
            Outcome::Unknown => f.unknown += 1,
            Outcome::Rejected(key) => {
                f.rejected += 1;
                *f.rejected_by.entry(key).or_default() += 1;
            }
        }
    }
    latencies.sort_unstable();
    f.p50_ms = percentile(&latencies, 50);
    f.p99_ms = percentile(&latencies, 99);
    if f.attempts > 0 {
        f.rejection_rate = (Decimal::from(f.rejected) / Decimal::from(f.attempts))
            .round_dp(4)
            .normalize();
    }
    f.first_sent_at = attempts.iter().map(|a| a.sent_at).min();
    f.last_sent_at = attempts.iter().map(|a| a.sent_at).max();
    f.first_exchange_time = attempts.iter().filter_map(|a| a.exchange_time).min();
    f.last_exchange_time = attempts.iter().filter_map(|a| a.exchange_time).max();
    f
}

/// The stretch the picture spans before alignment: first to last attempt, or the
/// window itself (end exclusive) when it holds none.
fn incident(
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    attempts: &[AttemptFact],
) -> (DateTime<Utc>, DateTime<Utc>) {
    let first = attempts.iter().map(|a| a.sent_at).min();
    let last = attempts.iter().map(|a| a.sent_at).max();
    match (first, last) {
        (Some(first), Some(last)) => (first, last),
        _ => (since, (until - TimeDelta::microseconds(1)).max(since)),
    }
}

/// Build the report with a bucket fitted to the incident. Pure.
pub fn aggregate(
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    attempts: &[AttemptFact],
    intents: Vec<CloseIntentFact>,
    breaker_open: Vec<BreakerPeriod>,
) -> EvidenceReport {
    let span = incident(since, until, attempts);
    let bucket = Bucket::auto(span.0, span.1);
    in_buckets(bucket, span, since, until, attempts, intents, breaker_open)
}

/// Build the report in `bucket` (fitted to the incident when None). Pure. Refused, with
/// an error naming `--bucket`, when the bucket would draw too many bars.
pub(crate) fn aggregate_with(
    bucket: Option<Bucket>,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    attempts: &[AttemptFact],
    intents: Vec<CloseIntentFact>,
    breaker_open: Vec<BreakerPeriod>,
) -> Result<EvidenceReport, String> {
    let span = incident(since, until, attempts);
    let bucket = Bucket::choose(bucket, span.0, span.1)?;
    Ok(in_buckets(
        bucket,
        span,
        since,
        until,
        attempts,
        intents,
        breaker_open,
    ))
}

/// `span` is [`incident`]'s first and last attempt, computed once by the caller.
fn in_buckets(
    bucket: Bucket,
    (first, last): (DateTime<Utc>, DateTime<Utc>),
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    attempts: &[AttemptFact],
    intents: Vec<CloseIntentFact>,
    breaker_open: Vec<BreakerPeriod>,
) -> EvidenceReport {
    let mut groups: BTreeMap<(DateTime<Utc>, String), Vec<&AttemptFact>> = BTreeMap::new();
    for a in attempts {
        let symbol = a.symbol.clone().unwrap_or_else(|| "-".to_string());
        groups
            .entry((bucket.floor(a.sent_at), symbol))
            .or_default()
            .push(a);
    }
    let buckets = groups
        .into_iter()
        .map(|((start, symbol), group)| BucketRow {
            start,
            symbol,
            figures: figures(&group),
        })
        .collect();
    let all: Vec<&AttemptFact> = attempts.iter().collect();
    let close_intents = intents
        .into_iter()
        .map(|fact| CloseIntentRow {
            time_to_flat_ms: fact
                .flat_at
                .map(|flat| (flat - fact.created_at).num_milliseconds()),
            fact,
        })
        .collect();
    EvidenceReport {
        since,
        until,
        bucket,
        span_from: bucket.floor(first),
        span_until: bucket.floor(last) + bucket.delta(),
        totals: figures(&all),
        buckets,
        close_intents,
        breaker_open,
        ledger_only_before: None,
        attempts: attempts.to_vec(),
    }
}
