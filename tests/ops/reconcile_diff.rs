//! The pure reconcile diff's properties: identical snapshots agree; every injected
//! difference is reported exactly once with its class; nothing is invented; input
//! order does not matter. Edge cases of the classes are in `reconcile_classes.rs`.

use std::collections::BTreeSet;

use proptest::prelude::*;
use proptest::sample::Index;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use sluice::domain::{Direction, PositionSide, Side};
use sluice::ledger::OrderState;
use sluice::reconcile::{diff, Discrepancy, ExchangeSnapshot, LedgerSnapshot};
use sluice_testkit::ledger::{fill, reported, sym, t};
use sluice_testkit::reconcile::*;

const SYMBOLS: [&str; 3] = ["BTCUSDT", "ETHUSDT", "SOLUSDT"];
const LEGS: [PositionSide; 3] = [PositionSide::Both, PositionSide::Long, PositionSide::Short];
const LIVE: [OrderState; 5] = [
    OrderState::Planned,
    OrderState::Sent,
    OrderState::New,
    OrderState::PartiallyFilled,
    OrderState::Unknown,
];

/// Exchange view of a ledger: the same positions, the orders it expects open, its trades.
fn mirror(l: &LedgerSnapshot) -> ExchangeSnapshot {
    let positions = l
        .positions
        .iter()
        .map(|p| {
            reported(
                p.symbol.as_str(),
                p.position_side,
                p.signed_amount(),
                dec!(100),
                t(1),
            )
        })
        .collect();
    let open_orders = l
        .orders
        .iter()
        .filter(|o| o.expected_open_on_exchange())
        .enumerate()
        .map(|(i, o)| {
            open_order(
                &o.client_order_id,
                1000 + i as i64,
                o.symbol.as_str(),
                o.position_side,
            )
        })
        .collect();
    let trades = l
        .known_trades
        .iter()
        .map(|(s, id)| {
            fill(
                s.as_str(),
                *id,
                id * 10,
                None,
                Side::Buy,
                PositionSide::Both,
                dec!(1),
                dec!(100),
            )
        })
        .collect();
    ExchangeSnapshot {
        positions,
        open_orders,
        trades,
        ..Default::default()
    }
}

fn ledger_strategy() -> impl Strategy<Value = LedgerSnapshot> {
    let legs = proptest::sample::subsequence((0..9usize).collect::<Vec<_>>(), 0..=9);
    let positions = (
        legs,
        prop::collection::vec((any::<bool>(), 1i64..1_000_000), 9),
    );
    let orders = prop::collection::vec((0..3usize, 0..3usize, 0..5usize), 0..8);
    let trades = prop::collection::btree_set((0..3usize, 1i64..500), 0..12);
    (positions, orders, trades).prop_map(|((legs, sizes), orders, trades)| {
        let positions = legs
            .iter()
            .map(|&k| {
                let (leg, (long, units)) = (LEGS[k % 3], sizes[k]);
                let dir = match leg {
                    PositionSide::Long => Direction::Long,
                    PositionSide::Short => Direction::Short,
                    PositionSide::Both if long => Direction::Long,
                    PositionSide::Both => Direction::Short,
                };
                ledger_position(
                    k as i64 + 1,
                    SYMBOLS[k / 3],
                    leg,
                    dir,
                    Decimal::new(units, 3),
                )
            })
            .collect();
        let orders = orders
            .iter()
            .enumerate()
            .map(|(i, &(s, l, st))| {
                ledger_order(
                    i as i64 + 1,
                    &format!("slo{i}.0.0"),
                    SYMBOLS[s],
                    LEGS[l],
                    LIVE[st],
                )
            })
            .collect();
        let known_trades = trades
            .iter()
            .map(|&(s, id)| (sym(SYMBOLS[s]), id))
            .collect();
        LedgerSnapshot {
            positions,
            orders,
            known_trades,
            ..Default::default()
        }
    })
}

#[derive(Clone, Debug)]
enum Injection {
    DropPosition(Index),
    ResizePosition(Index, i64),
    UnknownPosition(Index, i64),
    DropOrder(Index),
    UnknownOrder(bool),
    MissingTrade(Index),
}

fn injection() -> impl Strategy<Value = Injection> {
    prop_oneof![
        any::<Index>().prop_map(Injection::DropPosition),
        (any::<Index>(), prop_oneof![-5000i64..-1, 1i64..5000])
            .prop_map(|(i, d)| Injection::ResizePosition(i, d)),
        (any::<Index>(), prop_oneof![-5000i64..-1, 1i64..5000])
            .prop_map(|(i, a)| Injection::UnknownPosition(i, a)),
        any::<Index>().prop_map(Injection::DropOrder),
        any::<bool>().prop_map(Injection::UnknownOrder),
        any::<Index>().prop_map(Injection::MissingTrade),
    ]
}

/// (kind, symbol, key, flag): what identifies one reported difference.
type Key = (String, String, String, bool);

fn key_of(d: &Discrepancy) -> Key {
    let (k, s) = (d.kind_name().to_string(), d.symbol().to_string());
    match d {
        Discrepancy::PositionMissingOnExchange { position } => {
            (k, s, position.position_side.as_wire().into(), false)
        }
        Discrepancy::SizeMismatch { position_side, .. } => {
            (k, s, position_side.as_wire().into(), false)
        }
        Discrepancy::PositionUnknownToLedger {
            position_side,
            sluice_tagged,
            ..
        } => (k, s, position_side.as_wire().into(), *sluice_tagged),
        Discrepancy::OrderMissingOnExchange {
            client_order_id, ..
        } => (k, s, client_order_id.clone(), false),
        Discrepancy::OrderUnknownToLedger {
            order,
            sluice_tagged,
        } => (k, s, order.client_order_id.clone(), *sluice_tagged),
        Discrepancy::FillMissingFromLedger { trade } => (k, s, trade.trade_id.to_string(), false),
        Discrepancy::ProtectiveOnlyOnExchange {
            order,
            sluice_tagged,
        } => (k, s, order.client_algo_id.clone(), *sluice_tagged),
        Discrepancy::ProtectiveOnlyInLedger { row, .. } => {
            (k, s, row.client_algo_id.clone(), false)
        }
    }
}

/// Apply the injections to `ex`; return what the diff must report. Each ledger
/// position and order is touched at most once so every injection is one difference.
fn inject(l: &LedgerSnapshot, ex: &mut ExchangeSnapshot, injections: &[Injection]) -> Vec<Key> {
    let mut expected = Vec::new();
    let mut touched_pos = BTreeSet::new();
    for (n, inj) in injections.iter().enumerate() {
        match inj {
            Injection::DropPosition(i) | Injection::ResizePosition(i, _)
                if !l.positions.is_empty() =>
            {
                let p = &l.positions[i.index(l.positions.len())];
                if !touched_pos.insert(p.position_id) {
                    continue;
                }
                let at = ex
                    .positions
                    .iter()
                    .position(|e| e.symbol == p.symbol && e.position_side == p.position_side)
                    .expect("mirrored");
                let leg = p.position_side.as_wire().to_string();
                if let Injection::ResizePosition(_, delta) = inj {
                    ex.positions[at].amount += Decimal::new(*delta, 3);
                    let kind = if ex.positions[at].amount.is_zero() {
                        "position_missing_on_exchange"
                    } else {
                        "size_mismatch"
                    };
                    expected.push((kind.into(), p.symbol.to_string(), leg, false));
                } else {
                    ex.positions.remove(at);
                    expected.push((
                        "position_missing_on_exchange".into(),
                        p.symbol.to_string(),
                        leg,
                        false,
                    ));
                }
            }
            Injection::UnknownPosition(i, units) => {
                let leg = LEGS[i.index(3)];
                let symbol = format!("NEW{n}USDT");
                ex.positions.push(reported(
                    &symbol,
                    leg,
                    Decimal::new(*units, 3),
                    dec!(50),
                    t(2),
                ));
                expected.push((
                    "position_unknown_to_ledger".into(),
                    symbol,
                    leg.as_wire().into(),
                    false,
                ));
            }
            Injection::DropOrder(i) => {
                // Only orders the ledger knows: dropping an injected unknown one undoes it.
                let mirrored: Vec<usize> = (0..ex.open_orders.len())
                    .filter(|&k| {
                        l.orders
                            .iter()
                            .any(|o| o.client_order_id == ex.open_orders[k].client_order_id)
                    })
                    .collect();
                if mirrored.is_empty() {
                    continue;
                }
                let o = ex.open_orders.remove(mirrored[i.index(mirrored.len())]);
                expected.push((
                    "order_missing_on_exchange".into(),
                    o.symbol.to_string(),
                    o.client_order_id,
                    false,
                ));
            }
            Injection::UnknownOrder(tagged) => {
                let coid = if *tagged {
                    format!("slx{n}.0.0")
                } else {
                    format!("web_{n}")
                };
                let symbol = format!("ORD{n}USDT");
                ex.open_orders.push(open_order(
                    &coid,
                    9000 + n as i64,
                    &symbol,
                    PositionSide::Both,
                ));
                expected.push(("order_unknown_to_ledger".into(), symbol, coid, *tagged));
            }
            Injection::MissingTrade(i) => {
                let s = SYMBOLS[i.index(3)];
                let id = 100_000 + n as i64;
                ex.trades.push(fill(
                    s,
                    id,
                    id,
                    None,
                    Side::Sell,
                    PositionSide::Both,
                    dec!(2),
                    dec!(99),
                ));
                expected.push((
                    "fill_missing_from_ledger".into(),
                    s.into(),
                    id.to_string(),
                    false,
                ));
            }
            _ => {}
        }
    }
    expected.sort();
    expected
}

proptest! {
    #[test]
    fn a_diff_of_identical_snapshots_is_empty(l in ledger_strategy()) {
        let ex = mirror(&l);
        prop_assert_eq!(diff(&l, &ex, &is_sluice_id), vec![]);
    }

    #[test]
    fn every_injected_difference_is_reported_once_with_its_class_and_nothing_else(
        l in ledger_strategy(),
        injections in prop::collection::vec(injection(), 0..10),
    ) {
        let mut ex = mirror(&l);
        let expected = inject(&l, &mut ex, &injections);
        let mut got: Vec<Key> = diff(&l, &ex, &is_sluice_id).iter().map(key_of).collect();
        got.sort();
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn the_diff_does_not_depend_on_the_order_of_its_inputs(
        l in ledger_strategy(),
        injections in prop::collection::vec(injection(), 0..10),
    ) {
        let mut ex = mirror(&l);
        inject(&l, &mut ex, &injections);
        let forward = diff(&l, &ex, &is_sluice_id);
        let (mut l2, mut ex2) = (l.clone(), ex.clone());
        l2.positions.reverse();
        l2.orders.reverse();
        ex2.positions.reverse();
        ex2.open_orders.reverse();
        ex2.trades.reverse();
        prop_assert_eq!(diff(&l2, &ex2, &is_sluice_id), forward);
    }
}
