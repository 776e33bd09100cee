//! `sluice reconcile [--json] [--fix] [--confirm]`: compare the ledger with the
//! exchange, print every difference, and on `--fix --confirm` repair the ledger.
//!
//! Invariants:
//! - never trades: the exchange is only read (positions, openOrders, userTrades);
//! - dry run by default; `--fix` alone prints what would change and writes nothing;
//! - with `--fix --confirm`, missing fills are backfilled first, then the ledger is
//!   read again and diffed again, and only what still differs is corrected; a final
//!   diff says what remains;
//! - exit policy: 0 clean (or everything repaired), 1 differences remain, 2 error.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::domain::Symbol;
use crate::exchange::Exchange;
use crate::ledger::Ledger;
use crate::reconcile::{
    apply, diff, Discrepancy, ExchangeSnapshot, LedgerOrder, LedgerPosition, LedgerSnapshot, Repair,
};

/// Who reconcile's corrections are attributed to in `ledger_adjustments`.
pub const ACTOR: &str = "reconcile";

/// The CLI flags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::Args)]
pub struct ReconcileOptions {
    /// Repair the ledger (needs --confirm; alone it only shows what would change).
    #[arg(long)]
    pub fix: bool,
    /// Confirm that --fix may write to the ledger.
    #[arg(long)]
    pub confirm: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    DryRun,
    /// `--fix` without `--confirm`: what would change, nothing written.
    WouldFix,
    Fixed,
}

/// One planned change (`--fix` without `--confirm`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Planned {
    pub discrepancy: Discrepancy,
    pub would: String,
}

/// What reconcile found and did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconcileReport {
    pub venue: String,
    pub mode: Mode,
    /// Every difference at the start, in the diff's deterministic order.
    pub found: Vec<Discrepancy>,
    /// `WouldFix` only.
    pub planned: Vec<Planned>,
    /// `Fixed` only: fills first, then the corrections of the second diff.
    pub repairs: Vec<Repair>,
    /// What still differs after the run (== `found` unless fixed).
    pub remaining: Vec<Discrepancy>,
}

impl ReconcileReport {
    /// 0 when nothing differs (any more), 1 when differences remain.
    pub fn exit_code(&self) -> i32 {
        if self.remaining.is_empty() {
            0
        } else {
            1
        }
    }
}

/// The CLI exit code: 2 when reconcile itself failed.
pub fn exit_code(result: &anyhow::Result<ReconcileReport>) -> i32 {
    result.as_ref().map_or(2, ReconcileReport::exit_code)
}

/// Per symbol, the first trade id to fetch (the ledger's last one; None = recent).
type TradeWindow = BTreeMap<Symbol, Option<i64>>;

/// Reconcile the ledger of `exchange.venue()` with the exchange.
#[tracing::instrument(skip_all, fields(venue = exchange.venue(), fix = opts.fix, confirm = opts.confirm))]
pub async fn run(
    ledger: &Ledger,
    exchange: &dyn Exchange,
    opts: ReconcileOptions,
    is_sluice_id: &dyn Fn(&str) -> bool,
) -> anyhow::Result<ReconcileReport> {
    let venue = exchange.venue().to_string();
    let (before, window) = read_ledger(ledger, &venue, None).await?;
    let theirs = read_exchange(exchange, &window).await?;
    let found = diff(&before, &theirs, is_sluice_id);
    let mut report = ReconcileReport {
        venue: venue.clone(),
        mode: Mode::DryRun,
        found: found.clone(),
        planned: Vec::new(),
        repairs: Vec::new(),
        remaining: found,
    };
    match (opts.fix, opts.confirm) {
        (false, _) => {}
        (true, false) => {
            report.mode = Mode::WouldFix;
            report.planned = report.found.iter().map(plan).collect();
        }
        (true, true) => {
            report.mode = Mode::Fixed;
            let (fills, _): (Vec<_>, Vec<_>) = report
                .found
                .iter()
                .cloned()
                .partition(|d| matches!(d, Discrepancy::FillMissingFromLedger { .. }));
            report.repairs = apply(ledger, &venue, ACTOR, &fills).await;
            let (after_fills, _) = read_ledger(ledger, &venue, Some(&window)).await?;
            let second = diff(&after_fills, &theirs, is_sluice_id);
            let rest: Vec<_> = second
                .into_iter()
                .filter(|d| !matches!(d, Discrepancy::FillMissingFromLedger { .. }))
                .collect();
            report
                .repairs
                .extend(apply(ledger, &venue, ACTOR, &rest).await);
            let (after, _) = read_ledger(ledger, &venue, Some(&window)).await?;
            report.remaining = diff(&after, &theirs, is_sluice_id);
        }
    }
    tracing::info!(
        found = report.found.len(),
        remaining = report.remaining.len(),
        "reconcile finished"
    );
    Ok(report)
}

/// The ledger snapshot, and the trade window it implies (unless one is given, so a
/// re-read after backfilling covers exactly the trades that were fetched).
async fn read_ledger(
    ledger: &Ledger,
    venue: &str,
    window: Option<&TradeWindow>,
) -> anyhow::Result<(LedgerSnapshot, TradeWindow)> {
    let positions: Vec<LedgerPosition> = ledger
        .open_positions()
        .await
        .context("failed to read the ledger's open positions")?
        .iter()
        .filter(|p| p.venue == venue)
        .map(LedgerPosition::from)
        .collect();
    let orders: Vec<LedgerOrder> = ledger
        .non_terminal_orders()
        .await
        .context("failed to read the ledger's live orders")?
        .iter()
        .filter(|o| o.venue == venue)
        .map(LedgerOrder::from)
        .collect();
    let window = match window {
        Some(w) => w.clone(),
        None => {
            let last = ledger
                .last_trade_ids(venue)
                .await
                .context("failed to read the ledger's last trade ids")?;
            let symbols = positions.iter().map(|p| &p.symbol);
            let symbols = symbols.chain(orders.iter().map(|o| &o.symbol));
            symbols.map(|s| (s.clone(), last.get(s).copied())).collect()
        }
    };
    let mut known_trades = BTreeSet::new();
    for (symbol, from) in &window {
        let ids = ledger
            .trade_ids_from(venue, symbol, *from)
            .await
            .with_context(|| format!("failed to read the ledger's {symbol} trade ids"))?;
        known_trades.extend(ids.into_iter().map(|id| (symbol.clone(), id)));
    }
    let snapshot = LedgerSnapshot {
        positions,
        orders,
        known_trades,
    };
    Ok((snapshot, window))
}

/// Positions, open orders, and the trades of every symbol in `window`.
async fn read_exchange(
    exchange: &dyn Exchange,
    window: &TradeWindow,
) -> anyhow::Result<ExchangeSnapshot> {
    let positions = exchange
        .positions()
        .await
        .context("failed to fetch the exchange's positions")?;
    let open_orders = exchange
        .open_orders(None)
        .await
        .context("failed to fetch the exchange's open orders")?;
    let mut trades = Vec::new();
    for (symbol, from) in window {
        let mut t = exchange
            .user_trades(symbol, *from)
            .await
            .with_context(|| format!("failed to fetch the exchange's {symbol} trades"))?;
        trades.append(&mut t);
    }
    Ok(ExchangeSnapshot {
        positions,
        open_orders,
        trades,
    })
}

/// What `--fix --confirm` would do about `d`.
fn plan(d: &Discrepancy) -> Planned {
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
        Discrepancy::OrderMissingOnExchange { status, .. } => match status.as_str() {
            "new" | "partially_filled" => "mark the order canceled (adjustment row)".to_string(),
            _ => "nothing: resolve the order by clientOrderId first".to_string(),
        },
        Discrepancy::OrderUnknownToLedger { .. } => {
            "nothing: reconcile never trades; an operator decides".to_string()
        }
    };
    Planned {
        discrepancy: d.clone(),
        would,
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
            ..
        } => format!("{client_order_id} ({})", status.as_str()),
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
                    let outcome = serde_json::to_string(&r.outcome).unwrap_or_default();
                    writeln!(f, "  {:<28} {}", r.discrepancy.kind_name(), outcome)?;
                }
                writeln!(f, "{} difference(s) remain", self.remaining.len())?;
                write_rows(f, &self.remaining)
            }
        }
    }
}
