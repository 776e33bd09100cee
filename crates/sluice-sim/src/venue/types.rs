//! The venue's small enums, each with the exact wire spelling Binance uses.
//!
//! Parsing from the wire string lives here so the venue can reject an unknown
//! value with the right code (`-1117`, `-1116`, `-1115`, `-4060`) whoever parsed
//! the form first.

use serde::Serialize;

use super::reject::Reject;

/// Implements `as_str`, `Display` and a string `Serialize` for a wire enum.
macro_rules! wire_enum {
    ($name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub(crate) enum $name { $($variant),+ }

        impl $name {
            /// The exact wire spelling.
            pub(crate) fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
            #[allow(dead_code)] // not every enum is read from the wire
            fn from_wire(s: &str) -> Option<$name> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

wire_enum!(Side { Buy => "BUY", Sell => "SELL" });
wire_enum!(PositionSide { Both => "BOTH", Long => "LONG", Short => "SHORT" });
wire_enum!(OrderType { Limit => "LIMIT", Market => "MARKET" });
wire_enum!(TimeInForce { Gtc => "GTC", Ioc => "IOC", Fok => "FOK", Gtx => "GTX", Gtd => "GTD" });
wire_enum!(OrderStatus {
    New => "NEW",
    PartiallyFilled => "PARTIALLY_FILLED",
    Filled => "FILLED",
    Canceled => "CANCELED",
    Expired => "EXPIRED",
    ExpiredInMatch => "EXPIRED_IN_MATCH",
});
wire_enum!(ExecType {
    New => "NEW",
    Trade => "TRADE",
    Canceled => "CANCELED",
    Expired => "EXPIRED",
    Amendment => "AMENDMENT",
});

/// Order types that moved to the Algo service on 2025-12-09 (`-4120` on `/fapi/v1/order`).
const CONDITIONAL_TYPES: [&str; 5] = [
    "STOP",
    "STOP_MARKET",
    "TAKE_PROFIT",
    "TAKE_PROFIT_MARKET",
    "TRAILING_STOP_MARKET",
];

impl Side {
    pub(crate) fn parse(s: &str) -> Result<Side, Reject> {
        Side::from_wire(s).ok_or_else(Reject::invalid_side)
    }
    /// +1 for BUY, −1 for SELL: the sign a fill adds to a signed position.
    pub(crate) fn sign(self) -> rust_decimal::Decimal {
        match self {
            Side::Buy => rust_decimal::Decimal::ONE,
            Side::Sell => rust_decimal::Decimal::NEGATIVE_ONE,
        }
    }
}

impl PositionSide {
    pub(crate) fn parse(s: &str) -> Result<PositionSide, Reject> {
        PositionSide::from_wire(s).ok_or_else(Reject::invalid_position_side)
    }
}

impl OrderType {
    /// LIMIT/MARKET; conditional types get `-4120`, anything else `-1116`.
    pub(crate) fn parse(s: &str) -> Result<OrderType, Reject> {
        if CONDITIONAL_TYPES.contains(&s) {
            return Err(Reject::conditional_moved_to_algo());
        }
        OrderType::from_wire(s).ok_or_else(Reject::invalid_order_type)
    }
}

impl TimeInForce {
    pub(crate) fn parse(s: &str) -> Result<TimeInForce, Reject> {
        TimeInForce::from_wire(s).ok_or_else(Reject::invalid_tif)
    }
}

impl OrderStatus {
    /// NEW and PARTIALLY_FILLED orders are open (rest on the book).
    pub(crate) fn is_open(self) -> bool {
        matches!(self, OrderStatus::New | OrderStatus::PartiallyFilled)
    }
}
