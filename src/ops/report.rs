//! `sluice report [--since T] [--until T] [--format md|csv|json] [--svg FILE]`: the
//! evidence a trader hands to an exchange (seed 003: 106 minutes of rejected closes).
//!
//! Per minute and per symbol: attempts, accepted, rejected by HTTP status and error
//! code, rejection rate, unknown outcomes, p50/p99 latency, with the exchange's
//! timestamps beside the local ones. Per close intent: time to flat, attempts, codes.
//!
//! Invariants: the ledger returns facts ([`crate::ledger::evidence`]); every figure is
//! computed here by pure functions ([`aggregate`]), so a test can check each count.
//! Percentiles use the nearest-rank method (always an observed latency). Rates are
//! `Decimal` rounded to 4 places; no float anywhere.

mod periods;
mod render;
mod svg;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::exchange::audit::AttemptOutcome;
use crate::ledger::{AttemptFact, CloseIntentFact, Ledger};

pub use periods::open_periods;
pub use render::{to_csv, to_markdown};
pub use svg::to_svg;

/// Output format of `sluice report`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    #[default]
    Md,
    Csv,
    Json,
}

/// A period during which the router's circuit breaker was open (opens refused), from
/// the transitions the router persists ([`open_periods`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakerPeriod {
    pub opened_at: DateTime<Utc>,
    /// None while still open.
    pub closed_at: Option<DateTime<Utc>>,
    /// What the breaker guards (`orders`: the executor's order flow).
    pub scope: String,
    /// Outcomes in the breaker's window when it opened, and how many were distress
    /// (5xx / no response, -1008, unknown outcome).
    pub window_total: u32,
    pub distress: u32,
}

/// The command's arguments (the CLI's `clap` struct).
#[derive(Clone, Debug, Default, PartialEq, Eq, clap::Args)]
pub struct ReportArgs {
    /// Start of the window, RFC 3339 (default: 24 hours before --until).
    #[arg(long, value_parser = parse_time)]
    pub since: Option<DateTime<Utc>>,
    /// End of the window (exclusive), RFC 3339 (default: now).
    #[arg(long, value_parser = parse_time)]
    pub until: Option<DateTime<Utc>>,
    #[arg(long, value_enum, default_value_t = Format::Md)]
    pub format: Format,
    /// Also write an SVG timeline to this file.
    #[arg(long)]
    pub svg: Option<PathBuf>,
}

/// Parse an RFC 3339 time (`2025-10-11T21:00:00Z`), naming the problem on failure.
pub fn parse_time(raw: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(raw.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("`{raw}` is not an RFC 3339 time like 2025-10-11T21:00:00Z: {e}"))
}

/// How one attempt ended.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    Accepted,
    /// Certainly not executed; the key is `status/code` (`400/-2022`, `503/-`, `none/-`).
    Rejected(String),
    /// May or may not have executed (503 "Unknown error", timeout after send...).
    Unknown,
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

/// The figures of one group of attempts (a minute and symbol, or the whole window).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    pub attempts: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub unknown: u64,
    /// `status/code` → count.
    pub rejected_by: BTreeMap<String, u64>,
    /// rejected / attempts, 4 decimal places.
    pub rejection_rate: Decimal,
    pub p50_ms: i64,
    pub p99_ms: i64,
    pub first_sent_at: Option<DateTime<Utc>>,
    pub last_sent_at: Option<DateTime<Utc>>,
    pub first_exchange_time: Option<DateTime<Utc>>,
    pub last_exchange_time: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinuteRow {
    /// Local minute the attempts were sent in (UTC).
    pub minute: DateTime<Utc>,
    pub symbol: String,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloseIntentRow {
    #[serde(flatten)]
    pub fact: CloseIntentFact,
    /// Local flat time minus intent creation, in milliseconds.
    pub time_to_flat_ms: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceReport {
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub totals: Figures,
    pub minutes: Vec<MinuteRow>,
    pub close_intents: Vec<CloseIntentRow>,
    pub breaker_open: Vec<BreakerPeriod>,
    /// Set when the window starts before Binance's userTrades retention (3 months,
    /// docs/binance-fapi.md §0): fills before this instant can no longer be checked
    /// against the exchange, the ledger is their only record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger_only_before: Option<DateTime<Utc>>,
}

/// How far back Binance's userTrades reaches (the 89 days sluice's queries stay within).
pub fn exchange_history_start(now: DateTime<Utc>) -> DateTime<Utc> {
    now - TimeDelta::days(crate::exchange::binance::rest::history::RETAINED_DAYS)
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

/// The minute `t` falls in.
pub fn minute_of(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(TimeDelta::minutes(1)).unwrap_or(t)
}

/// Build the report from the ledger's facts. Pure.
pub fn aggregate(
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
            .entry((minute_of(a.sent_at), symbol))
            .or_default()
            .push(a);
    }
    let minutes = groups
        .into_iter()
        .map(|((minute, symbol), group)| MinuteRow {
            minute,
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
        totals: figures(&all),
        minutes,
        close_intents,
        breaker_open,
        ledger_only_before: None,
    }
}

/// Read the window's evidence (attempts, close intents, breaker transitions) from the
/// ledger and aggregate it.
pub async fn run(
    ledger: &Ledger,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
) -> anyhow::Result<EvidenceReport> {
    let until = until.unwrap_or_else(Utc::now);
    let since = since.unwrap_or(until - TimeDelta::hours(24));
    if since >= until {
        anyhow::bail!("--since ({since}) must be before --until ({until})");
    }
    let attempts = ledger
        .attempt_facts(since, until)
        .await
        .context("failed to read order attempts")?;
    let intents = ledger
        .close_intent_facts(since, until)
        .await
        .context("failed to read close intents")?;
    let transitions = ledger
        .breaker_transitions(since, until)
        .await
        .context("failed to read circuit-breaker transitions")?;
    let breaker_open = open_periods(&transitions);
    let mut report = aggregate(since, until, &attempts, intents, breaker_open);
    let history_start = exchange_history_start(Utc::now());
    if since < history_start {
        report.ledger_only_before = Some(history_start);
    }
    Ok(report)
}

/// The whole command for the CLI: read, aggregate, render in `args.format`, and
/// write the SVG when asked.
pub async fn command(ledger: &Ledger, args: &ReportArgs) -> anyhow::Result<String> {
    let report = run(ledger, args.since, args.until).await?;
    if let Some(path) = &args.svg {
        write_svg(&report, path)?;
    }
    render(&report, args.format)
}

/// The report in `format`.
pub fn render(report: &EvidenceReport, format: Format) -> anyhow::Result<String> {
    Ok(match format {
        Format::Md => to_markdown(report),
        Format::Csv => to_csv(report),
        Format::Json => {
            serde_json::to_string_pretty(report).context("failed to encode the report")?
        }
    })
}

/// Write the SVG timeline to `path` whole or not at all (temp file, then rename).
pub fn write_svg(report: &EvidenceReport, path: &Path) -> anyhow::Result<()> {
    let tmp = path.with_extension("svg.partial");
    std::fs::write(&tmp, to_svg(report))
        .with_context(|| format!("failed to write {}", tmp.display()))?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("failed to move the SVG into {}", path.display()))
}
