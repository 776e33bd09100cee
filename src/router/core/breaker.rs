//! Circuit breaker: while the exchange is in distress, refuse opens and let closes through.
//!
//! Distress is the share of 5xx / no-response, -1008 and unknown-outcome results among the
//! outcomes of the last `window` (seed 003: 106 minutes of -1008 and 503). States:
//! - Closed: everything is admitted; trips to Open when at least `min_samples` outcomes are
//!   in the window and the distress share reaches `threshold_pct`.
//! - Open: opens are refused with a reason that shows the numbers; risk-reducing orders are
//!   always admitted (they carry on with backoff). After `cool_down` the window is judged
//!   again: closes kept reporting, so if it still shows distress the breaker stays Open.
//! - HalfOpen: one trial open at a time; a success closes the breaker (and forgets the old
//!   window), distress re-opens it, an ordinary reject just frees the trial slot. A trial
//!   that never reports is given up after `cool_down`.
//!
//! Every change of [`Phase`] is also queued as a [`Transition`] (with the window's counts)
//! for the caller to drain ([`Breaker::take_transitions`]): the executor publishes them to
//! the metrics and the ledger, so the report can shade the open periods.
//!
//! Forced open ([`Breaker::force_open`]): the daemon's preflight found the venue in
//! distress at start (docs/incidents.md (seed 003)). The breaker is Open with that
//! evidence and stays Open, whatever the window says, until [`Breaker::release`] (the
//! background re-check passed); closes are admitted throughout.
//!
//! Pure: time is an `Instant` passed in; ratios are integer arithmetic.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::domain::DomainError;
use crate::exchange::{ErrorClass, ExchangeError};

use super::scheduler::RiskClass;

/// What happened to one request, as the breaker counts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Outcome {
    Success,
    /// HTTP 5xx, or no response at all from a request that certainly did not execute.
    ServerError,
    /// -1008: the exchange is shedding load.
    Throttled,
    /// Sent, and nobody knows whether it executed.
    Unknown,
    /// An ordinary business rejection (filters, margin, reduce-only conflicts...).
    Rejected,
}

impl Outcome {
    pub(crate) fn is_distress(self) -> bool {
        matches!(
            self,
            Outcome::ServerError | Outcome::Throttled | Outcome::Unknown
        )
    }

    /// Classify an exchange error for the breaker.
    pub(crate) fn of_error(err: &ExchangeError) -> Outcome {
        if err.class == ErrorClass::OutcomeUnknown {
            Outcome::Unknown
        } else if err.code == Some(-1008) {
            Outcome::Throttled
        } else if err.http_status.is_some_and(|s| s >= 500)
            || (err.http_status.is_none() && err.class == ErrorClass::Retry)
        {
            Outcome::ServerError
        } else {
            Outcome::Rejected
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BreakerConfig {
    pub window: Duration,
    /// Distress share (percent of outcomes in the window) that opens the breaker.
    pub(crate) threshold_pct: u32,
    /// Fewer outcomes than this in the window never open it (one 503 is not a crisis).
    pub(crate) min_samples: usize,
    pub(crate) cool_down: Duration,
}

impl BreakerConfig {
    /// Refuse settings that would make the breaker meaningless, naming the field.
    pub fn check(&self) -> Result<(), DomainError> {
        if !(1..=100).contains(&self.threshold_pct) {
            return Err(DomainError::new(
                "breaker.threshold_pct",
                format!(
                    "{} is not a percentage between 1 and 100",
                    self.threshold_pct
                ),
            ));
        }
        if self.window.is_zero() {
            return Err(DomainError::new(
                "breaker.window",
                "must be longer than zero",
            ));
        }
        if self.cool_down.is_zero() {
            return Err(DomainError::new(
                "breaker.cool_down",
                "must be longer than zero",
            ));
        }
        Ok(())
    }
}

/// Counts over the current window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct WindowStats {
    pub total: usize,
    pub server_errors: usize,
    pub throttled: usize,
    pub unknown: usize,
}

impl WindowStats {
    pub(crate) fn distress(&self) -> usize {
        self.server_errors + self.throttled + self.unknown
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BreakerState {
    Closed,
    /// `evidence`: the window that opened (or last re-opened) it.
    Open {
        until: Instant,
        evidence: WindowStats,
    },
    HalfOpen {
        trial_since: Option<Instant>,
    },
}

/// The breaker's state without its timers: what metrics and the ledger record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Phase {
    Closed,
    HalfOpen,
    Open,
}

impl Phase {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Phase::Closed => "closed",
            Phase::HalfOpen => "half_open",
            Phase::Open => "open",
        }
    }

    /// The `sluice_breaker_state` gauge value: 0 closed, 1 half-open, 2 open.
    pub(crate) fn gauge(self) -> u8 {
        match self {
            Phase::Closed => 0,
            Phase::HalfOpen => 1,
            Phase::Open => 2,
        }
    }
}

impl BreakerState {
    pub(crate) fn phase(&self) -> Phase {
        match self {
            BreakerState::Closed => Phase::Closed,
            BreakerState::HalfOpen { .. } => Phase::HalfOpen,
            BreakerState::Open { .. } => Phase::Open,
        }
    }
}

/// One change of phase, with the window's counts when it happened (for an opening:
/// the counts that tripped it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Transition {
    pub at: Instant,
    pub from: Phase,
    pub to: Phase,
    pub stats: WindowStats,
}

/// Why an order was not admitted. The text is meant for the operator and the intent's error.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub(crate) struct Refusal {
    pub reason: String,
}

pub(crate) struct Breaker {
    cfg: BreakerConfig,
    samples: VecDeque<(Instant, Outcome)>,
    state: BreakerState,
    /// Phase changes not yet taken by the caller.
    transitions: Vec<Transition>,
    /// While forced open: why (the refusal text for opens).
    forced: Option<String>,
}

impl Breaker {
    /// A breaker over checked settings ([`BreakerConfig::check`]).
    pub(crate) fn new(cfg: BreakerConfig) -> Result<Self, DomainError> {
        cfg.check()?;
        Ok(Self {
            cfg,
            samples: VecDeque::new(),
            state: BreakerState::Closed,
            transitions: Vec::new(),
            forced: None,
        })
    }

    /// Open now and stay open until [`Breaker::release`]; `evidence` is what the
    /// transition records, `reason` what a refused open is told.
    pub(crate) fn force_open(&mut self, reason: String, evidence: WindowStats, now: Instant) {
        self.forced = Some(reason);
        let next = BreakerState::Open {
            until: now + self.cfg.cool_down,
            evidence,
        };
        let from = self.state.phase();
        if from != Phase::Open {
            self.transitions.push(Transition {
                at: now,
                from,
                to: Phase::Open,
                stats: evidence,
            });
        }
        self.state = next;
    }

    /// End a forced open: the probes that failed pass again, so the breaker closes and
    /// judges from a fresh window. No-op when not forced.
    pub(crate) fn release(&mut self, now: Instant) {
        if self.forced.take().is_some() {
            self.samples.clear();
            self.set_state(BreakerState::Closed, now);
        }
    }

    /// Count one outcome observed at `now`.
    pub(crate) fn record(&mut self, outcome: Outcome, now: Instant) {
        self.advance(now);
        self.samples.push_back((now, outcome));
        self.prune(now);
        if self.forced.is_some() {
            return;
        }
        let trial_succeeded =
            matches!(self.state, BreakerState::HalfOpen { .. }) && outcome == Outcome::Success;
        let next = match self.state {
            BreakerState::Closed if self.tripped() => self.open(now),
            BreakerState::HalfOpen { .. } if outcome.is_distress() => self.open(now),
            BreakerState::HalfOpen { .. } if outcome == Outcome::Success => BreakerState::Closed,
            BreakerState::HalfOpen { .. } => BreakerState::HalfOpen { trial_since: None },
            other => other,
        };
        self.set_state(next, now);
        if trial_succeeded {
            // A successful trial closes the breaker and forgets the distressed window.
            self.samples.clear();
        }
    }

    /// Phase changes since the last call, oldest first.
    pub(crate) fn take_transitions(&mut self) -> Vec<Transition> {
        std::mem::take(&mut self.transitions)
    }

    /// Change state, queueing a [`Transition`] when the phase changes.
    fn set_state(&mut self, next: BreakerState, now: Instant) {
        let (from, to) = (self.state.phase(), next.phase());
        if from != to {
            self.transitions.push(Transition {
                at: now,
                from,
                to,
                stats: self.stats(),
            });
        }
        self.state = next;
    }

    /// May an order of this class go now? Risk-reducing orders always may.
    pub(crate) fn admit(&mut self, class: RiskClass, now: Instant) -> Result<(), Refusal> {
        self.advance(now);
        if class == RiskClass::Reducing {
            return Ok(());
        }
        if let Some(reason) = &self.forced {
            return Err(Refusal {
                reason: reason.clone(),
            });
        }
        match self.state {
            BreakerState::Closed => Ok(()),
            BreakerState::Open { until, evidence } => Err(self.refusal_open(until, evidence, now)),
            BreakerState::HalfOpen { trial_since } => {
                let free = trial_since.is_none_or(|t| now >= t + self.cfg.cool_down);
                if free {
                    self.state = BreakerState::HalfOpen {
                        trial_since: Some(now),
                    };
                    Ok(())
                } else {
                    Err(Refusal {
                        reason: "exchange recovering from distress: a trial open is in flight; \
                                 opens are refused until it answers; closes continue"
                            .to_string(),
                    })
                }
            }
        }
    }

    /// The state at `now` (advancing timers).
    #[cfg(test)]
    pub(crate) fn state(&mut self, now: Instant) -> BreakerState {
        self.advance(now);
        self.state
    }

    /// Outcome counts over the window as last pruned.
    pub(crate) fn stats(&self) -> WindowStats {
        let mut s = WindowStats::default();
        for (_, o) in &self.samples {
            s.total += 1;
            match o {
                Outcome::ServerError => s.server_errors += 1,
                Outcome::Throttled => s.throttled += 1,
                Outcome::Unknown => s.unknown += 1,
                Outcome::Success | Outcome::Rejected => {}
            }
        }
        s
    }

    fn advance(&mut self, now: Instant) {
        self.prune(now);
        if self.forced.is_some() {
            return;
        }
        if let BreakerState::Open { until, .. } = self.state {
            if now >= until {
                let next = if self.tripped() {
                    self.open(now)
                } else {
                    BreakerState::HalfOpen { trial_since: None }
                };
                self.set_state(next, now);
            }
        }
    }

    fn prune(&mut self, now: Instant) {
        while let Some((t, _)) = self.samples.front() {
            if now.saturating_duration_since(*t) <= self.cfg.window {
                break;
            }
            self.samples.pop_front();
        }
    }

    fn tripped(&self) -> bool {
        let s = self.stats();
        s.total >= self.cfg.min_samples.max(1)
            && s.distress() * 100 >= self.cfg.threshold_pct as usize * s.total
    }

    fn open(&self, now: Instant) -> BreakerState {
        BreakerState::Open {
            until: now + self.cfg.cool_down,
            evidence: self.stats(),
        }
    }

    fn refusal_open(&self, until: Instant, s: WindowStats, now: Instant) -> Refusal {
        let left = until.saturating_duration_since(now);
        Refusal {
            reason: format!(
                "exchange in distress: {} of the last {} outcomes in {}s failed \
                 (5xx/no response={}, -1008={}, unknown={}; threshold {}%): opens refused \
                 for another {}s; closes continue",
                s.distress(),
                s.total,
                self.cfg.window.as_secs(),
                s.server_errors,
                s.throttled,
                s.unknown,
                self.cfg.threshold_pct,
                left.as_secs().max(1),
            ),
        }
    }
}

#[cfg(test)]
#[path = "breaker_tests.rs"]
mod tests;
