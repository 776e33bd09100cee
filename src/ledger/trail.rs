//! The audit trail's two writers, called inside the caller's own transaction so a
//! change and its record commit (or roll back) together.
//!
//! - [`write_adjustment`]: one `ledger_adjustments` row (actor, reason, before, after)
//!   per correction; an empty actor or reason is refused, nothing is written.
//! - [`write_anomaly`]: one `ledger_anomalies` row per thing a fill could not do by the
//!   ordinary rules, naming the fill, order and position involved ([`AnomalyRefs`]).
//!
//! It imports nothing of the ledger but the error, the ids and the anomaly kind, so every
//! writer of a correction (positions, adjustments, evidence, fills) can use it without
//! an import circle.

use sqlx::PgConnection;

use super::error::LedgerError;
use super::ids::{AdjustmentId, FillId, OrderId, PositionId};
use super::model::AnomalyKind;

pub(crate) async fn write_adjustment(
    conn: &mut PgConnection,
    actor: &str,
    reason: &str,
    table: &str,
    row_id: i64,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> Result<AdjustmentId, LedgerError> {
    if actor.trim().is_empty() {
        return Err(LedgerError::invalid("actor", "is empty"));
    }
    if reason.trim().is_empty() {
        return Err(LedgerError::invalid("reason", "is empty"));
    }
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO ledger_adjustments (actor, reason, table_name, row_id, before, after)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(actor)
    .bind(reason)
    .bind(table)
    .bind(row_id)
    .bind(before)
    .bind(after)
    .fetch_one(conn)
    .await?;
    Ok(AdjustmentId(id))
}

/// The rows an anomaly is about.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct AnomalyRefs {
    pub fill: Option<FillId>,
    pub order: Option<OrderId>,
    pub position: Option<PositionId>,
}

pub(crate) async fn write_anomaly(
    conn: &mut PgConnection,
    kind: AnomalyKind,
    detail: serde_json::Value,
    refs: AnomalyRefs,
) -> Result<(), LedgerError> {
    tracing::warn!(kind = kind.as_str(), %detail, "ledger anomaly");
    sqlx::query(
        "INSERT INTO ledger_anomalies (kind, detail, fill_id, order_id, position_id)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(kind.as_str())
    .bind(detail)
    .bind(refs.fill)
    .bind(refs.order)
    .bind(refs.position)
    .execute(conn)
    .await?;
    Ok(())
}
