//! The protective comparison's unit tests: one-sided in each direction, planned and
//! terminal rows ignored, the sluice id form, and what a ledger-only row may become.

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use rust_decimal_macros::dec;

use super::*;
use crate::domain::Side;
use crate::reconcile::Discrepancy;

fn sol() -> Symbol {
    Symbol::new("SOLUSDT").unwrap()
}

fn row(id: i64, client_algo_id: &str, state: Option<AlgoStatus>) -> LedgerProtective {
    LedgerProtective {
        id,
        position_id: PositionId(7),
        symbol: sol(),
        position_side: PositionSide::Both,
        kind: ProtectionKind::StopLoss,
        client_algo_id: client_algo_id.to_string(),
        state,
    }
}

fn algo(client_algo_id: &str, status: AlgoStatus) -> AlgoOrderReport {
    AlgoOrderReport {
        symbol: sol(),
        algo_id: 1,
        client_algo_id: client_algo_id.to_string(),
        kind: Some(ProtectionKind::StopLoss),
        side: Side::Buy,
        position_side: PositionSide::Both,
        status,
        trigger_price: dec!(190),
        working_type: None,
        close_position: true,
        quantity: dec!(0),
        actual_order_id: None,
        reject_reason: None,
        update_time: Utc.timestamp_opt(1_700_000_000, 0).unwrap(),
    }
}

#[test]
fn the_same_orders_on_both_sides_are_no_difference() {
    let ledger = [row(1, "slp7g1", Some(AlgoStatus::New))];
    let venue = [algo("slp7g1", AlgoStatus::New)];
    let sides = one_sided(&ledger, &venue);
    assert!(sides.exchange_only.is_empty() && sides.ledger_only.is_empty());
}

#[test]
fn an_order_only_the_venue_holds_is_exchange_only_once() {
    let venue = [
        algo("by-hand", AlgoStatus::New),
        algo("by-hand", AlgoStatus::New),
    ];
    let sides = one_sided(&[], &venue);
    let ids: Vec<&str> = sides
        .exchange_only
        .iter()
        .map(|a| a.client_algo_id.as_str())
        .collect();
    assert_eq!(ids, ["by-hand"]);
    assert!(sides.ledger_only.is_empty());
}

#[test]
fn a_sent_live_row_the_venue_does_not_list_is_ledger_only() {
    let ledger = [
        row(1, "slp7g1", Some(AlgoStatus::New)),
        row(2, "tpp7g1", Some(AlgoStatus::Triggered)),
    ];
    let venue = [algo("slp7g1", AlgoStatus::New)];
    let sides = one_sided(&ledger, &venue);
    assert_eq!(sides.ledger_only, vec![&ledger[1]]);
    assert!(sides.exchange_only.is_empty());
}

#[test]
fn planned_and_terminal_rows_are_not_expected_at_the_venue() {
    let ledger = [
        row(1, "slp7g1", None),
        row(2, "slp7g2", Some(AlgoStatus::Canceled)),
    ];
    let sides = one_sided(&ledger, &[]);
    assert!(sides.ledger_only.is_empty());
}

#[test]
fn an_open_order_whose_row_is_terminal_in_the_ledger_is_exchange_only() {
    let ledger = [row(1, "slp7g1", Some(AlgoStatus::Canceled))];
    let venue = [algo("slp7g1", AlgoStatus::New)];
    assert_eq!(one_sided(&ledger, &venue).exchange_only, vec![&venue[0]]);
}

#[test]
fn sluice_ids_name_their_kind_position_and_generation_and_others_do_not() {
    assert_eq!(
        sluice_algo_id("slp12g3"),
        Some((ProtectionKind::StopLoss, PositionId(12), 3))
    );
    assert_eq!(
        sluice_algo_id("tpp4g1"),
        Some((ProtectionKind::TakeProfit, PositionId(4), 1))
    );
    for other in [
        "slp12", "slpg1", "slp1g", "slp1g0", "xslp1g1", "slp1g1x", "by-hand", "",
    ] {
        assert_eq!(sluice_algo_id(other), None, "{other}");
    }
}

#[test]
fn only_a_sluice_id_of_the_matching_kind_is_adopted() {
    assert_eq!(
        adoption(&algo("slp7g2", AlgoStatus::New)),
        Ok((ProtectionKind::StopLoss, PositionId(7), 2))
    );
    assert!(
        adoption(&algo("tpp7g2", AlgoStatus::New)).is_err(),
        "a STOP_MARKET named tpp"
    );
    assert!(adoption(&algo("by-hand", AlgoStatus::New)).is_err());
}

#[test]
fn only_a_terminal_state_the_venue_reported_is_stored() {
    let canceled = ExchangeAlgoState::Known(algo("slp7g1", AlgoStatus::Canceled));
    assert_eq!(
        settlement(&canceled).map(|r| r.status),
        Ok(AlgoStatus::Canceled)
    );
    let live = ExchangeAlgoState::Known(algo("slp7g1", AlgoStatus::New));
    for unsure in [
        live,
        ExchangeAlgoState::NotFound,
        ExchangeAlgoState::Unresolved,
    ] {
        assert!(settlement(&unsure).is_err(), "{unsure:?}");
    }
}

#[test]
fn the_findings_carry_the_venues_answer_and_whether_the_id_is_sluices() {
    let ledger = [row(1, "slp7g1", Some(AlgoStatus::New))];
    let venue = [algo("tpp9g2", AlgoStatus::New)];
    let answer = ExchangeAlgoState::Known(algo("slp7g1", AlgoStatus::Expired));
    let resolved = BTreeMap::from([("slp7g1".to_string(), answer.clone())]);
    let found = protective_differences(&ledger, Some(&venue), &resolved);
    assert_eq!(
        found,
        vec![
            Discrepancy::ProtectiveOnlyOnExchange {
                order: venue[0].clone(),
                sluice_tagged: true
            },
            Discrepancy::ProtectiveOnlyInLedger {
                row: ledger[0].clone(),
                exchange: answer
            },
        ]
    );
    assert!(protective_differences(&ledger, None, &resolved).is_empty());
}
