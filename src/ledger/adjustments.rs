//! Corrections and anomalies: the audit trail of everything the ledger did not do by
//! the ordinary rules.
//!
//! Every correction writes one `ledger_adjustments` row (actor, reason, before, after)
//! in the same transaction as the change itself (the writers are in `trail.rs`). Anomalies record what a fill could
//! not do (over-close capped, external fill...) with the rows involved.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::error::LedgerError;
use super::ids::{AdjustmentId, FillId, OrderId, PositionId};
use super::model::{AnomalyKind, OrderRow, PositionStatus};
use super::positions::{lock_position, row_json};
use super::trail::{write_adjustment, write_anomaly, AnomalyRefs};
use super::Ledger;
use crate::domain::Qty;

/// A correction of one position's quantity and/or status (doctor, reconcile).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PositionCorrection {
    pub position_id: PositionId,
    pub quantity: Option<Qty>,
    pub status: Option<PositionStatus>,
    pub actor: String,
    pub reason: String,
    /// Some(t): the new values are the exchange's position as read at `t` (reconcile), so
    /// the leg's external fills traded until `t` are in it: they are marked accounted for
    /// by this correction (`reattribute.rs`). None (doctor: values from the ledger's own
    /// fills): no fill is marked.
    pub exchange_read_at: Option<DateTime<Utc>>,
}

type AnomalyTuple = (
    i64,
    String,
    serde_json::Value,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    Option<i64>,
);

/// One stored correction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct AdjustmentRow {
    pub actor: String,
    pub reason: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// One stored anomaly.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnomalyRow {
    pub id: i64,
    pub kind: AnomalyKind,
    pub detail: serde_json::Value,
    pub fill_id: Option<FillId>,
    pub order_id: Option<OrderId>,
    pub position_id: Option<PositionId>,
    pub at: DateTime<Utc>,
    /// An `external_fill` whose order became known later: when its fill was given to
    /// that order (`reattribute.rs`), and the order. None: not resolved.
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolved_order_id: Option<OrderId>,
}

impl Ledger {
    /// Apply `c` and write its adjustment row, in one transaction. Returns None (and
    /// writes nothing) when the position already has the requested values.
    pub(crate) async fn correct_position(
        &self,
        c: &PositionCorrection,
    ) -> Result<Option<AdjustmentId>, LedgerError> {
        let mut tx = self.pool.begin().await?;
        // The external fills this correction accounts for are locked before the position
        // (the lock order of `reattribute.rs`: a re-attribution locks them, then the
        // position). The leg of a position never changes, so it is read unlocked first.
        let accountable = match c.exchange_read_at {
            Some(until) => {
                let leg = super::positions::position_in(&mut tx, c.position_id)
                    .await?
                    .ok_or_else(|| {
                        LedgerError::not_found(format!("position #{}", c.position_id))
                    })?;
                let leg = (leg.venue.as_str(), &leg.symbol, leg.position_side);
                super::reattribute::lock_accountable(&mut tx, leg, until).await?
            }
            None => Vec::new(),
        };
        let current = lock_position(&mut tx, c.position_id)
            .await?
            .ok_or_else(|| LedgerError::not_found(format!("position #{}", c.position_id)))?;
        let quantity = c.quantity.unwrap_or(current.quantity);
        let status = match (c.status, quantity.is_zero()) {
            (Some(s), _) => s,
            (None, true) => PositionStatus::Closed,
            (None, false) => current.status,
        };
        if quantity == current.quantity && status == current.status {
            return Ok(None);
        }
        if status == PositionStatus::Open && quantity.is_zero() {
            return Err(LedgerError::invalid(
                "quantity",
                "an open position cannot be flat",
            ));
        }
        let before = row_json(&mut tx, c.position_id).await?;
        sqlx::query(
            "UPDATE positions SET quantity = $2, status = $3, updated_at = now(),
                 closed_at = CASE WHEN $3 = 'closed' THEN COALESCE(closed_at, now()) ELSE NULL END
             WHERE id = $1",
        )
        .bind(c.position_id)
        .bind(quantity.get())
        .bind(status.as_str())
        .execute(&mut *tx)
        .await?;
        let after = row_json(&mut tx, c.position_id).await?;
        let id = write_adjustment(
            &mut tx,
            &c.actor,
            &c.reason,
            "positions",
            c.position_id.get(),
            Some(before),
            Some(after),
        )
        .await?;
        super::reattribute::mark_accounted(&mut tx, id, &accountable, &current.symbol).await?;
        tx.commit().await?;
        Ok(Some(id))
    }

    /// Adjustment rows about `table`#`row_id`, oldest first.
    pub async fn adjustments_of(
        &self,
        table: &str,
        row_id: i64,
    ) -> Result<Vec<AdjustmentRow>, LedgerError> {
        Ok(sqlx::query_as(
            "SELECT actor, reason, before, after FROM ledger_adjustments
             WHERE table_name = $1 AND row_id = $2 ORDER BY id",
        )
        .bind(table)
        .bind(row_id)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn anomalies(&self) -> Result<Vec<AnomalyRow>, LedgerError> {
        let rows: Vec<AnomalyTuple> = sqlx::query_as(
            "SELECT id, kind, detail, fill_id, order_id, position_id, at, resolved_at,
                    resolved_order_id
             FROM ledger_anomalies WHERE account_id = sluice_account() ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(
                |(id, kind, detail, fill, order, position, at, resolved_at, resolved)| {
                    Ok(AnomalyRow {
                        id,
                        kind: AnomalyKind::parse(&kind)?,
                        detail,
                        fill_id: fill.map(FillId),
                        order_id: order.map(OrderId),
                        position_id: position.map(PositionId),
                        at,
                        resolved_at,
                        resolved_order_id: resolved.map(OrderId),
                    })
                },
            )
            .collect()
    }

    /// Record that `order` ended with fewer fills in the ledger than the exchange says
    /// it executed, after every trade the exchange lists was applied.
    pub(crate) async fn record_fills_short(
        &self,
        order: &OrderRow,
        executed: Decimal,
    ) -> Result<(), LedgerError> {
        let mut conn = self.pool.acquire().await?;
        let detail = serde_json::json!({
            "client_order_id": order.client_order_id,
            "symbol": order.symbol.as_str(),
            "executed_qty": executed.to_string(),
            "filled_in_ledger": order.filled_quantity.get().to_string(),
        });
        let refs = AnomalyRefs {
            order: Some(order.id),
            position: order.position_id,
            ..AnomalyRefs::default()
        };
        write_anomaly(&mut conn, AnomalyKind::FillsShortOfExecuted, detail, refs).await
    }
}
