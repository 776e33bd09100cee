//! Examples and properties of the chunk planner.

use proptest::prelude::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use super::*;
use crate::router::fixtures::{price, qty, rules, sol};

fn market_close(total: Decimal, cap: Option<ChunkCap>) -> Result<ChunkPlan, PlanError> {
    let q = qty(total);
    plan_chunks(
        q,
        &sol(),
        OrderType::Market,
        true,
        cap,
        None,
        price(dec!(187.5)),
    )
}

#[test]
fn seed_000_close_is_split_into_near_equal_chunks_under_the_cap() {
    let plan = market_close(dec!(8486.84), Some(ChunkCap::Qty(qty(dec!(400))))).unwrap();
    assert_eq!(plan.chunks.len(), 22);
    assert_eq!(plan.planned(), qty(dec!(8486.84)));
    assert_eq!(plan.dust, Qty::ZERO);
    assert_eq!(plan.chunks[0], qty(dec!(385.77)));
    assert_eq!(plan.chunks[21], qty(dec!(385.76)));
    assert_eq!(plan.effective_cap, qty(dec!(400)));
    assert_eq!(plan.cap_source, CapSource::Configured);
}

#[test]
fn a_remainder_below_one_step_is_reported_as_dust_not_planned() {
    let plan = market_close(dec!(10.057), None).unwrap();
    assert_eq!(plan.planned(), qty(dec!(10.05)));
    assert_eq!(plan.dust, qty(dec!(0.007)));
    assert_eq!(plan.chunks.len(), 1);
}

#[test]
fn market_orders_are_capped_by_market_lot_size() {
    let plan = market_close(dec!(12000), None).unwrap();
    assert_eq!(plan.chunks, vec![qty(dec!(4000)); 3]);
    assert_eq!(plan.cap_source, CapSource::LotFilter);
}

#[test]
fn limit_orders_are_capped_by_lot_size_not_market_lot_size() {
    let plan = plan_chunks(
        qty(dec!(12000)),
        &sol(),
        OrderType::Limit,
        true,
        None,
        None,
        price(dec!(187.5)),
    )
    .unwrap();
    assert_eq!(plan.chunks, vec![qty(dec!(12000))]);
}

#[test]
fn the_tightest_of_lot_configured_and_learned_caps_wins() {
    let plan = plan_chunks(
        qty(dec!(3000)),
        &sol(),
        OrderType::Market,
        true,
        Some(ChunkCap::Notional(dec!(150000))),
        Some(qty(dec!(312.5))),
        price(dec!(187.5)),
    )
    .unwrap();
    assert_eq!(plan.effective_cap, qty(dec!(312.5)));
    assert_eq!(plan.cap_source, CapSource::Learned);
    assert_eq!(plan.chunks.len(), 10);
}

#[test]
fn a_notional_cap_is_converted_at_mark_and_floored_to_the_step() {
    let plan = market_close(dec!(100), Some(ChunkCap::Notional(dec!(1000)))).unwrap();
    // 1000 / 187.5 = 5.3333… → 5.33
    assert_eq!(plan.effective_cap, qty(dec!(5.33)));
    assert_eq!(plan.chunks.len(), 19);
}

#[test]
fn a_reduce_only_total_below_min_qty_is_all_dust() {
    let r = rules(dec!(1), dec!(1), dec!(5000), dec!(5));
    let plan = plan_chunks(
        qty(dec!(0.6)),
        &r,
        OrderType::Market,
        true,
        None,
        None,
        price(dec!(10)),
    )
    .unwrap();
    assert!(plan.chunks.is_empty());
    assert_eq!(plan.dust, qty(dec!(0.6)));
}

#[test]
fn an_open_below_min_qty_is_refused_with_the_filter_named() {
    let r = rules(dec!(1), dec!(1), dec!(5000), dec!(5));
    let err = plan_chunks(
        qty(dec!(0.6)),
        &r,
        OrderType::Market,
        false,
        None,
        None,
        price(dec!(10)),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("MARKET_LOT_SIZE.minQty 1"),
        "{err}"
    );
}

#[test]
fn an_open_below_min_notional_is_refused_with_the_numbers() {
    let err = plan_chunks(
        qty(dec!(0.02)),
        &sol(),
        OrderType::Market,
        false,
        None,
        None,
        price(dec!(187.5)),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "open of 0.02 is below MIN_NOTIONAL 5 at mark 187.5 (needs at least 0.03)"
    );
}

#[test]
fn a_cap_below_min_qty_is_an_error_naming_the_cap() {
    let r = rules(dec!(1), dec!(1), dec!(5000), dec!(5));
    let err = plan_chunks(
        qty(dec!(50)),
        &r,
        OrderType::Market,
        true,
        Some(ChunkCap::Qty(qty(dec!(0.5)))),
        None,
        price(dec!(10)),
    )
    .unwrap_err();
    assert!(matches!(
        err,
        PlanError::CapBelowMinQty {
            cap_from: CapSource::Configured,
            ..
        }
    ));
    assert!(err.to_string().contains("configured chunk cap"), "{err}");
}

#[test]
fn open_chunks_grow_to_meet_min_notional_and_closes_are_exempt() {
    // min notional 5 at mark 1 means 5 per chunk; a cap of 3 cannot hold that for opens.
    let r = rules(dec!(1), dec!(1), dec!(5000), dec!(5));
    let cap = Some(ChunkCap::Qty(qty(dec!(3))));
    let open = plan_chunks(
        qty(dec!(9)),
        &r,
        OrderType::Market,
        false,
        cap,
        None,
        price(dec!(1)),
    );
    assert!(matches!(open, Err(PlanError::MinNotionalAboveCap { .. })));
    let close = plan_chunks(
        qty(dec!(9)),
        &r,
        OrderType::Market,
        true,
        cap,
        None,
        price(dec!(1)),
    )
    .unwrap();
    assert_eq!(close.chunks, vec![qty(dec!(3)); 3]);
}

#[test]
fn an_open_whose_near_equal_chunks_would_fall_below_min_notional_is_refused() {
    // 11 at cap 10 is two chunks of 6/5; at mark 1 with MIN_NOTIONAL 6 the 5 cannot go.
    let r = rules(dec!(1), dec!(1), dec!(10), dec!(6));
    let err = plan_chunks(
        qty(dec!(11)),
        &r,
        OrderType::Market,
        false,
        None,
        None,
        price(dec!(1)),
    )
    .unwrap_err();
    assert!(matches!(err, PlanError::Unsplittable { .. }), "{err}");
}

#[test]
fn a_step_that_does_not_divide_the_total_floors_it() {
    let r = rules(dec!(0.25), dec!(0.25), dec!(1), dec!(0));
    let plan = plan_chunks(
        qty(dec!(2.9)),
        &r,
        OrderType::Market,
        true,
        None,
        None,
        price(dec!(1)),
    )
    .unwrap();
    assert_eq!(plan.planned(), qty(dec!(2.75)));
    assert_eq!(plan.dust, qty(dec!(0.15)));
    assert_eq!(plan.chunks.len(), 3);
}

#[test]
fn absurd_caps_are_refused_before_allocating_a_million_orders() {
    let err = market_close(dec!(5000), Some(ChunkCap::Qty(qty(dec!(0.01))))).unwrap_err();
    assert!(matches!(
        err,
        PlanError::TooManyChunks { chunks: 500000, .. }
    ));
}

#[test]
fn rules_without_a_step_are_refused() {
    let r = rules(dec!(1), dec!(0), dec!(10), dec!(5));
    let err = plan_chunks(
        qty(dec!(5)),
        &r,
        OrderType::Market,
        true,
        None,
        None,
        price(dec!(1)),
    );
    assert!(matches!(err, Err(PlanError::NoStep { .. })));
}

// ---- properties ----

/// Rules, total, caps and mark drawn so that every code path is reachable;
/// `notional_max` bounds MIN_NOTIONAL: a large one makes refusals common.
fn scenario(
    notional_max: u32,
) -> impl Strategy<Value = (SymbolRules, Qty, Option<ChunkCap>, Option<Qty>, Price, bool)> {
    let step = prop::sample::select(vec![
        dec!(1),
        dec!(0.1),
        dec!(0.01),
        dec!(0.001),
        dec!(0.25),
        dec!(5),
    ]);
    (
        step,
        1u64..5,
        prop_oneof![Just(0u64), 1u64..3000],
        0u64..200_000,
        0u32..1000,
        prop::option::of(1u64..5000),
        prop::option::of(1u64..5000),
        1u32..100_000,
        prop_oneof![Just(0u32), 1u32..notional_max],
        any::<bool>(),
    )
        .prop_map(
            |(step, min, max, total, frac, cap, learned, mark, notional, ro)| {
                let r = SymbolRules {
                    // Consistent rules: the precision allows every step multiple.
                    quantity_precision: step.normalize().scale(),
                    ..rules(
                        Decimal::from(min) * step,
                        step,
                        Decimal::from(max) * step,
                        Decimal::from(notional),
                    )
                };
                // A sub-step fraction: thousandths of one step.
                let total = Decimal::from(total) * step + Decimal::from(frac) * step / dec!(1000);
                let cap = cap.map(|c| ChunkCap::Qty(qty(Decimal::from(c) * step)));
                let learned = learned.map(|c| qty(Decimal::from(c) * step));
                let mark = price(Decimal::from(mark) / dec!(100));
                (r, qty(total), cap, learned, mark, ro)
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn every_plan_keeps_sum_bounds_alignment_minimal_count_and_near_equality(
        (r, total, cap, learned, mark, ro) in scenario(200)
    ) {
        let lot = r.market_lot_size.clone();
        let Ok(plan) = plan_chunks(total, &r, OrderType::Market, ro, cap, learned, mark) else {
            return Ok(());
        };
        let step = lot.step_size;
        let floored = (total.get() / step).floor() * step;
        if plan.chunks.is_empty() {
            // Only a reduce-only total below minQty yields nothing, and then it is all dust.
            prop_assert!(ro);
            prop_assert!(floored < lot.min_qty);
            prop_assert_eq!(plan.dust, total);
            return Ok(());
        }
        prop_assert_eq!(plan.planned().get(), floored);
        prop_assert_eq!(plan.dust.get(), total.get() - floored);
        prop_assert!(plan.dust.get() < step);
        let cap_steps = plan.effective_cap.get() / step;
        prop_assert!(cap_steps.fract().is_zero());
        for c in &plan.chunks {
            prop_assert!((c.get() % step).is_zero(), "{} off step {}", c, step);
            prop_assert!(c.get() >= lot.min_qty);
            prop_assert!(*c <= plan.effective_cap);
            if !lot.max_qty.is_zero() {
                prop_assert!(c.get() <= lot.max_qty);
            }
            if !ro {
                prop_assert!(c.get() * mark.get() >= r.min_notional);
            }
        }
        let steps_total = floored / step;
        let n = (steps_total / cap_steps).ceil();
        prop_assert_eq!(Decimal::from(plan.chunks.len()), n);
        let max = plan.chunks.iter().max().map(|q| q.get()).unwrap_or_default();
        let min = plan.chunks.iter().min().map(|q| q.get()).unwrap_or_default();
        prop_assert!(max - min <= step);
    }

    #[test]
    fn a_refused_plan_is_refused_for_a_reason_the_numbers_show(
        (r, total, cap, learned, mark, ro) in scenario(50_000)
    ) {
        let Err(err) = plan_chunks(total, &r, OrderType::Market, ro, cap, learned, mark) else {
            return Ok(());
        };
        let lot = &r.market_lot_size;
        match err {
            PlanError::CapBelowMinQty { cap, min_qty, .. } => prop_assert!(cap < min_qty),
            PlanError::BelowMinQty { total: t, min_qty, .. } => {
                prop_assert!(!ro);
                prop_assert!((t / lot.step_size).floor() * lot.step_size < min_qty);
            }
            PlanError::BelowMinNotional { total: t, min_qty, mark: m, min_notional } => {
                prop_assert!(!ro);
                prop_assert!((t / lot.step_size).floor() * lot.step_size < min_qty);
                prop_assert!(min_qty >= lot.min_qty);
                prop_assert!((min_qty - lot.step_size) * m < min_notional);
            }
            PlanError::MinNotionalAboveCap { min_qty, cap, .. } => {
                prop_assert!(!ro);
                prop_assert!(min_qty > cap);
            }
            PlanError::Unsplittable { total: t, min_chunk, cap, .. } => {
                let n = (t / cap).ceil();
                prop_assert!(n * min_chunk > t);
            }
            PlanError::TooManyChunks { chunks, .. } => prop_assert!(chunks > MAX_CHUNKS),
            other => prop_assert!(false, "unexpected error {other}"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(5000))]

    /// The integer core: either the fewest near-equal parts within bounds, or no split exists.
    #[test]
    fn split_steps_is_minimal_and_near_equal_or_provably_infeasible(
        extra in 0u64..100_000, lower in 1u64..200, cap_over in 0u64..400
    ) {
        // Draw lower <= cap <= ... and total >= lower directly (no rejection sampling).
        let cap = lower + cap_over;
        let total = lower + extra;
        let n = total.div_ceil(cap);
        match split_steps(total, lower, cap) {
            Ok(split) => {
                let parts = split.steps();
                prop_assert_eq!(parts.len() as u64, n);
                prop_assert_eq!(parts.iter().sum::<u64>(), total);
                let (lo, hi) = (parts.iter().min().copied(), parts.iter().max().copied());
                prop_assert!(lo >= Some(lower) && hi <= Some(cap));
                prop_assert!(hi.zip(lo).is_some_and(|(h, l)| h - l <= 1));
            }
            Err(Infeasible::BelowLower) => {
                // n parts cannot each reach `lower`; more parts need even more; fewer exceed cap.
                prop_assert!(n * lower > total);
                prop_assert!((n - 1) * cap < total);
            }
            Err(Infeasible::TooMany(k)) => prop_assert!(k > MAX_CHUNKS),
        }
    }
}

#[test]
fn a_quantity_precision_coarser_than_the_step_plans_in_whole_precision_units() {
    // Published stepSize 0.01 but quantityPrecision 0: the venue refuses 8486.84 (-1111).
    let r = SymbolRules {
        quantity_precision: 0,
        ..rules(dec!(0.01), dec!(0.01), dec!(400), dec!(0))
    };
    let mark = price(dec!(187.5));
    let plan = plan_chunks(
        qty(dec!(8486.84)),
        &r,
        OrderType::Market,
        true,
        None,
        None,
        mark,
    )
    .unwrap();
    assert!(
        plan.chunks.iter().all(|c| c.get().fract().is_zero()),
        "{:?}",
        plan.chunks
    );
    assert_eq!(plan.planned().get(), dec!(8486));
    assert_eq!(plan.dust.get(), dec!(0.84));
}
