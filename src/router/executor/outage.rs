//! Recover fast after an outage: while risk-reducing work backs off because the venue did
//! not answer (5xx or no HTTP answer, certainly not executed, no Retry-After), the executor
//! asks the venue a cheap question (`GET /fapi/v1/ping`, weight 1) every [`PROBE_EVERY`].
//! A probe that fails confirms the outage: the waiting jobs are parked until the backoff
//! ceiling (no real order is spent on a venue that does not even answer a ping); the first
//! probe that is answered cuts their wait short, so the next close chunk goes out as soon
//! as the venue answers again instead of after a backoff grown to ~10 s.
//!
//! Invariants:
//! - only our own backoff is cut: a job waiting out the exchange's Retry-After or a 418
//!   ban never enters the probe set (the error that put it there carried no wait);
//! - a probe goes through the adapter's limiter like any request (a ban in force refuses
//!   it locally), and at most one is sent per [`PROBE_EVERY`]: a probe cannot earn a
//!   429/418;
//! - opens are never shortcut (the breaker decides when they go again);
//! - a job is parked at most once per failed send, for at most the backoff ceiling: a venue
//!   whose ping fails while its orders work still gets a real attempt as often as today.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::context::Ctx;
use crate::ledger::IntentId;
use crate::router::core::scheduler::{RiskClass, Scheduler};

/// Spacing of the probes while an outage lasts.
pub(super) const PROBE_EVERY: Duration = Duration::from_millis(500);

/// Risk-reducing jobs backing off because of an outage, and when to probe next.
#[derive(Debug, Default)]
pub(crate) struct OutageProbe {
    /// The jobs, and whether each is parked since its last failed send.
    jobs: HashMap<IntentId, bool>,
    next_probe: Option<Instant>,
}

impl OutageProbe {
    /// After a step of `id`: whether it now backs off because of an outage.
    pub(super) fn note(
        &mut self,
        id: IntentId,
        class: RiskClass,
        outage: bool,
        ready_at: Option<Instant>,
        now: Instant,
    ) {
        let backing_off = ready_at.is_some_and(|at| at > now);
        if outage && class == RiskClass::Reducing && backing_off {
            if self.jobs.is_empty() {
                self.next_probe = Some(now + PROBE_EVERY);
            }
            self.jobs.insert(id, false);
        } else {
            self.forget(id);
        }
    }

    /// `id` is finished or no longer waits on an outage.
    pub(super) fn forget(&mut self, id: IntentId) {
        self.jobs.remove(&id);
        if self.jobs.is_empty() {
            self.next_probe = None;
        }
    }

    /// When the executor must wake for the next probe (None: no outage).
    pub(super) fn wake(&self) -> Option<Instant> {
        self.next_probe
    }

    /// Probe if one is due; on an answer, make every outage job ready now; on none, park
    /// the jobs not parked yet until the backoff ceiling.
    pub(super) async fn run_if_due(&mut self, ctx: &Ctx, sched: &mut Scheduler<IntentId>) {
        let Some(at) = self.next_probe else {
            return;
        };
        if Instant::now() < at {
            return;
        }
        // Only risk-reducing jobs wait on it (and the work loop awaits it): it may use the
        // weight kept for risk-reducing requests.
        if let Err(e) = ctx
            .exchange
            .ping(crate::exchange::Purpose::ReduceRisk)
            .await
        {
            tracing::debug!(error = %e, "outage probe: the exchange does not answer yet");
            let now = Instant::now();
            self.next_probe = Some(now + PROBE_EVERY);
            let park: Vec<IntentId> = self
                .jobs
                .iter()
                .filter(|(_, p)| !**p)
                .map(|(id, _)| *id)
                .collect();
            for id in sched.remove_where(|id| park.contains(id)) {
                tracing::info!(intent_id = %id, "the exchange does not answer a ping: close parked until a probe is answered");
                sched.push(id, RiskClass::Reducing, now + ctx.cfg.backoff.max);
            }
            for p in self.jobs.values_mut() {
                *p = true;
            }
            return;
        }
        let jobs: Vec<IntentId> = self.jobs.drain().map(|(id, _)| id).collect();
        self.next_probe = None;
        let now = Instant::now();
        for id in sched.remove_where(|id| jobs.contains(id)) {
            tracing::info!(intent_id = %id, "backoff cut short by a successful probe: the exchange answers again");
            crate::metrics::record_backoff_shortcut();
            sched.push(id, RiskClass::Reducing, now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_reducing_jobs_backing_off_after_an_outage_are_probed_for() {
        let now = Instant::now();
        let later = Some(now + Duration::from_secs(5));
        let mut p = OutageProbe::default();
        p.note(IntentId(1), RiskClass::Increasing, true, later, now);
        p.note(IntentId(2), RiskClass::Reducing, false, later, now);
        p.note(IntentId(3), RiskClass::Reducing, true, Some(now), now);
        assert_eq!(p.wake(), None, "no outage job yet");
        p.note(IntentId(4), RiskClass::Reducing, true, later, now);
        assert_eq!(p.wake(), Some(now + PROBE_EVERY));
        p.note(IntentId(4), RiskClass::Reducing, false, later, now);
        assert_eq!(
            p.wake(),
            None,
            "a later failure with a Retry-After leaves the set"
        );
    }
}
