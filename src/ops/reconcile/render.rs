//! Human rendering of a reconcile report (the table the CLI prints) and the
//! description of what `--fix --confirm` would do. Pure string building.

use std::fmt;

use super::{Mode, Planned, ReconcileReport};
use crate::reconcile::protective::{adoption, settlement};
use crate::reconcile::{retirement, Discrepancy, ExchangeAlgoState, RepairOutcome};

/// What `--fix --confirm` would do about `d`.
pub(super) fn plan(d: &Discrepancy) -> Planned {
    let would = match d {
        Discrepancy::FillMissingFromLedger { trade } => format!(
            "backfill trade {} through the ledger's fill path",
            trade.trade_id
        ),
        Discrepancy::PositionMissingOnExchange { position } => {
            format!(
                "close ledger position #{} (adjustment row)",
                position.position_id
            )
        }
        Discrepancy::SizeMismatch {
            position_id,
            ledger,
            exchange,
            ..
        } if ledger.is_sign_negative() == exchange.is_sign_negative() => format!(
            "set position #{position_id} to {} (adjustment row)",
            exchange.abs()
        ),
        Discrepancy::SizeMismatch { position_id, .. } => {
            format!("close position #{position_id} and adopt the exchange's (two adjustment rows)")
        }
        Discrepancy::PositionUnknownToLedger { .. } => {
            "adopt the exchange's position (adjustment row)".to_string()
        }
        Discrepancy::OrderMissingOnExchange {
            status, exchange, ..
        } => match retirement(*status, *exchange) {
            Ok(to) => format!("record the order as `{}` (adjustment row)", to.as_str()),
            Err(why) => format!("nothing: {why}"),
        },
        Discrepancy::OrderUnknownToLedger { .. } => {
            "nothing: reconcile never trades; an operator decides".to_string()
        }
        Discrepancy::ProtectiveOnlyOnExchange { order, .. } => match adoption(order) {
            Ok((_, position, _)) => {
                format!("adopt it as a protective row of position #{position} (adjustment row)")
            }
            Err(why) => format!("nothing: {why}"),
        },
        Discrepancy::ProtectiveOnlyInLedger { exchange, .. } => match settlement(exchange) {
            Ok(r) => format!(
                "record the protective order as `{}` (adjustment row)",
                r.status.as_str()
            ),
            Err(why) => format!("nothing: {why}"),
        },
    };
    Planned {
        discrepancy: d.clone(),
        would,
    }
}

fn outcome(o: &RepairOutcome) -> String {
    match o {
        RepairOutcome::Backfilled { fill } => format!("backfilled: {fill:?}"),
        RepairOutcome::Adjusted { adjustments } => {
            let ids: Vec<String> = adjustments.iter().map(|a| format!("#{a}")).collect();
            format!("corrected (adjustment {})", ids.join(", "))
        }
        RepairOutcome::Adopted { position_id } => format!("adopted as position #{position_id}"),
        RepairOutcome::AlreadyConsistent => "already consistent; nothing written".to_string(),
        RepairOutcome::NeedsOperator { reason } => format!("needs an operator: {reason}"),
        RepairOutcome::Failed { error } => format!("FAILED, nothing written: {error}"),
    }
}

/// One line of detail for the table.
fn detail(d: &Discrepancy) -> String {
    match d {
        Discrepancy::PositionMissingOnExchange { position } => format!(
            "{} #{}: ledger {}",
            position.position_side.as_wire(),
            position.position_id,
            position.signed_amount()
        ),
        Discrepancy::PositionUnknownToLedger {
            position_side,
            amount,
            sluice_tagged,
            ..
        } => format!(
            "{}: exchange {amount} ({})",
            position_side.as_wire(),
            if *sluice_tagged {
                "sluice-tagged"
            } else {
                "foreign"
            }
        ),
        Discrepancy::SizeMismatch {
            position_side,
            position_id,
            ledger,
            exchange,
            ..
        } => format!(
            "{} #{position_id}: ledger {ledger}, exchange {exchange}",
            position_side.as_wire()
        ),
        Discrepancy::OrderMissingOnExchange {
            client_order_id,
            status,
            exchange,
            ..
        } => format!(
            "{client_order_id} (ledger `{}`, exchange {exchange:?})",
            status.as_str()
        ),
        Discrepancy::OrderUnknownToLedger {
            order,
            sluice_tagged,
        } => format!(
            "{} {} {} ({})",
            order.client_order_id,
            order.side.as_wire(),
            order.orig_qty,
            if *sluice_tagged {
                "sluice-tagged"
            } else {
                "foreign"
            }
        ),
        Discrepancy::FillMissingFromLedger { trade } => format!(
            "trade {} order {} {} {} @ {}",
            trade.trade_id,
            trade.order_id,
            trade.side.as_wire(),
            trade.quantity,
            trade.price
        ),
        Discrepancy::ProtectiveOnlyOnExchange {
            order,
            sluice_tagged,
        } => format!(
            "{} {} {} {} trigger {} ({})",
            order.client_algo_id,
            order.kind.map_or("conditional", |k| k.as_str()),
            order.side.as_wire(),
            order.position_side.as_wire(),
            order.trigger_price,
            if *sluice_tagged {
                "sluice-tagged"
            } else {
                "foreign"
            }
        ),
        Discrepancy::ProtectiveOnlyInLedger { row, exchange } => format!(
            "{} of position #{} (ledger `{}`, venue {})",
            row.client_algo_id,
            row.position_id,
            row.state.map_or("planned", |s| s.as_str()),
            match exchange {
                ExchangeAlgoState::Known(r) => r.status.as_str().to_uppercase(),
                ExchangeAlgoState::NotFound => "has no record".to_string(),
                ExchangeAlgoState::Unresolved => "not asked".to_string(),
            }
        ),
    }
}

fn write_rows(f: &mut fmt::Formatter<'_>, rows: &[Discrepancy]) -> fmt::Result {
    writeln!(f, "{:<28} {:<14} DETAIL", "KIND", "SYMBOL")?;
    for d in rows {
        writeln!(f, "{:<28} {:<14} {}", d.kind_name(), d.symbol(), detail(d))?;
    }
    Ok(())
}

impl fmt::Display for ReconcileReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.found.is_empty() {
            return writeln!(f, "reconcile {}: ledger and exchange agree", self.venue);
        }
        writeln!(
            f,
            "reconcile {}: {} difference(s)",
            self.venue,
            self.found.len()
        )?;
        write_rows(f, &self.found)?;
        match self.mode {
            Mode::DryRun => writeln!(f, "dry run: nothing written (repair with --fix --confirm)"),
            Mode::WouldFix => {
                writeln!(f, "--fix without --confirm: would")?;
                for p in &self.planned {
                    writeln!(f, "  {:<28} {}", p.discrepancy.kind_name(), p.would)?;
                }
                writeln!(f, "nothing written")
            }
            Mode::Fixed => {
                writeln!(f, "repairs:")?;
                for r in &self.repairs {
                    let what = outcome(&r.outcome);
                    writeln!(f, "  {:<28} {}", r.discrepancy.kind_name(), what)?;
                }
                writeln!(f, "{} difference(s) remain", self.remaining.len())?;
                write_rows(f, &self.remaining)
            }
        }
    }
}
