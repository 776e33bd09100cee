//! Orders: written BEFORE they are sent, so a crash between send and answer leaves a
//! row to resolve. Each order copies its intent's kind and names the position it acts
//! on; a non-open order must sell a long or buy a short, never the other way.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::error::LedgerError;
use super::halt::halted_sql;
use super::ids::{IntentId, PositionId};
use super::model::{IntentRow, OrderRow, OrderState, PositionStatus};
use super::reattribute::reattribute_in;
use super::Ledger;
use crate::domain::{Direction, IntentKind, OrderRequest, PositionSide, Qty, Symbol};

/// An order about to be sent for intent `intent_id`. `position_id` is taken from the
/// intent when None (a flatten-all intent names the position per order).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewOrder {
    pub intent_id: IntentId,
    pub position_id: Option<PositionId>,
    pub request: OrderRequest,
    pub chunk_index: i32,
    pub attempt: i32,
}

/// What the exchange (or the router) said about an order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderUpdate {
    pub status: OrderState,
    pub exchange_order_id: Option<i64>,
    pub error_code: Option<i64>,
    pub error_msg: Option<String>,
}

impl Ledger {
    /// Store an order in state `planned`. Refuses an order that does not fit its intent.
    ///
    /// One statement on the hot path: the intent and the position the order would act on
    /// are read, checked and the row inserted together (`INSERT … SELECT … WHERE` the
    /// order fits, the same rules as [`check_fits_intent`]). Only a refusal costs a
    /// second read, to say which field is wrong and why.
    pub async fn record_order(&self, new: &NewOrder) -> Result<OrderRow, LedgerError> {
        match self.insert_order(new, false).await? {
            Some(row) => Ok(row),
            None => Err(self.why_refused(new).await),
        }
    }

    /// [`Self::record_order`] for a risk-increasing order: the same statement also sees
    /// the halt clear, so a halt committed before the insert stops it with no read of the
    /// flag beforehand. `Ok(Err(halt))`: nothing stored, the halt is why.
    pub async fn record_order_unless_halted(
        &self,
        new: &NewOrder,
    ) -> Result<Result<OrderRow, super::halt::HaltState>, LedgerError> {
        if let Some(row) = self.insert_order(new, true).await? {
            return Ok(Ok(row));
        }
        let halt = self.halt_state().await?;
        if halt.halted {
            return Ok(Err(halt));
        }
        Err(self.why_refused(new).await)
    }

    /// The insert of [`Self::record_order`]; with `halt_gate`, only while the halt is
    /// clear (`halted_sql!`; `$13` turns the gate on). `None`: nothing stored.
    async fn insert_order(
        &self,
        new: &NewOrder,
        halt_gate: bool,
    ) -> Result<Option<OrderRow>, LedgerError> {
        let r = &new.request;
        let row = sqlx::query(concat!(
            "WITH f AS (
                 SELECT i.id, i.kind, i.venue, i.state, i.symbol, i.direction, i.position_id,
                        p.id AS p_id, p.status AS p_status, p.symbol AS p_symbol,
                        p.position_side AS p_leg, p.direction AS p_direction
                 FROM intents i LEFT JOIN positions p ON p.id = COALESCE($2, i.position_id)
                 WHERE i.id = $1)
             INSERT INTO orders (intent_id, intent_kind, position_id, venue, symbol, side,
                 position_side, order_type, quantity, price, reduce_only, client_order_id,
                 chunk_index, attempt, status)
             SELECT f.id, f.kind, COALESCE($2, f.position_id), f.venue, $3, $4, $5, $6, $7,
                    $8, $9, $10, $11, $12, 'planned'
             FROM f
             WHERE f.state NOT IN ('done', 'failed', 'cancelled')
               AND (f.symbol IS NULL OR f.symbol = $3)
               AND ($2::bigint IS NULL OR f.position_id IS NULL OR f.position_id = $2)
               AND CASE WHEN f.kind = 'open' THEN
                       f.direction IS NULL
                       OR (CASE f.direction WHEN 'long' THEN 'BUY' ELSE 'SELL' END) = $4
                   ELSE
                       f.p_id IS NOT NULL AND f.p_status = 'open' AND f.p_symbol = $3
                       AND f.p_leg = $5
                       AND (CASE f.p_direction WHEN 'long' THEN 'SELL' ELSE 'BUY' END) = $4
                   END
               AND NOT ($13 AND ",
            halted_sql!("$14"),
            ") RETURNING *"
        ))
        .bind(new.intent_id)
        .bind(new.position_id)
        .bind(r.symbol.as_str())
        .bind(r.side.as_wire())
        .bind(r.position_side.as_wire())
        .bind(r.order_type.as_wire())
        .bind(r.quantity.get())
        .bind(r.price.map(|p| p.get()))
        .bind(r.reduce_only)
        .bind(r.client_order_id.as_str())
        .bind(new.chunk_index)
        .bind(new.attempt)
        .bind(halt_gate)
        .bind(super::control::HALT_KEY)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| OrderRow::decode(&row)).transpose()
    }

    /// Why [`Ledger::record_order`] stored nothing: the intent and position read again
    /// and put through [`check_fits_intent`] for the field and the reason.
    async fn why_refused(&self, new: &NewOrder) -> LedgerError {
        let read = sqlx::query(
            "SELECT i.*, p.id AS p_id, p.status AS p_status, p.symbol AS p_symbol,
                    p.position_side AS p_leg, p.direction AS p_direction
             FROM intents i LEFT JOIN positions p ON p.id = COALESCE($2, i.position_id)
             WHERE i.id = $1",
        )
        .bind(new.intent_id)
        .bind(new.position_id)
        .fetch_optional(&self.pool)
        .await;
        let row = match read {
            Ok(Some(row)) => row,
            Ok(None) => return LedgerError::not_found(format!("intent #{}", new.intent_id)),
            Err(e) => return e.into(),
        };
        let checked = IntentRow::decode(&row)
            .and_then(|intent| check_fits_intent(new, &intent, &PositionFacts::decode(&row)?));
        match checked {
            Err(e) => e,
            // The intent or its position changed between the two reads.
            Ok(_) => LedgerError::invalid(
                "intent_id",
                format!(
                    "intent #{} changed while the order was being stored; plan it again",
                    new.intent_id
                ),
            ),
        }
    }

    /// Record what the exchange said. A terminal order never goes back to a live state
    /// (a late NEW after FILLED is ignored), a partly filled one never back to NEW (its
    /// fill may be applied before the NEW is); filled quantity only moves with fills.
    /// When this stores the order's exchange id for the first time, the fills stored
    /// external for that exchange order are re-attributed to it in the same transaction
    /// (`reattribute.rs`); the row returned includes them.
    pub async fn update_order_status(
        &self,
        client_order_id: &str,
        u: &OrderUpdate,
    ) -> Result<OrderRow, LedgerError> {
        let not_found = || LedgerError::not_found(format!("order {client_order_id}"));
        // No exchange id in the update (a refusal, an outcome unknown): none can be
        // learned, so nothing is re-attributed and one autocommit statement does it.
        if u.exchange_order_id.is_none() {
            let row = status_update(client_order_id, u)
                .fetch_optional(&self.pool)
                .await?
                .ok_or_else(not_found)?;
            return OrderRow::decode(&row);
        }
        let mut tx = self.pool.begin().await?;
        let row = status_update(client_order_id, u)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(not_found)?;
        let order = OrderRow::decode(&row)?;
        let learned: bool = row.try_get("learned")?;
        let Some(x) = order.exchange_order_id.filter(|_| learned) else {
            tx.commit().await?;
            return Ok(order);
        };
        let venue = order.venue.clone();
        let applied = reattribute_in(&mut tx, &venue, &[(order.symbol.clone(), x)]).await?;
        let order = if applied.is_empty() {
            order
        } else {
            let row = sqlx::query("SELECT * FROM orders WHERE id = $1")
                .bind(order.id)
                .fetch_one(&mut *tx)
                .await?;
            OrderRow::decode(&row)?
        };
        tx.commit().await?;
        Ok(order)
    }

    pub async fn order_by_client_id(
        &self,
        client_order_id: &str,
    ) -> Result<Option<OrderRow>, LedgerError> {
        sqlx::query("SELECT * FROM orders WHERE client_order_id = $1")
            .bind(client_order_id)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| OrderRow::decode(&r))
            .transpose()
    }

    pub async fn order_by_exchange_id(
        &self,
        venue: &str,
        symbol: &str,
        exchange_order_id: i64,
    ) -> Result<Option<OrderRow>, LedgerError> {
        sqlx::query(
            "SELECT * FROM orders WHERE venue = $1 AND symbol = $2 AND exchange_order_id = $3",
        )
        .bind(venue)
        .bind(symbol)
        .bind(exchange_order_id)
        .fetch_optional(&self.pool)
        .await?
        .map(|r| OrderRow::decode(&r))
        .transpose()
    }

    /// Orders that may still be live or whose outcome is unknown (crash recovery).
    pub async fn non_terminal_orders(&self) -> Result<Vec<OrderRow>, LedgerError> {
        sqlx::query(
            "SELECT * FROM orders WHERE account_id = sluice_account()
               AND status IN ('planned', 'sent', 'new', 'partially_filled', 'unknown') ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(OrderRow::decode)
        .collect()
    }

    /// The symbols on `venue` where sluice's own orders may rest: those of its LIMIT orders
    /// that are not final yet (a MARKET order never rests). Read by the dead-man's switch
    /// on every beat and by a flatten's cancel, so only the distinct symbols are fetched.
    pub(crate) async fn resting_symbols(
        &self,
        venue: &str,
    ) -> Result<std::collections::BTreeSet<Symbol>, LedgerError> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT DISTINCT symbol FROM orders WHERE account_id = sluice_account()
               AND venue = $1 AND order_type = 'LIMIT'
               AND status IN ('planned', 'sent', 'new', 'partially_filled', 'unknown')",
        )
        .bind(venue)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(s,)| Symbol::new(&s).map_err(LedgerError::from))
            .collect()
    }

    /// Σ filled quantity of the intent's orders, summed by Postgres (one row, however
    /// many chunks the intent has sent).
    pub async fn filled_of_intent(&self, id: IntentId) -> Result<Qty, LedgerError> {
        let (sum,): (Decimal,) = sqlx::query_as(
            "SELECT COALESCE(SUM(filled_quantity), 0) FROM orders WHERE intent_id = $1",
        )
        .bind(id)
        .fetch_one(&self.pool)
        .await?;
        Ok(Qty::new("filled_quantity", sum.normalize())?)
    }

    pub async fn orders_of_intent(&self, id: IntentId) -> Result<Vec<OrderRow>, LedgerError> {
        sqlx::query("SELECT * FROM orders WHERE intent_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(OrderRow::decode)
            .collect()
    }
}

/// What the order checks need of the position an order names (read with its intent).
struct PositionFacts {
    id: Option<PositionId>,
    status: Option<PositionStatus>,
    symbol: Option<Symbol>,
    leg: Option<PositionSide>,
    direction: Option<Direction>,
}

impl PositionFacts {
    fn decode(row: &sqlx::postgres::PgRow) -> Result<Self, LedgerError> {
        let text = |c: &str| row.try_get::<Option<String>, _>(c);
        Ok(PositionFacts {
            id: row.try_get::<Option<i64>, _>("p_id")?.map(PositionId),
            status: text("p_status")?
                .as_deref()
                .map(PositionStatus::parse)
                .transpose()?,
            symbol: text("p_symbol")?.as_deref().map(Symbol::new).transpose()?,
            leg: text("p_leg")?
                .as_deref()
                .map(PositionSide::parse)
                .transpose()?,
            direction: text("p_direction")?
                .as_deref()
                .map(Direction::parse)
                .transpose()?,
        })
    }
}

/// The position the order acts on, after checking the order fits its intent.
fn check_fits_intent(
    new: &NewOrder,
    intent: &IntentRow,
    p: &PositionFacts,
) -> Result<Option<PositionId>, LedgerError> {
    let r = &new.request;
    if intent.state.is_terminal() {
        return Err(LedgerError::invalid(
            "intent_id",
            format!("intent #{} is {}", intent.id, intent.state.as_str()),
        ));
    }
    if intent.symbol.as_ref().is_some_and(|s| *s != r.symbol) {
        return Err(LedgerError::invalid(
            "symbol",
            format!("intent #{} is for another symbol", intent.id),
        ));
    }
    let position_id = match (new.position_id, intent.position_id) {
        (Some(a), Some(b)) if a != b => {
            return Err(LedgerError::invalid(
                "position_id",
                format!("intent #{} acts on position #{b}", intent.id),
            ))
        }
        (a, b) => a.or(b),
    };
    if intent.kind() == IntentKind::Open {
        if let Some(d) = intent.direction.filter(|d| d.open_side() != r.side) {
            return Err(LedgerError::invalid(
                "side",
                format!("an open {d:?} must {}", d.open_side().as_wire()),
            ));
        }
        return Ok(position_id);
    }
    let id = position_id.ok_or_else(|| {
        LedgerError::invalid("position_id", "a risk-reducing order names its position")
    })?;
    let (Some(status), Some(symbol), Some(leg), Some(direction)) =
        (p.status, p.symbol.as_ref(), p.leg, p.direction)
    else {
        return Err(LedgerError::not_found(format!("position #{id}")));
    };
    if p.id != Some(id) {
        return Err(LedgerError::not_found(format!("position #{id}")));
    }
    if status != PositionStatus::Open || *symbol != r.symbol || leg != r.position_side {
        return Err(LedgerError::invalid(
            "position_id",
            format!(
                "position #{id} is not an open {} {} position",
                symbol,
                r.position_side.as_wire()
            ),
        ));
    }
    if r.side != direction.close_side() {
        // Seed 002: a SELL that opens a SHORT looks exactly like one that closes a LONG.
        return Err(LedgerError::invalid(
            "side",
            format!(
                "closing a {:?} must {}",
                direction,
                direction.close_side().as_wire()
            ),
        ));
    }
    Ok(Some(id))
}

/// The status write of [`Ledger::update_order_status`]: the row as updated, and `learned`
/// when this stored its exchange id for the first time.
fn status_update<'q>(
    client_order_id: &'q str,
    u: &'q OrderUpdate,
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    sqlx::query(
        "WITH old AS MATERIALIZED (
             SELECT id, exchange_order_id FROM orders WHERE client_order_id = $1 FOR NO KEY UPDATE)
         UPDATE orders o SET
             status = CASE WHEN o.status IN ('filled', 'canceled', 'expired', 'rejected')
                           THEN o.status
                           WHEN o.status = 'partially_filled' AND $2 IN ('planned', 'sent', 'new')
                           THEN o.status ELSE $2 END,
             exchange_order_id = COALESCE(o.exchange_order_id, $3),
             last_error_code = COALESCE($4, o.last_error_code),
             last_error_msg = COALESCE($5, o.last_error_msg),
             updated_at = now()
         FROM old WHERE o.id = old.id
         RETURNING o.*, (old.exchange_order_id IS NULL AND o.exchange_order_id IS NOT NULL)
             AS learned",
    )
    .bind(client_order_id)
    .bind(u.status.as_str())
    .bind(u.exchange_order_id)
    .bind(u.error_code)
    .bind(u.error_msg.as_deref())
}
