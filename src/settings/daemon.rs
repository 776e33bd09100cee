//! `[daemon]`: how the daemon adopts, falls back, reconciles, keeps its lead and judges
//! the user stream; and `[budget]`, the capital it may commit.
//!
//! Invariants: every period and deadline is a positive duration (a zero would spin or
//! never wait) except where 0 is documented to mean "off" or "systemd's value";
//! `limit_ioc_fallback_after` is at least 1.

use std::num::NonZeroU32;
use std::time::Duration;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::de;

/// `[daemon]`: how the daemon runs (adoption at start, the systemd watchdog, the LIMIT IOC
/// fallback).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DaemonSettings {
    /// Adopt exchange positions the ledger does not know at start (logged, one adjustment row).
    pub(crate) adopt_unknown_positions: bool,
    /// Watchdog pet interval when systemd asks for one (`watchdog_interval_ms`); None
    /// (0) = half of WATCHDOG_USEC.
    #[serde(rename = "watchdog_interval_ms", with = "de::millis_or_none")]
    pub(crate) watchdog_interval: Option<Duration>,
    /// Send reduce-only LIMIT IOC at the PERCENT_PRICE band edge when MARKET closes keep
    /// failing (see `router::executor::fallback_send` for the exact trigger). Off by default.
    #[serde(default)]
    pub limit_ioc_fallback: bool,
    /// Failures in a row of one MARKET close chunk (5xx, -1008, -2010...) before the
    /// fallback is used.
    #[serde(default = "default_limit_ioc_fallback_after")]
    pub(crate) limit_ioc_fallback_after: NonZeroU32,
    /// Period of the daemon's reconcile runs (one also runs at start), from
    /// `reconcile_interval_s`; None (0) = off.
    #[serde(
        rename = "reconcile_interval_s",
        with = "de::secs_or_off",
        default = "default_reconcile_interval"
    )]
    pub(crate) reconcile_interval: Option<Duration>,
    /// Apply the ledger-only repairs of `reconcile --fix --confirm` at start (never trades;
    /// periodic runs stay dry runs while the executor works).
    #[serde(default)]
    pub(crate) reconcile_fix: bool,
    /// How often the active daemon re-proves it holds the leader lock, and how often a
    /// standby tries to take it (`leader_check_ms`).
    #[serde(
        rename = "leader_check_ms",
        with = "de::positive_millis",
        default = "default_leader_check"
    )]
    pub(crate) leader_check: Duration,
    /// A lock check that takes longer than this counts as a lost lock
    /// (`leader_check_timeout_ms`).
    #[serde(
        rename = "leader_check_timeout_ms",
        with = "de::positive_millis",
        default = "default_leader_check_timeout"
    )]
    pub(crate) leader_check_timeout: Duration,
    /// An order REST shows executing that the connected user stream has not mentioned
    /// this long after marks the stream silent (ERROR, metric, `/readyz` degraded)
    /// (`user_stream_silence_grace_ms`).
    #[serde(
        rename = "user_stream_silence_grace_ms",
        with = "de::positive_millis",
        default = "default_user_stream_silence_grace"
    )]
    pub(crate) user_stream_silence_grace: Duration,
    /// A protective stop that fired (TRIGGERING/TRIGGERED) while its position is still
    /// open this long after, or one the venue REJECTED at its trigger, makes sluice close
    /// the position itself (`stop_watchdog_ms`).
    #[serde(
        rename = "stop_watchdog_ms",
        with = "de::positive_millis",
        default = "default_stop_watchdog"
    )]
    pub(crate) stop_watchdog: Duration,
    /// The dead-man's switch (`dead_man_switch_ms`): every symbol with resting orders
    /// gets `POST /fapi/v1/countdownCancelAll` with this countdown, renewed at a quarter
    /// of it, so the venue cancels them if sluice goes silent; 0 = off.
    #[serde(
        rename = "dead_man_switch_ms",
        with = "de::millis_or_none",
        default = "default_dead_man_switch"
    )]
    pub(crate) dead_man_switch: Option<Duration>,
    /// The accounts this daemon may serve, in order of preference (`daemon.accounts`, a
    /// TOML list or `main,b,c` in the environment); the first is the API's default. Empty
    /// (the default): the one account `exchange.account` names, as before.
    #[serde(default, deserialize_with = "de::string_list")]
    pub(crate) accounts: Vec<String>,
    /// How many of `accounts` this daemon leads at most at once (`daemon.max_accounts`);
    /// unset: all of them.
    #[serde(default)]
    pub(crate) max_accounts: Option<std::num::NonZeroUsize>,
}

fn default_dead_man_switch() -> Option<Duration> {
    Some(Duration::from_millis(60_000))
}

fn default_stop_watchdog() -> Duration {
    Duration::from_millis(5000)
}

fn default_user_stream_silence_grace() -> Duration {
    Duration::from_millis(5000)
}

fn default_limit_ioc_fallback_after() -> NonZeroU32 {
    NonZeroU32::MIN.saturating_add(4)
}

fn default_reconcile_interval() -> Option<Duration> {
    Some(Duration::from_secs(60))
}

fn default_leader_check() -> Duration {
    Duration::from_millis(1000)
}

fn default_leader_check_timeout() -> Duration {
    Duration::from_millis(3000)
}

/// `[budget]`: the capital opens may commit.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetSettings {
    /// Capital sluice may commit to open positions (USDT, not negative).
    #[serde(deserialize_with = "de::decimal")]
    pub allocation_usdt: Decimal,
}

impl BudgetSettings {
    pub(super) fn validate(&self) -> anyhow::Result<()> {
        if self.allocation_usdt < Decimal::ZERO {
            anyhow::bail!(
                "budget.allocation_usdt: must not be negative, got {}",
                self.allocation_usdt
            );
        }
        Ok(())
    }
}
