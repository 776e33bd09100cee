//! `sluice reconcile [--json] [--fix] [--confirm]`: compare the ledger with the
//! exchange, print every difference, and on `--fix --confirm` repair the ledger.
//!
//! Invariants:
//! - never trades: the exchange is only read (positions, openOrders, userTrades, and
//!   GET order / userTrades for each ledger order it does not list open; openAlgoOrders,
//!   and GET algoOrder for each live protective row it does not list open);
//! - dry run by default; `--fix` alone prints what would change and writes nothing;
//! - with `--fix --confirm`, missing fills are backfilled first, then the ledger is
//!   read again and diffed again, and only what still differs is corrected; a final
//!   diff says what remains;
//! - exit policy: 0 clean (or everything repaired), 1 differences remain, 2 error;
//! - the daemon runs it too (`startup/reconcile_task.rs`): a dry run, except the optional
//!   ledger-only repairs at start (`daemon.reconcile_fix`).

mod algo;
mod render;
mod scope;

pub(crate) use scope::ReadScope;

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{ClientOrderId, Symbol};
use crate::exchange::{Exchange, OrderResolution};
use crate::ledger::{Ledger, Origin};
use crate::reconcile::{
    apply, diff, Discrepancy, ExchangeOrderState, ExchangeSnapshot, LedgerOrder, LedgerPosition,
    LedgerSnapshot, Repair,
};

/// Who reconcile's corrections are attributed to in `ledger_adjustments`.
pub(crate) const ACTOR: &str = "reconcile";

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

/// How far `sluice reconcile` was asked to go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Without `--fix`: differences reported, nothing written.
    DryRun,
    /// `--fix` without `--confirm`: what would change, nothing written.
    WouldFix,
    /// `--fix --confirm`: the repairs were written.
    Fixed,
}

/// One planned change (`--fix` without `--confirm`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Planned {
    pub(crate) discrepancy: Discrepancy,
    /// The change, in words.
    pub would: String,
}

/// What reconcile found and did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconcileReport {
    /// The venue reconciled (the name the ledger stores it under).
    pub venue: String,
    /// What was asked: report, plan or repair.
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

/// `sluice reconcile`'s arguments.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::Args)]
pub struct ReconcileArgs {
    /// Print the report as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    #[allow(
        missing_docs,
        reason = "clap: a doc comment here would become help text"
    )]
    #[command(flatten)]
    pub options: ReconcileOptions,
}

/// The whole command for the CLI: run, render (table or JSON), and the exit code
/// (0 clean, 1 differences remain, 2 error; the error is rendered too).
pub async fn command(
    ledger: &Ledger,
    exchange: &dyn Exchange,
    args: ReconcileArgs,
    is_sluice_id: &(dyn Fn(&str) -> bool + Send + Sync),
) -> (String, i32) {
    let result = run(ledger, exchange, args.options, is_sluice_id).await;
    let code = exit_code(&result);
    let text = match (&result, args.json) {
        (Ok(r), true) => serde_json::to_string_pretty(r)
            .unwrap_or_else(|e| format!("{{\"error\": \"failed to encode the report: {e}\"}}")),
        (Ok(r), false) => r.to_string(),
        (Err(e), true) => serde_json::json!({ "error": format!("{e:#}") }).to_string(),
        (Err(e), false) => format!("reconcile failed: {e:#}"),
    };
    (text, code)
}

/// The CLI exit code: 2 when reconcile itself failed.
pub fn exit_code(result: &anyhow::Result<ReconcileReport>) -> i32 {
    result.as_ref().map_or(2, ReconcileReport::exit_code)
}

/// Per symbol, the first trade id to fetch (the ledger's last one; None = recent).
type TradeWindow = BTreeMap<Symbol, Option<i64>>;

/// Reconcile the ledger of `exchange.venue()` with the exchange, reading every symbol's
/// open orders.
pub async fn run(
    ledger: &Ledger,
    exchange: &dyn Exchange,
    opts: ReconcileOptions,
    is_sluice_id: &(dyn Fn(&str) -> bool + Send + Sync),
) -> anyhow::Result<ReconcileReport> {
    run_in(ledger, exchange, opts, is_sluice_id, &ReadScope::All).await
}

/// [`run`], reading open orders and open algo orders as `scope` says.
#[tracing::instrument(skip_all, fields(venue = exchange.venue(), fix = opts.fix, confirm = opts.confirm))]
pub(crate) async fn run_in(
    ledger: &Ledger,
    exchange: &dyn Exchange,
    opts: ReconcileOptions,
    is_sluice_id: &(dyn Fn(&str) -> bool + Send + Sync),
    scope: &ReadScope,
) -> anyhow::Result<ReconcileReport> {
    let venue = exchange.venue().to_string();
    let (first, window) = read_ledger(ledger, &venue, None).await?;
    let scope = scope.with_ledger(&first);
    let (mut theirs, read_at) = read_exchange(exchange, &window, scope).await?;
    let adopted = adoption_times(ledger, &venue).await?;
    drop_trades_covered_by_adoption(&mut theirs.trades, &window, &adopted);
    let first_found = diff(&first, &theirs, is_sluice_id);
    resolve_missing(exchange, &first_found, &mut theirs).await;
    algo::resolve_ledger_only(exchange, &first_found, &mut theirs).await;
    // Resolved orders may bring trades older than the window: widen it so the ledger's
    // known trades cover every trade in the snapshot.
    let window = widen(window, &theirs);
    let (before, _) = read_ledger(ledger, &venue, Some(&window)).await?;
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
            report.planned = report.found.iter().map(render::plan).collect();
        }
        (true, true) => {
            report.mode = Mode::Fixed;
            let view = View {
                ledger,
                venue: &venue,
                window: &window,
                theirs: &theirs,
                read_at,
                is_sluice_id,
            };
            (report.repairs, report.remaining) = fix(&view, &report.found).await?;
        }
    }
    tracing::info!(
        found = report.found.len(),
        remaining = report.remaining.len(),
        "reconcile finished"
    );
    Ok(report)
}

/// Everything a fix needs to re-read the ledger and diff it against the same exchange
/// snapshot.
struct View<'a> {
    ledger: &'a Ledger,
    venue: &'a str,
    window: &'a TradeWindow,
    theirs: &'a ExchangeSnapshot,
    /// When the exchange's positions in `theirs` were read, on the exchange's clock (the
    /// corrections' cut-off for the external fills they account for:
    /// `src/ledger/reattribute.rs`).
    read_at: DateTime<Utc>,
    is_sluice_id: &'a (dyn Fn(&str) -> bool + Send + Sync),
}

impl View<'_> {
    async fn diff_now(&self) -> anyhow::Result<Vec<Discrepancy>> {
        let (ours, _) = read_ledger(self.ledger, self.venue, Some(self.window)).await?;
        Ok(diff(&ours, self.theirs, self.is_sluice_id))
    }
}

/// Backfill the missing fills, diff again, correct what still differs (never a fill
/// twice), and diff once more for what remains.
async fn fix(
    view: &View<'_>,
    found: &[Discrepancy],
) -> anyhow::Result<(Vec<Repair>, Vec<Discrepancy>)> {
    let is_fill = |d: &Discrepancy| matches!(d, Discrepancy::FillMissingFromLedger { .. });
    let fills: Vec<Discrepancy> = found.iter().filter(|d| is_fill(d)).cloned().collect();
    let mut repairs = apply(view.ledger, view.venue, ACTOR, &fills, view.read_at).await;
    let rest: Vec<Discrepancy> = view
        .diff_now()
        .await?
        .into_iter()
        .filter(|d| !is_fill(d))
        .collect();
    repairs.extend(apply(view.ledger, view.venue, ACTOR, &rest, view.read_at).await);
    Ok((repairs, view.diff_now().await?))
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
        protective: algo::ledger_rows(ledger, venue).await?,
    };
    Ok((snapshot, window))
}

/// Positions, open orders, and the trades of every symbol in `window`.
/// When each symbol's adopted position was taken over (the latest, per symbol).
async fn adoption_times(
    ledger: &Ledger,
    venue: &str,
) -> anyhow::Result<BTreeMap<Symbol, DateTime<Utc>>> {
    let mut at: BTreeMap<Symbol, DateTime<Utc>> = BTreeMap::new();
    let positions = ledger
        .open_positions()
        .await
        .context("failed to read the ledger's open positions")?;
    for p in positions
        .iter()
        .filter(|p| p.venue == venue && p.origin == Origin::Adopted)
    {
        let e = at.entry(p.symbol.clone()).or_insert(p.opened_at);
        *e = (*e).max(p.opened_at);
    }
    Ok(at)
}

/// An adopted position stands for every trade that built it before sluice took it over:
/// on a symbol where the ledger has no trade of its own yet (the window starts at the
/// recent trades), those trades are not "missing from the ledger".
fn drop_trades_covered_by_adoption(
    trades: &mut Vec<crate::domain::Fill>,
    window: &TradeWindow,
    adopted: &BTreeMap<Symbol, DateTime<Utc>>,
) {
    trades.retain(|t| {
        let no_own_trades = matches!(window.get(&t.symbol), Some(None));
        let covered = adopted.get(&t.symbol).is_some_and(|at| t.time <= *at);
        !(no_own_trades && covered)
    });
}

/// Also returns when the positions' answer arrived, on the exchange's clock (the one its
/// trade times are on): every trade executed before it is in them.
async fn read_exchange(
    exchange: &dyn Exchange,
    window: &TradeWindow,
    scope: Option<BTreeSet<Symbol>>,
) -> anyhow::Result<(ExchangeSnapshot, DateTime<Utc>)> {
    // Reconcile's reads are routine: nothing risk-reducing waits on them.
    let positions = exchange
        .positions(crate::exchange::Purpose::Routine)
        .await
        .context("failed to fetch the exchange's positions")?;
    let read_at = crate::exchange::on_exchange_clock(exchange, Utc::now()).await;
    let scope = scope
        .map(|mut s| {
            s.extend(positions.iter().map(|p| p.symbol.clone()));
            s
        })
        .filter(|s| s.len() < scope::SCOPED_READS_BELOW);
    let (open_orders, open_algo_orders) = match &scope {
        Some(symbols) => scope::read_scoped(exchange, symbols).await?,
        None => (
            exchange
                .open_orders(None, crate::exchange::Purpose::Routine)
                .await
                .context("failed to fetch the exchange's open orders")?,
            algo::venue_orders(exchange).await?,
        ),
    };
    let mut trades = Vec::new();
    for (symbol, from) in window {
        let mut t = exchange
            .user_trades(symbol, *from)
            .await
            .with_context(|| format!("failed to fetch the exchange's {symbol} trades"))?;
        trades.append(&mut t);
    }
    let snapshot = ExchangeSnapshot {
        positions,
        open_orders,
        trades,
        resolved: BTreeMap::new(),
        open_algo_orders,
        resolved_algo: BTreeMap::new(),
    };
    Ok((snapshot, read_at))
}

/// Ask the exchange (read-only: GET order, userTrades) about every ledger order it
/// does not list open; record its answer and add the order's trades. A failed question
/// leaves the order unresolved, which apply never retires.
async fn resolve_missing(
    exchange: &dyn Exchange,
    found: &[Discrepancy],
    theirs: &mut ExchangeSnapshot,
) {
    for d in found {
        let Discrepancy::OrderMissingOnExchange {
            symbol,
            client_order_id,
            ..
        } = d
        else {
            continue;
        };
        let answer = match ClientOrderId::new(client_order_id) {
            Ok(id) => exchange
                .resolve_order(symbol, &id, crate::exchange::Purpose::Routine)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        let state = match answer {
            Ok(OrderResolution::Known { order, mut trades }) => {
                theirs.trades.append(&mut trades);
                ExchangeOrderState::Known(order.status)
            }
            Ok(OrderResolution::NotFound) => ExchangeOrderState::NotFound,
            Err(error) => {
                tracing::warn!(%client_order_id, %error, "could not resolve a missing order");
                continue;
            }
        };
        theirs.resolved.insert(client_order_id.clone(), state);
    }
}

/// Start each symbol's window at the oldest trade the snapshot holds for it.
fn widen(mut window: TradeWindow, theirs: &ExchangeSnapshot) -> TradeWindow {
    for t in &theirs.trades {
        let from = window.entry(t.symbol.clone()).or_insert(Some(t.trade_id));
        if let Some(id) = from {
            *id = (*id).min(t.trade_id);
        }
    }
    window
}
