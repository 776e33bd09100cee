//! The fast path of storing an open: one statement (`sluice_accept_open`, defined in
//! `migrations/20261206180000_accept_open.sql`) takes the opens lock, sees the halt
//! clear, applies the one-way rule and the budget, and stores the intent `accepted`,
//! all on the server.
//!
//! Run outside an explicit transaction, the statement commits as it ends, so the opens
//! lock is never held across a round trip to this process: concurrent opens queue only
//! for the server-side work. The function only ever accepts. Anything else (the other
//! side of the leg is open, not enough budget, the key already used, a size that is
//! not a notional, a halt) answers `None`, and the caller takes the full path in
//! `intents.rs`, which decides again under the same lock and stores the refusal with
//! its reason: the refusals and their wording live in one place.

use sqlx::PgPool;

use super::budget::OPEN_BUDGET_LOCK;
use super::control::HALT_KEY;
use super::error::LedgerError;
use super::intent_checks::NewIntent;
use super::model::IntentRow;
use crate::domain::{IntentSpec, PositionSide, Protection, Qty, Usdt};

/// Store `new` (an open) as `accepted` if it passes every check at once; `None` when it
/// is not an open or anything stands in the way (see the module doc).
pub(super) async fn try_accept_open(
    pool: &PgPool,
    new: &NewIntent,
    allocation: Usdt,
    protection: Option<&Protection>,
) -> Result<Option<IntentRow>, LedgerError> {
    let IntentSpec::Open {
        symbol, direction, ..
    } = &new.spec
    else {
        return Ok(None);
    };
    let Ok(requested) = new.requested_notional() else {
        return Ok(None);
    };
    let protection = match protection.filter(|p| !p.is_empty()) {
        Some(p) => Some(
            serde_json::to_value(p)
                .map_err(|e| LedgerError::invalid("protection", e.to_string()))?,
        ),
        None => None,
    };
    let leg = PositionSide::for_mode(new.position_mode, *direction);
    let row = sqlx::query(
        "SELECT * FROM sluice_accept_open($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(OPEN_BUDGET_LOCK)
    .bind(HALT_KEY)
    .bind(&new.venue)
    .bind(symbol.as_str())
    .bind(direction.as_str())
    .bind(leg.as_wire())
    .bind(new.position_mode.as_str())
    .bind(new.spec.quantity().map(Qty::get))
    .bind(requested)
    .bind(allocation.get())
    .bind(&new.idempotency_key)
    .bind(&new.reason)
    .bind(protection)
    .fetch_optional(pool)
    .await?;
    row.map(|r| IntentRow::decode(&r)).transpose()
}
