//! The event outbox (migration `20261206160000_events_outbox.sql`): every intent state
//! change, order placed or answered, fill, position change, breaker transition, halt
//! change and ledger adjustment is written as an `events` row by a deferred trigger in
//! the transaction that makes the change; key-loss and reconcile findings, which have no
//! row of their own, are appended here ([`Ledger::append_event`]).
//!
//! Invariants:
//! - a row's `seq` is taken at its transaction's commit under one advisory lock, so the
//!   order of `seq` is the order in which the changes became visible: a reader that has
//!   seen `seq` N has seen every committed row below N (see the migration);
//! - a page and the retention floor are read in ONE statement (one snapshot), so a
//!   pruning running at the same time can never make a page silently skip rows;
//! - pruning deletes a prefix of the sequence and raises the floor in one statement;
//! - every row belongs to one account (docs/accounts.md); a page is one account's, the
//!   default account's unless another is named. The sequence is shared by all accounts,
//!   so one account's page has gaps where another account's rows are.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

use super::error::LedgerError;
use super::Ledger;

/// Kinds a caller may append itself (the others are written by the tables' triggers).
pub(crate) const APPENDED_KINDS: [&str; 2] = ["key_loss", "reconcile"];

/// One stored event.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EventRecord {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub kind: String,
    pub payload: serde_json::Value,
}

/// Events after a cursor, read in one snapshot with the retention floor.
#[derive(Clone, Debug, PartialEq)]
pub struct EventPage {
    /// Every event with `seq <= floor` was deleted by retention.
    pub floor: i64,
    /// The newest event visible when the page was read (`floor` when none is kept).
    pub newest: i64,
    pub events: Vec<EventRecord>,
}

impl Ledger {
    /// Up to `limit` events with `seq > since`, in order.
    pub async fn events_after(&self, since: i64, limit: i64) -> Result<EventPage, LedgerError> {
        self.events_of(None, since, limit).await
    }

    /// As [`Self::events_after`] for the account with id `account` (None: the default
    /// account). `newest` is the ledger's newest sequence number, of any account.
    pub async fn events_of(
        &self,
        account: Option<i64>,
        since: i64,
        limit: i64,
    ) -> Result<EventPage, LedgerError> {
        let rows = sqlx::query(
            "SELECT f.floor, (SELECT COALESCE(max(seq), f.floor) FROM events) AS newest,
                    e.seq, e.at, e.kind, e.payload
             FROM events_floor f
             LEFT JOIN LATERAL (SELECT * FROM events WHERE seq > $1
                 AND account_id = COALESCE($3, sluice_account()) ORDER BY seq LIMIT $2) e
                 ON true",
        )
        .bind(since)
        .bind(limit.clamp(1, 10_000))
        .bind(account)
        .fetch_all(&self.pool)
        .await?;
        let first = rows.first().ok_or_else(|| LedgerError::Corrupt {
            table: "events_floor",
            row_id: 0,
            reason: "the one row is missing".into(),
        })?;
        let floor: i64 = first.try_get("floor")?;
        let newest: i64 = first.try_get("newest")?;
        let mut events = Vec::with_capacity(rows.len());
        for r in &rows {
            let Some(seq) = r.try_get::<Option<i64>, _>("seq")? else {
                continue;
            };
            events.push(EventRecord {
                seq,
                at: r.try_get("at")?,
                kind: r.try_get("kind")?,
                payload: r.try_get("payload")?,
            });
        }
        Ok(EventPage {
            floor,
            newest: newest.max(floor),
            events,
        })
    }

    /// Append an event that no table row carries (`key_loss`, `reconcile`), in a
    /// transaction of its own.
    pub async fn append_event(
        &self,
        kind: &str,
        payload: &serde_json::Value,
    ) -> Result<(), LedgerError> {
        if !APPENDED_KINDS.contains(&kind) {
            return Err(LedgerError::invalid(
                "kind",
                format!("`{kind}` is written by the ledger's triggers, not appended"),
            ));
        }
        if !payload.is_object() {
            return Err(LedgerError::invalid("payload", "must be a JSON object"));
        }
        sqlx::query("SELECT sluice_emit($1, $2)")
            .bind(kind)
            .bind(payload)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Delete the events older than `before` (a prefix of the sequence) and raise the
    /// floor to the last one deleted. Returns how many were deleted.
    pub async fn prune_events(&self, before: DateTime<Utc>) -> Result<u64, LedgerError> {
        let deleted: Option<i64> = sqlx::query_scalar(
            "WITH cut AS (SELECT max(seq) AS s FROM events WHERE at < $1),
                  d AS (DELETE FROM events WHERE seq <= (SELECT s FROM cut) RETURNING seq),
                  f AS (UPDATE events_floor SET floor = GREATEST(floor, (SELECT max(seq) FROM d))
                        WHERE EXISTS (SELECT 1 FROM d) RETURNING floor)
             SELECT count(*) FROM d",
        )
        .bind(before)
        .fetch_one(&self.pool)
        .await?;
        Ok(u64::try_from(deleted.unwrap_or(0)).unwrap_or(0))
    }
}
