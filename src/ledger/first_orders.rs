//! An intent's take-up and its first orders in one statement: the executor, handed the
//! stored row in-process (`handoff`), plans the first chunks itself and writes the
//! `accepted` → `working` move (with its `intent_events` row, the outbox rows of both
//! tables' triggers) and the order rows together, one round trip from the intent's commit
//! to the first order's durable row.
//!
//! Invariants:
//! - only an intent still `accepted` is taken up: one that another executor took up, a
//!   cancel ended or a halt cancelled stores nothing here (the take-up is lost, nothing
//!   is sent);
//! - the orders pass the same checks as [`Ledger::record_orders`] (symbol, position,
//!   side) and, for a risk-increasing intent, the halt clear in the same snapshot
//!   (`record_order_unless_halted`'s gate); they are stored all or none;
//! - a take-up whose orders are refused still takes the intent up: the executor then
//!   plans it as any working intent (the halt ends an open `cancelled`).

use sqlx::Row;

use super::error::LedgerError;
use super::halt::halted_sql;
use super::ids::IntentId;
use super::order_batch::Columns;
use super::orders::NewOrder;
use super::Ledger;

/// What [`Ledger::take_up_with_orders`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TakeUp {
    /// The intent was not `accepted` any more (taken up elsewhere, cancelled, unknown):
    /// nothing was written.
    Lost,
    /// Taken up, and every order stored: they may be sent.
    Stored,
    /// Taken up; the orders were not stored because the halt is set (an open's gate).
    Halted,
    /// Taken up; the orders were not stored because one does not fit the intent (its
    /// position changed since it was planned, say).
    Refused,
}

impl Ledger {
    /// Move intent `id` of `venue` from `accepted` to `working` (the event's cause is
    /// `cause`) and store `orders` (all of that intent, state `planned`) in the same
    /// statement. With `halt_gate` the orders are stored only while the halt is clear.
    pub async fn take_up_with_orders(
        &self,
        id: IntentId,
        venue: &str,
        cause: &str,
        orders: &[NewOrder],
        halt_gate: bool,
    ) -> Result<TakeUp, LedgerError> {
        if orders.is_empty() || orders.iter().any(|o| o.intent_id != id) {
            return Err(LedgerError::invalid(
                "intent_id",
                "a take-up carries at least one order, all of the intent taken up",
            ));
        }
        let cols = Columns::of(orders);
        let row = sqlx::query(concat!(
            "WITH up AS (
                 UPDATE intents SET state = 'working', updated_at = now()
                 WHERE id = $1 AND venue = $2 AND account_id = sluice_account()
                   AND state = 'accepted'
                 RETURNING *),
             ev AS (
                 INSERT INTO intent_events (intent_id, from_state, to_state, cause)
                 SELECT id, 'accepted', 'working', $3 FROM up),
             input AS (
                 SELECT * FROM unnest($4::bigint[], $5::text[], $6::text[], $7::text[],
                     $8::text[], $9::numeric[], $10::numeric[], $11::bool[], $12::text[],
                     $13::int[], $14::int[]) WITH ORDINALITY
                     AS t(position_id, symbol, side, leg, order_type, quantity, price,
                          reduce_only, coid, chunk_index, attempt, ord)),
             gate AS (SELECT ($15 AND ",
            halted_sql!("$16"),
            ") AS halted),
             f AS (
                 SELECT t.*, up.id AS i_id, up.kind, up.venue, up.position_id AS i_position_id
                 FROM input t
                 JOIN up ON true
                 LEFT JOIN positions p ON p.id = COALESCE(t.position_id, up.position_id)
                 WHERE (up.symbol IS NULL OR up.symbol = t.symbol)
                   AND (t.position_id IS NULL OR up.position_id IS NULL
                        OR up.position_id = t.position_id)
                   AND CASE WHEN up.kind = 'open' THEN
                           up.direction IS NULL
                           OR (CASE up.direction WHEN 'long' THEN 'BUY' ELSE 'SELL' END) = t.side
                       ELSE
                           p.id IS NOT NULL AND p.status = 'open' AND p.symbol = t.symbol
                           AND p.position_side = t.leg
                           AND (CASE p.direction WHEN 'long' THEN 'SELL' ELSE 'BUY' END) = t.side
                       END),
             o AS (
                 INSERT INTO orders (intent_id, intent_kind, position_id, venue, symbol, side,
                     position_side, order_type, quantity, price, reduce_only, client_order_id,
                     chunk_index, attempt, status)
                 SELECT f.i_id, f.kind, COALESCE(f.position_id, f.i_position_id), f.venue,
                        f.symbol, f.side, f.leg, f.order_type, f.quantity, f.price,
                        f.reduce_only, f.coid, f.chunk_index, f.attempt, 'planned'
                 FROM f
                 WHERE (SELECT count(*) FROM f) = (SELECT count(*) FROM input)
                   AND NOT (SELECT halted FROM gate)
                 ORDER BY f.ord
                 RETURNING 1)
             SELECT (SELECT count(*) FROM up) AS taken, (SELECT count(*) FROM o) AS stored,
                    (SELECT halted FROM gate) AS halted"
        ))
        .bind(id)
        .bind(venue)
        .bind(cause)
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
        .bind(halt_gate)
        .bind(super::control::HALT_KEY)
        .fetch_one(&self.pool)
        .await?;
        let taken: i64 = row.try_get("taken")?;
        let stored: i64 = row.try_get("stored")?;
        let halted: bool = row.try_get("halted")?;
        Ok(match (taken, stored) {
            (0, _) => TakeUp::Lost,
            (_, n) if n == orders.len() as i64 => TakeUp::Stored,
            _ if halted => TakeUp::Halted,
            _ => TakeUp::Refused,
        })
    }
}
