//! What to do after an order failed: the pure decision table.
//!
//! Input: is the order risk-reducing, its type, how many times it has failed (this failure
//! included), and the exchange's error (class + code). Output: one [`Action`].
//!
//! Principles (seed 003, docs/binance-fapi.md §4 and §9):
//! - an unknown outcome is always resolved by client order id before anything is re-sent;
//! - every re-send goes through the backoff (the executor applies it): no tight loops;
//! - a close never gives up on a transient error: it backs off, re-reads the real position
//!   and open orders, and (if configured) falls back to a reduce-only LIMIT IOC at the
//!   PERCENT_PRICE band edge; only auth, fatal and malformed-request errors stop it;
//! - an open gives up quickly: a stale open is worse than none, and the breaker refuses
//!   opens while the exchange is in distress anyway;
//! - a -1008 on a reduce-only order is itself evidence (reduce-only is exempt from -1008
//!   throttling on Binance): it is recorded as such, and the close keeps going.

use crate::domain::OrderType;
use crate::exchange::{ErrorClass, ExchangeError};

use super::scheduler::RiskClass;

/// The failed order, as far as the decision goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FailedOrder {
    pub class: RiskClass,
    pub order_type: OrderType,
    /// How many times this chunk has failed, this failure included (>= 1).
    pub failures: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EscalationPolicy {
    /// An open that failed this many times on transient errors is given up.
    pub(crate) max_open_attempts: u32,
    /// More consecutive clock failures than this means the clock cannot be fixed: halt.
    pub(crate) max_clock_resyncs: u32,
    /// A request refused by the filters this many times despite reloading the rules fails.
    pub max_rule_reloads: u32,
    /// Fall back to reduce-only LIMIT IOC for MARKET closes that keep failing.
    pub limit_ioc_fallback: bool,
    /// Failures of a MARKET close before the fallback is used.
    pub fallback_after: u32,
}

/// The executor's next step for the failed chunk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    /// Send the same chunk again with the next attempt id, after the backoff delay.
    Resend { why: &'static str },
    /// The order may be live: look it up by client order id before anything else.
    ResolveByClientId,
    /// -4005 within the published cap: learn a lower cap, re-plan the unfilled remainder.
    ShrinkAndReplan,
    /// Re-read position and open orders from the exchange and re-plan against the real
    /// size; optionally cancel sluice's own reduce-only orders that conflict.
    RereadPositionAndReplan {
        cancel_conflicting_reduce_only: bool,
    },
    /// The account's position mode is not what sluice thought: re-read it and re-plan.
    RereadPositionModeAndReplan,
    /// The filters refused it: reload exchangeInfo and re-plan.
    ReloadRulesAndReplan,
    /// Re-measure the clock offset, then send again.
    ResyncClockAndResend,
    /// Replace the MARKET close with a reduce-only LIMIT IOC at the PERCENT_PRICE band edge.
    FallbackLimitIoc,
    /// The exchange says the state is already as wanted.
    AlreadyDone,
    /// An open refused because of the exchange's or the account's state.
    RefuseOpen(String),
    /// This order cannot succeed as asked: stop it, keep the reason on the intent.
    Fail(String),
    /// Stop sending anything and alert (the clock cannot be fixed by resyncing).
    Halt(String),
    /// The exchange refuses the credentials (key deleted, IP changed, permissions
    /// gone): enter key-loss safe mode; the intent stays working.
    KeyLoss(String),
}

/// The decision table. See the module docs for the principles and the tests for every row.
pub(crate) fn next_action(
    order: &FailedOrder,
    err: &ExchangeError,
    policy: &EscalationPolicy,
) -> Action {
    let reducing = order.class == RiskClass::Reducing;
    let what = describe(err);
    match err.class {
        ErrorClass::Auth => Action::KeyLoss(format!("authentication or permission lost: {what}")),
        ErrorClass::Fatal => {
            Action::Fail(format!("exchange refused the request as invalid: {what}"))
        }
        ErrorClass::OutcomeUnknown => Action::ResolveByClientId,
        ErrorClass::Noop => Action::AlreadyDone,
        ErrorClass::ShrinkChunk => Action::ShrinkAndReplan,
        ErrorClass::ResyncClock if order.failures > policy.max_clock_resyncs => {
            Action::Halt(format!(
                "clock still rejected after {} resyncs: {what}",
                policy.max_clock_resyncs
            ))
        }
        ErrorClass::ResyncClock => Action::ResyncClockAndResend,
        ErrorClass::Banned if reducing => Action::Resend {
            why: "IP banned: wait until the ban ends",
        },
        ErrorClass::Banned => Action::RefuseOpen(format!("IP banned by the exchange: {what}")),
        ErrorClass::Retry | ErrorClass::Backoff => transient(order, err, policy, &what),
        ErrorClass::ReduceOnlyRestricted if reducing => Action::RereadPositionAndReplan {
            cancel_conflicting_reduce_only: false,
        },
        ErrorClass::ReduceOnlyRestricted => {
            Action::RefuseOpen(format!("account may only reduce risk: {what}"))
        }
        ErrorClass::Replan => replan(order, err, policy, &what),
    }
}

/// Certainly not executed, and the exchange asked us to wait or try again.
fn transient(
    order: &FailedOrder,
    err: &ExchangeError,
    policy: &EscalationPolicy,
    what: &str,
) -> Action {
    if order.class == RiskClass::Increasing {
        return if order.failures < policy.max_open_attempts {
            Action::Resend {
                why: "transient exchange error on an open",
            }
        } else {
            Action::RefuseOpen(format!(
                "open given up after {} transient failures: {what}",
                order.failures
            ))
        };
    }
    if fallback_due(order, policy) {
        return Action::FallbackLimitIoc;
    }
    Action::Resend {
        why: if err.code == Some(-1008) {
            "-1008 on a risk-reducing order, which Binance exempts from throttling: evidence"
        } else {
            "transient exchange error on a risk-reducing order"
        },
    }
}

fn fallback_due(order: &FailedOrder, policy: &EscalationPolicy) -> bool {
    policy.limit_ioc_fallback
        && order.order_type == OrderType::Market
        && order.failures >= policy.fallback_after
}

/// Filter codes: the rules sluice planned with are not the exchange's.
const FILTER_CODES: &[i64] = &[
    -1111, -4003, -4004, -4005, -4013, -4014, -4016, -4023, -4024, -4164,
];
/// Margin and balance: an open cannot afford it; a close meets resting orders.
const MARGIN_CODES: &[i64] = &[-2018, -2019, -2027, -2028];

/// The request was wrong for the current state.
fn replan(
    order: &FailedOrder,
    err: &ExchangeError,
    policy: &EscalationPolicy,
    what: &str,
) -> Action {
    let reducing = order.class == RiskClass::Reducing;
    let reread = |cancel| Action::RereadPositionAndReplan {
        cancel_conflicting_reduce_only: cancel,
    };
    match err.code {
        // Seed 003: -2010 on reduce-only closes, for hours. Re-reading helps the first
        // few times (a resting order may conflict); after that the MARKET path is broken.
        Some(-2010) if reducing && fallback_due(order, policy) => Action::FallbackLimitIoc,
        // A fallback LIMIT IOC priced at the band edge met a band that moved (PERCENT_PRICE):
        // the next attempt is re-priced at a fresh mark; the rules themselves are fine.
        Some(-4016 | -4024) if reducing && order.order_type == OrderType::Limit => Action::Resend {
            why: "the PERCENT_PRICE band moved: re-price the LIMIT at a fresh mark",
        },
        Some(-2022 | -4118 | -2010 | -2025) if reducing => reread(true),
        Some(c) if MARGIN_CODES.contains(&c) && reducing => reread(true),
        Some(-2024) if reducing => reread(false),
        Some(-4061 | -1106) if order.failures <= 2 => Action::RereadPositionModeAndReplan,
        Some(-4131) if reducing && policy.limit_ioc_fallback => Action::FallbackLimitIoc,
        Some(-4131) if reducing => Action::Resend {
            why: "no counterparty inside the PERCENT_PRICE band yet",
        },
        Some(-4131) => Action::RefuseOpen(format!("market too thin for an open: {what}")),
        Some(c) if FILTER_CODES.contains(&c) && order.failures <= policy.max_rule_reloads => {
            Action::ReloadRulesAndReplan
        }
        Some(c) if MARGIN_CODES.contains(&c) => {
            Action::Fail(format!("not enough margin for the open: {what}"))
        }
        _ => Action::Fail(format!(
            "request refused and re-planning cannot fix it: {what}"
        )),
    }
}

/// The exchange's own words, kept verbatim: they are evidence.
fn describe(err: &ExchangeError) -> String {
    let status = err
        .http_status
        .map_or_else(|| "no response".to_string(), |s| format!("HTTP {s}"));
    match err.code {
        Some(code) => format!("{status} code {code} \"{}\"", err.msg),
        None => format!("{status} \"{}\"", err.msg),
    }
}

#[cfg(test)]
#[path = "escalation_tests.rs"]
mod tests;
