//! The checks an intent passes before it is stored: what it acts on, and for opens
//! the one-way rule (one position per symbol) and the budget.
//!
//! Runs inside `create_intent`'s transaction, after the advisory lock for opens, so
//! the budget it reads cannot change before the intent is written.

use rust_decimal::Decimal;
use sqlx::PgConnection;

use super::budget;
use super::error::LedgerError;
use super::ids::{IntentId, PositionId};
use super::intents::NewIntent;
use super::model::{PositionRow, PositionStatus};
use super::positions::{open_position_on_leg, position_in};
use crate::domain::{Direction, IntentKind, PositionSide, Symbol, Usdt};

/// Where an intent points once resolved against the ledger.
pub(crate) struct Target {
    pub symbol: Option<Symbol>,
    pub direction: Option<Direction>,
    pub position_id: Option<PositionId>,
    pub notional: Option<Decimal>,
    pub refusal: Option<Refusal>,
}

pub(crate) enum Refusal {
    Budget {
        available: Decimal,
        requested: Decimal,
    },
    Opposite(PositionRow),
}

pub(crate) fn refusal_error(r: &Refusal, intent_id: IntentId) -> LedgerError {
    match r {
        Refusal::Budget {
            available,
            requested,
        } => LedgerError::NotEnoughBudget {
            intent_id,
            available: *available,
            requested: *requested,
        },
        Refusal::Opposite(p) => LedgerError::OppositePositionOpen {
            intent_id,
            position_id: p.id,
            symbol: p.symbol.to_string(),
            open_direction: p.direction,
        },
    }
}

pub(crate) async fn resolve_target(
    conn: &mut PgConnection,
    new: &NewIntent,
    allocation: Usdt,
) -> Result<Target, LedgerError> {
    if new.kind == IntentKind::Open {
        return resolve_open(conn, new, allocation).await;
    }
    let Some(position_id) = new.position_id else {
        // Flatten of everything (or of one symbol): the orders will name positions.
        return Ok(Target {
            symbol: new.symbol.clone(),
            direction: new.direction,
            position_id: None,
            notional: new.notional_usdt.map(Usdt::get),
            refusal: None,
        });
    };
    let position = position_in(conn, position_id).await?.ok_or_else(|| {
        LedgerError::invalid("position_id", format!("no position #{position_id}"))
    })?;
    check_reducible(new, &position)?;
    Ok(Target {
        symbol: Some(position.symbol),
        direction: Some(position.direction),
        position_id: Some(position.id),
        notional: new.notional_usdt.map(Usdt::get),
        refusal: None,
    })
}

fn check_reducible(new: &NewIntent, position: &PositionRow) -> Result<(), LedgerError> {
    let field = "position_id";
    if position.status != PositionStatus::Open {
        return Err(LedgerError::invalid(
            field,
            format!("position #{} is closed", position.id),
        ));
    }
    if position.venue != new.venue {
        return Err(LedgerError::invalid(
            field,
            format!("position #{} is on {}", position.id, position.venue),
        ));
    }
    if new.symbol.as_ref().is_some_and(|s| *s != position.symbol) {
        return Err(LedgerError::invalid(
            "symbol",
            format!("position #{} is {}", position.id, position.symbol),
        ));
    }
    if new.direction.is_some_and(|d| d != position.direction) {
        return Err(LedgerError::invalid(
            "direction",
            format!("position #{} is {:?}", position.id, position.direction),
        ));
    }
    Ok(())
}

async fn resolve_open(
    conn: &mut PgConnection,
    new: &NewIntent,
    allocation: Usdt,
) -> Result<Target, LedgerError> {
    let requested = new.requested_notional()?;
    let (Some(symbol), Some(direction)) = (new.symbol.clone(), new.direction) else {
        return Err(LedgerError::invalid(
            "symbol",
            "an open needs a symbol and a direction",
        ));
    };
    let leg = PositionSide::for_mode(new.position_mode, direction);
    let existing = open_position_on_leg(conn, &new.venue, &symbol, leg).await?;
    let mut target = Target {
        symbol: Some(symbol),
        direction: Some(direction),
        position_id: None,
        notional: Some(requested),
        refusal: None,
    };
    match existing {
        Some(p) if p.direction != direction => {
            target.refusal = Some(Refusal::Opposite(p));
            return Ok(target);
        }
        Some(p) => target.position_id = Some(p.id),
        None => {}
    }
    if new.position_id.is_some() && new.position_id != target.position_id {
        return Err(LedgerError::invalid(
            "position_id",
            "an open may only name the open position of its own direction",
        ));
    }
    let available = budget::available_in(conn, allocation)
        .await?
        .available
        .get();
    if requested > available {
        target.refusal = Some(Refusal::Budget {
            available,
            requested,
        });
    }
    Ok(target)
}
