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
use crate::ledger::Ledger;
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
}

impl Application {
    /// Connect to the configured database, migrate, and bind the control API.
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        api::auth::check_bind(settings.api.listen, settings.api.token.as_ref())?;
        let ledger = Ledger::connect(settings.database_url()?)
            .await
            .context("failed to connect to the ledger database")?;
        Self::build_with_ledger(settings, ledger).await
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

    pub async fn run_until_stopped(self, shutdown: Shutdown) -> anyhow::Result<()> {
        let state = self.api_state()?;
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
        tracing::info!("sluice stopped");
        Ok(())
    }
}
