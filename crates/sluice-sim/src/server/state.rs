//! The simulator's shared state. The venue sits behind one std `Mutex`, held only for the
//! length of one synchronous venue call and never across an `.await`. Events leave through
//! `broadcast` channels that the WebSocket tasks subscribe to.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rand::Rng;
use tokio::time::Instant;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tokio::sync::broadcast;

use crate::clock::SimClock;
use crate::faults::FaultWindow;
use crate::ratelimit::RateLimiter;
use crate::scenario::Scenario;
use crate::server::listen_keys::ListenKeys;
use crate::server::stats::Stats;
use crate::venue::{AccountId, Venue};

/// One rendered user-data event for one account.
#[derive(Debug, Clone)]
pub(crate) struct UserMsg {
    pub account: AccountId,
    /// The event type (`e`), for the `events=` filter of the query-string form.
    pub kind: &'static str,
    pub json: Arc<str>,
}

/// One rendered market-stream message, by lower-case stream name.
#[derive(Debug, Clone)]
pub(crate) struct MarketMsg {
    pub stream: Arc<str>,
    pub json: Arc<str>,
}

/// Orders to the WebSocket tasks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Control {
    /// Close every socket (fault).
    DisconnectAll,
    /// Close every WebSocket API socket (fault `refuse_ws_api`).
    DropWsApi,
    /// These listenKeys stopped existing.
    KeysInvalidated(Vec<String>),
    /// The simulator is shutting down.
    Shutdown,
}

/// A fault window plus whether its one-shot actions already ran.
#[derive(Debug, Clone)]
pub(crate) struct ActiveWindow {
    pub window: FaultWindow,
    pub fired: bool,
}

#[derive(Debug)]
pub(crate) struct FaultState {
    pub windows: Vec<ActiveWindow>,
    pub rng: ChaCha8Rng,
}

pub(crate) struct SimState {
    pub venue: Mutex<Venue>,
    pub clock: SimClock,
    pub limiter: Mutex<RateLimiter>,
    pub faults: Mutex<FaultState>,
    pub stats: Mutex<Stats>,
    pub listen_keys: Mutex<ListenKeys>,
    pub key_rng: Mutex<ChaCha8Rng>,
    pub user_tx: broadcast::Sender<UserMsg>,
    pub market_tx: broadcast::Sender<MarketMsg>,
    pub control_tx: broadcast::Sender<Control>,
    pub tick_ms: u64,
    /// `[venue] order_response_legacy_fields`: POST/DELETE order answers carry
    /// `avgPrice`/`cumQuote` as before 2026-07-15.
    pub order_response_legacy_fields: bool,
    /// User events held back by a `user_event_delay_ms` fault, oldest first.
    pub delayed: Mutex<VecDeque<(Instant, UserMsg)>>,
}

impl std::fmt::Debug for SimState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimState")
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

/// Locks a mutex, recovering the data if another thread panicked while holding it: every
/// critical section leaves the state consistent before it can panic, and a simulator that
/// stops answering helps nobody.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl SimState {
    pub(crate) fn new(scenario: Scenario) -> Arc<SimState> {
        let clock = SimClock::new(scenario.time_scale);
        let venue = Venue::new(
            scenario.seed,
            scenario.symbols,
            scenario.accounts,
            clock.wall_ms(),
        );
        let windows = scenario
            .faults
            .into_iter()
            .map(|window| ActiveWindow {
                window,
                fired: false,
            })
            .collect();
        let (user_tx, _) = broadcast::channel(65_536);
        let (market_tx, _) = broadcast::channel(4_096);
        let (control_tx, _) = broadcast::channel(64);
        Arc::new(SimState {
            venue: Mutex::new(venue),
            clock,
            limiter: Mutex::new(RateLimiter::new(scenario.rate_limits).aligned_to(clock.wall_ms())),
            faults: Mutex::new(FaultState {
                windows,
                rng: ChaCha8Rng::seed_from_u64(scenario.seed ^ 0xfa17),
            }),
            stats: Mutex::new(Stats::default()),
            listen_keys: Mutex::new(ListenKeys::default()),
            key_rng: Mutex::new(ChaCha8Rng::seed_from_u64(scenario.seed ^ 0x1157)),
            user_tx,
            market_tx,
            control_tx,
            tick_ms: scenario.tick_ms,
            order_response_legacy_fields: scenario.venue.order_response_legacy_fields,
            delayed: Mutex::new(VecDeque::new()),
        })
    }

    /// The shape of a POST/DELETE order answer under this scenario.
    pub(crate) fn placed_shape(&self) -> crate::server::render::OrderShape {
        crate::server::render::OrderShape::Placed {
            legacy_fields: self.order_response_legacy_fields,
        }
    }

    pub(crate) fn venue(&self) -> MutexGuard<'_, Venue> {
        lock(&self.venue)
    }

    /// The first active fault window matching `method path` (and the request's `symbol`).
    pub(crate) fn active_fault(
        &self,
        method: &str,
        path: &str,
        symbol: Option<&str>,
    ) -> Option<FaultWindow> {
        let now = self.clock.scenario_secs();
        lock(&self.faults)
            .windows
            .iter()
            .find(|w| w.window.is_active(now) && w.window.matches(method, path, symbol))
            .map(|w| w.window.clone())
    }

    /// Whether an open fault window refuses WebSocket API connections.
    pub(crate) fn ws_api_refused(&self) -> bool {
        let now = self.clock.scenario_secs();
        lock(&self.faults)
            .windows
            .iter()
            .any(|w| w.window.refuse_ws_api && w.window.is_active(now))
    }

    /// The stuck-TRIGGERING fault as the venue takes it: the symbols of every open window
    /// with `algo_stuck_triggering` (empty = every symbol), None when no such window is open.
    pub(crate) fn algo_stall(&self) -> Option<Vec<String>> {
        let now = self.clock.scenario_secs();
        let faults = lock(&self.faults);
        let mut open = faults
            .windows
            .iter()
            .filter(|w| w.window.algo_stuck_triggering && w.window.is_active(now))
            .peekable();
        open.peek()?;
        let mut symbols = Vec::new();
        for w in open {
            if w.window.symbols.is_empty() {
                return Some(Vec::new());
            }
            symbols.extend(w.window.symbols.iter().cloned());
        }
        Some(symbols)
    }

    /// The first active window (any endpoint), for stream faults.
    pub(crate) fn active_stream_fault(&self) -> Option<FaultWindow> {
        let now = self.clock.scenario_secs();
        lock(&self.faults)
            .windows
            .iter()
            .find(|w| w.window.is_active(now))
            .map(|w| w.window.clone())
    }

    /// Runs the one-shot actions of every window that has opened and not yet fired:
    /// invalidate listenKeys, disconnect sockets, revoke API keys. Called by the pump each
    /// tick and by `POST /sim/faults` so a window opening "now" acts before the reply.
    pub(crate) fn fire_opening_windows(&self) {
        let now = self.clock.scenario_secs();
        let opening: Vec<FaultWindow> = {
            let mut faults = lock(&self.faults);
            faults
                .windows
                .iter_mut()
                .filter(|w| !w.fired && w.window.is_active(now))
                .map(|w| {
                    w.fired = true;
                    w.window.clone()
                })
                .collect()
        };
        for w in opening {
            if w.invalidate_listen_keys {
                let keys = lock(&self.listen_keys).invalidate_all();
                // No receivers just means no socket is open.
                let _ = self.control_tx.send(Control::KeysInvalidated(keys));
            }
            if w.disconnect_sockets {
                let _ = self.control_tx.send(Control::DisconnectAll);
            }
            if w.refuse_ws_api {
                let _ = self.control_tx.send(Control::DropWsApi);
            }
            for key in &w.revoke_keys {
                self.venue().revoke_key(key);
            }
        }
    }

    /// Publishes the venue's queued user events, honouring an active drop/delay fault.
    /// Called right after every state-changing request (so events leave before the REST
    /// answer, as Binance's often do) and on every pump tick (releasing delayed events).
    pub(crate) fn flush_user_events(&self) {
        let drained = self.venue().drain_events();
        if self.user_tx.receiver_count() == 0 && lock(&self.delayed).is_empty() {
            // Nobody listens: Binance does not replay missed events either, so skip the
            // rendering, which would only cost the order path.
            return;
        }
        let fault = self.active_stream_fault();
        let now = Instant::now();
        let mut delayed = lock(&self.delayed);
        for (account, ev) in drained {
            let msg = UserMsg {
                account,
                kind: crate::ws::events::kind(&ev),
                json: crate::ws::events::user_event(&ev).into(),
            };
            let (drop_rate, hold_ms) = fault
                .as_ref()
                .map_or((0.0, 0), |f| (f.user_event_drop, f.user_event_delay_ms));
            if drop_rate > 0.0 && lock(&self.faults).rng.gen::<f64>() < drop_rate {
                continue;
            }
            if hold_ms > 0 || !delayed.is_empty() {
                // Queue behind held-back events so one account's stream keeps its order.
                delayed.push_back((now + Duration::from_millis(hold_ms), msg));
                continue;
            }
            // No receivers just means no socket is open.
            let _ = self.user_tx.send(msg);
        }
        while delayed.front().is_some_and(|(due, _)| *due <= now) {
            if let Some((_, msg)) = delayed.pop_front() {
                let _ = self.user_tx.send(msg);
            }
        }
    }
}
