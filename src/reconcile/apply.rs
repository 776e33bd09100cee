//! Repairs: bring the ledger in line with the exchange, one discrepancy at a time.
//!
//! Invariants:
//! - never trades: nothing here takes an `Exchange`; the caller fetched the snapshot;
//! - a missing fill is backfilled through `Ledger::apply_fill`, the same path the user
//!   stream takes, so every fill rule (only opens create positions, closes never flip,
//!   idempotent by trade id) still holds;
//! - every other correction goes through a ledger call that writes one
//!   `ledger_adjustments` row (reason, before, after) in the same transaction;
//! - a repair that fails is reported as failed and the others still run; each ledger
//!   call is its own transaction. The one two-step repair (a leg that flipped: close
//!   ours, adopt theirs) validates the adoption before closing, so only a database
//!   failure between the two steps can leave the leg closed; the next run adopts it.
//!
//! - a protective row the venue no longer lists is settled only with the final state
//!   the venue reported when asked by clientAlgoId (`protective::settlement`); an algo
//!   order only the venue holds is adopted as a row when its clientAlgoId is sluice's and
//!   names a ledger position (`protective::adoption`), else left to an operator
//!   (reconcile never trades, so it never cancels one).
//!
//! - every position correction and adoption is the exchange's position as read at
//!   `read_at`: it marks the leg's external fills traded until then as accounted for, in
//!   its own transaction, so a later re-attribution of one of them to its order does not
//!   move the position again (`src/ledger/reattribute.rs`).
//!
//! Callers apply fills first, then re-snapshot the ledger and diff again before the
//! position and order corrections (see `ops::reconcile`): a backfilled close fill may
//! already settle a size mismatch, and correcting before it would double-count.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::diff::Discrepancy;
use super::snapshot::{ExchangeOrderState, LedgerPosition};
use crate::domain::{Direction, OrderStatus, PositionSide, Price, Qty, Symbol};
use crate::ledger::{
    AdjustmentId, AdoptPosition, FillOutcome, Ledger, LedgerError, OrderState, PositionCorrection,
    PositionId, PositionStatus,
};

/// What was done about one discrepancy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum RepairOutcome {
    /// The missing trade went through the ledger's fill path.
    Backfilled {
        /// What the fill path did with it.
        fill: FillOutcome,
    },
    /// Corrections written, one adjustment row each.
    Adjusted {
        /// The adjustment rows written.
        adjustments: Vec<AdjustmentId>,
    },
    /// The exchange's position was taken over (origin `adopted`, one adjustment row).
    Adopted {
        /// The ledger position now holding it.
        position_id: PositionId,
    },
    /// The ledger already had the wanted values; nothing was written.
    AlreadyConsistent,
    /// Not a ledger repair: an operator (or the router's order resolution) must act.
    NeedsOperator {
        /// Why, and what to do.
        reason: String,
    },
    /// The ledger refused or failed; nothing of this repair was written.
    Failed {
        /// The ledger's error.
        error: String,
    },
}

/// One discrepancy and what was done about it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Repair {
    pub(crate) discrepancy: Discrepancy,
    /// What was done.
    #[serde(flatten)]
    pub outcome: RepairOutcome,
}

/// Repair each of `discrepancies` in the ledger of `venue`, as `actor`. `read_at`: when
/// the exchange's positions the discrepancies were found against were read (their answer
/// arrived), on the exchange's clock (the one its trade times are on).
pub async fn apply(
    ledger: &Ledger,
    venue: &str,
    actor: &str,
    discrepancies: &[Discrepancy],
    read_at: DateTime<Utc>,
) -> Vec<Repair> {
    let mut out = Vec::with_capacity(discrepancies.len());
    for d in discrepancies {
        let outcome = match repair_one(ledger, (venue, read_at), actor, d).await {
            Ok(o) => o,
            Err(e) => {
                tracing::warn!(kind = d.kind_name(), symbol = %d.symbol(), error = %e, "reconcile repair failed");
                RepairOutcome::Failed {
                    error: e.to_string(),
                }
            }
        };
        out.push(Repair {
            discrepancy: d.clone(),
            outcome,
        });
    }
    out
}

async fn repair_one(
    ledger: &Ledger,
    (venue, read_at): (&str, DateTime<Utc>),
    actor: &str,
    d: &Discrepancy,
) -> Result<RepairOutcome, LedgerError> {
    let on = |symbol, position_side| Leg {
        venue,
        actor,
        symbol,
        position_side,
        read_at,
    };
    match d {
        Discrepancy::FillMissingFromLedger { trade } => Ok(RepairOutcome::Backfilled {
            fill: ledger
                .apply_fill_from(venue, trade, &[], Some(crate::ledger::FillSource::Rest))
                .await?,
        }),
        Discrepancy::PositionMissingOnExchange { position } => {
            close_missing(ledger, actor, position, read_at).await
        }
        Discrepancy::SizeMismatch {
            symbol,
            position_side,
            position_id,
            ledger: ours,
            exchange,
            exchange_entry_price: entry,
        } => {
            let leg = on(symbol, *position_side);
            resize(ledger, &leg, *position_id, *ours, *exchange, *entry).await
        }
        Discrepancy::PositionUnknownToLedger {
            symbol,
            position_side,
            amount,
            entry_price,
            sluice_tagged,
        } => {
            let leg = on(symbol, *position_side);
            adopt_unknown(ledger, &leg, *amount, *entry_price, *sluice_tagged).await
        }
        Discrepancy::OrderMissingOnExchange {
            order_id,
            client_order_id,
            status,
            exchange,
            ..
        } => {
            retire(
                ledger,
                actor,
                *order_id,
                client_order_id,
                (*status, *exchange),
            )
            .await
        }
        Discrepancy::OrderUnknownToLedger { order, .. } => Ok(RepairOutcome::NeedsOperator {
            reason: format!(
                "order {} is open on the exchange and the ledger has no live row for it; \
                 reconcile never trades: cancel it on the exchange or leave it",
                order.client_order_id
            ),
        }),
        Discrepancy::ProtectiveOnlyOnExchange { order, .. } => {
            super::apply_protective::adopt_algo(ledger, venue, actor, order).await
        }
        Discrepancy::ProtectiveOnlyInLedger { row, exchange } => {
            super::apply_protective::settle(ledger, actor, row, exchange).await
        }
    }
}

async fn close_missing(
    ledger: &Ledger,
    actor: &str,
    position: &LedgerPosition,
    read_at: DateTime<Utc>,
) -> Result<RepairOutcome, LedgerError> {
    let reason = format!(
        "reconcile: the exchange holds no {} {} position; the ledger had {}",
        position.symbol,
        position.position_side.as_wire(),
        position.signed_amount()
    );
    let adj = close_position(ledger, position.position_id, (actor, read_at), &reason).await?;
    Ok(adjusted(adj.into_iter().collect()))
}

async fn adopt_unknown(
    ledger: &Ledger,
    leg: &Leg<'_>,
    amount: Decimal,
    entry: Decimal,
    sluice_tagged: bool,
) -> Result<RepairOutcome, LedgerError> {
    let origin = if sluice_tagged {
        "sluice-tagged"
    } else {
        "foreign"
    };
    let reason = format!(
        "reconcile: adopted a {origin} {} {} position of {amount} the ledger did not know",
        leg.symbol,
        leg.position_side.as_wire()
    );
    let row = ledger
        .adopt_position_read_at(&adoption(leg, amount, entry, &reason)?, Some(leg.read_at))
        .await?;
    Ok(RepairOutcome::Adopted {
        position_id: row.id,
    })
}

/// Where a position correction applies.
struct Leg<'a> {
    venue: &'a str,
    actor: &'a str,
    symbol: &'a Symbol,
    position_side: PositionSide,
    /// When the exchange's position was read.
    read_at: DateTime<Utc>,
}

pub(super) fn adjusted(adjustments: Vec<AdjustmentId>) -> RepairOutcome {
    if adjustments.is_empty() {
        RepairOutcome::AlreadyConsistent
    } else {
        RepairOutcome::Adjusted { adjustments }
    }
}

async fn close_position(
    ledger: &Ledger,
    id: PositionId,
    (actor, read_at): (&str, DateTime<Utc>),
    reason: &str,
) -> Result<Option<AdjustmentId>, LedgerError> {
    ledger
        .correct_position(&PositionCorrection {
            position_id: id,
            quantity: Some(Qty::ZERO),
            status: Some(PositionStatus::Closed),
            actor: actor.to_string(),
            reason: reason.to_string(),
            exchange_read_at: Some(read_at),
        })
        .await
}

/// Same direction: set the quantity. Opposite direction (or flat on one side): close
/// the ledger's position and adopt the exchange's, one adjustment row each.
async fn resize(
    ledger: &Ledger,
    leg: &Leg<'_>,
    position_id: PositionId,
    ours: Decimal,
    theirs: Decimal,
    entry: Decimal,
) -> Result<RepairOutcome, LedgerError> {
    let reason = format!(
        "reconcile: the exchange holds {theirs} on {} {}, the ledger had {ours}",
        leg.symbol,
        leg.position_side.as_wire()
    );
    if ours.is_sign_negative() == theirs.is_sign_negative() {
        let adj = ledger
            .correct_position(&PositionCorrection {
                position_id,
                quantity: Some(Qty::new("quantity", theirs.abs())?),
                status: None,
                actor: leg.actor.to_string(),
                reason,
                exchange_read_at: Some(leg.read_at),
            })
            .await?;
        return Ok(adjusted(adj.into_iter().collect()));
    }
    // Build (and so validate) the adoption before closing: a bad exchange entry price
    // must refuse the whole repair, not leave the leg closed and nothing adopted.
    let adoption = adoption(leg, theirs, entry, &reason)?;
    // The adoption (not the close) accounts for the leg's external fills: their trades
    // are in the adopted quantity (`reattribute.rs`).
    let close = PositionCorrection {
        position_id,
        quantity: Some(Qty::ZERO),
        status: Some(PositionStatus::Closed),
        actor: leg.actor.to_string(),
        reason: reason.clone(),
        exchange_read_at: None,
    };
    ledger.correct_position(&close).await?;
    let row = ledger
        .adopt_position_read_at(&adoption, Some(leg.read_at))
        .await?;
    Ok(RepairOutcome::Adopted {
        position_id: row.id,
    })
}

/// The exchange's leg as an adoption; refuses a zero amount or a non-positive price.
fn adoption(
    leg: &Leg<'_>,
    amount: Decimal,
    entry: Decimal,
    reason: &str,
) -> Result<AdoptPosition, LedgerError> {
    let direction = if amount.is_sign_negative() {
        Direction::Short
    } else {
        Direction::Long
    };
    Ok(AdoptPosition {
        venue: leg.venue.to_string(),
        symbol: leg.symbol.clone(),
        direction,
        position_side: leg.position_side,
        quantity: Qty::new("quantity", amount.abs())?,
        entry_price: Price::new("entry_price", entry)?,
        actor: leg.actor.to_string(),
        reason: reason.to_string(),
    })
}

/// The terminal state to record for a ledger order (in `ours`) that the exchange
/// does not list open, from what the exchange said about it; Err says why none can be
/// recorded without an operator. Pure. Nothing is guessed: an order the exchange was
/// not asked about (or could not answer for) is never retired.
pub fn retirement(ours: OrderState, exchange: ExchangeOrderState) -> Result<OrderState, String> {
    match exchange {
        ExchangeOrderState::Known(OrderStatus::Filled) => {
            Err("the exchange reports it FILLED but the ledger lacks some of its fills".to_string())
        }
        ExchangeOrderState::Known(s) if s.is_terminal() => Ok(OrderState::from(s)),
        ExchangeOrderState::Known(s) => Err(format!(
            "the exchange reports it {} (live): re-run reconcile",
            s.as_wire()
        )),
        // Never acknowledged: it did not execute (the adapter's resolution contract).
        ExchangeOrderState::NotFound if matches!(ours, OrderState::Sent | OrderState::Unknown) => {
            Ok(OrderState::Rejected)
        }
        // Acknowledged once, now unknown: Binance archives orders that ended without
        // (further) fills; whatever filled is in the ledger by now.
        ExchangeOrderState::NotFound => Ok(OrderState::Expired),
        ExchangeOrderState::Unresolved => {
            Err("the exchange could not be asked about it: resolve it by clientOrderId".to_string())
        }
    }
}

/// Retire a ledger order the exchange no longer lists (after any missing fill was
/// backfilled), with one adjustment row; or say why an operator must decide.
async fn retire(
    ledger: &Ledger,
    actor: &str,
    order_id: crate::ledger::OrderId,
    client_order_id: &str,
    (status, exchange): (OrderState, ExchangeOrderState),
) -> Result<RepairOutcome, LedgerError> {
    let to = match retirement(status, exchange) {
        Ok(to) => to,
        Err(why) => {
            return Ok(RepairOutcome::NeedsOperator {
                reason: format!("order {client_order_id} (`{}`): {why}", status.as_str()),
            })
        }
    };
    let reason = format!(
        "reconcile: order {client_order_id} was `{}`, the exchange does not list it open \
         ({exchange:?}): recorded as `{}`",
        status.as_str(),
        to.as_str()
    );
    let adj = ledger.retire_order(order_id, to, actor, &reason).await?;
    Ok(adjusted(adj.into_iter().collect()))
}
