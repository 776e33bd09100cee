//! Caps learned from -4005: the exchange refused a MARKET chunk its published filter allows.
//!
//! Seed 000: Binance rejected a close with "Quantity greater than max quantity." although
//! the quantity was within the published MARKET_LOT_SIZE. The router then lowers that
//! symbol's cap by halving, keeps halving while -4005 repeats, re-plans only the unfilled
//! remainder, and after a configurable time tries the published cap again.
//!
//! Invariants:
//! - a learned cap is a step multiple, `>= minQty` and `< published maxQty`;
//! - a rejection above the published maxQty teaches nothing (the rules are stale: reload);
//! - a rejection of a chunk larger than the current learned cap is stale evidence (it was
//!   planned under an older cap) and does not halve again;
//! - at minQty there is nothing left to halve: that is a terminal error for the chunk;
//! - when the published cap is retried and fails again, the last learned cap comes back at
//!   once instead of re-learning it one halving at a time;
//! - halving only finds *a* size that passes, up to half below the real cap (seed 000: 223.34
//!   under a hidden 400). Once a chunk at the learned cap is accepted, the book probes upward
//!   by bisection between the largest size accepted and the smallest size refused, one probe
//!   at a time, until the two are within [`CONVERGED_WITHIN`] of each other or
//!   [`MAX_PROBES`] probes were spent. A refused probe costs one -4005 and restores the last
//!   accepted size; an accepted one becomes the learned cap (persisted like any other);
//! - time is epoch milliseconds passed in by the caller, because the caps are persisted
//!   (`symbol_caps`: learned_market_max_qty, learned_at, retry_after). The probe bracket is
//!   kept in memory only: after a restart the persisted cap holds and probing starts again
//!   from the next refusal.

use std::collections::HashMap;
use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::domain::rules::floor_to_step;
use crate::domain::{LotFilter, Qty, Symbol};

/// One symbol's learned cap, in the form the ledger persists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LearnedCap {
    pub symbol: Symbol,
    pub learned_market_max_qty: Qty,
    /// Epoch ms of the rejection that taught it.
    pub(crate) learned_at_ms: i64,
    /// Epoch ms from which the published cap is tried again.
    pub(crate) retry_after_ms: i64,
    /// Why, in words, for `sluice positions` and the audit trail.
    pub reason: String,
}

impl LearnedCap {
    /// `retry_after` as a timestamp.
    #[cfg(test)]
    pub(crate) fn retry_after(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        chrono::DateTime::from_timestamp_millis(self.retry_after_ms)
    }
}

/// What a rejection changed, ready to log and persist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CapChange {
    pub previous: Option<Qty>,
    pub cap: LearnedCap,
}

impl fmt::Display for CapChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prev = self
            .previous
            .map_or_else(|| "published".to_string(), |q| q.to_string());
        write!(
            f,
            "symbol={} learned_cap={} previous_cap={} retry_published_at_ms={} reason=\"{}\"",
            self.cap.symbol,
            self.cap.learned_market_max_qty,
            prev,
            self.cap.retry_after_ms,
            self.cap.reason
        )
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CapError {
    #[error(
        "{symbol}: cannot shrink below minQty {min_qty}: a chunk of {attempted} was refused \
         with -4005; the exchange accepts nothing this symbol's filters allow"
    )]
    CannotShrinkBelowMinQty {
        symbol: Symbol,
        attempted: Qty,
        min_qty: Decimal,
    },
    #[error(
        "{symbol}: {attempted} is above the published maxQty {published_max}: the rules are \
         stale, reload exchangeInfo (nothing learned)"
    )]
    AbovePublishedMax {
        symbol: Symbol,
        attempted: Qty,
        published_max: Decimal,
    },
}

/// Probing stops once the gap between the largest accepted and the smallest refused size is
/// at most this share of the refused size.
pub(crate) const CONVERGED_WITHIN: Decimal = Decimal::from_parts(5, 0, 0, false, 2);

/// Probes spent at most per bracket (each refused probe costs one -4005).
pub(crate) const MAX_PROBES: u32 = 4;

/// The upward search after halving: what was refused, what is being tried.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Probe {
    /// The smallest size the venue refused with -4005.
    refused: Qty,
    /// The size being tried now (planned instead of the learned cap), if any.
    trying: Option<Qty>,
    spent: u32,
}

/// Learned caps of every symbol, and how long each is trusted.
#[derive(Clone, Debug)]
pub(crate) struct CapBook {
    retry_published_after_ms: i64,
    caps: HashMap<Symbol, LearnedCap>,
    probes: HashMap<Symbol, Probe>,
    /// The largest MARKET chunk the venue accepted per symbol, since the last -4005 at or
    /// below it: several chunks of up to this size may be out at once.
    proven: HashMap<Symbol, Qty>,
}

impl CapBook {
    /// `retry_published_after_ms`: how long a learned cap holds before the published one is
    /// tried again (configurable; an hour is a sensible default).
    pub(crate) fn new(retry_published_after_ms: i64) -> Self {
        Self {
            retry_published_after_ms: retry_published_after_ms.max(0),
            caps: HashMap::new(),
            probes: HashMap::new(),
            proven: HashMap::new(),
        }
    }

    /// Load what the ledger persisted (expired entries too: they are still evidence).
    pub(crate) fn restore(&mut self, saved: impl IntoIterator<Item = LearnedCap>) {
        for cap in saved {
            self.caps.insert(cap.symbol.clone(), cap);
        }
    }

    /// The cap to plan with now (a probe while one is under way), or None when the
    /// published cap applies.
    pub(crate) fn cap(&self, symbol: &Symbol, now_ms: i64) -> Option<Qty> {
        let learned = self.learned(symbol, now_ms)?;
        let probing = self.probes.get(symbol).and_then(|p| p.trying);
        Some(probing.unwrap_or(learned))
    }

    /// The learned cap in force, ignoring any probe.
    fn learned(&self, symbol: &Symbol, now_ms: i64) -> Option<Qty> {
        self.caps
            .get(symbol)
            .filter(|c| now_ms < c.retry_after_ms)
            .map(|c| c.learned_market_max_qty)
    }

    /// A MARKET chunk of `accepted` passed the venue's size check (it was not refused with
    /// -4005). A size above the learned cap raises it (returned for persisting) and plans the
    /// next probe; any accepted chunk starts probing when none is under way.
    pub(crate) fn on_market_chunk_accepted(
        &mut self,
        symbol: &Symbol,
        accepted: Qty,
        lot: &LotFilter,
        now_ms: i64,
    ) -> Option<CapChange> {
        let proven = self.proven.entry(symbol.clone()).or_insert(accepted);
        *proven = (*proven).max(accepted);
        let learned = self.learned(symbol, now_ms)?;
        let probe = self.probes.get_mut(symbol)?;
        let raised = accepted > learned && accepted < probe.refused;
        if !raised && probe.trying.is_some() {
            return None;
        }
        let mut change = None;
        if raised {
            let cap = self.caps.get_mut(symbol)?;
            cap.learned_market_max_qty = accepted;
            cap.learned_at_ms = now_ms;
            cap.reason = format!(
                "probe of {accepted} accepted; {} refused with -4005",
                probe.refused
            );
            change = Some(CapChange {
                previous: Some(learned),
                cap: cap.clone(),
            });
        }
        probe.trying = next_probe(accepted.max(learned), probe, lot);
        change
    }

    /// Whether the venue has accepted a MARKET chunk of `symbol` at least as large as `qty`
    /// (and refused none at or below it since). A size not proven goes out alone: chunks
    /// of an untried size sent together would all earn the same -4005.
    pub(crate) fn is_proven(&self, symbol: &Symbol, qty: Qty) -> bool {
        self.proven.get(symbol).is_some_and(|p| qty <= *p)
    }

    /// The largest MARKET chunk the venue has accepted for `symbol` since the last -4005
    /// at or below it.
    pub(crate) fn proven(&self, symbol: &Symbol) -> Option<Qty> {
        self.proven.get(symbol).copied()
    }

    /// Whether the size-finding is still under way for `symbol` (a probe is planned).
    #[cfg(test)]
    pub(crate) fn is_probing(&self, symbol: &Symbol) -> bool {
        self.probe(symbol).is_some()
    }

    /// The size being probed for `symbol` now, if a probe is planned.
    pub(crate) fn probe(&self, symbol: &Symbol) -> Option<Qty> {
        self.probes.get(symbol).and_then(|p| p.trying)
    }

    /// Every entry, for persistence and display.
    pub(crate) fn entries(&self) -> impl Iterator<Item = &LearnedCap> {
        self.caps.values()
    }

    /// A MARKET chunk of `attempted` was refused with -4005 under `published` (MARKET_LOT_SIZE).
    pub(crate) fn on_max_qty_rejected(
        &mut self,
        symbol: &Symbol,
        attempted: Qty,
        published: &LotFilter,
        now_ms: i64,
    ) -> Result<CapChange, CapError> {
        if !published.max_qty.is_zero() && attempted.get() > published.max_qty {
            return Err(CapError::AbovePublishedMax {
                symbol: symbol.clone(),
                attempted,
                published_max: published.max_qty,
            });
        }
        if self.proven.get(symbol).is_some_and(|p| attempted <= *p) {
            // The venue refuses a size it took before: nothing is proven any more.
            self.proven.remove(symbol);
        }
        if let Some(change) = self.probe_refused(symbol, attempted, now_ms) {
            return Ok(change);
        }
        let current = self.cap(symbol, now_ms);
        let new_cap = match (current, self.caps.get(symbol)) {
            // Planned under an older, larger cap: the current one already accounts for it.
            (Some(cur), _) if attempted > cur => cur,
            // The published cap was retried and failed again: the last lesson still holds.
            (None, Some(old)) if attempted > old.learned_market_max_qty => {
                old.learned_market_max_qty
            }
            _ => halve(symbol, attempted, published)?,
        };
        let cap = LearnedCap {
            symbol: symbol.clone(),
            learned_market_max_qty: new_cap,
            learned_at_ms: now_ms,
            retry_after_ms: now_ms.saturating_add(self.retry_published_after_ms),
            reason: format!(
                "-4005 on a MARKET chunk of {attempted} within published maxQty {}",
                published.max_qty
            ),
        };
        self.caps.insert(symbol.clone(), cap.clone());
        if new_cap < attempted {
            // A stale refusal (planned under an older cap) must not widen a tighter bracket.
            let narrower = self
                .probes
                .get(symbol)
                .is_some_and(|p| p.refused <= attempted);
            if !narrower {
                self.probes.insert(
                    symbol.clone(),
                    Probe {
                        refused: attempted,
                        trying: None,
                        spent: 0,
                    },
                );
            }
        }
        Ok(CapChange {
            previous: current,
            cap,
        })
    }

    /// A size above the learned cap was refused: a probe (or a chunk planned under an older
    /// cap). It bounds the bracket from above and the learned cap applies again. None when
    /// `attempted` was within the learned cap (that cap itself failed: halve).
    fn probe_refused(&mut self, symbol: &Symbol, attempted: Qty, now_ms: i64) -> Option<CapChange> {
        let learned = self.learned(symbol, now_ms)?;
        if attempted <= learned {
            return None;
        }
        let probe = self.probes.entry(symbol.clone()).or_insert(Probe {
            refused: attempted,
            trying: None,
            spent: 0,
        });
        let was_probe = probe.trying.is_some_and(|t| attempted <= t);
        probe.refused = probe.refused.min(attempted);
        probe.trying = None;
        let cap = self.caps.get_mut(symbol)?;
        if was_probe {
            cap.reason = format!("probe of {attempted} refused with -4005; {learned} holds");
        }
        Some(CapChange {
            previous: Some(learned),
            cap: cap.clone(),
        })
    }
}

/// The next size to try above `passed`, or None when the bracket is narrow enough, the
/// probes are spent, or the step grid leaves nothing between the two.
fn next_probe(passed: Qty, probe: &mut Probe, lot: &LotFilter) -> Option<Qty> {
    let (low, high) = (passed.get(), probe.refused.get());
    if probe.spent >= MAX_PROBES || high <= low || high - low <= high * CONVERGED_WITHIN {
        return None;
    }
    let mid = floor_to_step((low + high) / Decimal::TWO, lot.step_size);
    if mid <= low || mid >= high {
        return None;
    }
    probe.spent += 1;
    Qty::new("probe", mid).ok()
}

/// Half of `attempted`, floored to the step, never below minQty.
fn halve(symbol: &Symbol, attempted: Qty, lot: &LotFilter) -> Result<Qty, CapError> {
    let half = floor_to_step(attempted.get() / Decimal::TWO, lot.step_size);
    let floor = lot.min_qty.max(lot.step_size);
    let next = if half >= floor {
        half
    } else if attempted.get() > floor {
        floor
    } else {
        return Err(CapError::CannotShrinkBelowMinQty {
            symbol: symbol.clone(),
            attempted,
            min_qty: lot.min_qty,
        });
    };
    Ok(Qty::new("learned cap", next).unwrap_or(Qty::ZERO))
}

#[cfg(test)]
#[path = "caps_tests.rs"]
mod tests;
