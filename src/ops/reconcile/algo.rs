//! Reconcile's reads for protective (algo) orders: the ledger's live rows, the venue's
//! open algo orders, and the venue's answer by clientAlgoId for each live row it does
//! not list. Read-only towards the venue (GET openAlgoOrders, GET algoOrder).
//!
//! A venue without an Algo Service (`ExchangeError::is_unsupported`) leaves protective
//! orders uncompared; any other failure to list them fails the run, as a failure to
//! list positions or orders does.

use anyhow::Context;

use crate::exchange::{AlgoOrderReport, Exchange};
use crate::ledger::Ledger;
use crate::reconcile::{Discrepancy, ExchangeAlgoState, ExchangeSnapshot, LedgerProtective};

/// The live protective rows of `venue` (planned ones included).
pub(super) async fn ledger_rows(
    ledger: &Ledger,
    venue: &str,
) -> anyhow::Result<Vec<LedgerProtective>> {
    Ok(ledger
        .live_protective_orders()
        .await
        .context("failed to read the ledger's live protective orders")?
        .iter()
        .filter(|r| r.venue == venue)
        .map(LedgerProtective::from)
        .collect())
}

/// The venue's open algo orders; None when it has no Algo Service.
pub(super) async fn venue_orders(
    exchange: &dyn Exchange,
) -> anyhow::Result<Option<Vec<AlgoOrderReport>>> {
    match exchange.open_algo_orders().await {
        Ok(orders) => Ok(Some(orders)),
        Err(e) if e.is_unsupported() => Ok(None),
        Err(e) => Err(e).context("failed to fetch the exchange's open algo orders"),
    }
}

/// Ask the venue (GET algoOrder) about every ledger-only protective row; a failed
/// question leaves it unresolved, which is never settled.
pub(super) async fn resolve_ledger_only(
    exchange: &dyn Exchange,
    found: &[Discrepancy],
    theirs: &mut ExchangeSnapshot,
) {
    for d in found {
        let Discrepancy::ProtectiveOnlyInLedger { row, .. } = d else {
            continue;
        };
        let state = match exchange
            .algo_order(&row.client_algo_id, crate::exchange::Purpose::Routine)
            .await
        {
            Ok(Some(report)) => ExchangeAlgoState::Known(report),
            Ok(None) => ExchangeAlgoState::NotFound,
            Err(error) => {
                tracing::warn!(client_algo_id = %row.client_algo_id, %error, "could not look up a protective order the venue does not list");
                continue;
            }
        };
        theirs
            .resolved_algo
            .insert(row.client_algo_id.clone(), state);
    }
}
