//! Position arithmetic as Binance computes it, pure.
//!
//! Signed amounts (negative = short). Entry price is the quantity-weighted
//! average on increase, unchanged on reduce, the fill price after a flip, zero
//! when flat. Realized PnL on the closed part is `(exit − entry) × qty` for a
//! long and the reverse for a short. Amounts of money are rounded to 8 dp, the
//! precision Binance reports them in, so sums stay exact.

use rust_decimal::Decimal;
use rust_decimal_macros::dec;

/// Taker commission rate (0.05 %).
pub(crate) const TAKER_FEE: Decimal = dec!(0.0005);
/// Maker commission rate (0.02 %).
pub(crate) const MAKER_FEE: Decimal = dec!(0.0002);
/// Decimal places of money amounts (wallet, PnL, commission, entry price).
pub(crate) const MONEY_DP: u32 = 8;

/// A position leg: signed amount, entry, accumulated realized PnL (`cr`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Position {
    pub amount: Decimal,
    pub entry: Decimal,
    pub realized: Decimal,
    pub update_time: i64,
}

/// The result of applying one fill to a position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FillOutcome {
    pub amount: Decimal,
    pub entry: Decimal,
    pub realized: Decimal,
}

/// Applies a fill of signed `qty` (BUY positive) at `price` to (`amount`, `entry`).
pub(crate) fn apply_fill(
    amount: Decimal,
    entry: Decimal,
    qty: Decimal,
    price: Decimal,
) -> FillOutcome {
    let new_amount = amount + qty;
    let same_direction = amount.is_zero() || amount.is_sign_positive() == qty.is_sign_positive();
    if same_direction {
        let total = amount.abs() + qty.abs();
        let weighted = (amount.abs() * entry + qty.abs() * price) / total;
        return FillOutcome {
            amount: new_amount,
            entry: weighted.round_dp(MONEY_DP),
            realized: Decimal::ZERO,
        };
    }
    let closed = amount.abs().min(qty.abs());
    let direction = if amount.is_sign_positive() {
        Decimal::ONE
    } else {
        Decimal::NEGATIVE_ONE
    };
    let realized = ((price - entry) * closed * direction).round_dp(MONEY_DP);
    let entry = if new_amount.is_zero() {
        Decimal::ZERO
    } else if new_amount.is_sign_positive() != amount.is_sign_positive() {
        price // flipped: the remainder opened at this fill's price
    } else {
        entry
    };
    FillOutcome {
        amount: new_amount,
        entry,
        realized,
    }
}

/// Commission of a fill: `price × qty × rate`, 8 dp.
pub(crate) fn commission(price: Decimal, qty: Decimal, maker: bool) -> Decimal {
    let rate = if maker { MAKER_FEE } else { TAKER_FEE };
    (price * qty.abs() * rate).round_dp(MONEY_DP)
}

/// Break-even price: the exit that pays the entry and exit taker fees.
// NOTE: Binance's exact `bep` formula is unpublished; this is the price p with
// (p − e)·q = fee(e) + fee(p) at the taker rate, for longs and shorts alike.
pub(crate) fn break_even(amount: Decimal, entry: Decimal) -> Decimal {
    if amount.is_zero() {
        return Decimal::ZERO;
    }
    let f = TAKER_FEE;
    let bep = if amount.is_sign_positive() {
        entry * (Decimal::ONE + f) / (Decimal::ONE - f)
    } else {
        entry * (Decimal::ONE - f) / (Decimal::ONE + f)
    };
    bep.round_dp(MONEY_DP)
}

/// Unrealized PnL at `mark`.
pub(crate) fn unrealized(amount: Decimal, entry: Decimal, mark: Decimal) -> Decimal {
    ((mark - entry) * amount).round_dp(MONEY_DP)
}
