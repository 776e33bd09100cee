//! PURE: compare a ledger snapshot with an exchange snapshot and classify every
//! difference. No I/O, no clock, no randomness.
//!
//! Invariants (proptested in `tests/ops/reconcile_diff.rs`):
//! - identical snapshots give no discrepancy;
//! - each difference is reported exactly once, with its class; nothing is invented;
//! - the output order is deterministic (kind, then symbol, then leg / id).
//!
//! Positions are keyed by (symbol, leg) and compared as signed amounts (long > 0), so
//! a ledger LONG against an exchange SHORT on a one-way leg is a size mismatch, never
//! two unrelated rows. Orders are keyed by clientOrderId; trades by (symbol, trade id);
//! protective (algo) orders by clientAlgoId (`super::protective`).

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::protective::{protective_differences, ExchangeAlgoState, LedgerProtective};
use super::snapshot::{
    signed_exchange_amount, ExchangeOrderState, ExchangeSnapshot, LedgerOrder, LedgerPosition,
    LedgerSnapshot,
};
use crate::domain::{Fill, PositionSide, Symbol};
use crate::domain::{OrderId, OrderState, PositionId};
use crate::exchange::{AlgoOrderReport, OrderReport};

/// One difference between the ledger and the exchange.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Discrepancy {
    /// The ledger holds an open position the exchange does not have.
    PositionMissingOnExchange {
        /// The ledger's position.
        position: LedgerPosition,
    },
    /// The exchange holds a position the ledger does not know. `sluice_tagged` when an
    /// order or trade on that leg carries a client order id sluice could have produced.
    PositionUnknownToLedger {
        /// The symbol.
        symbol: Symbol,
        /// The leg.
        position_side: PositionSide,
        /// Signed (long > 0).
        amount: Decimal,
        /// The exchange's entry price.
        entry_price: Decimal,
        /// An order or trade on the leg has a sluice client order id.
        sluice_tagged: bool,
    },
    /// Both hold the leg, with different signed amounts (long > 0).
    SizeMismatch {
        /// The symbol.
        symbol: Symbol,
        /// The leg.
        position_side: PositionSide,
        /// The ledger's position.
        position_id: PositionId,
        /// The ledger's signed amount.
        ledger: Decimal,
        /// The exchange's signed amount.
        exchange: Decimal,
        /// The exchange's entry price.
        exchange_entry_price: Decimal,
    },
    /// The ledger believes the order may be live; the exchange does not list it open.
    OrderMissingOnExchange {
        /// The symbol.
        symbol: Symbol,
        /// The ledger's order.
        order_id: OrderId,
        /// Its client order id.
        client_order_id: String,
        /// Its state in the ledger.
        status: OrderState,
        /// What the exchange said when asked by clientOrderId.
        exchange: ExchangeOrderState,
    },
    /// The exchange lists an open order the ledger does not hold as non-terminal.
    OrderUnknownToLedger {
        /// The exchange's order.
        order: OrderReport,
        /// Its client order id is one sluice could have produced.
        sluice_tagged: bool,
    },
    /// The exchange reports a trade the ledger has no fill for.
    FillMissingFromLedger {
        /// The exchange's trade.
        trade: Fill,
    },
    /// The venue holds an open algo order the ledger has no live protective row for
    /// (placed by hand, or a row lost). `sluice_tagged` when its clientAlgoId has the
    /// form sluice gives its own (`slp…`/`tpp…`).
    ProtectiveOnlyOnExchange {
        /// The exchange's algo order.
        order: AlgoOrderReport,
        /// Its clientAlgoId has sluice's form.
        sluice_tagged: bool,
    },
    /// A live protective row the venue does not list open (fired, cancelled or expired
    /// while sluice was away, or never placed), with the venue's answer by clientAlgoId.
    ProtectiveOnlyInLedger {
        /// The ledger's protective row.
        row: LedgerProtective,
        /// What the exchange said when asked by clientAlgoId.
        exchange: ExchangeAlgoState,
    },
}

impl Discrepancy {
    /// Stable short name (JSON `kind`, table column).
    pub fn kind_name(&self) -> &'static str {
        match self {
            Discrepancy::PositionMissingOnExchange { .. } => "position_missing_on_exchange",
            Discrepancy::PositionUnknownToLedger { .. } => "position_unknown_to_ledger",
            Discrepancy::SizeMismatch { .. } => "size_mismatch",
            Discrepancy::OrderMissingOnExchange { .. } => "order_missing_on_exchange",
            Discrepancy::OrderUnknownToLedger { .. } => "order_unknown_to_ledger",
            Discrepancy::FillMissingFromLedger { .. } => "fill_missing_from_ledger",
            Discrepancy::ProtectiveOnlyOnExchange { .. } => "protective_only_on_exchange",
            Discrepancy::ProtectiveOnlyInLedger { .. } => "protective_only_in_ledger",
        }
    }

    /// The symbol the difference is about.
    pub fn symbol(&self) -> &Symbol {
        match self {
            Discrepancy::PositionMissingOnExchange { position } => &position.symbol,
            Discrepancy::PositionUnknownToLedger { symbol, .. }
            | Discrepancy::SizeMismatch { symbol, .. }
            | Discrepancy::OrderMissingOnExchange { symbol, .. } => symbol,
            Discrepancy::OrderUnknownToLedger { order, .. } => &order.symbol,
            Discrepancy::FillMissingFromLedger { trade } => &trade.symbol,
            Discrepancy::ProtectiveOnlyOnExchange { order, .. } => &order.symbol,
            Discrepancy::ProtectiveOnlyInLedger { row, .. } => &row.symbol,
        }
    }

    /// Fills first: backfilling them may settle the position and order differences.
    fn rank(&self) -> u8 {
        match self {
            Discrepancy::FillMissingFromLedger { .. } => 0,
            Discrepancy::PositionMissingOnExchange { .. } => 1,
            Discrepancy::PositionUnknownToLedger { .. } => 2,
            Discrepancy::SizeMismatch { .. } => 3,
            Discrepancy::OrderMissingOnExchange { .. } => 4,
            Discrepancy::OrderUnknownToLedger { .. } => 5,
            Discrepancy::ProtectiveOnlyInLedger { .. } => 6,
            Discrepancy::ProtectiveOnlyOnExchange { .. } => 7,
        }
    }

    /// The key within a kind: leg for positions, client id for orders, trade id for fills.
    fn detail_key(&self) -> (String, i64) {
        match self {
            Discrepancy::PositionMissingOnExchange { position } => {
                (position.position_side.as_wire().to_string(), 0)
            }
            Discrepancy::PositionUnknownToLedger { position_side, .. }
            | Discrepancy::SizeMismatch { position_side, .. } => {
                (position_side.as_wire().to_string(), 0)
            }
            Discrepancy::OrderMissingOnExchange {
                client_order_id, ..
            } => (client_order_id.clone(), 0),
            Discrepancy::OrderUnknownToLedger { order, .. } => {
                (order.client_order_id.clone(), order.order_id)
            }
            Discrepancy::FillMissingFromLedger { trade } => (String::new(), trade.trade_id),
            Discrepancy::ProtectiveOnlyOnExchange { order, .. } => {
                (order.client_algo_id.clone(), order.algo_id)
            }
            Discrepancy::ProtectiveOnlyInLedger { row, .. } => (row.client_algo_id.clone(), row.id),
        }
    }

    fn sort_key(&self) -> (u8, Symbol, (String, i64)) {
        (self.rank(), self.symbol().clone(), self.detail_key())
    }
}

/// (symbol, wire leg): `PositionSide` has no `Ord`, its wire name does.
type Leg = (Symbol, &'static str);

fn leg(symbol: &Symbol, side: PositionSide) -> Leg {
    (symbol.clone(), side.as_wire())
}

/// Every difference between `ledger` and `exchange`, in a deterministic order.
/// `is_sluice_id` says whether a client order id is one sluice could have produced.
pub fn diff(
    ledger: &LedgerSnapshot,
    exchange: &ExchangeSnapshot,
    is_sluice_id: &dyn Fn(&str) -> bool,
) -> Vec<Discrepancy> {
    let tagged = tagged_legs(ledger, exchange, is_sluice_id);
    let mut out = position_differences(ledger, exchange, &tagged);
    out.extend(order_differences(ledger, exchange, is_sluice_id));
    out.extend(trade_differences(ledger, exchange));
    out.extend(protective_differences(
        &ledger.protective,
        exchange.open_algo_orders.as_deref(),
        &exchange.resolved_algo,
    ));
    out.sort_by_key(Discrepancy::sort_key);
    out
}

/// Legs on which some order or trade carries a sluice client order id.
fn tagged_legs(
    ledger: &LedgerSnapshot,
    exchange: &ExchangeSnapshot,
    is_sluice_id: &dyn Fn(&str) -> bool,
) -> BTreeSet<Leg> {
    let from_orders = exchange
        .open_orders
        .iter()
        .filter(|o| is_sluice_id(&o.client_order_id))
        .map(|o| leg(&o.symbol, o.position_side));
    let from_trades = exchange
        .trades
        .iter()
        .filter(|t| {
            t.client_order_id
                .as_ref()
                .is_some_and(|c| is_sluice_id(c.as_str()))
        })
        .map(|t| leg(&t.symbol, t.position_side));
    let from_ledger = ledger
        .orders
        .iter()
        .filter(|o| is_sluice_id(&o.client_order_id))
        .map(|o| leg(&o.symbol, o.position_side));
    from_orders.chain(from_trades).chain(from_ledger).collect()
}

/// The exchange's non-flat legs: (leg, signed amount, entry price). Summed per leg:
/// a venue reports one row per leg, but summing makes a duplicated row visible as a
/// size difference instead of silently keeping the last one.
fn exchange_legs(exchange: &ExchangeSnapshot) -> BTreeMap<Leg, (PositionSide, Decimal, Decimal)> {
    let mut theirs: BTreeMap<Leg, (PositionSide, Decimal, Decimal)> = BTreeMap::new();
    for p in &exchange.positions {
        let e = theirs.entry(leg(&p.symbol, p.position_side)).or_insert((
            p.position_side,
            Decimal::ZERO,
            Decimal::ZERO,
        ));
        e.1 += signed_exchange_amount(p);
        e.2 = p.entry_price;
    }
    theirs.retain(|_, (_, amount, _)| !amount.is_zero());
    theirs
}

fn position_differences(
    ledger: &LedgerSnapshot,
    exchange: &ExchangeSnapshot,
    tagged: &BTreeSet<Leg>,
) -> Vec<Discrepancy> {
    let ours: BTreeMap<Leg, &LedgerPosition> = ledger
        .positions
        .iter()
        .filter(|p| !p.quantity.is_zero())
        .map(|p| (leg(&p.symbol, p.position_side), p))
        .collect();
    let theirs = exchange_legs(exchange);

    let mut out = Vec::new();
    for (key, position) in &ours {
        match theirs.get(key) {
            None => out.push(Discrepancy::PositionMissingOnExchange {
                position: (*position).clone(),
            }),
            Some((_, amount, entry)) if *amount != position.signed_amount() => {
                out.push(Discrepancy::SizeMismatch {
                    symbol: position.symbol.clone(),
                    position_side: position.position_side,
                    position_id: position.position_id,
                    ledger: position.signed_amount(),
                    exchange: *amount,
                    exchange_entry_price: *entry,
                })
            }
            Some(_) => {}
        }
    }
    for (key, (side, amount, entry)) in &theirs {
        if !ours.contains_key(key) {
            out.push(Discrepancy::PositionUnknownToLedger {
                symbol: key.0.clone(),
                position_side: *side,
                amount: *amount,
                entry_price: *entry,
                sluice_tagged: tagged.contains(key),
            });
        }
    }
    out
}

fn order_differences(
    ledger: &LedgerSnapshot,
    exchange: &ExchangeSnapshot,
    is_sluice_id: &dyn Fn(&str) -> bool,
) -> Vec<Discrepancy> {
    let ours: BTreeMap<&str, &LedgerOrder> = ledger
        .orders
        .iter()
        .filter(|o| !o.status.is_terminal())
        .map(|o| (o.client_order_id.as_str(), o))
        .collect();
    let theirs: BTreeMap<&str, &OrderReport> = exchange
        .open_orders
        .iter()
        .map(|o| (o.client_order_id.as_str(), o))
        .collect();
    let missing = ours
        .values()
        .filter(|o| {
            o.expected_open_on_exchange() && !theirs.contains_key(o.client_order_id.as_str())
        })
        .map(|o| Discrepancy::OrderMissingOnExchange {
            symbol: o.symbol.clone(),
            order_id: o.order_id,
            client_order_id: o.client_order_id.clone(),
            status: o.status,
            exchange: exchange
                .resolved
                .get(&o.client_order_id)
                .copied()
                .unwrap_or_default(),
        });
    let unknown = theirs
        .iter()
        .filter(|(id, _)| !ours.contains_key(*id))
        .map(|(id, o)| Discrepancy::OrderUnknownToLedger {
            order: (*o).clone(),
            sluice_tagged: is_sluice_id(id),
        });
    missing.chain(unknown).collect()
}

fn trade_differences(ledger: &LedgerSnapshot, exchange: &ExchangeSnapshot) -> Vec<Discrepancy> {
    // A trade listed twice (overlapping pages) is still one missing fill.
    let mut seen = BTreeSet::new();
    exchange
        .trades
        .iter()
        .filter(|t| {
            let key = (t.symbol.clone(), t.trade_id);
            !ledger.known_trades.contains(&key) && seen.insert(key)
        })
        .map(|t| Discrepancy::FillMissingFromLedger { trade: t.clone() })
        .collect()
}
