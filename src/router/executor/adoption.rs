//! Adoption: a position the exchange holds and the ledger does not know (opened before
//! sluice ran, or by hand) is taken over with origin `adopted` and one
//! `ledger_adjustments` row, so it can be closed. Always logged.
//!
//! Invariant: a leg the ledger already holds open is never adopted again (the ledger's
//! one-open-position-per-leg index refuses it too); sizes that differ are reconcile's
//! business, not adoption's.

use super::context::Ctx;
use crate::domain::{Direction, PositionSide, Price, Qty};
use crate::exchange::{ExchangePosition, Purpose};
use crate::ledger::{AdoptPosition, PositionRow};

/// Adopt every exchange position of this venue the ledger has no open position for.
/// `purpose`: routine at start; a flatten that finds its scope not flat adopts on its way.
pub(crate) async fn adopt_unknown_positions(
    ctx: &Ctx,
    purpose: Purpose,
) -> anyhow::Result<Vec<PositionRow>> {
    let exchange = ctx.exchange.positions(purpose).await?;
    // Every trade executed before this answer is in it: the leg's external fills traded
    // until now (on the exchange's clock, as their trade times are) are accounted for by
    // the adoption (`src/ledger/reattribute.rs`).
    let read_at =
        crate::exchange::on_exchange_clock(ctx.exchange.as_ref(), chrono::Utc::now()).await;
    let known = ctx.ledger.open_positions().await?;
    let mut adopted = Vec::new();
    for p in exchange.iter().filter(|p| !p.amount.is_zero()) {
        let Some(direction) = direction_of(p) else {
            continue;
        };
        let held = known.iter().any(|k| {
            k.venue == ctx.venue
                && k.symbol == p.symbol
                && k.position_side == p.position_side
                && k.direction == direction
        });
        if held {
            continue;
        }
        let row = ctx
            .ledger
            .adopt_position_read_at(&adoption(ctx, p, direction)?, Some(read_at))
            .await?;
        tracing::warn!(position_id = %row.id, symbol = %row.symbol, direction = direction.as_str(),
            quantity = %row.quantity, entry_price = %row.entry_price,
            "adopted a position the exchange holds and the ledger did not know");
        adopted.push(row);
    }
    Ok(adopted)
}

fn direction_of(p: &ExchangePosition) -> Option<Direction> {
    match p.position_side {
        PositionSide::Long => Some(Direction::Long),
        PositionSide::Short => Some(Direction::Short),
        PositionSide::Both if p.amount.is_sign_negative() => Some(Direction::Short),
        PositionSide::Both => Some(Direction::Long),
    }
}

fn adoption(
    ctx: &Ctx,
    p: &ExchangePosition,
    direction: Direction,
) -> anyhow::Result<AdoptPosition> {
    Ok(AdoptPosition {
        venue: ctx.venue.clone(),
        symbol: p.symbol.clone(),
        direction,
        position_side: p.position_side,
        quantity: Qty::new("positionAmt", p.amount.abs())?,
        entry_price: Price::new("entryPrice", p.entry_price)?,
        actor: "sluice-startup".into(),
        reason: format!(
            "adopted: the exchange holds {} {} {} that the ledger did not know",
            p.symbol,
            direction.as_str(),
            p.amount.abs()
        ),
    })
}
