//! Startup: the one place where concrete types are chosen and wired.
//!
//! [`Application::build`] connects to Postgres, applies the migrations, and binds the
//! control API (port 0 works in tests) and reports the real address;
//! [`Application::run_until_stopped`] serves until the shutdown signal.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::api::{self, ApiState, Readiness};
use crate::ledger::Ledger;
use crate::settings::Settings;
use crate::shutdown::Shutdown;

pub struct Application {
    settings: Settings,
    ledger: Ledger,
    listener: TcpListener,
    api_addr: SocketAddr,
    readiness: Arc<Readiness>,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        api::auth::check_bind(settings.api.listen, settings.api.token.as_ref())?;
        let ledger = Ledger::connect(settings.database_url()?)
            .await
            .context("failed to connect to the ledger database")?;
        ledger.migrate().await.context("failed to apply migrations")?;
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
        })
    }

    pub fn api_addr(&self) -> SocketAddr {
        self.api_addr
    }

    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    pub async fn run_until_stopped(self, shutdown: Shutdown) -> anyhow::Result<()> {
        let state = ApiState {
            readiness: self.readiness.clone(),
            token: self.settings.api.token.clone(),
        };
        let app = api::router(state);
        if let Some(interval) = crate::systemd::watchdog_interval(self.settings.daemon.watchdog_interval_ms) {
            tokio::spawn(crate::systemd::run_watchdog(interval, shutdown.clone()));
        }
        self.readiness.set_ready();
        crate::systemd::notify_ready();
        tracing::info!(api = %self.api_addr, "sluice is ready");
        let mut stop = shutdown.clone();
        axum::serve(self.listener, app)
            .with_graceful_shutdown(async move { stop.recv().await })
            .await
            .context("control API failed")?;
        crate::systemd::notify_stopping();
        tracing::info!("sluice stopped");
        Ok(())
    }
}
