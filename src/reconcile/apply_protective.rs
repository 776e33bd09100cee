//! Reconcile's repairs of protective (algo) orders held on one side only (see
//! `super::protective` for what may be done and `super::apply` for the rules every
//! repair follows): a ledger-only row is settled with the final state the venue
//! reported, never guessed; a venue-only order of sluice's id form is adopted as a row
//! of the position it names; anything else is left to an operator.

use super::apply::{adjusted, RepairOutcome};
use super::protective::{self, settlement, ExchangeAlgoState, LedgerProtective};
use crate::exchange::{AlgoOrderReport, AlgoStatus};
use crate::ledger::{AdoptProtective, Ledger, LedgerError};

/// Adopt a venue-only algo order of sluice's id form as a row of the position it names
/// (one adjustment row), so the daemon manages it again; anything else is left to an
/// operator.
pub(super) async fn adopt_algo(
    ledger: &Ledger,
    venue: &str,
    actor: &str,
    order: &AlgoOrderReport,
) -> Result<RepairOutcome, LedgerError> {
    let needs = |why: String| RepairOutcome::NeedsOperator {
        reason: format!(
            "algo order {} ({} trigger {}): {why}",
            order.client_algo_id, order.symbol, order.trigger_price
        ),
    };
    let (_, position, generation) = match protective::adoption(order) {
        Ok(a) => a,
        Err(why) => return Ok(needs(why)),
    };
    if ledger.position(position).await?.is_none() {
        return Ok(needs(format!(
            "position #{position} is unknown to the ledger"
        )));
    }
    let reason = format!(
        "reconcile: adopted algo order {} ({}) the venue holds for position #{position}; \
         the ledger had no row for it",
        order.client_algo_id,
        order.status.as_str().to_uppercase()
    );
    let adopt = AdoptProtective {
        position,
        venue,
        generation,
        report: order,
        actor,
        reason: &reason,
    };
    Ok(match ledger.adopt_protective(&adopt).await? {
        Some((_, adj)) => adjusted(vec![adj]),
        None => needs(
            "the ledger holds a row for it already (planned: the daemon records it on its next look-up; ended: a row never goes back to live)"
                .to_string(),
        ),
    })
}

/// Store the final state the venue reported for a live protective row it no longer
/// lists, with one adjustment row; or say why an operator must decide (never guessed).
pub(super) async fn settle(
    ledger: &Ledger,
    actor: &str,
    row: &LedgerProtective,
    exchange: &ExchangeAlgoState,
) -> Result<RepairOutcome, LedgerError> {
    let report = match settlement(exchange) {
        Ok(r) => r,
        Err(why) => {
            return Ok(RepairOutcome::NeedsOperator {
                reason: format!("protective order {}: {why}", row.client_algo_id),
            })
        }
    };
    let fired = report
        .actual_order_id
        .map_or(String::new(), |ai| format!(", its order {ai}"));
    let reason = format!(
        "reconcile: protective order {} of position #{} was `{}` in the ledger, the venue \
         reports it {}{fired}",
        row.client_algo_id,
        row.position_id,
        row.state.map_or("planned", AlgoStatus::as_str),
        report.status.as_str().to_uppercase()
    );
    let adj = ledger
        .settle_protective(row.id, report, actor, &reason)
        .await?;
    Ok(adjusted(adj.into_iter().collect()))
}
