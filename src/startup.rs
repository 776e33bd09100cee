//! Startup: the one place where concrete types are chosen and wired.
//!
//! [`Application::build`] connects to Postgres, applies the migrations, installs the
//! metrics recorder and binds the control API (port 0 works in tests), reporting the
//! real address; [`Application::run_until_stopped`] serves until the shutdown signal,
//! with readiness, systemd notifications and the watchdog. With an exchange it trades
//! only while it holds the ledger's leader lock (`active.rs`, `leadership.rs`: hot
//! standby) and reconciles at start and periodically (`reconcile_task.rs`). With
//! `daemon.accounts` it serves several accounts: one `Application` per account, the
//! first owning the API (`units.rs`, `seat.rs`).
//!
//! Invariants: a non-loopback bind without a token is refused before anything else
//! (the control API can open and close positions); the API serves before the lock is
//! taken, so a standby answers reads (writes are refused by role, see `api`).

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::api::reconcile::ReconcileBoard;
use crate::api::{self, ApiState, MarkPrices, Readiness, Role};
use crate::domain::Usdt;
use crate::exchange::binance::{AuditBuffer, BinanceFutures};
use crate::exchange::Exchange;
use crate::ledger::Ledger;
use crate::router::ExecutorConfig;
use crate::settings::Settings;
use crate::shutdown::Shutdown;

mod account;
mod active;
pub(crate) mod exchange_wait;
mod journal;
mod leadership;
pub(crate) mod ledger_wait;
mod reconcile_task;
mod retry;
mod seat;
mod units;
pub(crate) mod waiting_api;

pub use reconcile_task::DaemonReconcile;
pub(crate) use units::Listen;

/// The venue name the ledger stores intents, orders and fills under.
pub const VENUE: &str = "binance-usdm";

/// The daemon, built and bound: the control API listener, the ledger and, when the exchange
/// is configured, what the executor needs. [`Application::run_until_stopped`] runs it.
pub struct Application {
    settings: Settings,
    ledger: Ledger,
    /// Taken when the API starts serving.
    listener: Option<TcpListener>,
    api_addr: SocketAddr,
    readiness: Arc<Readiness>,
    reconcile: Arc<ReconcileBoard>,
    /// False only for paper mode (see [`Application::without_takeover_grace`]).
    takeover_grace: bool,
    mark_prices: Option<Arc<dyn MarkPrices>>,
    trading: Option<TradingParts>,
    /// The other accounts this process serves (`daemon.accounts`), each with its own
    /// ledger pool, lock, executor and exchange client; they share this one's API.
    units: Vec<Application>,
    /// This account's place under the daemon's account cap (None: a single account).
    seat: Option<seat::Seat>,
    /// The name of the ledger account this application trades.
    account: String,
}

/// Where the executor's adapter comes from: connected at build, or in the background.
#[derive(Clone)]
pub(crate) enum Venue {
    Connected(Arc<dyn Exchange>),
    Late(exchange_wait::LateExchange),
}

/// [`Trading`] as the daemon holds it: the adapter may still be connecting.
pub(crate) struct TradingParts {
    pub venue: Venue,
    pub audit: Option<AuditBuffer>,
    pub config: ExecutorConfig,
}

/// The exchange side of the daemon: without it, `Application` serves the API only.
pub struct Trading {
    /// The connected adapter orders are sent through.
    pub exchange: Arc<dyn Exchange>,
    /// The adapter's attempt buffer, drained into `order_attempts` by a writer task.
    pub audit: Option<AuditBuffer>,
    /// How the executor sends (caps, timeouts, backoff).
    pub config: ExecutorConfig,
}

impl Application {
    /// Connect to the configured database, migrate, and bind the control API.
    /// Without a token and without `api.auth = "none"`, one is generated into
    /// `api.token_file` first (the CLI reads it from there).
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let db = &settings.database;
        let ledger = Ledger::connect_with(
            crate::ledger::warm_on_connect(db.pool_options()),
            db.connect_options()?,
        )
        .await
        .context("failed to connect to the ledger database")?;
        Self::build_on(settings, ledger, Listen::Bind).await
    }

    /// As [`Application::build`] on a connected ledger and, optionally, an API socket bound
    /// earlier (the one that answered `/healthz` while the database was awaited). An
    /// exchange that does not answer yet is connected in the background
    /// (`exchange_wait`): the daemon starts without it.
    pub(crate) async fn build_on(
        mut settings: Settings,
        ledger: Ledger,
        listener: Listen,
    ) -> anyhow::Result<Application> {
        settings.api.ensure_token()?;
        api::auth::check_bind(settings.api.listen, settings.api.token.as_ref())?;
        if !settings.exchange.has_credentials() {
            tracing::warn!("exchange.api_key/api_secret not set: the executor is NOT running (control API only)");
            return Self::build_with_listener(settings, ledger, listener).await;
        }
        let cfg = settings.exchange.binance_config()?;
        tracing::info!(key_type = %cfg.signer.kind(), api_key = %crate::exchange::binance::config::redact_key(&cfg.api_key), "exchange key loaded");
        let audit = AuditBuffer::new(100_000);
        let connected = BinanceFutures::connect(cfg, audit.clone()).await;
        let late_settings = settings.clone();
        let app = Self::build_with_listener(settings, ledger, listener).await?;
        Ok(match connected {
            Ok(exchange) => app.with_trading(Trading {
                exchange,
                audit: Some(audit),
                config: ExecutorConfig::default(),
            }),
            Err(e) => {
                tracing::warn!(error = %e, "exchange unreachable at start: the daemon starts anyway and connects in the background");
                let late = exchange_wait::LateExchange::new(late_settings, audit.clone());
                let mut app = app;
                app.mark_prices = Some(Arc::new(exchange_wait::LateMarkPrices(late.clone())));
                app.trading = Some(TradingParts {
                    venue: Venue::Late(late),
                    audit: Some(audit),
                    config: ExecutorConfig::default(),
                });
                app
            }
        })
    }

    /// Execute intents on `trading.exchange` (and value opens at its mark prices).
    pub fn with_trading(mut self, trading: Trading) -> Self {
        if self.mark_prices.is_none() {
            self.mark_prices = Some(Arc::new(api::prices::ExchangeMarkPrices::new(
                trading.exchange.clone(),
            )));
        }
        self.trading = Some(TradingParts {
            venue: Venue::Connected(trading.exchange),
            audit: trading.audit,
            config: trading.config,
        });
        self
    }

    /// As [`Application::build`], on an existing ledger handle (tests pass a pool).
    pub async fn build_with_ledger(
        settings: Settings,
        ledger: Ledger,
    ) -> anyhow::Result<Application> {
        Self::build_with_listener(settings, ledger, Listen::Bind).await
    }

    async fn build_with_listener(
        settings: Settings,
        ledger: Ledger,
        listener: Listen,
    ) -> anyhow::Result<Application> {
        api::auth::check_bind(settings.api.listen, settings.api.token.as_ref())?;
        ledger
            .migrate()
            .await
            .context("failed to apply migrations")?;
        account::register(&settings, &ledger).await?;
        ledger.warm_pool().await;
        let account = ledger
            .account(settings.exchange.account.as_deref())
            .await
            .context("failed to read this daemon's account")?
            .name;
        let listener_addr = match &listener {
            Listen::Shared(addr) => Some(*addr),
            _ => None,
        };
        let listener = match listener {
            Listen::Socket(l) => {
                l.set_nonblocking(true)?;
                Some(TcpListener::from_std(l)?)
            }
            Listen::Bind => Some(
                TcpListener::bind(settings.api.listen)
                    .await
                    .with_context(|| format!("api.listen: cannot bind {}", settings.api.listen))?,
            ),
            Listen::Shared(_) => None,
        };
        let api_addr = match (&listener, listener_addr) {
            (Some(l), _) => l.local_addr()?,
            (None, Some(shared)) => shared,
            (None, None) => anyhow::bail!("no control API address"),
        };
        if listener.is_some() && settings.api.token.is_none() {
            tracing::warn!(%api_addr, "control API has no token: loopback only");
        }
        let readiness = Arc::new(Readiness::for_account(settings.exchange.account.clone()));
        Ok(Application {
            settings,
            ledger,
            listener,
            api_addr,
            readiness,
            reconcile: Arc::new(ReconcileBoard::default()),
            takeover_grace: true,
            mark_prices: None,
            trading: None,
            units: Vec::new(),
            seat: None,
            account,
        })
    }

    /// Trade as soon as the leader lock is taken, without the takeover grace: only for
    /// an exchange this process created (paper mode's in-process simulator), to which
    /// no earlier leader can have sent a request.
    pub(crate) fn without_takeover_grace(mut self) -> Self {
        self.takeover_grace = false;
        self
    }

    /// Value opens given by quantity with these mark prices (the exchange, or a fixed
    /// price for paper runs). Without one, such opens are refused with the reason.
    pub fn with_mark_prices(mut self, prices: Arc<dyn MarkPrices>) -> Self {
        self.mark_prices = Some(prices);
        self
    }

    /// Hold opens as the start-up gate decided (`ops::preflight::gate`); the executor
    /// applies every later change of `hold`.
    pub(crate) fn with_opens_hold(mut self, hold: Arc<crate::router::OpensHold>) -> Self {
        if let Some(t) = self.trading.as_mut() {
            t.config.opens_hold = Some(hold);
        }
        self
    }

    /// The daemon's readiness, for parts that report into `/readyz` from outside.
    pub fn readiness(&self) -> Arc<Readiness> {
        self.readiness.clone()
    }

    /// The address the control API is bound to (useful when the settings asked for port 0).
    pub fn api_addr(&self) -> SocketAddr {
        self.api_addr
    }

    /// The ledger the daemon writes to.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    fn api_state(&self) -> anyhow::Result<ApiState> {
        Ok(ApiState {
            symbols: self.settings.exchange.symbols.clone(),
            readiness: self.readiness.clone(),
            token: self.settings.api.token.clone(),
            ledger: self.ledger.clone(),
            venue: VENUE.to_string(),
            position_mode: self.settings.exchange.position_mode,
            allocation: Usdt::new(self.settings.budget.allocation_usdt),
            mark_prices: self.mark_prices.clone(),
            metrics: Some(crate::metrics::install()?),
            reconcile: self.reconcile.clone(),
            protection_defaults: self
                .settings
                .symbols
                .iter()
                .map(|(s, c)| (s.clone(), c.default_protection()))
                .filter(|(_, p)| !p.is_empty())
                .collect(),
            events: api::events::EventHub::start(
                self.ledger.clone(),
                Some(self.settings.api.events_retention()),
            ),
        })
    }

    /// Serve the control API and, with an exchange, campaign for the leader lock and trade while
    /// leading, until `shutdown` fires; returns once the API server has stopped.
    pub async fn run_until_stopped(mut self, shutdown: Shutdown) -> anyhow::Result<()> {
        let state = self.api_state()?;
        let halt = self
            .ledger
            .halt_state()
            .await
            .context("failed to read the halt flag")?;
        crate::metrics::set_halted(self.readiness.account(), halt.halted);
        for unit in &self.units {
            let halt =
                unit.ledger.halt_state().await.with_context(|| {
                    format!("failed to read the halt flag of '{}'", unit.account)
                })?;
            crate::metrics::set_halted(unit.readiness.account(), halt.halted);
        }
        if halt.halted {
            tracing::warn!(reason = %halt.reason, actor = %halt.actor, "starting HALTED: opens are refused until `sluice resume`");
        }
        let trading = self.trading.take();
        if trading.is_none() {
            self.readiness.set_role(Role::ControlOnly);
        }
        // One stop for the API, the executor and every loop: the OS signal.
        let (stop, inner) = crate::shutdown::channel();
        let stop = Arc::new(stop);
        let relay = stop.clone();
        let mut outer = shutdown;
        tokio::spawn(async move {
            outer.recv().await;
            relay.trigger();
        });
        let units = std::mem::take(&mut self.units);
        let server = self.serve_api(state, &units, inner.clone())?;
        // Every served account's executor: a stuck one withholds the watchdog.
        let all: Vec<_> = std::iter::once(&self.readiness)
            .chain(units.iter().map(|u| &u.readiness))
            .cloned()
            .collect();
        let running = units::start(units, &inner);
        if let Some(timing) =
            crate::systemd::watchdog_timing(self.settings.daemon.watchdog_interval)
        {
            tokio::spawn(crate::systemd::run_watchdog(timing, all, inner.clone()));
        }
        // READY=1 once the API serves: a standby may wait for hours and must not fail
        // systemd's start timeout; `/readyz` says whether it trades.
        crate::systemd::notify_ready();
        let seat = self.seat.take().unwrap_or_else(seat::Seat::alone);
        let result = match trading {
            Some(t) => self.lead_and_trade(t, inner.clone(), seat).await,
            None => {
                self.readiness.set_ready();
                tracing::info!(api = %self.api_addr, role = "control_only", "sluice is ready");
                inner.clone().recv().await;
                Ok(())
            }
        };
        stop.trigger();
        units::stopped(running).await;
        let served = server.await.context("control API task failed")?;
        crate::systemd::notify_stopping();
        tracing::info!("sluice stopped");
        result.and(served.context("control API failed"))
    }

    /// Serve the control API until `stop` (reads work on a standby; writes need the lead).
    fn serve_api(
        &mut self,
        state: ApiState,
        units: &[Application],
        mut stop: Shutdown,
    ) -> anyhow::Result<tokio::task::JoinHandle<std::io::Result<()>>> {
        let listener = self
            .listener
            .take()
            .context("the control API is already serving")?;
        let readiness = self.readiness.clone();
        tracing::info!(api = %self.api_addr, "control API serving");
        let api = &self.settings.api;
        let guard = api::guard::Guard::new(self.api_addr, &api.allowed_origins, &api.allowed_hosts);
        let mut hubs = vec![state.events.clone()];
        let mut all_readiness = vec![readiness];
        let others = units::apis(units, &guard, &mut hubs, &mut all_readiness)?;
        let app = api::by_account::route(
            self.account_name(),
            api::router_with(state, guard),
            others,
            all_readiness.clone(),
        );
        let serve = api::server::serve(
            listener,
            app,
            api::server::Limits::from_settings(api),
            async move {
                stop.recv().await;
                for r in &all_readiness {
                    r.set_role(Role::Stopping);
                    r.set_not_ready("shutting down");
                }
                // Event streams never end by themselves: end them so connections close.
                for events in hubs {
                    events.close();
                }
            },
        );
        Ok(tokio::spawn(serve))
    }
}

/// `/readyz` follows the executor: not ready (with the reason) in key-loss safe mode.
pub(crate) async fn report_executor_status(
    mut status: tokio::sync::watch::Receiver<crate::router::ExecutorStatus>,
    readiness: Arc<Readiness>,
) {
    // Present from the start, so an alert on `sluice_key_loss == 1` has a series.
    crate::metrics::set_key_loss(readiness.account(), false);
    while status.changed().await.is_ok() {
        let now = status.borrow_and_update().clone();
        let lost = !matches!(now, crate::router::ExecutorStatus::Running);
        crate::metrics::set_key_loss(readiness.account(), lost);
        match now {
            crate::router::ExecutorStatus::Running => readiness.set_ready(),
            lost => readiness.set_not_ready(&lost.describe()),
        }
    }
}

/// The readiness component of a user stream that is not connected.
pub(crate) const STREAM_LINK_COMPONENT: &str = "user_stream_connection";

/// `/readyz` lists a user stream that is not connected (the adapter keeps reconnecting
/// with backoff and jitter; fills are recovered over REST meanwhile) until it resyncs.
pub(crate) async fn report_stream_link(
    mut link: tokio::sync::watch::Receiver<crate::router::StreamLink>,
    readiness: Arc<Readiness>,
) {
    loop {
        let now = link.borrow_and_update().clone();
        crate::metrics::set_user_stream_connected(readiness.account(), now.is_none());
        match now {
            None => readiness.clear_degraded(STREAM_LINK_COMPONENT),
            Some(why) => readiness.set_degraded(
                STREAM_LINK_COMPONENT,
                format!("the user stream is not connected ({why}); reconnecting with backoff and jitter"),
            ),
        }
        if link.changed().await.is_err() {
            // The executor stopped (shutdown, lost lock): the next one reports afresh.
            readiness.clear_degraded(STREAM_LINK_COMPONENT);
            return;
        }
    }
}

/// The Binance adapter from `[exchange]` with its audit buffer for the daemon, or None
/// when no credentials are configured (the daemon then serves the control API only).
pub(crate) async fn connect_exchange(settings: &Settings) -> anyhow::Result<Option<Trading>> {
    if !settings.exchange.has_credentials() {
        return Ok(None);
    }
    let cfg = settings.exchange.binance_config()?;
    let audit = AuditBuffer::new(100_000);
    let exchange = BinanceFutures::connect(cfg, audit.clone())
        .await
        .context("failed to connect to the exchange")?;
    Ok(Some(Trading {
        exchange,
        audit: Some(audit),
        config: ExecutorConfig::default(),
    }))
}

/// Connect the Binance adapter for a one-shot operator command. Its REST attempts go to
/// a buffer nobody drains: read-only commands place no orders, and they must work
/// without a database.
pub(crate) async fn connect_exchange_readonly(
    settings: &Settings,
) -> anyhow::Result<Arc<crate::exchange::binance::BinanceFutures>> {
    let cfg = settings.exchange.binance_config()?;
    let rest = cfg.rest_url.to_string();
    BinanceFutures::connect(cfg, AuditBuffer::new(1024))
        .await
        .map_err(|e| anyhow::anyhow!("failed to connect to the exchange at {rest}: {e}"))
}
