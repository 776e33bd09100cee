//! Orders as sluice sends them and as the exchange reports them.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{DomainError, PositionSide, Price, Qty, Side, Symbol};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum OrderType {
    Market,
    Limit,
}

impl OrderType {
    pub fn as_wire(self) -> &'static str {
        match self {
            OrderType::Market => "MARKET",
            OrderType::Limit => "LIMIT",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum TimeInForce {
    Gtc,
    Ioc,
    Fok,
    Gtx,
    /// Good till `goodTillDate` (the order carries the date).
    Gtd,
}

impl TimeInForce {
    pub fn as_wire(self) -> &'static str {
        match self {
            TimeInForce::Gtc => "GTC",
            TimeInForce::Ioc => "IOC",
            TimeInForce::Fok => "FOK",
            TimeInForce::Gtx => "GTX",
            TimeInForce::Gtd => "GTD",
        }
    }
}

/// Order status as Binance reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    New,
    PartiallyFilled,
    Filled,
    Canceled,
    Expired,
    ExpiredInMatch,
    Rejected,
}

impl OrderStatus {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        Ok(match raw {
            "NEW" => OrderStatus::New,
            "PARTIALLY_FILLED" => OrderStatus::PartiallyFilled,
            "FILLED" => OrderStatus::Filled,
            "CANCELED" => OrderStatus::Canceled,
            "EXPIRED" => OrderStatus::Expired,
            "EXPIRED_IN_MATCH" => OrderStatus::ExpiredInMatch,
            "REJECTED" => OrderStatus::Rejected,
            other => {
                return Err(DomainError::new(
                    "status",
                    format!("`{other}` is not a known order status"),
                ))
            }
        })
    }
    pub fn as_wire(self) -> &'static str {
        match self {
            OrderStatus::New => "NEW",
            OrderStatus::PartiallyFilled => "PARTIALLY_FILLED",
            OrderStatus::Filled => "FILLED",
            OrderStatus::Canceled => "CANCELED",
            OrderStatus::Expired => "EXPIRED",
            OrderStatus::ExpiredInMatch => "EXPIRED_IN_MATCH",
            OrderStatus::Rejected => "REJECTED",
        }
    }
    /// No more fills can come for an order in a terminal status.
    pub fn is_terminal(self) -> bool {
        !matches!(self, OrderStatus::New | OrderStatus::PartiallyFilled)
    }
}

/// `newClientOrderId`: `^[\.A-Z\:/a-z0-9_-]{1,36}$` on Binance (else -4015).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClientOrderId(String);

impl ClientOrderId {
    pub(crate) const MAX_LEN: usize = 36;

    pub fn new(raw: &str) -> Result<Self, DomainError> {
        if raw.is_empty() || raw.len() > Self::MAX_LEN {
            return Err(DomainError::new(
                "client_order_id",
                format!(
                    "must be 1 to {} characters, got {}",
                    Self::MAX_LEN,
                    raw.len()
                ),
            ));
        }
        if let Some(bad) = raw
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '/' | '_' | '-')))
        {
            return Err(DomainError::new(
                "client_order_id",
                format!("character `{bad}` is not allowed by Binance"),
            ));
        }
        Ok(ClientOrderId(raw.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ClientOrderId {
    type Error = DomainError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        ClientOrderId::new(&value)
    }
}
impl From<ClientOrderId> for String {
    fn from(c: ClientOrderId) -> String {
        c.0
    }
}
impl fmt::Display for ClientOrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One order as sluice wants it sent. It becomes sendable only through
/// [`crate::domain::validate`], which returns a `FilterChecked<OrderRequest>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRequest {
    pub symbol: Symbol,
    pub side: Side,
    pub position_side: PositionSide,
    pub order_type: OrderType,
    pub quantity: Qty,
    /// Required for LIMIT, absent for MARKET.
    pub price: Option<Price>,
    /// Required for LIMIT, absent for MARKET.
    pub time_in_force: Option<TimeInForce>,
    /// Sent as `reduceOnly=true` only in one-way mode; hedge mode encodes it by side.
    pub reduce_only: bool,
    pub client_order_id: ClientOrderId,
    /// A LIMIT order the venue prices from its book (`priceMatch`); `price` is then None.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_match: Option<super::PriceMatch>,
    /// `goodTillDate` (ms) of a GTD order; None for every other time in force.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub good_till_date: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_order_id_enforces_binance_format() {
        assert!(ClientOrderId::new("sl-abc_1.2:3/4").is_ok());
        assert!(ClientOrderId::new(&"x".repeat(37)).is_err());
        let err = ClientOrderId::new("has space").unwrap_err();
        assert!(err.reason.contains('`'));
    }
}
