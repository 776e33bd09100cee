//! `doctor`'s position audit: positions against their fills, the exchange's last
//! report and the budget (seed 002's phantom after a close, a position a close fill
//! created, a quantity its fills do not explain, drift, a negative budget).
//!
//! Pure: built from ledger rows, no I/O. Findings come in a stable order and a position
//! is flagged by the first rule that catches it; only an open position gets a planned
//! repair (re-opening a closed one is a human decision).

use chrono::Duration;
use rust_decimal::Decimal;

use super::{Finding, FindingClass, PlannedRepair};
use crate::domain::{two_decimals, Direction, PositionSide};
use crate::ledger::{
    Budget, ExchangePositionRow, Origin, PositionAudit, PositionId, PositionRow, PositionStatus,
};

/// How close (in time) a phantom's opening is to the close it mirrors (seed 002: < 3 s).
const PHANTOM_WINDOW_SECONDS: i64 = 3;

/// The pure audit: every finding, in a stable order.
pub(crate) fn diagnose(
    audits: &[PositionAudit],
    exchange: &[ExchangePositionRow],
    budget: &Budget,
) -> Vec<Finding> {
    let mut findings = phantoms(audits);
    findings.extend(created_by_close(audits, &findings));
    findings.extend(fills_mismatches(audits, &findings));
    findings.extend(drift(audits, exchange));
    if budget.available.get() < Decimal::ZERO {
        findings.push(Finding {
            intents: Vec::new(),
            class: FindingClass::NegativeBudget,
            positions: audits
                .iter()
                .filter(|a| is_open(&a.position))
                .map(|a| a.position.id)
                .collect(),
            detail: format!(
                "available ${} = allocation ${} - used ${} - reserved ${}",
                two_decimals(budget.available.get()),
                two_decimals(budget.allocation.get()),
                two_decimals(budget.used.get()),
                two_decimals(budget.reserved.get())
            ),
            repair: None,
        });
    }
    findings
}

fn is_open(p: &PositionRow) -> bool {
    p.status == PositionStatus::Open
}

fn close_repair(p: &PositionRow) -> Option<PlannedRepair> {
    Some(PlannedRepair {
        position_id: p.id,
        quantity: Decimal::ZERO,
        close: true,
    })
}

fn phantoms(audits: &[PositionAudit]) -> Vec<Finding> {
    let window = Duration::seconds(PHANTOM_WINDOW_SECONDS);
    let mut out = Vec::new();
    for suspect in audits.iter().map(|a| &a.position).filter(|p| is_open(p)) {
        let mirrored = audits.iter().map(|a| &a.position).find(|closed| {
            closed.status == PositionStatus::Closed
                && closed.venue == suspect.venue
                && closed.symbol == suspect.symbol
                && closed.direction != suspect.direction
                && closed
                    .closed_at
                    .is_some_and(|at| (suspect.opened_at - at).abs() < window)
                && closed.exit_price == Some(suspect.entry_price)
                && closed.opened_quantity == suspect.opened_quantity
        });
        if let Some(closed) = mirrored {
            out.push(Finding {
 intents: Vec::new(),
                class: FindingClass::PhantomAfterClose,
                positions: vec![suspect.id, closed.id],
                detail: format!(
                    "open {:?} #{} {} {} @ {} mirrors the close of {:?} #{} (same size, its exit price, within {PHANTOM_WINDOW_SECONDS}s)",
                    suspect.direction, suspect.id, suspect.symbol, suspect.opened_quantity, suspect.entry_price,
                    closed.direction, closed.id
                ),
                repair: close_repair(suspect),
            });
        }
    }
    out
}

fn already_flagged(found: &[Finding], id: PositionId) -> bool {
    found.iter().any(|f| f.positions.first() == Some(&id))
}

fn created_by_close(audits: &[PositionAudit], found: &[Finding]) -> Vec<Finding> {
    audits
        .iter()
        .filter(|a| {
            a.position.origin == Origin::Sluice && a.open_fill_count == 0 && a.close_fill_count > 0
        })
        .filter(|a| !already_flagged(found, a.position.id))
        .map(|a| Finding {
            intents: Vec::new(),
            class: FindingClass::CreatedByCloseFill,
            positions: vec![a.position.id],
            detail: format!(
                "{:?} #{} {} has {} close fill(s) and no open fill",
                a.position.direction, a.position.id, a.position.symbol, a.close_fill_count
            ),
            repair: if is_open(&a.position) {
                close_repair(&a.position)
            } else {
                None
            },
        })
        .collect()
}

fn fills_mismatches(audits: &[PositionAudit], found: &[Finding]) -> Vec<Finding> {
    audits
        .iter()
        .filter(|a| a.expected_quantity() != a.position.quantity.get())
        .filter(|a| !already_flagged(found, a.position.id))
        .map(|a| {
            let expected = a.expected_quantity();
            // Only an open position is corrected: re-opening a closed one is a human decision.
            let repair =
                (is_open(&a.position) && expected >= Decimal::ZERO).then(|| PlannedRepair {
                    position_id: a.position.id,
                    quantity: expected,
                    close: expected.is_zero(),
                });
            Finding {
                intents: Vec::new(),
                class: FindingClass::FillsMismatch,
                positions: vec![a.position.id],
                detail: format!(
                    "{:?} #{} {}: quantity {} but adopted {} + open fills {} - close fills {} = {}",
                    a.position.direction,
                    a.position.id,
                    a.position.symbol,
                    a.position.quantity,
                    a.position.initial_quantity,
                    a.open_fills_quantity,
                    a.close_fills_quantity,
                    expected
                ),
                repair,
            }
        })
        .collect()
}

/// The ledger's signed open amount on a leg, in the exchange's convention.
fn ledger_amount(audits: &[PositionAudit], e: &ExchangePositionRow) -> (Decimal, Vec<PositionId>) {
    let on_leg = audits.iter().map(|a| &a.position).filter(|p| {
        is_open(p)
            && p.venue == e.venue
            && p.symbol == e.symbol
            && p.position_side == e.position_side
    });
    let mut ids = Vec::new();
    let mut amount = Decimal::ZERO;
    for p in on_leg {
        ids.push(p.id);
        amount += match p.direction {
            Direction::Long => p.quantity.get(),
            Direction::Short => -p.quantity.get(),
        };
    }
    (amount, ids)
}

fn drift(audits: &[PositionAudit], exchange: &[ExchangePositionRow]) -> Vec<Finding> {
    exchange
        .iter()
        .filter_map(|e| {
            let (ours, ids) = ledger_amount(audits, e);
            // Hedge legs: Binance reports SHORT amounts negative; accept either sign.
            let theirs = match e.position_side {
                PositionSide::Both => e.amount,
                PositionSide::Long => e.amount.abs(),
                PositionSide::Short => -e.amount.abs(),
            };
            (ours != theirs).then(|| Finding {
                intents: Vec::new(),
                class: FindingClass::ExchangeDrift,
                positions: ids,
                detail: format!(
                    "{} {} {}: ledger {} vs exchange {} (as of {})",
                    e.venue,
                    e.symbol,
                    e.position_side.as_wire(),
                    ours,
                    theirs,
                    e.event_time.to_rfc3339()
                ),
                repair: None,
            })
        })
        .collect()
}
