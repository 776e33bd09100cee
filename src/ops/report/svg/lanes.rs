//! One lane per symbol: its heading, its count scale, its bars stacked by outcome and
//! its close intents' marks; and the breaker's open periods shaded behind all lanes.
//!
//! Invariants: a bar's segments stack in the palette's order (accepted, rejections by
//! code, unknown) and never reach above the lane (the scale's top is at or above the
//! busiest bar); a close-intent mark runs from the intent's start to the time its
//! position was flat, clipped to the chart with an arrow where it continues beyond
//! it; marks that would touch are put on separate rows of the lane's strip.

use std::fmt::Write;

use chrono::SecondsFormat;

use super::layout::{LaneBox, Layout, HEAD_SIZE, LANE_H, MARK_ROW, SUB_SIZE};
use super::legend::{BREAKER, BREAKER_OPACITY, INTENT};
use super::text::{ellipsize, width, xml_escape};
use super::ticks::{count_ticks, offset, TICK_SIZE};
use super::{Lane, Model};
use crate::ops::report::CloseIntentRow;

/// A close intent's mark on a lane, in px from the plot's left edge.
pub(super) struct Mark {
    pub row: i64,
    pub(crate) x0: i64,
    pub(crate) x1: i64,
    /// Started before the chart's first bucket.
    pub before: bool,
    /// Flat within the chart (a dot); else an arrow at the right edge.
    pub flat: bool,
    pub(crate) title: String,
}

fn describe(c: &CloseIntentRow) -> String {
    let t = |v: chrono::DateTime<chrono::Utc>| v.to_rfc3339_opts(SecondsFormat::Millis, true);
    let end = match (c.fact.flat_at, c.time_to_flat_ms) {
        (Some(flat), Some(ms)) => format!("flat {} ({ms} ms)", t(flat)),
        _ => format!("not flat ({})", c.fact.state),
    };
    format!(
        "{} intent {} on {}: start {}, {end}, {} attempts",
        c.fact.kind,
        c.fact.intent_id,
        c.fact.symbol.as_deref().unwrap_or("all symbols"),
        t(c.fact.created_at),
        c.fact.attempts
    )
}

/// The lane's intent marks, each on the first strip row where it touches no other.
pub(super) fn marks(m: &Model, lane: &Lane, plot_w: i64) -> Vec<Mark> {
    let (from, until) = (m.report.span_from, m.report.span_until);
    let mut rows_end: Vec<i64> = Vec::new();
    let mut out = Vec::new();
    for c in &lane.intents {
        let x0 = offset(c.fact.created_at, from, until, plot_w);
        let flat = c.fact.flat_at.filter(|t| *t <= until);
        let x1 = flat
            .map_or(plot_w, |t| offset(t, from, until, plot_w))
            .max(x0);
        let row = match rows_end.iter().position(|end| *end + 8 < x0) {
            Some(row) => row,
            None => {
                rows_end.push(i64::MIN);
                rows_end.len() - 1
            }
        };
        rows_end[row] = x1;
        out.push(Mark {
            row: row as i64,
            x0,
            x1,
            before: c.fact.created_at < from,
            flat: flat.is_some(),
            title: describe(c),
        });
    }
    out
}

/// The breaker's open periods, one band each across all lanes.
pub(super) fn breaker_bands(s: &mut String, m: &Model, l: &Layout) {
    for b in &m.report.breaker_open {
        let x0 = l.x(m, b.opened_at);
        let x1 = b.closed_at.map_or(l.plot_left + l.plot_w, |t| l.x(m, t));
        if x1 <= x0 || b.opened_at >= m.report.span_until {
            continue;
        }
        let until = b.closed_at.map_or("still open".into(), |t| {
            t.to_rfc3339_opts(SecondsFormat::Millis, true)
        });
        let _ = writeln!(
            s,
            r#"<rect class="breaker-open" x="{x0}" y="{}" width="{}" height="{}" fill="{BREAKER}" fill-opacity="{BREAKER_OPACITY}"><title>circuit breaker open ({}): {} to {until}</title></rect>"#,
            l.lanes_top,
            x1 - x0,
            l.lanes_bottom - l.lanes_top,
            xml_escape(&b.scope),
            b.opened_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        );
    }
}

fn heading(s: &mut String, l: &Layout, lane: &Lane, at: &LaneBox) {
    let room = l.width - l.margin - l.plot_left;
    let symbol = ellipsize(&lane.symbol, HEAD_SIZE, room);
    let symbol_w = width(&symbol, HEAD_SIZE);
    let detail = format!(
        "{} attempts: {} accepted, {} rejected, {} unknown",
        lane.attempts, lane.accepted, lane.rejected, lane.unknown
    );
    let detail = ellipsize(&detail, SUB_SIZE, room - symbol_w - 10);
    let _ = writeln!(
        s,
        r#"<text class="lane-label" x="{}" y="{}" font-size="{HEAD_SIZE}">{}</text>"#,
        l.plot_left,
        at.heading_baseline,
        xml_escape(&symbol)
    );
    if !detail.is_empty() {
        let _ = writeln!(
            s,
            r##"<text x="{}" y="{}" font-size="{SUB_SIZE}" fill="#444444">{}</text>"##,
            l.plot_left + symbol_w + 10,
            at.heading_baseline,
            xml_escape(&detail)
        );
    }
}

fn count_scale(s: &mut String, l: &Layout, at: &LaneBox) {
    let base = at.plot_top + LANE_H;
    let right = l.plot_left + l.plot_w;
    for v in count_ticks(l.top) {
        let y = base - (v as i64 * LANE_H) / l.top as i64;
        let colour = if v == 0 { "#000000" } else { "#d9d9d9" };
        let _ = writeln!(
            s,
            r#"<line x1="{}" y1="{y}" x2="{right}" y2="{y}" stroke="{colour}"/><text class="count" x="{}" y="{}" font-size="{TICK_SIZE}" text-anchor="end">{v}</text>"#,
            l.plot_left,
            l.plot_left - 6,
            y + 4
        );
    }
}

fn bars(s: &mut String, m: &Model, l: &Layout, lane: &Lane, at: &LaneBox) {
    let base = at.plot_top + LANE_H;
    let scale = |n: u64| (n as i64 * LANE_H) / l.top as i64;
    for bar in &lane.bars {
        let total: u64 = bar.segments.iter().map(|(_, n)| n).sum();
        let stamp = bar.start.to_rfc3339_opts(SecondsFormat::Secs, true);
        let x = l.plot_left + bar.slot * l.slot_w + (l.slot_w - l.bar_w) / 2;
        let _ = writeln!(
            s,
            r#"<g class="bucket" data-start="{stamp}" data-symbol="{sym}"><title>{sym} {stamp}: {total} attempts</title>"#,
            sym = xml_escape(&lane.symbol)
        );
        let mut below = 0u64;
        for (key, n) in &bar.segments {
            let y0 = (base - scale(below)).min(base);
            let y1 = (base - scale(below + n)).max(at.plot_top).min(y0 - 1);
            below += n;
            let gap = i64::from(y0 - y1 >= 3);
            let _ = writeln!(
                s,
                r#"<rect class="segment" data-code="{k}" x="{x}" y="{y1}" width="{w}" height="{h}" fill="{fill}"><title>{k}: {n}</title></rect>"#,
                k = xml_escape(&key.to_string()),
                w = l.bar_w,
                h = y0 - y1 - gap,
                fill = m.palette.fill(key),
            );
        }
        let _ = writeln!(s, "</g>");
    }
}

fn intent_marks(s: &mut String, l: &Layout, at: &LaneBox) {
    for k in &at.marks {
        let y = at.strip_top + k.row * MARK_ROW + MARK_ROW / 2;
        let (x0, x1) = (l.plot_left + k.x0, l.plot_left + k.x1);
        let start = if k.before {
            format!(
                r#"<path d="M{} {} l-5 4 l5 4 z" fill="{INTENT}"/>"#,
                x0 + 5,
                y - 4
            )
        } else {
            format!(
                r#"<path d="M{x0} {} v8" stroke="{INTENT}" stroke-width="2"/>"#,
                y - 4
            )
        };
        let end = if k.flat {
            format!(r#"<circle cx="{x1}" cy="{y}" r="3" fill="{INTENT}"/>"#)
        } else {
            format!(
                r#"<path d="M{} {} l5 4 l-5 4 z" fill="{INTENT}"/>"#,
                x1 - 5,
                y - 4
            )
        };
        let _ = writeln!(
            s,
            r#"<g class="close-intent"><title>{}</title><path d="M{x0} {y} H{x1}" stroke="{INTENT}" stroke-width="2"/>{start}{end}</g>"#,
            xml_escape(&k.title)
        );
    }
}

/// One lane: heading, scale, bars, intent marks.
pub(super) fn lane(s: &mut String, m: &Model, l: &Layout, lane: &Lane, at: &LaneBox) {
    let _ = writeln!(
        s,
        r#"<g class="lane" data-symbol="{}">"#,
        xml_escape(&lane.symbol)
    );
    heading(s, l, lane, at);
    count_scale(s, l, at);
    bars(s, m, l, lane, at);
    intent_marks(s, l, at);
    let _ = writeln!(s, "</g>");
}

/// The placeholder lane of a window without attempts: its base line and a sentence.
pub(super) fn no_attempts(s: &mut String, l: &Layout) {
    let _ = writeln!(
        s,
        r##"<line x1="{}" y1="{y}" x2="{}" y2="{y}" stroke="#000000"/><text x="{}" y="{}" font-size="{HEAD_SIZE}">{}</text>"##,
        l.plot_left,
        l.plot_left + l.plot_w,
        l.plot_left,
        l.lanes_top + 40,
        ellipsize("No order attempts in this window.", HEAD_SIZE, l.plot_w),
        y = l.lanes_bottom,
    );
}
