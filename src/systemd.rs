//! systemd integration: `READY=1` once the control API serves, `STOPPING=1` on the way
//! out, and the watchdog: `WATCHDOG=1` every half period, but only while the executor
//! is not stuck on one piece of work for longer than the whole period (its
//! [`crate::router::Pulse`]). A wedged executor — a request or a lock that never
//! returns — stops the pings, says why in `STATUS=` and on `/readyz`, and systemd
//! restarts the daemon; the pings resume the moment the work finishes.
//! Outside systemd (no `NOTIFY_SOCKET`) every call is a no-op.

use std::sync::Arc;
use std::time::Duration;

use sd_notify::NotifyState;

use crate::api::Readiness;
use crate::shutdown::Shutdown;

/// The `/readyz` component a stuck executor is reported under.
pub(crate) const STUCK_COMPONENT: &str = "executor";

pub(crate) fn notify_ready() {
    if let Err(e) = sd_notify::notify(false, &[NotifyState::Ready]) {
        tracing::warn!(error = %e, "systemd READY notification failed");
    }
}

pub(crate) fn notify_stopping() {
    let _ = sd_notify::notify(false, &[NotifyState::Stopping]);
}

/// When to pet the watchdog and when the executor counts as stuck.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WatchdogTiming {
    /// Half of `WatchdogSec` (or the configured interval, when shorter).
    pub interval: Duration,
    /// One piece of executor work running longer than this (`WatchdogSec`) is a wedge.
    pub(crate) stuck_after: Duration,
}

/// The timing systemd asked for (`WATCHDOG_USEC` for this pid), or None.
pub(crate) fn watchdog_timing(configured: Option<Duration>) -> Option<WatchdogTiming> {
    let mut usec = 0u64;
    if sd_notify::watchdog_enabled(false, &mut usec) && usec > 0 {
        let period = Duration::from_micros(usec);
        let half = period / 2;
        let interval = configured.map_or(half, |c| half.min(c));
        return Some(WatchdogTiming {
            interval,
            stuck_after: period,
        });
    }
    None
}

/// Pet the watchdog until shutdown, unless the executor of any served account is stuck
/// (a wedged executor is a fault the restart cures; the other accounts' standbys, or this
/// daemon restarted, take them on after the grace). If the runtime stalls the pets stop
/// too: either way systemd restarts the service.
pub(crate) async fn run_watchdog(
    timing: WatchdogTiming,
    accounts: Vec<Arc<Readiness>>,
    mut shutdown: Shutdown,
) {
    let mut tick = tokio::time::interval(timing.interval);
    let mut withheld: Option<Arc<Readiness>> = None;
    loop {
        tokio::select! {
            _ = shutdown.recv() => return,
            _ = tick.tick() => {}
        }
        let stuck = accounts.iter().find_map(|r| {
            let busy = r.executor_busy_for().filter(|b| *b > timing.stuck_after)?;
            Some((r, busy))
        });
        match stuck {
            Some((readiness, busy)) => {
                let why = format!(
                    "executor stuck on one piece of work for {} s: watchdog withheld",
                    busy.as_secs()
                );
                if withheld.is_none() {
                    tracing::error!(busy_s = busy.as_secs(), account = readiness.account().unwrap_or_default(), "the executor is stuck: withholding the systemd watchdog so the daemon is restarted");
                }
                withheld = Some(readiness.clone());
                readiness.set_degraded(STUCK_COMPONENT, why.clone());
                let _ = sd_notify::notify(false, &[NotifyState::Status(&why)]);
            }
            None => {
                if let Some(readiness) = withheld.take() {
                    tracing::warn!("the executor works again: watchdog resumed");
                    readiness.clear_degraded(STUCK_COMPONENT);
                    let _ = sd_notify::notify(false, &[NotifyState::Status("running")]);
                }
                let _ = sd_notify::notify(false, &[NotifyState::Watchdog]);
            }
        }
    }
}
