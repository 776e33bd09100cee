//! Leader terms: a row per time a daemon took the leader lock, and whether it stopped
//! cleanly, per account. The startup decides from the previous row of its account whether
//! the takeover grace is needed (`startup::leadership::grace_decision`).
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
    /// with the previous term of the venue and account, read in the same transaction.
    pub(crate) async fn begin_term(
        &mut self,
        instance: Uuid,
        holder: &str,
    ) -> Result<(LeaderTerm, Option<PreviousTerm>), LedgerError> {
        let mut tx = sqlx::Connection::begin(&mut self.conn).await?;
        let previous: Option<PreviousTerm> = sqlx::query_as(
            "SELECT instance, holder, acquired_at, stopped_cleanly_at, \
             GREATEST(0, CEIL(EXTRACT(EPOCH FROM (coalesce(quiet_at, now()) - now())) * 1000))::int8 \
             AS quiet_in_ms FROM leader_terms WHERE account_id = COALESCE($2, sluice_account()) \
             AND venue = $1 ORDER BY id DESC LIMIT 1",
        )
        .bind(&self.venue)
        .bind(self.account_id)
        .fetch_optional(&mut *tx)
        .await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO leader_terms (venue, instance, holder, account_id) \
             VALUES ($1, $2, $3, COALESCE($4, sluice_account())) RETURNING id",
        )
        .bind(&self.venue)
        .bind(instance)
        .bind(holder)
        .bind(self.account_id)
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use sqlx::PgPool;
    use uuid::Uuid;

    use crate::ledger::{Ledger, LockSessionOptions, NewAccount};

    fn options(account: &str) -> LockSessionOptions {
        LockSessionOptions {
            venue: "binance-usdm".into(),
            application_name: format!("sluice test {account}"),
            keepalive_idle: Duration::from_secs(5),
            account: Some(account.into()),
        }
    }

    async fn add(ledger: &Ledger, name: &str) {
        let new = NewAccount {
            name,
            venue: Some("binance-usdm"),
            position_mode: Some("one-way"),
            allocation_usdt: None,
            symbols: &[],
            credential_source: None,
        };
        ledger.upsert_account(&new).await.unwrap();
    }

    #[sqlx::test(migrations = "./migrations")]
    async fn a_new_leader_reads_the_previous_term_of_its_own_account_only(pool: PgPool) {
        let ledger = Ledger::from_pool(pool);
        add(&ledger, "b").await;
        add(&ledger, "c").await;
        let mut b = ledger.lock_session(&options("b")).await.unwrap();
        assert!(b.try_acquire().await.unwrap());
        let (term, first) = b.begin_term(Uuid::new_v4(), "first b").await.unwrap();
        b.end_term_cleanly(term, Duration::ZERO).await.unwrap();
        b.close().await;

        let mut c = ledger.lock_session(&options("c")).await.unwrap();
        assert!(c.try_acquire().await.unwrap());
        let (_, before_c) = c.begin_term(Uuid::new_v4(), "first c").await.unwrap();
        let mut b = ledger.lock_session(&options("b")).await.unwrap();
        assert!(b.try_acquire().await.unwrap());
        let (_, before_b) = b.begin_term(Uuid::new_v4(), "second b").await.unwrap();

        assert_eq!(first, None);
        assert_eq!(before_c, None, "b's term is not c's previous term");
        let before_b = before_b.expect("b's first term");
        assert_eq!(before_b.holder, "first b");
        assert!(before_b.stopped_cleanly_at.is_some());
    }
}
