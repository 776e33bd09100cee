//! Request/response counters for `GET /sim/state`: the adapter and daemon tests compare
//! their own evidence (attempts, error classes) against exactly these numbers.

use std::collections::BTreeMap;

use crate::json::JsonObj;

#[derive(Debug, Default, Clone)]
pub(crate) struct Stats {
    pub requests: u64,
    pub by_status: BTreeMap<u16, u64>,
    pub by_code: BTreeMap<i64, u64>,
    pub by_endpoint: BTreeMap<String, u64>,
    /// Faults injected, by error code.
    pub faults_injected: BTreeMap<i64, u64>,
    /// Orders that executed although the answer was an error (503 unknown / -1007).
    pub executed_despite_error: u64,
    /// User-stream sockets opened on the retired path form `/private/ws/<key>`, which
    /// deliver nothing (docs/binance-fapi.md §0).
    pub silent_user_sockets: u64,
    /// WebSocket API pongs that echoed the payload of the ping they answer.
    pub ws_api_pongs: u64,
}

fn map_json<K: ToString>(m: &BTreeMap<K, u64>) -> String {
    let mut j = JsonObj::new();
    for (k, v) in m {
        j.int(&k.to_string(), *v as i64);
    }
    j.finish()
}

impl Stats {
    pub(crate) fn record(&mut self, endpoint: &str, status: u16, code: Option<i64>) {
        self.requests += 1;
        *self.by_endpoint.entry(endpoint.to_owned()).or_default() += 1;
        *self.by_status.entry(status).or_default() += 1;
        if let Some(c) = code {
            *self.by_code.entry(c).or_default() += 1;
        }
    }

    pub(crate) fn to_json(&self) -> String {
        let mut j = JsonObj::new();
        j.int("requests", self.requests as i64)
            .raw("responsesByStatus", &map_json(&self.by_status))
            .raw("responsesByCode", &map_json(&self.by_code))
            .raw("requestsByEndpoint", &map_json(&self.by_endpoint))
            .raw("faultsInjected", &map_json(&self.faults_injected))
            .int("executedDespiteError", self.executed_despite_error as i64)
            .int("silentUserSockets", self.silent_user_sockets as i64)
            .int("wsApiPongs", self.ws_api_pongs as i64);
        j.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_group_by_status_code_and_endpoint() {
        let mut s = Stats::default();
        s.record("POST /fapi/v1/order", 200, None);
        s.record("POST /fapi/v1/order", 400, Some(-2022));
        s.record("GET /fapi/v1/time", 200, None);
        assert_eq!(s.requests, 3);
        assert_eq!(s.by_status[&200], 2);
        assert_eq!(s.by_code[&-2022], 1);
        assert_eq!(s.by_endpoint["POST /fapi/v1/order"], 2);
        let v: serde_json::Value = serde_json::from_str(&s.to_json()).unwrap();
        assert_eq!(v["responsesByCode"]["-2022"], 1);
    }
}
