//! Colours and the legend.
//!
//! Colours are the Okabe–Ito palette (Okabe & Ito, "Color Universal Design", 2008),
//! chosen to stay apart under protanopia, deuteranopia and tritanopia: accepted is
//! bluish green, an unknown outcome black, rejections take vermillion, orange, blue,
//! reddish purple, sky blue and yellow in the sorted order of their `status/code`; the
//! 7th to 12th code repeat them with white diagonal hatching, the 13th to 18th with cross
//! hatching (and so on alternately), so even a long storm keeps its codes apart. Breaker periods are a light
//! grey band behind the bars; close intents are drawn in black.
//!
//! Invariant: the legend sits below the plot, flowing in rows inside the canvas; every
//! entry is shortened to the row width, so none reaches outside it.

use std::collections::BTreeSet;
use std::fmt::Write;

use super::text::{ellipsize, width, xml_escape};
use crate::ops::report::Outcome;

pub(super) const ACCEPTED: &str = "#009E73";
pub(super) const UNKNOWN: &str = "#000000";
pub(super) const INTENT: &str = "#000000";
pub(super) const BREAKER: &str = "#000000";
pub(super) const BREAKER_OPACITY: &str = "0.12";
const REJECTED: [&str; 6] = [
    "#D55E00", "#E69F00", "#0072B2", "#CC79A7", "#56B4E9", "#F0E442",
];
pub(super) const LEGEND_SIZE: i64 = 12;
pub(super) const ROW_H: i64 = 20;
const SWATCH: i64 = 12;
const ITEM_GAP: i64 = 18;

/// The fill of each outcome present, in stacking order.
pub(crate) struct Palette {
    keys: Vec<Outcome>,
}

impl Palette {
    pub(crate) fn new(present: &BTreeSet<Outcome>) -> Palette {
        Palette {
            keys: present.iter().cloned().collect(),
        }
    }

    fn rejection_index(&self, key: &Outcome) -> Option<usize> {
        self.keys
            .iter()
            .filter(|k| matches!(k, Outcome::Rejected(_)))
            .position(|k| k == key)
    }

    /// The `fill` attribute value for `key`.
    pub(crate) fn fill(&self, key: &Outcome) -> String {
        match key {
            Outcome::Accepted => ACCEPTED.to_string(),
            Outcome::Unknown => UNKNOWN.to_string(),
            Outcome::Rejected(_) => match self.rejection_index(key) {
                Some(i) if i < REJECTED.len() => REJECTED[i].to_string(),
                Some(i) => format!("url(#hatch{i})"),
                None => UNKNOWN.to_string(),
            },
        }
    }

    /// `<defs>` with the hatch patterns the 7th and later codes use.
    pub(crate) fn defs(&self, s: &mut String) {
        let n = self
            .keys
            .iter()
            .filter(|k| matches!(k, Outcome::Rejected(_)))
            .count();
        if n <= REJECTED.len() {
            return;
        }
        let _ = writeln!(s, "<defs>");
        for i in REJECTED.len()..n {
            let colour = REJECTED[i % REJECTED.len()];
            let cross = if (i / REJECTED.len()).is_multiple_of(2) {
                r##"<line x1="0" y1="3" x2="6" y2="3" stroke="#ffffff" stroke-width="1.5"/>"##
            } else {
                ""
            };
            let _ = writeln!(
                s,
                r##"<pattern id="hatch{i}" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="{colour}"/><line x1="3" y1="0" x2="3" y2="6" stroke="#ffffff" stroke-width="1.5"/>{cross}</pattern>"##
            );
        }
        let _ = writeln!(s, "</defs>");
    }

    pub(crate) fn keys(&self) -> &[Outcome] {
        &self.keys
    }
}

/// How a legend entry's swatch is drawn.
#[derive(Clone, Debug)]
pub(super) enum Swatch {
    Fill(String),
    Breaker,
    IntentFlat,
    IntentNotFlat,
}

/// One legend entry: swatch, name (e.g. `400/-2022`), detail (e.g. `REDUCE_ONLY_REJECT, 4`).
#[derive(Clone, Debug)]
pub(super) struct Entry {
    pub(crate) swatch: Swatch,
    pub name: String,
    pub detail: String,
}

/// An entry placed: where, with its texts already shortened to fit.
struct Placed<'a> {
    entry: &'a Entry,
    x: i64,
    y: i64,
    name: String,
    detail: String,
}

fn place(entries: &[Entry], left: i64, right: i64, top: i64) -> (Vec<Placed<'_>>, i64) {
    let room = right - left;
    let (mut x, mut y, mut placed) = (left, top, Vec::new());
    for e in entries {
        let name = ellipsize(&e.name, LEGEND_SIZE, room - SWATCH - 6);
        let name_w = width(&name, LEGEND_SIZE);
        let rest = room - SWATCH - 6 - name_w - 6;
        let detail = if e.detail.is_empty() || rest < 24 {
            String::new()
        } else {
            ellipsize(&e.detail, LEGEND_SIZE, rest)
        };
        let mut w = SWATCH + 6 + name_w;
        if !detail.is_empty() {
            w += 6 + width(&detail, LEGEND_SIZE);
        }
        if x > left && x + w > right {
            x = left;
            y += ROW_H;
        }
        placed.push(Placed {
            entry: e,
            x,
            y,
            name,
            detail,
        });
        x += w + ITEM_GAP;
    }
    let rows = if entries.is_empty() {
        0
    } else {
        (y - top) / ROW_H + 1
    };
    (placed, rows)
}

/// Rows the legend takes between `left` and `right`.
pub(super) fn rows(entries: &[Entry], left: i64, right: i64) -> i64 {
    place(entries, left, right, 0).1
}

fn swatch(s: &mut String, kind: &Swatch, x: i64, y: i64) {
    let mid = y + SWATCH / 2;
    let _ = match kind {
        Swatch::Fill(fill) => writeln!(
            s,
            r#"<rect x="{x}" y="{y}" width="{SWATCH}" height="{SWATCH}" fill="{fill}"/>"#
        ),
        Swatch::Breaker => writeln!(
            s,
            r#"<rect x="{x}" y="{y}" width="{SWATCH}" height="{SWATCH}" fill="{BREAKER}" fill-opacity="{BREAKER_OPACITY}" stroke="{BREAKER}" stroke-opacity="0.4"/>"#
        ),
        Swatch::IntentFlat => writeln!(
            s,
            r#"<path d="M{x} {} v8 M{x} {mid} H{}" stroke="{INTENT}" stroke-width="2" fill="none"/><circle cx="{}" cy="{mid}" r="3" fill="{INTENT}"/>"#,
            mid - 4,
            x + SWATCH - 3,
            x + SWATCH - 3,
        ),
        Swatch::IntentNotFlat => writeln!(
            s,
            r#"<path d="M{x} {} v8 M{x} {mid} H{}" stroke="{INTENT}" stroke-width="2" fill="none"/><path d="M{} {} l5 4 l-5 4 z" fill="{INTENT}"/>"#,
            mid - 4,
            x + SWATCH - 4,
            x + SWATCH - 5,
            mid - 4,
        ),
    };
}

/// Draw the legend from `top`, between `left` and `right`.
pub(super) fn draw(s: &mut String, entries: &[Entry], left: i64, right: i64, top: i64) {
    let (placed, _) = place(entries, left, right, top);
    let _ = writeln!(s, r#"<g class="legend" font-size="{LEGEND_SIZE}">"#);
    for (i, p) in placed.into_iter().enumerate() {
        swatch(s, &p.entry.swatch, p.x, p.y + 2);
        let text_x = p.x + SWATCH + 6;
        let _ = writeln!(
            s,
            r#"<text id="legend-{i}" x="{text_x}" y="{}">{}</text>"#,
            p.y + 13,
            xml_escape(&p.name)
        );
        if !p.detail.is_empty() {
            let _ = writeln!(
                s,
                r##"<text id="legend-{i}-detail" x="{}" y="{}" fill="#444444">{}</text>"##,
                text_x + width(&p.name, LEGEND_SIZE) + 6,
                p.y + 13,
                xml_escape(&p.detail)
            );
        }
    }
    let _ = writeln!(s, "</g>");
}
