//! Why an order expired (`er` of ORDER_TRADE_UPDATE), what the router does about it, and
//! the self-trade prevention mode sluice sends with every order.
//!
//! Invariants:
//! - an expiry is never a fill: quantities move only with trades, whatever the reason;
//! - an `EXPIRED_IN_MATCH` status without an `er` still reads as self-trade prevention,
//!   so a venue that predates `er` is understood the same way (docs/binance-fapi.md §5.3);
//! - an unknown reason code is kept (not refused): a new code never breaks the stream.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{DomainError, OrderStatus};

/// The venue's expire reason (`o.er`, docs/binance-fapi.md §5.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ExpireReason {
    /// 0: none given.
    None,
    /// 1: self-trade prevention.
    SelfTradePrevention,
    /// 2: the unfilled remainder of an IOC order.
    IocRemainder,
    /// 3: IOC remainder and self-trade prevention together.
    IocAndSelfTradePrevention,
    /// 4: a reduce-only order knocked out by a higher-priority reduce-only order, or
    /// because it would have opened a reversed position.
    ReduceOnlyKnockedOut,
    /// 5: the account was liquidated.
    Liquidation,
    /// 6: a GTE condition was not met.
    GteCondition,
    /// 7: the symbol was delisted.
    Delisted,
    /// 8: the initial order expired after its stop triggered.
    StopTriggered,
    /// 9: the unfilled remainder of a MARKET order was cancelled.
    MarketRemainder,
    /// A code this build does not know yet.
    Other(i16),
}

/// What the router does with the unfilled remainder of an order that expired.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AfterExpiry {
    /// The venue simply stopped matching (IOC or MARKET remainder): plan the rest now.
    ReplanNow,
    /// The position changed under the order (reduce-only knocked out): read the real
    /// position from the exchange, then plan.
    RereadPositionThenReplan,
    /// Anything else (self-trade prevention, no reason): plan after the backoff, since
    /// whatever stopped the order is probably still there.
    ReplanAfterBackoff,
}

impl ExpireReason {
    pub(crate) fn from_code(code: i16) -> Self {
        match code {
            0 => Self::None,
            1 => Self::SelfTradePrevention,
            2 => Self::IocRemainder,
            3 => Self::IocAndSelfTradePrevention,
            4 => Self::ReduceOnlyKnockedOut,
            5 => Self::Liquidation,
            6 => Self::GteCondition,
            7 => Self::Delisted,
            8 => Self::StopTriggered,
            9 => Self::MarketRemainder,
            other => Self::Other(other),
        }
    }

    /// The wire string (`"9"`, or a number) as the venue sends it, naming `field` when
    /// it is not an integer.
    pub fn parse(field: &str, raw: &str) -> Result<Self, DomainError> {
        raw.trim()
            .parse::<i16>()
            .map(Self::from_code)
            .map_err(|_| DomainError::new(field, format!("`{raw}` is not an expire reason code")))
    }

    pub fn code(self) -> i16 {
        match self {
            Self::None => 0,
            Self::SelfTradePrevention => 1,
            Self::IocRemainder => 2,
            Self::IocAndSelfTradePrevention => 3,
            Self::ReduceOnlyKnockedOut => 4,
            Self::Liquidation => 5,
            Self::GteCondition => 6,
            Self::Delisted => 7,
            Self::StopTriggered => 8,
            Self::MarketRemainder => 9,
            Self::Other(c) => c,
        }
    }

    /// The reason to record for an order in `status` that came with `er` (or without).
    /// `er=0` on a non-expiry is no reason at all; `EXPIRED_IN_MATCH` without `er` is STP.
    pub(crate) fn of_update(status: OrderStatus, er: Option<Self>) -> Option<Self> {
        match (status, er) {
            (OrderStatus::ExpiredInMatch, None | Some(Self::None)) => {
                Some(Self::SelfTradePrevention)
            }
            (_, Some(Self::None)) | (_, None) => None,
            (_, Some(r)) => Some(r),
        }
    }

    pub(crate) fn is_self_trade_prevention(self) -> bool {
        matches!(
            self,
            Self::SelfTradePrevention | Self::IocAndSelfTradePrevention
        )
    }

    /// The router's rule for the unfilled remainder (README, "Expiries").
    pub(crate) fn after_expiry(reason: Option<Self>) -> AfterExpiry {
        match reason {
            Some(Self::IocRemainder | Self::MarketRemainder) => AfterExpiry::ReplanNow,
            Some(Self::ReduceOnlyKnockedOut) => AfterExpiry::RereadPositionThenReplan,
            _ => AfterExpiry::ReplanAfterBackoff,
        }
    }
}

/// `selfTradePreventionMode`, sent explicitly with every order: without it the venue
/// applies the account's default, which is `EXPIRE_MAKER` on the live exchange and
/// would silently expire the account's own resting orders (docs/binance-fapi.md §2.2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum SelfTradePrevention {
    /// sluice's own (taker) order expires; resting orders sluice does not own stay.
    #[default]
    ExpireTaker,
    /// The resting order expires.
    ExpireMaker,
    /// Both expire.
    ExpireBoth,
    /// No prevention: the account may trade with itself.
    None,
}

impl SelfTradePrevention {
    pub const ALL: [Self; 4] = [
        Self::ExpireTaker,
        Self::ExpireMaker,
        Self::ExpireBoth,
        Self::None,
    ];

    pub fn as_wire(self) -> &'static str {
        match self {
            Self::ExpireTaker => "EXPIRE_TAKER",
            Self::ExpireMaker => "EXPIRE_MAKER",
            Self::ExpireBoth => "EXPIRE_BOTH",
            Self::None => "NONE",
        }
    }
}

impl FromStr for SelfTradePrevention {
    type Err = DomainError;
    fn from_str(raw: &str) -> Result<Self, DomainError> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_wire() == raw)
            .ok_or_else(|| {
                DomainError::new(
                    "self_trade_prevention_mode",
                    format!("`{raw}` is not one of EXPIRE_TAKER, EXPIRE_MAKER, EXPIRE_BOTH, NONE"),
                )
            })
    }
}

impl TryFrom<String> for SelfTradePrevention {
    type Error = DomainError;
    fn try_from(value: String) -> Result<Self, DomainError> {
        value.parse()
    }
}

impl From<SelfTradePrevention> for String {
    fn from(m: SelfTradePrevention) -> String {
        m.as_wire().to_string()
    }
}

impl fmt::Display for SelfTradePrevention {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_wire())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_code_round_trips_and_an_unknown_one_is_kept() {
        for code in 0..=9 {
            assert_eq!(ExpireReason::from_code(code).code(), code);
        }
        assert_eq!(ExpireReason::from_code(42), ExpireReason::Other(42));
        assert!(ExpireReason::parse("o.er", "x").is_err());
        assert_eq!(
            ExpireReason::parse("o.er", "9").unwrap(),
            ExpireReason::MarketRemainder
        );
    }

    #[test]
    fn ioc_and_market_remainders_replan_now_and_a_knocked_out_reduce_only_rereads_first() {
        use AfterExpiry::*;
        let rule = |c| ExpireReason::after_expiry(Some(ExpireReason::from_code(c)));
        assert_eq!(rule(2), ReplanNow);
        assert_eq!(rule(9), ReplanNow);
        assert_eq!(rule(4), RereadPositionThenReplan);
        assert_eq!(rule(1), ReplanAfterBackoff);
        assert_eq!(rule(3), ReplanAfterBackoff);
        assert_eq!(ExpireReason::after_expiry(None), ReplanAfterBackoff);
    }

    #[test]
    fn expired_in_match_without_a_reason_is_self_trade_prevention() {
        let stp = ExpireReason::of_update(OrderStatus::ExpiredInMatch, None);
        assert_eq!(stp, Some(ExpireReason::SelfTradePrevention));
        assert_eq!(
            ExpireReason::of_update(OrderStatus::Expired, Some(ExpireReason::None)),
            None
        );
        assert_eq!(ExpireReason::of_update(OrderStatus::New, None), None);
    }

    #[test]
    fn the_stp_mode_parses_only_the_wire_names() {
        assert_eq!(
            "EXPIRE_MAKER".parse::<SelfTradePrevention>().unwrap(),
            SelfTradePrevention::ExpireMaker
        );
        let err = "expire_maker".parse::<SelfTradePrevention>().unwrap_err();
        assert_eq!(err.field, "self_trade_prevention_mode");
        assert_eq!(SelfTradePrevention::default().as_wire(), "EXPIRE_TAKER");
    }
}
