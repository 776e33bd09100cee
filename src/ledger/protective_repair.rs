//! Reconcile's repairs of protective orders, each with one `ledger_adjustments` row
//! (before, after) in the same transaction as the change:
//! - [`Ledger::settle_protective`]: a live row the venue no longer lists gets the final
//!   state the venue reported for it (never back from a terminal state);
//! - [`Ledger::adopt_protective`]: an algo order of sluice's id form the venue holds for
//!   a ledger position, with no row, becomes a row (so the daemon manages it again).

use super::error::LedgerError;
use super::ids::{AdjustmentId, PositionId};
use super::trail::write_adjustment;
use super::Ledger;
use crate::exchange::{AlgoOrderReport, AlgoStatus};

const LIVE_STATES: [&str; 4] = ["planned", "new", "triggering", "triggered"];

/// An algo order to adopt as a protective row of `position`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AdoptProtective<'a> {
    pub position: PositionId,
    pub venue: &'a str,
    pub generation: i32,
    pub report: &'a AlgoOrderReport,
    pub actor: &'a str,
    pub reason: &'a str,
}

impl Ledger {
    /// Reconcile: store the terminal state the venue reports for a live row it no longer
    /// lists (`report`, looked up by clientAlgoId), with one `ledger_adjustments` row
    /// (before, after) in the same transaction. None when the row is no longer live
    /// (nothing written); a live state in `report` is refused (not a settlement).
    pub(crate) async fn settle_protective(
        &self,
        id: i64,
        report: &AlgoOrderReport,
        actor: &str,
        reason: &str,
    ) -> Result<Option<AdjustmentId>, LedgerError> {
        if report.status.is_live() {
            return Err(LedgerError::invalid(
                "algoStatus",
                format!("{} is not a final state", report.status.as_str()),
            ));
        }
        let mut tx = self.pool.begin().await?;
        let before: Option<(String, String, serde_json::Value)> = sqlx::query_as(
            "SELECT state, client_algo_id, to_jsonb(p) FROM protective_orders p WHERE id = $1 FOR UPDATE",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let (state, client_algo_id, before) =
            before.ok_or_else(|| LedgerError::not_found(format!("protective order #{id}")))?;
        if client_algo_id != report.client_algo_id {
            return Err(LedgerError::invalid(
                "clientAlgoId",
                format!(
                    "the report names {}, row #{id} is {client_algo_id}",
                    report.client_algo_id
                ),
            ));
        }
        if !LIVE_STATES.contains(&state.as_str()) {
            return Ok(None);
        }
        let (after,): (serde_json::Value,) = sqlx::query_as(
            "UPDATE protective_orders p SET state = $2, algo_id = $3,
                 actual_order_id = COALESCE($4, actual_order_id),
                 reject_reason = COALESCE($5, reject_reason),
                 triggered_at = CASE WHEN $6 AND triggered_at IS NULL THEN now() ELSE triggered_at END,
                 last_error = NULL, updated_at = now()
             WHERE id = $1 RETURNING to_jsonb(p)",
        )
        .bind(id)
        .bind(report.status.as_str())
        .bind(report.algo_id)
        .bind(report.actual_order_id)
        .bind(report.reject_reason.as_deref())
        .bind(report.status.has_fired() || report.status == AlgoStatus::Rejected)
        .fetch_one(&mut *tx)
        .await?;
        let adj = write_adjustment(
            &mut tx,
            actor,
            reason,
            "protective_orders",
            id,
            Some(before),
            Some(after),
        )
        .await?;
        tx.commit().await?;
        Ok(Some(adj))
    }

    /// Insert a row for a venue algo order of sluice's id form (see the module doc). The
    /// position must be of the same venue, symbol and leg; the report must name the kind
    /// and trigger type. None when a row with that clientAlgoId (or that position, kind
    /// and generation) exists already: nothing is written.
    pub(crate) async fn adopt_protective(
        &self,
        a: &AdoptProtective<'_>,
    ) -> Result<Option<(i64, AdjustmentId)>, LedgerError> {
        let r = a.report;
        let kind = r.kind.ok_or_else(|| {
            LedgerError::invalid("type", "not a STOP_MARKET or TAKE_PROFIT_MARKET order")
        })?;
        let working = r
            .working_type
            .ok_or_else(|| LedgerError::invalid("workingType", "not reported"))?;
        let mut tx = self.pool.begin().await?;
        let pos: Option<(String, String, String)> = sqlx::query_as(
            "SELECT venue, symbol, position_side FROM positions WHERE id = $1 FOR NO KEY UPDATE",
        )
        .bind(a.position)
        .fetch_optional(&mut *tx)
        .await?;
        let (venue, symbol, leg) =
            pos.ok_or_else(|| LedgerError::not_found(format!("position #{}", a.position)))?;
        if (venue.as_str(), symbol.as_str(), leg.as_str())
            != (a.venue, r.symbol.as_str(), r.position_side.as_wire())
        {
            return Err(LedgerError::invalid(
                "clientAlgoId",
                format!(
                    "{} names position #{} ({venue} {symbol} {leg}), the order is {} {} {}",
                    r.client_algo_id,
                    a.position,
                    a.venue,
                    r.symbol,
                    r.position_side.as_wire()
                ),
            ));
        }
        let row: Option<(i64, serde_json::Value)> = sqlx::query_as(
            "INSERT INTO protective_orders AS p (position_id, venue, symbol, position_side, side,
                 kind, generation, trigger_price, working_type, client_algo_id, algo_id, state,
                 actual_order_id, reject_reason)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
             ON CONFLICT DO NOTHING RETURNING p.id, to_jsonb(p)",
        )
        .bind(a.position)
        .bind(a.venue)
        .bind(r.symbol.as_str())
        .bind(r.position_side.as_wire())
        .bind(r.side.as_wire())
        .bind(kind.as_str())
        .bind(a.generation)
        .bind(r.trigger_price)
        .bind(working.as_str())
        .bind(&r.client_algo_id)
        .bind(r.algo_id)
        .bind(r.status.as_str())
        .bind(r.actual_order_id)
        .bind(r.reject_reason.as_deref())
        .fetch_optional(&mut *tx)
        .await?;
        let Some((id, after)) = row else {
            return Ok(None);
        };
        let adj = write_adjustment(
            &mut tx,
            a.actor,
            a.reason,
            "protective_orders",
            id,
            None,
            Some(after),
        )
        .await?;
        tx.commit().await?;
        Ok(Some((id, adj)))
    }
}
