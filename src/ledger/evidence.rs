//! Evidence: the ledger queries behind `sluice reconcile` and `sluice report`, and the
//! one order correction reconcile writes.
//!
//! Reads only, except [`Ledger::retire_order`], which changes an order's state and
//! writes its `ledger_adjustments` row (before/after) in the same transaction.
//! Aggregation (counts, rates, percentiles) is NOT done here: these queries return
//! facts and `ops::report` computes in pure Rust, so every figure is unit-testable.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::error::LedgerError;
use super::ids::{AdjustmentId, IntentId, OrderId};
use super::model::OrderState;
use super::trail::write_adjustment;
use super::Ledger;
use crate::domain::Symbol;

/// One order-placing or cancelling REST attempt, as the report needs it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptFact {
    pub sent_at: DateTime<Utc>,
    pub exchange_time: Option<DateTime<Utc>>,
    pub symbol: Option<String>,
    pub client_order_id: Option<String>,
    pub http_status: Option<i32>,
    pub error_code: Option<i64>,
    pub error_class: Option<String>,
    pub latency_ms: i64,
}

/// One risk-reducing intent (close, reduce, flatten) with what it took.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloseIntentFact {
    pub intent_id: IntentId,
    pub kind: String,
    pub symbol: Option<String>,
    pub state: String,
    pub created_at: DateTime<Utc>,
    /// Local time the last position it acted on was closed (None while any is open).
    pub flat_at: Option<DateTime<Utc>>,
    /// Exchange time of its last fill.
    pub last_fill_exchange_time: Option<DateTime<Utc>>,
    pub attempts: i64,
    /// Distinct error codes its attempts received, ascending.
    pub codes: Vec<i64>,
}

impl Ledger {
    /// The highest trade id stored per symbol for `venue`.
    pub(crate) async fn last_trade_ids(
        &self,
        venue: &str,
    ) -> Result<BTreeMap<Symbol, i64>, LedgerError> {
        let rows = sqlx::query(
            "SELECT symbol, MAX(trade_id) AS last FROM fills WHERE venue = $1 AND account_id = sluice_account() \
             GROUP BY symbol",
        )
        .bind(venue)
        .fetch_all(&self.pool)
        .await?;
        let mut out = BTreeMap::new();
        for r in rows {
            let raw: String = r.try_get("symbol")?;
            let symbol = Symbol::new(&raw).map_err(|e| LedgerError::Corrupt {
                table: "fills",
                row_id: 0,
                reason: format!("symbol `{raw}`: {}", e.reason),
            })?;
            out.insert(symbol, r.try_get("last")?);
        }
        Ok(out)
    }

    /// Trade ids stored for `symbol` on `venue` from `from_id` on (all when None).
    pub(crate) async fn trade_ids_from(
        &self,
        venue: &str,
        symbol: &Symbol,
        from_id: Option<i64>,
    ) -> Result<Vec<i64>, LedgerError> {
        let rows: Vec<(i64,)> = sqlx::query_as(
            "SELECT trade_id FROM fills WHERE venue = $1 AND symbol = $2 AND account_id = sluice_account()
               AND ($3::BIGINT IS NULL OR trade_id >= $3) ORDER BY trade_id",
        )
        .bind(venue)
        .bind(symbol.as_str())
        .bind(from_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// Move a non-terminal order to the terminal `to` state because the exchange no
    /// longer lists it, with one adjustment row. None (nothing written) when the order
    /// is already terminal, e.g. because a backfilled fill completed it.
    pub(crate) async fn retire_order(
        &self,
        id: OrderId,
        to: OrderState,
        actor: &str,
        reason: &str,
    ) -> Result<Option<AdjustmentId>, LedgerError> {
        if !to.is_terminal() {
            return Err(LedgerError::invalid(
                "status",
                format!("{} is not a terminal state", to.as_str()),
            ));
        }
        let mut tx = self.pool.begin().await?;
        let before: Option<(String, serde_json::Value)> = sqlx::query_as(
            "SELECT status, to_jsonb(o) FROM orders o WHERE id = $1 FOR NO KEY UPDATE",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let (status, before) =
            before.ok_or_else(|| LedgerError::not_found(format!("order #{id}")))?;
        if OrderState::parse(&status)?.is_terminal() {
            return Ok(None);
        }
        let (after,): (serde_json::Value,) = sqlx::query_as(
            "UPDATE orders o SET status = $2, last_error_msg = $3, updated_at = now()
             WHERE id = $1 RETURNING to_jsonb(o)",
        )
        .bind(id)
        .bind(to.as_str())
        .bind(reason)
        .fetch_one(&mut *tx)
        .await?;
        let adj = write_adjustment(
            &mut tx,
            actor,
            reason,
            "orders",
            id.get(),
            Some(before),
            Some(after),
        )
        .await?;
        tx.commit().await?;
        Ok(Some(adj))
    }

    /// Order attempts sent in `[since, until)`, oldest first.
    pub(crate) async fn attempt_facts(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<AttemptFact>, LedgerError> {
        let rows = sqlx::query(
            "SELECT sent_at, exchange_time, symbol, client_order_id, http_status, error_code,
                    error_class, latency_ms
             FROM order_attempts WHERE is_order AND account_id = sluice_account() AND sent_at >= $1 AND sent_at < $2
             ORDER BY sent_at, id",
        )
        .bind(since)
        .bind(until)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AttemptFact {
                    sent_at: r.try_get("sent_at")?,
                    exchange_time: r.try_get("exchange_time")?,
                    symbol: r.try_get("symbol")?,
                    client_order_id: r.try_get("client_order_id")?,
                    http_status: r.try_get("http_status")?,
                    error_code: r.try_get("error_code")?,
                    error_class: r.try_get("error_class")?,
                    latency_ms: r.try_get("latency_ms")?,
                })
            })
            .collect()
    }

    /// Close, reduce and flatten intents created in `[since, until)`, with their
    /// attempts (joined by clientOrderId), codes, flat time and last fill time.
    pub(crate) async fn close_intent_facts(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<CloseIntentFact>, LedgerError> {
        let rows = sqlx::query(
            "SELECT i.id, i.kind, i.symbol, i.state, i.created_at,
                (SELECT CASE WHEN bool_and(p.status = 'closed') THEN MAX(p.closed_at) END
                   FROM positions p
                   WHERE p.id = i.position_id
                      OR p.id IN (SELECT o2.position_id FROM orders o2 WHERE o2.intent_id = i.id)
                ) AS flat_at,
                (SELECT MAX(f.traded_at) FROM fills f JOIN orders o3 ON o3.id = f.order_id
                   WHERE o3.intent_id = i.id) AS last_fill,
                COUNT(a.id) AS attempts,
                COALESCE(ARRAY_AGG(DISTINCT a.error_code ORDER BY a.error_code)
                         FILTER (WHERE a.error_code IS NOT NULL), '{}') AS codes
             FROM intents i
             LEFT JOIN orders o ON o.intent_id = i.id
             LEFT JOIN order_attempts a ON a.client_order_id = o.client_order_id AND a.is_order
             WHERE i.kind <> 'open' AND i.account_id = sluice_account() AND i.created_at >= $1 AND i.created_at < $2
             GROUP BY i.id ORDER BY i.created_at, i.id",
        )
        .bind(since)
        .bind(until)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(CloseIntentFact {
                    intent_id: IntentId(r.try_get("id")?),
                    kind: r.try_get("kind")?,
                    symbol: r.try_get("symbol")?,
                    state: r.try_get("state")?,
                    created_at: r.try_get("created_at")?,
                    flat_at: r.try_get("flat_at")?,
                    last_fill_exchange_time: r.try_get("last_fill")?,
                    attempts: r.try_get("attempts")?,
                    codes: r.try_get("codes")?,
                })
            })
            .collect()
    }
}
