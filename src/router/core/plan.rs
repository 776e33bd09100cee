//! The chunk planner: splits a quantity into orders every exchange filter accepts.
//!
//! Pure arithmetic, done in whole steps (`u64` multiples of the lot's `stepSize`, or of
//! `10^-quantityPrecision` when that is coarser: `grid.rs`) so that no rounding can creep in. Invariants of every `Ok(ChunkPlan)`:
//! - every chunk is a step multiple, `>= minQty` and `<= effective_cap`;
//! - `Σ chunks == floor(total to step)` and `dust == total - Σ` (so `dust < stepSize`),
//!   except for a reduce-only total below `minQty`, which is all dust (nothing can be sent);
//! - the chunk count is minimal: `n == ceil(steps_total / steps_cap)`;
//! - chunks are near-equal: the largest and smallest differ by at most one step, larger
//!   ones first (seed 000: 8486.84 at cap 400 is 22 chunks of 385.76/385.77, not 21 × 400
//!   and a 86.84 tail);
//! - for opens, every chunk meets MIN_NOTIONAL at `mark`; reduce-only orders are exempt.
//!
//! MARKET orders are bounded by MARKET_LOT_SIZE, LIMIT orders by LOT_SIZE. A LIMIT open is
//! planned at `mark`; `validate` re-checks its notional at the limit price.

use rust_decimal::Decimal;

use crate::domain::{OrderType, Price, Qty, SymbolRules};

use super::grid::Grid;
pub use super::plan_error::CapSource;
pub use super::plan_error::PlanError;

/// More chunks than this is a misconfigured cap, not a plan: refuse instead of
/// allocating and sending thousands of orders.
pub(crate) const MAX_CHUNKS: u64 = 10_000;

/// An operator-configured size limit per chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChunkCap {
    /// At most this quantity per chunk (floored to the step).
    Qty(Qty),
    /// At most this notional (USDT) per chunk, converted at the mark price.
    Notional(Decimal),
}

/// The planner's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChunkPlan {
    /// Chunk quantities in sending order (larger first, then smaller by one step).
    pub chunks: Vec<Qty>,
    /// What cannot be sent: the part of `total` below one step (or, for a reduce-only
    /// total below minQty, all of it).
    pub(crate) dust: Qty,
    /// The cap that bounded each chunk (the planned quantity when nothing capped it).
    pub(crate) effective_cap: Qty,
    /// Which limit `effective_cap` came from.
    pub(crate) cap_source: CapSource,
}

impl ChunkPlan {
    /// Total quantity the chunks carry.
    pub fn planned(&self) -> Qty {
        self.chunks.iter().fold(Qty::ZERO, |acc, q| acc + *q)
    }
}

/// Plan `total` into chunk orders. See the module docs for the invariants.
///
/// `cap` is the operator's per-chunk limit; `learned_cap` is `CapBook::cap` for the symbol
/// (learned from MARKET -4005s: pass it for MARKET orders). `mark` converts a notional cap
/// and checks MIN_NOTIONAL for opens (`reduce_only == false`).
pub fn plan_chunks(
    total: Qty,
    rules: &SymbolRules,
    order_type: OrderType,
    reduce_only: bool,
    cap: Option<ChunkCap>,
    learned_cap: Option<Qty>,
    mark: Price,
) -> Result<ChunkPlan, PlanError> {
    let grid = Grid::for_order(rules, order_type)?;
    let (cap_steps, cap_source) = effective_cap(&grid, rules, order_type, cap, learned_cap, mark)?;
    if cap_steps < grid.min_steps {
        return Err(PlanError::CapBelowMinQty {
            cap: grid.dec(cap_steps),
            cap_from: cap_source,
            filter: grid.filter,
            min_qty: grid.dec(grid.min_steps),
        });
    }
    let lower = if reduce_only {
        grid.min_steps
    } else {
        open_lower_bound(&grid, rules, mark, cap_steps, cap_source)?
    };
    let steps_total = grid.floor_steps(total.get()).ok_or(PlanError::TooLarge {
        total: total.get(),
        step: grid.step,
    })?;
    if steps_total < lower {
        if reduce_only {
            return Ok(ChunkPlan {
                chunks: Vec::new(),
                dust: total,
                effective_cap: grid.qty(reported_cap(cap_steps, cap_source, steps_total)),
                cap_source,
            });
        }
        return Err(too_small_to_open(
            &grid,
            rules,
            total,
            steps_total,
            lower,
            mark,
        ));
    }
    let split = split_steps(steps_total, lower, cap_steps).map_err(|why| match why {
        Infeasible::TooMany(chunks) => PlanError::TooManyChunks {
            total: total.get(),
            cap: grid.dec(cap_steps),
            chunks,
            limit: MAX_CHUNKS,
        },
        Infeasible::BelowLower => PlanError::Unsplittable {
            total: grid.dec(steps_total),
            min_chunk: grid.dec(lower),
            cap: grid.dec(cap_steps),
            cap_from: cap_source,
        },
    })?;
    Ok(ChunkPlan {
        chunks: split.quantities(&grid),
        dust: total.saturating_sub(grid.qty(steps_total)),
        effective_cap: grid.qty(reported_cap(cap_steps, cap_source, steps_total)),
        cap_source,
    })
}

/// Why an open smaller than its smallest legal chunk is refused: minQty or MIN_NOTIONAL.
fn too_small_to_open(
    grid: &Grid,
    rules: &SymbolRules,
    total: Qty,
    steps_total: u64,
    lower: u64,
    mark: Price,
) -> PlanError {
    if steps_total < grid.min_steps {
        PlanError::BelowMinQty {
            total: total.get(),
            filter: grid.filter,
            min_qty: grid.dec(grid.min_steps),
        }
    } else {
        PlanError::BelowMinNotional {
            total: total.get(),
            min_notional: rules.min_notional,
            mark: mark.get(),
            min_qty: grid.dec(lower),
        }
    }
}

/// With no cap at all, the "cap" a caller sees is the planned quantity itself.
fn reported_cap(cap_steps: u64, cap_from: CapSource, steps_total: u64) -> u64 {
    if cap_from == CapSource::None {
        steps_total
    } else {
        cap_steps
    }
}

/// The tightest of the lot filter's maxQty, the configured cap and the learned cap, in steps.
fn effective_cap(
    grid: &Grid,
    rules: &SymbolRules,
    order_type: OrderType,
    cap: Option<ChunkCap>,
    learned: Option<Qty>,
    mark: Price,
) -> Result<(u64, CapSource), PlanError> {
    let mut best = (u64::MAX, CapSource::None);
    let lot_max = rules.lot_for(order_type == OrderType::Market).max_qty;
    // A zero maxQty disables the check, as on Binance.
    if lot_max > Decimal::ZERO {
        best = (grid.cap_steps(lot_max), CapSource::LotFilter);
    }
    let configured = match cap {
        None => None,
        Some(ChunkCap::Qty(q)) => Some(grid.cap_steps(q.get())),
        Some(ChunkCap::Notional(n)) if n <= Decimal::ZERO => {
            return Err(PlanError::BadNotionalCap { notional: n });
        }
        Some(ChunkCap::Notional(n)) => {
            Some(grid.cap_steps(n.checked_div(mark.get()).unwrap_or(Decimal::MAX)))
        }
    };
    if let Some(steps) = configured.filter(|s| *s < best.0) {
        best = (steps, CapSource::Configured);
    }
    if let Some(steps) = learned
        .map(|q| grid.cap_steps(q.get()))
        .filter(|s| *s < best.0)
    {
        best = (steps, CapSource::Learned);
    }
    Ok(best)
}

/// The smallest chunk an open may have: minQty, raised so the chunk meets MIN_NOTIONAL at mark.
fn open_lower_bound(
    grid: &Grid,
    rules: &SymbolRules,
    mark: Price,
    cap_steps: u64,
    cap_from: CapSource,
) -> Result<u64, PlanError> {
    let per_unit = rules
        .min_notional
        .checked_div(mark.get())
        .unwrap_or(Decimal::MAX);
    let notional_steps = grid.ceil_steps(per_unit);
    let lower = grid.min_steps.max(notional_steps);
    if lower > cap_steps {
        return Err(PlanError::MinNotionalAboveCap {
            min_qty: grid.dec(lower),
            min_notional: rules.min_notional,
            mark: mark.get(),
            cap: grid.dec(cap_steps),
            cap_from,
        });
    }
    Ok(lower)
}

enum Infeasible {
    TooMany(u64),
    BelowLower,
}

/// Split `total` steps into the fewest near-equal parts, each in `[lower, cap]`.
///
/// The fewest is `n = ceil(total / cap)`. Near-equal parts are `total / n` rounded up for the
/// first `total % n` and down for the rest. If `n * lower > total`, no split into `n` parts
/// exists, and none into more parts either (the lower bound only grows with `n`), while fewer
/// parts would exceed the cap: the split is infeasible.
fn split_steps(total: u64, lower: u64, cap: u64) -> Result<Split, Infeasible> {
    let n = total.div_ceil(cap.max(1));
    if n > MAX_CHUNKS {
        return Err(Infeasible::TooMany(n));
    }
    if n.saturating_mul(lower) > total {
        return Err(Infeasible::BelowLower);
    }
    Ok(Split {
        n,
        base: total / n,
        extra: total % n,
    })
}

/// `extra` parts of `base + 1` steps, then `n - extra` parts of `base` steps.
struct Split {
    n: u64,
    base: u64,
    extra: u64,
}

impl Split {
    /// The parts as quantities: only two distinct values, each built once.
    fn quantities(&self, grid: &Grid) -> Vec<Qty> {
        let (big, small) = (grid.qty(self.base + 1), grid.qty(self.base));
        (0..self.n)
            .map(|i| if i < self.extra { big } else { small })
            .collect()
    }
    #[cfg(test)]
    fn steps(&self) -> Vec<u64> {
        (0..self.n)
            .map(|i| {
                if i < self.extra {
                    self.base + 1
                } else {
                    self.base
                }
            })
            .collect()
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
