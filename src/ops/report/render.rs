//! Text renderings of the evidence report: Markdown (for a ticket to the exchange)
//! and CSV (for a spreadsheet), in the report's buckets (the picture's). Pure string
//! building; times are RFC 3339 UTC with milliseconds, local and exchange side by side.
//! The cells are shared with the HTML report ([`bucket_cells`], [`intent_cells`]).

use std::fmt::Write;

use chrono::{DateTime, SecondsFormat, Utc};
use rust_decimal::Decimal;

use super::{BucketRow, CloseIntentRow, EvidenceReport, Figures};

/// RFC 3339, UTC, milliseconds; `-` for none.
pub(super) fn time(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(
        || "-".to_string(),
        |t| t.to_rfc3339_opts(SecondsFormat::Millis, true),
    )
}

/// `400/-2022:3 503/-1008:1`
pub(super) fn codes(f: &Figures) -> String {
    let parts: Vec<String> = f
        .rejected_by
        .iter()
        .map(|(k, n)| format!("{k}:{n}"))
        .collect();
    if parts.is_empty() {
        "-".to_string()
    } else {
        parts.join(" ")
    }
}

pub(super) fn percent(rate: Decimal) -> String {
    format!("{}%", (rate * Decimal::ONE_HUNDRED).round_dp(2).normalize())
}

fn intent_codes(r: &CloseIntentRow) -> String {
    if r.fact.codes.is_empty() {
        return "-".to_string();
    }
    let codes: Vec<String> = r.fact.codes.iter().map(i64::to_string).collect();
    codes.join(" ")
}

fn ms(v: Option<i64>) -> String {
    v.map_or_else(|| "-".to_string(), |v| v.to_string())
}

pub(super) const BUCKET_COLUMNS: [&str; 14] = [
    "bucket_start",
    "symbol",
    "attempts",
    "accepted",
    "rejected",
    "rejected_by",
    "rejection_rate",
    "unknown",
    "p50_ms",
    "p99_ms",
    "first_sent_at",
    "last_sent_at",
    "first_exchange_time",
    "last_exchange_time",
];

pub(super) const INTENT_COLUMNS: [&str; 10] = [
    "intent_id",
    "kind",
    "symbol",
    "state",
    "created_at",
    "flat_at",
    "last_fill_exchange_time",
    "time_to_flat_ms",
    "attempts",
    "codes",
];

/// One bucket row's cells, in `BUCKET_COLUMNS` order; `rate` formats the rejection rate.
pub(super) fn bucket_cells(m: &BucketRow, rate: fn(Decimal) -> String) -> Vec<String> {
    let f = &m.figures;
    vec![
        time(Some(m.start)),
        m.symbol.clone(),
        f.attempts.to_string(),
        f.accepted.to_string(),
        f.rejected.to_string(),
        codes(f),
        rate(f.rejection_rate),
        f.unknown.to_string(),
        f.p50_ms.to_string(),
        f.p99_ms.to_string(),
        time(f.first_sent_at),
        time(f.last_sent_at),
        time(f.first_exchange_time),
        time(f.last_exchange_time),
    ]
}

/// One close intent's cells, in `INTENT_COLUMNS` order.
pub(super) fn intent_cells(c: &CloseIntentRow) -> Vec<String> {
    let f = &c.fact;
    vec![
        f.intent_id.to_string(),
        f.kind.clone(),
        f.symbol.clone().unwrap_or_else(|| "all".into()),
        f.state.clone(),
        time(Some(f.created_at)),
        time(f.flat_at),
        time(f.last_fill_exchange_time),
        ms(c.time_to_flat_ms),
        f.attempts.to_string(),
        intent_codes(c),
    ]
}

fn md_table(s: &mut String, columns: &[&str], rows: impl Iterator<Item = Vec<String>>) {
    let _ = writeln!(s, "| {} |", columns.join(" | "));
    let _ = writeln!(s, "|{}", "---|".repeat(columns.len()));
    for cells in rows {
        let _ = writeln!(s, "| {} |", cells.join(" | "));
    }
}

/// Markdown: a summary, the per-bucket table (times local = when sluice sent, exchange
/// = what the exchange stamped), the close intents, and the breaker's open periods.
pub(crate) fn to_markdown(r: &EvidenceReport) -> String {
    let mut s = String::new();
    let t = &r.totals;
    let _ = writeln!(s, "# sluice evidence report\n");
    let _ = writeln!(
        s,
        "Window: {} to {} (UTC, end exclusive)\n",
        time(Some(r.since)),
        time(Some(r.until))
    );
    let _ = writeln!(s, "{}\n", span_sentence(r));
    if let Some(before) = r.ledger_only_before {
        let _ = writeln!(
            s,
            "Note: Binance's userTrades covers only the past 3 months; fills before {} \
             rest on the ledger alone (the exchange can no longer confirm them).\n",
            time(Some(before))
        );
    }
    let _ = writeln!(
        s,
        "Totals: {} attempts, {} accepted, {} rejected ({}), {} unknown outcome; \
         latency p50 {} ms, p99 {} ms; rejections: {}\n",
        t.attempts,
        t.accepted,
        t.rejected,
        percent(t.rejection_rate),
        t.unknown,
        t.p50_ms,
        t.p99_ms,
        codes(t)
    );
    let _ = writeln!(s, "## Per {} bucket and symbol\n", r.bucket.adjective());
    md_table(
        &mut s,
        &BUCKET_COLUMNS,
        r.buckets.iter().map(|m| bucket_cells(m, percent)),
    );
    let _ = writeln!(s, "\n## Close intents\n");
    md_table(
        &mut s,
        &INTENT_COLUMNS,
        r.close_intents.iter().map(intent_cells),
    );
    let _ = writeln!(s, "\n## Circuit breaker open\n");
    if r.breaker_open.is_empty() {
        let _ = writeln!(s, "None recorded.");
    }
    for b in &r.breaker_open {
        let until = b
            .closed_at
            .map_or("still open".to_string(), |t| time(Some(t)));
        let _ = writeln!(
            s,
            "- {} to {until} ({}: {} of the last {} outcomes were 5xx, -1008 or unknown)",
            time(Some(b.opened_at)),
            b.scope,
            b.distress,
            b.window_total
        );
    }
    s
}

/// Quote a CSV field when it holds a comma, quote or line break.
fn field(v: &str) -> String {
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_string()
    }
}

fn csv_line(s: &mut String, fields: &[String]) {
    let line: Vec<String> = fields.iter().map(|f| field(f)).collect();
    let _ = writeln!(s, "{}", line.join(","));
}

/// CSV: the per-bucket table (its last column the bucket length, `10s`), a blank
/// line, then the close-intent table; each with its own header row.
pub(crate) fn to_csv(r: &EvidenceReport) -> String {
    let mut s = String::new();
    let mut header: Vec<String> = BUCKET_COLUMNS.map(String::from).to_vec();
    header.push("bucket".into());
    csv_line(&mut s, &header);
    for m in &r.buckets {
        let mut cells = bucket_cells(m, |rate| rate.to_string());
        cells.push(r.bucket.to_string());
        csv_line(&mut s, &cells);
    }
    s.push('\n');
    csv_line(&mut s, &INTENT_COLUMNS.map(String::from));
    for c in &r.close_intents {
        csv_line(&mut s, &intent_cells(c));
    }
    s
}

/// `Buckets of 1 second; the attempts span 2025-10-11T21:00:01.000Z to … (20 buckets).`
pub(super) fn span_sentence(r: &EvidenceReport) -> String {
    let bars = (r.span_until - r.span_from).num_seconds() / r.bucket.secs();
    let what = if r.totals.attempts == 0 {
        "no order attempts; the buckets cover the window"
    } else {
        "buckets from the first to the last attempt"
    };
    format!(
        "Buckets of {} (`--bucket {}`): {bars} {what}, {} to {}.",
        r.bucket.noun(),
        r.bucket,
        time(Some(r.span_from)),
        time(Some(r.span_until))
    )
}
