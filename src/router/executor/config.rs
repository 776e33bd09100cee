//! The executor's knobs, with defaults a trader can run with.
//!
//! Every duration is a `std::time::Duration`; the learned-cap retry is in milliseconds
//! because `CapBook` works in epoch milliseconds (caps are persisted).

use std::time::Duration;

use rust_decimal::Decimal;

use crate::router::core::backoff::{BackoffConfig, Jitter};
use crate::router::core::breaker::BreakerConfig;
use crate::router::core::escalation::EscalationPolicy;
use crate::router::core::plan::ChunkCap;

/// How the executor sends: timing, caps, retries and limits (`Default` holds the built-in
/// values).
#[derive(Clone, Debug)]
pub struct ExecutorConfig {
    /// How often the ledger is read for new intents when no notification came: a safety
    /// net only, since every stored intent wakes the executor at once (`ledger::wakeup`).
    pub poll_interval: Duration,
    /// An order the exchange accepted but whose fills have not all arrived on the user
    /// stream after this long is looked up over REST by client order id (backfill).
    pub settle_timeout: Duration,
    /// An order REST shows executing that the connected user stream has not mentioned
    /// this long after means the stream is silent (`[daemon] user_stream_silence_grace_ms`).
    pub stream_silence_grace: Duration,
    /// An operator cap per chunk, on top of the published and learned caps.
    pub chunk_cap: Option<ChunkCap>,
    /// How long a cap learned from -4005 holds before the published cap is tried again.
    pub retry_published_cap_after_ms: i64,
    /// Adopt exchange positions the ledger does not know at start (always logged).
    pub adopt_unknown_positions: bool,
    /// When the circuit breaker stops sends after failures, and how it recovers.
    pub breaker: BreakerConfig,
    /// The delay between attempts after a retryable failure.
    pub backoff: BackoffConfig,
    /// How many attempts of each kind an order gets before the intent fails or falls back.
    pub escalation: EscalationPolicy,
    /// How far inside the PERCENT_PRICE band edge the LIMIT IOC fallback is priced, as a
    /// fraction (0.001 = 0.1%), so a small mark move before matching keeps it valid.
    pub limit_ioc_inset: Decimal,
    /// While a flatten waits for the exchange to confirm flat, re-read it this often.
    pub flatten_recheck: Duration,
    /// Seeds the backoff jitter (a fixed seed makes a test's delays reproducible).
    pub rng_seed: u64,
    /// Spacing of re-authentication attempts in key-loss safe mode.
    pub reauth_backoff: BackoffConfig,
    /// Chunks of one intent out at the exchange at once (sent and not yet settled).
    /// 1 sends them strictly one after another. One intent sends at most this many per
    /// venue round trip: 16 at 50 ms is ~250 orders/s, so a close of a few hundred chunks
    /// is bound by the venue's order budget rather than by waiting for answers.
    pub max_in_flight_per_intent: usize,
    /// Order requests awaiting the exchange's answer at once, over all intents.
    pub max_in_flight: usize,
    /// Opens held as jobs at once; further accepted opens wait in the ledger, oldest
    /// first, and are taken up as held ones end (risk-reducing intents never wait:
    /// `intake`). 64 by default, twice the default `max_in_flight`: more than the venue's
    /// order rate lets out in a second or two is only read, planned and re-queued
    /// meanwhile. LIMIT opens, which may rest for long, do not count.
    pub max_opens_held: usize,
    /// Send five chunks of one intent ready at once as one `batchOrders` request (fewer go
    /// one by one: a batch costs five on the 10 s order counter however few it carries).
    pub batch_orders: bool,
    /// What the start-up gate holds against opens (None: nothing, e.g. in tests).
    pub opens_hold: Option<std::sync::Arc<crate::router::core::hold::OpensHold>>,
    /// A fired protective stop whose position is still open this long after (or one
    /// rejected at its trigger) makes sluice close the position itself.
    pub stop_watchdog: Duration,
    /// The dead-man's switch's countdown (None: off; the daemon's setting turns it on).
    pub dead_man_switch: Option<Duration>,
    /// The account named on this executor's gauges (`sluice_breaker_state{account}`);
    /// None: a single-account daemon's, unlabelled.
    pub account: Option<String>,
    /// The symbol the key-loss probe names (the daemon's first of `exchange.symbols`),
    /// which makes it a cheap request (apiTradingStatus with a symbol: IP weight 1). None,
    /// or a symbol the venue does not list: the first listed symbol by name.
    pub key_probe_symbol: Option<crate::domain::Symbol>,
}

impl Default for ExecutorConfig {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(1),
            settle_timeout: Duration::from_secs(3),
            stream_silence_grace: Duration::from_secs(5),
            chunk_cap: None,
            retry_published_cap_after_ms: 60 * 60 * 1000,
            adopt_unknown_positions: true,
            breaker: BreakerConfig {
                window: Duration::from_secs(60),
                threshold_pct: 30,
                min_samples: 10,
                cool_down: Duration::from_secs(30),
            },
            backoff: BackoffConfig {
                base: Duration::from_millis(200),
                max: Duration::from_secs(10),
                jitter: Jitter::Decorrelated,
            },
            escalation: EscalationPolicy {
                max_open_attempts: 3,
                max_clock_resyncs: 3,
                max_rule_reloads: 2,
                limit_ioc_fallback: false,
                fallback_after: 5,
            },
            limit_ioc_inset: Decimal::new(1, 3),
            flatten_recheck: Duration::from_millis(500),
            rng_seed: 0x51_u64,
            reauth_backoff: super::keyloss::REAUTH_BACKOFF,
            max_in_flight_per_intent: 16,
            max_in_flight: 32,
            max_opens_held: 64,
            batch_orders: true,
            opens_hold: None,
            stop_watchdog: Duration::from_secs(5),
            dead_man_switch: None,
            account: None,
            key_probe_symbol: None,
        }
    }
}
