//! One REST call described before it is sent ([`Request`]: method, path, parameters,
//! which credentials it carries, its rate-limit cost, what it is for and its kind), and
//! the rate-limit headers read back from a response ([`RateHeaders`]).
//!
//! Pure data: nothing here sends, signs or records; the client (`client.rs`) does.

use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::Method;

use super::super::classify::RequestKind;
use super::super::ratelimit::Cost;
use crate::exchange::Purpose;

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
    /// What the limiter books, including whether the request reduces risk (and so may
    /// use the IP weight kept for such requests, `ratelimit::WEIGHT_RESERVE_SHARE`).
    pub(crate) cost: Cost,
    pub(crate) kind: RequestKind,
}

impl Request {
    /// A request of IP weight `weight`, for `purpose`: every call site says whether a
    /// close, a flatten, a cancel or the resolution of an order in flight needs it.
    pub(crate) fn new(
        method: Method,
        path: &'static str,
        security: Security,
        weight: u32,
        purpose: Purpose,
    ) -> Self {
        Self {
            method,
            path,
            params: Vec::new(),
            security,
            cost: Cost {
                reduces_risk: purpose == Purpose::ReduceRisk,
                ..Cost::weight(weight)
            },
            kind: RequestKind::Query,
        }
    }
    /// A signed order placement costing `cost` (the orders' own risk says whether it
    /// reduces risk: [`Cost::order`], [`Cost::batch`]).
    pub(crate) fn placement(path: &'static str, cost: Cost) -> Self {
        Self {
            method: Method::POST,
            path,
            params: Vec::new(),
            security: Security::Signed,
            cost,
            kind: if cost.reduces_risk {
                RequestKind::PlaceReduce
            } else {
                RequestKind::PlaceOpen
            },
        }
    }
    pub(crate) fn param(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.params.push((key, value.into()));
        self
    }
    /// Classified as a cancel ([`RequestKind::Cancel`]).
    pub(crate) fn cancel(mut self) -> Self {
        self.kind = RequestKind::Cancel;
        self
    }
    pub(crate) fn is_order(&self) -> bool {
        self.kind != RequestKind::Query
    }
    /// What the request is for, as it was built.
    pub(crate) fn purpose(&self) -> Purpose {
        if self.cost.reduces_risk {
            Purpose::ReduceRisk
        } else {
            Purpose::Routine
        }
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
    fn the_reads_a_close_needs_may_use_the_reserved_weight_and_start_up_reads_may_not() {
        // What a request is for is declared where it is built, never read from its path:
        // the same read is risk-reducing for a close and routine for a start or a
        // reconcile.
        let read = |path, purpose| Request::new(Method::GET, path, Security::Signed, 5, purpose);
        for path in [
            "/fapi/v1/order",
            "/fapi/v1/userTrades",
            "/fapi/v3/positionRisk",
            "/fapi/v1/openOrders",
            "/fapi/v1/premiumIndex",
        ] {
            let close = read(path, Purpose::ReduceRisk);
            assert!(close.cost.reduces_risk, "{path} for a close");
            assert_eq!(close.purpose(), Purpose::ReduceRisk);
            let start = read(path, Purpose::Routine);
            assert!(!start.cost.reduces_risk, "{path} at start");
            assert_eq!(start.purpose(), Purpose::Routine);
            assert_eq!(start.cost.weight, 5);
        }
        // A placement carries its orders' own risk, and its kind follows it.
        let close = Request::placement("/fapi/v1/batchOrders", Cost::batch(true));
        assert_eq!(
            (close.purpose(), close.kind),
            (Purpose::ReduceRisk, RequestKind::PlaceReduce)
        );
        let open = Request::placement("/fapi/v1/order", Cost::order(false));
        assert_eq!(
            (open.purpose(), open.kind, open.cost.orders),
            (Purpose::Routine, RequestKind::PlaceOpen, 1)
        );
    }

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
