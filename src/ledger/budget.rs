//! The budget: computed from the ledger's `positions` and pending open intents only,
//! never from `exchange_positions` (seed 002: two tables, two truths).
//!
//! `used` is Σ quantity × entry price over OPEN positions. `reserved` is what accepted
//! or working opens may still add (their notional minus what they already filled, floored
//! at zero, per open), so an open in flight cannot be spent twice. `available = allocation
//! − used − reserved`.
//!
//! `reserved` is kept as it changes, not summed on each accept
//! (`migrations/20261207000000_reserved_budget_kept.sql`): a row per live open with its
//! notional and filled value, and per account a folded total plus the changes not folded
//! yet. Triggers move them in the same statement as the change: an open accepted (+ its
//! term), a fill of a live open's order completed (− the change of its floored term), an
//! open leaving `accepted`/`working` by any path (− its term). The accept folds the changes
//! into the total under the opens lock, so its cost no longer grows with the live opens.
//! Invariant: kept == re-summed, per account ([`Ledger::reserved_check`]; doctor reports a
//! difference as `reserved_drift`).
//!
//! Lock order (no circle): an accept takes the opens lock, the leg's open position, then
//! inserts (its reservation row is new, its change row only inserted) and folds (change
//! rows and the total are written only under the opens lock). A fill batch takes its
//! orders, legs and positions, then, last in its writing statement, the reservation rows
//! of its intents in intent id order. An intent's end takes the intent row, then its
//! reservation row. Change rows are only inserted by fills and ends, so neither ever
//! waits for an accept or for another account.

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

/// The session account's reserved sum as kept and as re-summed from its live opens and
/// their fills; the two are equal unless the kept rows drifted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReservedCheck {
    pub kept: Decimal,
    pub summed: Decimal,
}

impl ReservedCheck {
    pub fn agrees(&self) -> bool {
        self.kept == self.summed
    }
}

impl Ledger {
    /// Compare the kept reserved sum with the re-summed one, in one snapshot.
    pub async fn reserved_check(&self) -> Result<ReservedCheck, LedgerError> {
        let (kept, summed): (Decimal, Decimal) = sqlx::query_as(
            "SELECT sluice_reserved_kept(sluice_account()), sluice_reserved_summed(sluice_account())",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(ReservedCheck { kept, summed })
    }

    pub async fn budget(&self, allocation: Usdt) -> Result<Budget, LedgerError> {
        let mut conn = self.pool.acquire().await?;
        available_in(&mut conn, allocation).await
    }
}

/// Serialise budget checks of the session account's opens until the surrounding
/// transaction ends (one lock per account: `OPEN_BUDGET_LOCK` + the account's id, as
/// `sluice_accept_open` and the batched `sluice_accept_opens` take it).
pub(crate) async fn lock_opens(conn: &mut PgConnection) -> Result<(), LedgerError> {
    sqlx::query("SELECT pg_advisory_xact_lock($1 + sluice_account())")
        .bind(OPEN_BUDGET_LOCK)
        .execute(conn)
        .await?;
    Ok(())
}

/// The allocation less what open positions use and what live opens still reserve: the
/// SQL function `sluice_budget_sums()`, `used` summed over the open positions, `reserved`
/// the kept total (see the module doc).
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
