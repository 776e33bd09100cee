//! The arithmetic of one position, without SQL.
//!
//! Invariants (proptested below): an open only ever increases the quantity; a close
//! only ever decreases it, is capped at the open quantity (the excess is reported,
//! never turned into a position the other way) and so can never flip the position;
//! `quantity == initial + opened_by_fills - closed` at every step.

use rust_decimal::Decimal;

use crate::domain::Direction;

/// The figures of one position that fills change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PositionFigures {
    pub quantity: Decimal,
    /// Average price of everything opened (adopted quantity included).
    pub entry_price: Decimal,
    /// Everything ever opened, adopted quantity included.
    pub opened_quantity: Decimal,
    pub closed_quantity: Decimal,
    /// Average price of the applied close quantity; None before the first close.
    pub exit_price: Option<Decimal>,
    pub realized_pnl: Decimal,
}

/// What one close fill did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CloseEffect {
    pub figures: PositionFigures,
    /// The part of the fill that reduced the position.
    pub applied: Decimal,
    /// The part beyond the open quantity: reported as an anomaly, never applied.
    pub excess: Decimal,
}

impl PositionFigures {
    /// A position born from `quantity` at `price` (first open fill or adoption).
    pub(crate) fn new(quantity: Decimal, price: Decimal) -> Self {
        PositionFigures {
            quantity,
            entry_price: price,
            opened_quantity: quantity,
            closed_quantity: Decimal::ZERO,
            exit_price: None,
            realized_pnl: Decimal::ZERO,
        }
    }

    /// Apply an open fill: quantity grows, entry becomes the weighted average of all opens.
    pub(crate) fn open(self, quantity: Decimal, price: Decimal) -> Self {
        let opened = self.opened_quantity + quantity;
        let entry_price = if opened.is_zero() {
            price
        } else {
            weighted(self.entry_price, self.opened_quantity, price, quantity) / opened
        };
        PositionFigures {
            quantity: self.quantity + quantity,
            entry_price: entry_price.normalize(),
            opened_quantity: opened,
            ..self
        }
    }

    /// Apply a close fill of a position pointing `direction`, capped at what is open.
    pub(crate) fn close(
        self,
        direction: Direction,
        quantity: Decimal,
        price: Decimal,
    ) -> CloseEffect {
        let applied = quantity.min(self.quantity).max(Decimal::ZERO);
        let excess = quantity - applied;
        if applied.is_zero() {
            return CloseEffect {
                figures: self,
                applied,
                excess,
            };
        }
        let closed = self.closed_quantity + applied;
        let previous_exit = self.exit_price.unwrap_or(price);
        let exit = weighted(previous_exit, self.closed_quantity, price, applied) / closed;
        let per_unit = match direction {
            Direction::Long => price - self.entry_price,
            Direction::Short => self.entry_price - price,
        };
        CloseEffect {
            figures: PositionFigures {
                quantity: self.quantity - applied,
                closed_quantity: closed,
                exit_price: Some(exit.normalize()),
                realized_pnl: (self.realized_pnl + applied * per_unit).normalize(),
                ..self
            },
            applied,
            excess,
        }
    }
}

fn weighted(price_a: Decimal, qty_a: Decimal, price_b: Decimal, qty_b: Decimal) -> Decimal {
    price_a * qty_a + price_b * qty_b
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    #[test]
    fn a_close_larger_than_the_position_is_capped_and_reports_the_excess() {
        let p = PositionFigures::new(dec!(2), dec!(100));
        let effect = p.close(Direction::Long, dec!(3), dec!(110));
        assert_eq!(effect.applied, dec!(2));
        assert_eq!(effect.excess, dec!(1));
        assert!(effect.figures.quantity.is_zero());
        assert_eq!(effect.figures.realized_pnl, dec!(20));
        assert_eq!(effect.figures.exit_price, Some(dec!(110)));
    }

    #[test]
    fn a_short_gains_when_the_price_falls() {
        let p = PositionFigures::new(dec!(1), dec!(100)).open(dec!(1), dec!(80));
        assert_eq!(p.entry_price, dec!(90));
        let effect = p.close(Direction::Short, dec!(2), dec!(85));
        assert_eq!(effect.figures.realized_pnl, dec!(10));
    }

    #[derive(Clone, Debug)]
    enum Step {
        Open(Decimal, Decimal),
        Close(Decimal, Decimal),
    }

    fn step() -> impl Strategy<Value = Step> {
        let qty = (1u32..5000).prop_map(|n| Decimal::new(n.into(), 3));
        let price = (1u32..100_000).prop_map(|n| Decimal::new(n.into(), 2));
        prop_oneof![
            (qty.clone(), price.clone()).prop_map(|(q, p)| Step::Open(q, p)),
            (qty, price).prop_map(|(q, p)| Step::Close(q, p)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]
        #[test]
        fn quantity_always_equals_opens_minus_applied_closes_and_never_flips(
            long in any::<bool>(),
            steps in proptest::collection::vec(step(), 1..40),
        ) {
            let direction = if long { Direction::Long } else { Direction::Short };
            let mut figures = PositionFigures::new(Decimal::ZERO, dec!(1));
            let (mut opened, mut closed) = (Decimal::ZERO, Decimal::ZERO);
            for s in steps {
                match s {
                    Step::Open(q, p) => {
                        figures = figures.open(q, p);
                        opened += q;
                    }
                    Step::Close(q, p) => {
                        let before = figures.quantity;
                        let effect = figures.close(direction, q, p);
                        prop_assert_eq!(effect.applied + effect.excess, q);
                        prop_assert!(effect.applied <= before);
                        figures = effect.figures;
                        closed += effect.applied;
                    }
                }
                prop_assert!(figures.quantity >= Decimal::ZERO);
                prop_assert_eq!(figures.quantity, opened - closed);
                prop_assert_eq!(figures.closed_quantity, closed);
            }
        }
    }
}
