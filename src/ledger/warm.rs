//! Warming a pooled connection: the accept's PL/pgSQL functions (`sluice_accept_opens`,
//! the budget's fold and the reservation triggers) are compiled and planned per
//! connection on their first call. Left to the first real accept, that work (tens of ms
//! on a busy machine) runs while it holds the account's opens lock, and every open of
//! the account queues behind it: the first accept on each of the pool's connections made
//! the slowest creations of a run.
//!
//! So each new connection of the daemon's pool runs the accept twice first, inside a transaction that is
//! rolled back, for a throwaway account created in the same transaction. Invariants:
//! - nothing is ever committed (the account, the intents, their reservation rows);
//! - no lock another session waits for is taken: the opens lock is the throwaway
//!   account's own, the fold and the reservation rows are that account's, and the
//!   intents' outbox rows are written only at commit, so the events lock and its
//!   numbering are never touched;
//! - a failure (a ledger not migrated yet, a name taken) only leaves the connection
//!   cold: it is logged at debug and the connection is used as it is;
//! - the rolled-back rows still take values of the accounts' and intents' identity
//!   sequences (ids have gaps, as after any rollback): only the daemon's pool warms, not
//!   the pools of the operator tools, the tests and the benches.

use sqlx::postgres::{PgConnection, PgPoolOptions};
use sqlx::Connection as _;

use super::budget::OPEN_BUDGET_LOCK;
use super::control::HALT_KEY;

/// Warm every connection the pool opens (see the module doc).
pub(crate) fn warm_on_connect(pool: PgPoolOptions) -> PgPoolOptions {
    pool.after_connect(|conn, _meta| {
        Box::pin(async move {
            warm(conn).await;
            Ok(())
        })
    })
}

/// Run the accept on `conn` and roll it back; a failure leaves it cold (logged).
pub(super) async fn warm(conn: &mut PgConnection) {
    if let Err(e) = accept_and_roll_back(conn).await {
        tracing::debug!(error = %e, "ledger connection not warmed");
    }
}

async fn accept_and_roll_back(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    let mut tx = conn.begin().await?;
    let account: i64 = sqlx::query_scalar(
        "INSERT INTO accounts (name) VALUES ('warm-up-' || pg_backend_pid()) RETURNING id",
    )
    .fetch_one(&mut *tx)
    .await?;
    // The second accept folds the first one's reservation into the account's total: both
    // of the fold's paths are planned.
    for n in 0..2_i32 {
        sqlx::query(
            "SELECT * FROM sluice_accept_opens($1, $2, $3, 10, '{binance-usdm}', \
             '{WARMUPUSDT}', '{long}', '{BOTH}', '{one-way}', '{1}', '{1}', \
             ARRAY['warm-up-' || pg_backend_pid() || '-' || $4], '{warm-up}', '{NULL}')",
        )
        .bind(account)
        .bind(OPEN_BUDGET_LOCK)
        .bind(HALT_KEY)
        .bind(n)
        .fetch_optional(&mut *tx)
        .await?;
    }
    tx.rollback().await
}
