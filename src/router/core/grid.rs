//! Quantities as whole numbers of a lot filter's steps: the planner's exact arithmetic.
//!
//! Rounding rules for values live in `domain::rules`; this grid only counts steps, with
//! checked arithmetic so an absurd value from the exchange is an error, never a panic.

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

use crate::domain::{OrderType, Qty, SymbolRules};

use super::plan_error::PlanError;

/// The step grid of one lot filter: quantities as whole numbers of steps.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Grid {
    pub filter: &'static str,
    pub step: Decimal,
    /// Smallest legal quantity, in steps (at least 1: a quantity must be positive).
    pub(crate) min_steps: u64,
}

impl Grid {
    pub(super) fn for_order(rules: &SymbolRules, order_type: OrderType) -> Result<Grid, PlanError> {
        let market = order_type == OrderType::Market;
        let lot = rules.lot_for(market);
        let filter = if market {
            "MARKET_LOT_SIZE"
        } else {
            "LOT_SIZE"
        };
        let lot_step = lot.step_size;
        if lot_step <= Decimal::ZERO {
            return Err(PlanError::NoStep {
                filter,
                step: lot_step,
            });
        }
        if !(lot.min_qty % lot_step).is_zero() {
            return Err(PlanError::MinQtyOffStep {
                filter,
                min_qty: lot.min_qty,
                step: lot_step,
            });
        }
        let step = precision_step(lot_step, rules.quantity_precision);
        // A minQty too large to count is unreachable: every cap will be below it.
        let min_steps = lot
            .min_qty
            .checked_div(step)
            .map(|d| d.ceil())
            .and_then(|d| d.to_u64())
            .unwrap_or(u64::MAX)
            .max(1);
        Ok(Grid {
            filter,
            step,
            min_steps,
        })
    }
    /// Whole steps in `value`, rounded down; None when the count does not fit a `u64`.
    pub(super) fn floor_steps(&self, value: Decimal) -> Option<u64> {
        if value <= Decimal::ZERO {
            return Some(0);
        }
        value.checked_div(self.step)?.floor().to_u64()
    }
    /// Whole steps in a cap; a cap too large to count caps nothing.
    pub(super) fn cap_steps(&self, value: Decimal) -> u64 {
        self.floor_steps(value).unwrap_or(u64::MAX)
    }
    /// Whole steps needed to reach at least `value` (saturating).
    pub(super) fn ceil_steps(&self, value: Decimal) -> u64 {
        if value <= Decimal::ZERO {
            return 0;
        }
        value
            .checked_div(self.step)
            .and_then(|s| s.ceil().to_u64())
            .unwrap_or(u64::MAX)
    }
    pub(super) fn dec(&self, steps: u64) -> Decimal {
        Decimal::from(steps)
            .checked_mul(self.step)
            .unwrap_or(Decimal::MAX)
            .normalize()
    }
    pub(super) fn qty(&self, steps: u64) -> Qty {
        // steps * step is never negative, so `Qty::new` cannot refuse it.
        Qty::new("chunk", self.dec(steps)).unwrap_or(Qty::ZERO)
    }
}

/// The step quantities are planned in: the lot's step, or `10^-quantityPrecision` when
/// that is coarser and a multiple of it. The venue refuses more decimals than
/// quantityPrecision allows (-1111, docs/binance-fapi.md §2.1) even when the step would
/// allow them; a precision that is no multiple of the step is left to filter validation,
/// which refuses the order before it is sent.
fn precision_step(lot_step: Decimal, quantity_precision: u32) -> Decimal {
    let unit = Decimal::new(1, quantity_precision.min(28));
    if lot_step < unit && (unit % lot_step).is_zero() {
        unit
    } else {
        lot_step
    }
}
