//! The evidence trail: every REST attempt the adapter made, one row each.
//!
//! Inserted in batches (one statement per batch) so a burst of retries during an
//! incident (seed 003) costs one round trip, not hundreds. The statement is one fixed text
//! whatever the batch size (each column bound as an array and unnested), so it is parsed
//! and planned once per connection and reused: a `VALUES` list of one row per record was
//! a new statement for every batch size.

use chrono::{DateTime, Utc};

use super::decode::Decoder;
use super::error::LedgerError;
use super::Ledger;
use crate::exchange::audit::AttemptRecord;

/// Rows per statement (a bound on one statement's size, not a protocol limit).
const BATCH_ROWS: usize = 1000;

const INSERT: &str = "INSERT INTO order_attempts (venue, sent_at, exchange_time, method, endpoint,
        params, is_order, symbol, client_order_id, http_status, error_code, error_msg,
        error_class, latency_ms, used_weight_1m, order_count_10s, order_count_1m)
    SELECT * FROM UNNEST($1::text[], $2::timestamptz[], $3::timestamptz[], $4::text[],
        $5::text[], $6::text[], $7::bool[], $8::text[], $9::text[], $10::int4[], $11::int8[],
        $12::text[], $13::text[], $14::int8[], $15::int8[], $16::int8[], $17::int8[])";

impl Ledger {
    /// Store `records`; returns how many rows were written.
    pub async fn insert_attempts(&self, records: &[AttemptRecord]) -> Result<u64, LedgerError> {
        let mut written = 0;
        for batch in records.chunks(BATCH_ROWS) {
            written += insert_batch(batch)
                .execute(&self.pool)
                .await?
                .rows_affected();
        }
        Ok(written)
    }

    /// Attempts about one clientOrderId, oldest first (the evidence for one order).
    pub async fn attempts_for(
        &self,
        client_order_id: &str,
    ) -> Result<Vec<AttemptRecord>, LedgerError> {
        let rows = sqlx::query(
            "SELECT * FROM order_attempts WHERE client_order_id = $1 ORDER BY sent_at, id",
        )
        .bind(client_order_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(decode_attempt).collect()
    }
}

fn decode_attempt(row: &sqlx::postgres::PgRow) -> Result<AttemptRecord, LedgerError> {
    let d = Decoder::new(row, "order_attempts");
    let http_status: Option<i32> = d.get("http_status")?;
    Ok(AttemptRecord {
        venue: d.text("venue")?,
        sent_at: d.time("sent_at")?,
        exchange_time: d.get("exchange_time")?,
        method: d.text("method")?,
        endpoint: d.text("endpoint")?,
        params: d.text("params")?,
        is_order: d.get("is_order")?,
        symbol: d.get("symbol")?,
        client_order_id: d.get("client_order_id")?,
        http_status: http_status.and_then(|s| u16::try_from(s).ok()),
        error_code: d.get("error_code")?,
        error_msg: d.get("error_msg")?,
        error_class: d.get("error_class")?,
        latency_ms: d.get("latency_ms")?,
        used_weight_1m: d.get("used_weight_1m")?,
        order_count_10s: d.get("order_count_10s")?,
        order_count_1m: d.get("order_count_1m")?,
    })
}

/// The fixed insert with `batch` bound column by column.
fn insert_batch(
    batch: &[AttemptRecord],
) -> sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments> {
    fn col<'a, T>(batch: &'a [AttemptRecord], f: impl Fn(&'a AttemptRecord) -> T) -> Vec<T> {
        batch.iter().map(f).collect()
    }
    let times: Vec<DateTime<Utc>> = col(batch, |r| r.sent_at);
    sqlx::query(INSERT)
        .bind(col(batch, |r| r.venue.as_str()))
        .bind(times)
        .bind(col(batch, |r| r.exchange_time))
        .bind(col(batch, |r| r.method.as_str()))
        .bind(col(batch, |r| r.endpoint.as_str()))
        .bind(col(batch, |r| r.params.as_str()))
        .bind(col(batch, |r| r.is_order))
        .bind(col(batch, |r| r.symbol.as_deref()))
        .bind(col(batch, |r| r.client_order_id.as_deref()))
        .bind(col(batch, |r| r.http_status.map(i32::from)))
        .bind(col(batch, |r| r.error_code))
        .bind(col(batch, |r| r.error_msg.as_deref()))
        .bind(col(batch, |r| r.error_class.as_deref()))
        .bind(col(batch, |r| r.latency_ms.max(0)))
        .bind(col(batch, |r| r.used_weight_1m))
        .bind(col(batch, |r| r.order_count_10s))
        .bind(col(batch, |r| r.order_count_1m))
}
