//! Protective orders (exchange-side stops, docs/binance-fapi.md §2.2, §5.6): what an
//! open asked for (`intent_protection`), each algo order sluice placed for a position
//! (`protective_orders`, recorded `planned` before it is sent), its state as the venue
//! reports it, and the link that makes a triggered stop's fills CLOSE fills.
//!
//! Invariants:
//! - a protective row never goes back from a terminal state (finished, canceled,
//!   expired, rejected) to a live one;
//! - the order a trigger produced is recorded as a `close` order of the protected
//!   position (its own `done` close intent, keyed `protective:<clientAlgoId>`), so its
//!   fills can only reduce that position, capped at zero: never an open (seed 002).

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::postgres::PgRow;
use sqlx::PgConnection;

use super::decode::Decoder;
use super::error::LedgerError;
use super::ids::{IntentId, OrderId, PositionId};
use super::positions::lock_position;
use super::Ledger;
use crate::domain::{PositionSide, Protection, ProtectionKind, Side, Symbol, WorkingType};
use crate::exchange::{AlgoOrderReport, AlgoStatus};

/// One row of `protective_orders`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProtectiveRow {
    pub id: i64,
    pub position_id: PositionId,
    pub intent_id: Option<IntentId>,
    pub venue: String,
    pub symbol: Symbol,
    pub position_side: PositionSide,
    pub side: Side,
    pub kind: ProtectionKind,
    pub generation: i32,
    pub trigger_price: Decimal,
    pub working_type: WorkingType,
    pub client_algo_id: String,
    pub algo_id: Option<i64>,
    /// None while `planned`: recorded, not (yet) known to the venue.
    pub state: Option<AlgoStatus>,
    pub actual_order_id: Option<i64>,
    pub order_id: Option<OrderId>,
    pub reject_reason: Option<String>,
    pub last_error: Option<String>,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub triggered_at: Option<DateTime<Utc>>,
}

impl ProtectiveRow {
    fn decode(row: &PgRow) -> Result<Self, LedgerError> {
        let d = Decoder::new(row, "protective_orders");
        let state: String = d.text("state")?;
        Ok(ProtectiveRow {
            id: d.get("id")?,
            position_id: PositionId(d.get("position_id")?),
            intent_id: d.get::<Option<i64>>("intent_id")?.map(IntentId),
            venue: d.text("venue")?,
            symbol: d.symbol("symbol")?,
            position_side: d.position_side("position_side")?,
            side: d.side("side")?,
            kind: d.with("kind", |s| {
                ProtectionKind::parse(s).ok_or_else(|| bad_enum("kind", s))
            })?,
            generation: d.get("generation")?,
            trigger_price: d.decimal("trigger_price")?,
            working_type: d.with("working_type", |s| {
                WorkingType::parse(s).ok_or_else(|| bad_enum("working_type", s))
            })?,
            client_algo_id: d.text("client_algo_id")?,
            algo_id: d.get("algo_id")?,
            state: match state.as_str() {
                "planned" => None,
                s => Some(AlgoStatus::parse(s).ok_or_else(|| {
                    LedgerError::invalid("protective_orders.state", format!("`{s}` is unknown"))
                })?),
            },
            actual_order_id: d.get("actual_order_id")?,
            order_id: d.get::<Option<i64>>("order_id")?.map(OrderId),
            reject_reason: d.get("reject_reason")?,
            last_error: d.get("last_error")?,
            attempts: d.get("attempts")?,
            created_at: d.time("created_at")?,
            updated_at: d.time("updated_at")?,
            triggered_at: d.get("triggered_at")?,
        })
    }

    /// Planned, or held by the venue (NEW, TRIGGERING, TRIGGERED).
    pub fn is_live(&self) -> bool {
        self.state.is_none_or(AlgoStatus::is_live)
    }
}

fn bad_enum(field: &str, raw: &str) -> crate::domain::DomainError {
    crate::domain::DomainError::new(field, format!("`{raw}` is not a known value"))
}

/// A protective order about to be placed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewProtective {
    pub position_id: PositionId,
    pub intent_id: Option<IntentId>,
    pub venue: String,
    pub symbol: Symbol,
    pub position_side: PositionSide,
    pub side: Side,
    pub kind: ProtectionKind,
    pub generation: i32,
    pub trigger_price: Decimal,
    pub working_type: WorkingType,
    pub client_algo_id: String,
}

const LIVE: &str = "state IN ('planned', 'new', 'triggering', 'triggered')";

pub(crate) async fn insert_protection(
    conn: &mut PgConnection,
    intent: IntentId,
    protection: &Protection,
) -> Result<(), LedgerError> {
    let json = serde_json::to_value(protection)
        .map_err(|e| LedgerError::invalid("protection", e.to_string()))?;
    sqlx::query("INSERT INTO intent_protection (intent_id, protection) VALUES ($1, $2) ON CONFLICT DO NOTHING")
        .bind(intent)
        .bind(json)
        .execute(conn)
        .await?;
    Ok(())
}

impl Ledger {
    /// The protection the most recent protected open of `position` asked for, with
    /// that intent's id.
    pub async fn position_protection(
        &self,
        position: PositionId,
    ) -> Result<Option<(IntentId, Protection)>, LedgerError> {
        let row: Option<(i64, serde_json::Value)> = sqlx::query_as(
            "SELECT i.id, ip.protection FROM intents i JOIN intent_protection ip ON ip.intent_id = i.id
             WHERE i.position_id = $1 AND i.kind = 'open' ORDER BY i.id DESC LIMIT 1",
        )
        .bind(position)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|(id, json)| {
            serde_json::from_value(json)
                .map(|p| (IntentId(id), p))
                .map_err(|e| LedgerError::invalid("intent_protection.protection", e.to_string()))
        })
        .transpose()
    }

    /// The protection intent `id` asked for, if any.
    pub async fn intent_protection(&self, id: IntentId) -> Result<Option<Protection>, LedgerError> {
        let row: Option<(serde_json::Value,)> =
            sqlx::query_as("SELECT protection FROM intent_protection WHERE intent_id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|(json,)| {
            serde_json::from_value(json)
                .map_err(|e| LedgerError::invalid("intent_protection.protection", e.to_string()))
        })
        .transpose()
    }

    /// Open positions of `venue` that a protected open built, oldest first.
    pub async fn protected_open_positions(
        &self,
        venue: &str,
    ) -> Result<Vec<PositionId>, LedgerError> {
        let rows: Vec<(i64,)> = sqlx::query_as(
            "SELECT DISTINCT p.id FROM positions p
               JOIN intents i ON i.position_id = p.id AND i.kind = 'open'
               JOIN intent_protection ip ON ip.intent_id = i.id
             WHERE p.venue = $1 AND p.status = 'open' ORDER BY p.id",
        )
        .bind(venue)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(id,)| PositionId(id)).collect())
    }

    /// Is an open intent still working on `position` (more fills may come)?
    pub async fn open_working_on(&self, position: PositionId) -> Result<bool, LedgerError> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM intents WHERE position_id = $1 AND kind = 'open'
               AND state IN ('accepted', 'working')",
        )
        .bind(position)
        .fetch_one(&self.pool)
        .await?;
        Ok(n > 0)
    }

    /// Record `new` as `planned`; the same clientAlgoId again returns the first row.
    pub async fn plan_protective(&self, new: &NewProtective) -> Result<ProtectiveRow, LedgerError> {
        let row = sqlx::query(
            "INSERT INTO protective_orders (position_id, intent_id, venue, symbol, position_side,
                 side, kind, generation, trigger_price, working_type, client_algo_id, state)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'planned')
             ON CONFLICT (client_algo_id) DO UPDATE SET updated_at = protective_orders.updated_at
             RETURNING *",
        )
        .bind(new.position_id)
        .bind(new.intent_id)
        .bind(&new.venue)
        .bind(new.symbol.as_str())
        .bind(new.position_side.as_wire())
        .bind(new.side.as_wire())
        .bind(new.kind.as_str())
        .bind(new.generation)
        .bind(new.trigger_price)
        .bind(new.working_type.as_str())
        .bind(&new.client_algo_id)
        .fetch_one(&self.pool)
        .await?;
        ProtectiveRow::decode(&row)
    }

    /// Every protective row of `position`, oldest first.
    pub async fn protective_orders_of(
        &self,
        position: PositionId,
    ) -> Result<Vec<ProtectiveRow>, LedgerError> {
        self.protective_where("position_id = $1", position.0).await
    }

    /// Every live protective row of `venue` (planned, new, triggering, triggered).
    pub async fn live_protective_orders(&self) -> Result<Vec<ProtectiveRow>, LedgerError> {
        sqlx::query(&format!(
            "SELECT * FROM protective_orders WHERE {LIVE} ORDER BY id"
        ))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(ProtectiveRow::decode)
        .collect()
    }

    async fn protective_where(
        &self,
        cond: &str,
        v: i64,
    ) -> Result<Vec<ProtectiveRow>, LedgerError> {
        sqlx::query(&format!(
            "SELECT * FROM protective_orders WHERE {cond} ORDER BY id"
        ))
        .bind(v)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(ProtectiveRow::decode)
        .collect()
    }

    /// Rows whose stop fired and whose position is still open: TRIGGERING/TRIGGERED
    /// since before `fired_before`, or REJECTED at the trigger (it had been placed).
    pub async fn overdue_protective_orders(
        &self,
        fired_before: DateTime<Utc>,
    ) -> Result<Vec<ProtectiveRow>, LedgerError> {
        sqlx::query(
            "SELECT po.* FROM protective_orders po JOIN positions p ON p.id = po.position_id
             WHERE p.status = 'open' AND (
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
    pub async fn unprotected_positions(
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
              WHERE p.status = 'open' AND jsonb_typeof(pr.protection -> k.kind) = 'object'
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

    /// Store what the venue reports about one of sluice's algo orders. None when the
    /// clientAlgoId is not sluice's. A terminal row keeps its state.
    pub async fn record_protective_report(
        &self,
        r: &AlgoOrderReport,
    ) -> Result<Option<ProtectiveRow>, LedgerError> {
        let row = sqlx::query(&format!(
            "UPDATE protective_orders SET
                 state = CASE WHEN {LIVE} THEN $2 ELSE state END,
                 algo_id = $3,
                 actual_order_id = COALESCE($4, actual_order_id),
                 reject_reason = COALESCE($5, reject_reason),
                 triggered_at = CASE WHEN $6 AND triggered_at IS NULL THEN now() ELSE triggered_at END,
                 last_error = NULL,
                 updated_at = now()
             WHERE client_algo_id = $1 RETURNING *"
        ))
        .bind(&r.client_algo_id)
        .bind(r.status.as_str())
        .bind(r.algo_id)
        .bind(r.actual_order_id)
        .bind(r.reject_reason.as_deref())
        .bind(r.status.has_fired() || r.status == AlgoStatus::Rejected)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(ProtectiveRow::decode).transpose()
    }

    /// A planned order the venue never received (or refused): counts the attempt and
    /// keeps the reason; `terminal` ends it `rejected` (a refusal re-sending cannot fix).
    pub async fn record_protective_error(
        &self,
        id: i64,
        error: &str,
        terminal: bool,
    ) -> Result<(), LedgerError> {
        sqlx::query(
            "UPDATE protective_orders SET attempts = attempts + 1, last_error = $2,
                 state = CASE WHEN $3 AND state = 'planned' THEN 'rejected' ELSE state END,
                 updated_at = now()
             WHERE id = $1",
        )
        .bind(id)
        .bind(error)
        .bind(terminal)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Record the order a trigger produced as a CLOSE order of the protected position
    /// (see the module doc), idempotently; returns its order id.
    pub async fn link_protective_order(
        &self,
        protective_id: i64,
        exchange_order_id: i64,
        client_order_id: &str,
    ) -> Result<OrderId, LedgerError> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query("SELECT * FROM protective_orders WHERE id = $1 FOR UPDATE")
            .bind(protective_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| LedgerError::not_found(format!("protective order #{protective_id}")))?;
        let p = ProtectiveRow::decode(&row)?;
        if let Some(id) = p.order_id {
            return Ok(id);
        }
        let position = lock_position(&mut tx, p.position_id)
            .await?
            .ok_or_else(|| LedgerError::not_found(format!("position #{}", p.position_id.0)))?;
        let qty = if position.quantity.is_zero() {
            position
                .opened_quantity
                .get()
                .max(position.initial_quantity.get())
        } else {
            position.quantity.get()
        };
        let intent = insert_stop_intent(&mut tx, &p, position.direction.as_str()).await?;
        let order_id: (i64,) = sqlx::query_as(
            "INSERT INTO orders (intent_id, intent_kind, position_id, venue, symbol, side,
                 position_side, order_type, quantity, reduce_only, client_order_id, chunk_index,
                 attempt, status, exchange_order_id)
             VALUES ($1, 'close', $2, $3, $4, $5, $6, 'MARKET', $7, $8, $9, 0, 0, 'new', $10)
             RETURNING id",
        )
        .bind(intent)
        .bind(p.position_id)
        .bind(&p.venue)
        .bind(p.symbol.as_str())
        .bind(p.side.as_wire())
        .bind(p.position_side.as_wire())
        .bind(qty)
        .bind(p.position_side == PositionSide::Both)
        .bind(client_order_id)
        .bind(exchange_order_id)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("UPDATE protective_orders SET order_id = $2, actual_order_id = $3, updated_at = now() WHERE id = $1")
            .bind(p.id)
            .bind(order_id.0)
            .bind(exchange_order_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(OrderId(order_id.0))
    }
}

/// The `done` close intent that owns a triggered stop's order: sized by nothing (the
/// exchange closed the whole position), so its state claims nothing its fills could
/// contradict.
async fn insert_stop_intent(
    conn: &mut PgConnection,
    p: &ProtectiveRow,
    direction: &str,
) -> Result<i64, LedgerError> {
    let mode = if p.position_side == PositionSide::Both {
        "one-way"
    } else {
        "hedge"
    };
    let reason = format!(
        "{} {} triggered on the exchange at {}",
        p.kind.as_str(),
        p.client_algo_id,
        p.trigger_price.normalize()
    );
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO intents (kind, venue, symbol, direction, position_mode, position_id,
             idempotency_key, reason, state)
         VALUES ('close', $1, $2, $3, $4, $5, $6, $7, 'done')
         ON CONFLICT (idempotency_key) DO UPDATE SET updated_at = intents.updated_at
         RETURNING id",
    )
    .bind(&p.venue)
    .bind(p.symbol.as_str())
    .bind(direction)
    .bind(mode)
    .bind(p.position_id)
    .bind(format!("protective:{}", p.client_algo_id))
    .bind(reason)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO intent_events (intent_id, from_state, to_state, cause)
         SELECT $1, 'accepted', 'done', 'protective order triggered on the exchange'
         WHERE NOT EXISTS (SELECT 1 FROM intent_events WHERE intent_id = $1)",
    )
    .bind(id)
    .execute(conn)
    .await?;
    Ok(id)
}
