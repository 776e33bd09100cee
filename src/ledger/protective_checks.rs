//! What the watchdog and doctor ask of protective orders: stops that fired without
//! closing their position, and positions missing the protection their open asked for.

use chrono::{DateTime, Utc};

use super::error::LedgerError;
use super::ids::PositionId;
use super::protective::ProtectiveRow;
use super::Ledger;
use crate::domain::ProtectionKind;

impl Ledger {
    /// Rows whose stop fired and whose position is still open: TRIGGERING/TRIGGERED
    /// since before `fired_before`, or REJECTED at the trigger (it had been placed).
    pub(crate) async fn overdue_protective_orders(
        &self,
        fired_before: DateTime<Utc>,
    ) -> Result<Vec<ProtectiveRow>, LedgerError> {
        sqlx::query(
            "SELECT po.* FROM protective_orders po JOIN positions p ON p.id = po.position_id
             WHERE p.status = 'open' AND p.account_id = sluice_account() AND (
                 (po.state IN ('triggering', 'triggered') AND po.triggered_at < $1)
              OR (po.state = 'rejected' AND po.algo_id IS NOT NULL))
             ORDER BY po.id",
        )
        .bind(fired_before)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(ProtectiveRow::decode)
        .collect()
    }

    /// Open positions missing a protective order their latest protected open asked for:
    /// (position, kind, the last placement error if any). A planned order still being
    /// retried counts as missing.
    pub(crate) async fn unprotected_positions(
        &self,
    ) -> Result<Vec<(PositionId, ProtectionKind, Option<String>)>, LedgerError> {
        let rows: Vec<(i64, String, Option<String>)> = sqlx::query_as(
            "SELECT p.id, k.kind,
                    (SELECT po.last_error FROM protective_orders po
                      WHERE po.position_id = p.id AND po.kind = k.kind ORDER BY po.id DESC LIMIT 1)
               FROM positions p
               JOIN LATERAL (SELECT ip.protection FROM intents i
                               JOIN intent_protection ip ON ip.intent_id = i.id
                              WHERE i.position_id = p.id AND i.kind = 'open'
                              ORDER BY i.id DESC LIMIT 1) pr ON true
              CROSS JOIN (VALUES ('stop_loss'), ('take_profit')) AS k (kind)
              WHERE p.status = 'open' AND p.account_id = sluice_account()
                AND jsonb_typeof(pr.protection -> k.kind) = 'object'
                AND NOT EXISTS (SELECT 1 FROM protective_orders po
                                 WHERE po.position_id = p.id AND po.kind = k.kind
                                   AND po.state IN ('new', 'triggering', 'triggered'))
              ORDER BY p.id, k.kind",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(id, kind, err)| {
                let kind = ProtectionKind::parse(&kind)
                    .ok_or_else(|| LedgerError::invalid("protective_orders.kind", kind))?;
                Ok((PositionId(id), kind, err))
            })
            .collect()
    }

    /// How many fills of exchange order `order_id` were stored as external (no sluice
    /// order explained them when they arrived).
    pub(crate) async fn external_fills_of_order(
        &self,
        venue: &str,
        symbol: &crate::domain::Symbol,
        order_id: i64,
    ) -> Result<i64, LedgerError> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM fills
              WHERE venue = $1 AND symbol = $2 AND exchange_order_id = $3 AND external",
        )
        .bind(venue)
        .bind(symbol.as_str())
        .bind(order_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(n)
    }
}
