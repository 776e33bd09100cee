//! `sluice smoke`: prove a deployment trades, end to end, on the configured venue
//! (simulator, testnet, demo or mainnet): preflight, open the smallest allowed position
//! on one symbol, close it, check the ledger equals the exchange and `doctor` is clean,
//! print the evidence; exit 0 when every step passed, 1 otherwise.
//!
//! Invariants:
//! - the orders go through the daemon's own paths: intents stored by the ledger, worked
//!   by the real executor through the real adapter (nothing here builds an order);
//! - nothing is sent unless preflight passed, this process holds the leader lock (no
//!   daemon trades the same ledger meanwhile) and the symbol is flat on both sides;
//! - whatever the open left on the symbol is closed before the run ends, and a position
//!   left open is a failed step, never a pass.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use rust_decimal::Decimal;

pub(crate) use super::smoke_report::SmokeReport;
use crate::domain::{Direction, IntentSpec, OpenSize, PositionMode, Qty, Symbol, Usdt};
use crate::exchange::binance::{run_audit_writer, AttemptSink};
use crate::exchange::Exchange;
use crate::ledger::{IntentId, IntentRow, Ledger, LockSessionOptions, NewIntent};
use crate::router::{Executor, ExecutorDeps, ExecutorHandle};
use crate::settings::Settings;
use crate::startup::VENUE;

use super::smoke_checks::{evidence, snapshot, verify};

/// What to smoke.
#[derive(Clone, Debug)]
pub(crate) struct SmokeOptions {
    /// The symbol (default: the first of `exchange.symbols`).
    pub symbol: Option<String>,
    /// How long each intent may take before the step fails.
    pub timeout: Duration,
}

/// The executor and audit writer of one smoke run.
struct Session {
    exchange: Arc<dyn Exchange>,
    executor: ExecutorHandle,
    stop: crate::shutdown::ShutdownTrigger,
    audit_stop: tokio::sync::watch::Sender<bool>,
    audit: Option<tokio::task::JoinHandle<()>>,
}

/// Run the smoke test. `Err` only when it could not run at all (no database, no
/// credentials); a failed step is a report that did not pass.
pub(crate) async fn run(settings: &Settings, opts: &SmokeOptions) -> anyhow::Result<SmokeReport> {
    let mut report = SmokeReport::default();
    let symbol = pick_symbol(settings, opts)?;
    report.symbol = Some(symbol.to_string());
    let pre = super::preflight::run(settings).await?;
    let failed: Vec<String> = pre
        .failed()
        .map(|l| format!("{}: {}", l.name, l.observed))
        .collect();
    let detail = if failed.is_empty() {
        format!("{} checks passed", pre.lines.len())
    } else {
        failed.join("; ")
    };
    if !report.step("preflight", failed.is_empty(), detail) {
        return Ok(report);
    }
    let ledger = super::connect_ledger(settings).await?;
    let mut lock = ledger
        .lock_session(&LockSessionOptions {
            venue: VENUE.to_string(),
            application_name: format!("sluice smoke pid {}", std::process::id()),
            keepalive_idle: Duration::from_secs(5),
            account: None,
        })
        .await
        .context("failed to open the leader-lock session")?;
    if !lock.try_acquire().await? {
        let holder = lock.holder().await?.map(|h| h.to_string());
        report.step(
            "leader_lock",
            false,
            format!(
                "a sluice daemon leads this ledger ({}): stop it, or smoke against another database",
                holder.as_deref().unwrap_or("unknown holder")
            ),
        );
        return Ok(report);
    }
    report.step(
        "leader_lock",
        true,
        "held: no daemon trades this ledger meanwhile",
    );
    let trading = crate::startup::connect_exchange(settings)
        .await?
        .context("smoke trades: exchange.api_key and exchange.api_secret are required")?;
    let session = Session::start(&ledger, trading, settings).await?;
    let traded = trade(&ledger, &session, settings, &symbol, opts, &mut report).await;
    session.stop().await;
    lock.close().await;
    traded?;
    Ok(report)
}

fn pick_symbol(settings: &Settings, opts: &SmokeOptions) -> anyhow::Result<Symbol> {
    match &opts.symbol {
        Some(raw) => Symbol::new(raw).map_err(|e| anyhow::anyhow!("--symbol: {e}")),
        None => settings
            .exchange
            .symbols
            .first()
            .cloned()
            .context("--symbol: none given and exchange.symbols is empty"),
    }
}

impl Session {
    async fn start(
        ledger: &Ledger,
        t: crate::startup::Trading,
        settings: &Settings,
    ) -> anyhow::Result<Session> {
        let (audit_stop, stop_rx) = tokio::sync::watch::channel(false);
        let audit = t.audit.map(|buffer| {
            let sink: Arc<dyn AttemptSink> = Arc::new(ledger.clone());
            tokio::spawn(run_audit_writer(buffer, sink, stop_rx))
        });
        let mut config = t.config;
        config.adopt_unknown_positions = settings.daemon.adopt_unknown_positions;
        config.escalation.limit_ioc_fallback = settings.daemon.limit_ioc_fallback;
        config.escalation.fallback_after = settings.daemon.limit_ioc_fallback_after.get();
        settings.executor.apply(&mut config);
        let (stop, shutdown) = crate::shutdown::channel();
        let deps = ExecutorDeps {
            ledger: ledger.clone(),
            exchange: t.exchange.clone(),
            venue: VENUE.to_string(),
            config,
            on_key_recovered: None,
        };
        let executor = Executor::spawn(deps, shutdown)
            .await
            .context("failed to start the executor")?;
        Ok(Session {
            exchange: t.exchange,
            executor,
            stop,
            audit_stop,
            audit,
        })
    }

    /// Stop the executor, then flush the audit trail into `order_attempts`.
    async fn stop(self) {
        self.stop.trigger();
        self.executor.stopped().await;
        let _ = self.audit_stop.send(true);
        if let Some(a) = self.audit {
            let _ = a.await;
        }
    }
}

async fn trade(
    ledger: &Ledger,
    s: &Session,
    settings: &Settings,
    symbol: &Symbol,
    opts: &SmokeOptions,
    report: &mut SmokeReport,
) -> anyhow::Result<()> {
    let before = snapshot(ledger, s.exchange.as_ref(), symbol).await?;
    report.before = Some(before.clone());
    let flat = before.exchange.is_zero() && before.ledger.is_zero();
    let detail = format!(
        "{symbol}: exchange {} ledger {}",
        before.exchange, before.ledger
    );
    if !report.step("flat_before", flat, detail) {
        return Ok(());
    }
    let Some(qty) = smallest(s.exchange.as_ref(), symbol, report).await? else {
        return Ok(());
    };
    let mode = settings.exchange.position_mode;
    let allocation = Usdt::new(settings.budget.allocation_usdt);
    let mark = s
        .exchange
        .mark_price(symbol, crate::exchange::Purpose::Routine)
        .await?
        .mark_price;
    let open = NewIntent {
        spec: IntentSpec::Open {
            symbol: symbol.clone(),
            direction: Direction::Long,
            size: OpenSize::Quantity(qty),
        },
        venue: VENUE.to_string(),
        position_mode: mode,
        reference_price: Some(mark),
        idempotency_key: format!("smoke-open-{}", uuid::Uuid::new_v4()),
        reason: "sluice smoke".to_string(),
    };
    let mut intents = Vec::new();
    match ledger.create_intent(&open, allocation).await {
        Ok(created) => {
            s.executor.poke();
            let row = until_terminal(ledger, created.intent.id, opts.timeout).await?;
            let ok = row.outcome() == Some("done");
            report.step("open", ok, describe(&row, qty));
            intents.push(("open", row.id));
            if !row.state.is_terminal() {
                // Its order may still fill: a close now could race it. The intent stays in
                // the ledger; the daemon's next start resolves and finishes it.
                report.step(
                    "close",
                    false,
                    format!(
                        "not attempted: open intent #{} still {} after {:?}; check {symbol}                          with `sluice account` and close it once it settles",
                        row.id,
                        row.state.as_str(),
                        opts.timeout
                    ),
                );
                evidence(ledger, &intents, report).await?;
                return Ok(());
            }
        }
        Err(e) => {
            report.step("open", false, format!("the ledger refused the open: {e}"));
        }
    }
    intents.extend(close_what_is_open(ledger, s, symbol, mode, opts, report).await?);
    evidence(ledger, &intents, report).await?;
    verify(ledger, s.exchange.as_ref(), settings, symbol, report).await
}

/// The smallest open the exchange accepts now on `symbol` (a failed step when unknown).
async fn smallest(
    ex: &dyn Exchange,
    symbol: &Symbol,
    report: &mut SmokeReport,
) -> anyhow::Result<Option<Qty>> {
    let rules = ex.symbol_rules(crate::exchange::Purpose::Routine).await?;
    let Some(rules) = rules.into_iter().find(|r| &r.symbol == symbol) else {
        report.step(
            "size",
            false,
            format!("{symbol} is not listed by the exchange"),
        );
        return Ok(None);
    };
    let mark = ex
        .mark_price(symbol, crate::exchange::Purpose::Routine)
        .await?
        .mark_price;
    match crate::router::sizing::smallest_open(&rules, mark) {
        Ok(q) => {
            report.quantity = Some(q.get());
            let detail = format!(
                "{q} {symbol} at mark {mark} (minQty {}, MIN_NOTIONAL {})",
                rules.market_lot_size.min_qty, rules.min_notional
            );
            report.step("size", true, detail);
            Ok(Some(q))
        }
        Err(e) => {
            report.step("size", false, e.0);
            Ok(None)
        }
    }
}

/// Close every open ledger position on `symbol` (what the open built, whatever its outcome).
async fn close_what_is_open(
    ledger: &Ledger,
    s: &Session,
    symbol: &Symbol,
    mode: PositionMode,
    opts: &SmokeOptions,
    report: &mut SmokeReport,
) -> anyhow::Result<Vec<(&'static str, IntentId)>> {
    let mut closed = Vec::new();
    let open: Vec<_> = ledger
        .open_positions()
        .await?
        .into_iter()
        .filter(|p| p.venue == VENUE && &p.symbol == symbol && !p.quantity.is_zero())
        .collect();
    for p in open {
        let close = NewIntent {
            spec: IntentSpec::Close {
                position: p.id,
                quantity: None,
            },
            venue: VENUE.to_string(),
            position_mode: mode,
            reference_price: None,
            idempotency_key: format!("smoke-close-{}", uuid::Uuid::new_v4()),
            reason: "sluice smoke".to_string(),
        };
        let created = ledger
            .create_intent(&close, Usdt::new(Decimal::ZERO))
            .await?;
        s.executor.poke();
        let row = until_terminal(ledger, created.intent.id, opts.timeout).await?;
        report.step(
            "close",
            row.outcome() == Some("done"),
            describe(&row, p.quantity),
        );
        closed.push(("close", row.id));
    }
    Ok(closed)
}

fn describe(row: &IntentRow, qty: Qty) -> String {
    let mut d = format!(
        "intent #{} {} {qty}: {}",
        row.id,
        row.kind().as_str(),
        row.outcome().unwrap_or(row.state.as_str())
    );
    if let Some(short) = row.shortfall {
        d.push_str(&format!(", shortfall {short}"));
    }
    if let Some(e) = &row.error {
        d.push_str(&format!(", error: {e}"));
    }
    d
}

/// Poll the ledger until `id` is terminal; a timeout returns the row as it stands.
async fn until_terminal(
    ledger: &Ledger,
    id: IntentId,
    within: Duration,
) -> anyhow::Result<IntentRow> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let row = ledger.intent(id).await?.context("the intent vanished")?;
        if row.state.is_terminal() || tokio::time::Instant::now() >= deadline {
            return Ok(row);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
