//! The evidence trail: every REST attempt the adapter made, one row each.
//!
//! Inserted in batches (one statement per batch) so a burst of retries during an
//! incident (seed 003) costs one round trip, not hundreds.

use sqlx::{Postgres, QueryBuilder};

use super::decode::Decoder;
use super::error::LedgerError;
use super::Ledger;
use crate::exchange::audit::AttemptRecord;

/// Rows per statement: 17 binds each stays far below Postgres' 65535-parameter limit.
const BATCH_ROWS: usize = 1000;

impl Ledger {
    /// Store `records`; returns how many rows were written.
    pub async fn insert_attempts(&self, records: &[AttemptRecord]) -> Result<u64, LedgerError> {
        let mut written = 0;
        for batch in records.chunks(BATCH_ROWS) {
            let mut q: QueryBuilder<Postgres> = QueryBuilder::new(
                "INSERT INTO order_attempts (venue, sent_at, exchange_time, method, endpoint, params,
                     is_order, symbol, client_order_id, http_status, error_code, error_msg,
                     error_class, latency_ms, used_weight_1m, order_count_10s, order_count_1m) ",
            );
            q.push_values(batch, |mut b, r| {
                b.push_bind(&r.venue)
                    .push_bind(r.sent_at)
                    .push_bind(r.exchange_time)
                    .push_bind(&r.method)
                    .push_bind(&r.endpoint)
                    .push_bind(&r.params)
                    .push_bind(r.is_order)
                    .push_bind(&r.symbol)
                    .push_bind(&r.client_order_id)
                    .push_bind(r.http_status.map(i32::from))
                    .push_bind(r.error_code)
                    .push_bind(&r.error_msg)
                    .push_bind(&r.error_class)
                    .push_bind(r.latency_ms.max(0))
                    .push_bind(r.used_weight_1m)
                    .push_bind(r.order_count_10s)
                    .push_bind(r.order_count_1m);
            });
            written += q.build().execute(&self.pool).await?.rows_affected();
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
