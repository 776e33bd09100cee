//! Where everything goes: the canvas is sized from the content, top to bottom: title
//! (wrapped), subtitle (the full window), one lane per symbol (heading, a strip for
//! the close-intent marks, the bars), the shared time axis with its caption, and the
//! legend.
//!
//! Invariants: the plot is about 960 px wide (each bar at least 2 px, so 1000 bars
//! make 2000 px); the left gutter holds the widest count label and half of the first
//! time label, the right margin half of the last; every text line is fitted to the
//! canvas width with [`super::text`] before it is placed, and vertical steps leave
//! room for each font's ascent and descent, so no text leaves the canvas.

use std::fmt::Write;

use chrono::{DateTime, SecondsFormat, Utc};

use super::lanes::{marks, Mark};
use super::legend::{self, Entry};
use super::text::{ellipsize, width, wrap, xml_escape, ASCENT};
use super::ticks::{count_ticks, nice_max, offset, time_ticks, Tick, TICK_SIZE};
use super::Model;

pub(super) const MARGIN: i64 = 16;
const MIN_WIDTH: i64 = 560;
const TARGET_PLOT_W: i64 = 960;
const TITLE_SIZE: i64 = 16;
const TITLE_LINE: i64 = 21;
pub(super) const SUB_SIZE: i64 = 12;
const SUB_LINE: i64 = 16;
pub(super) const HEAD_SIZE: i64 = 13;
const HEAD_H: i64 = 20;
pub(super) const LANE_H: i64 = 96;
const LANE_GAP: i64 = 16;
pub(super) const MARK_ROW: i64 = 10;
const TICK_LEN: i64 = 4;

/// Vertical places of one lane.
pub(super) struct LaneBox {
    pub(crate) heading_baseline: i64,
    pub(crate) strip_top: i64,
    pub marks: Vec<Mark>,
    pub(crate) plot_top: i64,
}

pub(super) struct Layout {
    pub(crate) margin: i64,
    pub width: i64,
    pub height: i64,
    pub(crate) plot_left: i64,
    pub(crate) plot_w: i64,
    pub(crate) slot_w: i64,
    pub(crate) bar_w: i64,
    /// Top of the count scale, the same on every lane.
    pub top: u64,
    title: Vec<String>,
    subtitle: Vec<String>,
    pub(crate) lanes: Vec<LaneBox>,
    pub(crate) lanes_top: i64,
    pub(crate) lanes_bottom: i64,
    ticks: Vec<Tick>,
    caption: String,
    caption_baseline: i64,
    pub(crate) legend_top: i64,
}

/// Baseline for a line whose box starts at `top`, at `size` px.
fn baseline(top: i64, size: i64) -> i64 {
    top + (size as f64 * ASCENT).ceil() as i64
}

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn subtitle_text(m: &Model, top: u64) -> Vec<String> {
    let r = m.report;
    let t = &r.totals;
    let mut out = vec![format!(
        "Window: {} to {} (UTC, end exclusive).",
        stamp(r.since),
        stamp(r.until)
    )];
    if t.attempts == 0 {
        out.push(format!(
            "No order attempts in this window; the axis spans it in buckets of {}.",
            r.bucket.noun()
        ));
    } else {
        out.push(format!(
            "Shown: {} to {}, {} buckets of {}: {} attempts, {} accepted, {} rejected, {} unknown.",
            stamp(r.span_from),
            stamp(r.span_until),
            m.slots,
            r.bucket.noun(),
            t.attempts,
            t.accepted,
            t.rejected,
            t.unknown
        ));
        out.push(format!(
            "Each bar: the attempts sent in one bucket, stacked by outcome; every lane on the same scale, 0 to {top}."
        ));
    }
    out
}

fn caption(m: &Model) -> String {
    let (from, until) = (m.report.span_from, m.report.span_until);
    let day = |t: DateTime<Utc>| t.format("%Y-%m-%d").to_string();
    let last = until - chrono::TimeDelta::milliseconds(1);
    if day(from) == day(last) {
        format!("Time (UTC), {}", day(from))
    } else {
        format!("Time (UTC), {} to {}", day(from), day(last))
    }
}

impl Layout {
    pub(super) fn new(m: &Model, legend_entries: &[Entry]) -> Layout {
        let slot_w = (TARGET_PLOT_W / m.slots).max(2);
        let plot_w = slot_w * m.slots;
        let bar_w = if slot_w >= 4 {
            (slot_w - 1).min(48)
        } else {
            slot_w
        };
        let top = nice_max(m.max);
        let label_w = count_ticks(top)
            .iter()
            .map(|v| width(&v.to_string(), TICK_SIZE))
            .max();
        let ticks = time_ticks(m.report.span_from, m.report.span_until, plot_w);
        let half = |t: &Tick| (t.width + 1) / 2;
        let mut plot_left = MARGIN + label_w.unwrap_or(0) + 8;
        for t in &ticks {
            plot_left = plot_left.max(MARGIN + half(t) - t.dx);
        }
        let right_of_ticks = ticks.iter().map(|t| plot_left + t.dx + half(t)).max();
        let width = (plot_left + plot_w)
            .max(right_of_ticks.unwrap_or(0))
            .saturating_add(MARGIN)
            .max(MIN_WIDTH);
        let text_w = width - 2 * MARGIN;
        let title_text = format!(
            "Order attempts by outcome, per {} bucket, one lane per symbol",
            m.report.bucket.adjective()
        );
        let title = wrap(&title_text, TITLE_SIZE, text_w, 2);
        let subtitle: Vec<String> = subtitle_text(m, top)
            .iter()
            .flat_map(|line| wrap(line, SUB_SIZE, text_w, 3))
            .collect();
        let mut y =
            MARGIN + title.len() as i64 * TITLE_LINE + subtitle.len() as i64 * SUB_LINE + 10;
        let lanes_top = y;
        let mut lanes = Vec::new();
        for lane in &m.lanes {
            let marks = marks(m, lane, plot_w);
            let rows = marks.iter().map(|k| k.row + 1).max().unwrap_or(0);
            let heading_baseline = baseline(y, HEAD_SIZE);
            let strip_top = y + HEAD_H;
            let plot_top = strip_top + rows * MARK_ROW + if rows > 0 { 4 } else { 0 };
            lanes.push(LaneBox {
                heading_baseline,
                strip_top,
                marks,
                plot_top,
            });
            y = plot_top + LANE_H + LANE_GAP;
        }
        if m.lanes.is_empty() {
            y += HEAD_H + LANE_H + LANE_GAP;
        }
        let lanes_bottom = y - LANE_GAP;
        // Tick labels from 4 px below the tick marks (clear of the lowest count label),
        // the caption below them, then the legend.
        let caption_baseline = baseline(lanes_bottom + TICK_LEN + 24, SUB_SIZE);
        let legend_top = lanes_bottom + TICK_LEN + 24 + 18 + 8;
        let rows = legend::rows(legend_entries, MARGIN, width - MARGIN);
        Layout {
            margin: MARGIN,
            width,
            height: legend_top + rows * legend::ROW_H + MARGIN,
            plot_left,
            plot_w,
            slot_w,
            bar_w,
            top,
            title,
            subtitle,
            lanes,
            lanes_top,
            lanes_bottom,
            ticks,
            caption: ellipsize(&caption(m), SUB_SIZE, text_w),
            caption_baseline,
            legend_top,
        }
    }

    /// x of `t` on the shared time axis.
    pub(super) fn x(&self, m: &Model, t: DateTime<Utc>) -> i64 {
        self.plot_left + offset(t, m.report.span_from, m.report.span_until, self.plot_w)
    }

    /// Title and subtitle.
    pub(super) fn headings(&self, s: &mut String) {
        let mut y = MARGIN;
        let _ = writeln!(s, r#"<g class="title">"#);
        for line in &self.title {
            let _ = writeln!(
                s,
                r#"<text x="{MARGIN}" y="{}" font-size="{TITLE_SIZE}">{}</text>"#,
                baseline(y, TITLE_SIZE),
                xml_escape(line)
            );
            y += TITLE_LINE;
        }
        for line in &self.subtitle {
            let _ = writeln!(
                s,
                r##"<text x="{MARGIN}" y="{}" font-size="{SUB_SIZE}" fill="#333333">{}</text>"##,
                baseline(y, SUB_SIZE),
                xml_escape(line)
            );
            y += SUB_LINE;
        }
        let _ = writeln!(s, "</g>");
    }

    /// Tick marks on every lane's base line, the labels under the last, the caption.
    pub(super) fn time_axis(&self, s: &mut String) {
        let _ = writeln!(s, r#"<g class="time-axis" font-size="{TICK_SIZE}">"#);
        let bases: Vec<i64> = if self.lanes.is_empty() {
            vec![self.lanes_bottom]
        } else {
            self.lanes.iter().map(|l| l.plot_top + LANE_H).collect()
        };
        for (i, t) in self.ticks.iter().enumerate() {
            let x = self.plot_left + t.dx;
            for base in &bases {
                let _ = writeln!(
                    s,
                    r##"<line x1="{x}" y1="{base}" x2="{x}" y2="{}" stroke="#000000"/>"##,
                    base + TICK_LEN
                );
            }
            let _ = writeln!(
                s,
                r#"<text id="tick-{i}" class="tick" x="{x}" y="{}" text-anchor="middle">{}</text>"#,
                baseline(self.lanes_bottom + TICK_LEN + 4, TICK_SIZE),
                xml_escape(&t.label)
            );
        }
        let _ = writeln!(
            s,
            r##"<text id="time-caption" x="{}" y="{}" fill="#333333">{}</text>"##,
            MARGIN,
            self.caption_baseline,
            xml_escape(&self.caption)
        );
        let _ = writeln!(s, "</g>");
    }
}
