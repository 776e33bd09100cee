//! The pure pieces together, on seed 000: a hidden cap found by -4005, learned, and the
//! unfilled remainder re-planned under it with fresh, non-colliding client ids.

use std::collections::HashSet;

use rust_decimal_macros::dec;

use crate::domain::{Direction, IntentKind, OrderType, PositionMode, Qty, Symbol};
use crate::exchange::{ErrorClass, ExchangeError};
use crate::router::core::caps::CapBook;
use crate::router::core::escalation::{next_action, Action, EscalationPolicy, FailedOrder};
use crate::router::core::scheduler::RiskClass;
use crate::router::fixtures::{price, qty, sol};
use crate::router::{plan_chunks, to_orders, IntentRef, OrderTemplate};

const POLICY: EscalationPolicy = EscalationPolicy {
    max_open_attempts: 3,
    max_clock_resyncs: 2,
    max_rule_reloads: 1,
    limit_ioc_fallback: false,
    fallback_after: 5,
};

#[test]
fn a_hidden_cap_is_learned_and_only_the_remainder_is_replanned() {
    let rules = sol();
    let mark = price(dec!(187.5));
    let symbol = Symbol::new("SOLUSDT").unwrap();
    let mut caps = CapBook::new(3_600_000);
    let mut template = OrderTemplate {
        kind: IntentKind::Close,
        intent: IntentRef::Seq(1),
        direction: Direction::Short,
        mode: PositionMode::OneWay,
        order_type: OrderType::Market,
        limit: None,
        first_chunk: 0,
        attempt: 0,
    };
    let plan = |total: Qty, learned| {
        plan_chunks(total, &rules, OrderType::Market, true, None, learned, mark).unwrap()
    };

    // Published MARKET cap 5000: two chunks of 4243.42.
    let first = plan(qty(dec!(8486.84)), caps.cap(&symbol, 0));
    let sent = to_orders(&first, &rules, &template, mark).unwrap();
    assert_eq!(sent.len(), 2);

    // The exchange refuses the first with -4005 although 4243.42 < 5000 (seed 000).
    let err = ExchangeError::new(
        ErrorClass::ShrinkChunk,
        Some(400),
        Some(-4005),
        "Quantity greater than max quantity.",
    );
    let failed = FailedOrder {
        class: RiskClass::Reducing,
        order_type: OrderType::Market,
        failures: 1,
    };
    assert_eq!(next_action(&failed, &err, &POLICY), Action::ShrinkAndReplan);
    let change = caps
        .on_max_qty_rejected(&symbol, first.chunks[0], &rules.market_lot_size, 1_000)
        .unwrap();
    assert_eq!(change.cap.learned_market_max_qty, qty(dec!(2121.71)));

    // Nothing filled: the whole remainder is re-planned under the learned cap, numbering on.
    let second = plan(qty(dec!(8486.84)), caps.cap(&symbol, 1_001));
    assert_eq!(second.chunks.len(), 4);
    template.first_chunk = u32::try_from(sent.len()).unwrap();
    let resent = to_orders(&second, &rules, &template, mark).unwrap();
    let ids: HashSet<String> = sent
        .iter()
        .chain(resent.iter())
        .map(|o| o.inner().client_order_id.to_string())
        .collect();
    assert_eq!(ids.len(), 6, "no two chunks of an intent share an id");
    let total = resent.iter().fold(Qty::ZERO, |a, o| a + o.inner().quantity);
    assert_eq!(total, qty(dec!(8486.84)));
}
