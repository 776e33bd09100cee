//! The ledger: the ONLY module with SQL. Postgres is the single source of truth for
//! intents, orders, fills, positions, attempts and the budget.
//!
//! Invariants this module enforces (each in code, each tested):
//! - an intent is stored before it is acknowledged; an idempotency key is used once;
//! - an order is stored before it is sent, and carries its intent's kind and position;
//! - only fills of OPEN intents create or increase a position; every other fill only
//!   reduces the position its order names, capped at zero (seed 002: no phantom SHORT);
//! - a fill is applied exactly once (venue, symbol, trade id), in the same transaction
//!   as the order's filled quantity and the exchange's reported positions;
//! - the budget is computed from `positions` only, never from `exchange_positions`;
//! - every correction writes a `ledger_adjustments` row with before and after.
//! - every change a strategy follows (intent state, order, fill, position, breaker, halt,
//!   adjustment) writes an `events` row in its own transaction, numbered at commit in
//!   commit order ([`events`]; `GET /v1/events`).
//! - row locks: the writers of orders and positions lock them FOR NO KEY UPDATE (nothing
//!   deletes an order or a position or changes its key), which excludes every other
//!   writer but not the FOR KEY SHARE of a foreign-key check or of an accept
//!   (`migrations/20261210030000_accept_locks_position_key_share.sql`): storing an intent
//!   or an order never waits for a fill's transaction.

mod accept_batch;
mod accept_open;
mod accounts;
mod acknowledge;
mod adjustments;
mod attempts;
pub(crate) mod breaker;
mod budget;
mod control;
mod decode;
pub(crate) mod error;
pub(crate) mod events;
pub(crate) mod evidence;
mod exchange_positions;
mod fill_batch;
mod fill_outcome;
mod fill_plan;
mod fill_rows;
mod fill_write;
mod fills;
mod first_orders;
pub(crate) mod halt;
mod handoff;
pub(crate) mod ids;
pub(crate) mod intent_audit;
pub(crate) mod intent_cancel;
mod intent_checks;
pub(crate) mod intent_control;
mod intents;
pub(crate) mod leader;
mod leader_terms;
pub(crate) mod model;
mod order_batch;
mod order_progress;
mod order_reports;
mod orders;
pub(crate) mod position_math;
mod positions;
pub(crate) mod protective;
mod protective_checks;
mod protective_link;
mod protective_repair;
mod reattribute;
mod trail;
mod wakeup;
pub(crate) use wakeup::IntentNotice;
mod warm;
mod work;

pub(crate) use warm::warm_on_connect;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

pub(crate) use accounts::valid_name as valid_account_name;
pub use accounts::{connect_options_for, AccountRow, NewAccount};
pub use acknowledge::ExternalFillAck;
pub(crate) use adjustments::PositionCorrection;
pub use adjustments::{AdjustmentRow, AnomalyRow};
pub use breaker::BreakerTransitionRecord;
pub use budget::{Budget, ReservedCheck};
pub use control::NewSymbolCap;
pub use control::{ControlFlag, SymbolCap};
pub use error::LedgerError;
pub use events::{EventPage, EventRecord};
pub use evidence::AttemptFact;
pub use evidence::CloseIntentFact;
pub use exchange_positions::ExchangePositionRow;
pub use fill_outcome::{FillOutcome, PositionEffect};
pub use fill_rows::FillRow;
pub use first_orders::TakeUp;
pub(crate) use ids::AdjustmentId;
pub use ids::{IntentId, OrderId, PositionId};
pub use intent_cancel::CancelOutcome;
pub use intent_checks::NewIntent;
pub use intents::{IntentCreated, IntentView};
pub use leader::{LeaderKey, LockHolder, LockSession};
pub use leader::{LockSessionOptions, LEADER_CLASSID};
pub(crate) use leader_terms::{LeaderTerm, PreviousTerm};
pub use model::{
    AnomalyKind, FillSource, IntentRow, OrderRow, OrderState, Origin, PositionRow, PositionStatus,
};
pub use order_progress::OrderProgress;
pub use order_reports::ReportedOrder;
pub use orders::{NewOrder, OrderUpdate};
pub use positions::AdoptPosition;
pub use positions::PositionAudit;
pub use protective::NewProtective;
pub(crate) use protective_repair::AdoptProtective;
pub use work::{ActiveIntent, IntakeScope};

/// A pooled connection idle at least this long is pinged before it is handed out.
const PING_IF_IDLE_FOR: std::time::Duration = std::time::Duration::from_secs(1);

/// A ping before every acquire is a round trip per ledger call: ping only a connection
/// idle for a while (a server restart breaks idle connections, and a broken one is then
/// replaced before anyone uses it).
fn ping_only_when_idle(pool: PgPoolOptions) -> PgPoolOptions {
    pool.test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= PING_IF_IDLE_FOR {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
}

/// Handle to the ledger database. Cheap to clone (the pool is shared).
#[derive(Clone, Debug)]
pub struct Ledger {
    pool: PgPool,
    /// Stored intents handed to this process's executor (`handoff`).
    handoff: std::sync::Arc<handoff::Handoff>,
    /// Opens accepted together, one statement per batch (`accept_batch`).
    accepts: std::sync::Arc<accept_batch::AcceptQueue>,
}

impl Ledger {
    /// Connect to Postgres at `url` with a pool of 8 (tests, benches). Does not migrate:
    /// call [`Ledger::migrate`].
    pub async fn connect(url: &str) -> Result<Ledger, LedgerError> {
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(std::time::Duration::from_secs(10));
        let pool = ping_only_when_idle(pool).connect(url).await?;
        Ok(Ledger::from_pool(pool))
    }

    /// Connect with the pool bounds and connection options the settings give
    /// (`DatabaseSettings::pool_options`, `connect_options`). Does not migrate.
    pub async fn connect_with(
        pool: PgPoolOptions,
        options: PgConnectOptions,
    ) -> Result<Ledger, LedgerError> {
        Ok(Ledger::from_pool(
            ping_only_when_idle(pool).connect_with(options).await?,
        ))
    }

    pub fn from_pool(pool: PgPool) -> Ledger {
        Ledger {
            pool,
            handoff: Default::default(),
            accepts: Default::default(),
        }
    }

    /// Create database `name` on the server `admin` points at, unless it exists.
    /// Paper trading keeps its books in a database of its own, so a simulator's
    /// positions can never be mixed into a real ledger.
    pub(crate) async fn create_database_if_missing(
        admin: PgConnectOptions,
        name: &str,
    ) -> Result<(), LedgerError> {
        if name.is_empty()
            || name.len() > 63
            || !name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err(LedgerError::invalid(
                "database",
                format!("`{name}` must be 1-63 characters of a-z, 0-9 and _"),
            ));
        }
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .connect_with(admin)
            .await?;
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                .bind(name)
                .fetch_one(&pool)
                .await?;
        if !exists {
            // The name was checked above; identifiers cannot be bound as parameters.
            match sqlx::query(&format!("CREATE DATABASE \"{name}\""))
                .execute(&pool)
                .await
            {
                Ok(_) => {}
                // Another process created it between our check and our CREATE: fine.
                Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P04") => {}
                Err(e) => return Err(e.into()),
            }
        }
        pool.close().await;
        Ok(())
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Bring the schema up to date with the migrations embedded in the binary.
    pub async fn migrate(&self) -> Result<(), LedgerError> {
        sqlx::migrate!("./migrations").run(&self.pool).await?;
        Ok(())
    }

    /// Open the pool's connections up to its maximum and warm each (`warm.rs`): the
    /// daemon calls it once migrated, so no open waits for a connection to be opened or
    /// for the accept to be planned on it. A connection that fails to open is skipped
    /// (the pool opens it again when it is needed).
    pub(crate) async fn warm_pool(&self) {
        let max = self.pool.options().get_max_connections();
        let conns = futures_util::future::join_all((0..max).map(|_| self.pool.acquire())).await;
        for mut conn in conns.into_iter().flatten() {
            warm::warm(&mut conn).await;
        }
    }
}
