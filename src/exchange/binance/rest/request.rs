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
    /// The cost the limiter books: [`Request::cost`], marked risk-reducing for the
    /// requests a close needs (the order placement says for itself): cancels, GET order,
    /// userTrades, positionRisk, and openOrders and the mark price of one symbol. These may use the share of
    /// the IP's weight the adapter keeps for them (`ratelimit::WEIGHT_RESERVE_SHARE`).
    pub(crate) fn limiter_cost(&self) -> Cost {
        let serves_close = match self.path {
            "/fapi/v1/order" => self.method == Method::GET || self.kind == RequestKind::Cancel,
            "/fapi/v1/userTrades" | "/fapi/v3/positionRisk" | "/fapi/v2/positionRisk" => true,
            "/fapi/v1/openOrders" | "/fapi/v1/premiumIndex" => {
                self.params.iter().any(|(k, _)| *k == "symbol")
            }
            _ => self.kind == RequestKind::Cancel,
        };
        Cost {
            reduces_risk: self.cost.reduces_risk || serves_close,
            ..self.cost
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
        let get = |path| Request::new(Method::GET, path, Security::Signed, 5);
        let symbol = |path| get(path).param("symbol", "SOLUSDT");
        let mut cancel = Request::new(Method::DELETE, "/fapi/v1/order", Security::Signed, 1);
        cancel.kind = RequestKind::Cancel;
        for req in [
            get("/fapi/v1/order"),
            get("/fapi/v1/userTrades"),
            get("/fapi/v3/positionRisk"),
            symbol("/fapi/v1/openOrders"),
            symbol("/fapi/v1/premiumIndex"),
            cancel,
        ] {
            assert!(req.limiter_cost().reduces_risk, "{}", req.path);
        }
        for req in [
            get("/fapi/v1/openOrders"),
            get("/fapi/v1/openAlgoOrders"),
            get("/fapi/v1/accountConfig"),
            get("/fapi/v1/exchangeInfo"),
            get("/fapi/v1/apiTradingStatus"),
        ] {
            assert!(!req.limiter_cost().reduces_risk, "{}", req.path);
        }
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
