//! Exchange symbol names (`SOLUSDT`).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::DomainError;

/// A symbol as the exchange names it. Since 2025-10 Binance lists symbols with
/// non-ASCII characters, so only emptiness, whitespace, separators and length are refused.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
#[derive(utoipa::ToSchema)]
pub struct Symbol(String);

impl Symbol {
    pub fn new(raw: &str) -> Result<Self, DomainError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(DomainError::new("symbol", "is empty"));
        }
        if s.chars().count() > 32 {
            return Err(DomainError::new("symbol", "is longer than 32 characters"));
        }
        if s.chars()
            .any(|c| c.is_whitespace() || "/&=?#,\"'".contains(c))
        {
            return Err(DomainError::new(
                "symbol",
                format!("`{s}` contains a space or separator"),
            ));
        }
        Ok(Symbol(s.to_uppercase()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Symbol {
    type Error = DomainError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Symbol::new(&value)
    }
}
impl From<Symbol> for String {
    fn from(s: Symbol) -> String {
        s.0
    }
}
impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbol_is_upper_cased_and_refuses_separators() {
        assert_eq!(Symbol::new("solusdt").unwrap().as_str(), "SOLUSDT");
        assert!(Symbol::new("SOL/USDT").is_err());
        assert!(Symbol::new("  ").is_err());
    }
}
