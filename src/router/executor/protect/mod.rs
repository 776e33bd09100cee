//! Exchange-side protection: keeps every position a protected open built covered by the
//! stop-loss / take-profit it asked for, as algo orders the exchange holds and fires
//! even when sluice is dead (docs/binance-fapi.md §2.2, §5.6, §9).
//!
//! One task sweeps a few times a second (and the user stream's `ALGO_UPDATE`s arrive in
//! between through [`on_algo_update`]):
//! - a position whose protection is missing gets it: trigger prices from the position's
//!   average entry, `closePosition=true` on the closing side (one-way and hedge alike),
//!   a deterministic `clientAlgoId` (`slp<position>g<generation>`, `tpp…`), recorded
//!   `planned` before it is sent and looked up by that id before any re-send, so a retry
//!   or a crash never places it twice;
//! - when the position's entry moves (it grew), the new generation is placed first and
//!   the old one cancelled only once the new one is live: never a gap;
//! - a position that is flat gets its untriggered protective orders cancelled;
//! - a triggered stop's order (`ai`) is recorded as a close order of the position and
//!   its fills applied as close fills (`Ledger::link_protective_order`);
//! - failures to place are retried with backoff, logged at ERROR and counted
//!   (`sluice_protective_failures_total`); a refusal re-sending cannot fix ends the row
//!   `rejected`, which `doctor` reports while the position stays open;
//! - the watchdog: a stop that fired (TRIGGERING/TRIGGERED) while its position is still
//!   open `stop_watchdog` later, or one the venue REJECTED at its trigger, makes sluice
//!   store a close of the position itself (a risk-reducing intent, scheduled first;
//!   keyed `watchdog:<clientAlgoId>`, so once), with an ERROR log and
//!   `sluice_protective_watchdog_total`: the stop is evidence, the position is what
//!   matters;
//! - at start and every minute the venue's open algo orders are compared with the
//!   ledger's live rows: one held on one side only is logged at ERROR and counted in
//!   `sluice_protective_one_sided{side}` (the comparison is `reconcile::protective`,
//!   the same `sluice reconcile` reports; the daemon never adopts or cancels them).
//!
//! Order within one sweep ([`Work`]): the risk-reducing work first, row by row: the
//! re-reads of fired stops whose position is still open (a close waits on them), then
//! placements and the cancels of flat positions' stops; then the watchdog and the
//! planning of missing protection; the routine re-reads last (the 15-second full check,
//! the re-read after a cancel, a planned row whose position went flat), and each only
//! while the IP's weight has room for a background read (`Exchange::background_read_fits`,
//! as the comparison asks). A routine read the limiter would hold until the minute ends
//! is not sent; it is deferred to the next sweep (a full check stays due until it has
//! read every row, each sweep reading only the rows it has not read yet, and a cancelled
//! row is re-read, not cancelled again), so it never holds a fired stop's re-read or a
//! placement behind it. The sweep at start defers nothing ([`Protector::sweep_at_start`]).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use rust_decimal::Decimal;
use tokio::task::JoinHandle;

use crate::domain::{Price, ProtectionKind, Symbol};
use crate::exchange::{AlgoOrderRequest, AlgoStatus, ErrorClass, Exchange, Purpose};
use crate::ledger::protective::ProtectiveRow;
use crate::ledger::{Ledger, PositionId, PositionStatus};
use crate::shutdown::Shutdown;

mod ensure;
mod link;
#[cfg(test)]
mod sweep_tests;
mod watch;

use link::link_triggered;
pub(crate) use link::on_algo_update;

/// How often the ledger is swept for protection to place, replace or cancel.
const SWEEP_EVERY: Duration = Duration::from_millis(250);
/// Untriggered orders are re-read from the venue this often (the stream tells of
/// changes in between; this catches what a stream gap swallowed).
const FULL_CHECK_EVERY: Duration = Duration::from_secs(15);
/// The venue's cap on open conditional orders across all symbols (since 2025-12-29).
pub(crate) const MAX_OPEN_ALGO: usize = 200;
/// Gauge: protective orders on one side only at the last comparison, by `side`
/// (`exchange_only`: an algo order the ledger does not hold live; `ledger_only`: a live
/// row the venue does not list).
pub(crate) const PROTECTIVE_ONE_SIDED: &str = "sluice_protective_one_sided";
/// How often the venue's open algo orders are compared with the ledger (weight 40).
const COMPARE_EVERY: Duration = Duration::from_secs(60);
/// Counter: closes the watchdog started, by `state` of the stop (triggering, triggered,
/// rejected).
pub(crate) const PROTECTIVE_WATCHDOG_TOTAL: &str = "sluice_protective_watchdog_total";
/// Counter: protective-order failures, by `what` (place, cancel, link) and `code`.
pub(crate) const PROTECTIVE_FAILURES_TOTAL: &str = "sluice_protective_failures_total";

/// The sweeping task's state.
pub(crate) struct Protector {
    pub ledger: Ledger,
    pub exchange: Arc<dyn Exchange>,
    pub venue: String,
    /// Tick size per symbol, for trigger prices on the grid.
    pub ticks: HashMap<Symbol, Decimal>,
    /// How long a fired stop may leave its position open before sluice closes it.
    pub watchdog: Duration,
    /// Rows cancelled at the venue whose re-read (routine) was deferred: the next sweep
    /// re-reads them instead of cancelling them again.
    pub cancelled: std::sync::Mutex<std::collections::HashSet<i64>>,
    /// The rows the full check in progress has still to re-read (empty: none in
    /// progress). A sweep re-reads only these, so a check whose reads are deferred
    /// resumes where it stopped instead of starting again from the ledger's first row.
    pub unread: std::sync::Mutex<std::collections::HashSet<i64>>,
}

impl Protector {
    pub(crate) fn from_ctx(ctx: &super::context::Ctx) -> Self {
        Protector {
            ledger: ctx.ledger.clone(),
            exchange: ctx.exchange.clone(),
            venue: ctx.venue.clone(),
            ticks: ctx
                .rules
                .iter()
                .map(|(s, r)| (s.clone(), r.price_filter.tick_size))
                .collect(),
            watchdog: ctx.cfg.stop_watchdog,
            cancelled: Default::default(),
            unread: Default::default(),
        }
    }
}

/// Start the sweeping task.
pub(crate) fn spawn(p: Protector, mut shutdown: Shutdown) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SWEEP_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_full: Option<tokio::time::Instant> = None;
        let mut last_compare: Option<tokio::time::Instant> = None;
        loop {
            tokio::select! {
                _ = shutdown.recv() => break,
                _ = tick.tick() => {}
            }
            let full = last_full.is_none_or(|t| t.elapsed() >= FULL_CHECK_EVERY);
            match p.sweep(full, Routine::WhileRoomLeft).await {
                // A full check some of whose re-reads were deferred stays due.
                Ok(Swept { full_done }) => {
                    if full && full_done {
                        last_full = Some(tokio::time::Instant::now());
                    }
                }
                Err(e) => {
                    if full {
                        last_full = Some(tokio::time::Instant::now());
                    }
                    tracing::warn!(error = %e, "protective-order sweep failed; retrying");
                }
            }
            if last_compare.is_none_or(|t| t.elapsed() >= COMPARE_EVERY) {
                match p.compare().await {
                    Ok(false) => {} // no room in the IP's weight: asked again next sweep
                    Ok(true) => last_compare = Some(tokio::time::Instant::now()),
                    Err(e) => {
                        last_compare = Some(tokio::time::Instant::now());
                        tracing::warn!(error = %e, "comparing protective orders with the venue failed");
                    }
                }
            }
        }
    })
}

/// IP weight of `GET /fapi/v1/algoOrder` (one row's re-read).
const ALGO_ORDER_WEIGHT: u32 = 1;

/// What one sweep does with a live row, in the order a sweep does it (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Work {
    /// A fired stop whose position is still open: re-read it (risk-reducing; its close,
    /// or the watchdog's, waits on it).
    ReadFired,
    /// A planned row of an open position: look it up and place it when due.
    Place,
    /// An untriggered order of a flat position: cancel it (its re-read is routine).
    Cancel,
    /// A planned row whose position went flat: look it up to end it (routine).
    DropPlanned,
    /// A routine re-read: the full check's, or the one after a cancel (a flat position's
    /// order is re-read in the sweep that cancelled it, a superseded generation's at the
    /// next sweep; either at a later sweep while deferred).
    Reread,
}

impl Work {
    /// What a sweep does with a row in `state` whose position is `flat`; `full`: this
    /// sweep re-reads every row; `cancelled`: a cancel was sent and its re-read deferred.
    pub(crate) fn of(
        state: Option<AlgoStatus>,
        flat: bool,
        full: bool,
        cancelled: bool,
    ) -> Option<Work> {
        match state {
            None if flat => Some(Work::DropPlanned),
            None => Some(Work::Place),
            Some(AlgoStatus::New) if cancelled => Some(Work::Reread),
            Some(AlgoStatus::New) if flat => Some(Work::Cancel),
            Some(AlgoStatus::Triggering | AlgoStatus::Triggered) if !flat => Some(Work::ReadFired),
            _ if full => Some(Work::Reread),
            _ => None,
        }
    }

    /// A read nothing risk-reducing waits on: sent last, and only while a background
    /// read fits the IP's weight.
    pub(crate) fn is_routine(self) -> bool {
        matches!(self, Work::DropPlanned | Work::Reread)
    }

    /// A sweep's rows in the order it handles them: risk-reducing work first (fired
    /// stops' re-reads before placements and cancels), the routine reads last; rows
    /// keep their ledger order within each kind.
    pub(crate) fn ordered<T>(mut work: Vec<(Work, T)>) -> Vec<(Work, T)> {
        work.sort_by_key(|(w, _)| (w.is_routine(), *w != Work::ReadFired));
        work
    }
}

/// What a sweep got through.
struct Swept {
    /// The full check in progress has re-read every row it had to (none left for a
    /// later sweep).
    full_done: bool,
}

/// How a sweep sends its routine reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Routine {
    /// Each only while a background read fits the IP's weight; the rest are deferred to
    /// the next sweep.
    WhileRoomLeft,
    /// All of them now, the limiter holding each until the weight allows it: the sweep
    /// at start, whose re-reads find the stops that fired while sluice was down before
    /// the executor trades.
    All,
}

fn failure(what: &'static str, code: Option<i64>) {
    let code = code.map_or_else(|| "none".to_string(), |c| c.to_string());
    metrics::counter!(PROTECTIVE_FAILURES_TOTAL, "what" => what, "code" => code).increment(1);
}

/// The clientAlgoId of `kind` for `position`, generation `generation`.
pub(crate) fn client_algo_id(
    kind: ProtectionKind,
    position: PositionId,
    generation: i32,
) -> String {
    let prefix = match kind {
        ProtectionKind::StopLoss => "slp",
        ProtectionKind::TakeProfit => "tpp",
    };
    format!("{prefix}{}g{generation}", position.0)
}

/// Backoff before re-sending a placement that failed `attempts` times.
fn retry_after(attempts: i32) -> chrono::Duration {
    let ms = 500i64.saturating_mul(1i64 << attempts.clamp(0, 6));
    chrono::Duration::milliseconds(ms.min(30_000))
}

impl Protector {
    /// One full sweep before the executor trades (at start): stops that fired while
    /// sluice was down are linked and their fills applied, and stale stops of positions
    /// closed meanwhile are cancelled before an open could build a new position on their
    /// leg (a `closePosition` order left behind would close it). Its routine re-reads are
    /// not deferred (`Routine::All`): the full check's re-read of a NEW row is what finds
    /// a stop that fired meanwhile, and it is booked routine like the other start-up reads,
    /// so it may wait for weight but leaves the reserve to closes.
    pub(crate) async fn sweep_at_start(&self) {
        if let Err(e) = self.sweep(true, Routine::All).await {
            tracing::warn!(error = %e, "protective-order sweep at start failed; the running sweep retries");
        }
    }

    /// One sweep, in the order the module doc gives.
    /// `full`: a full check is due (one starts unless one is in progress).
    async fn sweep(&self, full: bool, routine: Routine) -> anyhow::Result<Swept> {
        let live: Vec<ProtectiveRow> = self
            .ledger
            .live_protective_orders()
            .await?
            .into_iter()
            .filter(|r| r.venue == self.venue)
            .collect();
        let cancelled = self.cancelled_pending(&live);
        let unread = self.unread_pending(&live, full);
        let mut work = Vec::with_capacity(live.len());
        // A row of the full check whose work this sweep is not the re-read (it is placed,
        // cancelled, looked up, or re-read as a fired stop) needs no re-read of its own.
        let mut covered = Vec::new();
        for row in live {
            let flat = self
                .ledger
                .position(row.position_id)
                .await?
                .is_none_or(|p| p.status != PositionStatus::Open);
            let of_check = unread.contains(&row.id);
            let w = Work::of(row.state, flat, of_check, cancelled.contains(&row.id));
            if of_check && w != Some(Work::Reread) {
                covered.push(row.id);
            }
            if let Some(w) = w {
                work.push((w, row));
            }
        }
        self.unread_lock().retain(|id| !covered.contains(id));
        let mut reads = Vec::new();
        for (w, row) in Work::ordered(work) {
            match w {
                // Firing: followed closely until its position is flat (the watchdog's
                // input). The close it made, or the watchdog's, waits on this read: it may
                // use the reserve.
                Work::ReadFired => {
                    self.reread(&row, Purpose::ReduceRisk).await?;
                }
                Work::Place => self.place_if_due(&row).await?,
                Work::Cancel => {
                    if self.cancel(&row).await {
                        reads.push((Work::Reread, row));
                    }
                }
                Work::DropPlanned | Work::Reread => reads.push((w, row)),
            }
        }
        self.watchdog().await?;
        for position in self.ledger.protected_open_positions(&self.venue).await? {
            self.ensure(position).await?;
        }
        // Routine reads last, each only while it fits as a background read: one the
        // limiter would hold is left for the next sweep.
        for (w, row) in &reads {
            if routine == Routine::WhileRoomLeft
                && !self.exchange.background_read_fits(ALGO_ORDER_WEIGHT)
            {
                break;
            }
            match w {
                Work::DropPlanned => self.drop_planned(row).await?,
                _ => {
                    if self.reread(row, Purpose::Routine).await? {
                        self.cancelled_lock().remove(&row.id);
                    }
                    // Read, or tried: a failed read waits for the next full check.
                    self.unread_lock().remove(&row.id);
                }
            }
        }
        Ok(Swept {
            full_done: self.unread_lock().is_empty(),
        })
    }

    fn unread_lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashSet<i64>> {
        self.unread
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The rows the full check in progress has still to re-read, forgetting those no
    /// longer live; `full` with none left starts a new check of every live row.
    fn unread_pending(&self, live: &[ProtectiveRow], full: bool) -> std::collections::HashSet<i64> {
        let mut unread = self.unread_lock();
        unread.retain(|id| live.iter().any(|r| r.id == *id));
        if full && unread.is_empty() {
            unread.extend(live.iter().map(|r| r.id));
        }
        unread.clone()
    }

    fn cancelled_lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashSet<i64>> {
        self.cancelled
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The rows cancelled with their re-read still to do.
    fn cancelled_pending_ids(&self) -> std::collections::HashSet<i64> {
        self.cancelled_lock().clone()
    }

    /// The rows cancelled with their re-read still to do, forgetting those no longer
    /// live (the stream reported the cancel, or a re-read did).
    fn cancelled_pending(&self, live: &[ProtectiveRow]) -> std::collections::HashSet<i64> {
        let mut pending = self.cancelled_lock();
        pending.retain(|id| live.iter().any(|r| r.id == *id));
        pending.clone()
    }

    /// Re-read a row from the venue, for `purpose`: a fired stop's re-read reduces risk;
    /// the periodic check's and the one after a cancel (its position is flat) do not.
    /// `Ok(true)`: the venue answered.
    async fn reread(&self, row: &ProtectiveRow, purpose: Purpose) -> anyhow::Result<bool> {
        match self.exchange.algo_order(&row.client_algo_id, purpose).await {
            Ok(Some(r)) => {
                let updated = self.ledger.record_protective_report(&r).await?;
                if let Some(u) = updated {
                    link_triggered(&self.ledger, &self.venue, &self.exchange, &u, false).await?;
                }
                Ok(true)
            }
            Ok(None) => {
                tracing::error!(client_algo_id = %row.client_algo_id, "the venue no longer knows a protective order sluice placed");
                failure("lookup", Some(-2013));
                Ok(true)
            }
            Err(e) => {
                tracing::warn!(client_algo_id = %row.client_algo_id, error = %e, "reading a protective order failed");
                Ok(false)
            }
        }
    }

    /// Place a planned row, unless the venue already has it (a send whose answer was
    /// lost) or its backoff has not run out.
    async fn place_if_due(&self, row: &ProtectiveRow) -> anyhow::Result<()> {
        if row.attempts > 0 && chrono::Utc::now() - row.updated_at < retry_after(row.attempts) {
            return Ok(());
        }
        // The placement this look-up guards is booked as risk-reducing (a stop protects
        // an open position), so the look-up may use the reserve too.
        match self
            .exchange
            .algo_order(&row.client_algo_id, Purpose::ReduceRisk)
            .await
        {
            Ok(Some(r)) => {
                self.ledger.record_protective_report(&r).await?;
                return Ok(());
            }
            Ok(None) => {}
            Err(e) => {
                self.ledger
                    .record_protective_error(row.id, &e.to_string(), false)
                    .await?;
                return Ok(());
            }
        }
        let live_at_venue = self
            .ledger
            .live_protective_orders()
            .await?
            .iter()
            .filter(|r| r.state.is_some())
            .count();
        if live_at_venue >= MAX_OPEN_ALGO {
            let msg = format!("the venue's cap of {MAX_OPEN_ALGO} open conditional orders is reached: {} is not placed", row.client_algo_id);
            tracing::error!(position_id = row.position_id.0, "{msg}");
            failure("place", None);
            self.ledger
                .record_protective_error(row.id, &msg, true)
                .await?;
            return Ok(());
        }
        self.send(row).await
    }

    /// Send a planned row to the venue and record the answer.
    async fn send(&self, row: &ProtectiveRow) -> anyhow::Result<()> {
        let request = AlgoOrderRequest {
            symbol: row.symbol.clone(),
            side: row.side,
            position_side: row.position_side,
            kind: row.kind,
            trigger_price: Price::new("trigger_price", row.trigger_price)?,
            working_type: row.working_type,
            quantity: None,
            client_algo_id: row.client_algo_id.clone(),
        };
        match self.exchange.place_algo_order(&request).await {
            Ok(r) => {
                self.ledger.record_protective_report(&r).await?;
                tracing::info!(position_id = row.position_id.0, kind = row.kind.as_str(), client_algo_id = %row.client_algo_id, trigger = %row.trigger_price, "protective order placed");
            }
            Err(e) => {
                // A refusal re-planning cannot fix (would trigger at once, cap, filters)
                // ends the row; anything else is retried with backoff.
                let terminal = matches!(e.class, ErrorClass::Replan | ErrorClass::Fatal);
                tracing::error!(position_id = row.position_id.0, kind = row.kind.as_str(), client_algo_id = %row.client_algo_id, error = %e, terminal, "placing a protective order failed: the position is not protected by it");
                failure("place", e.code);
                self.ledger
                    .record_protective_error(row.id, &e.to_string(), terminal)
                    .await?;
            }
        }
        Ok(())
    }

    /// A planned row whose position went flat before it was placed.
    async fn drop_planned(&self, row: &ProtectiveRow) -> anyhow::Result<()> {
        // Bookkeeping: the position is already flat. A failed read is tried again at the
        // next sweep.
        let found = match self
            .exchange
            .algo_order(&row.client_algo_id, Purpose::Routine)
            .await
        {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(client_algo_id = %row.client_algo_id, error = %e, "reading a planned protective order of a flat position failed");
                return Ok(());
            }
        };
        match found {
            Some(r) => {
                self.ledger.record_protective_report(&r).await?;
            }
            None => {
                self.ledger
                    .record_protective_error(
                        row.id,
                        "the position closed before it was placed",
                        true,
                    )
                    .await?;
            }
        }
        Ok(())
    }

    /// Cancel an untriggered order. `true`: the venue took the cancel (or the order was
    /// no longer cancellable) and the row is to be re-read to record what it says now,
    /// a routine read the sweep does last (and remembers until it is done, so the cancel
    /// is not sent again meanwhile).
    async fn cancel(&self, row: &ProtectiveRow) -> bool {
        if let Err(e) = self.exchange.cancel_algo_order(&row.client_algo_id).await {
            tracing::error!(client_algo_id = %row.client_algo_id, error = %e, "cancelling a protective order failed");
            failure("cancel", e.code);
            return false;
        }
        self.cancelled_lock().insert(row.id);
        true
    }
}
