//! The budget: computed from the ledger's `positions` and pending open intents only,
//! never from `exchange_positions` (seed 002: two tables, two truths).
//!
//! `used` is Σ quantity × entry price over OPEN positions. `reserved` is what accepted
//! or working opens may still add (their notional minus what they already filled), so
//! an open in flight cannot be spent twice. `available = allocation − used − reserved`.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;

use super::error::LedgerError;
use super::Ledger;
use crate::domain::Usdt;

/// Arbitrary constant naming the advisory lock that serialises budget checks of opens.
pub(super) const OPEN_BUDGET_LOCK: i64 = 0x736c_7569_6365_0001;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Budget {
    pub allocation: Usdt,
    pub used: Usdt,
    pub reserved: Usdt,
    pub available: Usdt,
}

impl Ledger {
    pub async fn budget(&self, allocation: Usdt) -> Result<Budget, LedgerError> {
        let mut conn = self.pool.acquire().await?;
        available_in(&mut conn, allocation).await
    }
}

/// Serialise budget checks of the session account's opens until the surrounding
/// transaction ends (one lock per account: `OPEN_BUDGET_LOCK` + the account's id, as
/// `sluice_accept_open` takes it).
pub(crate) async fn lock_opens(conn: &mut PgConnection) -> Result<(), LedgerError> {
    sqlx::query("SELECT pg_advisory_xact_lock($1 + sluice_account())")
        .bind(OPEN_BUDGET_LOCK)
        .execute(conn)
        .await?;
    Ok(())
}

/// The allocation less what open positions use and what live opens still reserve. The
/// two sums are one SQL function, `sluice_budget_sums()`
/// (`migrations/20261206180000_accept_open.sql`), which the one-statement open accept
/// reads too: only the live intents' fills are summed (a correlated sum per live intent,
/// found through `intents_live` and `orders_by_intent`), so the cost does not grow with
/// history.
pub(crate) async fn available_in(
    conn: &mut PgConnection,
    allocation: Usdt,
) -> Result<Budget, LedgerError> {
    let (used, reserved): (Decimal, Decimal) =
        sqlx::query_as("SELECT used, reserved FROM sluice_budget_sums()")
            .fetch_one(conn)
            .await?;
    let available = allocation
        .get()
        .checked_sub(used)
        .and_then(|a| a.checked_sub(reserved))
        .ok_or_else(|| LedgerError::invalid("budget", "the used and reserved sums overflow"))?;
    Ok(Budget {
        allocation,
        used: Usdt::new(used),
        reserved: Usdt::new(reserved),
        available: Usdt::new(available),
    })
}
