//! Starting the executor: subscribe the user stream, resolve every non-terminal order
//! by client order id (crash recovery), adopt exchange positions the ledger does not
//! know, then hand everything to the work loop ([`super::work_loop`]). The handle is
//! what the daemon keeps: poke, status, pulse, stream health, shutdown.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use super::config::ExecutorConfig;
use super::context::Ctx;
use super::intake::intent_wakeups;
use super::keyloss::ExecutorStatus;
use super::stream_watch::{StreamHealth, StreamWatch};
use super::work_loop::{Loop, RecoveryHook};
use crate::domain::{ClientOrderId, OrderType};
use crate::exchange::Exchange;
use crate::ledger::Ledger;
use crate::router::core::scheduler::Scheduler;
use crate::shutdown::Shutdown;

/// What the executor needs.
#[derive(Clone)]
pub struct ExecutorDeps {
    /// Where intents are read and every order is recorded before it is sent.
    pub ledger: Ledger,
    /// The venue orders go to.
    pub exchange: Arc<dyn Exchange>,
    /// The venue name intents, orders and fills are stored under (`binance-usdm`).
    pub venue: String,
    /// How to send.
    pub config: ExecutorConfig,
    /// Run after the credentials work again following key loss, before anything is
    /// sent (the daemon reconciles the ledger with the exchange); its summary is logged.
    pub on_key_recovered: Option<RecoveryHook>,
}

/// A running executor.
pub struct ExecutorHandle {
    intake: Arc<super::intake::IntakeSignal>,
    status: watch::Receiver<ExecutorStatus>,
    pulse: super::pulse::Pulse,
    stream_link: watch::Receiver<super::stream::StreamLink>,
    stream_health: watch::Receiver<StreamHealth>,
    tasks: Vec<JoinHandle<()>>,
    /// Positions adopted at start.
    pub adopted: Vec<crate::ledger::PositionRow>,
}

impl ExecutorHandle {
    /// Read new intents now (one was stored; the ledger's NOTIFY does this too).
    pub fn poke(&self) {
        self.intake.poke();
    }
    /// What the executor is doing (running, or key-loss safe mode and why).
    pub fn status(&self) -> watch::Receiver<ExecutorStatus> {
        self.status.clone()
    }
    /// Whether one piece of the executor's work has been running too long (watchdog).
    pub(crate) fn pulse(&self) -> super::pulse::Pulse {
        self.pulse.clone()
    }
    /// Whether the user stream is connected (None) or why not.
    pub(crate) fn stream_link(&self) -> watch::Receiver<super::stream::StreamLink> {
        self.stream_link.clone()
    }
    /// Whether the user stream delivers (or is connected but silent, and why).
    pub(crate) fn stream_health(&self) -> watch::Receiver<StreamHealth> {
        self.stream_health.clone()
    }
    /// Wait for every task to finish (after shutdown was triggered).
    pub async fn stopped(self) {
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// The one task per daemon that turns stored intents into orders; start it with
/// [`Executor::spawn`] (or [`Executor::prepare`] to reconcile before anything is sent).
pub struct Executor;

/// An executor that has recovered and adopted but sends nothing yet: the daemon runs
/// its start-up reconcile here, while no order is in flight.
pub struct PreparedExecutor {
    ctx: Ctx,
    notify: Arc<Notify>,
    intake: Arc<super::intake::IntakeSignal>,
    consumer: JoinHandle<()>,
    wakeups: JoinHandle<()>,
    shutdown: Shutdown,
    status: watch::Receiver<ExecutorStatus>,
    stream_link: watch::Receiver<super::stream::StreamLink>,
    on_key_recovered: Option<RecoveryHook>,
    /// Positions adopted at start.
    pub adopted: Vec<crate::ledger::PositionRow>,
    /// Non-terminal orders resolved at start.
    pub(crate) recovered_orders: usize,
}

impl Executor {
    /// Subscribe the user stream, recover, adopt, then run until `shutdown`.
    pub async fn spawn(deps: ExecutorDeps, shutdown: Shutdown) -> anyhow::Result<ExecutorHandle> {
        Ok(Self::prepare(deps, shutdown).await?.start())
    }

    /// Subscribe the user stream, recover and adopt; send nothing until [`PreparedExecutor::start`].
    pub async fn prepare(
        deps: ExecutorDeps,
        shutdown: Shutdown,
    ) -> anyhow::Result<PreparedExecutor> {
        let notify = Arc::new(Notify::new());
        let (link_tx, stream_link) =
            watch::channel(Some("the user stream has not connected yet".to_string()));
        // The orders that may still rest at the venue are the ledger's non-terminal LIMIT
        // orders: the stream's resyncs ask about them and read their symbols' open orders,
        // instead of every symbol's (IP weight 40) while every start-up read is made. A
        // MARKET order never rests; one the ledger holds in flight from before a crash is
        // resolved, with its fills, by recovery below, from this same read (nothing sends
        // an order before recovery; what the stream settles meanwhile is resolved again,
        // which changes nothing).
        let non_terminal = deps
            .ledger
            .non_terminal_orders()
            .await
            .context("failed to read the ledger's orders in flight")?;
        let in_flight = non_terminal
            .iter()
            // A `planned` order was never sent: recovery settles it in the ledger alone,
            // and the stream would ask about it at every resync until the next start.
            .filter(|o| {
                o.venue == deps.venue
                    && o.order_type == OrderType::Limit
                    && o.status != crate::ledger::OrderState::Planned
            })
            .filter_map(|o| match ClientOrderId::new(&o.client_order_id) {
                Ok(coid) => Some((o.symbol.clone(), coid)),
                // Never a reason not to start: recovery resolves it by its stored id.
                Err(e) => {
                    tracing::warn!(client_order_id = %o.client_order_id, error = %e,
                        "an order in flight has a client order id the stream cannot track; not named to it");
                    None
                }
            })
            .collect::<Vec<_>>();
        let events = deps
            .exchange
            .subscribe_account(&in_flight)
            .await
            .context("failed to start the user-data stream")?;
        let stream_watch = Arc::new(StreamWatch::new(
            deps.config.stream_silence_grace,
            deps.config.rng_seed,
        ));
        let consumer = tokio::spawn(super::stream::run(
            super::stream::Consumer {
                ledger: deps.ledger.clone(),
                venue: deps.venue.clone(),
                exchange: deps.exchange.clone(),
                watch: stream_watch.clone(),
                notify: notify.clone(),
                link: link_tx,
            },
            events,
            shutdown.clone(),
        ));
        let (status_tx, status) = watch::channel(ExecutorStatus::Running);
        let ctx = Ctx::load(
            deps.ledger,
            deps.exchange,
            deps.venue,
            deps.config,
            status_tx,
            stream_watch,
        )
        .await?;
        let recovered_orders =
            super::recovery::recover_read_orders(&ctx, non_terminal, &shutdown).await?;
        let adopted = if ctx.cfg.adopt_unknown_positions {
            super::adoption::adopt_unknown_positions(&ctx, crate::exchange::Purpose::Routine)
                .await
                .context("failed to adopt unknown exchange positions")?
        } else {
            Vec::new()
        };
        super::protect::Protector::from_ctx(&ctx)
            .sweep_at_start()
            .await;
        let intake = Arc::new(super::intake::IntakeSignal::default());
        let wakeups = tokio::spawn(intent_wakeups(
            ctx.ledger.clone(),
            intake.clone(),
            shutdown.clone(),
        ));
        Ok(PreparedExecutor {
            ctx,
            notify,
            intake,
            wakeups,
            consumer,
            shutdown,
            status,
            stream_link,
            on_key_recovered: deps.on_key_recovered,
            adopted,
            recovered_orders,
        })
    }
}

impl PreparedExecutor {
    /// Start working intents.
    pub fn start(self) -> ExecutorHandle {
        let pulse = super::pulse::Pulse::default();
        let protector = super::protect::spawn(
            super::protect::Protector::from_ctx(&self.ctx),
            self.shutdown.clone(),
        );
        let deadman = super::deadman::spawn(
            self.ctx.exchange.clone(),
            self.ctx.ledger.clone(),
            self.ctx.venue.clone(),
            self.ctx.cfg.dead_man_switch,
            self.shutdown.clone(),
        );
        let handed = self.ctx.ledger.take_handoff();
        let lp = Loop {
            pulse: pulse.clone(),
            ctx: self.ctx,
            jobs: HashMap::new(),
            waiting: Vec::new(),
            sched: Scheduler::new(),
            outage: super::outage::OutageProbe::default(),
            notify: self.notify.clone(),
            intake: self.intake.clone(),
            opens_waiting: false,
            on_key_recovered: self.on_key_recovered,
            sends: futures_util::stream::FuturesUnordered::new(),
            sending: 0,
            handed,
        };
        let stream_health = lp.ctx.stream.subscribe();
        let main = tokio::spawn(lp.run(self.shutdown));
        ExecutorHandle {
            intake: self.intake,
            status: self.status,
            pulse,
            stream_link: self.stream_link,
            stream_health,
            tasks: [self.consumer, self.wakeups, main, protector]
                .into_iter()
                .chain(deadman)
                .collect(),
            adopted: self.adopted,
        }
    }
}
