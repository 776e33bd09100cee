//! `sluice report [--since T] [--until T] [--bucket 10s] [--format md|csv|json|html]
//! [--svg FILE]`: the evidence a trader hands to an exchange (seed 003: 106 minutes of
//! rejected closes), at the scale of the incident.
//!
//! Per bucket and symbol: attempts, accepted, rejected by HTTP status and error code,
//! rejection rate, unknown outcomes, p50/p99 latency, with the exchange's timestamps
//! beside the local ones. Per close intent: time to flat, attempts, codes. The bucket
//! follows the incident ([`Bucket`]: seconds for a 20 s storm, minutes for 106 minutes)
//! and is the same for the tables and the picture ([`to_svg`]); `--format html` puts
//! everything, picture included, into one file for a support ticket ([`to_html`]).
//!
//! Invariants: the ledger returns facts ([`crate::ledger::evidence`]); every figure is
//! computed here by pure functions ([`aggregate`]), so a test can check each count.
//! Timestamps are shown as stored (milliseconds, UTC), the exchange's beside sluice's.

mod about;
mod aggregate;
mod bucket;
mod html;
mod periods;
mod render;
mod svg;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::{DateTime, TimeDelta, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::ledger::{AttemptFact, CloseIntentFact, Ledger};

pub use about::About;
pub(crate) use aggregate::aggregate_with;
pub use aggregate::{aggregate, figures, outcome, percentile, Outcome};
pub use bucket::Bucket;
pub(crate) use html::to_html;
pub(crate) use periods::open_periods;
pub(crate) use render::{to_csv, to_markdown};
pub use svg::to_svg;

/// Output format of `sluice report`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
#[allow(
    missing_docs,
    reason = "clap: a doc comment on a value becomes its help text in `--help`"
)]
pub enum Format {
    #[default]
    Md,
    Csv,
    Json,
    /// One self-contained HTML file: summary, picture, tables, settings.
    Html,
}

/// A period during which the router's circuit breaker was open (opens refused), from
/// the transitions the router persists ([`open_periods`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakerPeriod {
    /// When the breaker opened.
    pub opened_at: DateTime<Utc>,
    /// None while still open.
    pub closed_at: Option<DateTime<Utc>>,
    /// What the breaker guards (`orders`: the executor's order flow).
    pub scope: String,
    /// Outcomes in the breaker's window when it opened, and how many were distress
    /// (5xx / no response, -1008, unknown outcome).
    pub window_total: u32,
    /// How many of `window_total` were distress.
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
    /// Length of one bar and one table row: `10s`, `5m`, `1h`, `1d` (default: fitted to
    /// the incident, the first to the last attempt, in 30 to 120 bars where it can).
    #[arg(long, value_parser = Bucket::parse)]
    pub bucket: Option<Bucket>,
    /// Output format; `html` is one self-contained file (picture, tables, settings).
    #[arg(long, value_enum, default_value_t = Format::Md)]
    pub format: Format,
    /// Also write an SVG timeline to this file.
    #[arg(long)]
    pub svg: Option<PathBuf>,
}

/// Parse an RFC 3339 time (`2025-10-11T21:00:00Z`), naming the problem on failure.
pub(crate) fn parse_time(raw: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(raw.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("`{raw}` is not an RFC 3339 time like 2025-10-11T21:00:00Z: {e}"))
}

/// The figures of one group of attempts (a bucket and symbol, or the whole window).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    /// Orders sent.
    pub attempts: u64,
    /// Orders the exchange accepted.
    pub accepted: u64,
    /// Orders certainly not executed.
    pub rejected: u64,
    /// Orders whose outcome was unknown at the time (may have executed).
    pub unknown: u64,
    /// `status/code` → count.
    pub rejected_by: BTreeMap<String, u64>,
    /// rejected / attempts, 4 decimal places.
    pub rejection_rate: Decimal,
    /// Median attempt latency, milliseconds (nearest rank).
    pub p50_ms: i64,
    /// 99th percentile attempt latency, milliseconds (nearest rank).
    pub p99_ms: i64,
    /// The first send in the group, by sluice's clock.
    pub first_sent_at: Option<DateTime<Utc>>,
    /// The last send in the group, by sluice's clock.
    pub last_sent_at: Option<DateTime<Utc>>,
    /// The earliest time the exchange stamped on an answer in the group.
    pub first_exchange_time: Option<DateTime<Utc>>,
    pub(crate) last_exchange_time: Option<DateTime<Utc>>,
}

/// One bucket and symbol.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketRow {
    /// Start of the bucket (UTC) the attempts were sent in, by sluice's clock.
    pub start: DateTime<Utc>,
    /// The symbol the attempts were for.
    pub symbol: String,
    /// Their figures.
    #[serde(flatten)]
    pub figures: Figures,
}

/// One close intent and how long it took to reach flat.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloseIntentRow {
    /// The intent as the ledger has it.
    #[serde(flatten)]
    pub fact: CloseIntentFact,
    /// Local flat time minus intent creation, in milliseconds.
    pub time_to_flat_ms: Option<i64>,
}

/// `sluice report`: what the exchange answered to every order in a window, from the
/// audit trail, with the close intents and circuit-breaker periods of that window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceReport {
    /// Start of the window (inclusive).
    pub since: DateTime<Utc>,
    /// End of the window.
    pub until: DateTime<Utc>,
    /// The length of every bucket below and of every bar in the picture.
    pub bucket: Bucket,
    /// The picture's time axis, bucket-aligned: from the start of the first attempt's
    /// bucket to the end of the last one's (the window itself when it holds none).
    pub span_from: DateTime<Utc>,
    /// End of the picture's time axis.
    pub span_until: DateTime<Utc>,
    /// The figures of the whole window.
    pub totals: Figures,
    /// Buckets with at least one attempt, by start then symbol.
    pub buckets: Vec<BucketRow>,
    /// Close intents created in the window.
    pub close_intents: Vec<CloseIntentRow>,
    /// Periods the circuit breaker was open during the window.
    pub breaker_open: Vec<BreakerPeriod>,
    /// Set when the window starts before Binance's userTrades retention (3 months,
    /// docs/binance-fapi.md §0): fills before this instant can no longer be checked
    /// against the exchange, the ledger is their only record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger_only_before: Option<DateTime<Utc>>,
    /// The window's attempts, for the HTML report's per-attempt table (not in the JSON:
    /// the buckets carry the figures).
    #[serde(skip)]
    pub attempts: Vec<AttemptFact>,
}

/// How far back Binance's userTrades reaches (the 89 days sluice's queries stay within).
pub(crate) fn exchange_history_start(now: DateTime<Utc>) -> DateTime<Utc> {
    now - TimeDelta::days(crate::exchange::binance::rest::history::RETAINED_DAYS)
}

/// Read the window's evidence (attempts, close intents, breaker transitions) from the
/// ledger and aggregate it in buckets fitted to the incident.
pub async fn run(
    ledger: &Ledger,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
) -> anyhow::Result<EvidenceReport> {
    run_with(ledger, since, until, None).await
}

/// [`run`] with an explicit bucket (`--bucket`); None fits it to the incident.
pub async fn run_with(
    ledger: &Ledger,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    bucket: Option<Bucket>,
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
    let mut report = aggregate_with(bucket, since, until, &attempts, intents, breaker_open)
        .map_err(anyhow::Error::msg)?;
    let history_start = exchange_history_start(Utc::now());
    if since < history_start {
        report.ledger_only_before = Some(history_start);
    }
    Ok(report)
}

/// The whole command for the CLI: read, aggregate, render in `args.format` (the HTML
/// carries `about`: version and redacted settings), and write the SVG when asked.
/// Nothing is written when the window or the bucket is refused.
pub async fn command(ledger: &Ledger, args: &ReportArgs, about: &About) -> anyhow::Result<String> {
    let report = run_with(ledger, args.since, args.until, args.bucket).await?;
    if let Some(path) = &args.svg {
        write_svg(&report, path)?;
    }
    render_with(&report, args.format, about)
}

/// The report in `format`; an HTML report says which sluice made it, without settings.
pub fn render(report: &EvidenceReport, format: Format) -> anyhow::Result<String> {
    render_with(report, format, &About::new(None))
}

/// The report in `format`, the HTML one with `about`.
pub fn render_with(
    report: &EvidenceReport,
    format: Format,
    about: &About,
) -> anyhow::Result<String> {
    Ok(match format {
        Format::Md => to_markdown(report),
        Format::Csv => to_csv(report),
        Format::Json => {
            serde_json::to_string_pretty(report).context("failed to encode the report")?
        }
        Format::Html => to_html(report, about),
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
