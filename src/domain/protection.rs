//! Protective orders an open may ask for: a stop-loss and/or a take-profit that the
//! exchange holds (the Algo Service) and fires even when sluice is down.
//!
//! A trigger is a price, or a distance from the open's average fill price, in percent or
//! in USDT of price (a `{usdt: "500"}` stop on a BTC long at 65 000 triggers at 64 500).
//! The trigger price is rounded to the tick towards the entry, so rounding never widens
//! the loss a stop allows.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{Direction, DomainError, Price};

/// Which protection an algo order is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProtectionKind {
    /// `STOP_MARKET`: fires when the price moves against the position.
    StopLoss,
    /// `TAKE_PROFIT_MARKET`: fires when the price moves in its favour.
    TakeProfit,
}

impl ProtectionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProtectionKind::StopLoss => "stop_loss",
            ProtectionKind::TakeProfit => "take_profit",
        }
    }
    pub fn as_wire(self) -> &'static str {
        match self {
            ProtectionKind::StopLoss => "STOP_MARKET",
            ProtectionKind::TakeProfit => "TAKE_PROFIT_MARKET",
        }
    }
    pub(crate) fn from_wire(s: &str) -> Option<Self> {
        match s {
            "STOP_MARKET" => Some(ProtectionKind::StopLoss),
            "TAKE_PROFIT_MARKET" => Some(ProtectionKind::TakeProfit),
            _ => None,
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "stop_loss" => Some(ProtectionKind::StopLoss),
            "take_profit" => Some(ProtectionKind::TakeProfit),
            _ => None,
        }
    }
}

/// The price a trigger is compared with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkingType {
    /// `MARK_PRICE`: immune to a thin book's wicks; sluice's default.
    #[default]
    Mark,
    /// `CONTRACT_PRICE`: the last traded price (Binance's default).
    Contract,
}

impl WorkingType {
    pub fn as_str(self) -> &'static str {
        match self {
            WorkingType::Mark => "mark",
            WorkingType::Contract => "contract",
        }
    }
    pub fn as_wire(self) -> &'static str {
        match self {
            WorkingType::Mark => "MARK_PRICE",
            WorkingType::Contract => "CONTRACT_PRICE",
        }
    }
    pub(crate) fn from_wire(s: &str) -> Option<Self> {
        match s {
            "MARK_PRICE" => Some(WorkingType::Mark),
            "CONTRACT_PRICE" => Some(WorkingType::Contract),
            _ => None,
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "mark" => Some(WorkingType::Mark),
            "contract" => Some(WorkingType::Contract),
            _ => None,
        }
    }
}

/// Where a protective order triggers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum TriggerSpec {
    Price(Price),
    /// Percent of the average fill price (0 < pct < 100).
    Pct(Decimal),
    /// Price distance in USDT from the average fill price (> 0).
    Usdt(Decimal),
}

/// One protective order as asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ProtectionLeg {
    pub trigger: TriggerSpec,
    #[serde(default)]
    pub working_type: WorkingType,
}

/// What an open asks to be protected by; empty = nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Protection {
    pub(crate) stop_loss: Option<ProtectionLeg>,
    pub(crate) take_profit: Option<ProtectionLeg>,
}

impl Protection {
    pub fn is_empty(&self) -> bool {
        self.stop_loss.is_none() && self.take_profit.is_none()
    }
    pub(crate) fn leg(&self, kind: ProtectionKind) -> Option<ProtectionLeg> {
        match kind {
            ProtectionKind::StopLoss => self.stop_loss,
            ProtectionKind::TakeProfit => self.take_profit,
        }
    }
}

impl TriggerSpec {
    /// Checks the distances' ranges; the error names `field`.
    pub(crate) fn check(&self, field: &str) -> Result<(), DomainError> {
        match *self {
            TriggerSpec::Pct(p) if p <= Decimal::ZERO || p >= Decimal::ONE_HUNDRED => Err(
                DomainError::new(field, "pct must be greater than 0 and less than 100"),
            ),
            TriggerSpec::Usdt(u) if u <= Decimal::ZERO => {
                Err(DomainError::new(field, "usdt must be greater than 0"))
            }
            _ => Ok(()),
        }
    }
}

/// The trigger price of a `kind` order protecting a `direction` position entered at
/// `entry`, on the `tick` grid (rounded towards the entry). The error names `field`
/// when the result would not be a positive price on the protective side of the entry.
pub(crate) fn trigger_price(
    kind: ProtectionKind,
    direction: Direction,
    leg: &TriggerSpec,
    entry: Decimal,
    tick: Decimal,
    field: &str,
) -> Result<Price, DomainError> {
    // +1: the trigger lies above the entry (a short's stop, a long's take-profit).
    let above = matches!(
        (kind, direction),
        (ProtectionKind::StopLoss, Direction::Short)
            | (ProtectionKind::TakeProfit, Direction::Long)
    );
    let distance = match *leg {
        TriggerSpec::Price(p) => (p.get() - entry).abs(),
        TriggerSpec::Pct(p) => entry * p / Decimal::ONE_HUNDRED,
        TriggerSpec::Usdt(u) => u,
    };
    let raw = if above {
        entry + distance
    } else {
        entry - distance
    };
    if let TriggerSpec::Price(p) = *leg {
        let wrong_side = if above {
            p.get() <= entry
        } else {
            p.get() >= entry
        };
        if wrong_side {
            let side = if above { "above" } else { "below" };
            return Err(DomainError::new(
                field,
                format!("{} must be {side} the entry price {entry}", p.get()),
            ));
        }
    }
    let snapped = if tick.is_zero() {
        raw
    } else {
        let steps = raw / tick;
        let steps = if above { steps.floor() } else { steps.ceil() };
        steps * tick
    };
    if snapped <= Decimal::ZERO {
        return Err(DomainError::new(
            field,
            format!("{raw} is not a positive price"),
        ));
    }
    Price::new(field, snapped.normalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn distances_become_tick_aligned_prices_on_the_protective_side() {
        let sl = trigger_price(
            ProtectionKind::StopLoss,
            Direction::Long,
            &TriggerSpec::Pct(dec!(2)),
            dec!(65000.05),
            dec!(0.1),
            "stop_loss",
        )
        .unwrap();
        // 65000.05 × 0.98 = 63700.049, rounded up towards the entry.
        assert_eq!(sl.get(), dec!(63700.1));
        let tp = trigger_price(
            ProtectionKind::TakeProfit,
            Direction::Short,
            &TriggerSpec::Usdt(dec!(500)),
            dec!(65000),
            dec!(0.1),
            "take_profit",
        )
        .unwrap();
        assert_eq!(tp.get(), dec!(64500));
    }

    #[test]
    fn a_price_on_the_wrong_side_of_the_entry_is_refused_by_name() {
        let p = Price::new("stop_loss", dec!(66000)).unwrap();
        let e = trigger_price(
            ProtectionKind::StopLoss,
            Direction::Long,
            &TriggerSpec::Price(p),
            dec!(65000),
            dec!(0.1),
            "stop_loss",
        )
        .unwrap_err();
        assert_eq!(e.field, "stop_loss");
        assert!(TriggerSpec::Pct(dec!(100)).check("stop_loss").is_err());
        assert!(TriggerSpec::Usdt(dec!(0)).check("take_profit").is_err());
    }
}
