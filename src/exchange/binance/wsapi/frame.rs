//! WebSocket API frames (docs/binance-fapi.md §6): which REST call maps to which method,
//! the request's params and the text its signature covers, and the answer as it comes back.
//!
//! Invariants: params are sorted by name (byte order) and the signature covers exactly
//! `k=v&…` of every param but `signature`, `apiKey` included; `timestamp` and
//! `recvWindow` travel as JSON integers, every other value as a JSON string (decimals
//! stay text, never a float). The recorded text (the audit's `params`) never holds the
//! API key or the signature. Pure: nothing here sends.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::super::ratelimit::Observed;
use super::super::rest::wire::ErrorBody;
use super::super::rest::{RateHeaders, Request};
use super::super::sign::{SignError, Signer};

/// The WS API method carrying the same call as `req`; None for calls it does not carry.
pub(crate) fn ws_method(req: &Request) -> Option<&'static str> {
    match (req.method.as_str(), req.path) {
        ("POST", "/fapi/v1/order") => Some("order.place"),
        ("DELETE", "/fapi/v1/order") => Some("order.cancel"),
        ("GET", "/fapi/v1/order") => Some("order.status"),
        _ => None,
    }
}

/// A request's params without credentials: sorted by name, `timestamp` and
/// `recvWindow` included.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    pub(crate) fn new(params: &[(&str, String)], timestamp_ms: i64, recv_window_ms: u64) -> Self {
        let mut all: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| ((*k).to_string(), v.clone()))
            .collect();
        all.push(("recvWindow".into(), recv_window_ms.to_string()));
        all.push(("timestamp".into(), timestamp_ms.to_string()));
        all.sort();
        Params(all)
    }

    /// `k=v&…` as recorded in the audit trail (no key, no signature).
    pub(crate) fn recorded(&self) -> String {
        join(&self.0)
    }

    /// The JSON `params` of a frame sent inside a logged-on session: no key, no signature.
    pub(crate) fn unsigned(&self) -> Map<String, Value> {
        to_json(&self.0)
    }

    /// The JSON `params` with `apiKey` and the signature over every other param.
    pub(crate) fn signed(
        &self,
        api_key: &str,
        signer: &Signer,
    ) -> Result<Map<String, Value>, SignError> {
        let mut all = self.0.clone();
        all.push(("apiKey".into(), api_key.to_string()));
        all.sort();
        let signature = signer.sign(join(&all).as_bytes())?;
        let mut json = to_json(&all);
        json.insert("signature".into(), Value::String(signature));
        Ok(json)
    }
}

fn join(params: &[(String, String)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in params.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

fn to_json(params: &[(String, String)]) -> Map<String, Value> {
    params
        .iter()
        .map(|(k, v)| {
            let value = match (k.as_str(), v.parse::<u64>()) {
                ("timestamp" | "recvWindow", Ok(n)) => Value::from(n),
                _ => Value::String(v.clone()),
            };
            (k.clone(), value)
        })
        .collect()
}

/// One request frame.
pub(crate) fn request(id: u64, method: &str, params: Map<String, Value>) -> String {
    serde_json::json!({ "id": id, "method": method, "params": params }).to_string()
}

/// One answer frame: `result` or `error`, and the venue's counts.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Answer {
    #[serde(default)]
    pub id: Value,
    pub status: u16,
    #[serde(default)]
    pub result: Option<Value>,
    #[serde(default)]
    pub error: Option<ErrorBody>,
    #[serde(default)]
    pub rate_limits: Vec<LimitCount>,
}

/// One `rateLimits` item: an exchangeInfo limit plus the venue's `count`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LimitCount {
    pub rate_limit_type: String,
    pub interval: String,
    pub interval_num: u32,
    pub count: u32,
}

impl Answer {
    /// The request id this answers (None: not one of ours, e.g. a server notice).
    pub(crate) fn id(&self) -> Option<u64> {
        self.id.as_u64()
    }

    /// The counts as REST's response headers would carry them.
    pub(crate) fn rate_headers(&self) -> RateHeaders {
        let seen = self.observed();
        RateHeaders {
            used_weight_1m: seen.weight_1m,
            order_count_10s: seen.orders_10s,
            order_count_1m: seen.orders_1m,
            retry_after: None,
        }
    }

    /// The counts for the rate limiter.
    pub(crate) fn observed(&self) -> Observed {
        let mut seen = Observed::default();
        for l in &self.rate_limits {
            match (
                l.rate_limit_type.as_str(),
                l.interval.as_str(),
                l.interval_num,
            ) {
                ("REQUEST_WEIGHT", "MINUTE", 1) => seen.weight_1m = Some(l.count),
                ("ORDERS", "SECOND", 10) => seen.orders_10s = Some(l.count),
                ("ORDERS", "MINUTE", 1) => seen.orders_1m = Some(l.count),
                _ => {}
            }
        }
        seen
    }

    /// The body REST would have answered: the result, or `{code, msg}`.
    pub(crate) fn body(&self) -> Vec<u8> {
        match (&self.result, &self.error) {
            (Some(r), _) if (200..300).contains(&self.status) => r.to_string().into_bytes(),
            (_, Some(e)) => serde_json::json!({ "code": e.code, "msg": e.msg })
                .to_string()
                .into_bytes(),
            (Some(r), None) => r.to_string().into_bytes(),
            (None, None) => Vec::new(),
        }
    }
}

#[cfg(test)]
#[path = "frame_tests.rs"]
mod tests;
