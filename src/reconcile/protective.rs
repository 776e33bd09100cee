//! PURE: protective (algo) orders held on one side only. The venue's open algo orders
//! (`GET /fapi/v1/openAlgoOrders`) against the ledger's live `protective_orders` rows
//! that were sent (a `planned` row was never handed to the venue, so its absence there
//! is no difference). Used by `sluice reconcile` (through [`super::diff`]) and by the
//! daemon's minute-by-minute comparison (`router::executor::protect`), so both say the
//! same thing about the same two lists. No I/O, no clock.
//!
//! Invariants: keyed by clientAlgoId; each one-sided order is reported exactly once;
//! the output keeps the input order (the caller sorts); a ledger-only row is never
//! given a state the venue did not report ([`settlement`]); a venue-only order is
//! adopted only when its clientAlgoId is of sluice's form and names a position
//! ([`adoption`]), otherwise left to an operator (reconcile never trades).

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::domain::{PositionSide, ProtectionKind, Symbol};
use crate::exchange::{AlgoOrderReport, AlgoStatus};
use crate::ledger::protective::ProtectiveRow;
use crate::ledger::PositionId;

/// One live protective row of the ledger, as reconcile compares it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerProtective {
    /// `protective_orders.id`.
    pub id: i64,
    /// The position it protects.
    pub position_id: PositionId,
    /// The symbol.
    pub symbol: Symbol,
    /// The leg.
    pub position_side: PositionSide,
    /// Stop-loss or take-profit.
    pub kind: ProtectionKind,
    /// The clientAlgoId it was (or will be) placed with.
    pub client_algo_id: String,
    /// None while `planned` (never sent).
    pub state: Option<AlgoStatus>,
}

impl LedgerProtective {
    /// Should the venue list it open? Sent (not planned) and live.
    pub fn expected_open_on_exchange(&self) -> bool {
        self.state.is_some_and(AlgoStatus::is_live)
    }
}

impl From<&ProtectiveRow> for LedgerProtective {
    fn from(r: &ProtectiveRow) -> Self {
        LedgerProtective {
            id: r.id,
            position_id: r.position_id,
            symbol: r.symbol.clone(),
            position_side: r.position_side,
            kind: r.kind,
            client_algo_id: r.client_algo_id.clone(),
            state: r.state,
        }
    }
}

/// What the venue said when a ledger-only row was looked up by clientAlgoId.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", content = "order", rename_all = "snake_case")]
pub enum ExchangeAlgoState {
    /// Not asked (or the question failed).
    #[default]
    Unresolved,
    /// The venue knows it and reports this.
    Known(AlgoOrderReport),
    /// The venue has no record of this clientAlgoId.
    NotFound,
}

/// The two one-sided lists: venue orders the ledger does not hold live, and live sent
/// ledger rows the venue does not list.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct OneSided<'a> {
    pub exchange_only: Vec<&'a AlgoOrderReport>,
    pub(crate) ledger_only: Vec<&'a LedgerProtective>,
}

/// Compare `venue` (its open algo orders) with `ledger` (live rows; planned and
/// terminal rows are ignored here).
pub(crate) fn one_sided<'a>(
    ledger: &'a [LedgerProtective],
    venue: &'a [AlgoOrderReport],
) -> OneSided<'a> {
    let sent: Vec<&LedgerProtective> = ledger
        .iter()
        .filter(|r| r.expected_open_on_exchange())
        .collect();
    let known: HashSet<&str> = sent.iter().map(|r| r.client_algo_id.as_str()).collect();
    let listed: HashSet<&str> = venue.iter().map(|a| a.client_algo_id.as_str()).collect();
    let mut seen = HashSet::new();
    OneSided {
        exchange_only: venue
            .iter()
            .filter(|a| !known.contains(a.client_algo_id.as_str()))
            .filter(|a| seen.insert(a.client_algo_id.as_str()))
            .collect(),
        ledger_only: sent
            .into_iter()
            .filter(|r| !listed.contains(r.client_algo_id.as_str()))
            .collect(),
    }
}

/// Is `id` of the form sluice gives its protective orders (`slp<position>g<generation>`,
/// `tpp…`)? Its kind, position and generation, when so.
pub(crate) fn sluice_algo_id(id: &str) -> Option<(ProtectionKind, PositionId, i32)> {
    let (kind, rest) = if let Some(rest) = id.strip_prefix("slp") {
        (ProtectionKind::StopLoss, rest)
    } else {
        (ProtectionKind::TakeProfit, id.strip_prefix("tpp")?)
    };
    let (position, generation) = rest.split_once('g')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(position) || !digits(generation) {
        return None;
    }
    let generation: i32 = generation.parse().ok().filter(|g| *g >= 1)?;
    Some((kind, PositionId(position.parse().ok()?), generation))
}

/// What reconcile may do about a venue-only algo order: adopt it as a row of the
/// position its clientAlgoId names (kind, position, generation) when it is of sluice's
/// form and of the kind that form says; Err says why it is left to an operator.
pub(crate) fn adoption(
    order: &AlgoOrderReport,
) -> Result<(ProtectionKind, PositionId, i32), String> {
    match sluice_algo_id(&order.client_algo_id) {
        Some((kind, position, generation)) if order.kind == Some(kind) => {
            Ok((kind, position, generation))
        }
        Some(_) => Err("its type does not match its sluice clientAlgoId".to_string()),
        None => Err(
            "not placed by sluice; reconcile never trades: cancel it on the venue or leave it"
                .to_string(),
        ),
    }
}

/// The venue's report to store for a ledger-only row, from what the venue said about
/// it; Err says why none can be stored without an operator. Nothing is guessed: only a
/// terminal state the venue itself reports is stored.
pub(crate) fn settlement(exchange: &ExchangeAlgoState) -> Result<&AlgoOrderReport, String> {
    match exchange {
        ExchangeAlgoState::Known(r) if !r.status.is_live() => Ok(r),
        ExchangeAlgoState::Known(r) => Err(format!(
            "the venue reports it {} (live) though it did not list it open: re-run reconcile",
            r.status.as_str()
        )),
        ExchangeAlgoState::NotFound => Err(
            "the venue has no record of this clientAlgoId: its fate is unknown, an operator decides"
                .to_string(),
        ),
        ExchangeAlgoState::Unresolved => Err(
            "the venue could not be asked about it: look it up by clientAlgoId".to_string(),
        ),
    }
}

/// The reconcile findings of the protective comparison: `venue` None means the venue
/// was not asked (it has no Algo Service), so nothing is compared.
pub(super) fn protective_differences(
    ledger: &[LedgerProtective],
    venue: Option<&[AlgoOrderReport]>,
    resolved: &BTreeMap<String, ExchangeAlgoState>,
) -> Vec<super::Discrepancy> {
    let Some(venue) = venue else {
        return Vec::new();
    };
    let sides = one_sided(ledger, venue);
    let exchange_only =
        sides
            .exchange_only
            .into_iter()
            .map(|a| super::Discrepancy::ProtectiveOnlyOnExchange {
                order: a.clone(),
                sluice_tagged: sluice_algo_id(&a.client_algo_id).is_some(),
            });
    let ledger_only =
        sides
            .ledger_only
            .into_iter()
            .map(|r| super::Discrepancy::ProtectiveOnlyInLedger {
                row: r.clone(),
                exchange: resolved.get(&r.client_algo_id).cloned().unwrap_or_default(),
            });
    exchange_only.chain(ledger_only).collect()
}

#[cfg(test)]
#[path = "protective_tests.rs"]
mod tests;
