//! Several orders of one intent recorded in one statement: the executor's step writes all
//! the chunks it is about to send at once (one round trip instead of one per chunk).
//!
//! Invariants: every row passes the same checks as [`Ledger::record_order`] (the intent
//! still running, the symbol and position it names, an open buying for a long, a close
//! selling a long or buying a short), and the statement stores all the orders or none:
//! a refusal leaves nothing half-written, and the caller records them one by one to learn
//! which one does not fit and why. Rows are returned in the order given. Each row still
//! appends its event through the orders table's trigger, in the same statement.

use rust_decimal::Decimal;

use super::error::LedgerError;
use super::ids::IntentId;
use super::model::OrderRow;
use super::orders::NewOrder;
use super::Ledger;

impl Ledger {
    /// Store `orders` (all of intent `intent`) in state `planned`, all or none. `Ok(None)`:
    /// at least one does not fit its intent and nothing was stored.
    pub async fn record_orders(
        &self,
        intent: IntentId,
        orders: &[NewOrder],
    ) -> Result<Option<Vec<OrderRow>>, LedgerError> {
        if orders.iter().any(|o| o.intent_id != intent) {
            return Err(LedgerError::invalid(
                "intent_id",
                "every order of one batch belongs to the same intent",
            ));
        }
        let cols = Columns::of(orders);
        let rows = sqlx::query(
            "WITH input AS (
                 SELECT * FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[],
                     $6::text[], $7::numeric[], $8::numeric[], $9::bool[], $10::text[],
                     $11::int[], $12::int[]) WITH ORDINALITY
                     AS t(position_id, symbol, side, leg, order_type, quantity, price,
                          reduce_only, coid, chunk_index, attempt, ord)),
             f AS (
                 SELECT t.*, i.id AS i_id, i.kind, i.venue, i.position_id AS i_position_id
                 FROM input t
                 JOIN intents i ON i.id = $1
                 LEFT JOIN positions p ON p.id = COALESCE(t.position_id, i.position_id)
                 WHERE i.state NOT IN ('done', 'failed', 'cancelled')
                   AND (i.symbol IS NULL OR i.symbol = t.symbol)
                   AND (t.position_id IS NULL OR i.position_id IS NULL
                        OR i.position_id = t.position_id)
                   AND CASE WHEN i.kind = 'open' THEN
                           i.direction IS NULL
                           OR (CASE i.direction WHEN 'long' THEN 'BUY' ELSE 'SELL' END) = t.side
                       ELSE
                           p.id IS NOT NULL AND p.status = 'open' AND p.symbol = t.symbol
                           AND p.position_side = t.leg
                           AND (CASE p.direction WHEN 'long' THEN 'SELL' ELSE 'BUY' END) = t.side
                       END)
             INSERT INTO orders (intent_id, intent_kind, position_id, venue, symbol, side,
                 position_side, order_type, quantity, price, reduce_only, client_order_id,
                 chunk_index, attempt, status)
             SELECT f.i_id, f.kind, COALESCE(f.position_id, f.i_position_id), f.venue, f.symbol,
                    f.side, f.leg, f.order_type, f.quantity, f.price, f.reduce_only, f.coid,
                    f.chunk_index, f.attempt, 'planned'
             FROM f
             WHERE (SELECT count(*) FROM f) = (SELECT count(*) FROM input)
             ORDER BY f.ord
             RETURNING *",
        )
        .bind(intent)
        .bind(cols.position_id)
        .bind(cols.symbol)
        .bind(cols.side)
        .bind(cols.leg)
        .bind(cols.order_type)
        .bind(cols.quantity)
        .bind(cols.price)
        .bind(cols.reduce_only)
        .bind(cols.coid)
        .bind(cols.chunk_index)
        .bind(cols.attempt)
        .fetch_all(&self.pool)
        .await?;
        if rows.len() != orders.len() {
            return Ok(None);
        }
        let mut out = rows
            .iter()
            .map(OrderRow::decode)
            .collect::<Result<Vec<_>, _>>()?;
        // RETURNING follows the insert, which follows `ORDER BY ord`; sort by the input's
        // order anyway rather than rely on it.
        let place = |coid: &str| {
            orders
                .iter()
                .position(|o| o.request.client_order_id.as_str() == coid)
        };
        out.sort_by_key(|r| place(&r.client_order_id));
        Ok(Some(out))
    }
}

/// The orders as one array per column.
pub(super) struct Columns {
    pub(super) position_id: Vec<Option<i64>>,
    pub(super) symbol: Vec<String>,
    pub(super) side: Vec<&'static str>,
    pub(super) leg: Vec<&'static str>,
    pub(super) order_type: Vec<&'static str>,
    pub(super) quantity: Vec<Decimal>,
    pub(super) price: Vec<Option<Decimal>>,
    pub(super) reduce_only: Vec<bool>,
    pub(super) coid: Vec<String>,
    pub(super) chunk_index: Vec<i32>,
    pub(super) attempt: Vec<i32>,
}

impl Columns {
    pub(super) fn of(orders: &[NewOrder]) -> Self {
        Columns {
            position_id: orders
                .iter()
                .map(|o| o.position_id.map(|p| p.get()))
                .collect(),
            symbol: orders
                .iter()
                .map(|o| o.request.symbol.as_str().to_string())
                .collect(),
            side: orders.iter().map(|o| o.request.side.as_wire()).collect(),
            leg: orders
                .iter()
                .map(|o| o.request.position_side.as_wire())
                .collect(),
            order_type: orders
                .iter()
                .map(|o| o.request.order_type.as_wire())
                .collect(),
            quantity: orders.iter().map(|o| o.request.quantity.get()).collect(),
            price: orders
                .iter()
                .map(|o| o.request.price.map(|p| p.get()))
                .collect(),
            reduce_only: orders.iter().map(|o| o.request.reduce_only).collect(),
            coid: orders
                .iter()
                .map(|o| o.request.client_order_id.as_str().to_string())
                .collect(),
            chunk_index: orders.iter().map(|o| o.chunk_index).collect(),
            attempt: orders.iter().map(|o| o.attempt).collect(),
        }
    }
}
