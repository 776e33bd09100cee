//! One intent being executed: what it targets (its `IntentSpec`, matched once here),
//! its chunks out at the exchange (`core::inflight`), how the unfilled remainder is
//! measured, and what the loop does with the job after a step ([`Next`]).
//!
//! Invariants:
//! - the remainder is always measured from the ledger (fills applied), never from what
//!   was planned: a partial fill, a -4005 or a crash all leave the right remainder;
//! - a close never plans more than the ledger's open quantity of its position less what
//!   its chunks out reserve, nor more than the exchange last reported for the leg after
//!   a reduce-only conflict; an open likewise against its target;
//! - chunk indices only grow, so no two orders of an intent share a client order id.

use std::time::Instant;

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::config::ExecutorConfig;
use crate::domain::{Direction, IntentSpec, PositionMode, PositionSide, Qty, Symbol};
use crate::exchange::OrderReport;
use crate::ledger::{IntentRow, LedgerError, PositionId, PositionRow, PositionStatus};
use crate::router::core::backoff::Backoff;
use crate::router::core::inflight::Flights;
use crate::router::core::scheduler::RiskClass;

use super::context::Ctx;

/// The position leg a chunk acts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Leg {
    pub position_id: Option<PositionId>,
    pub symbol: Symbol,
    pub direction: Direction,
    pub mode: PositionMode,
}

impl Leg {
    fn of_position(p: &PositionRow) -> Leg {
        Leg {
            position_id: Some(p.id),
            symbol: p.symbol.clone(),
            direction: p.direction,
            mode: if p.position_side == PositionSide::Both {
                PositionMode::OneWay
            } else {
                PositionMode::Hedge
            },
        }
    }
}

/// A chunk: same index and quantity across re-sends, a fresh attempt each.
#[derive(Clone, Debug)]
pub(crate) struct Chunk {
    pub leg: Leg,
    pub index: u32,
    pub qty: Qty,
    pub attempt: u32,
    pub failures: u32,
}

/// An order the exchange may hold: wait for its fills, or resolve it when unknown (its
/// stage in [`Flights`] says which).
#[derive(Clone, Debug)]
pub(crate) struct InFlight {
    pub chunk: Chunk,
    pub report: Option<OrderReport>,
    /// A REST resolution found the order terminal and applied every trade the exchange
    /// lists: the ledger now holds all it will ever learn of this order.
    pub(crate) resolved_terminal: bool,
    pub since: Instant,
}

/// Why a job sends nothing more: once what is out has answered and settled, the intent
/// ends this way.
#[derive(Clone, Debug)]
pub(crate) enum Stop {
    /// `progress::fail` with this reason (failed, or done short when something filled).
    Fail(String),
    /// Cancelled (by the halt, or on request), with its cause.
    Cancel(String),
}

pub(crate) struct Job {
    pub intent: IntentRow,
    pub class: RiskClass,
    /// The chunks out at the exchange (or waiting to be re-sent), and the next index.
    pub(crate) flights: Flights<InFlight>,
    /// Set when the job must send nothing more; it ends once `flights` is empty.
    pub stop: Option<Stop>,
    /// Send nothing new before this (a backoff); settling goes on.
    pub(crate) not_before: Option<Instant>,
    pub backoff: Backoff<ChaCha8Rng>,
    /// After -2022/-4118: the leg's size as the exchange reported it.
    pub(crate) exchange_size: Option<Qty>,
    /// A flatten has cancelled sluice's resting orders in its scope.
    pub(crate) cancelled_resting: bool,
    /// An open given by notional: the quantity it was converted to at the mark.
    pub(crate) open_target: Option<Qty>,
    /// MARKET closes kept failing: the rest is sent as reduce-only LIMIT IOC at the
    /// PERCENT_PRICE band edge (`fallback_send`). Sticky for the rest of the intent.
    pub(crate) limit_fallback: bool,
    /// Deterministic rejections so far: a repeat ends the intent (`rejections`).
    pub(crate) rejections: crate::router::core::rejections::RejectionMemory,
    /// False only while the intent has no order in the ledger at all (taken up fresh,
    /// nothing recorded yet): its filled quantity is then zero without asking.
    pub(crate) orders_recorded: bool,
    /// Resting LIMIT orders a cancel was sent for (by client order id; `resting.rs`).
    pub(crate) cancels_sent: std::collections::HashSet<String>,
}

/// What the executor loop does with a job after one step.
pub(crate) enum Next {
    /// Queue it again, not before this instant.
    Ready(Instant),
    /// An order is in flight: look again when an account event arrives or at the next poll.
    Wait,
    /// The intent reached a terminal state.
    Finished,
}

/// What planning found for a job.
pub(crate) enum NextChunk {
    /// New chunks to send (at least one).
    Send(Vec<Chunk>),
    /// Nothing left to send (zero, or only dust below one step).
    Nothing,
    /// The intent cannot be carried out; the reason goes on the intent.
    Fail(String),
}

impl Job {
    pub(super) fn new(intent: IntentRow, next_chunk: u32, cfg: &ExecutorConfig) -> Job {
        let seed = cfg.rng_seed ^ (intent.id.get() as u64);
        Job {
            class: RiskClass::from(intent.kind()),
            intent,
            flights: Flights::new(next_chunk),
            stop: None,
            not_before: None,
            backoff: Backoff::new(cfg.backoff, ChaCha8Rng::seed_from_u64(seed)),
            exchange_size: None,
            cancelled_resting: false,
            open_target: None,
            limit_fallback: false,
            rejections: Default::default(),
            orders_recorded: true,
            cancels_sent: Default::default(),
        }
    }

    /// The leg and the unfilled remainder, measured from the ledger.
    pub(super) async fn remainder(&self, ctx: &Ctx) -> Result<Option<(Leg, Qty)>, LedgerError> {
        let found = match &self.intent.spec {
            IntentSpec::Open {
                symbol, direction, ..
            } => {
                let Some(target) = self.intent.spec.quantity().or(self.open_target) else {
                    return Ok(None);
                };
                let leg = Leg {
                    position_id: None,
                    symbol: symbol.clone(),
                    direction: *direction,
                    mode: self.intent.position_mode,
                };
                Some((leg, target.saturating_sub(filled_of(ctx, self).await?)))
            }
            IntentSpec::Close { position, quantity } => {
                self.position_leg(ctx, *position, *quantity).await?
            }
            IntentSpec::Reduce { position, quantity } => {
                self.position_leg(ctx, *position, Some(*quantity)).await?
            }
            IntentSpec::Flatten { symbol } => self.flatten_leg(ctx, symbol.as_ref()).await?,
        };
        Ok(found.map(|(leg, q)| match self.exchange_size {
            Some(real) => (leg, q.min(real)),
            None => (leg, q),
        }))
    }

    /// A close or reduce: the position's open quantity, or what is left of `quantity`.
    /// Only a quantity target needs the fills so far (a close of all is measured by the
    /// position alone).
    async fn position_leg(
        &self,
        ctx: &Ctx,
        id: PositionId,
        quantity: Option<Qty>,
    ) -> Result<Option<(Leg, Qty)>, LedgerError> {
        let Some(p) = ctx.ledger.position(id).await? else {
            return Ok(None);
        };
        let open = open_qty(&p);
        let want = match quantity {
            Some(q) => q.saturating_sub(filled_of(ctx, self).await?).min(open),
            None => open,
        };
        Ok(Some((Leg::of_position(&p), want)))
    }

    /// The first open position in the flatten's scope (its symbol, or everything of
    /// this venue); measured by the position alone, which keeps a 1,000-chunk flatten
    /// from re-reading its orders.
    async fn flatten_leg(
        &self,
        ctx: &Ctx,
        symbol: Option<&Symbol>,
    ) -> Result<Option<(Leg, Qty)>, LedgerError> {
        let positions = ctx.ledger.open_positions().await?;
        Ok(positions
            .iter()
            .filter(|p| p.venue == self.intent.venue && !p.quantity.is_zero())
            .find(|p| symbol.is_none_or(|s| &p.symbol == s))
            .map(|p| (Leg::of_position(p), p.quantity)))
    }

    /// Σ filled quantity of the intent's orders (fills applied by the ledger).
    pub(super) async fn filled(&self, ctx: &Ctx) -> Result<Qty, LedgerError> {
        filled_of(ctx, self).await
    }

    /// Send nothing more; the intent ends `why` once what is out has settled.
    pub(super) fn stop(&mut self, why: Stop) {
        self.flights.stop();
        if self.stop.is_none() {
            self.stop = Some(why);
        }
    }
}

fn open_qty(p: &PositionRow) -> Qty {
    if p.status == PositionStatus::Open {
        p.quantity
    } else {
        Qty::ZERO
    }
}

/// Σ filled quantity of the intent's orders (fills applied by the ledger).
async fn filled_of(ctx: &Ctx, job: &Job) -> Result<Qty, LedgerError> {
    if !job.orders_recorded {
        return Ok(Qty::ZERO);
    }
    ctx.ledger.filled_of_intent(job.intent.id).await
}
