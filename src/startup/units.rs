//! Several accounts in one process (`daemon.accounts`, docs/accounts.md): the first
//! account is the [`Application`] that owns the control API; every other one is a unit,
//! an [`Application`] without a socket of its own, with its own ledger pool (whose
//! sessions carry that account), preflight gate, exchange client (its own key, the
//! process's one IP share of request weight), leader lock and term line, executor, user
//! stream, reconcile and readiness. The API answers for a unit when asked with
//! `?account=<name>` (`api::by_account`).
//!
//! Invariants: each account campaigns for its own lock in its own task, so one
//! account's exchange trouble (key loss, breaker, a connect that does not answer) never
//! holds another's; the accounts share a cap (`daemon.max_accounts`, see `seat`); a
//! standby account keeps trying its lock, so a dead daemon's accounts are taken over
//! after the grace; the process stops only once every unit's term has ended.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Context;
use tracing::Instrument;

use super::seat::Seat;
use super::Application;
use crate::settings::Settings;
use crate::shutdown::Shutdown;

/// Where the control API of a new [`Application`] listens.
pub(crate) enum Listen {
    /// Bind `api.listen`.
    Bind,
    /// A socket bound earlier (the one that answered `/healthz` meanwhile).
    Socket(std::net::TcpListener),
    /// No socket of its own: another account of this process serves its API at that
    /// address.
    Shared(std::net::SocketAddr),
}

/// A unit's lead-and-trade task.
pub(super) type Running = tokio::task::JoinHandle<anyhow::Result<()>>;

impl Application {
    /// The ledger account this application trades (`exchange.account`, else the default).
    pub(crate) fn account_name(&self) -> String {
        self.account.clone()
    }

    /// Serve `names` (the accounts of `daemon.accounts` after this one's) from this
    /// process too, all under `full.account_cap()`. Each gets its own ledger pool,
    /// preflight gate and exchange client; `paper` skips the takeover grace as for the
    /// first account.
    pub(crate) async fn with_units(
        mut self,
        full: &Settings,
        names: &[String],
        skip_preflight: bool,
        paper: bool,
        shutdown: &Shutdown,
    ) -> anyhow::Result<Application> {
        let mut seats = Seat::chain(names.len() + 1, full.account_cap()).into_iter();
        self.seat = seats.next();
        for (name, seat) in names.iter().zip(seats) {
            let settings = full.for_account(name);
            let Some(mut unit) = build_unit(settings, self.api_addr, skip_preflight, shutdown)
                .await
                .with_context(|| format!("account '{name}'"))?
            else {
                break;
            };
            if paper {
                unit = unit.without_takeover_grace();
            }
            unit.seat = Some(seat);
            self.units.push(unit);
        }
        tracing::info!(
            accounts = names.len() + 1,
            cap = full.account_cap(),
            "serving several accounts from this process"
        );
        Ok(self)
    }
}

/// One more account: its ledger pool, its preflight gate, its exchange client. None when
/// shutdown came while the database was awaited.
async fn build_unit(
    settings: Settings,
    api: std::net::SocketAddr,
    skip_preflight: bool,
    shutdown: &Shutdown,
) -> anyhow::Result<Option<Application>> {
    use crate::ops::preflight::gate::{self, Gate};
    let quiet = |_: &str| {};
    let account = settings.exchange.account.as_deref();
    let db = &settings.database;
    let Some(ledger) =
        super::ledger_wait::connect_when_up(db, account, shutdown.clone(), &quiet).await?
    else {
        return Ok(None);
    };
    let held = match gate::gate(&settings, skip_preflight).await? {
        Gate::Held(h, report) => {
            gate::log_held(&h, &report);
            Some(h)
        }
        Gate::Open => None,
    };
    let recheck = settings.clone();
    let app = Application::build_on(settings, ledger, Listen::Shared(api)).await?;
    let hold = Arc::new(crate::router::OpensHold::new(held.clone()));
    let app = app.with_opens_hold(hold.clone());
    if let Some(h) = held {
        let readiness = app.readiness();
        readiness.set_degraded(gate::COMPONENT, h.reason);
        tokio::spawn(gate::recheck(recheck, hold, readiness));
    }
    Ok(Some(app))
}

/// The API of each unit by account name, behind the same `guard`; their event hubs and
/// readiness are added to `hubs` and `readiness` (closed and marked stopping at the stop).
pub(super) fn apis(
    units: &[Application],
    guard: &crate::api::guard::Guard,
    hubs: &mut Vec<Arc<crate::api::EventHub>>,
    readiness: &mut Vec<Arc<crate::api::Readiness>>,
) -> anyhow::Result<BTreeMap<String, axum::Router>> {
    let mut apis = BTreeMap::new();
    for unit in units {
        let state = unit.api_state()?;
        hubs.push(state.events.clone());
        readiness.push(unit.readiness.clone());
        let api = crate::api::router_with(state, guard.clone());
        apis.insert(unit.account_name(), api);
    }
    Ok(apis)
}

/// Campaign and trade for every unit, each in its own task (its log lines carry
/// `account`).
pub(super) fn start(units: Vec<Application>, inner: &Shutdown) -> Vec<Running> {
    let mut running = Vec::new();
    for mut unit in units {
        let Some(trading) = unit.trading.take() else {
            continue;
        };
        let seat = unit.seat.take().unwrap_or_else(Seat::alone);
        let span = tracing::info_span!("account", account = %unit.account_name());
        let stop = inner.clone();
        running.push(tokio::spawn(
            async move { unit.lead_and_trade(trading, stop, seat).await }.instrument(span),
        ));
    }
    running
}

/// Wait until every unit has stopped (their terms end cleanly on the process's stop).
pub(super) async fn stopped(running: Vec<Running>) {
    for task in running {
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::error!(error = %format!("{e:#}"), "an account stopped with an error")
            }
            Err(e) => tracing::error!(error = %e, "an account's task failed"),
        }
    }
}
