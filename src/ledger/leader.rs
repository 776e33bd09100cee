//! The leader lock: which of several `sluice run` processes on one ledger may trade.
//!
//! A session-level Postgres advisory lock, held on a dedicated connection (never a
//! pooled one: a pool recycles connections, and a session lock dies with its session).
//! Key: the two-integer form `pg_advisory_lock(classid, objid)` with
//! `classid` = [`LEADER_CLASSID`] (ASCII `sluc`) and `objid` = FNV-1a-32 of
//! `"<venue>/<database>"`. Advisory locks are already scoped to one database; putting
//! the database name in the key as well makes the key readable from the ledger's
//! identity alone and visible in `pg_locks` (`locktype = 'advisory'`, `objsubid = 2`).
//!
//! One lock per account (docs/accounts.md): the default account keeps the key above (so
//! daemons of a version without accounts still exclude each other on it); any other
//! account `a` hashes `"<venue>/<database>/<a>"`.
//!
//! Invariants:
//! - the lock is only ever taken with `pg_try_advisory_lock`: a waiter never blocks
//!   inside Postgres on a connection it cannot observe;
//! - "held" is re-proved from `pg_locks` for this backend, not remembered: a session
//!   that was terminated or lost answers an error, never "held";
//! - the server drops a half-open session (network partition) by TCP keepalives set
//!   per session here, so a dead holder's lock is released in bounded time.

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection};

use super::{Ledger, LedgerError};

/// `classid` of sluice's leader lock: the bytes `s l u c` (0x736c7563).
pub const LEADER_CLASSID: u32 = u32::from_be_bytes(*b"sluc");

/// The advisory-lock key of one ledger + venue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeaderKey {
    pub classid: u32,
    pub(crate) objid: u32,
}

impl LeaderKey {
    /// The key for `venue` trading on the ledger in `database`. Stable across builds
    /// and platforms (FNV-1a, not the std hasher).
    pub(crate) fn derive(venue: &str, database: &str) -> LeaderKey {
        Self::hash(venue.bytes().chain([b'/']).chain(database.bytes()))
    }

    /// The key of `account` (not the default one) on that ledger and venue.
    pub(crate) fn derive_for_account(venue: &str, database: &str, account: &str) -> LeaderKey {
        let ledger = venue.bytes().chain([b'/']).chain(database.bytes());
        Self::hash(ledger.chain([b'/']).chain(account.bytes()))
    }

    fn hash(bytes: impl Iterator<Item = u8>) -> LeaderKey {
        let mut hash: u32 = 0x811c_9dc5;
        for byte in bytes {
            hash ^= u32::from(byte);
            hash = hash.wrapping_mul(0x0100_0193);
        }
        LeaderKey {
            classid: LEADER_CLASSID,
            objid: hash,
        }
    }

    /// Postgres takes the two keys as `int4`; `pg_locks` shows them as `oid` (unsigned).
    fn as_sql(self) -> (i32, i32) {
        (
            i32::from_be_bytes(self.classid.to_be_bytes()),
            i32::from_be_bytes(self.objid.to_be_bytes()),
        )
    }
}

impl std::fmt::Display for LeaderKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "advisory({}, {})", self.classid, self.objid)
    }
}

/// Who holds the lock, as Postgres sees that session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockHolder {
    pub pid: i32,
    /// The holder's `application_name` (sluice puts host, pid and API address there).
    pub application_name: Option<String>,
    pub(crate) client_addr: Option<String>,
}

impl std::fmt::Display for LockHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = self.application_name.as_deref().unwrap_or("?");
        let addr = self.client_addr.as_deref().unwrap_or("local");
        write!(f, "'{name}' (backend pid {}, from {addr})", self.pid)
    }
}

/// How the dedicated connection is opened.
#[derive(Clone, Debug)]
pub struct LockSessionOptions {
    pub venue: String,
    /// Shown in `pg_stat_activity` so an operator (and the standby) can tell who leads.
    pub application_name: String,
    /// The server declares this session dead after about `keepalive_idle` + 3 × 2 s of
    /// silence (TCP connections only).
    pub keepalive_idle: Duration,
    /// The account this session may lead; None: the default account.
    pub account: Option<String>,
}

/// One dedicated connection that may hold the leader lock.
pub struct LockSession {
    pub(super) conn: PgConnection,
    key: LeaderKey,
    pub(super) venue: String,
    /// The account's id; None: the default account (resolved by the database when a
    /// term is written, so a session can open on a ledger not yet migrated).
    pub(super) account_id: Option<i64>,
}

impl Ledger {
    /// Open a dedicated connection (same server and database as the pool) for the
    /// leader lock. Nothing is locked yet.
    pub async fn lock_session(
        &self,
        opts: &LockSessionOptions,
    ) -> Result<LockSession, LedgerError> {
        let connect: PgConnectOptions = (*self.pool.connect_options()).clone();
        LockSession::open(connect, opts).await
    }
}

impl LockSession {
    async fn open(
        connect: PgConnectOptions,
        opts: &LockSessionOptions,
    ) -> Result<LockSession, LedgerError> {
        let mut conn = connect
            .application_name(&opts.application_name)
            .connect()
            .await?;
        let idle = opts.keepalive_idle.as_secs().max(1);
        // Server-side keepalives for this session only; ignored on Unix sockets.
        for set in [
            format!("SET tcp_keepalives_idle = {idle}"),
            "SET tcp_keepalives_interval = 2".to_string(),
            "SET tcp_keepalives_count = 3".to_string(),
        ] {
            sqlx::query(&set).execute(&mut conn).await?;
        }
        let (database,): (String,) = sqlx::query_as("SELECT current_database()")
            .fetch_one(&mut conn)
            .await?;
        let (key, account_id) = match opts.account.as_deref() {
            None => (LeaderKey::derive(&opts.venue, &database), None),
            Some(name) => {
                let row: Option<(i64, bool)> =
                    sqlx::query_as("SELECT id, is_default FROM accounts WHERE name = $1")
                        .bind(name)
                        .fetch_optional(&mut conn)
                        .await?;
                let (id, is_default) =
                    row.ok_or_else(|| LedgerError::not_found(format!("account '{name}'")))?;
                let key = if is_default {
                    LeaderKey::derive(&opts.venue, &database)
                } else {
                    LeaderKey::derive_for_account(&opts.venue, &database, name)
                };
                (key, Some(id))
            }
        };
        Ok(LockSession {
            conn,
            key,
            venue: opts.venue.clone(),
            account_id,
        })
    }

    pub fn key(&self) -> LeaderKey {
        self.key
    }

    /// Take the lock if nobody holds it; never waits. Re-entrant on this session.
    pub async fn try_acquire(&mut self) -> Result<bool, LedgerError> {
        let (a, b) = self.key.as_sql();
        let (got,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_lock($1, $2)")
            .bind(a)
            .bind(b)
            .fetch_one(&mut self.conn)
            .await?;
        Ok(got)
    }

    /// Whether this session holds the lock now, proved by `pg_locks`. A broken
    /// connection is an error (the caller must assume the lock is gone).
    pub async fn still_held(&mut self) -> Result<bool, LedgerError> {
        let (held,): (bool,) = sqlx::query_as(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' \
             AND pid = pg_backend_pid() AND granted AND objsubid = 2 \
             AND classid = $1::int8::oid AND objid = $2::int8::oid)",
        )
        .bind(i64::from(self.key.classid))
        .bind(i64::from(self.key.objid))
        .fetch_one(&mut self.conn)
        .await?;
        Ok(held)
    }

    /// The session holding the lock (None when nobody does).
    pub async fn holder(&mut self) -> Result<Option<LockHolder>, LedgerError> {
        let row: Option<(i32, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT l.pid, a.application_name, host(a.client_addr) FROM pg_locks l \
             LEFT JOIN pg_stat_activity a ON a.pid = l.pid \
             WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 \
             AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
             AND l.classid = $1::int8::oid AND l.objid = $2::int8::oid LIMIT 1",
        )
        .bind(i64::from(self.key.classid))
        .bind(i64::from(self.key.objid))
        .fetch_optional(&mut self.conn)
        .await?;
        Ok(row.map(|(pid, application_name, client_addr)| LockHolder {
            pid,
            application_name,
            client_addr,
        }))
    }

    /// This session's backend pid (what `pg_terminate_backend` takes).
    pub async fn backend_pid(&mut self) -> Result<i32, LedgerError> {
        let (pid,): (i32,) = sqlx::query_as("SELECT pg_backend_pid()")
            .fetch_one(&mut self.conn)
            .await?;
        Ok(pid)
    }

    /// Close the connection; the server releases every lock of the session.
    pub async fn close(self) {
        if let Err(e) = self.conn.close().await {
            tracing::debug!(error = %e, "closing the leader-lock connection failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_stable_and_names_venue_and_database() {
        let a = LeaderKey::derive("binance-usdm", "sluice");
        assert_eq!(a, LeaderKey::derive("binance-usdm", "sluice"));
        assert_eq!(a.classid, 0x736c_7563);
        assert_ne!(a, LeaderKey::derive("binance-usdm", "sluice_paper"));
        assert_ne!(a, LeaderKey::derive("binance-coinm", "sluice"));
        // The separator keeps ("ab", "c") and ("a", "bc") apart.
        assert_ne!(LeaderKey::derive("ab", "c"), LeaderKey::derive("a", "bc"));
    }

    #[test]
    fn each_account_has_its_own_key_on_one_ledger() {
        let b = LeaderKey::derive_for_account("binance-usdm", "sluice", "b");
        let c = LeaderKey::derive_for_account("binance-usdm", "sluice", "c");
        assert_ne!(b, c);
        assert_ne!(b, LeaderKey::derive("binance-usdm", "sluice"));
        assert_eq!(b.classid, LEADER_CLASSID);
        assert_eq!(
            b,
            LeaderKey::derive_for_account("binance-usdm", "sluice", "b")
        );
    }

    #[test]
    fn the_sql_keys_keep_every_bit() {
        let key = LeaderKey {
            classid: LEADER_CLASSID,
            objid: 0xffff_fffe,
        };
        let (a, b) = key.as_sql();
        assert_eq!(a as u32, LEADER_CLASSID);
        assert_eq!(b, -2);
    }
}
