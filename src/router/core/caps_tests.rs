//! The learned-cap state machine, driven through seed 000's numbers.

use proptest::prelude::*;
use rust_decimal_macros::dec;

use super::*;
use crate::router::fixtures::{qty, sol};

const HOUR_MS: i64 = 3_600_000;

fn sym() -> Symbol {
    Symbol::new("SOLUSDT").unwrap()
}

fn lot() -> LotFilter {
    sol().market_lot_size
}

#[test]
fn a_rejection_within_the_published_cap_halves_and_repeats_keep_halving() {
    let mut book = CapBook::new(HOUR_MS);
    let first = book
        .on_max_qty_rejected(&sym(), qty(dec!(4243.42)), &lot(), 1_000)
        .unwrap();
    assert_eq!(first.previous, None);
    assert_eq!(first.cap.learned_market_max_qty, qty(dec!(2121.71)));
    let second = book
        .on_max_qty_rejected(&sym(), qty(dec!(2121.71)), &lot(), 2_000)
        .unwrap();
    assert_eq!(second.previous, Some(qty(dec!(2121.71))));
    assert_eq!(second.cap.learned_market_max_qty, qty(dec!(1060.85)));
    assert_eq!(book.cap(&sym(), 2_001), Some(qty(dec!(1060.85))));
}

#[test]
fn the_published_cap_is_tried_again_after_the_configured_time() {
    let mut book = CapBook::new(HOUR_MS);
    book.on_max_qty_rejected(&sym(), qty(dec!(800)), &lot(), 0)
        .unwrap();
    assert_eq!(book.cap(&sym(), HOUR_MS - 1), Some(qty(dec!(400))));
    assert_eq!(book.cap(&sym(), HOUR_MS), None);
}

#[test]
fn failing_again_at_the_published_cap_restores_the_last_lesson_at_once() {
    let mut book = CapBook::new(HOUR_MS);
    book.on_max_qty_rejected(&sym(), qty(dec!(800)), &lot(), 0)
        .unwrap();
    let again = book
        .on_max_qty_rejected(&sym(), qty(dec!(5000)), &lot(), 2 * HOUR_MS)
        .unwrap();
    assert_eq!(again.cap.learned_market_max_qty, qty(dec!(400)));
    assert_eq!(again.cap.retry_after_ms, 3 * HOUR_MS);
}

#[test]
fn a_stale_rejection_above_the_current_cap_does_not_shrink_it_again() {
    let mut book = CapBook::new(HOUR_MS);
    book.on_max_qty_rejected(&sym(), qty(dec!(800)), &lot(), 0)
        .unwrap();
    // A second in-flight chunk of 800 was refused after the cap had already dropped to 400.
    let stale = book
        .on_max_qty_rejected(&sym(), qty(dec!(800)), &lot(), 10)
        .unwrap();
    assert_eq!(stale.cap.learned_market_max_qty, qty(dec!(400)));
}

#[test]
fn at_min_qty_there_is_nothing_left_to_halve() {
    let mut book = CapBook::new(HOUR_MS);
    let lot = LotFilter {
        min_qty: dec!(1),
        max_qty: dec!(5000),
        step_size: dec!(1),
    };
    let to_min = book
        .on_max_qty_rejected(&sym(), qty(dec!(1.5)), &lot, 0)
        .unwrap();
    assert_eq!(to_min.cap.learned_market_max_qty, qty(dec!(1)));
    let err = book
        .on_max_qty_rejected(&sym(), qty(dec!(1)), &lot, 1)
        .unwrap_err();
    assert!(
        err.to_string().contains("cannot shrink below minQty"),
        "{err}"
    );
}

#[test]
fn a_rejection_above_the_published_cap_teaches_nothing() {
    let mut book = CapBook::new(HOUR_MS);
    let err = book
        .on_max_qty_rejected(&sym(), qty(dec!(8486.84)), &lot(), 0)
        .unwrap_err();
    assert!(matches!(err, CapError::AbovePublishedMax { .. }));
    assert_eq!(book.cap(&sym(), 1), None);
}

#[test]
fn caps_survive_a_restart_through_their_persisted_form() {
    let mut book = CapBook::new(HOUR_MS);
    book.on_max_qty_rejected(&sym(), qty(dec!(800)), &lot(), 0)
        .unwrap();
    let json = serde_json::to_string(&book.entries().cloned().collect::<Vec<_>>()).unwrap();
    assert!(
        json.contains("\"learned_market_max_qty\":\"400\""),
        "{json}"
    );
    let saved: Vec<LearnedCap> = serde_json::from_str(&json).unwrap();
    assert_eq!(saved[0].retry_after().unwrap().timestamp_millis(), HOUR_MS);
    let mut restarted = CapBook::new(HOUR_MS);
    restarted.restore(saved);
    assert_eq!(restarted.cap(&sym(), 5), Some(qty(dec!(400))));
}

#[test]
fn the_change_renders_as_a_key_value_log_line() {
    let mut book = CapBook::new(HOUR_MS);
    let change = book
        .on_max_qty_rejected(&sym(), qty(dec!(800)), &lot(), 0)
        .unwrap();
    let line = change.to_string();
    assert!(line.starts_with("symbol=SOLUSDT learned_cap=400 previous_cap=published"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn repeated_rejections_shrink_monotonically_to_min_qty_and_stay_on_the_grid(
        start in 1u64..500_000, min in 1u64..50
    ) {
        let lot = LotFilter { min_qty: dec!(0.01) * Decimal::from(min), max_qty: dec!(5000), step_size: dec!(0.01) };
        let mut book = CapBook::new(HOUR_MS);
        let mut attempted = qty(dec!(0.01) * Decimal::from(start)).min(qty(dec!(5000)));
        let mut last = attempted;
        for t in 0..64 {
            match book.on_max_qty_rejected(&sym(), attempted, &lot, t) {
                Ok(change) => {
                    let cap = change.cap.learned_market_max_qty;
                    prop_assert!(cap < last);
                    prop_assert!(cap.get() >= lot.min_qty);
                    prop_assert!((cap.get() % lot.step_size).is_zero());
                    last = cap;
                    attempted = cap;
                }
                Err(CapError::CannotShrinkBelowMinQty { attempted: a, .. }) => {
                    prop_assert!(a.get() <= lot.min_qty.max(lot.step_size));
                    return Ok(());
                }
                Err(other) => prop_assert!(false, "unexpected {other}"),
            }
        }
        prop_assert!(false, "did not reach minQty in 64 halvings");
    }
}

/// A venue that refuses MARKET chunks above `hidden` (seed 000), closing `total` with the
/// planner's even split under the book's cap: (orders accepted, -4005s, final cap).
fn close_against_hidden_cap(total: Decimal, hidden: Decimal) -> (u32, u32, Option<Qty>) {
    let mut book = CapBook::new(HOUR_MS);
    let (mut left, mut fills, mut refusals) = (total, 0u32, 0u32);
    let mut smallest_refused = Decimal::MAX;
    for t in 0..1_000i64 {
        if left.is_zero() {
            break;
        }
        let cap = book.cap(&sym(), t).map_or(lot().max_qty, Qty::get);
        let chunks = (left / cap).ceil();
        let size = floor_to_step(left / chunks, lot().step_size).max(lot().step_size);
        // A probe goes out alone at its own size, as the executor plans it.
        let size = if book.is_probing(&sym()) {
            cap.min(left)
        } else {
            size.min(left)
        };
        if size > hidden {
            book.on_max_qty_rejected(&sym(), qty(size), &lot(), t)
                .expect("a size within the published cap teaches something");
            refusals += 1;
            smallest_refused = smallest_refused.min(size);
        } else {
            book.on_market_chunk_accepted(&sym(), qty(size), &lot(), t);
            left -= size;
            fills += 1;
        }
        if let Some(cap) = book.cap(&sym(), t) {
            assert!(
                cap.get() < smallest_refused,
                "planning {cap} after {smallest_refused} was refused"
            );
        }
    }
    assert!(left.is_zero(), "the close did not finish: {left} left");
    (fills, refusals, book.cap(&sym(), 0))
}

#[test]
fn after_halving_the_cap_is_probed_upward_to_within_five_percent_of_the_hidden_cap() {
    let (fills, refusals, cap) = close_against_hidden_cap(dec!(8486.84), dec!(400));
    let cap = cap.expect("a learned cap");
    assert!(
        cap.get() >= dec!(380) && cap.get() <= dec!(400),
        "learned {cap}"
    );
    assert!(refusals <= 4 + MAX_PROBES, "{refusals} refusals");
    assert!(fills <= 24, "seed 000 closed in {fills} fills");
}

#[test]
fn a_refused_probe_restores_the_last_accepted_size_at_once() {
    let mut book = CapBook::new(HOUR_MS);
    book.on_max_qty_rejected(&sym(), qty(dec!(446.68)), &lot(), 0)
        .unwrap();
    assert_eq!(book.cap(&sym(), 1), Some(qty(dec!(223.34))));
    assert_eq!(
        book.on_market_chunk_accepted(&sym(), qty(dec!(223.34)), &lot(), 1),
        None,
        "reaching the learned cap starts a probe but changes no cap"
    );
    assert_eq!(book.cap(&sym(), 2), Some(qty(dec!(335.01))));
    let refused = book
        .on_max_qty_rejected(&sym(), qty(dec!(335.01)), &lot(), 2)
        .unwrap();
    assert_eq!(refused.cap.learned_market_max_qty, qty(dec!(223.34)));
    assert_eq!(book.cap(&sym(), 3), Some(qty(dec!(223.34))));
    assert!(!book.is_probing(&sym()));
}

#[test]
fn an_accepted_probe_becomes_the_learned_cap_to_persist() {
    let mut book = CapBook::new(HOUR_MS);
    book.on_max_qty_rejected(&sym(), qty(dec!(800)), &lot(), 0)
        .unwrap();
    book.on_market_chunk_accepted(&sym(), qty(dec!(400)), &lot(), 1);
    assert_eq!(book.cap(&sym(), 2), Some(qty(dec!(600))));
    let raised = book
        .on_market_chunk_accepted(&sym(), qty(dec!(600)), &lot(), 2)
        .expect("an accepted probe changes the cap");
    assert_eq!(raised.previous, Some(qty(dec!(400))));
    assert_eq!(raised.cap.learned_market_max_qty, qty(dec!(600)));
    assert_eq!(
        book.entries().next().unwrap().learned_market_max_qty,
        qty(dec!(600))
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn probing_never_plans_a_size_the_venue_refused_and_spends_few_refusals(
        hidden in 100u64..500_000, chunks in 1u64..400, extra in 0u64..10_000
    ) {
        // At most ~400 chunks, so the bounded loop always has room to finish.
        let total = dec!(0.01) * Decimal::from(hidden * chunks + extra % hidden);
        let hidden = dec!(0.01) * Decimal::from(hidden);
        // The helper asserts that no size already refused is ever planned again.
        let (_, refusals, _) = close_against_hidden_cap(total, hidden);
        prop_assert!(refusals <= 16 + MAX_PROBES, "{} refusals", refusals);
    }
}

#[test]
fn a_size_is_proven_once_accepted_and_unproven_again_after_a_refusal_at_or_below_it() {
    let mut book = CapBook::new(HOUR_MS);
    assert!(!book.is_proven(&sym(), qty(dec!(100))), "nothing tried yet");
    book.on_market_chunk_accepted(&sym(), qty(dec!(300)), &lot(), 0);
    assert!(book.is_proven(&sym(), qty(dec!(300))));
    assert!(book.is_proven(&sym(), qty(dec!(120))));
    assert!(
        !book.is_proven(&sym(), qty(dec!(301))),
        "a larger size is untried"
    );
    book.on_max_qty_rejected(&sym(), qty(dec!(250)), &lot(), 1)
        .unwrap();
    assert!(!book.is_proven(&sym(), qty(dec!(120))));
}
