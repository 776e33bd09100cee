//! Connection settings for one Binance USDⓈ-M account, with mainnet/testnet/demo presets.
//!
//! Invariant: the API secret lives only inside a [`secrecy::SecretString`] (zeroised on
//! drop) and this type's `Debug` never prints it; the API key is shown only by its last
//! four characters.

use std::fmt;
use std::time::Duration;

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use secrecy::SecretString;
use url::Url;

/// Everything the adapter needs to reach one account on one venue.
#[derive(Clone)]
pub struct BinanceConfig {
    /// REST host, e.g. `https://fapi.binance.com`.
    pub rest_url: Url,
    /// WebSocket host without route, e.g. `wss://fstream.binance.com`; the adapter
    /// appends `/private`, `/market` or `/public`.
    pub ws_url: Url,
    pub api_key: String,
    pub api_secret: SecretString,
    /// Milliseconds the exchange may accept a signed request after its `timestamp`.
    pub recv_window_ms: u64,
    /// Time allowed for one HTTP request/response; past it the outcome is unknown.
    pub request_timeout: Duration,
    /// Share of the order-rate budget only risk-reducing orders may use (0..1).
    pub risk_reserve_share: Decimal,
    /// Venue name recorded with fills and attempts (`binance-usdm`).
    pub venue_name: String,
    /// Where a replaced key pair is read from when the exchange stops accepting this
    /// one (key-loss safe mode); None keeps the pair given at start.
    pub credential_source:
        Option<std::sync::Arc<dyn crate::exchange::credentials::CredentialSource>>,
}

impl fmt::Debug for BinanceConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BinanceConfig")
            .field("rest_url", &self.rest_url.as_str())
            .field("ws_url", &self.ws_url.as_str())
            .field("api_key", &redact_key(&self.api_key))
            .field("api_secret", &"[redacted]")
            .field("recv_window_ms", &self.recv_window_ms)
            .field("request_timeout", &self.request_timeout)
            .field("risk_reserve_share", &self.risk_reserve_share)
            .field("venue_name", &self.venue_name)
            .field("credential_source", &self.credential_source.is_some())
            .finish()
    }
}

/// `…abcd`: enough to tell keys apart in logs, useless to an attacker.
pub fn redact_key(key: &str) -> String {
    let tail: String = key
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("…{tail}")
}

impl BinanceConfig {
    /// A config for arbitrary hosts (the simulator, a proxy) with safe defaults.
    pub fn new(rest_url: Url, ws_url: Url, api_key: String, api_secret: SecretString) -> Self {
        Self {
            rest_url,
            ws_url,
            api_key,
            api_secret,
            recv_window_ms: 5_000,
            request_timeout: Duration::from_secs(10),
            risk_reserve_share: dec!(0.2),
            venue_name: "binance-usdm".into(),
            credential_source: None,
        }
    }

    pub fn mainnet(api_key: String, api_secret: SecretString) -> Self {
        Self::preset(
            "https://fapi.binance.com",
            "wss://fstream.binance.com",
            api_key,
            api_secret,
        )
    }

    pub fn testnet(api_key: String, api_secret: SecretString) -> Self {
        Self::preset(
            "https://testnet.binancefuture.com",
            "wss://fstream.binancefuture.com",
            api_key,
            api_secret,
        )
    }

    pub fn demo(api_key: String, api_secret: SecretString) -> Self {
        Self::preset(
            "https://demo-fapi.binance.com",
            "wss://fstream.binancefuture.com",
            api_key,
            api_secret,
        )
    }

    fn preset(rest: &str, ws: &str, api_key: String, api_secret: SecretString) -> Self {
        // The preset hosts are constants; a parse failure would be a typo caught by the tests.
        let rest_url = Url::parse(rest).unwrap_or_else(|_| unreachable_url());
        let ws_url = Url::parse(ws).unwrap_or_else(|_| unreachable_url());
        Self::new(rest_url, ws_url, api_key, api_secret)
    }

    /// `<ws host>/<route>/ws/<path>`, e.g. route `private`, path = listenKey.
    pub fn ws_endpoint(&self, route: &str, path: &str) -> String {
        format!(
            "{}/{route}/ws/{path}",
            self.ws_url.as_str().trim_end_matches('/')
        )
    }

    /// `<rest host><path>` without a trailing-slash doubling.
    pub fn rest_endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.rest_url.as_str().trim_end_matches('/'))
    }
}

fn unreachable_url() -> Url {
    // Only reached if a preset constant is malformed; fall back to a harmless local URL.
    Url::parse("http://127.0.0.1:9").expect("constant URL parses")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> SecretString {
        SecretString::from("super-secret-value".to_string())
    }

    #[test]
    fn debug_output_never_contains_the_secret_or_the_full_key() {
        let cfg = BinanceConfig::mainnet("abcdefgh12345678".into(), secret());
        let shown = format!("{cfg:?}");
        assert!(!shown.contains("super-secret-value"));
        assert!(!shown.contains("abcdefgh1234"));
        assert!(shown.contains("[redacted]"));
        assert!(shown.contains("…5678"));
    }

    #[test]
    fn presets_point_at_the_documented_hosts() {
        let m = BinanceConfig::mainnet("k".into(), secret());
        assert_eq!(
            m.rest_endpoint("/fapi/v1/time"),
            "https://fapi.binance.com/fapi/v1/time"
        );
        let t = BinanceConfig::testnet("k".into(), secret());
        assert_eq!(
            t.ws_endpoint("private", "abc"),
            "wss://fstream.binancefuture.com/private/ws/abc"
        );
        let d = BinanceConfig::demo("k".into(), secret());
        assert_eq!(d.rest_url.host_str(), Some("demo-fapi.binance.com"));
    }
}
