//! Deterministic rejections: a rejection that re-planning cannot fix ends the intent, it
//! does not loop.
//!
//! A filter or parameter rejection (-1111, -4014, -4023, -4061...) makes the executor
//! reload the rules (or re-read the position mode) and plan the remainder again. When the
//! venue disagrees with what it publishes (seen: quantityPrecision enforced tighter than
//! stepSize, -1111 on every chunk), the re-plan produces the same order and the venue
//! refuses it the same way, for ever. This memory cuts that short:
//!
//! - an open fails the first time the same order meets the same code again;
//! - a close (risk-reducing) is given `max_replans` re-plans in a row ending in the same
//!   code, identical or not, before it fails: leaving a position open is costlier than
//!   trying again, but never unboundedly;
//! - any accepted order clears the memory, and so does a different code.
//!
//! [`RejectionMemory`] is pure; `executor::failure::repeated_rejection` wraps it for the
//! executor with the ERROR log and the metric, and the caller fails the intent.

use rust_decimal::Decimal;

use super::scheduler::RiskClass;
use crate::domain::{OrderRequest, OrderType, PositionSide, Side, Symbol, TimeInForce};

/// What makes two orders "the same order": everything but the client order id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct OrderShape {
    symbol: Symbol,
    side: Side,
    position_side: PositionSide,
    order_type: OrderType,
    quantity: Decimal,
    price: Option<Decimal>,
    time_in_force: Option<TimeInForce>,
    reduce_only: bool,
}

impl OrderShape {
    pub(crate) fn of(r: &OrderRequest) -> Self {
        OrderShape {
            symbol: r.symbol.clone(),
            side: r.side,
            position_side: r.position_side,
            order_type: r.order_type,
            quantity: r.quantity.get().normalize(),
            price: r.price.map(|p| p.get().normalize()),
            time_in_force: r.time_in_force,
            reduce_only: r.reduce_only,
        }
    }
}

/// The last deterministic rejection of a job, and how many came in a row with its code.
#[derive(Clone, Debug, Default)]
pub(crate) struct RejectionMemory {
    last: Option<(i64, OrderShape)>,
    streak: u32,
}

/// What to do after a deterministic rejection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Reload and re-plan: this is new information.
    Replan,
    /// Re-planning cannot fix it: fail the intent; the text says why (without the venue's
    /// words, which the caller appends).
    GiveUp(String),
}

impl RejectionMemory {
    /// Record a rejection of `shape` with `code` and decide. `max_replans` bounds the
    /// re-plans in a row a close may make on one code (at least one is always made).
    pub(crate) fn observe(
        &mut self,
        class: RiskClass,
        code: i64,
        shape: OrderShape,
        max_replans: u32,
    ) -> Verdict {
        let same_code = self.last.as_ref().is_some_and(|(c, _)| *c == code);
        let same_order = self
            .last
            .as_ref()
            .is_some_and(|(c, s)| *c == code && *s == shape);
        self.streak = if same_code { self.streak + 1 } else { 1 };
        self.last = Some((code, shape));
        let replans = self.streak - 1;
        if class == RiskClass::Increasing && same_order {
            return Verdict::GiveUp(format!(
                "the same order was refused the same way again after re-planning ({} attempts)",
                self.streak
            ));
        }
        if replans >= max_replans.max(1) {
            return Verdict::GiveUp(format!(
                "refused the same way {} times in a row, re-planned after each",
                self.streak
            ));
        }
        Verdict::Replan
    }

    /// An order was accepted: whatever was refused before is no longer in the way.
    pub(crate) fn clear(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ClientOrderId, Qty};

    fn shape(qty: &str) -> OrderShape {
        OrderShape::of(&OrderRequest {
            symbol: Symbol::new("SOLUSDT").unwrap(),
            side: Side::Buy,
            position_side: PositionSide::Both,
            order_type: OrderType::Market,
            quantity: Qty::parse("q", qty).unwrap(),
            price: None,
            time_in_force: None,
            reduce_only: true,
            client_order_id: ClientOrderId::new(&format!("id-{qty}")).unwrap(),
            price_match: None,
            good_till_date: None,
        })
    }

    #[test]
    fn an_open_gives_up_when_the_same_order_meets_the_same_code_again() {
        let mut m = RejectionMemory::default();
        let open = RiskClass::Increasing;
        assert_eq!(m.observe(open, -1111, shape("400.5"), 5), Verdict::Replan);
        assert!(matches!(
            m.observe(open, -1111, shape("400.50"), 5),
            Verdict::GiveUp(_)
        ));
    }

    #[test]
    fn a_close_replans_a_bounded_number_of_times_then_gives_up() {
        let mut m = RejectionMemory::default();
        let close = RiskClass::Reducing;
        assert_eq!(m.observe(close, -1111, shape("400.5"), 2), Verdict::Replan);
        assert_eq!(m.observe(close, -1111, shape("400.5"), 2), Verdict::Replan);
        let Verdict::GiveUp(why) = m.observe(close, -1111, shape("399.5"), 2) else {
            panic!("a third refusal in a row must end the close");
        };
        assert!(why.contains("3 times"), "{why}");
    }

    #[test]
    fn a_different_code_or_an_accepted_order_starts_the_count_again() {
        let mut m = RejectionMemory::default();
        let close = RiskClass::Reducing;
        m.observe(close, -1111, shape("1"), 1);
        assert_eq!(m.observe(close, -4014, shape("1"), 1), Verdict::Replan);
        m.clear();
        assert_eq!(m.observe(close, -4014, shape("1"), 1), Verdict::Replan);
        assert!(matches!(
            m.observe(close, -4014, shape("1"), 1),
            Verdict::GiveUp(_)
        ));
    }
}
