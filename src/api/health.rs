//! Liveness, readiness and the daemon's role.
//!
//! `/healthz` says the process answers. `/readyz` says whether sluice may trade now and,
//! when not, why (starting, standby, recovering, key-loss safe mode...), so an operator
//! and systemd see the same state. The role says which of two daemons on one ledger
//! trades: only an `active` daemon (or one running without an executor) accepts writes.
//!
//! Each served account has its own [`Readiness`] (lock held, key usable, started). A
//! daemon serving several accounts answers `/readyz` without `?account=` for all of them
//! ([`daemon_readyz`]): ready (200) while at least one account trades, `degraded` when
//! another one does not (listed per account), 503 only when none does — so one account's
//! key loss never makes a supervisor restart the process that trades the others.

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
    /// The named account this is the readiness of (None: a single-account daemon's).
    account: Option<String>,
    state: Mutex<Current>,
    /// The running executor's pulse (None: no executor yet, or none at all).
    executor: Mutex<Option<crate::router::Pulse>>,
}

impl Default for Readiness {
    fn default() -> Self {
        Readiness {
            account: None,
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
    /// The readiness of `account` (None: the unnamed account of a single-account daemon),
    /// starting; its `sluice_ready` gauge carries the account's name.
    pub(crate) fn for_account(account: Option<String>) -> Readiness {
        let r = Readiness {
            account,
            ..Readiness::default()
        };
        crate::metrics::set_ready(r.account(), false);
        r
    }
    /// The named account (None: a single-account daemon's).
    pub(crate) fn account(&self) -> Option<&str> {
        self.account.as_deref()
    }
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
        crate::metrics::set_ready(self.account(), guard.ready);
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
    /// The account answered for (absent: a single-account daemon's unnamed account, or
    /// the whole daemon when `accounts` is listed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// A daemon serving several accounts, asked without `?account=`: each account's own
    /// answer (the fields above are then the daemon's).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(no_recursion)]
    pub accounts: Vec<ReadyzResponse>,
}

impl ReadyzResponse {
    /// What `r` says, as `/readyz?account=` answers it.
    fn of(r: &Readiness) -> ReadyzResponse {
        let (ready, reason) = r.get();
        let role = r.role();
        let degraded = r.degradations();
        let status = match (ready, role) {
            (true, _) if !degraded.is_empty() => "degraded",
            (true, _) => "ready",
            (false, Role::Standby) => "standby",
            (false, _) => "not_ready",
        };
        ReadyzResponse {
            ready,
            status,
            role,
            reason,
            degraded,
            account: r.account.clone(),
            accounts: Vec::new(),
        }
    }

    fn code(&self) -> StatusCode {
        if self.ready {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        }
    }
}

/// The whole daemon's `/readyz` over the accounts it serves: ready while at least one
/// account is ready (`degraded`, naming them, when any other is not ready for a reason
/// but standing by); not ready only when none is, `standby` when every one stands by.
/// The role is `active` while it leads any account.
pub(crate) fn daemon_readyz(all: &[std::sync::Arc<Readiness>]) -> (StatusCode, ReadyzResponse) {
    let accounts: Vec<ReadyzResponse> = all.iter().map(|r| ReadyzResponse::of(r)).collect();
    let name = |a: &ReadyzResponse| a.account.clone().unwrap_or_else(|| "main".into());
    let ready = accounts.iter().any(|a| a.ready);
    let troubled: Vec<&ReadyzResponse> = accounts
        .iter()
        .filter(|a| a.status == "not_ready" || a.status == "degraded")
        .collect();
    let role = if accounts.iter().any(|a| a.role == Role::Active) {
        Role::Active
    } else {
        accounts.first().map_or(Role::Starting, |a| a.role)
    };
    let status = match ready {
        true if troubled.is_empty() => "ready",
        true => "degraded",
        false if accounts.iter().all(|a| a.status == "standby") => "standby",
        false => "not_ready",
    };
    let reason = accounts
        .iter()
        .map(|a| format!("{}: {}", name(a), a.reason))
        .collect::<Vec<_>>()
        .join("; ");
    let degraded = troubled
        .iter()
        .map(|a| Degradation {
            component: "account",
            reason: format!("{}: {} ({})", name(a), a.status, a.reason),
        })
        .collect();
    let body = ReadyzResponse {
        ready,
        status,
        role,
        reason: if ready && troubled.is_empty() {
            "ready".into()
        } else {
            reason
        },
        degraded,
        account: None,
        accounts,
    };
    (body.code(), body)
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
    let body = ReadyzResponse::of(&state.readiness);
    (body.code(), Json(body))
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

    fn account(name: &str, role: Role, ready: Option<&str>) -> std::sync::Arc<Readiness> {
        let r = Readiness::for_account(Some(name.into()));
        r.set_role(role);
        match ready {
            None => r.set_ready(),
            Some(why) if role == Role::Standby => r.set_standby(why),
            Some(why) => r.set_not_ready(why),
        }
        std::sync::Arc::new(r)
    }

    #[test]
    fn the_daemon_is_ready_while_one_account_trades_and_names_the_one_that_does_not() {
        let b = account("b", Role::Active, None);
        let c = account("c", Role::Active, Some("key-loss safe mode"));
        let d = account("d", Role::Standby, Some("held by 'other'"));
        let (code, body) = daemon_readyz(&[b.clone(), c.clone(), d.clone()]);
        assert_eq!(
            (code, body.ready, body.status),
            (StatusCode::OK, true, "degraded")
        );
        assert_eq!(body.role, Role::Active);
        assert_eq!(body.accounts.len(), 3);
        assert_eq!(
            body.degraded,
            vec![Degradation {
                component: "account",
                reason: "c: not_ready (key-loss safe mode)".into()
            }],
            "a standby account is not a fault"
        );
        let (code, body) = daemon_readyz(&[b, d.clone()]);
        assert_eq!(
            (code, body.status, body.reason.as_str()),
            (StatusCode::OK, "ready", "ready")
        );
        let (code, body) = daemon_readyz(&[c, d.clone()]);
        assert_eq!(
            (code, body.status),
            (StatusCode::SERVICE_UNAVAILABLE, "not_ready")
        );
        let (code, body) = daemon_readyz(&[d]);
        assert_eq!(
            (code, body.status),
            (StatusCode::SERVICE_UNAVAILABLE, "standby")
        );
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
