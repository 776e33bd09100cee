//! Order side, position side, the direction of a position, and the account's position mode.

use serde::{Deserialize, Serialize};

use super::DomainError;

/// BUY or SELL on the wire. On its own it says nothing about intent: a SELL
/// closes a LONG or opens a SHORT (seed 002), which is why orders carry an intent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    pub fn as_wire(self) -> &'static str {
        match self {
            Side::Buy => "BUY",
            Side::Sell => "SELL",
        }
    }
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        match raw {
            "BUY" => Ok(Side::Buy),
            "SELL" => Ok(Side::Sell),
            other => Err(DomainError::new(
                "side",
                format!("`{other}` is not BUY or SELL"),
            )),
        }
    }
    pub fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }
}

/// Which way a position points.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Long,
    Short,
}

impl Direction {
    /// The order side that opens (or increases) a position of this direction.
    pub fn open_side(self) -> Side {
        match self {
            Direction::Long => Side::Buy,
            Direction::Short => Side::Sell,
        }
    }
    /// The order side that closes (or reduces) a position of this direction.
    pub fn close_side(self) -> Side {
        self.open_side().opposite()
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Long => "long",
            Direction::Short => "short",
        }
    }
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        match raw.to_ascii_lowercase().as_str() {
            "long" => Ok(Direction::Long),
            "short" => Ok(Direction::Short),
            _ => Err(DomainError::new(
                "side",
                format!("`{raw}` is not long or short"),
            )),
        }
    }
}

/// `positionSide` on the wire: BOTH in one-way mode, LONG/SHORT in hedge mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum PositionSide {
    Both,
    Long,
    Short,
}

impl PositionSide {
    pub fn as_wire(self) -> &'static str {
        match self {
            PositionSide::Both => "BOTH",
            PositionSide::Long => "LONG",
            PositionSide::Short => "SHORT",
        }
    }
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        match raw {
            "BOTH" => Ok(PositionSide::Both),
            "LONG" => Ok(PositionSide::Long),
            "SHORT" => Ok(PositionSide::Short),
            other => Err(DomainError::new(
                "positionSide",
                format!("`{other}` is not BOTH, LONG or SHORT"),
            )),
        }
    }
    /// The `positionSide` to send for a position of `direction` under `mode`.
    pub fn for_mode(mode: PositionMode, direction: Direction) -> PositionSide {
        match (mode, direction) {
            (PositionMode::OneWay, _) => PositionSide::Both,
            (PositionMode::Hedge, Direction::Long) => PositionSide::Long,
            (PositionMode::Hedge, Direction::Short) => PositionSide::Short,
        }
    }
}

/// The account's position mode (`dualSidePosition`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PositionMode {
    OneWay,
    Hedge,
}

impl PositionMode {
    pub fn as_str(self) -> &'static str {
        match self {
            PositionMode::OneWay => "one-way",
            PositionMode::Hedge => "hedge",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closing_a_long_sells_and_closing_a_short_buys() {
        assert_eq!(Direction::Long.close_side(), Side::Sell);
        assert_eq!(Direction::Short.close_side(), Side::Buy);
    }

    #[test]
    fn hedge_mode_names_the_leg_and_one_way_says_both() {
        assert_eq!(
            PositionSide::for_mode(PositionMode::Hedge, Direction::Short),
            PositionSide::Short
        );
        assert_eq!(
            PositionSide::for_mode(PositionMode::OneWay, Direction::Short),
            PositionSide::Both
        );
    }
}
