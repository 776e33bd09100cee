//! Rate-limit accounting that mirrors the venue's counters and never lets a request
//! exceed them.
//!
//! Binance counts in FIXED windows of server time (weight per minute, orders per 10 s and
//! per minute; each resets at its boundary). This module keeps the same view:
//!
//! - Every booked request is an entry with the interval of server time in which the venue
//!   may process it: from our server-time estimate at booking minus [`MARGIN_MS`] to our
//!   estimate at its answer plus [`MARGIN_MS`] (open-ended while it is in flight). It
//!   counts in every venue window that interval touches, so a request near a boundary, or
//!   one still in flight when a window starts, counts in both windows.
//! - A response header (`X-MBX-USED-WEIGHT-1M`, `X-MBX-ORDER-COUNT-10S/1M`) is the venue's
//!   count for the window that processed the request. When that window is unambiguous it
//!   REPLACES our count for that window: our count becomes the header plus every own
//!   request the header may not contain yet (any request not answered before this one was
//!   booked, and none whose own header shows it came later). A header equal to our own
//!   count therefore changes nothing, a higher one (another client on the key or IP)
//!   raises it, and a lower one corrects a request we counted in two windows. The highest
//!   such bound per window wins, so an old header arriving late cannot lower a newer one.
//!   The correction ends with its window.
//! - Orders that may increase risk can use only `(1 - reserve_share)` of each order
//!   budget, so opens can never starve a close.
//! - Background reads (nothing waits on them to reduce risk) may use the IP's weight only
//!   while the minute's count stays within [`BACKGROUND_SHARE`] of the limit; they ask
//!   first (`background_fits`) and are skipped otherwise, so they never take the weight a
//!   close or a flatten needs.
//! - The adapter keeps [`WEIGHT_RESERVE_SHARE`] of the IP's weight per minute for
//!   risk-reducing requests (`Cost::reduces_risk`: closing orders, cancels, and the reads a
//!   close or an order's resolution needs, as each request says where it is built:
//!   `crate::exchange::Purpose`); every other request (start-up reads, preflight,
//!   reconcile, opens) may fill the rest. Waiting requests retry on their own at the
//!   window's end and none is queued ahead, so without the reserve a close's GET order
//!   could find the minute filled by a start's reads. The reserve is part of the IP's
//!   share from its construction ([`Reserve`]), so no limiter exists without it.
//! - A 429 sets a shared "not before" instant every request waits for; a 418 ban makes
//!   every request fail fast with `Banned` until the ban ends.
//!
//! Soundness assumes our server-time estimate is within [`MARGIN_MS`] of the venue's
//! (the clock offset is measured round-trip compensated and re-measured periodically).
//! [`Accounts`] is pure: callers pass the instant and the server-time estimate.
//!
//! Files: `accounts.rs` (the pure accounting), `limiter.rs` (the async limiter: per-account
//! order counters, the per-IP weight share, and the permit a request carries until its
//! answer).

use tokio::time::Instant;

use super::rest::wire::RateLimit;

mod accounts;
mod limiter;

pub(crate) use accounts::Accounts;
pub(crate) use limiter::{IpShare, Permit, RateLimiter};

/// How far our estimate of server time may be from the venue's clock, in ms: a request
/// booked at estimate `t` is processed no earlier than `t - MARGIN_MS`.
pub(crate) const MARGIN_MS: i64 = 200;

/// The share of the IP's weight per minute that background reads may fill (the rest is
/// left to requests that place, cancel or resolve orders and to the reads they need).
pub(crate) const BACKGROUND_SHARE: rust_decimal::Decimal =
    rust_decimal::Decimal::from_parts(5, 0, 0, false, 1);

/// The share of the IP's weight per minute only risk-reducing requests may use (240 of
/// Binance's 2,400): a 100-order close in batches of five costs 100, and each order whose
/// outcome must be resolved 6 (GET order, userTrades), so one close and its resolutions
/// fit even when start-up or background reads filled the rest of the minute; what is left
/// (2,160) holds ten accounts' start-up reads (about 1,500).
pub(crate) const WEIGHT_RESERVE_SHARE: rust_decimal::Decimal =
    rust_decimal::Decimal::from_parts(1, 0, 0, false, 1);

/// The shares of the venue's budgets only risk-reducing requests may use, fixed when the
/// counters are built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Reserve {
    /// Of each order counter, per account (`exchange.risk_reserve_share`).
    pub orders: rust_decimal::Decimal,
    /// Of the IP's weight per minute, for every account on the IP
    /// ([`WEIGHT_RESERVE_SHARE`] in the adapter).
    pub weight: rust_decimal::Decimal,
}

impl Reserve {
    /// Nothing kept back: every request may use the whole of every budget.
    #[cfg(test)]
    pub(crate) const NONE: Reserve = Reserve {
        orders: rust_decimal::Decimal::ZERO,
        weight: rust_decimal::Decimal::ZERO,
    };
    /// `share` of each order counter, none of the weight (one account's order counters).
    pub(crate) fn orders(share: rust_decimal::Decimal) -> Reserve {
        Reserve {
            orders: share,
            weight: rust_decimal::Decimal::ZERO,
        }
    }
    /// `share` of the weight, none of the order counters (an IP's weight counter).
    pub(crate) fn weight(share: rust_decimal::Decimal) -> Reserve {
        Reserve {
            orders: rust_decimal::Decimal::ZERO,
            weight: share,
        }
    }
}

/// The venue's published limits (exchangeInfo `rateLimits`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Budget {
    pub weight_1m: u32,
    pub(crate) orders_10s: u32,
    pub(crate) orders_1m: u32,
}

impl Budget {
    /// Budgets from exchangeInfo `rateLimits`; missing entries keep mainnet defaults.
    pub(crate) fn from_rate_limits(limits: &[RateLimit]) -> Budget {
        let mut b = Budget::default();
        for l in limits {
            match (
                l.rate_limit_type.as_str(),
                l.interval.as_str(),
                l.interval_num,
            ) {
                ("REQUEST_WEIGHT", "MINUTE", 1) => b.weight_1m = l.limit,
                ("ORDERS", "SECOND", 10) => b.orders_10s = l.limit,
                ("ORDERS", "MINUTE", 1) => b.orders_1m = l.limit,
                _ => {}
            }
        }
        b
    }
}

impl Default for Budget {
    /// Mainnet values (docs/binance-fapi.md §3); replaced by exchangeInfo at connect.
    fn default() -> Self {
        Self {
            weight_1m: 2400,
            orders_10s: 300,
            orders_1m: 1200,
        }
    }
}

/// What one request costs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Cost {
    pub weight: u32,
    /// Units on the 10 s order counter.
    pub orders: u32,
    /// Units on the 1 min order counter (a batch costs 5 on the 10 s counter, 1 here).
    pub(crate) orders_1m: u32,
    /// Risk-reducing orders may use the reserved share of the order budgets.
    pub(crate) reduces_risk: bool,
}

impl Cost {
    pub(crate) fn weight(weight: u32) -> Self {
        Self {
            weight,
            orders: 0,
            orders_1m: 0,
            reduces_risk: false,
        }
    }
    pub(crate) fn order(reduces_risk: bool) -> Self {
        Self {
            weight: 0,
            orders: 1,
            orders_1m: 1,
            reduces_risk,
        }
    }
    /// `POST /fapi/v1/batchOrders`, whatever its size (docs/binance-fapi.md §3): IP weight
    /// 5, 5 on the 10 s order counter, 1 on the 1 min one.
    pub(crate) fn batch(reduces_risk: bool) -> Self {
        Self {
            weight: 5,
            orders: 5,
            orders_1m: 1,
            reduces_risk,
        }
    }
}

/// Why a request cannot go now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wait {
    /// Try again at this instant.
    Until(Instant),
    /// IP banned (418) until this instant: fail instead of waiting hours.
    Banned(Instant),
    /// The request costs more than the budget it may use; it can never be sent.
    Never,
}

/// The venue's counts as one response reported them (`None`: header absent).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Observed {
    pub weight_1m: Option<u32>,
    pub(crate) orders_10s: Option<u32>,
    pub(crate) orders_1m: Option<u32>,
}

/// One booked request; identifies it when its answer comes back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Ticket(u64);

#[cfg(test)]
mod background_tests;
#[cfg(test)]
mod reserve_tests;
#[cfg(test)]
mod sharing_tests;
#[cfg(test)]
mod tests;
