//! One REST call described before it is sent ([`Request`]: method, path, parameters,
//! which credentials it carries, its rate-limit cost and its kind), and the rate-limit
//! headers read back from a response ([`RateHeaders`]).
//!
//! Pure data: nothing here sends, signs or records; the client (`client.rs`) does.

use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::Method;

use super::super::classify::RequestKind;
use super::super::ratelimit::Cost;

/// Which credentials a request carries (docs/binance-fapi.md §1.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Security {
    Public,
    /// `X-MBX-APIKEY` only (listenKey endpoints).
    ApiKey,
    /// API key + `timestamp` + `recvWindow` + `signature`.
    Signed,
}

/// One REST call, described before it is sent.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: Method,
    pub path: &'static str,
    pub params: Vec<(&'static str, String)>,
    pub(crate) security: Security,
    pub(crate) cost: Cost,
    pub(crate) kind: RequestKind,
}

impl Request {
    pub(crate) fn new(method: Method, path: &'static str, security: Security, weight: u32) -> Self {
        Self {
            method,
            path,
            params: Vec::new(),
            security,
            cost: Cost::weight(weight),
            kind: RequestKind::Query,
        }
    }
    pub(crate) fn param(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.params.push((key, value.into()));
        self
    }
    pub(crate) fn is_order(&self) -> bool {
        self.kind != RequestKind::Query
    }
    pub(crate) fn find(&self, key: &str) -> Option<String> {
        self.params
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.clone())
    }
}

/// Rate-limit headers of one response.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct RateHeaders {
    pub used_weight_1m: Option<u32>,
    pub order_count_10s: Option<u32>,
    pub order_count_1m: Option<u32>,
    pub retry_after: Option<Duration>,
}

impl RateHeaders {
    pub(crate) fn from_headers(h: &HeaderMap) -> Self {
        let num = |name: &str| -> Option<u32> { h.get(name)?.to_str().ok()?.trim().parse().ok() };
        Self {
            used_weight_1m: num("x-mbx-used-weight-1m"),
            order_count_10s: num("x-mbx-order-count-10s"),
            order_count_1m: num("x-mbx-order-count-1m"),
            retry_after: num("retry-after").map(|s| Duration::from_secs(u64::from(s))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_headers_are_read_case_insensitively() {
        let mut h = HeaderMap::new();
        h.insert("X-MBX-USED-WEIGHT-1M", "17".parse().unwrap());
        h.insert("x-mbx-order-count-10s", "3".parse().unwrap());
        h.insert("Retry-After", "2".parse().unwrap());
        let r = RateHeaders::from_headers(&h);
        assert_eq!(r.used_weight_1m, Some(17));
        assert_eq!(r.order_count_10s, Some(3));
        assert_eq!(r.order_count_1m, None);
        assert_eq!(r.retry_after, Some(Duration::from_secs(2)));
    }
}
