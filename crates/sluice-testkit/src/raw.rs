//! Writes that bypass the ledger's rules, to build the bad states (phantom positions,
//! drifted quantities) that `doctor` must find. Only tests write this way; sluice has
//! no such path.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use sluice::ledger::{Ledger, LedgerError, PositionId};

/// A position row exactly as given, with no rule applied.
#[derive(Clone, Debug)]
pub struct RawPosition {
    pub venue: String,
    pub symbol: String,
    pub direction: String,
    pub position_side: String,
    pub status: String,
    pub quantity: Decimal,
    pub entry_price: Decimal,
    pub opened_quantity: Decimal,
    pub closed_quantity: Decimal,
    pub exit_price: Option<Decimal>,
    pub opened_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

/// Insert `p` as is (origin `sluice`).
pub async fn insert_raw_position(
    ledger: &Ledger,
    p: &RawPosition,
) -> Result<PositionId, LedgerError> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO positions (venue, symbol, direction, position_side, status, quantity,
             entry_price, opened_quantity, closed_quantity, exit_price, origin, opened_at, closed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'sluice', $11, $12) RETURNING id",
    )
    .bind(&p.venue)
    .bind(&p.symbol)
    .bind(&p.direction)
    .bind(&p.position_side)
    .bind(&p.status)
    .bind(p.quantity)
    .bind(p.entry_price)
    .bind(p.opened_quantity)
    .bind(p.closed_quantity)
    .bind(p.exit_price)
    .bind(p.opened_at)
    .bind(p.closed_at)
    .fetch_one(ledger.pool())
    .await?;
    Ok(PositionId(id))
}

/// Overwrite a position's quantity without any adjustment row.
pub async fn set_raw_quantity(
    ledger: &Ledger,
    id: PositionId,
    quantity: Decimal,
) -> Result<(), LedgerError> {
    sqlx::query("UPDATE positions SET quantity = $2 WHERE id = $1")
        .bind(id)
        .bind(quantity)
        .execute(ledger.pool())
        .await?;
    Ok(())
}
