//! Prometheus metrics: the series every part of sluice records into, and the recorder
//! that `GET /metrics` renders.
//!
//! Parts record through the `metrics` facade with the names below (use the helper
//! functions so labels stay consistent). The recorder is process-global and installed
//! once ([`install`]); before it is installed, recording is a no-op, never an error.
//! Labels carry only bounded values (outcomes, error codes, endpoint names), never ids.

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::domain::IntentKind;
use crate::exchange::audit::AttemptRecord;

/// Counter. Order placements sent to the exchange, by the answer's `outcome`
/// (`accepted`, `rejected`, `unknown`: [`crate::exchange::audit::AttemptOutcome`]) and Binance error `code`
/// (`0` when none). Recorded once per REST attempt, where the adapter makes its
/// `AttemptRecord` (the same facts `order_attempts` and `sluice report` hold).
pub(crate) const ORDERS_TOTAL: &str = "sluice_orders_total";
/// Histogram, seconds. REST round trip of order requests (place, cancel, query), by
/// `endpoint` (the path, e.g. `/fapi/v1/order`) and `method`.
pub(crate) const ORDER_LATENCY_SECONDS: &str = "sluice_order_latency_seconds";
/// Histogram, seconds. From intent accepted to intent done/failed, by `kind`.
pub(crate) const INTENT_DURATION_SECONDS: &str = "sluice_intent_duration_seconds";
/// Gauge. Rate-limit use as last reported by the exchange headers, by `limit`
/// (`weight_1m`, `orders_10s`, `orders_1m`).
pub(crate) const RATE_LIMIT_USED: &str = "sluice_rate_limit_used";
/// Counter. User-data and market stream reconnects, by `stream`.
pub(crate) const STREAM_RECONNECTS_TOTAL: &str = "sluice_stream_reconnects_total";
/// Backoffs of risk-reducing work cut short because a probe found the venue answering.
pub(crate) const BACKOFF_SHORTCUTS_TOTAL: &str = "sluice_backoff_shortcuts_total";
/// Gauge. Circuit-breaker state by `scope`: 0 closed, 1 half-open, 2 open.
pub(crate) const BREAKER_STATE: &str = "sluice_breaker_state";
/// Counter. Intents submitted to the control API, by `kind` and `outcome`
/// (`accepted`, `replayed`, `refused_budget`, `refused_halt`, `refused_opposite`, `invalid`).
pub(crate) const INTENTS_TOTAL: &str = "sluice_intents_total";
/// Counter. Intents that reached a final state, by `kind` and `state`
/// (`done`, `failed`, `cancelled`).
pub(crate) const INTENTS_FINISHED_TOTAL: &str = "sluice_intents_finished_total";
/// Gauge. 1 while the kill switch is set, else 0.
pub const HALTED: &str = "sluice_halted";
/// 1 while the exchange refuses the API key and nothing is sent (key-loss safe mode).
pub(crate) const KEY_LOSS: &str = "sluice_key_loss";
/// Counter. Episodes of a connected user stream that stayed silent while REST showed
/// sluice's own orders executing (each episode counted once, when detected).
pub(crate) const USER_STREAM_SILENT_TOTAL: &str = "sluice_user_stream_silent_total";
/// Gauge. 1 while the user stream is judged silent (fills then reach the ledger over
/// REST), else 0.
pub(crate) const USER_STREAM_SILENT: &str = "sluice_user_stream_silent";
/// Gauge. 1 while the user stream is connected, 0 while it reconnects.
pub(crate) const USER_STREAM_CONNECTED: &str = "sluice_user_stream_connected";
/// Gauge. 1 while the account may trade (its `/readyz` says ready), else 0.
pub(crate) const READY: &str = "sluice_ready";
/// Counter. Fills newly applied to the ledger by the executor, by `source` (`stream`:
/// the live user stream; `rest`: order resolution or the resync after a reconnect).
pub(crate) const FILLS_TOTAL: &str = "sluice_fills_total";

/// Latency buckets (seconds): Binance answers in tens of milliseconds, and a slow
/// answer (seconds) is exactly what the histogram must show.
const LATENCY_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
const INTENT_BUCKETS: [f64; 10] = [0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Install the global recorder (once per process; later calls return the same handle)
/// and describe every series.
pub fn install() -> anyhow::Result<PrometheusHandle> {
    if let Some(h) = HANDLE.get() {
        return Ok(h.clone());
    }
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full(ORDER_LATENCY_SECONDS.into()),
            &LATENCY_BUCKETS,
        )?
        .set_buckets_for_metric(
            Matcher::Full(INTENT_DURATION_SECONDS.into()),
            &INTENT_BUCKETS,
        )?
        .build_recorder();
    let handle = recorder.handle();
    // Losing the race to another thread only means its recorder is the global one.
    if metrics::set_global_recorder(recorder).is_err() {
        tracing::debug!("a metrics recorder was already installed");
    }
    let handle = HANDLE.get_or_init(|| handle).clone();
    describe();
    describe_operator();
    Ok(handle)
}

fn describe() {
    describe_counter!(
        ORDERS_TOTAL,
        "Orders by final outcome and exchange error code"
    );
    describe_histogram!(
        ORDER_LATENCY_SECONDS,
        Unit::Seconds,
        "REST round trip of order requests"
    );
    describe_histogram!(
        INTENT_DURATION_SECONDS,
        Unit::Seconds,
        "Intent accepted to final state"
    );
    describe_gauge!(RATE_LIMIT_USED, "Rate-limit use reported by the exchange");
    describe_counter!(STREAM_RECONNECTS_TOTAL, "Stream reconnects");
    describe_counter!(
        BACKOFF_SHORTCUTS_TOTAL,
        "Backoffs of risk-reducing work cut short by a successful probe after an outage"
    );
    describe_gauge!(
        BREAKER_STATE,
        "Circuit breaker: 0 closed, 1 half-open, 2 open"
    );
    describe_counter!(INTENTS_TOTAL, "Intents submitted, by kind and outcome");
    describe_counter!(
        INTENTS_FINISHED_TOTAL,
        "Intents that reached a final state, by kind and state"
    );
    describe_gauge!(HALTED, "1 while the kill switch is set");
    describe_gauge!(
        KEY_LOSS,
        "1 while the exchange refuses the API key (key-loss safe mode: nothing is sent)"
    );
    describe_counter!(
        USER_STREAM_SILENT_TOTAL,
        "User stream silent while REST showed sluice's orders executing (episodes)"
    );
    describe_gauge!(
        USER_STREAM_SILENT,
        "1 while the user stream is judged silent (fills arrive over REST)"
    );
    describe_gauge!(
        USER_STREAM_CONNECTED,
        "1 while the user stream is connected, 0 while it reconnects"
    );
    describe_gauge!(
        READY,
        "1 while the account may trade (its /readyz is ready)"
    );
    describe_counter!(FILLS_TOTAL, "Fills applied to the ledger, by source");
}

/// One REST attempt to the exchange, as the adapter recorded it. Order placements
/// (`POST`) count in [`ORDERS_TOTAL`]; every order-path request feeds the latency histogram.
pub fn record_attempt(a: &AttemptRecord) {
    if !a.is_order {
        return;
    }
    let seconds = Duration::from_millis(u64::try_from(a.latency_ms).unwrap_or(0)).as_secs_f64();
    metrics::histogram!(ORDER_LATENCY_SECONDS, "endpoint" => a.endpoint.clone(), "method" => a.method.clone())
        .record(seconds);
    if a.method == "POST" || a.endpoint == "order.place" {
        let code = a.error_code.unwrap_or(0).to_string();
        metrics::counter!(ORDERS_TOTAL, "outcome" => a.outcome().as_str(), "code" => code)
            .increment(1);
    }
}

/// Rate-limit use the exchange reported in a response's headers (absent headers leave
/// the gauge as it was).
pub(crate) fn observe_rate_limits(
    weight_1m: Option<u32>,
    orders_10s: Option<u32>,
    orders_1m: Option<u32>,
) {
    for (limit, used) in [
        ("weight_1m", weight_1m),
        ("orders_10s", orders_10s),
        ("orders_1m", orders_1m),
    ] {
        if let Some(used) = used {
            metrics::gauge!(RATE_LIMIT_USED, "limit" => limit).set(f64::from(used));
        }
    }
}

/// A stream (re)connected.
pub(crate) fn record_stream_reconnect(stream: &'static str) {
    metrics::counter!(STREAM_RECONNECTS_TOTAL, "stream" => stream).increment(1);
}

/// A probe found the venue answering again and cut a close's backoff short.
pub(crate) fn record_backoff_shortcut() {
    metrics::counter!(BACKOFF_SHORTCUTS_TOTAL).increment(1);
}

/// The breaker of `scope` changed state (0 closed, 1 half-open, 2 open).
pub fn set_breaker_state(scope: &'static str, state: u8) {
    set_account_breaker_state(None, scope, state);
}

/// As [`set_breaker_state`], for the breaker of `account` (None: the unnamed account of a
/// single-account daemon, whose series carry no `account` label).
pub(crate) fn set_account_breaker_state(account: Option<&str>, scope: &'static str, state: u8) {
    match account {
        Some(a) => metrics::gauge!(BREAKER_STATE, "scope" => scope, "account" => a.to_string())
            .set(f64::from(state)),
        None => metrics::gauge!(BREAKER_STATE, "scope" => scope).set(f64::from(state)),
    }
}

/// A gauge of one account: labelled `account` when the daemon names its accounts
/// (`exchange.account`, `daemon.accounts`), unlabelled for the unnamed default account of
/// a single-account daemon (the series of today).
fn account_gauge(name: &'static str, account: Option<&str>, value: bool) {
    let value = if value { 1.0 } else { 0.0 };
    match account {
        Some(a) => metrics::gauge!(name, "account" => a.to_string()).set(value),
        None => metrics::gauge!(name).set(value),
    }
}

/// An intent reached its final `outcome` (`done`, `done_partial`, `failed`,
/// `cancelled`): count it and record how long it took from acceptance.
pub(crate) fn record_intent_finished(kind: IntentKind, outcome: &'static str, took: Duration) {
    let kind = kind.as_str();
    metrics::counter!(INTENTS_FINISHED_TOTAL, "kind" => kind, "state" => outcome).increment(1);
    metrics::histogram!(INTENT_DURATION_SECONDS, "kind" => kind).record(took.as_secs_f64());
}

/// An intent submission was answered.
pub(crate) fn record_intent(kind: &'static str, outcome: &'static str) {
    metrics::counter!(INTENTS_TOTAL, "kind" => kind, "outcome" => outcome).increment(1);
}

/// The kill switch of `account` is set or cleared.
pub(crate) fn set_halted(account: Option<&str>, halted: bool) {
    account_gauge(HALTED, account, halted);
}

/// 1 while the executor of `account` is in key-loss safe mode (the exchange refuses its
/// API key).
pub(crate) fn set_key_loss(account: Option<&str>, active: bool) {
    account_gauge(KEY_LOSS, account, active);
}

/// A silent user stream was detected (counted once per episode, when `silent`).
pub(crate) fn count_user_stream_silent(silent: bool) {
    if silent {
        metrics::counter!(USER_STREAM_SILENT_TOTAL).increment(1);
    }
}

/// The user stream of `account` is judged silent (`true`) or delivers (`false`).
pub(crate) fn set_user_stream_silent(account: Option<&str>, silent: bool) {
    account_gauge(USER_STREAM_SILENT, account, silent);
}

/// The user stream of `account` is connected (`true`) or reconnecting (`false`).
pub(crate) fn set_user_stream_connected(account: Option<&str>, connected: bool) {
    account_gauge(USER_STREAM_CONNECTED, account, connected);
}

/// `account` may trade now (what its `/readyz` says: lock held, key usable, started).
pub(crate) fn set_ready(account: Option<&str>, ready: bool) {
    account_gauge(READY, account, ready);
}

/// A fill was newly applied to the ledger; `source` is `stream` or `rest`.
pub(crate) fn record_fill(source: &'static str) {
    metrics::counter!(FILLS_TOTAL, "source" => source).increment(1);
}

/// Gauge. Differences the daemon's last successful reconcile left, by `kind`
/// (`position_unknown_to_ledger`, `size_mismatch`, ...; 0 once a kind is gone).
pub(crate) const RECONCILE_DIFFERENCES: &str = "sluice_reconcile_differences";
/// Counter. The daemon's reconcile runs, by `outcome` (`clean`, `differences`, `failed`).
pub(crate) const RECONCILE_RUNS_TOTAL: &str = "sluice_reconcile_runs_total";
/// Gauge. 1 while this daemon holds the leader lock and trades (of at least one of its
/// accounts), 0 while it waits.
pub(crate) const LEADER: &str = "sluice_leader";
/// Gauge. 1 while this daemon leads `account` (only for a named account: `exchange.account`
/// or `daemon.accounts`), 0 while it stands by on it.
pub(crate) const ACCOUNT_LEADER: &str = "sluice_account_leader";

fn describe_operator() {
    describe_gauge!(
        RECONCILE_DIFFERENCES,
        "Ledger vs exchange differences left by the last reconcile, by kind"
    );
    describe_counter!(RECONCILE_RUNS_TOTAL, "Reconcile runs by outcome");
    describe_gauge!(LEADER, "1 while this daemon holds the leader lock");
    describe_gauge!(ACCOUNT_LEADER, "1 while this daemon leads the account");
}

/// The last reconcile left `count` differences of `kind`.
pub(crate) fn set_reconcile_differences(kind: &'static str, count: usize) {
    metrics::gauge!(RECONCILE_DIFFERENCES, "kind" => kind).set(count as f64);
}

/// A reconcile run ended (`clean`, `differences`, `failed`).
pub(crate) fn record_reconcile_run(outcome: &'static str) {
    metrics::counter!(RECONCILE_RUNS_TOTAL, "outcome" => outcome).increment(1);
}

/// This daemon took (true) or does not hold (false) the leader lock of `account` (None:
/// the default account of a single-account daemon). `sluice_leader` is 1 while it leads
/// any of its accounts.
pub(crate) fn set_leader(account: Option<&str>, leader: bool) {
    static LED: std::sync::Mutex<std::collections::BTreeSet<String>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    let key = account.unwrap_or_default().to_string();
    let any = {
        let mut led = LED.lock().unwrap_or_else(|p| p.into_inner());
        if leader {
            led.insert(key);
        } else {
            led.remove(&key);
        }
        !led.is_empty()
    };
    metrics::gauge!(LEADER).set(if any { 1.0 } else { 0.0 });
    if let Some(name) = account {
        let value = if leader { 1.0 } else { 0.0 };
        metrics::gauge!(ACCOUNT_LEADER, "account" => name.to_string()).set(value);
    }
}

/// Counter. Intents failed because the exchange gave the same deterministic rejection
/// again after re-planning (a loop cut short, `router::rejections`), by Binance `code`.
pub(crate) const INTENT_DETERMINISTIC_REJECTION_TOTAL: &str =
    "sluice_intent_deterministic_rejection_total";

/// An intent was failed on a repeated deterministic rejection with `code`.
pub(crate) fn record_deterministic_rejection(code: i64) {
    // Described here (idempotent) so the series carries its help text from its first use.
    describe_counter!(
        INTENT_DETERMINISTIC_REJECTION_TOTAL,
        "Intents failed on a rejection re-planning could not fix, by exchange code"
    );
    metrics::counter!(INTENT_DETERMINISTIC_REJECTION_TOTAL, "code" => code.to_string())
        .increment(1);
}
