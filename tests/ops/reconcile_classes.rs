//! The reconcile diff's classification edge cases: signed amounts across one-way and
//! hedge legs, sluice tagging, planned orders, duplicated trades and output order.

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use sluice::domain::{Direction, PositionSide, Side};
use sluice::ledger::OrderState;
use sluice::reconcile::{diff, Discrepancy, ExchangeSnapshot, LedgerSnapshot};
use sluice_testkit::ledger::{fill, reported, t};
use sluice_testkit::reconcile::*;

fn snapshot_with_long(q: Decimal) -> LedgerSnapshot {
    LedgerSnapshot {
        positions: vec![ledger_position(
            7,
            "SOLUSDT",
            PositionSide::Both,
            Direction::Long,
            q,
        )],
        ..Default::default()
    }
}

#[test]
fn a_one_way_long_against_an_exchange_short_is_one_size_mismatch_with_signed_amounts() {
    let l = snapshot_with_long(dec!(5));
    let ex = ExchangeSnapshot {
        positions: vec![reported(
            "SOLUSDT",
            PositionSide::Both,
            dec!(-3),
            dec!(150),
            t(1),
        )],
        ..Default::default()
    };
    let d = diff(&l, &ex, &is_sluice_id);
    assert_eq!(d.len(), 1, "{d:?}");
    match &d[0] {
        Discrepancy::SizeMismatch {
            ledger,
            exchange,
            position_id,
            ..
        } => {
            assert_eq!(
                (*ledger, *exchange, position_id.get()),
                (dec!(5), dec!(-3), 7)
            );
        }
        other => panic!("expected a size mismatch, got {other:?}"),
    }
}

#[test]
fn a_hedge_short_leg_reported_negative_matches_a_ledger_short() {
    let l = LedgerSnapshot {
        positions: vec![ledger_position(
            1,
            "ETHUSDT",
            PositionSide::Short,
            Direction::Short,
            dec!(2),
        )],
        ..Default::default()
    };
    let ex = ExchangeSnapshot {
        positions: vec![reported(
            "ETHUSDT",
            PositionSide::Short,
            dec!(-2),
            dec!(3000),
            t(1),
        )],
        ..Default::default()
    };
    assert!(diff(&l, &ex, &is_sluice_id).is_empty());
}

#[test]
fn an_unknown_position_is_sluice_tagged_only_when_an_order_on_its_leg_has_a_sluice_id() {
    let mut ex = ExchangeSnapshot {
        positions: vec![
            reported("SOLUSDT", PositionSide::Both, dec!(4), dec!(150), t(1)),
            reported("ETHUSDT", PositionSide::Both, dec!(1), dec!(3000), t(1)),
        ],
        ..Default::default()
    };
    ex.open_orders
        .push(open_order("slc7.0.1", 1, "SOLUSDT", PositionSide::Both));
    ex.open_orders
        .push(open_order("web_abc", 2, "ETHUSDT", PositionSide::Both));
    let tags: Vec<(String, bool)> = diff(&LedgerSnapshot::default(), &ex, &is_sluice_id)
        .iter()
        .filter_map(|d| match d {
            Discrepancy::PositionUnknownToLedger {
                symbol,
                sluice_tagged,
                ..
            } => Some((symbol.to_string(), *sluice_tagged)),
            _ => None,
        })
        .collect();
    assert_eq!(
        tags,
        vec![
            ("ETHUSDT".to_string(), false),
            ("SOLUSDT".to_string(), true)
        ]
    );
}

#[test]
fn a_planned_order_is_known_but_not_expected_on_the_exchange() {
    let l = LedgerSnapshot {
        orders: vec![ledger_order(
            1,
            "slo1.0.0",
            "SOLUSDT",
            PositionSide::Both,
            OrderState::Planned,
        )],
        ..Default::default()
    };
    assert!(diff(&l, &ExchangeSnapshot::default(), &is_sluice_id).is_empty());
    let ex = ExchangeSnapshot {
        open_orders: vec![open_order("slo1.0.0", 5, "SOLUSDT", PositionSide::Both)],
        ..Default::default()
    };
    assert!(
        diff(&l, &ex, &is_sluice_id).is_empty(),
        "a planned order that did arrive is not unknown"
    );
}

#[test]
fn a_trade_listed_twice_is_one_missing_fill_and_fills_come_first() {
    let l = snapshot_with_long(dec!(1));
    let trade = fill(
        "SOLUSDT",
        42,
        420,
        None,
        Side::Sell,
        PositionSide::Both,
        dec!(1),
        dec!(150),
    );
    let ex = ExchangeSnapshot {
        trades: vec![trade.clone(), trade],
        ..Default::default()
    };
    let kinds: Vec<&str> = diff(&l, &ex, &is_sluice_id)
        .iter()
        .map(Discrepancy::kind_name)
        .collect();
    assert_eq!(
        kinds,
        vec!["fill_missing_from_ledger", "position_missing_on_exchange"]
    );
}

#[test]
fn the_retirement_state_follows_the_exchanges_answer_and_never_guesses() {
    use sluice::domain::OrderStatus;
    use sluice::reconcile::{retirement, ExchangeOrderState as X};
    let known = |s| X::Known(s);
    assert_eq!(
        retirement(OrderState::New, known(OrderStatus::Canceled)),
        Ok(OrderState::Canceled)
    );
    assert_eq!(
        retirement(
            OrderState::PartiallyFilled,
            known(OrderStatus::ExpiredInMatch)
        ),
        Ok(OrderState::Expired)
    );
    assert_eq!(
        retirement(OrderState::Sent, X::NotFound),
        Ok(OrderState::Rejected)
    );
    assert_eq!(
        retirement(OrderState::Unknown, X::NotFound),
        Ok(OrderState::Rejected)
    );
    assert_eq!(
        retirement(OrderState::New, X::NotFound),
        Ok(OrderState::Expired)
    );
    assert!(
        retirement(OrderState::New, known(OrderStatus::Filled)).is_err(),
        "fills are missing"
    );
    assert!(
        retirement(OrderState::Sent, known(OrderStatus::New)).is_err(),
        "still live"
    );
    assert!(
        retirement(OrderState::New, X::Unresolved).is_err(),
        "never guessed"
    );
}
