//! Fills: each one applied exactly once, in ONE transaction with the position it
//! changes, its order's filled quantity and the exchange's reported positions.
//!
//! The rules (seed 002), each enforced here:
//! - only a fill of an OPEN intent's order creates or increases a position;
//! - any other fill only reduces the position its order names, capped at what is open
//!   (the excess is a `ledger_anomalies` row), so it can never create or flip one;
//! - a fill no sluice order explains is stored `external` and moves nothing;
//! - the same (venue, symbol, trade id) again changes nothing.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgConnection;

use super::error::LedgerError;
use super::exchange_positions::upsert_in;
use super::ids::{FillId, OrderId, PositionId};
use super::model::{AnomalyKind, FillSource, OrderRow, PositionStatus};
use super::orders::{add_fill_to_order, lock_order_for_fill, FillApplied};
use super::position_math::PositionFigures;
use super::positions::{
    figures_of, insert_position, lock_leg, lock_position, open_position_on_leg, write_figures,
};
use super::trail::{write_anomaly, AnomalyRefs};
use super::Ledger;
use crate::domain::{Direction, Fill, IntentKind, Qty, Side};
use crate::exchange::ExchangePosition;

/// What a fill did to the position it was applied to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PositionEffect {
    Opened,
    Increased,
    Reduced,
    Closed,
    /// Nothing applied; the reason is in `ledger_anomalies`.
    Unchanged,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FillOutcome {
    /// This trade was already applied; nothing changed.
    Duplicate,
    /// No sluice order explains the fill: stored `external`, flagged, no position moved.
    External { fill_id: FillId },
    Applied {
        fill_id: FillId,
        order_id: OrderId,
        position_id: Option<PositionId>,
        /// What changed the position (less than the fill when an over-close was capped).
        applied: Qty,
        effect: PositionEffect,
        anomaly: Option<AnomalyKind>,
    },
}

/// What applying one fill to the ledger's position did.
struct Application {
    position_id: Option<PositionId>,
    applied: Decimal,
    effect: PositionEffect,
    anomaly: Option<AnomalyKind>,
}

impl Application {
    fn unchanged(position_id: Option<PositionId>, anomaly: AnomalyKind) -> Self {
        Application {
            position_id,
            applied: Decimal::ZERO,
            effect: PositionEffect::Unchanged,
            anomaly: Some(anomaly),
        }
    }
}

impl Ledger {
    /// Apply one fill (see the module doc) and store `reported` exchange positions,
    /// all in one transaction. Its source is not recorded: see [`Self::apply_fill_from`].
    pub async fn apply_fill(
        &self,
        venue: &str,
        fill: &Fill,
        reported: &[ExchangePosition],
    ) -> Result<FillOutcome, LedgerError> {
        self.apply_fill_from(venue, fill, reported, None).await
    }

    /// [`Self::apply_fill`], recording how the fill was learned (stream or REST). A
    /// duplicate keeps the source of its first arrival.
    #[tracing::instrument(skip(self, fill, reported), fields(symbol = %fill.symbol, trade_id = fill.trade_id))]
    pub async fn apply_fill_from(
        &self,
        venue: &str,
        fill: &Fill,
        reported: &[ExchangePosition],
        source: Option<FillSource>,
    ) -> Result<FillOutcome, LedgerError> {
        if fill.quantity.is_zero() {
            return Err(LedgerError::invalid("quantity", "a fill of zero"));
        }
        // The position arithmetic multiplies quantity by price: refuse what cannot be.
        if fill.quantity.get().checked_mul(fill.price.get()).is_none() {
            return Err(LedgerError::invalid(
                "quantity",
                "quantity × price is out of range",
            ));
        }
        let mut tx = self.pool.begin().await?;
        let coid = fill.client_order_id.as_ref().map(|c| c.as_str());
        let order =
            lock_order_for_fill(&mut tx, venue, fill.symbol.as_str(), coid, fill.order_id).await?;
        let Some(fill_id) = insert_fill(&mut tx, venue, fill, order.as_ref(), source).await? else {
            return Ok(FillOutcome::Duplicate); // dropping `tx` rolls back: nothing changed
        };
        let outcome = match order {
            None => {
                let detail = json!({"trade_id": fill.trade_id, "client_order_id": coid,
                    "exchange_order_id": fill.order_id, "side": fill.side.as_wire(),
                    "quantity": fill.quantity.get().to_string(), "price": fill.price.get().to_string()});
                let refs = AnomalyRefs {
                    fill: Some(fill_id),
                    ..Default::default()
                };
                write_anomaly(&mut tx, AnomalyKind::ExternalFill, detail, refs).await?;
                FillOutcome::External { fill_id }
            }
            Some(order) => {
                let a = apply_to_position(&mut tx, fill, &order, fill_id).await?;
                let applied = FillApplied {
                    fill_id,
                    position_id: a.position_id,
                    applied: a.applied,
                };
                add_fill_to_order(
                    &mut tx,
                    &order,
                    fill.quantity,
                    fill.price.get(),
                    fill.order_id,
                    &applied,
                )
                .await?;
                FillOutcome::Applied {
                    fill_id,
                    order_id: order.id,
                    position_id: a.position_id,
                    applied: Qty::new("applied_quantity", a.applied)?,
                    effect: a.effect,
                    anomaly: a.anomaly,
                }
            }
        };
        upsert_in(&mut tx, venue, reported).await?;
        tx.commit().await?;
        Ok(outcome)
    }
}

async fn insert_fill(
    conn: &mut PgConnection,
    venue: &str,
    fill: &Fill,
    order: Option<&OrderRow>,
    source: Option<FillSource>,
) -> Result<Option<FillId>, LedgerError> {
    let id: Option<(i64,)> = sqlx::query_as(
        "INSERT INTO fills (venue, symbol, trade_id, order_id, client_order_id, exchange_order_id,
             side, position_side, price, quantity, commission, commission_asset, realized_pnl,
             maker, traded_at, external, source)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
         ON CONFLICT (venue, symbol, trade_id) DO NOTHING RETURNING id",
    )
    .bind(venue)
    .bind(fill.symbol.as_str())
    .bind(fill.trade_id)
    .bind(order.map(|o| o.id))
    .bind(fill.client_order_id.as_ref().map(|c| c.as_str()))
    .bind(fill.order_id)
    .bind(fill.side.as_wire())
    .bind(fill.position_side.as_wire())
    .bind(fill.price.get())
    .bind(fill.quantity.get())
    .bind(fill.commission)
    .bind(&fill.commission_asset)
    .bind(fill.realized_pnl)
    .bind(fill.maker)
    .bind(fill.time)
    .bind(order.is_none())
    .bind(source.map(FillSource::as_str))
    .fetch_optional(conn)
    .await?;
    Ok(id.map(|(id,)| FillId(id)))
}

async fn apply_to_position(
    conn: &mut PgConnection,
    fill: &Fill,
    order: &OrderRow,
    fill_id: FillId,
) -> Result<Application, LedgerError> {
    let refs = AnomalyRefs {
        fill: Some(fill_id),
        order: Some(order.id),
        position: order.position_id,
    };
    if fill.side != order.side || fill.position_side != order.position_side {
        let detail = json!({"fill_side": fill.side.as_wire(), "order_side": order.side.as_wire(),
            "fill_position_side": fill.position_side.as_wire(),
            "order_position_side": order.position_side.as_wire()});
        write_anomaly(conn, AnomalyKind::FillSideMismatch, detail, refs).await?;
        return Ok(Application::unchanged(
            order.position_id,
            AnomalyKind::FillSideMismatch,
        ));
    }
    if order.intent_kind == IntentKind::Open {
        apply_open(conn, fill, order, refs).await
    } else {
        apply_close(conn, fill, order, refs).await
    }
}

/// An open fill increases the open position of its direction on the order's leg, or
/// creates one. It never touches a position of the other direction.
async fn apply_open(
    conn: &mut PgConnection,
    fill: &Fill,
    order: &OrderRow,
    refs: AnomalyRefs,
) -> Result<Application, LedgerError> {
    // record_order guarantees an open order's side is its direction's open side.
    let direction = if order.side == Side::Buy {
        Direction::Long
    } else {
        Direction::Short
    };
    let (qty, price) = (fill.quantity.get(), fill.price.get());
    // Two first fills on an empty leg must not both try to create its position.
    lock_leg(conn, &order.venue, &order.symbol, order.position_side).await?;
    let existing =
        open_position_on_leg(conn, &order.venue, &order.symbol, order.position_side).await?;
    let (position, effect) = match existing {
        Some(p) if p.direction != direction => {
            let detail = json!({"open_position": p.id, "open_direction": p.direction.as_str(),
                "fill_direction": direction.as_str()});
            let refs = AnomalyRefs {
                position: Some(p.id),
                ..refs
            };
            write_anomaly(conn, AnomalyKind::OpenAgainstOpposite, detail, refs).await?;
            return Ok(Application::unchanged(
                Some(p.id),
                AnomalyKind::OpenAgainstOpposite,
            ));
        }
        Some(p) => {
            let figures = figures_of(&p).open(qty, price);
            (
                write_figures(conn, p.id, &figures).await?,
                PositionEffect::Increased,
            )
        }
        None => {
            let figures = PositionFigures::new(qty, price);
            let p = insert_position(
                conn,
                &order.venue,
                &order.symbol,
                direction,
                order.position_side,
                &figures,
                "sluice",
            )
            .await?;
            (p, PositionEffect::Opened)
        }
    };
    link_open_order(conn, order, position.id).await?;
    Ok(Application {
        position_id: Some(position.id),
        applied: qty,
        effect,
        anomaly: None,
    })
}

/// Name the position on the order and its intent, so later chunks and the close
/// that follows know which position they act on.
async fn link_open_order(
    conn: &mut PgConnection,
    order: &OrderRow,
    position_id: PositionId,
) -> Result<(), LedgerError> {
    sqlx::query("UPDATE orders SET position_id = $2 WHERE id = $1")
        .bind(order.id)
        .bind(position_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE intents SET position_id = $2, updated_at = now() WHERE id = $1 AND position_id IS DISTINCT FROM $2")
        .bind(order.intent_id)
        .bind(position_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// A close/reduce/flatten fill reduces only the position its order names, capped at
/// the open quantity. It never creates or flips a position.
async fn apply_close(
    conn: &mut PgConnection,
    fill: &Fill,
    order: &OrderRow,
    refs: AnomalyRefs,
) -> Result<Application, LedgerError> {
    let position = match order.position_id {
        Some(id) => lock_position(conn, id).await?,
        None => None,
    };
    let Some(position) = position.filter(|p| p.status == PositionStatus::Open) else {
        let detail =
            json!({"position_id": order.position_id, "quantity": fill.quantity.get().to_string()});
        write_anomaly(conn, AnomalyKind::CloseWithoutOpenPosition, detail, refs).await?;
        return Ok(Application::unchanged(
            order.position_id,
            AnomalyKind::CloseWithoutOpenPosition,
        ));
    };
    if fill.side != position.direction.close_side() {
        let detail = json!({"position_direction": position.direction.as_str(), "fill_side": fill.side.as_wire()});
        write_anomaly(conn, AnomalyKind::FillSideMismatch, detail, refs).await?;
        return Ok(Application::unchanged(
            Some(position.id),
            AnomalyKind::FillSideMismatch,
        ));
    }
    let effect =
        figures_of(&position).close(position.direction, fill.quantity.get(), fill.price.get());
    let updated = write_figures(conn, position.id, &effect.figures).await?;
    let mut anomaly = None;
    if effect.excess > Decimal::ZERO {
        let detail = json!({"fill_quantity": fill.quantity.get().to_string(),
            "applied": effect.applied.to_string(), "excess": effect.excess.to_string()});
        write_anomaly(conn, AnomalyKind::OverCloseCapped, detail, refs).await?;
        anomaly = Some(AnomalyKind::OverCloseCapped);
    }
    let kind = if updated.status == PositionStatus::Closed {
        PositionEffect::Closed
    } else {
        PositionEffect::Reduced
    };
    let kind = if effect.applied.is_zero() {
        PositionEffect::Unchanged
    } else {
        kind
    };
    Ok(Application {
        position_id: Some(position.id),
        applied: effect.applied,
        effect: kind,
        anomaly,
    })
}
