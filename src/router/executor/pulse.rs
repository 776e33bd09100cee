//! The executor's pulse: whether one piece of its work (taking up intents, one step of a
//! job, re-authenticating) has been running for too long. Waiting for work is not busy.
//!
//! The systemd watchdog is petted only while no piece has run longer than the watchdog
//! period (`systemd::run_watchdog`), so a wedged executor — a request that never
//! returns, a lock that is never granted — gets the daemon restarted instead of a
//! healthy-looking process that sends nothing. `/readyz` shows the same fact.
//!
//! Lock-free: one atomic holding when the current piece started (0 = idle).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug)]
struct Inner {
    base: Instant,
    /// Milliseconds since `base` + 1 when the current piece started; 0 when idle.
    busy_since: AtomicU64,
}

/// Shared between the executor (which marks its work) and whoever watches it.
#[derive(Clone, Debug)]
pub(crate) struct Pulse(Arc<Inner>);

impl Default for Pulse {
    fn default() -> Self {
        Pulse(Arc::new(Inner {
            base: Instant::now(),
            busy_since: AtomicU64::new(0),
        }))
    }
}

/// Marks the executor busy until dropped.
#[must_use = "the work counts as busy only while the guard lives"]
pub(crate) struct Busy(Pulse);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0 .0.busy_since.store(0, Ordering::Release);
    }
}

impl Pulse {
    /// Start a piece of work; it ends when the guard drops.
    pub(crate) fn busy(&self) -> Busy {
        let since = u64::try_from(self.0.base.elapsed().as_millis()).unwrap_or(u64::MAX - 1);
        self.0.busy_since.store(since + 1, Ordering::Release);
        Busy(self.clone())
    }

    /// How long the current piece has been running; None when idle.
    pub(crate) fn busy_for(&self) -> Option<Duration> {
        let since = self.0.busy_since.load(Ordering::Acquire);
        if since == 0 {
            return None;
        }
        let now = u64::try_from(self.0.base.elapsed().as_millis()).unwrap_or(u64::MAX);
        Some(Duration::from_millis(now.saturating_sub(since - 1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pulse_is_busy_only_while_a_guard_lives() {
        let pulse = Pulse::default();
        assert_eq!(pulse.busy_for(), None);
        let guard = pulse.busy();
        assert!(pulse.busy_for().is_some());
        drop(guard);
        assert_eq!(pulse.busy_for(), None);
    }
}
