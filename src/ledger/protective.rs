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
    pub(crate) reject_reason: Option<String>,
    pub(crate) last_error: Option<String>,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub(crate) triggered_at: Option<DateTime<Utc>>,
}

impl ProtectiveRow {
    pub(super) fn decode(row: &PgRow) -> Result<Self, LedgerError> {
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
    pub(crate) async fn position_protection(
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

    /// Open positions of `venue` that a protected open built, oldest first.
    pub(crate) async fn protected_open_positions(
        &self,
        venue: &str,
    ) -> Result<Vec<PositionId>, LedgerError> {
        let rows: Vec<(i64,)> = sqlx::query_as(
            "SELECT DISTINCT p.id FROM positions p
               JOIN intents i ON i.position_id = p.id AND i.kind = 'open'
               JOIN intent_protection ip ON ip.intent_id = i.id
             WHERE p.venue = $1 AND p.status = 'open' AND p.account_id = sluice_account() ORDER BY p.id",
        )
        .bind(venue)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(id,)| PositionId(id)).collect())
    }

    /// Is an open intent still working on `position` (more fills may come)?
    pub(crate) async fn open_working_on(&self, position: PositionId) -> Result<bool, LedgerError> {
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
    pub(crate) async fn live_protective_orders(&self) -> Result<Vec<ProtectiveRow>, LedgerError> {
        sqlx::query(&format!(
            "SELECT * FROM protective_orders WHERE {LIVE}
               AND position_id IN (SELECT id FROM positions WHERE account_id = sluice_account()) ORDER BY id"
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
    pub(crate) async fn record_protective_error(
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
}
