//! `--format html`: the whole evidence in one file to attach to a support ticket:
//! summary, the picture inline, the per-bucket and per-intent tables, every attempt
//! with the exchange's own timestamp (also as the epoch milliseconds the exchange
//! sends), the breaker's open periods, and which sluice wrote it with what settings.
//!
//! Invariants: self-contained (no script, no external style, font or image); every
//! string that came from the ledger or the exchange is HTML-escaped; settings come
//! only from [`About`], which never holds a secret.

use std::fmt::Write;

use super::render::{
    bucket_cells, codes, intent_cells, percent, span_sentence, time, BUCKET_COLUMNS, INTENT_COLUMNS,
};
use super::svg::{to_svg, xml_escape as esc};
use super::{outcome, About, EvidenceReport, Outcome};
use crate::ledger::AttemptFact;

/// Most attempts listed one by one; past it, only the rejected and unknown ones.
pub(super) const MAX_ATTEMPT_ROWS: usize = 5000;

const STYLE: &str = "body{font-family:'DejaVu Sans',Arial,Helvetica,sans-serif;\
font-size:14px;margin:24px;color:#111}h1{font-size:22px}h2{font-size:18px;margin-top:28px}\
table{border-collapse:collapse;font-size:12px}th,td{border:1px solid #bbb;padding:2px 6px;\
text-align:left;vertical-align:top}td.n{text-align:right}figure{margin:0;overflow-x:auto}\
svg{max-width:none}.muted{color:#444}@media print{figure{overflow:visible}}";

fn table(s: &mut String, columns: &[&str], rows: impl Iterator<Item = Vec<String>>) {
    let _ = write!(s, "<table><thead><tr>");
    for c in columns {
        let _ = write!(s, "<th>{}</th>", esc(c));
    }
    let _ = writeln!(s, "</tr></thead><tbody>");
    for cells in rows {
        let _ = write!(s, "<tr>");
        for c in cells {
            let numeric = !c.is_empty()
                && c.bytes()
                    .all(|b| b.is_ascii_digit() || b == b'.' || b == b'%');
            let class = if numeric { r#" class="n""# } else { "" };
            let _ = write!(s, "<td{class}>{}</td>", esc(&c));
        }
        let _ = writeln!(s, "</tr>");
    }
    let _ = writeln!(s, "</tbody></table>");
}

fn summary(s: &mut String, r: &EvidenceReport) {
    let t = &r.totals;
    let _ = writeln!(s, "<h2>Summary</h2><ul>");
    let _ = writeln!(
        s,
        "<li>Window: {} to {} (UTC, end exclusive).</li><li>{}</li>",
        time(Some(r.since)),
        time(Some(r.until)),
        esc(&span_sentence(r))
    );
    let _ = writeln!(
        s,
        "<li>{} order attempts: {} accepted, {} rejected ({}), {} unknown outcome \
         (may have executed); latency p50 {} ms, p99 {} ms.</li>",
        t.attempts,
        t.accepted,
        t.rejected,
        percent(t.rejection_rate),
        t.unknown,
        t.p50_ms,
        t.p99_ms
    );
    let _ = writeln!(
        s,
        "<li>Rejections by HTTP status/code: {}.</li>",
        esc(&codes(t))
    );
    if let Some(before) = r.ledger_only_before {
        let _ = writeln!(
            s,
            "<li>Binance's userTrades covers only the past 3 months; fills before {} rest \
             on the ledger alone.</li>",
            time(Some(before))
        );
    }
    let _ = writeln!(s, "</ul>");
}

fn picture(s: &mut String, r: &EvidenceReport) {
    let svg = to_svg(r);
    let body = svg.split_once("?>").map_or(svg.as_str(), |(_, rest)| rest);
    let _ = writeln!(
        s,
        "<h2>Picture</h2><figure>{}<figcaption class=\"muted\">Order attempts per {} \
         bucket and symbol, stacked by outcome; grey bands: circuit breaker open; black \
         marks: close intents from start to flat.</figcaption></figure>",
        body.trim(),
        r.bucket.adjective()
    );
}

fn attempt_cells(a: &AttemptFact) -> Vec<String> {
    let opt = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    let outcome = match outcome(a) {
        Outcome::Rejected(_) => "rejected".to_string(),
        o => o.to_string(),
    };
    vec![
        time(Some(a.sent_at)),
        time(a.exchange_time),
        opt(a.exchange_time.map(|t| t.timestamp_millis().to_string())),
        opt(a.symbol.clone()),
        opt(a.client_order_id.clone()),
        opt(a.http_status.map(|v| v.to_string())),
        opt(a.error_code.map(|v| v.to_string())),
        opt(a.error_class.clone()),
        a.latency_ms.to_string(),
        outcome,
    ]
}

fn attempts(s: &mut String, r: &EvidenceReport) {
    let _ = writeln!(s, "<h2>Attempts, with the exchange's timestamps</h2>");
    let all = &r.attempts;
    let shown: Vec<&AttemptFact> = if all.len() <= MAX_ATTEMPT_ROWS {
        all.iter().collect()
    } else {
        all.iter()
            .filter(|a| outcome(a) != Outcome::Accepted)
            .take(MAX_ATTEMPT_ROWS)
            .collect()
    };
    let _ = writeln!(
        s,
        "<p class=\"muted\">sent_at is sluice's clock; exchange_time is the time the \
         exchange stamped on its answer, also as the epoch milliseconds it sent. {} of {} \
         attempts listed{}.</p>",
        shown.len(),
        all.len(),
        if shown.len() < all.len() {
            " (over the limit: the rejected and unknown ones first)"
        } else {
            ""
        }
    );
    let columns = [
        "sent_at",
        "exchange_time",
        "exchange_time_ms",
        "symbol",
        "client_order_id",
        "http_status",
        "error_code",
        "error_class",
        "latency_ms",
        "outcome",
    ];
    table(s, &columns, shown.into_iter().map(attempt_cells));
}

fn breaker(s: &mut String, r: &EvidenceReport) {
    let _ = writeln!(s, "<h2>Circuit breaker open</h2>");
    if r.breaker_open.is_empty() {
        let _ = writeln!(s, "<p>None recorded.</p>");
        return;
    }
    let rows = r.breaker_open.iter().map(|b| {
        vec![
            time(Some(b.opened_at)),
            b.closed_at.map_or("still open".into(), |t| time(Some(t))),
            b.scope.clone(),
            format!("{} of the last {}", b.distress, b.window_total),
        ]
    });
    table(
        s,
        &["opened_at", "closed_at", "scope", "5xx, -1008 or unknown"],
        rows,
    );
}

fn settings(s: &mut String, about: &About) {
    let _ = writeln!(s, "<h2>sluice and its settings</h2>");
    let _ = writeln!(
        s,
        "<p>{}, report written {} (UTC). Secrets, API keys, the control token and the \
         database URL are never included.</p>",
        esc(&about.version),
        time(Some(about.generated_at))
    );
    if about.settings.is_empty() {
        let _ = writeln!(s, "<p>Settings not included (rendered without them).</p>");
        return;
    }
    let rows = about
        .settings
        .iter()
        .map(|(k, v)| vec![k.clone(), v.clone()]);
    table(s, &["setting", "value"], rows);
}

/// The self-contained HTML report.
pub(crate) fn to_html(r: &EvidenceReport, about: &About) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>sluice evidence report, {} to {}</title><style>{STYLE}</style></head><body>",
        time(Some(r.since)),
        time(Some(r.until))
    );
    let _ = writeln!(
        s,
        "<h1>sluice evidence report</h1><p class=\"muted\">{}, written {} (UTC).</p>",
        esc(&about.version),
        time(Some(about.generated_at))
    );
    summary(&mut s, r);
    picture(&mut s, r);
    let _ = writeln!(s, "<h2>Per {} bucket and symbol</h2>", r.bucket.adjective());
    table(
        &mut s,
        &BUCKET_COLUMNS,
        r.buckets.iter().map(|b| bucket_cells(b, percent)),
    );
    let _ = writeln!(s, "<h2>Close intents</h2>");
    table(
        &mut s,
        &INTENT_COLUMNS,
        r.close_intents.iter().map(intent_cells),
    );
    breaker(&mut s, r);
    attempts(&mut s, r);
    settings(&mut s, about);
    let _ = writeln!(s, "</body></html>");
    s
}
