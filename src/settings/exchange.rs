//! `[exchange]`: which venue, with which key, in which account modes, on which symbols;
//! and [`ExchangeSettings::binance_config`], the adapter's configuration from them (the
//! daemon, preflight and the read-only commands all build it here).
//!
//! Invariants: URLs, symbols, the position mode and the self-trade prevention mode are
//! parsed when the settings load; `custom` has both URLs (checked at load). The API
//! secret or private key is a [`Secret`], and a usable key when the settings load (its
//! type is detected from the material: `exchange::binance::keyfile`); a private key
//! comes from a file only. With `api_secret_file` the adapter re-reads the key pair from
//! the files when the exchange stops accepting the key (key-loss safe mode).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::domain::{PositionMode, SelfTradePrevention, Symbol};
use crate::exchange::binance::config::{
    ws_api_on_rest_host, OrderTransport, MAINNET_WS_API, TESTNET_WS_API,
};
use crate::exchange::binance::keyfile::{is_pem, signer_from_material};
use crate::exchange::binance::sign::Signer;
use crate::exchange::binance::BinanceConfig;

use super::de;
use super::secret::{read_key_file, read_secret_file, Secret};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Venue {
    Mainnet,
    Testnet,
    Demo,
    Custom,
}

impl Venue {
    /// The venue's (REST, WebSocket) hosts; None for `custom`.
    fn preset(self) -> Option<(&'static str, &'static str)> {
        match self {
            Venue::Mainnet => Some(("https://fapi.binance.com", "wss://fstream.binance.com")),
            Venue::Testnet => Some((
                "https://testnet.binancefuture.com",
                "wss://fstream.binancefuture.com",
            )),
            // Binance "Demo Trading" (docs/binance-fapi.md §0).
            Venue::Demo => Some((
                "https://demo-fapi.binance.com",
                "wss://demo-fstream.binance.com",
            )),
            Venue::Custom => None,
        }
    }

    /// The venue's WebSocket API URL (docs/binance-fapi.md §6); None where undocumented.
    fn ws_api_preset(self) -> Option<&'static str> {
        match self {
            Venue::Mainnet => Some(MAINNET_WS_API),
            Venue::Testnet => Some(TESTNET_WS_API),
            Venue::Demo | Venue::Custom => None,
        }
    }
}

/// `[exchange]`: the venue, its hosts, the symbols and the credentials.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExchangeSettings {
    pub(crate) venue: Venue,
    /// Overrides the venue preset's REST base URL (required for `custom`).
    #[serde(default, with = "de::opt_url")]
    pub(crate) rest_url: Option<Url>,
    /// The WebSocket host; the adapter appends `/private`, `/market`, `/public`.
    #[serde(default, with = "de::opt_url")]
    pub ws_url: Option<Url>,
    /// The API key (not secret: Binance shows it in every request header).
    pub api_key: Option<String>,
    /// A file holding the API key. With `api_secret_file`, the pair is re-read when the
    /// exchange stops accepting the key (key-loss safe mode): rotate a key by replacing
    /// both files, no restart needed.
    pub(crate) api_key_file: Option<PathBuf>,
    /// The HMAC secret (environment only). A private key cannot be given here.
    pub api_secret: Option<Secret>,
    /// A file holding the HMAC secret, or an Ed25519 or RSA private key in PEM
    /// (`-----BEGIN PRIVATE KEY-----`, or `RSA PRIVATE KEY`); a private key file must be
    /// readable by its owner only.
    pub(crate) api_secret_file: Option<PathBuf>,
    /// `recvWindow` of signed requests (`recv_window_ms`).
    #[serde(rename = "recv_window_ms", with = "de::positive_millis")]
    pub(crate) recv_window: Duration,
    /// Deadline of one REST request (`request_timeout_ms`).
    #[serde(rename = "request_timeout_ms", with = "de::positive_millis")]
    pub request_timeout: Duration,
    /// Share of the order-rate budget reserved for risk-reducing orders, in [0, 1).
    #[serde(deserialize_with = "de::decimal")]
    pub(crate) risk_reserve_share: Decimal,
    /// The position mode the account is expected to be in: `one-way` or `hedge`.
    #[serde(deserialize_with = "de::position_mode")]
    pub position_mode: PositionMode,
    /// Whether the account must be in multi-assets margin mode (preflight checks it).
    #[serde(default)]
    pub(crate) multi_assets_margin: bool,
    /// Symbols sluice trades; preflight checks each. A TOML list, or a
    /// comma-separated string in the environment (`SLUICE__EXCHANGE__SYMBOLS=BTCUSDT,SOLUSDT`).
    #[serde(deserialize_with = "de::symbols")]
    pub symbols: Vec<Symbol>,
    /// `selfTradePreventionMode` sent with every order: EXPIRE_TAKER (default: sluice's
    /// own order expires, resting orders it does not own are never touched),
    /// EXPIRE_MAKER, EXPIRE_BOTH or NONE. Always sent, since the venue's account default
    /// (EXPIRE_MAKER live) would expire the account's own resting orders.
    #[serde(default)]
    pub self_trade_prevention_mode: SelfTradePrevention,
    /// Which transport carries place/cancel/status: `rest` (default) or `ws` (the
    /// WebSocket API while its socket is up, REST while it is down).
    #[serde(default)]
    pub order_transport: OrderTransport,
    /// Overrides the WebSocket API URL (mainnet and testnet have presets; `custom` takes
    /// it on the REST host, as `sluice sim` serves it; `demo` has none documented).
    #[serde(default, with = "de::opt_url")]
    pub ws_api_url: Option<Url>,
    /// The ledger account this daemon trades (docs/accounts.md): its rows, its halt, its
    /// leader lock. Unset: the ledger's default account (`main`), as before accounts.
    #[serde(default)]
    pub account: Option<String>,
    /// The IP share (request weight, bans) of every account one process serves: set by
    /// the daemon, never read from the settings (`BinanceConfig::shared_ip`).
    #[serde(skip)]
    pub(crate) shared_ip: Option<crate::exchange::binance::SharedIp>,
}

impl ExchangeSettings {
    /// The REST base URL: explicit, else the venue preset (None: `custom` without one).
    pub(crate) fn effective_rest_url(&self) -> Option<Url> {
        let preset = self.venue.preset().map(|(rest, _)| rest);
        self.rest_url
            .clone()
            .or_else(|| preset.and_then(|u| Url::parse(u).ok()))
    }

    /// The WebSocket host (without `/private` etc.): explicit, else the venue preset.
    pub(crate) fn effective_ws_url(&self) -> Option<Url> {
        let preset = self.venue.preset().map(|(_, ws)| ws);
        self.ws_url
            .clone()
            .or_else(|| preset.and_then(|u| Url::parse(u).ok()))
    }

    /// The WebSocket API URL: explicit, else the venue preset, else (`custom`) on the
    /// REST host. None: `demo` without an explicit one.
    pub fn effective_ws_api_url(&self) -> Option<Url> {
        if let Some(u) = &self.ws_api_url {
            return Some(u.clone());
        }
        if let Some(u) = self.venue.ws_api_preset() {
            return Url::parse(u).ok();
        }
        match self.venue {
            Venue::Custom => self.effective_rest_url().map(|r| ws_api_on_rest_host(&r)),
            _ => None,
        }
    }

    /// Whether both halves of the key pair are configured (else: control API only).
    pub(crate) fn has_credentials(&self) -> bool {
        self.api_key.is_some() && self.api_secret.is_some()
    }

    pub(super) fn validate(&self) -> anyhow::Result<()> {
        if self.venue == Venue::Custom && (self.rest_url.is_none() || self.ws_url.is_none()) {
            anyhow::bail!(
                "exchange.venue: `custom` needs both exchange.rest_url and exchange.ws_url"
            );
        }
        if let Some(name) = &self.account {
            if !crate::ledger::valid_account_name(name) {
                anyhow::bail!(
                    "exchange.account: '{name}' is not 1-32 of a-z 0-9 _ - starting with a letter or digit"
                );
            }
        }
        let share = self.risk_reserve_share;
        if share < Decimal::ZERO || share >= Decimal::ONE {
            anyhow::bail!("exchange.risk_reserve_share: must be in [0, 1), got {share}");
        }
        if self.api_secret.is_some() {
            self.signer()?;
        }
        if self.order_transport == OrderTransport::Ws && self.effective_ws_api_url().is_none() {
            anyhow::bail!(
                "exchange.ws_api_url: order_transport = \"ws\" needs it for venue {:?} (no documented WebSocket API host)",
                self.venue
            );
        }
        Ok(())
    }

    /// The signer of the configured key; the error names the setting and the reason.
    pub fn signer(&self) -> anyhow::Result<Signer> {
        let secret = self.api_secret.as_ref().ok_or_else(|| {
            anyhow::anyhow!(
                "exchange.api_secret: not set; set SLUICE__EXCHANGE__API_SECRET or exchange.api_secret_file"
            )
        })?;
        let Some(path) = &self.api_secret_file else {
            if is_pem(secret.expose()) {
                anyhow::bail!(
                    "exchange.api_secret: holds a PEM private key; a private key is read from \
                     a file only: write it to a file readable by sluice's user alone and set \
                     exchange.api_secret_file"
                );
            }
            return Ok(Signer::new(secret.clone().into_secret_string()));
        };
        signer_from_material(secret.expose())
            .map_err(|e| anyhow::anyhow!("exchange.api_secret_file: {}: {e}", path.display()))
    }

    /// The Binance adapter's configuration: the venue preset or the explicit URLs, the
    /// key, and the signer of the secret or private key (never copied into a log).
    pub(crate) fn binance_config(&self) -> anyhow::Result<BinanceConfig> {
        let key = self.api_key.clone().ok_or_else(|| {
            anyhow::anyhow!("exchange.api_key: not set; set SLUICE__EXCHANGE__API_KEY")
        })?;
        let signer = self.signer()?;
        let rest = self.effective_rest_url().ok_or_else(|| {
            anyhow::anyhow!("exchange.rest_url: not set (venue `custom` has no preset)")
        })?;
        let ws = self.effective_ws_url().ok_or_else(|| {
            anyhow::anyhow!("exchange.ws_url: not set (venue `custom` has no preset)")
        })?;
        let mut cfg = BinanceConfig::with_signer(rest, ws, key, signer);
        cfg.recv_window_ms = u64::try_from(self.recv_window.as_millis()).unwrap_or(u64::MAX);
        cfg.request_timeout = self.request_timeout;
        cfg.risk_reserve_share = self.risk_reserve_share;
        cfg.self_trade_prevention = self.self_trade_prevention_mode;
        cfg.order_transport = self.order_transport;
        cfg.shared_ip = self.shared_ip.clone();
        if let Some(url) = self.effective_ws_api_url() {
            cfg.ws_api_url = url;
        }
        if self.api_secret_file.is_some() {
            cfg.credential_source = Some(Arc::new(CredentialFiles(self.clone())));
        }
        Ok(cfg)
    }
}

/// The exchange key pair as the files hold it now (key-loss recovery re-reads them).
/// The key comes from `api_key_file`, else from what was loaded at start.
pub(crate) fn reload_exchange_credentials(
    exchange: &ExchangeSettings,
) -> anyhow::Result<Option<(String, Secret)>> {
    let Some(secret_path) = &exchange.api_secret_file else {
        return Ok(None);
    };
    let secret = read_key_file("exchange.api_secret_file", secret_path)?;
    let key = match &exchange.api_key_file {
        Some(path) => read_secret_file("exchange.api_key_file", path)?
            .expose()
            .to_string(),
        None => exchange
            .api_key
            .clone()
            .ok_or_else(|| anyhow::anyhow!("exchange.api_key: not set"))?,
    };
    Ok(Some((key, secret)))
}

/// The key pair re-read from `exchange.api_key_file` / `api_secret_file` on key loss, so
/// an operator rotates a deleted key by replacing the files (no restart).
struct CredentialFiles(ExchangeSettings);

impl std::fmt::Debug for CredentialFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialFiles")
            .field("api_key_file", &self.0.api_key_file)
            .field("api_secret_file", &self.0.api_secret_file)
            .finish()
    }
}

impl crate::exchange::credentials::CredentialSource for CredentialFiles {
    fn load(&self) -> Result<(String, secrecy::SecretString), String> {
        match reload_exchange_credentials(&self.0) {
            Ok(Some((key, secret))) => Ok((key, secret.into_secret_string())),
            Ok(None) => Err("exchange.api_secret_file: not set".into()),
            Err(e) => Err(format!("{e:#}")),
        }
    }
}
