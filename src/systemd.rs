//! systemd integration: `READY=1` once the daemon can serve, `STOPPING=1` on the way
//! out, and a watchdog pet from a task that only runs while the runtime is healthy.
//! Outside systemd (no `NOTIFY_SOCKET`) every call is a no-op.

use std::time::Duration;

use sd_notify::NotifyState;

use crate::shutdown::Shutdown;

pub fn notify_ready() {
    if let Err(e) = sd_notify::notify(false, &[NotifyState::Ready]) {
        tracing::warn!(error = %e, "systemd READY notification failed");
    }
}

pub fn notify_stopping() {
    let _ = sd_notify::notify(false, &[NotifyState::Stopping]);
}

/// The watchdog interval systemd asked for (half of `WatchdogSec`), or the configured one.
pub fn watchdog_interval(configured_ms: u64) -> Option<Duration> {
    let mut usec = 0u64;
    if sd_notify::watchdog_enabled(false, &mut usec) && usec > 0 {
        let half = Duration::from_micros(usec / 2);
        return Some(if configured_ms > 0 {
            half.min(Duration::from_millis(configured_ms))
        } else {
            half
        });
    }
    None
}

/// Pet the watchdog until shutdown. If the runtime stalls, the pets stop and systemd
/// restarts the service: that is the point.
pub async fn run_watchdog(interval: Duration, mut shutdown: Shutdown) {
    let mut tick = tokio::time::interval(interval);
    loop {
        tokio::select! {
            _ = shutdown.recv() => return,
            _ = tick.tick() => {
                let _ = sd_notify::notify(false, &[NotifyState::Watchdog]);
            }
        }
    }
}
