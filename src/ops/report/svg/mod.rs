//! The evidence picture: small multiples, one lane per symbol on a shared time axis,
//! each bar one bucket of the report stacked by outcome (accepted at the bottom, each
//! `status/code` rejection, unknown on top), the circuit breaker's open periods shaded
//! across the lanes, and each close intent marked on its symbol's lane from its start
//! to the moment its position was flat. Hand-written, self-contained SVG text.
//!
//! Readable by construction: the canvas is sized from the content ([`layout`]), time
//! ticks are round times spaced so labels never meet ([`ticks`]), the title wraps
//! and the window goes in a subtitle, the legend sits below the plot ([`legend`]),
//! colours are Okabe–Ito, text is at least 12 px, and every text width is estimated
//! conservatively ([`text`]). Invariants: deterministic output for a given report;
//! every string from the ledger or the exchange is XML-escaped.

mod lanes;
mod layout;
mod legend;
mod text;
mod ticks;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use chrono::{DateTime, Utc};

use super::{CloseIntentRow, EvidenceReport, Outcome};
use layout::Layout;
use legend::{Entry, Palette, Swatch};

pub(crate) use text::{xml_escape, FONT_FAMILY};

/// One bar: a bucket of one symbol, its outcomes in stacking order.
pub(super) struct Bar {
    pub(crate) slot: i64,
    pub start: DateTime<Utc>,
    pub(crate) segments: Vec<(Outcome, u64)>,
}

/// One symbol's lane.
pub(super) struct Lane<'a> {
    pub symbol: String,
    pub attempts: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub unknown: u64,
    pub bars: Vec<Bar>,
    pub intents: Vec<&'a CloseIntentRow>,
}

/// What the picture shows, before any pixel is placed.
pub(super) struct Model<'a> {
    pub report: &'a EvidenceReport,
    pub(crate) slots: i64,
    pub(crate) lanes: Vec<Lane<'a>>,
    /// The busiest bar's attempts.
    pub max: u64,
    pub(crate) palette: Palette,
}

fn segments(f: &super::Figures) -> Vec<(Outcome, u64)> {
    let mut v = vec![(Outcome::Accepted, f.accepted)];
    v.extend(
        f.rejected_by
            .iter()
            .map(|(k, n)| (Outcome::Rejected(k.clone()), *n)),
    );
    v.push((Outcome::Unknown, f.unknown));
    v.retain(|(_, n)| *n > 0);
    v
}

fn empty_lane<'a>(symbol: &str) -> Lane<'a> {
    Lane {
        symbol: symbol.to_string(),
        attempts: 0,
        accepted: 0,
        rejected: 0,
        unknown: 0,
        bars: Vec::new(),
        intents: Vec::new(),
    }
}

impl<'a> Model<'a> {
    fn new(r: &'a EvidenceReport) -> Model<'a> {
        let secs = r.bucket.secs();
        let slots = ((r.span_until - r.span_from).num_seconds() / secs).max(1);
        let mut lanes: BTreeMap<String, Lane<'a>> = BTreeMap::new();
        let mut present = BTreeSet::new();
        for row in &r.buckets {
            let lane = lanes
                .entry(row.symbol.clone())
                .or_insert_with(|| empty_lane(&row.symbol));
            let f = &row.figures;
            lane.attempts += f.attempts;
            lane.accepted += f.accepted;
            lane.rejected += f.rejected;
            lane.unknown += f.unknown;
            let segments = segments(f);
            present.extend(segments.iter().map(|(k, _)| k.clone()));
            lane.bars.push(Bar {
                slot: (row.start - r.span_from).num_seconds() / secs,
                start: row.start,
                segments,
            });
        }
        // Intents that start after the chart's end are in the tables only.
        let drawn = || {
            r.close_intents
                .iter()
                .filter(|c| c.fact.created_at < r.span_until)
        };
        for c in drawn() {
            if let Some(symbol) = &c.fact.symbol {
                lanes
                    .entry(symbol.clone())
                    .or_insert_with(|| empty_lane(symbol))
                    .intents
                    .push(c);
            }
        }
        let mut lanes: Vec<Lane<'a>> = lanes.into_values().collect();
        for c in drawn().filter(|c| c.fact.symbol.is_none()) {
            lanes.iter_mut().for_each(|l| l.intents.push(c));
        }
        let max = r
            .buckets
            .iter()
            .map(|b| b.figures.attempts)
            .max()
            .unwrap_or(0);
        Model {
            report: r,
            slots,
            lanes,
            max,
            palette: Palette::new(&present),
        }
    }

    /// The legend: every outcome drawn (with its Binance name and count), the breaker
    /// band and the intent marks when drawn.
    fn legend(&self) -> Vec<Entry> {
        let t = &self.report.totals;
        let mut out: Vec<Entry> = self
            .palette
            .keys()
            .iter()
            .map(|k| {
                let (name, detail) = match k {
                    Outcome::Accepted => ("accepted".to_string(), t.accepted.to_string()),
                    Outcome::Unknown => (
                        "unknown".to_string(),
                        format!("{} (may have executed)", t.unknown),
                    ),
                    Outcome::Rejected(code) => (code.clone(), rejection_detail(code, t)),
                };
                Entry {
                    swatch: Swatch::Fill(self.palette.fill(k)),
                    name,
                    detail,
                }
            })
            .collect();
        if !self.report.breaker_open.is_empty() {
            out.push(Entry {
                swatch: Swatch::Breaker,
                name: "circuit breaker open".into(),
                detail: "opens refused".into(),
            });
        }
        let intents = self.lanes.iter().flat_map(|l| &l.intents);
        let (flat, open): (Vec<&&CloseIntentRow>, Vec<_>) =
            intents.partition(|c| self.flat_in_chart(c));
        for (any, swatch, name) in [
            (
                !flat.is_empty(),
                Swatch::IntentFlat,
                "close intent: start to flat",
            ),
            (
                !open.is_empty(),
                Swatch::IntentNotFlat,
                "close intent: not flat by the chart's end",
            ),
        ] {
            if any {
                out.push(Entry {
                    swatch,
                    name: name.into(),
                    detail: String::new(),
                });
            }
        }
        out
    }

    fn flat_in_chart(&self, c: &CloseIntentRow) -> bool {
        c.fact.flat_at.is_some_and(|t| t <= self.report.span_until)
    }
}

/// `REDUCE_ONLY_REJECT, 4`: the Binance name of the code (when known) and the count.
fn rejection_detail(key: &str, t: &super::Figures) -> String {
    let n = t.rejected_by.get(key).copied().unwrap_or(0);
    let code: Option<i64> = key.split('/').nth(1).and_then(|c| c.parse().ok());
    let name = code.and_then(|code| {
        crate::exchange::binance::classify::CODE_TABLE
            .iter()
            .find(|(c, _, _)| *c == code)
            .map(|(_, name, _)| *name)
    });
    match (name, key) {
        (Some(name), _) => format!("{name}, {n}"),
        (None, "none/-") => format!("no response, {n}"),
        (None, _) => n.to_string(),
    }
}

/// The whole SVG document.
pub fn to_svg(r: &EvidenceReport) -> String {
    let model = Model::new(r);
    let legend = model.legend();
    let layout = Layout::new(&model, &legend);
    let (w, h) = (layout.width, layout.height);
    let mut s = String::new();
    let _ = writeln!(s, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="{FONT_FAMILY}">"#
    );
    let _ = writeln!(
        s,
        r##"<rect x="0" y="0" width="{w}" height="{h}" fill="#ffffff"/>"##
    );
    model.palette.defs(&mut s);
    layout.headings(&mut s);
    lanes::breaker_bands(&mut s, &model, &layout);
    for (lane, at) in model.lanes.iter().zip(&layout.lanes) {
        lanes::lane(&mut s, &model, &layout, lane, at);
    }
    if model.lanes.is_empty() {
        lanes::no_attempts(&mut s, &layout);
    }
    layout.time_axis(&mut s);
    legend::draw(
        &mut s,
        &legend,
        layout.margin,
        w - layout.margin,
        layout.legend_top,
    );
    let _ = writeln!(s, "</svg>");
    s
}
