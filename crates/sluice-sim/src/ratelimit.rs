//! Rate limits as Binance applies them: REQUEST_WEIGHT per client IP per minute, ORDERS per
//! account per 10 s and per minute, in fixed windows aligned to the interval on the
//! server's epoch clock (Binance resets the weight at the minute boundary of server time).
//! Going over answers 429 (`-1003` / `-1015`); any request from an IP while its 429 window
//! is still open earns an IP ban (418) until a fixed epoch.
//! Pure: every call takes the current scenario time in ms; the windows are aligned on
//! `scenario ms + epoch_ms`, where `epoch_ms` is the server (wall) time at scenario 0, so at
//! `time_scale = 1` they fall on the same boundaries as the server time a client sees.

use std::collections::HashMap;
use std::net::IpAddr;

use serde::Deserialize;

use crate::error::ApiError;

/// Limits, overridable in the scenario's `[rate_limits]` table.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RateLimitConfig {
    pub request_weight_per_minute: u32,
    pub orders_per_10s: u32,
    pub orders_per_minute: u32,
    /// Scenario seconds an IP stays banned after hammering through a 429.
    pub ban_seconds: u64,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            request_weight_per_minute: 2400,
            orders_per_10s: 300,
            orders_per_minute: 1200,
            ban_seconds: 120,
        }
    }
}

/// One fixed window counter.
#[derive(Debug, Default, Clone, Copy)]
struct Window {
    start_ms: i64,
    used: u32,
}

impl Window {
    /// The window holding `now_ms`; starts are in scenario ms, aligned on `now_ms + epoch`.
    fn current(&mut self, now_ms: i64, epoch: i64, len_ms: i64) -> &mut Self {
        let start = now_ms - (now_ms + epoch).rem_euclid(len_ms);
        if start != self.start_ms {
            *self = Window {
                start_ms: start,
                used: 0,
            };
        }
        self
    }
}

#[derive(Debug, Default)]
struct IpState {
    weight: Window,
    /// End of the window in which this IP was last refused with 429.
    limited_until_ms: i64,
    banned_until_ms: i64,
    /// The most weight this IP had used in any one minute window.
    peak_weight_1m: u32,
    /// Every unit of weight this IP was admitted for since the start (all windows).
    total_weight: u64,
}

#[derive(Debug, Default)]
struct AccountState {
    ten_s: Window,
    minute: Window,
    /// The most orders this account had counted in any one 10 s / 1 min window.
    peak_10s: u32,
    peak_1m: u32,
}

/// The highest counts seen so far, for `GET /sim/state`: a benchmark reads the venue's own
/// measure of how close each IP and each account came to its limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Peaks {
    /// Per client IP: the most request weight used in one minute window, and the weight
    /// admitted in all windows together.
    pub ips: Vec<(IpAddr, u32, u64)>,
    /// Per account: the most orders in one 10 s and in one 1 min window.
    pub accounts: Vec<(u32, u32, u32)>,
}

/// A refusal: the error plus the ban/limit end (scenario ms) for `Retry-After`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub error: ApiError,
    pub until_ms: i64,
    pub weight_1m: u32,
}

const MINUTE_MS: i64 = 60_000;
const TEN_S_MS: i64 = 10_000;

/// All rate-limit state of the simulator.
#[derive(Debug, Default)]
pub(crate) struct RateLimiter {
    cfg: RateLimitConfig,
    ips: HashMap<IpAddr, IpState>,
    accounts: HashMap<u32, AccountState>,
    /// Server epoch ms at scenario time 0: windows align on `scenario ms + epoch_ms`.
    epoch_ms: i64,
}

impl RateLimiter {
    pub(crate) fn new(cfg: RateLimitConfig) -> Self {
        RateLimiter {
            cfg,
            ..Default::default()
        }
    }

    /// Aligns the windows on the server's epoch clock: `epoch_ms` is the server time at
    /// scenario time 0.
    pub(crate) fn aligned_to(mut self, epoch_ms: i64) -> Self {
        self.epoch_ms = epoch_ms;
        self
    }

    pub(crate) fn config(&self) -> &RateLimitConfig {
        &self.cfg
    }

    /// Admits `weight` for `ip`, or refuses with 429 / 418. `to_epoch_ms` turns a scenario
    /// time into the wall-clock epoch shown in the ban message.
    pub(crate) fn admit_ip(
        &mut self,
        ip: IpAddr,
        weight: u32,
        now_ms: i64,
        to_epoch_ms: impl Fn(i64) -> i64,
    ) -> Result<u32, Refusal> {
        let cfg = self.cfg.clone();
        let epoch = self.epoch_ms;
        let st = self.ips.entry(ip).or_default();
        let used = st.weight.current(now_ms, epoch, MINUTE_MS).used;
        if now_ms < st.banned_until_ms {
            return Err(ban_refusal(st.banned_until_ms, used, &to_epoch_ms));
        }
        if now_ms < st.limited_until_ms {
            // Kept coming during a 429 window: ban.
            st.banned_until_ms = now_ms + (cfg.ban_seconds as i64) * 1000;
            return Err(ban_refusal(st.banned_until_ms, used, &to_epoch_ms));
        }
        let w = st.weight.current(now_ms, epoch, MINUTE_MS);
        if w.used + weight > cfg.request_weight_per_minute {
            st.limited_until_ms = w.start_ms + MINUTE_MS;
            let msg = format!(
                "Too many requests; current limit is {} requests per minute. Please use the websocket for live updates to avoid polling the API.",
                cfg.request_weight_per_minute
            );
            return Err(Refusal {
                error: ApiError::new(429, -1003, msg),
                until_ms: st.limited_until_ms,
                weight_1m: w.used,
            });
        }
        w.used += weight;
        let used = w.used;
        st.peak_weight_1m = st.peak_weight_1m.max(used);
        st.total_weight += u64::from(weight);
        Ok(used)
    }

    /// Counts `n10`/`n1m` new orders for `account`, or refuses with 429 `-1015`.
    pub(crate) fn admit_orders(
        &mut self,
        account: u32,
        n10: u32,
        n1m: u32,
        now_ms: i64,
    ) -> Result<(u32, u32), Refusal> {
        let cfg = &self.cfg;
        let epoch = self.epoch_ms;
        let st = self.accounts.entry(account).or_default();
        let ten = *st.ten_s.current(now_ms, epoch, TEN_S_MS);
        let min = *st.minute.current(now_ms, epoch, MINUTE_MS);
        let over = if ten.used + n10 > cfg.orders_per_10s {
            Some((cfg.orders_per_10s, "10 SECOND", ten.start_ms + TEN_S_MS))
        } else if min.used + n1m > cfg.orders_per_minute {
            Some((cfg.orders_per_minute, "1 MINUTE", min.start_ms + MINUTE_MS))
        } else {
            None
        };
        if let Some((limit, per, until)) = over {
            let msg = format!("Too many new orders; current limit is {limit} orders per {per}.");
            return Err(Refusal {
                error: ApiError::new(429, -1015, msg),
                until_ms: until,
                weight_1m: 0,
            });
        }
        st.ten_s.used += n10;
        st.minute.used += n1m;
        st.peak_10s = st.peak_10s.max(st.ten_s.used);
        st.peak_1m = st.peak_1m.max(st.minute.used);
        Ok((st.ten_s.used, st.minute.used))
    }

    /// The peaks so far, IPs and accounts in ascending order.
    pub(crate) fn peaks(&self) -> Peaks {
        let mut ips: Vec<_> = self
            .ips
            .iter()
            .map(|(ip, s)| (*ip, s.peak_weight_1m, s.total_weight))
            .collect();
        ips.sort_unstable();
        let mut accounts: Vec<_> = self
            .accounts
            .iter()
            .map(|(a, s)| (*a, s.peak_10s, s.peak_1m))
            .collect();
        accounts.sort_unstable();
        Peaks { ips, accounts }
    }

    /// Current order counts of an account (for headers on rejected orders too).
    pub(crate) fn order_counts(&mut self, account: u32, now_ms: i64) -> (u32, u32) {
        let epoch = self.epoch_ms;
        let st = self.accounts.entry(account).or_default();
        let ten = st.ten_s.current(now_ms, epoch, TEN_S_MS).used;
        (ten, st.minute.current(now_ms, epoch, MINUTE_MS).used)
    }
}

fn ban_refusal(until_ms: i64, used: u32, to_epoch_ms: &impl Fn(i64) -> i64) -> Refusal {
    let msg = format!(
        "Way too many requests; IP banned until {}. Please use the websocket for live updates to avoid bans.",
        to_epoch_ms(until_ms)
    );
    Refusal {
        error: ApiError::new(418, -1003, msg),
        until_ms,
        weight_1m: used,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn limiter(weight: u32) -> RateLimiter {
        RateLimiter::new(RateLimitConfig {
            request_weight_per_minute: weight,
            orders_per_10s: 3,
            orders_per_minute: 5,
            ban_seconds: 120,
        })
    }

    const IP: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    #[test]
    fn weight_over_the_minute_limit_is_429_then_418_until_the_ban_ends() {
        let mut rl = limiter(10);
        assert_eq!(rl.admit_ip(IP, 6, 1_000, |t| t).unwrap(), 6);
        let e = rl.admit_ip(IP, 5, 2_000, |t| t).unwrap_err();
        assert_eq!((e.error.http, e.error.code), (429, -1003));
        assert_eq!(e.until_ms, 60_000);
        let ban = rl.admit_ip(IP, 1, 3_000, |t| t + 7).unwrap_err();
        assert_eq!(ban.error.http, 418);
        assert_eq!(ban.error.msg, "Way too many requests; IP banned until 123007. Please use the websocket for live updates to avoid bans.");
        // Still banned after the minute rolls over, free after the ban.
        assert_eq!(
            rl.admit_ip(IP, 1, 70_000, |t| t).unwrap_err().error.http,
            418
        );
        assert_eq!(rl.admit_ip(IP, 1, 123_000, |t| t).unwrap(), 1);
    }

    #[test]
    fn the_weight_window_resets_at_the_minute_boundary() {
        let mut rl = limiter(10);
        rl.admit_ip(IP, 10, 59_999, |t| t).unwrap();
        assert_eq!(rl.admit_ip(IP, 10, 60_000, |t| t).unwrap(), 10);
    }

    #[test]
    fn windows_fall_on_the_server_clock_boundaries_not_on_the_simulator_start() {
        // Scenario 0 is server time 1_000_000_007_000: the first 10 s window ends 3 s in.
        let mut rl = limiter(100).aligned_to(1_000_000_007_000);
        for _ in 0..3 {
            rl.admit_orders(1, 1, 1, 2_999).unwrap();
        }
        assert_eq!(rl.admit_orders(1, 1, 1, 2_999).unwrap_err().until_ms, 3_000);
        assert_eq!(rl.admit_orders(1, 1, 1, 3_000).unwrap(), (1, 4));
    }

    #[test]
    fn two_accounts_on_one_ip_share_its_weight_but_count_their_orders_apart() {
        let mut rl = limiter(10);
        rl.admit_ip(IP, 4, 1_000, |t| t).unwrap();
        for _ in 0..3 {
            rl.admit_orders(1, 1, 1, 1_000).unwrap();
        }
        // Account 2's requests come from the same IP: its weight adds to account 1's.
        assert_eq!(rl.admit_ip(IP, 6, 1_500, |t| t).unwrap(), 10);
        assert_eq!(rl.admit_orders(2, 1, 1, 1_500).unwrap(), (1, 1));
        let other = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
        assert_eq!(rl.admit_ip(other, 1, 1_500, |t| t).unwrap(), 1);
        assert_eq!(
            rl.admit_ip(IP, 1, 2_000, |t| t).unwrap_err().error.http,
            429
        );
        assert_eq!(
            rl.peaks(),
            Peaks {
                ips: vec![(other, 1, 1), (IP, 10, 10)],
                accounts: vec![(1, 3, 3), (2, 1, 1)],
            }
        );
    }

    #[test]
    fn order_counts_are_per_account_with_minus_1015() {
        let mut rl = limiter(100);
        for i in 1..=3 {
            assert_eq!(rl.admit_orders(1, 1, 1, 500).unwrap(), (i, i));
        }
        let e = rl.admit_orders(1, 1, 1, 600).unwrap_err();
        assert_eq!((e.error.http, e.error.code), (429, -1015));
        assert_eq!(
            e.error.msg,
            "Too many new orders; current limit is 3 orders per 10 SECOND."
        );
        assert!(rl.admit_orders(2, 1, 1, 600).is_ok());
        rl.admit_orders(1, 1, 1, 10_000).unwrap();
        rl.admit_orders(1, 1, 1, 10_001).unwrap();
        let e = rl.admit_orders(1, 1, 1, 10_002).unwrap_err();
        assert_eq!(
            e.error.msg,
            "Too many new orders; current limit is 5 orders per 1 MINUTE."
        );
    }
}
