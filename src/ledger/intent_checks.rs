//! The checks an intent passes before it is stored ([`NewIntent`]): what it acts on,
//! and for opens the one-way rule (one position per symbol) and the budget.
//!
//! Runs inside `create_intent`'s transaction, after the advisory lock for opens, so
//! the budget it reads cannot change before the intent is written.

use rust_decimal::Decimal;
use sqlx::PgConnection;

use super::budget;
use super::error::LedgerError;
use super::ids::{IntentId, PositionId};
use super::model::{PositionRow, PositionStatus};
use super::positions::{open_position_on_leg, position_in};
use serde::{Deserialize, Serialize};

use crate::domain::{
    Direction, IntentSpec, OpenSize, PositionMode, PositionSide, Price, Symbol, Usdt,
};

/// An intent to store: its [`IntentSpec`] (the shape, already checked where it was
/// built), the venue and position mode it runs under, and for an open by quantity the
/// price it is valued at for the budget check (not stored).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewIntent {
    pub spec: IntentSpec,
    pub venue: String,
    pub position_mode: PositionMode,
    /// Price used to value an open given by quantity; not stored.
    pub reference_price: Option<Price>,
    pub idempotency_key: String,
    pub reason: String,
}

impl NewIntent {
    /// What the ledger itself needs besides the spec: a venue, a key, positive sizes.
    pub(crate) fn check_storable(&self) -> Result<(), LedgerError> {
        if self.venue.trim().is_empty() {
            return Err(LedgerError::invalid("venue", "is empty"));
        }
        if self.idempotency_key.trim().is_empty() {
            return Err(LedgerError::invalid("idempotency_key", "is empty"));
        }
        self.spec
            .check_sizes()
            .map_err(|e| LedgerError::invalid(e.field, e.reason))
    }

    /// The notional an open asks for: its notional, or its quantity × reference price.
    pub(crate) fn requested_notional(&self) -> Result<Decimal, LedgerError> {
        match (&self.spec, self.reference_price) {
            (
                IntentSpec::Open {
                    size: OpenSize::Notional(n),
                    ..
                },
                _,
            ) => Ok(n.get()),
            // Checked: a huge quantity must be a refusal, never a panic inside the
            // transaction holding the opens lock.
            (
                IntentSpec::Open {
                    size: OpenSize::Quantity(q),
                    ..
                },
                Some(p),
            ) => q.get().checked_mul(p.get()).ok_or_else(|| {
                LedgerError::invalid("quantity", "quantity × price is too large to be a notional")
            }),
            _ => Err(LedgerError::invalid(
                "notional_usdt",
                "an open needs a notional, or a quantity and a reference price",
            )),
        }
    }
}

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

impl Target {
    /// The target as the intent names it, unchecked: for intents stored as given (a
    /// flatten, a refused open).
    pub(crate) fn as_given(new: &NewIntent) -> Target {
        Target {
            symbol: new.spec.symbol().cloned(),
            direction: new.spec.direction(),
            position_id: new.spec.position().copied(),
            notional: new.spec.notional().map(Usdt::get),
            refusal: None,
        }
    }
}

pub(crate) async fn resolve_target(
    conn: &mut PgConnection,
    new: &NewIntent,
    allocation: Usdt,
) -> Result<Target, LedgerError> {
    let position_id = match &new.spec {
        IntentSpec::Open {
            symbol, direction, ..
        } => return resolve_open(conn, new, symbol, *direction, allocation).await,
        // Flatten of everything (or of one symbol): the orders will name positions.
        IntentSpec::Flatten { .. } => return Ok(Target::as_given(new)),
        IntentSpec::Close { position, .. } | IntentSpec::Reduce { position, .. } => *position,
    };
    let position = position_in(conn, position_id).await?.ok_or_else(|| {
        LedgerError::invalid("position_id", format!("no position #{position_id}"))
    })?;
    check_reducible(new, &position)?;
    Ok(Target {
        symbol: Some(position.symbol),
        direction: Some(position.direction),
        position_id: Some(position.id),
        notional: None,
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
    Ok(())
}

async fn resolve_open(
    conn: &mut PgConnection,
    new: &NewIntent,
    symbol: &Symbol,
    direction: Direction,
    allocation: Usdt,
) -> Result<Target, LedgerError> {
    let requested = new.requested_notional()?;
    let leg = PositionSide::for_mode(new.position_mode, direction);
    let existing = open_position_on_leg(conn, &new.venue, symbol, leg).await?;
    let mut target = Target {
        symbol: Some(symbol.clone()),
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
