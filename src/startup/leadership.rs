//! Hot standby: which of two `sluice run` processes on one ledger trades.
//!
//! The leader holds the ledger's advisory lock ([`crate::ledger::leader`]) on a
//! dedicated connection for as long as it trades. A standby tries to take the lock
//! every `daemon.leader_check_ms` (never a tight loop; backoff while Postgres cannot
//! be reached) and, until it succeeds, reports `standby` with who holds the lock.
//!
//! Invariants:
//! - the leader re-proves the lock from `pg_locks` every `leader_check_ms`; a check
//!   that fails or takes longer than `leader_check_timeout_ms` is a LOST lock: the
//!   caller stops trading at once and exits non-zero;
//! - a new leader sends nothing for [`LeaderConfig::takeover_grace`] after taking the
//!   lock: by then an old leader that is still alive (partitioned from Postgres, its
//!   session terminated) has noticed the loss and stopped signing, and every request
//!   it signed before has outlived the exchange's `recvWindow`; [`grace_decision`] skips
//!   it only when the ledger's leader terms prove no other signer can exist (a clean
//!   stop, or this same process re-taking the lock after its executor stopped);
//! - the server drops a half-open leader session (partition) after roughly
//!   `check + timeout + recv_window + 1 s` of silence plus 3 keepalive probes 2 s apart:
//!   after that leader stopped signing (`check + timeout`) and its last signed requests
//!   expired (`recv_window`).

use std::time::Duration;

use tokio::sync::OwnedSemaphorePermit;

use super::seat::Seat;
use crate::api::Readiness;
use crate::ledger::{Ledger, LockSession, LockSessionOptions};
use crate::settings::Settings;
use crate::shutdown::Shutdown;

/// How leadership is taken and kept.
#[derive(Clone, Debug)]
pub(crate) struct LeaderConfig {
    pub session: LockSessionOptions,
    pub(crate) check_every: Duration,
    pub(crate) check_timeout: Duration,
    /// The exchange's `recvWindow`: how long a signed request stays valid.
    pub(crate) recv_window: Duration,
}

impl LeaderConfig {
    pub(crate) fn from_settings(
        settings: &Settings,
        venue: &str,
        api: std::net::SocketAddr,
    ) -> Self {
        let check_every = settings.daemon.leader_check;
        let check_timeout = settings.daemon.leader_check_timeout;
        let recv_window = settings.exchange.recv_window;
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "unknown-host".into());
        LeaderConfig {
            session: LockSessionOptions {
                venue: venue.to_string(),
                // Postgres keeps 63 bytes: host first, so the API address may be cut.
                application_name: format!("sluice {host} pid={} api={api}", std::process::id()),
                // A partitioned leader stops signing within `check + timeout`; its last
                // requests expire `recv_window` later; only then may Postgres free the lock.
                keepalive_idle: check_every + check_timeout + recv_window + Duration::from_secs(1),
                account: settings.exchange.account.clone(),
            },
            check_every,
            check_timeout,
            recv_window,
        }
    }

    /// How long a new leader waits before it sends anything (see the module invariants).
    pub(crate) fn takeover_grace(&self) -> Duration {
        self.check_every + self.check_timeout + self.recv_window + Duration::from_secs(1)
    }
}

/// Wait until this daemon holds the leader lock, with a place under its account cap
/// (kept as long as the lock; see `seat`). None when shutdown came first.
pub(super) async fn acquire(
    ledger: &Ledger,
    cfg: &LeaderConfig,
    readiness: &Readiness,
    shutdown: &mut Shutdown,
    seat: &mut Seat,
) -> Option<(LockSession, Option<OwnedSemaphorePermit>)> {
    if !seat.my_turn(shutdown).await {
        return None;
    }
    let mut session: Option<LockSession> = None;
    let mut backoff = cfg.check_every;
    let mut last_reason = String::new();
    loop {
        let (reason, delay) = match seat.place() {
            Err(full) => (full, cfg.check_every),
            Ok(place) => {
                let attempt =
                    tokio::time::timeout(cfg.check_timeout, try_once(ledger, cfg, &mut session));
                match attempt.await {
                    Ok(Ok(None)) => {
                        seat.tried();
                        return session.map(|s| (s, place));
                    }
                    Ok(Ok(Some(holder))) => {
                        backoff = cfg.check_every;
                        (holder, cfg.check_every)
                    }
                    Ok(Err(e)) => {
                        session = None;
                        backoff = (backoff * 2).min(Duration::from_secs(30));
                        (
                            format!("cannot reach Postgres to take the leader lock: {e}"),
                            backoff,
                        )
                    }
                    Err(_) => {
                        session = None;
                        (
                            format!(
                                "taking the leader lock took longer than {:?}",
                                cfg.check_timeout
                            ),
                            cfg.check_every,
                        )
                    }
                }
            }
        };
        seat.tried();
        if reason != last_reason {
            tracing::warn!(%reason, "standby: not trading; waiting for the leader lock");
            readiness.set_standby(&reason);
            crate::metrics::set_leader(cfg.session.account.as_deref(), false);
            last_reason = reason;
        }
        tokio::select! {
            _ = shutdown.recv() => return None,
            _ = tokio::time::sleep(delay) => {}
        }
    }
}

/// One attempt: None = this session now holds the lock; Some(why not) otherwise.
async fn try_once(
    ledger: &Ledger,
    cfg: &LeaderConfig,
    session: &mut Option<LockSession>,
) -> Result<Option<String>, crate::ledger::LedgerError> {
    let s = match session {
        Some(s) => s,
        None => session.insert(ledger.lock_session(&cfg.session).await?),
    };
    if s.try_acquire().await? {
        return Ok(None);
    }
    let key = s.key();
    Ok(Some(match s.holder().await? {
        Some(holder) => format!("the leader lock {key} is held by {holder}"),
        None => format!("the leader lock {key} was held a moment ago; retrying"),
    }))
}

/// How [`hold`] ended.
pub(super) enum HoldEnd {
    /// The lock is gone (or cannot be proved held): stop trading at once.
    Lost(String),
    /// Shutdown of this term: the session still holds the lock; the caller marks the
    /// term and closes the session (which releases the lock).
    Released(LockSession),
}

/// Keep proving the lock until it is lost or `shutdown` (this term's stop) comes.
pub(super) async fn hold(
    session: LockSession,
    cfg: &LeaderConfig,
    mut shutdown: Shutdown,
) -> HoldEnd {
    let mut session = session;
    let mut ticks = tokio::time::interval(cfg.check_every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await; // the first tick is immediate: the lock was just taken
    loop {
        tokio::select! {
            _ = shutdown.recv() => return HoldEnd::Released(session),
            _ = ticks.tick() => {}
        }
        let lost = match tokio::time::timeout(cfg.check_timeout, session.still_held()).await {
            Ok(Ok(true)) => continue,
            Ok(Ok(false)) => "this session no longer holds the leader lock".to_string(),
            Ok(Err(e)) => format!("the leader-lock connection failed: {e}"),
            Err(_) => format!(
                "the leader-lock check took longer than {:?}",
                cfg.check_timeout
            ),
        };
        return HoldEnd::Lost(lost);
    }
}

/// Whether a new term waits the takeover grace, and why (logged and shown on `/readyz`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct GraceDecision {
    pub wait: Duration,
    pub why: String,
}

/// What this process knows of its own previous term.
#[derive(Clone, Copy, Debug)]
pub(super) struct OwnStop {
    /// When this process's executor had stopped (every send of that term returned).
    pub at: std::time::Instant,
}

/// The takeover grace exists for a previous leader that may still be signing (alive but
/// partitioned) or whose signed requests may still reach the exchange. It is skipped when
/// the previous term proves neither can be the case (see `ledger::leader_terms`):
/// - the previous term is this very process's (same instance id: nobody else held the
///   lock since, else their row would be newer) and its executor has stopped: wait only
///   out `recv_window` after that stop;
/// - the previous holder marked its term clean (on the lock's own connection, after its
///   executor stopped): wait only until its recorded quiet time.
///
/// Otherwise (killed, lost its lock, or no record) the full grace.
pub(super) fn grace_decision(
    previous: Option<&crate::ledger::PreviousTerm>,
    me: uuid::Uuid,
    own_stop: Option<OwnStop>,
    cfg: &LeaderConfig,
) -> GraceDecision {
    let full = |why: String| GraceDecision {
        wait: cfg.takeover_grace(),
        why,
    };
    let Some(prev) = previous else {
        return full(
            "no earlier leader is recorded on this ledger: waiting the takeover grace".into(),
        );
    };
    if prev.instance == me {
        if let Some(stop) = own_stop {
            return GraceDecision {
                wait: cfg.recv_window.saturating_sub(stop.at.elapsed()),
                why: "grace skipped: this daemon was the previous holder and its executor had stopped".into(),
            };
        }
    }
    if prev.stopped_cleanly_at.is_some() {
        let quiet = u64::try_from(prev.quiet_in_ms).unwrap_or(0);
        return GraceDecision {
            wait: Duration::from_millis(quiet),
            why: format!(
                "grace skipped: previous holder stopped cleanly ({})",
                prev.holder
            ),
        };
    }
    full(format!(
        "previous holder did not stop cleanly (killed, or lost the lock): {}; waiting the takeover grace",
        prev.holder
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn term(instance: uuid::Uuid, clean: bool, quiet_in_ms: i64) -> crate::ledger::PreviousTerm {
        crate::ledger::PreviousTerm {
            instance,
            holder: "sluice host pid=1".into(),
            acquired_at: chrono::Utc::now(),
            stopped_cleanly_at: clean.then(chrono::Utc::now),
            quiet_in_ms,
        }
    }

    fn cfg() -> LeaderConfig {
        LeaderConfig::from_settings(
            &settings(&[]),
            "binance-usdm",
            "127.0.0.1:7878".parse().expect("addr"),
        )
    }

    #[test]
    fn the_grace_is_waited_unless_the_previous_term_proves_nobody_else_signs() {
        let me = uuid::Uuid::new_v4();
        let other = uuid::Uuid::new_v4();
        let cfg = cfg();
        let full = cfg.takeover_grace();
        assert_eq!(grace_decision(None, me, None, &cfg).wait, full);
        let killed = grace_decision(Some(&term(other, false, 0)), me, None, &cfg);
        assert_eq!(killed.wait, full);
        assert!(
            killed.why.contains("did not stop cleanly"),
            "{}",
            killed.why
        );
        let clean = grace_decision(Some(&term(other, true, 1500)), me, None, &cfg);
        assert_eq!(clean.wait, Duration::from_millis(1500));
        assert!(clean
            .why
            .starts_with("grace skipped: previous holder stopped cleanly"));
        // Our own term, executor stopped long ago: no wait at all.
        let stop = OwnStop {
            at: std::time::Instant::now()
                .checked_sub(cfg.recv_window)
                .expect("the monotonic clock is older than the receive window"),
        };
        let own = grace_decision(Some(&term(me, false, 0)), me, Some(stop), &cfg);
        assert_eq!(own.wait, Duration::ZERO);
        // Our own id but no local knowledge of a stop: treated as anyone else's.
        let unknown = grace_decision(Some(&term(me, false, 0)), me, None, &cfg);
        assert_eq!(unknown.wait, full);
    }

    fn settings(env: &[(&str, &str)]) -> Settings {
        let dir = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/config"));
        let env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::load_with_env(&dir, env).expect("test settings")
    }

    #[test]
    fn the_grace_outlasts_a_previous_leaders_detection_and_its_last_request() {
        let s = settings(&[
            ("SLUICE__DAEMON__LEADER_CHECK_MS", "1000"),
            ("SLUICE__DAEMON__LEADER_CHECK_TIMEOUT_MS", "3000"),
            ("SLUICE__EXCHANGE__RECV_WINDOW_MS", "5000"),
        ]);
        let cfg = LeaderConfig::from_settings(
            &s,
            "binance-usdm",
            "127.0.0.1:7878".parse().expect("addr"),
        );
        let detection = cfg.check_every + cfg.check_timeout;
        assert!(cfg.takeover_grace() > detection + cfg.recv_window);
        // Postgres may free a partitioned leader's lock only after it stopped and its
        // last signed request expired.
        assert!(cfg.session.keepalive_idle > detection + cfg.recv_window);
        assert!(cfg.session.application_name.starts_with("sluice "));
        assert!(cfg.session.application_name.contains("api=127.0.0.1:7878"));
    }

    #[test]
    fn a_zero_leader_check_is_refused_naming_the_key() {
        let dir = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/config"));
        let env = [(
            "SLUICE__DAEMON__LEADER_CHECK_MS".to_string(),
            "0".to_string(),
        )];
        let err = Settings::load_with_env(&dir, env.into_iter().collect()).expect_err("refused");
        assert!(err.to_string().contains("daemon.leader_check_ms"), "{err}");
    }
}
