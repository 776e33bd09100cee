//! Liveness, readiness and the daemon's role.
//!
//! `/healthz` says the process answers. `/readyz` says whether sluice may trade now and,
//! when not, why (starting, standby, recovering, key-loss safe mode...), so an operator
//! and systemd see the same state. The role says which of two daemons on one ledger
//! trades: only an `active` daemon (or one running without an executor) accepts writes.

use std::sync::Mutex;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;

use super::ApiState;

/// Which part this process plays on its ledger.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Not yet known whether this daemon leads.
    Starting,
    /// Another daemon holds the leader lock; this one serves reads and waits.
    Standby,
    /// Holds the leader lock: the only daemon that trades on this ledger.
    Active,
    /// No executor (no exchange credentials): the control API alone.
    ControlOnly,
    /// Shutting down, or lost the leader lock.
    Stopping,
}

impl Role {
    /// Whether write endpoints may run: never on a daemon that cannot prove it leads.
    pub(crate) fn accepts_writes(self) -> bool {
        matches!(self, Role::Active | Role::ControlOnly)
    }
}

#[derive(Debug)]
struct Current {
    ready: bool,
    reason: String,
    role: Role,
    /// Parts that are impaired while the daemon still trades (a silent user stream, the
    /// venue in distress...): keyed by component, each with its reason. Ordered so
    /// `/readyz` lists them the same way every time.
    degraded: std::collections::BTreeMap<&'static str, String>,
}

/// One impaired part, as `/readyz` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub(crate) struct Degradation {
    /// The impaired part (`user_stream`, `venue`, ...).
    #[schema(value_type = String)]
    pub component: &'static str,
    pub reason: String,
}

/// The daemon's readiness, set by startup and the supervision loops.
#[derive(Debug)]
pub struct Readiness {
    state: Mutex<Current>,
    /// The running executor's pulse (None: no executor yet, or none at all).
    executor: Mutex<Option<crate::router::Pulse>>,
}

impl Default for Readiness {
    fn default() -> Self {
        Readiness {
            state: Mutex::new(Current {
                ready: false,
                reason: "starting".to_string(),
                role: Role::Starting,
                degraded: Default::default(),
            }),
            executor: Mutex::new(None),
        }
    }
}

impl Readiness {
    /// Follow this executor's pulse (the systemd watchdog pets only while it is not stuck).
    pub(crate) fn watch_executor(&self, pulse: crate::router::Pulse) {
        *self.executor.lock().unwrap_or_else(|p| p.into_inner()) = Some(pulse);
    }
    /// How long the executor's current piece of work has been running (None: idle or
    /// no executor).
    pub(crate) fn executor_busy_for(&self) -> Option<std::time::Duration> {
        let guard = self.executor.lock().unwrap_or_else(|p| p.into_inner());
        guard.as_ref().and_then(crate::router::Pulse::busy_for)
    }
    pub(crate) fn set_ready(&self) {
        self.update(|s| {
            s.ready = true;
            s.reason = "ready".to_string();
        });
    }
    pub(crate) fn set_not_ready(&self, reason: &str) {
        self.update(|s| {
            s.ready = false;
            s.reason = reason.to_string();
        });
    }
    /// Another daemon leads: not ready, writes refused, `reason` says who and why.
    pub(crate) fn set_standby(&self, reason: &str) {
        self.update(|s| {
            s.ready = false;
            s.role = Role::Standby;
            s.reason = format!("standby: {reason}");
        });
    }
    /// Mark `component` impaired (replacing its previous reason). A ready daemon with a
    /// degradation still trades: `/readyz` answers 200 with status `degraded` and the list,
    /// so an operator sees what is wrong without the supervisor restarting a daemon that
    /// can still close positions.
    pub(crate) fn set_degraded(&self, component: &'static str, reason: impl Into<String>) {
        let reason = reason.into();
        self.update(|s| {
            s.degraded.insert(component, reason);
        });
    }
    /// `component` works again.
    pub(crate) fn clear_degraded(&self, component: &'static str) {
        self.update(|s| {
            s.degraded.remove(component);
        });
    }
    /// The impaired parts, by component name.
    pub(crate) fn degradations(&self) -> Vec<Degradation> {
        let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.degraded
            .iter()
            .map(|(c, r)| Degradation {
                component: c,
                reason: r.clone(),
            })
            .collect()
    }
    /// Record what this daemon does now (see [`Role`]); `/readyz` reports it.
    pub fn set_role(&self, role: Role) {
        self.update(|s| s.role = role);
    }
    fn update(&self, f: impl FnOnce(&mut Current)) {
        // A poisoned lock only means a panic elsewhere; readiness must still be reportable.
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard);
    }
    /// Whether the daemon is ready, and the reason it gives either way.
    pub fn get(&self) -> (bool, String) {
        let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        (s.ready, s.reason.clone())
    }
    /// The role last set with [`Readiness::set_role`].
    pub fn role(&self) -> Role {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).role
    }
}

/// `GET /healthz`: the process answers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Health {
    /// Always `ok`.
    #[schema(value_type = String, example = "ok")]
    pub status: &'static str,
}

/// `GET /readyz`: whether sluice may trade now and, when not, why.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ReadyzResponse {
    pub ready: bool,
    /// `ready`, `degraded` (ready, with impaired parts), `standby` or `not_ready`.
    #[schema(value_type = String)]
    pub status: &'static str,
    pub role: Role,
    /// `ready`, or why not (starting, recovering, key-loss safe mode...).
    pub reason: String,
    /// Parts impaired while the daemon still trades.
    pub degraded: Vec<Degradation>,
}

/// `GET /healthz`.
#[utoipa::path(
    get, path = "/healthz", tag = "health", security(()),
    responses((status = 200, description = "The process answers", body = Health))
)]
pub(crate) async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// `GET /readyz`.
#[utoipa::path(
    get, path = "/readyz", tag = "health", security(()),
    responses(
        (status = 200, description = "Ready (maybe `degraded`)", body = ReadyzResponse),
        (status = 503, description = "Not ready: starting, standby, recovering...", body = ReadyzResponse),
    )
)]
pub(crate) async fn readyz(State(state): State<ApiState>) -> (StatusCode, Json<ReadyzResponse>) {
    let (ready, reason) = state.readiness.get();
    let role = state.readiness.role();
    let degraded = state.readiness.degradations();
    let code = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let status = match (ready, role) {
        (true, _) if !degraded.is_empty() => "degraded",
        (true, _) => "ready",
        (false, Role::Standby) => "standby",
        (false, _) => "not_ready",
    };
    let body = ReadyzResponse {
        ready,
        status,
        role,
        reason,
        degraded,
    };
    (code, Json(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_standby_is_not_ready_and_refuses_writes_until_it_leads() {
        let r = Readiness::default();
        assert!(!r.role().accepts_writes(), "starting: not yet known");
        r.set_standby("the lock is held by 'sluice a'");
        assert_eq!(
            r.get(),
            (false, "standby: the lock is held by 'sluice a'".into())
        );
        assert!(!r.role().accepts_writes());
        r.set_role(Role::Active);
        r.set_ready();
        assert_eq!(r.get(), (true, "ready".into()));
        assert!(r.role().accepts_writes());
    }

    #[test]
    fn a_degraded_part_is_listed_until_it_is_cleared() {
        let r = Readiness::default();
        r.set_degraded("user_stream", "no event for 5 s while orders filled");
        r.set_degraded("venue", "preflight probes failed with 503");
        r.set_degraded("user_stream", "re-opening");
        assert_eq!(
            r.degradations(),
            vec![
                Degradation {
                    component: "user_stream",
                    reason: "re-opening".into()
                },
                Degradation {
                    component: "venue",
                    reason: "preflight probes failed with 503".into()
                },
            ]
        );
        r.clear_degraded("user_stream");
        assert_eq!(r.degradations().len(), 1);
        assert_eq!(r.degradations()[0].component, "venue");
    }
}
