//! Fault injection: time windows (in scenario seconds) during which requests fail the way
//! Binance failed on bad days. Each request matching a window's endpoints draws once from
//! the scenario's seeded RNG; the outcome is either a refusal before anything executes, or
//! an error returned AFTER the order really executed ("may have executed" 503 / -1007).
//! A window may also restrict the account to reduce-only (`restrict_to_reduce_only`): then
//! every matching order that does not reduce exposure is refused with that code, every
//! reduce-only order goes through, as Binance does under -4087/-4400/-4401 (account) or
//! -4140 (opening blocked on the symbol).
//! Pure: the caller passes the RNG, the scenario time and what the request is.

use rand::Rng;
use serde::Deserialize;

use crate::error::ApiError;

mod errors;
pub(crate) use errors::*;

/// The endpoints a window applies to when it names none: order placement.
pub(crate) const ORDER_ENDPOINTS: [&str; 3] = [
    "POST /fapi/v1/order",
    "POST /fapi/v1/batchOrders",
    "POST /fapi/v1/order/test",
];

/// One fault window, as written in the scenario's `[[faults]]` or POSTed to `/sim/faults`.
/// Rates are probabilities in [0, 1] per matching request, drawn in the order listed.
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct FaultWindow {
    /// Scenario second the window opens (inclusive).
    pub from: f64,
    /// Scenario second the window closes (exclusive); absent = never.
    pub until: Option<f64>,
    /// A named profile whose rates fill in every rate left at zero ("2025-10-11").
    pub profile: Option<String>,
    /// "METHOD /path" or "/path" entries; empty = [`ORDER_ENDPOINTS`].
    pub endpoints: Vec<String>,
    /// Order `type`s the window applies to (`MARKET`, `LIMIT`...); empty = every request.
    /// `["MARKET"]` models a venue whose market-order path fails while limits still work.
    pub order_types: Vec<String>,
    /// Only requests whose `symbol` parameter is one of these; empty = any request.
    pub symbols: Vec<String>,
    /// Not a rate: every matching order that does not reduce exposure is refused with this
    /// code (-4087, -4400, -4401: account restricted to reduce-only; -4140: opening blocked),
    /// reduce-only orders are accepted. A `batchOrders` request with any opening element is
    /// refused whole.
    pub restrict_to_reduce_only: Option<i64>,
    /// HTTP 503 "Unknown error…": execution unknown.
    pub unknown_503: f64,
    /// Share of `unknown_503` (and `timeout_1007`) hits where the order really executed.
    pub executed_share: f64,
    /// HTTP 503 "Service Unavailable.": certainly not executed.
    pub unavailable_503: f64,
    /// HTTP 503 `-1008` throttling.
    pub overload_1008: f64,
    /// When true, `-1008` also hits reduce-only orders (the exemption is broken).
    pub overload_hits_reduce_only: bool,
    /// HTTP 503 `-1001`.
    pub internal_1001: f64,
    /// HTTP 408 `-1007`: execution unknown.
    pub timeout_1007: f64,
    /// HTTP 400 `-5028`: the matching engine's recvWindow check (certainly not executed).
    pub recv_window_5028: f64,
    /// HTTP 429 `-1003` with `Retry-After` = whole seconds until the window closes (60 s
    /// when it never does).
    pub throttle_429: f64,
    /// `-2010 NEW_ORDER_REJECTED` on any order.
    pub reject_2010: f64,
    /// HTTP 400 `-1111` "Precision is over the maximum defined for this asset." on any
    /// order: a venue enforcing a precision tighter than it publishes. With `symbols` and
    /// 1.0, every order of those symbols is refused, however it is re-planned.
    pub precision_1111: f64,
    /// `-2022` on reduce-only orders.
    pub reduce_only_2022: f64,
    /// `-4118` on reduce-only orders.
    pub reduce_only_4118: f64,
    /// Added latency on matching requests, real milliseconds.
    pub latency_ms: u64,
    /// User-stream events are held back this many real milliseconds.
    pub user_event_delay_ms: u64,
    /// Probability a user-stream event is dropped.
    pub user_event_drop: f64,
    /// Close every WebSocket when the window opens.
    pub disconnect_sockets: bool,
    /// Probability a WebSocket API order request (`order.place`/`.cancel`) closes its
    /// socket instead of being answered, with the requests still in flight on it unanswered;
    /// the request itself ran first with probability `executed_share`.
    pub drop_ws_api: f64,
    /// While the window is open the WebSocket API refuses connections (HTTP 503); when it
    /// opens, the WebSocket API sockets already open are closed.
    pub refuse_ws_api: bool,
    /// Invalidate every listenKey when the window opens (`-1125` afterwards).
    pub invalidate_listen_keys: bool,
    /// API keys revoked when the window opens (`-2015` from then on).
    pub revoke_keys: Vec<String>,
    /// Not a rate: while the window is open, algo orders whose trigger is reached (on
    /// `symbols`, or any) go TRIGGERING and stay there without producing an order — a
    /// stop that fired and never closed anything. They proceed once the window closes.
    pub algo_stuck_triggering: bool,
}

/// What a fault does to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FaultOutcome {
    /// Refuse with this error; nothing executes.
    Refuse(ApiError),
    /// Refuse with 429 and a `Retry-After` header: the limit lifts at this scenario
    /// millisecond (`None`: a minute from now).
    Throttle(ApiError, Option<i64>),
    /// Execute the request, then answer with this error anyway.
    ExecuteThenFail(ApiError),
}

/// The named profiles.
pub(crate) const PROFILE_2025_10_11: &str = "2025-10-11";

impl FaultWindow {
    /// Fills the profile's rates in. Unknown profile names are an error naming the key.
    pub(crate) fn resolved(mut self) -> Result<FaultWindow, String> {
        match self.profile.as_deref() {
            None => {}
            Some(PROFILE_2025_10_11) => {
                // Seed 003: for 106 minutes nearly every order, reduce-only closes included,
                // failed with -2010, then -4118/-2022, -1008 and HTTP 503.
                let fill = |v: &mut f64, r: f64| {
                    if *v == 0.0 {
                        *v = r
                    }
                };
                fill(&mut self.reject_2010, 0.18);
                fill(&mut self.reduce_only_4118, 0.20);
                fill(&mut self.reduce_only_2022, 0.20);
                fill(&mut self.overload_1008, 0.20);
                fill(&mut self.unknown_503, 0.10);
                fill(&mut self.unavailable_503, 0.09);
                fill(&mut self.executed_share, 0.3);
                self.overload_hits_reduce_only = true;
            }
            Some(other) => {
                return Err(format!(
                    "faults.profile: unknown profile '{other}' (known: \"{PROFILE_2025_10_11}\")"
                ))
            }
        }
        self.validate()?;
        Ok(self)
    }

    fn validate(&self) -> Result<(), String> {
        let rates = [
            ("unknown_503", self.unknown_503),
            ("executed_share", self.executed_share),
            ("unavailable_503", self.unavailable_503),
            ("overload_1008", self.overload_1008),
            ("internal_1001", self.internal_1001),
            ("timeout_1007", self.timeout_1007),
            ("recv_window_5028", self.recv_window_5028),
            ("throttle_429", self.throttle_429),
            ("reject_2010", self.reject_2010),
            ("precision_1111", self.precision_1111),
            ("reduce_only_2022", self.reduce_only_2022),
            ("reduce_only_4118", self.reduce_only_4118),
            ("user_event_drop", self.user_event_drop),
            ("drop_ws_api", self.drop_ws_api),
        ];
        for (name, r) in rates {
            if !(0.0..=1.0).contains(&r) {
                return Err(format!("faults.{name}: {r} is not a probability in [0, 1]"));
            }
        }
        if let Some(code) = self.restrict_to_reduce_only {
            if restriction(code).is_none() {
                return Err(format!(
                    "faults.restrict_to_reduce_only: {code} is not one of {RESTRICTION_CODES:?}"
                ));
            }
        }
        if let Some(s) = self.symbols.iter().find(|s| s.is_empty()) {
            return Err(format!("faults.symbols: '{s}' is not a symbol name"));
        }
        if !self.from.is_finite() || self.from < 0.0 {
            return Err("faults.from: must be a non-negative number of seconds".into());
        }
        if let Some(u) = self.until {
            if !u.is_finite() || u < self.from {
                return Err("faults.until: must not be before `from`".into());
            }
        }
        Ok(())
    }

    pub(crate) fn is_active(&self, scenario_s: f64) -> bool {
        scenario_s >= self.from && self.until.is_none_or(|u| scenario_s < u)
    }

    /// Does this window apply to `method path` for `symbol` (the request's parameter)?
    pub(crate) fn matches(&self, method: &str, path: &str, symbol: Option<&str>) -> bool {
        let symbol_ok =
            self.symbols.is_empty() || symbol.is_some_and(|s| self.symbols.iter().any(|x| x == s));
        symbol_ok && self.matches_endpoint(method, path)
    }

    fn matches_endpoint(&self, method: &str, path: &str) -> bool {
        let hit = |e: &str| match e.split_once(' ') {
            Some((m, p)) => m.eq_ignore_ascii_case(method) && p == path,
            None => e == path,
        };
        if self.endpoints.is_empty() {
            ORDER_ENDPOINTS.iter().any(|e| hit(e))
        } else {
            self.endpoints.iter().any(|e| hit(e))
        }
    }

    /// Does this window apply to an order of `order_type` (None: not an order)?
    pub(crate) fn matches_order_type(&self, order_type: Option<&str>) -> bool {
        self.order_types.is_empty()
            || order_type
                .is_some_and(|t| self.order_types.iter().any(|w| w.eq_ignore_ascii_case(t)))
    }

    /// Draws the outcome for one request. `reduce_only` is true for any exposure-reducing
    /// order (reduceOnly=true, or a hedge-mode closing leg).
    pub(crate) fn draw(&self, rng: &mut impl Rng, reduce_only: bool) -> Option<FaultOutcome> {
        if let (Some(code), false) = (self.restrict_to_reduce_only, reduce_only) {
            return restriction(code).map(FaultOutcome::Refuse);
        }
        let u: f64 = rng.gen();
        let mut acc = 0.0;
        let mut hit = |rate: f64| {
            acc += rate;
            u < acc
        };
        let executed = |rng: &mut dyn rand::RngCore| rng.gen::<f64>() < self.executed_share;
        let overload = if reduce_only && !self.overload_hits_reduce_only {
            0.0
        } else if !reduce_only && self.profile.as_deref() == Some(PROFILE_2025_10_11) {
            // Seed 003: opens failed as nearly always as closes. -2022/-4118 only exist
            // for reduce-only orders, so in the profile an open meets -1008 in their place.
            self.overload_1008 + self.reduce_only_2022 + self.reduce_only_4118
        } else {
            self.overload_1008
        };
        let (ro_2022, ro_4118) = if reduce_only {
            (self.reduce_only_2022, self.reduce_only_4118)
        } else {
            (0.0, 0.0)
        };
        if hit(self.reject_2010) {
            return Some(FaultOutcome::Refuse(reject_2010()));
        }
        if hit(self.precision_1111) {
            return Some(FaultOutcome::Refuse(precision_1111()));
        }
        if hit(ro_4118) {
            return Some(FaultOutcome::Refuse(reject_4118()));
        }
        if hit(ro_2022) {
            return Some(FaultOutcome::Refuse(reject_2022()));
        }
        if hit(overload) {
            return Some(FaultOutcome::Refuse(overload_1008()));
        }
        if hit(self.unavailable_503) {
            return Some(FaultOutcome::Refuse(unavailable_503()));
        }
        if hit(self.internal_1001) {
            return Some(FaultOutcome::Refuse(internal_1001()));
        }
        if hit(self.recv_window_5028) {
            return Some(FaultOutcome::Refuse(me_recv_window_5028()));
        }
        if hit(self.throttle_429) {
            let lifts_at_ms = self.until.map(|u| (u * 1000.0).ceil() as i64);
            return Some(FaultOutcome::Throttle(throttle_429(), lifts_at_ms));
        }
        if hit(self.unknown_503) {
            return Some(unknown_outcome(executed(rng), unknown_503()));
        }
        if hit(self.timeout_1007) {
            return Some(unknown_outcome(executed(rng), timeout_1007()));
        }
        None
    }
}

fn unknown_outcome(executed: bool, e: ApiError) -> FaultOutcome {
    if executed {
        FaultOutcome::ExecuteThenFail(e)
    } else {
        FaultOutcome::Refuse(e)
    }
}

#[cfg(test)]
mod tests;
