//! `doctor`'s intent audit: an intent's final state must tell the truth about its fills.
//!
//! Flagged (reported, never repaired: the fills are the facts, the state is the claim):
//! - `failed` although its orders filled something (a caller retrying it would double
//!   its exposure; such an intent must end `done`, with a shortfall when short);
//! - `done` with nothing filled although it asked for a non-zero size;
//! - `done` short of its requested quantity without a stated shortfall.

use rust_decimal::Decimal;

use super::{Finding, FindingClass};
use crate::domain::IntentState;
use crate::ledger::intent_audit::IntentFillAudit;

/// Every intent whose state disagrees with its fills, in id order.
pub(crate) fn mismatches(audits: &[IntentFillAudit]) -> Vec<Finding> {
    audits
        .iter()
        .filter_map(|a| {
            problem(a).map(|detail| Finding {
                class: FindingClass::IntentStateMismatch,
                positions: Vec::new(),
                intents: vec![a.id],
                detail: format!("intent #{} ({}): {detail}", a.id, a.kind.as_str()),
                repair: None,
            })
        })
        .collect()
}

fn problem(a: &IntentFillAudit) -> Option<String> {
    match a.state {
        IntentState::Failed if a.filled > Decimal::ZERO => Some(format!(
            "failed although {} filled: it must end done (with its shortfall)",
            a.filled.normalize()
        )),
        IntentState::Done if a.sized && a.filled.is_zero() => {
            Some("done with nothing filled for a non-zero request".to_string())
        }
        IntentState::Done => {
            let asked = a.quantity?.get();
            let stated = a.shortfall.map_or(Decimal::ZERO, |s| s.get());
            (a.filled + stated < asked).then(|| {
                format!(
                    "done with {} of {} filled and no shortfall stated for the rest",
                    a.filled.normalize(),
                    asked.normalize()
                )
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{IntentKind, Qty};
    use crate::ledger::IntentId;
    use rust_decimal_macros::dec;

    fn audit(state: IntentState, qty: Option<Decimal>, filled: Decimal) -> IntentFillAudit {
        IntentFillAudit {
            id: IntentId(7),
            kind: IntentKind::Reduce,
            state,
            quantity: qty.map(|q| Qty::new("q", q).expect("qty")),
            sized: qty.is_some(),
            shortfall: None,
            filled,
        }
    }

    #[test]
    fn a_failed_intent_with_fills_is_flagged() {
        let found = mismatches(&[audit(IntentState::Failed, Some(dec!(1)), dec!(0.5))]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].class, FindingClass::IntentStateMismatch);
        assert!(found[0].detail.contains("failed although 0.5 filled"));
    }

    #[test]
    fn a_done_intent_with_nothing_filled_for_a_sized_request_is_flagged() {
        let found = mismatches(&[audit(IntentState::Done, Some(dec!(0.005)), dec!(0))]);
        assert!(found[0].detail.contains("nothing filled"), "{found:?}");
    }

    #[test]
    fn a_done_intent_short_without_a_stated_shortfall_is_flagged_and_with_one_is_not() {
        let mut short = audit(IntentState::Done, Some(dec!(1.005)), dec!(1));
        assert_eq!(mismatches(&[short.clone()]).len(), 1);
        short.shortfall = Some(Qty::new("s", dec!(0.005)).expect("qty"));
        assert!(mismatches(&[short]).is_empty());
    }

    #[test]
    fn truthful_states_are_clean() {
        let audits = [
            audit(IntentState::Done, Some(dec!(1)), dec!(1)),
            audit(IntentState::Failed, Some(dec!(1)), dec!(0)),
            audit(IntentState::Done, None, dec!(0)),
        ];
        assert!(mismatches(&audits).is_empty());
    }
}
