//! The fast path of storing an open: concurrent opens are accepted together by one
//! statement (`sluice_accept_opens`, `migrations/20261208010000_accept_opens_batched.sql`,
//! run by [`super::accept_batch`]) that takes the opens lock, sees the halt clear, applies
//! the one-way rule and the budget to the batch in its order, and stores the opens that
//! pass `accepted`, all on the server.
//!
//! Run outside an explicit transaction, the statement commits as it ends, so the opens
//! lock is never held across a round trip to this process: concurrent opens queue only
//! for the server-side work. The statement only ever accepts. Anything else (the other
//! side of the leg is open, not enough budget, the key already used, a size that is
//! not a notional, a halt) answers `None`, and the caller takes the full path in
//! `intents.rs`, which decides again under the same lock and stores the refusal with
//! its reason: the refusals and their wording live in one place.

use rust_decimal::Decimal;

use super::error::LedgerError;
use super::intent_checks::NewIntent;
use crate::domain::{IntentSpec, PositionSide, Protection, Qty};

/// One open as the batched accept takes it (the statement's columns).
pub(super) struct OpenAsk {
    pub(super) venue: String,
    pub(super) symbol: String,
    pub(super) direction: &'static str,
    pub(super) leg: &'static str,
    pub(super) mode: &'static str,
    pub(super) quantity: Option<Decimal>,
    pub(super) notional: Decimal,
    pub(super) key: String,
    pub(super) reason: String,
    pub(super) protection: Option<serde_json::Value>,
}

/// `new` as the batched accept takes it; `None` when it is not an open or has no
/// notional to check the budget with (the full path decides and words it).
pub(super) fn open_ask(
    new: &NewIntent,
    protection: Option<&Protection>,
) -> Result<Option<OpenAsk>, LedgerError> {
    let IntentSpec::Open {
        symbol, direction, ..
    } = &new.spec
    else {
        return Ok(None);
    };
    let Ok(notional) = new.requested_notional() else {
        return Ok(None);
    };
    let protection = match protection.filter(|p| !p.is_empty()) {
        Some(p) => Some(
            serde_json::to_value(p)
                .map_err(|e| LedgerError::invalid("protection", e.to_string()))?,
        ),
        None => None,
    };
    Ok(Some(OpenAsk {
        venue: new.venue.clone(),
        symbol: symbol.as_str().to_string(),
        direction: direction.as_str(),
        leg: PositionSide::for_mode(new.position_mode, *direction).as_wire(),
        mode: new.position_mode.as_str(),
        quantity: new.spec.quantity().map(Qty::get),
        notional,
        key: new.idempotency_key.clone(),
        reason: new.reason.clone(),
        protection,
    }))
}
