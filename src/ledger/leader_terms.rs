//! Leader terms: a row per time a daemon took the leader lock, and whether it stopped
//! cleanly. The startup decides from the previous row whether the takeover grace is needed
//! (`startup::leadership::grace_decision`).
//!
//! Invariants (the fencing argument, see the README's runbook):
//! - a term row is written on the connection that HOLDS the lock, after taking it and
//!   before anything is signed; the lock is exclusive, so the latest row names the only
//!   daemon that may have signed since the row before it;
//! - the clean-stop mark is written on that same connection after the executor stopped,
//!   before the lock is released: a daemon that lost its lock (its session is gone) can
//!   never mark its term clean.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{LedgerError, LockSession};

/// The row this leader wrote when it took the lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LeaderTerm {
    pub id: i64,
}

/// The term before this one, as this leader found it.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub(crate) struct PreviousTerm {
    pub(crate) instance: Uuid,
    pub holder: String,
    pub(crate) acquired_at: DateTime<Utc>,
    pub stopped_cleanly_at: Option<DateTime<Utc>>,
    /// Milliseconds from now (the database's clock) until its last signed request has
    /// surely expired; 0 when that moment has passed.
    pub(crate) quiet_in_ms: i64,
}

impl LockSession {
    /// Record a new term for `instance` (this session must hold the lock) and return it
    /// with the previous term of the venue, read in the same transaction.
    pub(crate) async fn begin_term(
        &mut self,
        instance: Uuid,
        holder: &str,
    ) -> Result<(LeaderTerm, Option<PreviousTerm>), LedgerError> {
        let mut tx = sqlx::Connection::begin(&mut self.conn).await?;
        let previous: Option<PreviousTerm> = sqlx::query_as(
            "SELECT instance, holder, acquired_at, stopped_cleanly_at, \
             GREATEST(0, CEIL(EXTRACT(EPOCH FROM (coalesce(quiet_at, now()) - now())) * 1000))::int8 \
             AS quiet_in_ms FROM leader_terms WHERE account_id = sluice_default_account() \
             AND venue = $1 ORDER BY id DESC LIMIT 1",
        )
        .bind(&self.venue)
        .fetch_optional(&mut *tx)
        .await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO leader_terms (venue, instance, holder) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(&self.venue)
        .bind(instance)
        .bind(holder)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((LeaderTerm { id }, previous))
    }

    /// Mark `term` as stopped cleanly: the executor has stopped and nothing more will be
    /// signed; a request it signed may reach the exchange for `quiet_for` more.
    pub(crate) async fn end_term_cleanly(
        &mut self,
        term: LeaderTerm,
        quiet_for: std::time::Duration,
    ) -> Result<(), LedgerError> {
        let ms = i64::try_from(quiet_for.as_millis()).unwrap_or(i64::MAX);
        sqlx::query(
            "UPDATE leader_terms SET stopped_cleanly_at = now(), \
             quiet_at = now() + make_interval(secs => ($2::int8)::float8 / 1000) WHERE id = $1",
        )
        .bind(term.id)
        .bind(ms)
        .execute(&mut self.conn)
        .await?;
        Ok(())
    }
}
