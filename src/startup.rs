//! Startup: the one place where concrete types are chosen and wired.
//!
//! [`Application::build`] connects to Postgres, applies the migrations, installs the
//! metrics recorder and binds the control API (port 0 works in tests), reporting the
//! real address; [`Application::run_until_stopped`] serves until the shutdown signal,
//! with readiness, systemd notifications and the watchdog.
//!
//! Invariant: a non-loopback bind without a token is refused before anything else
//! (the control API can open and close positions).

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::api::{self, ApiState, MarkPrices, Readiness};
use crate::domain::{PositionMode, Symbol, Usdt};
use crate::exchange::binance::{
    run_audit_writer, AttemptSink, AuditBuffer, BinanceConfig, BinanceFutures,
};
use crate::exchange::Exchange;
use crate::ledger::Ledger;
use crate::router::{Executor, ExecutorConfig, ExecutorDeps};
use crate::settings::Settings;
use crate::shutdown::Shutdown;

/// The venue name the ledger stores intents, orders and fills under.
pub const VENUE: &str = "binance-usdm";

pub struct Application {
    settings: Settings,
    ledger: Ledger,
    listener: TcpListener,
    api_addr: SocketAddr,
    readiness: Arc<Readiness>,
    mark_prices: Option<Arc<dyn MarkPrices>>,
    trading: Option<Trading>,
}

/// The exchange side of the daemon: without it, `Application` serves the API only.
pub struct Trading {
    pub exchange: Arc<dyn Exchange>,
    /// The adapter's attempt buffer, drained into `order_attempts` by a writer task.
    pub audit: Option<AuditBuffer>,
    pub config: ExecutorConfig,
}

impl Application {
    /// Connect to the configured database, migrate, and bind the control API.
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        api::auth::check_bind(settings.api.listen, settings.api.token.as_ref())?;
        let ledger = Ledger::connect(settings.database_url()?)
            .await
            .context("failed to connect to the ledger database")?;
        let trading = connect_exchange(&settings).await?;
        let app = Self::build_with_ledger(settings, ledger).await?;
        Ok(match trading {
            Some(t) => app.with_trading(t),
            None => {
                tracing::warn!("exchange.api_key/api_secret not set: the executor is NOT running (control API only)");
                app
            }
        })
    }

    /// Execute intents on `trading.exchange` (and value opens at its mark prices).
    pub fn with_trading(mut self, trading: Trading) -> Self {
        if self.mark_prices.is_none() {
            self.mark_prices = Some(Arc::new(api::prices::ExchangeMarkPrices(
                trading.exchange.clone(),
            )));
        }
        self.trading = Some(trading);
        self
    }

    /// As [`Application::build`], on an existing ledger handle (tests pass a pool).
    pub async fn build_with_ledger(
        settings: Settings,
        ledger: Ledger,
    ) -> anyhow::Result<Application> {
        api::auth::check_bind(settings.api.listen, settings.api.token.as_ref())?;
        ledger
            .migrate()
            .await
            .context("failed to apply migrations")?;
        let listener = TcpListener::bind(settings.api.listen)
            .await
            .with_context(|| format!("api.listen: cannot bind {}", settings.api.listen))?;
        let api_addr = listener.local_addr()?;
        if settings.api.token.is_none() {
            tracing::warn!(%api_addr, "control API has no token: loopback only");
        }
        Ok(Application {
            settings,
            ledger,
            listener,
            api_addr,
            readiness: Arc::new(Readiness::default()),
            mark_prices: None,
            trading: None,
        })
    }

    /// Value opens given by quantity with these mark prices (the exchange, or a fixed
    /// price for paper runs). Without one, such opens are refused with the reason.
    pub fn with_mark_prices(mut self, prices: Arc<dyn MarkPrices>) -> Self {
        self.mark_prices = Some(prices);
        self
    }

    pub fn api_addr(&self) -> SocketAddr {
        self.api_addr
    }

    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    fn api_state(&self) -> anyhow::Result<ApiState> {
        let position_mode = match self.settings.exchange.position_mode.as_str() {
            "hedge" => PositionMode::Hedge,
            _ => PositionMode::OneWay,
        };
        let symbols = self
            .settings
            .exchange
            .symbols
            .iter()
            .map(|s| Symbol::new(s))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| anyhow::anyhow!("exchange.symbols: {e}"))?;
        Ok(ApiState {
            symbols,
            readiness: self.readiness.clone(),
            token: self.settings.api.token.clone(),
            ledger: self.ledger.clone(),
            venue: VENUE.to_string(),
            position_mode,
            allocation: Usdt::new(self.settings.budget.allocation_usdt),
            mark_prices: self.mark_prices.clone(),
            metrics: Some(crate::metrics::install()?),
        })
    }

    pub async fn run_until_stopped(mut self, shutdown: Shutdown) -> anyhow::Result<()> {
        let state = self.api_state()?;
        let executor = match self.trading.take() {
            Some(t) => Some(self.start_trading(t, &shutdown).await?),
            None => None,
        };
        let halt = self
            .ledger
            .halt_state()
            .await
            .context("failed to read the halt flag")?;
        crate::metrics::set_halted(halt.halted);
        if halt.halted {
            tracing::warn!(reason = %halt.reason, actor = %halt.actor, "starting HALTED: opens are refused until `sluice resume`");
        }
        let app = api::router(state);
        let interval = crate::systemd::watchdog_interval(self.settings.daemon.watchdog_interval_ms);
        if let Some(interval) = interval {
            tokio::spawn(crate::systemd::run_watchdog(interval, shutdown.clone()));
        }
        self.readiness.set_ready();
        crate::systemd::notify_ready();
        tracing::info!(api = %self.api_addr, "sluice is ready");
        let mut stop = shutdown.clone();
        let readiness = self.readiness.clone();
        axum::serve(self.listener, app)
            .with_graceful_shutdown(async move {
                stop.recv().await;
                readiness.set_not_ready("shutting down");
            })
            .await
            .context("control API failed")?;
        crate::systemd::notify_stopping();
        if let Some(e) = executor {
            e.stopped().await;
        }
        tracing::info!("sluice stopped");
        Ok(())
    }
}

impl Application {
    /// Audit writer, then the executor (which recovers and adopts before it sends).
    async fn start_trading(
        &self,
        t: Trading,
        shutdown: &Shutdown,
    ) -> anyhow::Result<crate::router::ExecutorHandle> {
        if let Some(audit) = t.audit {
            let sink: Arc<dyn AttemptSink> = Arc::new(self.ledger.clone());
            // The writer takes a watch receiver: bridge the shutdown signal to one.
            let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
            let mut stop = shutdown.clone();
            tokio::spawn(async move {
                stop.recv().await;
                let _ = stop_tx.send(true);
            });
            tokio::spawn(run_audit_writer(audit, sink, stop_rx));
        }
        let mut config = t.config;
        config.adopt_unknown_positions = self.settings.daemon.adopt_unknown_positions;
        config.escalation.limit_ioc_fallback = self.settings.daemon.limit_ioc_fallback;
        config.escalation.fallback_after = self.settings.daemon.limit_ioc_fallback_after.max(1);
        let deps = ExecutorDeps {
            ledger: self.ledger.clone(),
            venue: VENUE.to_string(),
            on_key_recovered: Some(reconcile_after_key_loss(
                self.ledger.clone(),
                t.exchange.clone(),
            )),
            exchange: t.exchange,
            config,
        };
        let handle = Executor::spawn(deps, shutdown.clone())
            .await
            .context("failed to start the executor")?;
        tokio::spawn(report_executor_status(
            handle.status(),
            self.readiness.clone(),
        ));
        tracing::info!(
            recovered_orders = handle.recovered_orders,
            adopted_positions = handle.adopted.len(),
            "executor running"
        );
        Ok(handle)
    }
}

/// On recovery from key loss, before anything is sent: a dry-run reconcile of the
/// ledger with the exchange, its differences logged (repairs stay an operator's call).
fn reconcile_after_key_loss(
    ledger: Ledger,
    exchange: Arc<dyn Exchange>,
) -> crate::router::RecoveryHook {
    Arc::new(move || {
        let (ledger, exchange) = (ledger.clone(), exchange.clone());
        Box::pin(async move {
            let is_sluice = |id: &str| crate::router::SluiceOrderId::parse(id).is_ok();
            let report = crate::ops::reconcile::run(
                &ledger,
                exchange.as_ref(),
                Default::default(),
                &is_sluice,
            )
            .await?;
            for d in &report.remaining {
                tracing::warn!(kind = d.kind_name(), symbol = %d.symbol(), "after key loss: ledger and exchange differ");
            }
            Ok(format!("{} difference(s)", report.remaining.len()))
        })
    })
}

/// `/readyz` follows the executor: not ready (with the reason) in key-loss safe mode.
async fn report_executor_status(
    mut status: tokio::sync::watch::Receiver<crate::router::ExecutorStatus>,
    readiness: Arc<Readiness>,
) {
    while status.changed().await.is_ok() {
        let now = status.borrow_and_update().clone();
        match now {
            crate::router::ExecutorStatus::Running => readiness.set_ready(),
            lost => readiness.set_not_ready(&lost.describe()),
        }
    }
}

/// The Binance adapter from `[exchange]` with its audit buffer for the daemon, or None
/// when no credentials are configured (the daemon then serves the control API only).
pub async fn connect_exchange(settings: &Settings) -> anyhow::Result<Option<Trading>> {
    if settings.exchange.api_key.is_none() || settings.exchange.api_secret.is_none() {
        return Ok(None);
    }
    let cfg = binance_config(settings)?;
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

/// The Binance adapter's configuration from the settings: the venue preset or the
/// explicit URLs, the key, and the secret (moved, never copied into a log).
pub fn binance_config(
    settings: &Settings,
) -> anyhow::Result<crate::exchange::binance::BinanceConfig> {
    let key = settings.exchange.api_key.clone().ok_or_else(|| {
        anyhow::anyhow!("exchange.api_key: not set; set SLUICE__EXCHANGE__API_KEY")
    })?;
    let secret = settings.exchange.api_secret.clone().ok_or_else(|| {
        anyhow::anyhow!(
            "exchange.api_secret: not set; set SLUICE__EXCHANGE__API_SECRET or exchange.api_secret_file"
        )
    })?;
    let rest = url::Url::parse(&settings.rest_url())
        .with_context(|| format!("exchange.rest_url: `{}` is not a URL", settings.rest_url()))?;
    let ws = url::Url::parse(&settings.ws_url())
        .with_context(|| format!("exchange.ws_url: `{}` is not a URL", settings.ws_url()))?;
    let mut cfg = BinanceConfig::new(rest, ws, key, secret.into_secret_string());
    cfg.recv_window_ms = settings.exchange.recv_window_ms;
    cfg.request_timeout = std::time::Duration::from_millis(settings.exchange.request_timeout_ms);
    cfg.risk_reserve_share = settings.exchange.risk_reserve_share;
    cfg.venue_name = VENUE.to_string();
    if settings.exchange.api_secret_file.is_some() {
        cfg.credential_source = Some(Arc::new(CredentialFiles(settings.exchange.clone())));
    }
    Ok(cfg)
}

/// The key pair re-read from `exchange.api_key_file` / `api_secret_file` on key loss, so
/// an operator rotates a deleted key by replacing the files (no restart).
struct CredentialFiles(crate::settings::ExchangeSettings);

impl std::fmt::Debug for CredentialFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialFiles")
            .field("api_key_file", &self.0.api_key_file)
            .field("api_secret_file", &self.0.api_secret_file)
            .finish()
    }
}

impl crate::exchange::credentials::CredentialSource for CredentialFiles {
    fn load(&self) -> Result<(String, secrecy::SecretString), String> {
        match crate::settings::reload_exchange_credentials(&self.0) {
            Ok(Some((key, secret))) => Ok((key, secret.into_secret_string())),
            Ok(None) => Err("exchange.api_secret_file: not set".into()),
            Err(e) => Err(format!("{e:#}")),
        }
    }
}

/// Connect the Binance adapter for a one-shot operator command. Its REST attempts go to
/// a buffer nobody drains: read-only commands place no orders, and they must work
/// without a database.
pub async fn connect_exchange_readonly(
    settings: &Settings,
) -> anyhow::Result<Arc<crate::exchange::binance::BinanceFutures>> {
    let cfg = binance_config(settings)?;
    let rest = cfg.rest_url.to_string();
    BinanceFutures::connect(cfg, AuditBuffer::new(1024))
        .await
        .map_err(|e| anyhow::anyhow!("failed to connect to the exchange at {rest}: {e}"))
}
