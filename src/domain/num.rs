//! Decimal newtypes for quantities, prices and USDT amounts, and [`two_decimals`], the
//! one way a dollar amount is written for a trader (error messages, reports).
//!
//! Money is `rust_decimal::Decimal` end to end and is written as a string on the
//! wire and `NUMERIC` in SQL; `f64` never appears. Invariants: a `Qty` is >= 0,
//! a `Price` is > 0, a `Usdt` amount may be negative (PnL, available budget).

use std::fmt;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use super::DomainError;

/// Digits at most before and after the point: 16 + 12 covers any Binance quantity,
/// price or USDT amount and stays far inside `Decimal`'s 28 significant digits.
pub(crate) const MAX_INT_DIGITS: usize = 16;
pub(crate) const MAX_FRAC_DIGITS: usize = 12;

/// The boundary grammar for money: `[0-9]+(\.[0-9]+)?`, bounded in digits (a leading
/// `-` only where `signed`). Scientific notation (`1e3`), separators (`1_000`), a sign
/// (`+1`), a bare point (`.5`) and surrounding spaces are refused: Binance never sends
/// them, and accepting them would let a typo like "1e9" through.
pub(crate) fn check_grammar(field: &str, raw: &str, signed: bool) -> Result<(), DomainError> {
    if raw.is_empty() {
        return Err(DomainError::new(field, "is empty"));
    }
    let bad =
        |why: &str| DomainError::new(field, format!("`{raw}` is not a decimal number: {why}"));
    let body = match raw.strip_prefix('-') {
        Some(rest) if signed => rest,
        _ => raw,
    };
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || frac.is_some_and(|f| !digits(f)) {
        return Err(bad(
            "write digits with an optional `.` and digits after it (e.g. 1000 or 0.5)",
        ));
    }
    let int_digits = int.trim_start_matches('0').len();
    if int_digits > MAX_INT_DIGITS {
        return Err(bad(&format!(
            "more than {MAX_INT_DIGITS} digits before the point"
        )));
    }
    if frac.is_some_and(|f| f.len() > MAX_FRAC_DIGITS) {
        return Err(bad(&format!(
            "more than {MAX_FRAC_DIGITS} digits after the point"
        )));
    }
    Ok(())
}

/// The grammar with an optional `-`, so a negative quantity is refused as "negative"
/// by its type rather than as a syntax error.
fn parse_decimal(field: &str, raw: &str) -> Result<Decimal, DomainError> {
    check_grammar(field, raw, true)?;
    Decimal::from_str(raw)
        .map_err(|_| DomainError::new(field, format!("`{raw}` is not a decimal number")))
}

/// A non-negative base-asset quantity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "Decimal", into = "Decimal")]
#[derive(utoipa::ToSchema)]
#[schema(format = "decimal")]
pub struct Qty(Decimal);

impl Qty {
    pub const ZERO: Qty = Qty(Decimal::ZERO);

    pub fn parse(field: &str, raw: &str) -> Result<Self, DomainError> {
        Self::new(field, parse_decimal(field, raw)?)
    }
    pub fn new(field: &str, value: Decimal) -> Result<Self, DomainError> {
        if value.is_sign_negative() && !value.is_zero() {
            return Err(DomainError::new(field, format!("{value} is negative")));
        }
        Ok(Qty(value.normalize()))
    }
    pub fn get(self) -> Decimal {
        self.0
    }
    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }
    /// `self - other`, floored at zero.
    pub fn saturating_sub(self, other: Qty) -> Qty {
        if other.0 >= self.0 {
            Qty::ZERO
        } else {
            Qty((self.0 - other.0).normalize())
        }
    }
    pub fn min(self, other: Qty) -> Qty {
        if self <= other {
            self
        } else {
            other
        }
    }
}

impl std::ops::Add for Qty {
    type Output = Qty;
    fn add(self, rhs: Qty) -> Qty {
        Qty((self.0 + rhs.0).normalize())
    }
}

impl TryFrom<Decimal> for Qty {
    type Error = DomainError;
    fn try_from(value: Decimal) -> Result<Self, Self::Error> {
        Qty::new("quantity", value)
    }
}
impl From<Qty> for Decimal {
    fn from(q: Qty) -> Decimal {
        q.0
    }
}
impl fmt::Display for Qty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// A strictly positive price in the quote asset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "Decimal", into = "Decimal")]
pub struct Price(Decimal);

impl Price {
    pub fn parse(field: &str, raw: &str) -> Result<Self, DomainError> {
        Self::new(field, parse_decimal(field, raw)?)
    }
    pub fn new(field: &str, value: Decimal) -> Result<Self, DomainError> {
        if value <= Decimal::ZERO {
            return Err(DomainError::new(field, format!("{value} is not positive")));
        }
        Ok(Price(value.normalize()))
    }
    pub fn get(self) -> Decimal {
        self.0
    }
}

impl TryFrom<Decimal> for Price {
    type Error = DomainError;
    fn try_from(value: Decimal) -> Result<Self, Self::Error> {
        Price::new("price", value)
    }
}
impl From<Price> for Decimal {
    fn from(p: Price) -> Decimal {
        p.0
    }
}
impl fmt::Display for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// A signed USDT amount (balances, budgets, PnL, notionals).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(from = "Decimal", into = "Decimal")]
#[derive(utoipa::ToSchema)]
#[schema(format = "decimal")]
pub struct Usdt(Decimal);

impl Usdt {
    pub const ZERO: Usdt = Usdt(Decimal::ZERO);
    pub fn parse(field: &str, raw: &str) -> Result<Self, DomainError> {
        Ok(Usdt(parse_decimal(field, raw)?.normalize()))
    }
    pub fn new(value: Decimal) -> Self {
        Usdt(value.normalize())
    }
    pub fn get(self) -> Decimal {
        self.0
    }
}
impl From<Decimal> for Usdt {
    fn from(d: Decimal) -> Usdt {
        Usdt::new(d)
    }
}
impl From<Usdt> for Decimal {
    fn from(u: Usdt) -> Decimal {
        u.0
    }
}
impl fmt::Display for Usdt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Two decimals, as a trader reads a dollar amount; the exact value is kept in `get()`.
        write!(f, "{}", self.0.round_dp(2))
    }
}

/// A dollar amount as a trader reads it: two decimals, rounded half away from zero
/// (`{:.2}` on a `Decimal` truncates, which would show 10.017 as 10.01).
pub(crate) fn two_decimals(amount: Decimal) -> String {
    let rounded = amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    format!("{rounded:.2}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn qty_refuses_negative_and_names_the_field() {
        let err = Qty::parse("quantity", "-1").unwrap_err();
        assert_eq!(err.field, "quantity");
        assert!(err.reason.contains("negative"));
    }

    #[test]
    fn price_refuses_zero_and_garbage() {
        assert!(Price::parse("price", "0").is_err());
        let err = Price::parse("mark_price", "abc").unwrap_err();
        assert_eq!(err.field, "mark_price");
    }

    #[test]
    fn qty_parses_binance_padded_strings() {
        assert_eq!(Qty::parse("q", "8486.840").unwrap().get(), dec!(8486.84));
    }

    #[test]
    fn exotic_number_forms_are_refused_naming_the_field() {
        for raw in [
            "1e3", "1_000", ".5e1", "+1", " 1", "1 ", ".5", "1.", "0x10", "1,5", "NaN", "١",
        ] {
            let err = Qty::parse("quantity", raw).unwrap_err();
            assert_eq!(err.field, "quantity", "{raw}");
        }
        assert!(Price::parse("price", "1e3").is_err());
        assert!(Usdt::parse("notional_usdt", "1E3").is_err());
    }

    #[test]
    fn digits_are_bounded() {
        assert!(Qty::parse("quantity", "11111111111111111111111111111").is_err());
        assert!(Qty::parse("quantity", "0.0000000000001").is_err());
        assert!(Qty::parse("quantity", "9999999999999999.999999999999").is_ok());
        assert!(Qty::parse("quantity", "000000000000000000001").is_ok());
    }

    #[test]
    fn a_negative_usdt_amount_parses_and_a_negative_quantity_is_refused_as_negative() {
        assert_eq!(Usdt::parse("pnl", "-1.5").unwrap().get(), dec!(-1.5));
        assert!(Qty::parse("quantity", "-1")
            .unwrap_err()
            .reason
            .contains("negative"));
        assert!(Qty::parse("quantity", "--1").is_err());
    }

    #[test]
    fn usdt_displays_two_decimals() {
        assert_eq!(Usdt::new(dec!(-0.0123)).to_string(), "-0.01");
    }

    #[test]
    fn dollar_amounts_round_half_away_from_zero_and_always_show_two_decimals() {
        assert_eq!(two_decimals(dec!(10.017)), "10.02");
        assert_eq!(two_decimals(dec!(10)), "10.00");
        assert_eq!(two_decimals(dec!(-0.005)), "-0.01");
        assert_eq!(two_decimals(dec!(-0.0149)), "-0.01");
    }
}
