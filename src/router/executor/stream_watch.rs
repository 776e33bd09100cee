//! Is the user stream really delivering? A connected stream can be silent (the retired
//! path form since 2026-04-23, docs/binance-fapi.md §0: the handshake completes, nothing
//! ever arrives), and a silent stream looks exactly like a quiet account. So silence is
//! judged on evidence only: an order of sluice's own that REST shows executing (the
//! placement answer, or a resolution) while the stream is connected, and that the live
//! stream has not mentioned `grace` later.
//!
//! Invariants:
//! - events between a `Disconnected` (or the start) and the next `Resynced` come from the
//!   adapter's REST resync, never count as the stream speaking, and a reconnect forgets
//!   what it was waiting for (the resync covers the gap);
//! - an episode is logged at ERROR, counted and published once, when it starts; it ends
//!   (WARN, gauge 0, published) on the first event the live stream delivers again;
//! - during an episode a re-open is asked for at most once per backoff delay (1 s growing
//!   to 5 min, jittered), and only while orders keep going unreported.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use tokio::sync::watch;

use crate::exchange::AccountEvent;
use crate::router::core::backoff::{Backoff, BackoffConfig, Jitter};

/// Spacing of re-open requests while the stream stays silent.
pub(crate) const REOPEN_BACKOFF: BackoffConfig = BackoffConfig {
    base: Duration::from_secs(1),
    max: Duration::from_secs(300),
    jitter: Jitter::Decorrelated,
};

/// What `/readyz` and the logs show about the user stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub(crate) enum StreamHealth {
    Delivering,
    /// Connected, but orders REST showed executing went unreported.
    Silent {
        since: DateTime<Utc>,
        reason: String,
    },
}

/// The pure detector: time is passed in.
#[derive(Debug)]
struct Detector {
    grace: Duration,
    /// Between `Resynced` and `Disconnected`: events come from the live stream.
    live: bool,
    /// Client order ids the live stream mentioned, and when (kept a while: the stream
    /// often speaks before the REST answer is read).
    seen: HashMap<String, Instant>,
    /// Client order ids REST showed executing, and since when, not yet heard of.
    expected: HashMap<String, Instant>,
    episode: Option<(DateTime<Utc>, String)>,
    reopen: Backoff<ChaCha8Rng>,
    next_reopen: Option<Instant>,
}

/// What a check found.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Fine,
    /// A new episode, with its reason: re-open now.
    Started(String),
    /// Still silent and more orders went unreported: re-open again.
    Reopen,
}

impl Detector {
    fn new(grace: Duration, seed: u64) -> Detector {
        Detector {
            grace,
            live: false,
            seen: HashMap::new(),
            expected: HashMap::new(),
            episode: None,
            reopen: Backoff::new(REOPEN_BACKOFF, ChaCha8Rng::seed_from_u64(seed)),
            next_reopen: None,
        }
    }

    /// Track the phase; true if `ev` came from the live stream. A live event about an
    /// order satisfies what was expected of it; any live event ends an episode
    /// (`ended` is set).
    fn observe(&mut self, ev: &AccountEvent, now: Instant, ended: &mut bool) -> bool {
        let coid = match ev {
            AccountEvent::Resynced => {
                self.live = true;
                return false;
            }
            AccountEvent::Disconnected { .. } => {
                self.live = false;
                self.expected.clear();
                return false;
            }
            AccountEvent::Fill(f) => f.client_order_id.as_ref().map(|c| c.as_str()),
            AccountEvent::Order(o) => Some(o.client_order_id.as_str()),
            _ => None,
        };
        if !self.live {
            return false;
        }
        if let Some(coid) = coid {
            self.seen.insert(coid.to_string(), now);
            self.expected.remove(coid);
        }
        *ended = self.episode.take().is_some();
        true
    }

    /// REST shows `coid` executing: the live stream owes an event about it.
    fn executed(&mut self, coid: &str, now: Instant) {
        if self.live && !self.seen.contains_key(coid) {
            self.expected.entry(coid.to_string()).or_insert(now);
        }
    }

    fn check(&mut self, now: Instant) -> Verdict {
        let keep_seen = (self.grace * 10).max(Duration::from_secs(60));
        self.seen
            .retain(|_, at| now.duration_since(*at) < keep_seen);
        let overdue: Vec<String> = self
            .expected
            .iter()
            .filter(|(_, since)| now.duration_since(**since) >= self.grace)
            .map(|(c, _)| c.clone())
            .collect();
        let Some(example) = overdue.iter().min().cloned() else {
            return Verdict::Fine;
        };
        for c in &overdue {
            self.expected.remove(c);
        }
        if self.episode.is_some() {
            if self.next_reopen.is_some_and(|at| now < at) {
                return Verdict::Fine;
            }
            self.next_reopen = Some(self.reopen.next_at(now, None));
            return Verdict::Reopen;
        }
        let reason = format!(
            "user stream connected but silent: no event for {} order(s) REST showed executing within {:?} (e.g. {example}); fills reach the ledger over REST",
            overdue.len(),
            self.grace
        );
        self.episode = Some((Utc::now(), reason.clone()));
        self.reopen.reset();
        self.next_reopen = Some(self.reopen.next_at(now, None));
        Verdict::Started(reason)
    }
}

/// The detector shared by the stream consumer (events, checks) and the executor (what
/// REST showed), with its effects: the log, the metrics and the published health.
#[derive(Debug)]
pub(crate) struct StreamWatch {
    state: Mutex<Detector>,
    health: watch::Sender<StreamHealth>,
}

impl StreamWatch {
    pub(crate) fn new(grace: Duration, seed: u64) -> StreamWatch {
        // Present from the start, so an alert on the gauge has a series.
        crate::metrics::count_user_stream_silent(false);
        let (health, _) = watch::channel(StreamHealth::Delivering);
        StreamWatch {
            state: Mutex::new(Detector::new(grace, seed)),
            health,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Detector> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<StreamHealth> {
        self.health.subscribe()
    }

    /// How often [`Self::check`] should run.
    pub(crate) fn check_every(&self) -> Duration {
        (self.lock().grace / 4).clamp(Duration::from_millis(50), Duration::from_secs(1))
    }

    pub(crate) fn is_silent(&self) -> bool {
        self.lock().episode.is_some()
    }

    /// Feed one account event; true if it came from the live stream.
    pub(crate) fn observe(&self, ev: &AccountEvent) -> bool {
        let mut ended = false;
        let live = self.lock().observe(ev, Instant::now(), &mut ended);
        if ended {
            tracing::warn!("user stream delivers events again; silence episode over");
            crate::metrics::count_user_stream_silent(false);
            self.health.send_replace(StreamHealth::Delivering);
        }
        live
    }

    /// REST shows sluice's order `coid` executing (filled in part or whole).
    pub(crate) fn executed(&self, coid: &str) {
        self.lock().executed(coid, Instant::now());
    }

    /// Judge the evidence; true when the stream should be re-opened now.
    pub(crate) fn check(&self) -> bool {
        match self.lock().check(Instant::now()) {
            Verdict::Fine => false,
            Verdict::Started(reason) => {
                tracing::error!(%reason, "user stream silent: positions are now read over REST after fills; re-opening the stream with backoff");
                crate::metrics::count_user_stream_silent(true);
                self.health.send_replace(StreamHealth::Silent {
                    since: Utc::now(),
                    reason,
                });
                true
            }
            Verdict::Reopen => {
                tracing::warn!("user stream still silent: re-opening it again");
                true
            }
        }
    }
}

#[cfg(test)]
#[path = "stream_watch_tests.rs"]
mod tests;
