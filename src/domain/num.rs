//! Decimal newtypes for quantities, prices and USDT amounts.
//!
//! Money is `rust_decimal::Decimal` end to end and is written as a string on the
//! wire and `NUMERIC` in SQL; `f64` never appears. Invariants: a `Qty` is >= 0,
//! a `Price` is > 0, a `Usdt` amount may be negative (PnL, available budget).

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::DomainError;

fn parse_decimal(field: &str, raw: &str) -> Result<Decimal, DomainError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(DomainError::new(field, "is empty"));
    }
    // Scientific notation and other exotic forms are refused: Binance never sends them
    // and accepting them would let a typo like "1e9" through.
    Decimal::from_str(trimmed)
        .map_err(|_| DomainError::new(field, format!("`{raw}` is not a decimal number")))
}

/// A non-negative base-asset quantity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "Decimal", into = "Decimal")]
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
    fn usdt_displays_two_decimals() {
        assert_eq!(Usdt::new(dec!(-0.0123)).to_string(), "-0.01");
    }
}
