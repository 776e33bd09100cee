//! An operator's acknowledgement of an external fill: a trade no sluice order will ever
//! explain (placed by hand, or by another tool) is recorded as known, with who, why and
//! when, on its `external_fill` anomaly (`migrations/20261210011000_external_fill_acknowledged.sql`).
//! `sluice doctor` then lists it as acknowledged instead of failing on it
//! (`src/ops/doctor.rs`, which also refuses unsafe free text before calling here).
//!
//! One transaction: the fill row is locked first (as re-attribution locks it,
//! `reattribute.rs`), then its anomaly; a fill being re-attributed meanwhile is seen as
//! no longer external and refused. Refused, with nothing written: an unknown fill, a fill
//! that is not external (re-attributed to its order, or never external), one already
//! acknowledged.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::error::LedgerError;
use super::model::AnomalyKind;
use super::Ledger;

/// An acknowledged external fill.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalFillAck {
    /// The fill (`fills.id`).
    pub fill_id: i64,
    /// Its `external_fill` anomaly.
    pub anomaly_id: i64,
    /// Who acknowledged it.
    pub actor: String,
    /// Why it needs no repair.
    pub reason: String,
    /// When.
    pub at: DateTime<Utc>,
}

impl Ledger {
    /// Record `actor`'s acknowledgement of the external fill `fill_id` with `reason` (both
    /// already checked by the caller for unsafe characters; here: not empty).
    pub async fn acknowledge_external_fill(
        &self,
        fill_id: i64,
        actor: &str,
        reason: &str,
    ) -> Result<ExternalFillAck, LedgerError> {
        let (actor, reason) = (actor.trim(), reason.trim());
        if actor.is_empty() {
            return Err(LedgerError::invalid("actor", "is empty"));
        }
        if reason.is_empty() {
            return Err(LedgerError::invalid("reason", "is empty"));
        }
        let mut tx = self.pool.begin().await?;
        let fill: Option<(bool, Option<i64>)> = sqlx::query_as(
            "SELECT external, order_id FROM fills
             WHERE id = $1 AND account_id = sluice_account() FOR UPDATE",
        )
        .bind(fill_id)
        .fetch_optional(&mut *tx)
        .await?;
        match fill {
            None => {
                return Err(LedgerError::invalid(
                    "fill_id",
                    format!("no fill #{fill_id} in this account"),
                ))
            }
            Some((false, order)) => {
                let whose = order.map_or_else(String::new, |o| format!(": it is order #{o}'s"));
                return Err(LedgerError::invalid(
                    "fill_id",
                    format!("fill #{fill_id} is not external{whose}; nothing to acknowledge"),
                ));
            }
            Some((true, _)) => {}
        }
        let anomaly: Option<(i64, Option<DateTime<Utc>>, Option<String>)> = sqlx::query_as(
            "SELECT id, acknowledged_at, acknowledged_by FROM ledger_anomalies
             WHERE fill_id = $1 AND kind = $2 AND account_id = sluice_account()
             ORDER BY id LIMIT 1 FOR UPDATE",
        )
        .bind(fill_id)
        .bind(AnomalyKind::ExternalFill.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let anomaly_id = match anomaly {
            None => {
                return Err(LedgerError::invalid(
                    "fill_id",
                    format!("fill #{fill_id} has no external_fill anomaly to acknowledge"),
                ))
            }
            Some((_, Some(at), by)) => {
                return Err(LedgerError::invalid(
                    "fill_id",
                    format!(
                        "fill #{fill_id} was already acknowledged by {} at {}",
                        by.unwrap_or_default(),
                        at.to_rfc3339()
                    ),
                ))
            }
            Some((id, None, _)) => id,
        };
        let (at,): (DateTime<Utc>,) = sqlx::query_as(
            "UPDATE ledger_anomalies SET acknowledged_at = now(), acknowledged_by = $2,
                 acknowledged_reason = $3
             WHERE id = $1 RETURNING acknowledged_at",
        )
        .bind(anomaly_id)
        .bind(actor)
        .bind(reason)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        tracing::warn!(
            fill_id,
            anomaly_id,
            actor,
            reason,
            "external fill acknowledged by an operator"
        );
        Ok(ExternalFillAck {
            fill_id,
            anomaly_id,
            actor: actor.to_string(),
            reason: reason.to_string(),
            at,
        })
    }

    /// The acknowledgements of fills still external, by fill id.
    pub async fn external_fill_acks(&self) -> Result<Vec<ExternalFillAck>, LedgerError> {
        let rows: Vec<(i64, i64, String, String, DateTime<Utc>)> = sqlx::query_as(
            "SELECT a.fill_id, a.id, a.acknowledged_by, a.acknowledged_reason, a.acknowledged_at
             FROM ledger_anomalies a JOIN fills f ON f.id = a.fill_id
             WHERE a.kind = $1 AND a.acknowledged_at IS NOT NULL AND f.external
               AND a.account_id = sluice_account()
             ORDER BY a.fill_id",
        )
        .bind(AnomalyKind::ExternalFill.as_str())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(fill_id, anomaly_id, actor, reason, at)| ExternalFillAck {
                fill_id,
                anomaly_id,
                actor,
                reason,
                at,
            })
            .collect())
    }
}
