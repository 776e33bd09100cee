//! Connection settings for one Binance USDⓈ-M account, with mainnet/testnet/demo presets.
//!
//! Invariant: the signing key lives only inside a [`Signer`] (an HMAC secret in a
//! zeroising `SecretString`, or a parsed Ed25519/RSA private key) and this type's `Debug`
//! shows only the key type; the API key is shown only by its last four characters.

use std::fmt;
use std::time::Duration;

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use secrecy::SecretString;
use url::Url;

use super::sign::Signer;
pub(crate) use super::wsapi::OrderTransport;

/// The WebSocket API on mainnet and testnet (docs/binance-fapi.md §1.1, §6).
pub(crate) const MAINNET_WS_API: &str = "wss://ws-fapi.binance.com/ws-fapi/v1";
pub(crate) const TESTNET_WS_API: &str = "wss://testnet.binancefuture.com/ws-fapi/v1";

/// The user-stream event types sluice asks for (`events=`). Whether Binance requires the
/// list, and whether it delivers `listenKeyExpired` when the list filters, is unverified
/// (docs/binance-fapi.md §0), so every type the adapter reads is named:
/// - `ORDER_TRADE_UPDATE`: order states and fills, the ledger's primary source;
/// - `ACCOUNT_UPDATE`: positions and balances after fills, funding and transfers;
/// - `ACCOUNT_CONFIG_UPDATE`: leverage and multi-assets changes made outside sluice;
/// - `ALGO_UPDATE`: protective stops (the Algo Service): triggered, rejected, finished;
/// - `listenKeyExpired`: the key died; the stream must take a new one at once.
///
/// Not asked for: `TRADE_LITE` (a lighter copy of the TRADE update, decoded as
/// `Other`) and `MARGIN_CALL` (sluice does not act on margin calls; decoded as `Other`).
pub(crate) const USER_STREAM_EVENTS: [&str; 5] = [
    "ORDER_TRADE_UPDATE",
    "ACCOUNT_UPDATE",
    "ACCOUNT_CONFIG_UPDATE",
    "ALGO_UPDATE",
    "listenKeyExpired",
];

/// Everything the adapter needs to reach one account on one venue.
#[derive(Clone)]
pub struct BinanceConfig {
    /// REST host, e.g. `https://fapi.binance.com`.
    pub(crate) rest_url: Url,
    /// WebSocket host without route, e.g. `wss://fstream.binance.com`; the adapter
    /// appends `/private`, `/market` or `/public`.
    pub ws_url: Url,
    pub api_key: String,
    /// Signs requests with the account's HMAC secret or private key.
    pub signer: Signer,
    /// Milliseconds the exchange may accept a signed request after its `timestamp`.
    pub(crate) recv_window_ms: u64,
    /// Time allowed for one HTTP request/response; past it the outcome is unknown.
    pub request_timeout: Duration,
    /// Share of the order-rate budget only risk-reducing orders may use (0..1).
    pub(crate) risk_reserve_share: Decimal,
    /// Venue name recorded with fills and attempts (`binance-usdm`).
    pub(crate) venue_name: String,
    /// Where a replaced key pair is read from when the exchange stops accepting this
    /// one (key-loss safe mode); None keeps the pair given at start.
    pub credential_source:
        Option<std::sync::Arc<dyn crate::exchange::credentials::CredentialSource>>,
    /// `selfTradePreventionMode` sent with every order (docs/binance-fapi.md §2.2).
    pub self_trade_prevention: crate::domain::SelfTradePrevention,
    /// Which transport carries place/cancel/status (`exchange.order_transport`).
    pub order_transport: OrderTransport,
    /// The WebSocket API's full URL, e.g. `wss://ws-fapi.binance.com/ws-fapi/v1`.
    pub ws_api_url: Url,
    /// A WS API connection is replaced after this long (the venue closes it at 24 h,
    /// docs/binance-fapi.md §6).
    pub ws_api_lifetime: Duration,
    /// The IP whose request weight and bans this account shares with the other accounts
    /// a process serves from this host; None: an IP share of its own (one account).
    pub shared_ip: Option<SharedIp>,
}

/// One IP's part of the venue's limits: its request weight, a 429 on weight and a 418
/// ban (docs/binance-fapi.md §3). Give a clone of one handle to the config of every
/// account served from one host; each account keeps its own order counters.
#[derive(Clone, Debug)]
pub struct SharedIp(pub(crate) std::sync::Arc<super::ratelimit::IpShare>);

impl SharedIp {
    /// A new IP share with the mainnet budget (the adapter replaces it from exchangeInfo).
    pub fn new() -> SharedIp {
        SharedIp(super::ratelimit::IpShare::new(Default::default()))
    }
}

impl Default for SharedIp {
    fn default() -> Self {
        Self::new()
    }
}

/// Replace a WS API connection after 23 h 30 min, half an hour before the venue's cap.
pub(crate) const WS_API_LIFETIME: Duration = Duration::from_secs(23 * 3600 + 1800);

/// The WS API URL on the REST listener of `rest` (`http` → `ws`, `https` → `wss`, path
/// `/ws-fapi/v1`): where `sluice sim` serves it. For hosts without a preset.
pub(crate) fn ws_api_on_rest_host(rest: &Url) -> Url {
    let mut url = rest.clone();
    let scheme = if rest.scheme() == "https" {
        "wss"
    } else {
        "ws"
    };
    // `set_scheme` refuses only special-to-non-special changes; http(s) → ws(s) are both
    // special, so it cannot fail here.
    let _ = url.set_scheme(scheme);
    url.set_path("/ws-fapi/v1");
    url.set_query(None);
    url
}

impl fmt::Debug for BinanceConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BinanceConfig")
            .field("rest_url", &self.rest_url.as_str())
            .field("ws_url", &self.ws_url.as_str())
            .field("api_key", &redact_key(&self.api_key))
            .field("signer", &self.signer)
            .field("recv_window_ms", &self.recv_window_ms)
            .field("request_timeout", &self.request_timeout)
            .field("risk_reserve_share", &self.risk_reserve_share)
            .field("venue_name", &self.venue_name)
            .field("credential_source", &self.credential_source.is_some())
            .field("self_trade_prevention", &self.self_trade_prevention)
            .field("order_transport", &self.order_transport)
            .field("ws_api_url", &self.ws_api_url.as_str())
            .field("shared_ip", &self.shared_ip.is_some())
            .finish()
    }
}

/// `…abcd`: enough to tell keys apart in logs, useless to an attacker.
pub(crate) fn redact_key(key: &str) -> String {
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
    /// A config for arbitrary hosts (the simulator, a proxy) with safe defaults, signing
    /// with the HMAC secret `api_secret`.
    pub fn new(rest_url: Url, ws_url: Url, api_key: String, api_secret: SecretString) -> Self {
        Self::with_signer(rest_url, ws_url, api_key, Signer::new(api_secret))
    }

    /// As [`Self::new`] with any kind of key ([`super::keyfile::signer_from_material`]).
    /// The WS API URL is taken to be on the REST host ([`ws_api_on_rest_host`]).
    pub fn with_signer(rest_url: Url, ws_url: Url, api_key: String, signer: Signer) -> Self {
        Self {
            ws_api_url: ws_api_on_rest_host(&rest_url),
            order_transport: OrderTransport::default(),
            ws_api_lifetime: WS_API_LIFETIME,
            rest_url,
            ws_url,
            api_key,
            signer,
            recv_window_ms: 5_000,
            request_timeout: Duration::from_secs(10),
            risk_reserve_share: dec!(0.2),
            venue_name: "binance-usdm".into(),
            credential_source: None,
            self_trade_prevention: Default::default(),
            shared_ip: None,
        }
    }

    pub fn mainnet(api_key: String, api_secret: SecretString) -> Self {
        let mut cfg = Self::preset(
            "https://fapi.binance.com",
            "wss://fstream.binance.com",
            api_key,
            api_secret,
        );
        cfg.ws_api_url = Url::parse(MAINNET_WS_API).unwrap_or_else(|_| unreachable_url());
        cfg
    }

    pub fn testnet(api_key: String, api_secret: SecretString) -> Self {
        let mut cfg = Self::preset(
            "https://testnet.binancefuture.com",
            "wss://fstream.binancefuture.com",
            api_key,
            api_secret,
        );
        cfg.ws_api_url = Url::parse(TESTNET_WS_API).unwrap_or_else(|_| unreachable_url());
        cfg
    }

    /// Binance "Demo Trading" (docs/binance-fapi.md §0): REST and streams on `demo-*` hosts.
    pub fn demo(api_key: String, api_secret: SecretString) -> Self {
        Self::preset(
            "https://demo-fapi.binance.com",
            "wss://demo-fstream.binance.com",
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

    /// `<ws host>/<route>/ws/<path>` for market streams, e.g. route `market`, path
    /// `solusdt@markPrice@1s`. Not for user data: see [`Self::user_stream_endpoint`].
    pub(crate) fn ws_endpoint(&self, route: &str, path: &str) -> String {
        format!(
            "{}/{route}/ws/{path}",
            self.ws_url.as_str().trim_end_matches('/')
        )
    }

    /// `<ws host>/private/ws?listenKey=<key>&events=<USER_STREAM_EVENTS>`: the only form
    /// that delivers user data since 2026-04-23; the path form `/private/ws/<key>`
    /// connects and then stays silent (docs/binance-fapi.md §0).
    pub(crate) fn user_stream_endpoint(&self, listen_key: &str) -> String {
        let key: String = form_urlencoded::byte_serialize(listen_key.as_bytes()).collect();
        user_stream_url(self.ws_url.as_str(), &key)
    }

    /// The user-stream URL with `<listenKey>` as a placeholder, for display.
    pub(crate) fn user_stream_form(&self) -> String {
        user_stream_form(self.ws_url.as_str())
    }

    /// `<rest host><path>` without a trailing-slash doubling.
    #[cfg(test)]
    pub(crate) fn rest_endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.rest_url.as_str().trim_end_matches('/'))
    }
}

/// The user-stream URL form on `ws_host` with `<listenKey>` as a placeholder
/// (`sluice config show`, probe errors).
pub(crate) fn user_stream_form(ws_host: &str) -> String {
    user_stream_url(ws_host, "<listenKey>")
}

fn user_stream_url(ws_host: &str, key_text: &str) -> String {
    format!(
        "{}/private/ws?listenKey={key_text}&events={}",
        ws_host.trim_end_matches('/'),
        USER_STREAM_EVENTS.join("/")
    )
}

fn unreachable_url() -> Url {
    // Only reached if a preset constant is malformed; fall back to a harmless local URL.
    Url::parse("http://127.0.0.1:9").expect("constant URL parses")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ws_api_of_a_custom_host_is_on_its_rest_listener() {
        let plain = Url::parse("http://127.0.0.1:4100/").unwrap();
        assert_eq!(
            ws_api_on_rest_host(&plain).as_str(),
            "ws://127.0.0.1:4100/ws-fapi/v1"
        );
        let tls = Url::parse("https://proxy.example/").unwrap();
        assert_eq!(
            ws_api_on_rest_host(&tls).as_str(),
            "wss://proxy.example/ws-fapi/v1"
        );
    }

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
            t.ws_endpoint("market", "solusdt@markPrice@1s"),
            "wss://fstream.binancefuture.com/market/ws/solusdt@markPrice@1s"
        );
        assert_eq!(m.ws_api_url.as_str(), MAINNET_WS_API);
        assert_eq!(t.ws_api_url.as_str(), TESTNET_WS_API);
        let d = BinanceConfig::demo("k".into(), secret());
        assert_eq!(d.rest_url.host_str(), Some("demo-fapi.binance.com"));
        assert_eq!(d.ws_url.host_str(), Some("demo-fstream.binance.com"));
    }

    #[test]
    fn the_user_stream_uses_the_query_form_with_every_consumed_event() {
        let m = BinanceConfig::mainnet("k".into(), secret());
        assert_eq!(
            m.user_stream_endpoint("abc+/="),
            "wss://fstream.binance.com/private/ws?listenKey=abc%2B%2F%3D&events=\
             ORDER_TRADE_UPDATE/ACCOUNT_UPDATE/ACCOUNT_CONFIG_UPDATE/ALGO_UPDATE/listenKeyExpired"
        );
        assert!(!m.user_stream_endpoint("abc").contains("/private/ws/"));
        assert!(m
            .user_stream_form()
            .starts_with("wss://fstream.binance.com/private/ws?listenKey=<listenKey>&events="));
    }
}
