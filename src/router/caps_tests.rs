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
