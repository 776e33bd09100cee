//! How far each in-flight order has got, read for a whole job in one query: the four
//! columns the executor's settling looks at on every step (status, quantity, filled
//! quantity, expire reason), not the whole row.
//!
//! The executor reads this for every chunk it has out each time the job steps (every
//! answer and every drain of the user stream), so the row is kept to what that decision
//! needs; an order that settles short reads its full row afterwards
//! ([`Ledger::order_by_client_id`]). Every column is checked as `OrderRow` checks it: a
//! row that breaks a constructor is `LedgerError::Corrupt`, never a panic.

use sqlx::postgres::PgRow;
use sqlx::Row;

use super::error::LedgerError;
use super::model::OrderRow;
use super::Ledger;
use crate::domain::{ExpireReason, OrderState, Qty};

/// The settling view of one order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderProgress {
    pub client_order_id: String,
    pub status: OrderState,
    pub quantity: Qty,
    pub filled_quantity: Qty,
    pub expire_reason: Option<ExpireReason>,
}

impl From<OrderRow> for OrderProgress {
    fn from(o: OrderRow) -> Self {
        OrderProgress {
            client_order_id: o.client_order_id,
            status: o.status,
            quantity: o.quantity,
            filled_quantity: o.filled_quantity,
            expire_reason: o.expire_reason,
        }
    }
}

impl Ledger {
    /// The settling view of the orders with these client order ids (unknown ids are
    /// left out), in one query.
    pub async fn order_progress(
        &self,
        client_order_ids: &[String],
    ) -> Result<Vec<OrderProgress>, LedgerError> {
        if client_order_ids.is_empty() {
            return Ok(Vec::new());
        }
        sqlx::query(
            "SELECT id, client_order_id, status, quantity, filled_quantity, expire_reason
             FROM orders WHERE client_order_id = ANY($1)",
        )
        .bind(client_order_ids)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(decode)
        .collect()
    }
}

/// Columns by position, as selected above (a name lookup per column cost more than the
/// rest of the decoding).
fn decode(row: &PgRow) -> Result<OrderProgress, LedgerError> {
    let id: i64 = row.try_get(0)?;
    let corrupt = |column: &str, reason: String| LedgerError::Corrupt {
        table: "orders",
        row_id: id,
        reason: format!("column {column}: {reason}"),
    };
    let status: String = row.try_get(2)?;
    let qty = |i: usize, column: &str| -> Result<Qty, LedgerError> {
        let d = row.try_get(i)?;
        Qty::new(column, d).map_err(|e| corrupt(column, e.to_string()))
    };
    Ok(OrderProgress {
        client_order_id: row.try_get(1)?,
        status: OrderState::parse(&status).map_err(|e| corrupt("status", e.to_string()))?,
        quantity: qty(3, "quantity")?,
        filled_quantity: qty(4, "filled_quantity")?,
        expire_reason: row
            .try_get::<Option<i16>, _>(5)?
            .map(ExpireReason::from_code),
    })
}
