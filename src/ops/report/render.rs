//! Text renderings of the evidence report: Markdown (for a ticket to the exchange)
//! and CSV (for a spreadsheet). Pure string building; times are RFC 3339 UTC with
//! milliseconds, local and exchange side by side.

use std::fmt::Write;

use chrono::{DateTime, SecondsFormat, Utc};
use rust_decimal::Decimal;

use super::{CloseIntentRow, EvidenceReport, Figures, MinuteRow};

fn time(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(
        || "-".to_string(),
        |t| t.to_rfc3339_opts(SecondsFormat::Millis, true),
    )
}

/// `400/-2022:3 503/-1008:1`
fn codes(f: &Figures) -> String {
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

fn percent(rate: Decimal) -> String {
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

/// Markdown: a summary, the per-minute table, the close intents, breaker periods.
pub fn to_markdown(r: &EvidenceReport) -> String {
    let mut s = String::new();
    let t = &r.totals;
    let _ = writeln!(s, "# sluice evidence report\n");
    let _ = writeln!(
        s,
        "Window: {} to {} (UTC, end exclusive)\n",
        time(Some(r.since)),
        time(Some(r.until))
    );
    let _ = writeln!(
        s,
        "Totals: {} attempts, {} accepted, {} rejected ({}), {} unknown outcome; latency p50 {} ms, p99 {} ms; rejections: {}\n",
        t.attempts, t.accepted, t.rejected, percent(t.rejection_rate), t.unknown, t.p50_ms, t.p99_ms, codes(t)
    );
    let _ = writeln!(s, "## Per minute and symbol\n");
    let _ = writeln!(s, "| minute (local) | first sent (local) | first exchange time | last exchange time | symbol | attempts | accepted | rejected | rejected by status/code | rejection rate | unknown | p50 ms | p99 ms |");
    let _ = writeln!(
        s,
        "|---|---|---|---|---|---:|---:|---:|---|---:|---:|---:|---:|"
    );
    for m in &r.minutes {
        let f = &m.figures;
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            time(Some(m.minute)),
            time(f.first_sent_at),
            time(f.first_exchange_time),
            time(f.last_exchange_time),
            m.symbol,
            f.attempts,
            f.accepted,
            f.rejected,
            codes(f),
            percent(f.rejection_rate),
            f.unknown,
            f.p50_ms,
            f.p99_ms
        );
    }
    let _ = writeln!(s, "\n## Close intents\n");
    let _ = writeln!(s, "| intent | kind | symbol | state | created (local) | flat at (local) | last fill (exchange) | time to flat ms | attempts | codes |");
    let _ = writeln!(s, "|---:|---|---|---|---|---|---|---:|---:|---|");
    for c in &r.close_intents {
        let f = &c.fact;
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            f.intent_id,
            f.kind,
            f.symbol.as_deref().unwrap_or("all"),
            f.state,
            time(Some(f.created_at)),
            time(f.flat_at),
            time(f.last_fill_exchange_time),
            ms(c.time_to_flat_ms),
            f.attempts,
            intent_codes(c)
        );
    }
    let _ = writeln!(s, "\n## Circuit breaker open\n");
    if r.breaker_open.is_empty() {
        let _ = writeln!(s, "None recorded.");
    }
    for b in &r.breaker_open {
        let _ = writeln!(
            s,
            "- {} to {}",
            time(Some(b.opened_at)),
            b.closed_at
                .map_or("still open".to_string(), |t| time(Some(t)))
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

fn minute_fields(m: &MinuteRow) -> Vec<String> {
    let f = &m.figures;
    vec![
        time(Some(m.minute)),
        m.symbol.clone(),
        f.attempts.to_string(),
        f.accepted.to_string(),
        f.rejected.to_string(),
        codes(f),
        f.rejection_rate.to_string(),
        f.unknown.to_string(),
        f.p50_ms.to_string(),
        f.p99_ms.to_string(),
        time(f.first_sent_at),
        time(f.last_sent_at),
        time(f.first_exchange_time),
        time(f.last_exchange_time),
    ]
}

/// CSV: the per-minute table, a blank line, then the close-intent table; each with
/// its own header row.
pub fn to_csv(r: &EvidenceReport) -> String {
    let mut s = String::new();
    let header = [
        "minute",
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
    csv_line(&mut s, &header.map(String::from));
    for m in &r.minutes {
        csv_line(&mut s, &minute_fields(m));
    }
    s.push('\n');
    let header = [
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
    csv_line(&mut s, &header.map(String::from));
    for c in &r.close_intents {
        let f = &c.fact;
        csv_line(
            &mut s,
            &[
                f.intent_id.to_string(),
                f.kind.clone(),
                f.symbol.clone().unwrap_or_default(),
                f.state.clone(),
                time(Some(f.created_at)),
                time(f.flat_at),
                time(f.last_fill_exchange_time),
                ms(c.time_to_flat_ms),
                f.attempts.to_string(),
                intent_codes(c),
            ],
        );
    }
    s
}
