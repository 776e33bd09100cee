//! Key-loss safe mode (seed 000: the API key was deleted as an emergency stop, and the
//! corrective orders then failed with it).
//!
//! When the exchange refuses sluice's credentials (-2015, -2014, -1022, 401) on any call,
//! the executor stops sending: no order, cancel or resolution goes out while the key is
//! refused. The ledger stays exactly as last confirmed: an account that cannot be read is
//! never read as "no positions", jobs keep their in-flight orders and their chunks, and
//! intents stay `working`. The executor then re-authenticates with jittered exponential
//! backoff (re-reading the key pair from its source, so a rotated key is picked up
//! without a restart). On success it resolves every non-terminal order by client order
//! id, runs the reconcile hook, and only then resumes.
//!
//! The state is published on a watch channel ([`ExecutorStatus`]) for `/readyz`, the
//! logs and the metrics.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use tokio::sync::watch;

use crate::exchange::{ErrorClass, ExchangeError};
use crate::router::core::backoff::{Backoff, BackoffConfig, Jitter};

/// What the executor is doing, as the rest of the daemon sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ExecutorStatus {
    /// Sending as usual.
    Running,
    /// The exchange refuses the credentials: nothing is sent until they work again.
    KeyLoss {
        /// When the exchange first refused the credentials.
        since: DateTime<Utc>,
        /// The exchange's answer that started it (code and message).
        reason: String,
        /// Re-authentication attempts so far.
        attempts: u32,
    },
}

impl ExecutorStatus {
    /// The line `/readyz` and the logs show.
    pub fn describe(&self) -> String {
        match self {
            ExecutorStatus::Running => "running".into(),
            ExecutorStatus::KeyLoss {
                since,
                reason,
                attempts,
            } => format!(
                "key-loss safe mode since {}: the exchange refuses the API key ({reason}); nothing is sent; {attempts} re-authentication attempt(s) so far",
                since.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            ),
        }
    }
}

/// Re-authentication delays by default: from 1 s, growing with jitter, at most a minute
/// apart. Each probe is one signed `apiTradingStatus` scoped to one traded symbol (IP
/// weight 1; 10 only if the executor knows no symbol's rules), booked as risk-reducing
/// (every close waits on it): a few a minute once the delays have grown.
pub(crate) const REAUTH_BACKOFF: BackoffConfig = BackoffConfig {
    base: Duration::from_secs(1),
    max: Duration::from_secs(60),
    jitter: Jitter::Decorrelated,
};

pub(crate) struct KeyLoss {
    lost: Option<Lost>,
    backoff: Backoff<ChaCha8Rng>,
    status: watch::Sender<ExecutorStatus>,
}

struct Lost {
    since: DateTime<Utc>,
    reason: String,
    attempts: u32,
    next_probe: Instant,
}

impl KeyLoss {
    pub(crate) fn new(
        status: watch::Sender<ExecutorStatus>,
        probe: BackoffConfig,
        seed: u64,
    ) -> KeyLoss {
        KeyLoss {
            lost: None,
            backoff: Backoff::new(probe, ChaCha8Rng::seed_from_u64(seed)),
            status,
        }
    }

    pub(crate) fn is_active(&self) -> bool {
        self.lost.is_some()
    }

    /// Enter safe mode if `e` says the credentials are refused. True if it did (or was
    /// already in it).
    pub(crate) fn observe(&mut self, e: &ExchangeError) -> bool {
        if e.class != ErrorClass::Auth {
            return false;
        }
        if self.lost.is_none() {
            let reason = match e.code {
                Some(code) => format!("{code} {}", e.msg),
                None => e.msg.clone(),
            };
            tracing::error!(%reason, "key-loss safe mode: the exchange refuses the API key; sending stops, the ledger stays as last confirmed, re-authenticating with backoff");
            self.backoff.reset();
            let next_probe = self.backoff.next_at(Instant::now(), None);
            self.lost = Some(Lost {
                since: Utc::now(),
                reason,
                attempts: 0,
                next_probe,
            });
            self.publish();
        }
        true
    }

    /// When the next re-authentication is due (None when not in safe mode).
    pub(crate) fn next_probe(&self) -> Option<Instant> {
        self.lost.as_ref().map(|l| l.next_probe)
    }

    /// A probe failed (`why`): count it and schedule the next one, not before the
    /// exchange's `Retry-After` if it gave one.
    pub(crate) fn probe_failed(&mut self, retry_after: Option<Duration>, why: &str) {
        let next = self.backoff.next_at_after(Instant::now(), retry_after);
        if let Some(l) = self.lost.as_mut() {
            l.attempts += 1;
            l.next_probe = next;
            tracing::warn!(attempts = l.attempts, error = %why, retry_in_ms = next.saturating_duration_since(Instant::now()).as_millis() as u64,
                "re-authentication failed; still in key-loss safe mode");
        }
        self.publish();
    }

    /// The credentials work again and the ledger was re-checked: leave safe mode.
    pub(crate) fn recovered(&mut self) {
        if let Some(l) = self.lost.take() {
            let secs = (Utc::now() - l.since).num_milliseconds() as f64 / 1000.0;
            tracing::warn!(
                after_s = secs,
                attempts = l.attempts + 1,
                "key-loss safe mode over: the exchange accepts the API key again; resuming"
            );
        }
        self.publish();
    }

    fn publish(&self) {
        let status = match &self.lost {
            None => ExecutorStatus::Running,
            Some(l) => ExecutorStatus::KeyLoss {
                since: l.since,
                reason: l.reason.clone(),
                attempts: l.attempts,
            },
        };
        self.status.send_replace(status);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth_error() -> ExchangeError {
        ExchangeError::new(
            ErrorClass::Auth,
            Some(401),
            Some(-2015),
            "Invalid API-key, IP, or permissions for action.",
        )
    }

    #[test]
    fn only_an_auth_error_enters_safe_mode_and_the_status_says_why() {
        let (tx, rx) = watch::channel(ExecutorStatus::Running);
        let mut k = KeyLoss::new(tx, REAUTH_BACKOFF, 1);
        let busy = ExchangeError::new(ErrorClass::Backoff, Some(400), Some(-1008), "busy");
        assert!(!k.observe(&busy));
        assert!(!k.is_active());
        assert!(k.observe(&auth_error()));
        assert!(k.is_active());
        let status = rx.borrow().clone();
        assert!(
            matches!(&status, ExecutorStatus::KeyLoss { reason, attempts: 0, .. } if reason.starts_with("-2015")),
            "{status:?}"
        );
        assert!(status.describe().contains("nothing is sent"));
    }

    #[test]
    fn failed_probes_are_counted_and_spaced_further_apart_until_recovery() {
        let (tx, rx) = watch::channel(ExecutorStatus::Running);
        let mut k = KeyLoss::new(tx, REAUTH_BACKOFF, 7);
        k.observe(&auth_error());
        let mut gaps = Vec::new();
        for _ in 0..6 {
            let before = Instant::now();
            k.probe_failed(None, "-2015");
            gaps.push(k.next_probe().expect("still lost") - before);
        }
        assert!(matches!(
            *rx.borrow(),
            ExecutorStatus::KeyLoss { attempts: 6, .. }
        ));
        assert!(gaps.iter().all(|g| *g >= Duration::from_millis(900)));
        assert!(gaps.iter().all(|g| *g <= Duration::from_secs(61)));
        k.recovered();
        assert!(!k.is_active());
        assert_eq!(*rx.borrow(), ExecutorStatus::Running);
    }
}
