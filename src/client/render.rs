//! Human renderings of the API's read models: plain-text tables and the one-line
//! progress of `--wait`. Pure (String in, String out) so they are tested directly.

use std::fmt::Write;

use crate::api::read::{LearnedCapView, PositionsResponse};
use crate::api::views::{HaltResponse, IntentResponse, IntentSummary, PositionView};
use crate::ledger::Budget;

fn or_dash<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_else(|| "-".into())
}

/// Left-aligned columns, two spaces apart.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        padded.join("  ").trim_end().to_string()
    };
    let mut out = line(header.iter().map(|h| h.to_string()).collect());
    for row in rows {
        out.push('\n');
        out.push_str(&line(row.clone()));
    }
    out
}

/// `intent #12 open short SOLUSDT: working, chunks 2/5 done, filled 40`
pub(crate) fn progress_line(i: &IntentResponse) -> String {
    let what = [
        i.kind.as_str().to_string(),
        i.side.map(|s| s.as_str().to_string()).unwrap_or_default(),
        i.symbol
            .as_ref()
            .map(|s| s.to_string())
            .unwrap_or_else(|| "all symbols".into()),
    ]
    .iter()
    .filter(|s| !s.is_empty())
    .cloned()
    .collect::<Vec<_>>()
    .join(" ");
    let mut line = format!(
        "intent #{} {what}: {}, chunks {}/{} done, filled {}",
        i.id,
        i.outcome.as_deref().unwrap_or(i.state.as_str()),
        i.chunks_done(),
        i.chunks.len(),
        i.filled_quantity
    );
    if let Some(short) = i.shortfall {
        let _ = write!(line, ", shortfall {short}");
    }
    if let Some(e) = &i.error {
        let _ = write!(line, ", error: {e}");
    }
    line
}

pub(crate) fn intent(i: &IntentResponse) -> String {
    let mut out = progress_line(i);
    if let Some(l) = &i.limit {
        let at = l
            .price
            .clone()
            .or_else(|| l.price_match.clone())
            .unwrap_or_default();
        let _ = write!(out, "\n  LIMIT {at} {}", l.time_in_force);
        if let Some(ms) = l.good_till_date {
            let _ = write!(out, " till {ms}");
        }
    }
    let _ = write!(
        out,
        "\n  key {}{}\n  quantity {}  notional {}  position {}\n  accepted {}  elapsed {} ms",
        i.idempotency_key,
        if i.replayed {
            " (replayed: this is the first intent with this key)"
        } else {
            ""
        },
        or_dash(i.quantity.map(|q| q.get())),
        or_dash(i.notional_usdt.map(|n| n.get())),
        or_dash(i.position_id),
        i.timings.accepted_at.to_rfc3339(),
        i.timings.elapsed_ms
    );
    if !i.reason.is_empty() {
        let _ = write!(out, "\n  reason {}", i.reason);
    }
    if !i.chunks.is_empty() {
        let rows: Vec<Vec<String>> = i
            .chunks
            .iter()
            .map(|c| {
                vec![
                    c.index.to_string(),
                    c.client_order_id.clone(),
                    c.quantity.to_string(),
                    c.status.as_str().to_string(),
                    c.filled_quantity.to_string(),
                    c.attempts.to_string(),
                    or_dash(c.last_error_code),
                ]
            })
            .collect();
        let header = [
            "CHUNK",
            "CLIENT ORDER ID",
            "QTY",
            "STATUS",
            "FILLED",
            "ATTEMPTS",
            "LAST ERROR",
        ];
        let _ = write!(out, "\n\n{}", table(&header, &rows));
    }
    for e in &i.events {
        let _ = write!(
            out,
            "\n  {} {} -> {}: {}",
            e.at.to_rfc3339(),
            e.from.as_str(),
            e.to.as_str(),
            e.cause
        );
    }
    out
}

pub(crate) fn intents(list: &[IntentSummary]) -> String {
    if list.is_empty() {
        return "no intents".into();
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|i| {
            vec![
                i.id.to_string(),
                i.created_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                i.kind.as_str().to_string(),
                or_dash(i.symbol.as_ref()),
                or_dash(i.side.map(|d| d.as_str())),
                or_dash(i.quantity.map(|q| q.get())),
                or_dash(i.notional_usdt.map(|n| n.get())),
                i.outcome
                    .clone()
                    .unwrap_or_else(|| i.state.as_str().to_string()),
                i.error.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let header = [
        "ID", "CREATED", "KIND", "SYMBOL", "SIDE", "QTY", "NOTIONAL", "STATE", "ERROR",
    ];
    table(&header, &rows)
}

/// The positions table, then one line per learned cap.
pub fn positions(response: &PositionsResponse) -> String {
    let mut out = positions_table(&response.positions);
    for cap in &response.learned_caps {
        out.push('\n');
        out.push_str(&learned_cap(cap));
    }
    out
}

/// `SOLUSDT market cap learned 223.34 (published 4243.42) at …, retry published at …`.
pub(crate) fn learned_cap(c: &LearnedCapView) -> String {
    let published = c
        .published_market_max_qty
        .map_or_else(String::new, |p| format!(" (published {p})"));
    let retry = match (c.in_force, c.retry_published_at) {
        (true, Some(t)) => format!("retry published at {}", t.to_rfc3339()),
        (true, None) => "no retry time recorded".to_string(),
        (false, _) => "expired: the published cap is being tried again".to_string(),
    };
    format!(
        "{} market cap learned {}{published} at {}, {retry} ({})",
        c.symbol,
        c.learned_market_max_qty,
        c.learned_at.to_rfc3339(),
        c.reason
    )
}

fn positions_table(list: &[PositionView]) -> String {
    if list.is_empty() {
        return "no positions".into();
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|p| {
            vec![
                p.id.to_string(),
                p.symbol.to_string(),
                p.side.as_str().to_string(),
                p.quantity.to_string(),
                p.entry_price.to_string(),
                p.notional_usdt.round_dp(2).to_string(),
                p.realized_pnl.round_dp(4).to_string(),
                p.status.clone(),
                p.origin.clone(),
            ]
        })
        .collect();
    let header = [
        "ID",
        "SYMBOL",
        "SIDE",
        "QTY",
        "ENTRY",
        "NOTIONAL",
        "REALIZED PNL",
        "STATUS",
        "ORIGIN",
    ];
    table(&header, &rows)
}

pub(crate) fn budget(b: &Budget) -> String {
    table(
        &["ALLOCATION", "USED", "RESERVED", "AVAILABLE"],
        &[vec![
            b.allocation.to_string(),
            b.used.to_string(),
            b.reserved.to_string(),
            b.available.to_string(),
        ]],
    )
}

pub(crate) fn halt(h: &HaltResponse) -> String {
    let s = &h.halt;
    let since = s
        .since
        .map(|t| t.to_rfc3339())
        .unwrap_or_else(|| "-".into());
    let mut out = if s.halted {
        format!("HALTED by {} at {since}: {}", s.actor, s.reason)
    } else if s.since.is_some() {
        format!("trading allowed (resumed by {} at {since})", s.actor)
    } else {
        "trading allowed (never halted)".to_string()
    };
    if !s.flatten_intents.is_empty() {
        let ids: Vec<String> = s.flatten_intents.iter().map(|i| format!("#{i}")).collect();
        let _ = write!(out, "\nflatten intents: {}", ids.join(", "));
    }
    if !h.cancelled_intents.is_empty() {
        let ids: Vec<String> = h
            .cancelled_intents
            .iter()
            .map(|i| format!("#{i}"))
            .collect();
        let _ = write!(out, "\ncancelled intents (never sent): {}", ids.join(", "));
    }
    if let Some(i) = &h.flatten_intent {
        let _ = write!(out, "\n{}", progress_line(i));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_columns_line_up_under_their_headers() {
        let rows = vec![
            vec!["1".to_string(), "SOLUSDT".to_string(), "40".to_string()],
            vec!["12".to_string(), "BTCUSDT".to_string(), "0.015".to_string()],
        ];
        let text = table(&["ID", "SYMBOL", "QTY"], &rows);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "ID  SYMBOL   QTY");
        assert_eq!(lines[1], "1   SOLUSDT  40");
        assert_eq!(lines[2], "12  BTCUSDT  0.015");
    }

    fn cap(in_force: bool) -> LearnedCapView {
        let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc();
        LearnedCapView {
            symbol: crate::domain::Symbol::new("SOLUSDT").unwrap(),
            learned_market_max_qty: crate::domain::Qty::parse("cap", "223.34").unwrap(),
            published_market_max_qty: Some(crate::domain::Qty::parse("p", "4243.42").unwrap()),
            learned_at: at("2026-11-21T15:00:00Z"),
            reason: "-4005 on a MARKET chunk of 446.68 within published maxQty 4243.42".into(),
            retry_published_at: Some(at("2026-11-21T16:00:00Z")),
            in_force,
        }
    }

    #[test]
    fn a_learned_cap_reads_as_one_line_with_the_published_cap_and_the_retry_time() {
        let response = PositionsResponse {
            positions: Vec::new(),
            learned_caps: vec![cap(true)],
        };
        let text = positions(&response);
        assert_eq!(
            text.lines().nth(1),
            Some(
                "SOLUSDT market cap learned 223.34 (published 4243.42) at 2026-11-21T15:00:00+00:00, \
                 retry published at 2026-11-21T16:00:00+00:00 (-4005 on a MARKET chunk of 446.68 \
                 within published maxQty 4243.42)"
            )
        );
        assert!(learned_cap(&cap(false)).contains("expired"));
    }
}
