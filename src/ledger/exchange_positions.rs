//! Raw exchange state: what the venue last said each position leg holds.
//!
//! Never read for budget or UI (the ledger's `positions` are the truth); kept to
//! compare against. A row is only overwritten by an event with a newer event time,
//! so a late or replayed event cannot roll the exchange's view back.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;

use super::decode::Decoder;
use super::error::LedgerError;
use super::Ledger;
use crate::domain::{PositionSide, Symbol};
use crate::exchange::ExchangePosition;

/// One stored leg as the exchange last reported it. `amount` is signed (one-way:
/// negative = short; hedge SHORT legs are reported negative by Binance too).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExchangePositionRow {
    pub venue: String,
    pub symbol: Symbol,
    pub position_side: PositionSide,
    pub amount: Decimal,
    pub entry_price: Decimal,
    pub event_time: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Ledger {
    /// Store a snapshot of positions (REST resync or ACCOUNT_UPDATE), newer wins.
    pub async fn record_exchange_positions(
        &self,
        venue: &str,
        reported: &[ExchangePosition],
    ) -> Result<(), LedgerError> {
        let mut tx = self.pool.begin().await?;
        upsert_in(&mut tx, venue, reported).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn exchange_positions(&self) -> Result<Vec<ExchangePositionRow>, LedgerError> {
        let rows =
            sqlx::query("SELECT * FROM exchange_positions ORDER BY venue, symbol, position_side")
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| {
                let d = Decoder::new(r, "exchange_positions");
                Ok(ExchangePositionRow {
                    venue: d.text("venue")?,
                    symbol: d.symbol("symbol")?,
                    position_side: d.position_side("position_side")?,
                    amount: d.decimal("amount")?,
                    entry_price: d.decimal("entry_price")?,
                    event_time: d.time("event_time")?,
                    updated_at: d.time("updated_at")?,
                })
            })
            .collect()
    }
}

pub(crate) async fn upsert_in(
    conn: &mut PgConnection,
    venue: &str,
    reported: &[ExchangePosition],
) -> Result<(), LedgerError> {
    for p in reported {
        if p.entry_price.is_sign_negative() && !p.entry_price.is_zero() {
            return Err(LedgerError::invalid(
                "entry_price",
                format!("{} for {} is negative", p.entry_price, p.symbol),
            ));
        }
        sqlx::query(
            "INSERT INTO exchange_positions (venue, symbol, position_side, amount, entry_price, event_time)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (venue, symbol, position_side) DO UPDATE
               SET amount = EXCLUDED.amount, entry_price = EXCLUDED.entry_price,
                   event_time = EXCLUDED.event_time, updated_at = now()
               WHERE exchange_positions.event_time < EXCLUDED.event_time",
        )
        .bind(venue)
        .bind(p.symbol.as_str())
        .bind(p.position_side.as_wire())
        .bind(p.amount)
        .bind(p.entry_price)
        .bind(p.update_time)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
