//! What a caller asked for, as opposed to the orders that carry it out.
//!
//! [`IntentSpec`] is the one shape an intent has from the API to the executor: one
//! variant per kind carrying exactly that kind's fields. The API builds it (refusing a
//! bad body field by field), the ledger stores it and loads it back, the executor sizes
//! its chunks from it; none of them checks its shape again.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::ids::PositionId;
use super::{Direction, DomainError, Qty, Symbol, Usdt};

/// Every order carries the intent of the request that produced it. Only `Open`
/// fills create or increase a position; the others only ever reduce the position
/// their order references (the rule that makes seed 002's phantom SHORT impossible).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum IntentKind {
    Open,
    Close,
    Reduce,
    Flatten,
}

impl IntentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IntentKind::Open => "open",
            IntentKind::Close => "close",
            IntentKind::Reduce => "reduce",
            IntentKind::Flatten => "flatten",
        }
    }
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        match raw {
            "open" => Ok(IntentKind::Open),
            "close" => Ok(IntentKind::Close),
            "reduce" => Ok(IntentKind::Reduce),
            "flatten" => Ok(IntentKind::Flatten),
            other => Err(DomainError::new(
                "kind",
                format!("`{other}` is not one of open, close, reduce, flatten"),
            )),
        }
    }
    /// Risk-reducing intents are scheduled before risk-increasing ones.
    pub(crate) fn reduces_risk(self) -> bool {
        !matches!(self, IntentKind::Open)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum IntentState {
    Accepted,
    Working,
    Done,
    Failed,
    Cancelled,
}

impl IntentState {
    pub fn as_str(self) -> &'static str {
        match self {
            IntentState::Accepted => "accepted",
            IntentState::Working => "working",
            IntentState::Done => "done",
            IntentState::Failed => "failed",
            IntentState::Cancelled => "cancelled",
        }
    }
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        match raw {
            "accepted" => Ok(IntentState::Accepted),
            "working" => Ok(IntentState::Working),
            "done" => Ok(IntentState::Done),
            "failed" => Ok(IntentState::Failed),
            "cancelled" => Ok(IntentState::Cancelled),
            other => Err(DomainError::new(
                "state",
                format!("`{other}` is not a known state"),
            )),
        }
    }
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            IntentState::Done | IntentState::Failed | IntentState::Cancelled
        )
    }
}

/// How big an open is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpenSize {
    /// A base-asset quantity.
    Quantity(Qty),
    /// A USDT notional, converted to a quantity at the mark when the executor takes it up.
    Notional(Usdt),
}

/// One intent: each kind with exactly its fields. Sizes are positive
/// ([`IntentSpec::check_sizes`], run where it is built from outside input).
///
/// `P` is how a close or reduce names its position: stored and executed intents hold
/// the [`PositionId`]; the API may first hold the caller's own reference (symbol and
/// side) until it has looked the position up ([`IntentSpec::with_position`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum IntentSpec<P = PositionId> {
    /// Open (or add to) the `direction` leg of `symbol`.
    Open {
        symbol: Symbol,
        direction: Direction,
        size: OpenSize,
    },
    /// Close position `position`: all of it (`quantity` None) or that much of it.
    Close { position: P, quantity: Option<Qty> },
    /// Take `quantity` off position `position`.
    Reduce { position: P, quantity: Qty },
    /// Close every position of `symbol`, or of the whole venue when None.
    Flatten { symbol: Option<Symbol> },
}

impl<P> IntentSpec<P> {
    pub fn kind(&self) -> IntentKind {
        match self {
            IntentSpec::Open { .. } => IntentKind::Open,
            IntentSpec::Close { .. } => IntentKind::Close,
            IntentSpec::Reduce { .. } => IntentKind::Reduce,
            IntentSpec::Flatten { .. } => IntentKind::Flatten,
        }
    }

    /// The base-asset quantity asked for: an open by quantity, a partial close, a
    /// reduce. None for an open by notional, a close of everything and a flatten.
    pub fn quantity(&self) -> Option<Qty> {
        match self {
            IntentSpec::Open {
                size: OpenSize::Quantity(q),
                ..
            }
            | IntentSpec::Reduce { quantity: q, .. } => Some(*q),
            IntentSpec::Close { quantity, .. } => *quantity,
            _ => None,
        }
    }

    /// The notional an open by notional asks for.
    pub fn notional(&self) -> Option<Usdt> {
        match self {
            IntentSpec::Open {
                size: OpenSize::Notional(n),
                ..
            } => Some(*n),
            _ => None,
        }
    }

    /// The position a close or reduce acts on.
    pub fn position(&self) -> Option<&P> {
        match self {
            IntentSpec::Close { position, .. } | IntentSpec::Reduce { position, .. } => {
                Some(position)
            }
            _ => None,
        }
    }

    /// The direction an open goes.
    pub fn direction(&self) -> Option<Direction> {
        match self {
            IntentSpec::Open { direction, .. } => Some(*direction),
            _ => None,
        }
    }

    /// The same intent with its position named another way (`name` is called only
    /// for a close or reduce).
    pub(crate) fn with_position<Q>(self, name: impl FnOnce(P) -> Q) -> IntentSpec<Q> {
        match self {
            IntentSpec::Open {
                symbol,
                direction,
                size,
            } => IntentSpec::Open {
                symbol,
                direction,
                size,
            },
            IntentSpec::Close { position, quantity } => IntentSpec::Close {
                position: name(position),
                quantity,
            },
            IntentSpec::Reduce { position, quantity } => IntentSpec::Reduce {
                position: name(position),
                quantity,
            },
            IntentSpec::Flatten { symbol } => IntentSpec::Flatten { symbol },
        }
    }

    /// The symbol the intent itself names (an open's, a flatten's scope).
    pub fn symbol(&self) -> Option<&Symbol> {
        match self {
            IntentSpec::Open { symbol, .. } => Some(symbol),
            IntentSpec::Flatten { symbol } => symbol.as_ref(),
            _ => None,
        }
    }

    /// Every quantity and notional is above zero; the error names the field.
    pub(crate) fn check_sizes(&self) -> Result<(), DomainError> {
        if self.quantity().is_some_and(Qty::is_zero) {
            return Err(DomainError::new("quantity", "must be greater than zero"));
        }
        if self.notional().is_some_and(|n| n.get() <= Decimal::ZERO) {
            return Err(DomainError::new(
                "notional_usdt",
                "must be greater than zero",
            ));
        }
        Ok(())
    }
}

impl IntentSpec {
    /// Rebuild the spec from its stored columns (`intents.kind`, `symbol`, `direction`,
    /// `quantity`, `notional_usdt`, `position_id`); the error names the missing column.
    /// An open stored by quantity also carries the notional it was valued at: the
    /// quantity is what was asked.
    pub(crate) fn from_columns(
        kind: IntentKind,
        symbol: Option<Symbol>,
        direction: Option<Direction>,
        quantity: Option<Qty>,
        notional: Option<Usdt>,
        position: Option<PositionId>,
    ) -> Result<Self, DomainError> {
        let missing = |field: &str| {
            DomainError::new(field, format!("a stored {} intent has none", kind.as_str()))
        };
        Ok(match kind {
            IntentKind::Open => IntentSpec::Open {
                symbol: symbol.ok_or_else(|| missing("symbol"))?,
                direction: direction.ok_or_else(|| missing("direction"))?,
                size: match (quantity, notional) {
                    (Some(q), _) => OpenSize::Quantity(q),
                    (None, Some(n)) => OpenSize::Notional(n),
                    (None, None) => return Err(missing("quantity")),
                },
            },
            IntentKind::Close => IntentSpec::Close {
                position: position.ok_or_else(|| missing("position_id"))?,
                quantity,
            },
            IntentKind::Reduce => IntentSpec::Reduce {
                position: position.ok_or_else(|| missing("position_id"))?,
                quantity: quantity.ok_or_else(|| missing("quantity"))?,
            },
            IntentKind::Flatten => IntentSpec::Flatten { symbol },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn qty(raw: &str) -> Qty {
        Qty::parse("quantity", raw).expect("qty")
    }

    #[test]
    fn a_spec_reads_back_from_the_columns_it_is_stored_in() {
        let sol = Symbol::new("SOLUSDT").expect("symbol");
        let open = IntentSpec::Open {
            symbol: sol.clone(),
            direction: Direction::Short,
            size: OpenSize::Quantity(qty("2")),
        };
        // Stored by quantity, with the notional it was valued at beside it.
        let back = IntentSpec::from_columns(
            IntentKind::Open,
            Some(sol),
            Some(Direction::Short),
            Some(qty("2")),
            Some(Usdt::new(Decimal::from(360))),
            None,
        );
        assert_eq!(back, Ok(open));
        let close = IntentSpec::from_columns(
            IntentKind::Close,
            None,
            None,
            None,
            None,
            Some(PositionId(7)),
        );
        assert_eq!(
            close,
            Ok(IntentSpec::Close {
                position: PositionId(7),
                quantity: None
            })
        );
    }

    #[test]
    fn a_stored_reduce_without_its_quantity_names_the_column() {
        let err = IntentSpec::from_columns(
            IntentKind::Reduce,
            None,
            None,
            None,
            None,
            Some(PositionId(1)),
        )
        .unwrap_err();
        assert_eq!(err.field, "quantity");
    }

    #[test]
    fn zero_sizes_are_refused_by_field() {
        let reduce = IntentSpec::Reduce {
            position: PositionId(1),
            quantity: Qty::ZERO,
        };
        assert_eq!(reduce.check_sizes().unwrap_err().field, "quantity");
        let open: IntentSpec = IntentSpec::Open {
            symbol: Symbol::new("SOLUSDT").expect("symbol"),
            direction: Direction::Long,
            size: OpenSize::Notional(Usdt::new(Decimal::ZERO)),
        };
        assert_eq!(open.check_sizes().unwrap_err().field, "notional_usdt");
    }
}
