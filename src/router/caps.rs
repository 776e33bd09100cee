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
//! - time is epoch milliseconds passed in by the caller, because the caps are persisted
//!   (`symbol_caps`: learned_market_max_qty, learned_at, retry_after).

use std::collections::HashMap;
use std::fmt;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::domain::rules::floor_to_step;
use crate::domain::{LotFilter, Qty, Symbol};

/// One symbol's learned cap, in the form the ledger persists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LearnedCap {
    pub symbol: Symbol,
    pub learned_market_max_qty: Qty,
    /// Epoch ms of the rejection that taught it.
    pub learned_at_ms: i64,
    /// Epoch ms from which the published cap is tried again.
    pub retry_after_ms: i64,
    /// Why, in words, for `sluice positions` and the audit trail.
    pub reason: String,
}

impl LearnedCap {
    /// `learned_at` as a timestamp, for the ledger's `timestamptz` column.
    pub fn learned_at(&self) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp_millis(self.learned_at_ms)
    }
    /// `retry_after` as a timestamp, for the ledger's `timestamptz` column.
    pub fn retry_after(&self) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp_millis(self.retry_after_ms)
    }
}

/// What a rejection changed, ready to log and persist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CapChange {
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
pub enum CapError {
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

/// Learned caps of every symbol, and how long each is trusted.
#[derive(Clone, Debug)]
pub struct CapBook {
    retry_published_after_ms: i64,
    caps: HashMap<Symbol, LearnedCap>,
}

impl CapBook {
    /// `retry_published_after_ms`: how long a learned cap holds before the published one is
    /// tried again (configurable; an hour is a sensible default).
    pub fn new(retry_published_after_ms: i64) -> Self {
        Self {
            retry_published_after_ms: retry_published_after_ms.max(0),
            caps: HashMap::new(),
        }
    }

    /// Load what the ledger persisted (expired entries too: they are still evidence).
    pub fn restore(&mut self, saved: impl IntoIterator<Item = LearnedCap>) {
        for cap in saved {
            self.caps.insert(cap.symbol.clone(), cap);
        }
    }

    /// The cap to plan with now, or None when the published cap applies.
    pub fn cap(&self, symbol: &Symbol, now_ms: i64) -> Option<Qty> {
        self.caps
            .get(symbol)
            .filter(|c| now_ms < c.retry_after_ms)
            .map(|c| c.learned_market_max_qty)
    }

    /// Every entry, for persistence and display.
    pub fn entries(&self) -> impl Iterator<Item = &LearnedCap> {
        self.caps.values()
    }

    /// A MARKET chunk of `attempted` was refused with -4005 under `published` (MARKET_LOT_SIZE).
    pub fn on_max_qty_rejected(
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
        Ok(CapChange {
            previous: current,
            cap,
        })
    }
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
