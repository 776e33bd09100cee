//! Raw exchange state: what the venue last said each position leg holds.
//!
//! Never read for budget or UI (the ledger's `positions` are the truth); kept to
//! compare against. A row is only overwritten by an event with a newer event time,
//! so a late or replayed event cannot roll the exchange's view back.
//!
//! A REST read (`GET /fapi/v3/positionRisk`) lists only symbols with a position or open
//! orders (docs/binance-fapi.md §2.3): a complete snapshot therefore also says that every
//! stored leg it does not list is flat ([`Ledger::record_exchange_snapshot`]). Without
//! that, a leg closed while the user stream was silent would keep its old size forever.

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

    /// Store a complete REST snapshot of the venue's positions, asked for at `asked_at`:
    /// the listed legs as [`Self::record_exchange_positions`] does, and every stored
    /// non-zero leg it does not list set to zero as of `asked_at` (unless an event newer
    /// than that was stored meanwhile). One transaction.
    pub async fn record_exchange_snapshot(
        &self,
        venue: &str,
        reported: &[ExchangePosition],
        asked_at: DateTime<Utc>,
    ) -> Result<(), LedgerError> {
        let mut tx = self.pool.begin().await?;
        upsert_in(&mut tx, venue, reported).await?;
        let symbols: Vec<&str> = reported.iter().map(|p| p.symbol.as_str()).collect();
        let sides: Vec<&str> = reported.iter().map(|p| p.position_side.as_wire()).collect();
        sqlx::query(
            "UPDATE exchange_positions e
                SET amount = 0, entry_price = 0, event_time = $4, updated_at = now()
              WHERE e.venue = $1 AND e.account_id = sluice_account() AND e.amount <> 0 AND e.event_time < $4
                AND NOT EXISTS (SELECT 1 FROM unnest($2::text[], $3::text[]) AS l(symbol, side)
                                 WHERE l.symbol = e.symbol AND l.side = e.position_side)",
        )
        .bind(venue)
        .bind(&symbols)
        .bind(&sides)
        .bind(asked_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn exchange_positions(&self) -> Result<Vec<ExchangePositionRow>, LedgerError> {
        let rows = sqlx::query(
            "SELECT * FROM exchange_positions WHERE account_id = sluice_account() \
                 ORDER BY venue, symbol, position_side",
        )
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

/// Store `reported` legs in one statement, newer event wins; of equally new ones the one
/// reported later wins (the events of one millisecond, e.g. a batch of orders filling
/// together, arrive in order), as one statement per report would.
pub(crate) async fn upsert_in(
    conn: &mut PgConnection,
    venue: &str,
    reported: &[ExchangePosition],
) -> Result<(), LedgerError> {
    let mut newest: Vec<&ExchangePosition> = Vec::with_capacity(reported.len());
    for p in reported {
        if p.entry_price.is_sign_negative() && !p.entry_price.is_zero() {
            return Err(LedgerError::invalid(
                "entry_price",
                format!("{} for {} is negative", p.entry_price, p.symbol),
            ));
        }
        let same =
            |q: &&mut &ExchangePosition| q.symbol == p.symbol && q.position_side == p.position_side;
        match newest.iter_mut().find(same) {
            // Same time: the later report wins (a batch of orders fills in one ms).
            Some(q) if q.update_time <= p.update_time => *q = p,
            Some(_) => {}
            None => newest.push(p),
        }
    }
    if newest.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO exchange_positions (venue, symbol, position_side, amount, entry_price, event_time)
         SELECT $1, u.* FROM unnest($2::text[], $3::text[], $4::numeric[], $5::numeric[],
             $6::timestamptz[]) AS u(symbol, position_side, amount, entry_price, event_time)
         ON CONFLICT (account_id, venue, symbol, position_side) DO UPDATE
           SET amount = EXCLUDED.amount, entry_price = EXCLUDED.entry_price,
               event_time = EXCLUDED.event_time, updated_at = now()
           WHERE exchange_positions.event_time <= EXCLUDED.event_time",
    )
    .bind(venue)
    .bind(newest.iter().map(|p| p.symbol.as_str()).collect::<Vec<_>>())
    .bind(newest.iter().map(|p| p.position_side.as_wire()).collect::<Vec<_>>())
    .bind(newest.iter().map(|p| p.amount).collect::<Vec<_>>())
    .bind(newest.iter().map(|p| p.entry_price).collect::<Vec<_>>())
    .bind(newest.iter().map(|p| p.update_time).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(())
}
