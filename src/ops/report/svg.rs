//! The SVG timeline: one stacked bar per minute (attempts, coloured by outcome:
//! accepted, each `status/code` rejection, unknown), a legend, and shaded bands where
//! the circuit breaker was open. Hand-written, self-contained SVG text.
//!
//! Invariants: deterministic output for a given report (colours are assigned in the
//! sorted order of the codes); integer pixel arithmetic (no float); every text node
//! is XML-escaped, so the file is well-formed whatever the codes say.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use chrono::{DateTime, SecondsFormat, Utc};

use super::{minute_of, EvidenceReport};

const LEFT: i64 = 56;
const TOP: i64 = 40;
const PLOT_H: i64 = 240;
const LEGEND_W: i64 = 240;
const ACCEPTED: &str = "#2e7d32";
const UNKNOWN: &str = "#9e9e9e";
const BREAKER: &str = "#ff9800";
const PALETTE: [&str; 10] = [
    "#d32f2f", "#f57c00", "#7b1fa2", "#1976d2", "#c2185b", "#00838f", "#fbc02d", "#5d4037",
    "#455a64", "#afb42b",
];

/// Escape text and attribute values.
pub fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// Per minute, across symbols: segment name → count, in stacking order.
fn per_minute(r: &EvidenceReport) -> BTreeMap<DateTime<Utc>, BTreeMap<String, u64>> {
    let mut out: BTreeMap<DateTime<Utc>, BTreeMap<String, u64>> = BTreeMap::new();
    for m in &r.minutes {
        let e = out.entry(m.minute).or_default();
        *e.entry("accepted".into()).or_default() += m.figures.accepted;
        for (k, n) in &m.figures.rejected_by {
            *e.entry(k.clone()).or_default() += n;
        }
        *e.entry("unknown".into()).or_default() += m.figures.unknown;
    }
    out
}

fn colours(
    minutes: &BTreeMap<DateTime<Utc>, BTreeMap<String, u64>>,
) -> BTreeMap<String, &'static str> {
    let codes: BTreeSet<&String> = minutes.values().flat_map(|m| m.keys()).collect();
    let mut out = BTreeMap::new();
    let rejections = codes
        .into_iter()
        .filter(|k| *k != "accepted" && *k != "unknown");
    for (i, k) in rejections.enumerate() {
        out.insert(k.clone(), PALETTE[i % PALETTE.len()]);
    }
    out.insert("accepted".into(), ACCEPTED);
    out.insert("unknown".into(), UNKNOWN);
    out
}

/// Horizontal geometry: first minute, slot count, bar width.
struct Axis {
    first: DateTime<Utc>,
    slots: i64,
    bar_w: i64,
}

impl Axis {
    fn slot(&self, t: DateTime<Utc>) -> i64 {
        ((minute_of(t) - self.first).num_minutes()).clamp(0, self.slots)
    }
    fn x(&self, slot: i64) -> i64 {
        LEFT + slot * self.bar_w
    }
}

/// Stacking order: accepted at the bottom, then rejections by code, unknown on top.
fn stack_order(segments: &BTreeMap<String, u64>) -> Vec<(&String, u64)> {
    let mut v: Vec<(&String, u64)> = segments
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| (k, *n))
        .collect();
    v.sort_by_key(|(k, _)| match k.as_str() {
        "accepted" => 0,
        "unknown" => 2,
        _ => 1,
    });
    v
}

fn bars(
    s: &mut String,
    axis: &Axis,
    minutes: &BTreeMap<DateTime<Utc>, BTreeMap<String, u64>>,
    colours: &BTreeMap<String, &str>,
) {
    let max = minutes
        .values()
        .map(|m| m.values().sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1) as i64;
    for (minute, segments) in minutes {
        let stamp = minute.to_rfc3339_opts(SecondsFormat::Secs, true);
        let total: u64 = segments.values().sum();
        let _ = writeln!(
            s,
            r#"<g class="minute" data-minute="{stamp}"><title>{stamp}: {total} attempts</title>"#
        );
        let (x, mut y) = (axis.x(axis.slot(*minute)), TOP + PLOT_H);
        for (key, n) in stack_order(segments) {
            let h = ((n as i64) * PLOT_H / max).max(1);
            y -= h;
            let colour = colours.get(key).copied().unwrap_or(UNKNOWN);
            let _ = writeln!(
                s,
                r#"<rect class="segment" data-code="{k}" x="{x}" y="{y}" width="{w}" height="{h}" fill="{colour}"><title>{k}: {n}</title></rect>"#,
                k = xml_escape(key),
                w = (axis.bar_w - 1).max(1),
            );
        }
        let _ = writeln!(s, "</g>");
    }
}

fn breaker_bands(s: &mut String, axis: &Axis, r: &EvidenceReport) {
    for b in &r.breaker_open {
        let from = axis.slot(b.opened_at);
        let to = b
            .closed_at
            .map_or(axis.slots, |t| axis.slot(t) + 1)
            .min(axis.slots);
        if to <= from {
            continue;
        }
        let _ = writeln!(
            s,
            r#"<rect class="breaker-open" x="{}" y="{TOP}" width="{}" height="{PLOT_H}" fill="{BREAKER}" fill-opacity="0.18"><title>circuit breaker open</title></rect>"#,
            axis.x(from),
            (to - from) * axis.bar_w
        );
    }
}

fn legend(s: &mut String, x: i64, colours: &BTreeMap<String, &str>) {
    let _ = writeln!(
        s,
        r#"<g class="legend" font-family="sans-serif" font-size="12">"#
    );
    let mut y = TOP;
    let mut entries: Vec<(&String, &&str)> = colours.iter().collect();
    entries.sort_by_key(|(k, _)| {
        (
            k.as_str() != "accepted",
            k.as_str() == "unknown",
            (*k).clone(),
        )
    });
    for (k, c) in entries {
        let _ = writeln!(
            s,
            r#"<rect x="{x}" y="{y}" width="12" height="12" fill="{c}"/><text x="{}" y="{}">{}</text>"#,
            x + 18,
            y + 11,
            xml_escape(k)
        );
        y += 18;
    }
    let _ = writeln!(
        s,
        r#"<rect x="{x}" y="{y}" width="12" height="12" fill="{BREAKER}" fill-opacity="0.35"/><text x="{}" y="{}">circuit breaker open</text>"#,
        x + 18,
        y + 11
    );
    let _ = writeln!(s, "</g>");
}

/// The whole SVG document.
pub fn to_svg(r: &EvidenceReport) -> String {
    let minutes = per_minute(r);
    let colours = colours(&minutes);
    let axis = axis_of(&minutes, r);
    let plot_w = axis.slots * axis.bar_w;
    let (width, height) = (LEFT + plot_w + 24 + LEGEND_W, TOP + PLOT_H + 48);
    let mut s = String::new();
    let _ = writeln!(s, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">"#
    );
    let _ = writeln!(
        s,
        r##"<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>"##
    );
    let _ = writeln!(
        s,
        r#"<text x="{LEFT}" y="22" font-family="sans-serif" font-size="14">Order attempts per minute, {} to {} (UTC)</text>"#,
        xml_escape(&r.since.to_rfc3339_opts(SecondsFormat::Secs, true)),
        xml_escape(&r.until.to_rfc3339_opts(SecondsFormat::Secs, true))
    );
    breaker_bands(&mut s, &axis, r);
    bars(&mut s, &axis, &minutes, &colours);
    let max = minutes.values().map(|m| m.values().sum::<u64>()).max();
    axes(&mut s, &axis, max.unwrap_or(0));
    legend(&mut s, LEFT + plot_w + 24, &colours);
    let _ = writeln!(s, "</svg>");
    s
}

/// One slot per minute from the first to the last minute with attempts (gaps stay
/// visible); bars narrow as the window widens, between 2 and 24 pixels.
fn axis_of(minutes: &BTreeMap<DateTime<Utc>, BTreeMap<String, u64>>, r: &EvidenceReport) -> Axis {
    let first = minutes
        .keys()
        .next()
        .copied()
        .unwrap_or_else(|| minute_of(r.since));
    let last = minutes.keys().next_back().copied().unwrap_or(first);
    let slots = (last - first).num_minutes() + 1;
    Axis {
        first,
        slots,
        bar_w: (1200 / slots).clamp(2, 24),
    }
}

/// Axis lines, the y scale (0 and the busiest minute) and the first/last minute.
fn axes(s: &mut String, axis: &Axis, max: u64) {
    let (base, right) = (TOP + PLOT_H, axis.x(axis.slots));
    let _ = writeln!(
        s,
        r##"<line x1="{LEFT}" y1="{base}" x2="{right}" y2="{base}" stroke="#000000"/>"##
    );
    let _ = writeln!(
        s,
        r##"<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{base}" stroke="#000000"/>"##
    );
    let _ = writeln!(
        s,
        r#"<g font-family="sans-serif" font-size="11"><text x="4" y="{}">{max}</text><text x="4" y="{base}">0</text>"#,
        TOP + 10
    );
    let last = axis.first + chrono::TimeDelta::minutes(axis.slots - 1);
    for (t, x, anchor) in [(axis.first, LEFT, "start"), (last, right, "end")] {
        let _ = writeln!(
            s,
            r#"<text x="{x}" y="{}" text-anchor="{anchor}">{}</text>"#,
            base + 18,
            t.format("%Y-%m-%d %H:%M")
        );
    }
    let _ = writeln!(s, "</g>");
}
