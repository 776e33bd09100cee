//! Settings: `config/default.toml`, then `config/{SLUICE_ENV}.toml`, then
//! `SLUICE__SECTION__KEY` environment variables (and `DATABASE_URL`).
//!
//! Invariants: an unknown key or a wrong type is an error naming the key; secrets
//! (the API secret, the control-API token) come only from the environment or a
//! `*_file` path, never from a config file, and print as `[redacted]` everywhere.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use rust_decimal::Decimal;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

mod api_section;
pub use api_section::{default_token_file, ApiAuth, ApiSettings};

/// A secret value. `Debug`, `Display` and `Serialize` all print `[redacted]`;
/// the only way to the value is [`Secret::expose`], and the memory is zeroised on drop.
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    pub fn new(value: String) -> Self {
        Secret(SecretString::from(value))
    }
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
    pub fn into_secret_string(self) -> SecretString {
        self.0
    }
}
impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}
impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}
impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("[redacted]")
    }
}
impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret::new)
    }
}

/// Decimals in settings are written as strings (`"10000"`) or integers. Floats are
/// refused: `0.1` in TOML is a binary float, and money must not pass through one.
fn de_decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Str(String),
        Int(i64),
        Float(f64),
    }
    match Raw::deserialize(d)? {
        // The API's number grammar (`[0-9]+(\.[0-9]+)?`, bounded digits): no `1e3`.
        Raw::Str(s) => crate::domain::num::check_grammar("value", &s, true)
            .map_err(|e| serde::de::Error::custom(e.reason))
            .and_then(|()| {
                s.parse::<Decimal>()
                    .map_err(|_| serde::de::Error::custom(format!("`{s}` is not a decimal number")))
            }),
        Raw::Int(i) => Ok(Decimal::from(i)),
        Raw::Float(f) => Err(serde::de::Error::custom(format!(
            "{f} is a float; write decimals as strings, e.g. \"{f}\""
        ))),
    }
}

/// An optional decimal, with the same rules as [`de_decimal`].
fn de_opt_decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
    de_decimal(d).map(Some)
}

fn de_string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        List(Vec<String>),
        Csv(String),
    }
    Ok(match Raw::deserialize(d)? {
        Raw::List(v) => v,
        Raw::Csv(s) => s
            .split(',')
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect(),
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Venue {
    Mainnet,
    Testnet,
    Demo,
    Custom,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub database: DatabaseSettings,
    pub exchange: ExchangeSettings,
    pub api: ApiSettings,
    pub budget: BudgetSettings,
    pub daemon: DaemonSettings,
    pub telemetry: TelemetrySettings,
    /// What `sluice preflight` (and the daemon at start) allows.
    #[serde(default)]
    pub preflight: PreflightSettings,
    /// Per-symbol expectations (`[symbols.SOLUSDT]`), all optional; preflight checks
    /// the account against each one that is set.
    #[serde(default)]
    pub symbols: BTreeMap<String, SymbolSettings>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PreflightSettings {
    /// |local - server| clock offset above this fails (warns above half of it).
    pub clock_offset_max_ms: u64,
    /// Each check's deadline: a hung exchange is a failed line, not a hang.
    pub check_timeout_ms: u64,
    /// The SPOT REST host that serves `/sapi/v1/account/apiRestrictions` for this key
    /// (mainnet: `https://api.binance.com`); unset = the key's own withdrawal and IP
    /// settings are not checked (the futures testnet has no such host).
    pub key_permissions_url: Option<String>,
}

impl Default for PreflightSettings {
    fn default() -> Self {
        PreflightSettings {
            clock_offset_max_ms: 1000,
            check_timeout_ms: 5000,
            key_permissions_url: None,
        }
    }
}

/// The margin type a symbol must be in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MarginType {
    Cross,
    Isolated,
}

impl MarginType {
    pub fn as_str(self) -> &'static str {
        match self {
            MarginType::Cross => "cross",
            MarginType::Isolated => "isolated",
        }
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SymbolSettings {
    /// The leverage the symbol must be set to (1..=125).
    pub leverage: Option<u32>,
    pub margin_type: Option<MarginType>,
    /// The largest position notional sluice may hold (USDT): it must fit the leverage
    /// bracket of `leverage`.
    #[serde(default, deserialize_with = "de_opt_decimal")]
    pub max_position_usdt: Option<Decimal>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// Contains a password in many deployments: shown redacted by `config show`.
    pub url: Option<Secret>,
    pub max_connections: u32,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExchangeSettings {
    pub venue: Venue,
    /// Overrides the venue preset's REST base URL (required for `custom`).
    pub rest_url: Option<String>,
    /// The WebSocket host; the adapter appends `/private`, `/market`, `/public`.
    pub ws_url: Option<String>,
    pub api_key: Option<String>,
    /// A file holding the API key. With `api_secret_file`, the pair is re-read when the
    /// exchange stops accepting the key (key-loss safe mode): rotate a key by replacing
    /// both files, no restart needed.
    pub api_key_file: Option<PathBuf>,
    pub api_secret: Option<Secret>,
    pub api_secret_file: Option<PathBuf>,
    pub recv_window_ms: u64,
    pub request_timeout_ms: u64,
    /// Share of the order-rate budget reserved for risk-reducing orders.
    #[serde(deserialize_with = "de_decimal")]
    pub risk_reserve_share: Decimal,
    /// The position mode the account is expected to be in: `one-way` or `hedge`.
    pub position_mode: String,
    /// Whether the account must be in multi-assets margin mode (preflight checks it).
    #[serde(default)]
    pub multi_assets_margin: bool,
    /// Symbols sluice trades; preflight checks each. A TOML list, or a
    /// comma-separated string in the environment (`SLUICE__EXCHANGE__SYMBOLS=BTCUSDT,SOLUSDT`).
    #[serde(deserialize_with = "de_string_list")]
    pub symbols: Vec<String>,
    /// `selfTradePreventionMode` sent with every order: EXPIRE_TAKER (default: sluice's
    /// own order expires, resting orders it does not own are never touched),
    /// EXPIRE_MAKER, EXPIRE_BOTH or NONE. Always sent, since the venue's account default
    /// (EXPIRE_MAKER live) would expire the account's own resting orders.
    #[serde(default)]
    pub self_trade_prevention_mode: crate::domain::SelfTradePrevention,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetSettings {
    #[serde(deserialize_with = "de_decimal")]
    pub allocation_usdt: Decimal,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DaemonSettings {
    /// Adopt exchange positions the ledger does not know at start (logged, one adjustment row).
    pub adopt_unknown_positions: bool,
    /// Watchdog pet interval when systemd asks for one; 0 = half of WATCHDOG_USEC.
    pub watchdog_interval_ms: u64,
    /// Send reduce-only LIMIT IOC at the PERCENT_PRICE band edge when MARKET closes keep
    /// failing (see `router::fallback_send` for the exact trigger). Off by default.
    #[serde(default)]
    pub limit_ioc_fallback: bool,
    /// Failures in a row of one MARKET close chunk (5xx, -1008, -2010...) before the
    /// fallback is used (at least 1).
    #[serde(default = "default_limit_ioc_fallback_after")]
    pub limit_ioc_fallback_after: u32,
    /// Seconds between the daemon's reconcile runs (one also runs at start); 0 = off.
    #[serde(default = "default_reconcile_interval_s")]
    pub reconcile_interval_s: u64,
    /// Apply the ledger-only repairs of `reconcile --fix --confirm` at start (never trades;
    /// periodic runs stay dry runs while the executor works).
    #[serde(default)]
    pub reconcile_fix: bool,
    /// How often the active daemon re-proves it holds the leader lock, and how often a
    /// standby tries to take it.
    #[serde(default = "default_leader_check_ms")]
    pub leader_check_ms: u64,
    /// A lock check that takes longer than this counts as a lost lock.
    #[serde(default = "default_leader_check_timeout_ms")]
    pub leader_check_timeout_ms: u64,
    /// An order REST shows executing that the connected user stream has not mentioned
    /// this long after marks the stream silent (ERROR, metric, `/readyz` degraded).
    #[serde(default = "default_user_stream_silence_grace_ms")]
    pub user_stream_silence_grace_ms: u64,
}

fn default_user_stream_silence_grace_ms() -> u64 {
    5000
}

fn default_limit_ioc_fallback_after() -> u32 {
    5
}

fn default_reconcile_interval_s() -> u64 {
    60
}

fn default_leader_check_ms() -> u64 {
    1000
}

fn default_leader_check_timeout_ms() -> u64 {
    3000
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetrySettings {
    pub log_format: LogFormat,
    /// An `EnvFilter` directive, e.g. `info,sluice=debug`; `RUST_LOG` wins when set.
    pub log_filter: String,
}

/// Keys that hold secrets: they may come only from the environment or a `*_file`.
const SECRET_KEYS: [&str; 2] = ["exchange.api_secret", "api.token"];

impl Settings {
    /// Load from `<config_dir>/default.toml`, `<config_dir>/$SLUICE_ENV.toml`, then the environment.
    pub fn load(config_dir: &Path) -> anyhow::Result<Settings> {
        Self::load_with_env(config_dir, std::env::vars().collect())
    }

    /// As [`Settings::load`], with the environment passed in (tests use this instead of
    /// mutating the process environment).
    pub fn load_with_env(
        config_dir: &Path,
        env: HashMap<String, String>,
    ) -> anyhow::Result<Settings> {
        let env_name = env.get("SLUICE_ENV").cloned();
        let files = file_layers(config_dir, env_name.as_deref())?;
        // Secrets in files are refused before anything else is read, so a leaked
        // secret in a committed file never becomes a working configuration.
        let file_only = files
            .clone()
            .build()
            .context("failed to read the config files")?;
        for key in SECRET_KEYS {
            if file_only.get::<String>(key).is_ok() {
                bail!("{key}: secrets may not be set in a config file; use the environment variable SLUICE__{} or `{key}_file`", key.replace('.', "__").to_uppercase());
            }
        }
        let mut builder = files.add_source(
            config::Environment::with_prefix("SLUICE")
                .prefix_separator("__")
                .separator("__")
                .source(Some(env.clone())),
        );
        if !env.contains_key("SLUICE__DATABASE__URL") {
            if let Some(url) = env.get("DATABASE_URL") {
                builder = builder.set_override("database.url", url.as_str())?;
            }
        }
        let mut settings: Settings = builder
            .build()
            .context("failed to read settings")?
            .try_deserialize()
            .map_err(|e| anyhow::anyhow!("invalid settings: {e}"))?;
        settings.read_secret_files()?;
        settings.api.resolve_token(&env)?;
        settings.normalise_symbol_sections();
        settings.validate()?;
        Ok(settings)
    }

    /// `[symbols.<S>]` keys upper-cased. The environment source lower-cases keys
    /// (`SLUICE__SYMBOLS__SOLUSDT__LEVERAGE` arrives as `solusdt`), so a section spelled
    /// otherwise than upper case came from the environment, and its fields win.
    fn normalise_symbol_sections(&mut self) {
        let mut merged: BTreeMap<String, SymbolSettings> = BTreeMap::new();
        let (upper, other): (Vec<_>, Vec<_>) = std::mem::take(&mut self.symbols)
            .into_iter()
            .partition(|(k, _)| *k == k.to_uppercase());
        for (name, s) in upper.into_iter().chain(other) {
            let entry = merged.entry(name.trim().to_uppercase()).or_default();
            entry.leverage = s.leverage.or(entry.leverage);
            entry.margin_type = s.margin_type.or(entry.margin_type);
            entry.max_position_usdt = s.max_position_usdt.or(entry.max_position_usdt);
        }
        self.symbols = merged;
    }

    fn read_secret_files(&mut self) -> anyhow::Result<()> {
        if let Some(path) = &self.exchange.api_key_file {
            let key = read_secret_file("exchange.api_key_file", path)?;
            self.exchange.api_key = Some(key.expose().to_string());
        }
        if let Some(path) = &self.exchange.api_secret_file {
            self.exchange.api_secret = Some(read_secret_file("exchange.api_secret_file", path)?);
        }
        Ok(())
    }

    fn validate(&self) -> anyhow::Result<()> {
        if self.exchange.venue == Venue::Custom
            && (self.exchange.rest_url.is_none() || self.exchange.ws_url.is_none())
        {
            bail!("exchange.venue: `custom` needs both exchange.rest_url and exchange.ws_url");
        }
        for (key, url) in [
            ("exchange.rest_url", &self.exchange.rest_url),
            ("exchange.ws_url", &self.exchange.ws_url),
            (
                "preflight.key_permissions_url",
                &self.preflight.key_permissions_url,
            ),
        ] {
            if let Some(u) = url {
                url::Url::parse(u)
                    .map_err(|e| anyhow::anyhow!("{key}: `{u}` is not a URL: {e}"))?;
            }
        }
        if !matches!(self.exchange.position_mode.as_str(), "one-way" | "hedge") {
            bail!(
                "exchange.position_mode: `{}` is not one-way or hedge",
                self.exchange.position_mode
            );
        }
        if self.exchange.risk_reserve_share < Decimal::ZERO
            || self.exchange.risk_reserve_share >= Decimal::ONE
        {
            bail!(
                "exchange.risk_reserve_share: must be in [0, 1), got {}",
                self.exchange.risk_reserve_share
            );
        }
        if self.budget.allocation_usdt < Decimal::ZERO {
            bail!(
                "budget.allocation_usdt: must not be negative, got {}",
                self.budget.allocation_usdt
            );
        }
        for s in &self.exchange.symbols {
            crate::domain::Symbol::new(s).map_err(|e| anyhow::anyhow!("exchange.symbols: {e}"))?;
        }
        if self.daemon.leader_check_ms == 0 || self.daemon.leader_check_timeout_ms == 0 {
            bail!("daemon.leader_check_ms and daemon.leader_check_timeout_ms: must be positive");
        }
        if self.daemon.user_stream_silence_grace_ms == 0 {
            bail!("daemon.user_stream_silence_grace_ms: must be positive");
        }
        self.validate_preflight()
    }

    fn validate_preflight(&self) -> anyhow::Result<()> {
        if self.preflight.clock_offset_max_ms == 0 || self.preflight.check_timeout_ms == 0 {
            bail!("preflight.clock_offset_max_ms and preflight.check_timeout_ms: must be positive");
        }
        let traded: Vec<String> = self
            .exchange
            .symbols
            .iter()
            .map(|s| s.trim().to_uppercase())
            .collect();
        for (name, s) in &self.symbols {
            if !traded.contains(&name.trim().to_uppercase()) {
                bail!("symbols.{name}: not one of exchange.symbols {traded:?}");
            }
            if let Some(l) = s.leverage {
                if !(1..=125).contains(&l) {
                    bail!("symbols.{name}.leverage: must be 1..=125, got {l}");
                }
            }
            if let Some(m) = s.max_position_usdt {
                if m <= Decimal::ZERO {
                    bail!("symbols.{name}.max_position_usdt: must be positive, got {m}");
                }
            }
        }
        Ok(())
    }

    /// The REST base URL: explicit, else the venue preset.
    pub fn rest_url(&self) -> String {
        self.exchange.rest_url.clone().unwrap_or_else(|| {
            match self.exchange.venue {
                Venue::Mainnet => "https://fapi.binance.com",
                Venue::Testnet => "https://testnet.binancefuture.com",
                Venue::Demo => "https://demo-fapi.binance.com",
                Venue::Custom => "",
            }
            .to_string()
        })
    }

    /// The WebSocket host (without `/private` etc.): explicit, else the venue preset.
    pub fn ws_url(&self) -> String {
        self.exchange.ws_url.clone().unwrap_or_else(|| {
            match self.exchange.venue {
                Venue::Mainnet => "wss://fstream.binance.com",
                Venue::Testnet => "wss://fstream.binancefuture.com",
                // Binance "Demo Trading" streams (docs/binance-fapi.md §0).
                Venue::Demo => "wss://demo-fstream.binance.com",
                Venue::Custom => "",
            }
            .to_string()
        })
    }

    pub fn database_url(&self) -> anyhow::Result<&str> {
        self.database
            .url
            .as_ref()
            .map(Secret::expose)
            .ok_or_else(|| {
                anyhow::anyhow!("database.url: not set; set DATABASE_URL or SLUICE__DATABASE__URL")
            })
    }

    /// The effective settings as TOML, secrets redacted (`sluice config show`).
    pub fn to_redacted_toml(&self) -> anyhow::Result<String> {
        let mut shown = self.clone();
        // The API key is not a secret by Binance's model but identifies the account: show
        // the same fragment the adapter logs, so an operator can match the two.
        shown.exchange.api_key = self
            .exchange
            .api_key
            .as_ref()
            .map(|k| crate::exchange::binance::config::redact_key(k));
        let mut out = toml::to_string_pretty(&shown)?;
        if let Some(url) = &self.database.url {
            // Show where the database is, never its password.
            out = out.replacen(
                "url = \"[redacted]\"",
                &format!("url = \"{}\"", redact_url_password(url.expose())),
                1,
            );
        }
        out.push_str(&self.effective_hosts());
        Ok(out)
    }

    /// TOML comments naming the hosts the adapter will use, after the venue preset.
    fn effective_hosts(&self) -> String {
        let ws = self.ws_url();
        format!(
            "\n# effective hosts (venue preset or explicit URLs)\n\
             # rest        = {}\n# ws          = {ws}\n# user stream = {}\n",
            self.rest_url(),
            crate::exchange::binance::config::user_stream_form(&ws)
        )
    }
}

fn file_layers(
    dir: &Path,
    env_name: Option<&str>,
) -> anyhow::Result<config::ConfigBuilder<config::builder::DefaultState>> {
    let default = dir.join("default.toml");
    if !default.exists() {
        bail!(
            "{}: not found (run from the sluice directory or pass --config-dir)",
            default.display()
        );
    }
    let mut b = config::Config::builder().add_source(config::File::from(default));
    if let Some(name) = env_name {
        let path = dir.join(format!("{name}.toml"));
        if !path.exists() {
            bail!("SLUICE_ENV={name}: {} not found", path.display());
        }
        b = b.add_source(config::File::from(path));
    }
    Ok(b)
}

/// The exchange key pair as the files hold it now (key-loss recovery re-reads them).
/// The key comes from `api_key_file`, else from what was loaded at start.
pub fn reload_exchange_credentials(
    exchange: &ExchangeSettings,
) -> anyhow::Result<Option<(String, Secret)>> {
    let Some(secret_path) = &exchange.api_secret_file else {
        return Ok(None);
    };
    let secret = read_secret_file("exchange.api_secret_file", secret_path)?;
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

fn read_secret_file(key: &str, path: &Path) -> anyhow::Result<Secret> {
    let raw = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("{key}: cannot read {}: {e}", path.display()))?;
    let value = raw.trim().to_string();
    if value.is_empty() {
        bail!("{key}: {} is empty", path.display());
    }
    Ok(Secret::new(value))
}

/// `config show`: only where the database is (scheme, host, port), never its user,
/// password or database name.
fn redact_url_password(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(u) => match (u.host_str(), u.port()) {
            (Some(host), Some(port)) => format!("{}://{host}:{port}", u.scheme()),
            (Some(host), None) => format!("{}://{host}", u.scheme()),
            _ => "[redacted]".to_string(),
        },
        Err(_) => "[redacted]".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with(extra: Option<(&str, &str)>) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        let default =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/default.toml"))
                .expect("config/default.toml");
        std::fs::write(dir.path().join("default.toml"), default).expect("write");
        if let Some((name, body)) = extra {
            std::fs::write(dir.path().join(format!("{name}.toml")), body).expect("write");
        }
        dir
    }

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn environment_overrides_files_and_database_url_is_honoured() {
        let dir = dir_with(None);
        let s = Settings::load_with_env(
            dir.path(),
            env(&[
                ("SLUICE__EXCHANGE__REST_URL", "http://127.0.0.1:9001"),
                ("SLUICE__BUDGET__ALLOCATION_USDT", "2500.75"),
                ("DATABASE_URL", "postgres://u:pw@db/sluice"),
            ]),
        )
        .expect("settings load");
        assert_eq!(s.rest_url(), "http://127.0.0.1:9001");
        assert_eq!(s.budget.allocation_usdt.to_string(), "2500.75");
        assert_eq!(s.database_url().expect("url"), "postgres://u:pw@db/sluice");
    }

    #[test]
    fn an_unknown_key_in_a_file_is_an_error_naming_it() {
        let dir = dir_with(Some(("bad", "[exchange]\nbogus = 1\n")));
        let err = Settings::load_with_env(dir.path(), env(&[("SLUICE_ENV", "bad")])).unwrap_err();
        let text = format!("{err:#}");
        assert!(
            text.contains("bogus") && text.contains("exchange"),
            "{text}"
        );
    }

    #[test]
    fn the_self_trade_prevention_mode_is_typed_with_a_default_and_a_bad_one_names_the_key() {
        let dir = dir_with(None);
        let s = Settings::load_with_env(dir.path(), env(&[])).expect("defaults load");
        let default = crate::domain::SelfTradePrevention::ExpireTaker;
        assert_eq!(s.exchange.self_trade_prevention_mode, default);
        let both = env(&[(
            "SLUICE__EXCHANGE__SELF_TRADE_PREVENTION_MODE",
            "EXPIRE_BOTH",
        )]);
        let s = Settings::load_with_env(dir.path(), both).expect("settings load");
        let mode = s.exchange.self_trade_prevention_mode;
        assert_eq!(mode, crate::domain::SelfTradePrevention::ExpireBoth);
        let bad = env(&[("SLUICE__EXCHANGE__SELF_TRADE_PREVENTION_MODE", "MAKER")]);
        let err = Settings::load_with_env(dir.path(), bad).unwrap_err();
        assert!(
            format!("{err:#}").contains("self_trade_prevention_mode"),
            "{err:#}"
        );
    }

    #[test]
    fn a_wrong_type_names_the_key() {
        let dir = dir_with(Some(("bad", "[api]\nlisten = 7\n")));
        let err = Settings::load_with_env(dir.path(), env(&[("SLUICE_ENV", "bad")])).unwrap_err();
        assert!(format!("{err:#}").contains("api.listen"), "{err:#}");
    }

    #[test]
    fn a_float_amount_is_refused_because_money_never_passes_through_f64() {
        let dir = dir_with(Some(("bad", "[budget]\nallocation_usdt = 0.1\n")));
        let err = Settings::load_with_env(dir.path(), env(&[("SLUICE_ENV", "bad")])).unwrap_err();
        assert!(
            format!("{err:#}").contains("budget.allocation_usdt"),
            "{err:#}"
        );
    }

    #[test]
    fn a_secret_in_a_config_file_is_refused() {
        let dir = dir_with(Some(("leak", "[api]\ntoken = \"hunter2\"\n")));
        let err = Settings::load_with_env(dir.path(), env(&[("SLUICE_ENV", "leak")])).unwrap_err();
        let text = format!("{err:#}");
        assert!(
            text.contains("api.token") && !text.contains("hunter2"),
            "{text}"
        );
    }

    #[test]
    fn secrets_come_from_files_and_never_show() {
        let dir = dir_with(None);
        let secret_path = dir.path().join("secret");
        std::fs::write(&secret_path, "s3cr3t-value\n").expect("write");
        let s = Settings::load_with_env(
            dir.path(),
            env(&[
                (
                    "SLUICE__EXCHANGE__API_SECRET_FILE",
                    secret_path.to_str().expect("utf8"),
                ),
                ("SLUICE__API__TOKEN", "tok-abcdef"),
                ("DATABASE_URL", "postgres://u:dbpass@db/sluice"),
            ]),
        )
        .expect("settings load");
        assert_eq!(
            s.exchange.api_secret.as_ref().map(Secret::expose),
            Some("s3cr3t-value")
        );
        let shown = s.to_redacted_toml().expect("toml") + &format!("{s:?}");
        for leaked in ["s3cr3t-value", "tok-abcdef", "dbpass"] {
            assert!(!shown.contains(leaked), "{leaked} leaked into {shown}");
        }
        // Only where the database is: no user, no password, no database name.
        assert!(shown.contains("url = \"postgres://db\""), "{shown}");
        assert!(!shown.contains("postgres://u"), "{shown}");
    }

    #[test]
    fn config_show_prints_the_effective_hosts_and_the_user_stream_form() {
        let dir = dir_with(None);
        let s = Settings::load_with_env(dir.path(), env(&[("SLUICE__EXCHANGE__VENUE", "demo")]))
            .expect("settings load");
        let shown = s.to_redacted_toml().expect("toml");
        assert!(
            shown.contains("# rest        = https://demo-fapi.binance.com\n"),
            "{shown}"
        );
        assert!(
            shown.contains("# ws          = wss://demo-fstream.binance.com\n"),
            "{shown}"
        );
        assert!(
            shown.contains(
                "# user stream = wss://demo-fstream.binance.com/private/ws?listenKey=<listenKey>&events=ORDER_TRADE_UPDATE/"
            ),
            "{shown}"
        );
        toml::from_str::<toml::Value>(&shown).expect("the host lines are TOML comments");
    }

    #[test]
    fn symbols_accept_a_comma_separated_environment_value() {
        let dir = dir_with(None);
        let s = Settings::load_with_env(
            dir.path(),
            env(&[("SLUICE__EXCHANGE__SYMBOLS", "solusdt, BTCUSDT")]),
        )
        .expect("settings load");
        assert_eq!(s.exchange.symbols, vec!["solusdt", "BTCUSDT"]);
    }

    #[test]
    fn custom_venue_needs_both_urls() {
        let dir = dir_with(None);
        let err =
            Settings::load_with_env(dir.path(), env(&[("SLUICE__EXCHANGE__VENUE", "custom")]))
                .unwrap_err();
        assert!(format!("{err:#}").contains("exchange.venue"));
    }

    #[test]
    fn per_symbol_expectations_load_with_money_as_strings() {
        let dir = dir_with(Some((
            "sym",
            "[symbols.SOLUSDT]\nleverage = 10\nmargin_type = \"isolated\"\nmax_position_usdt = \"50000.5\"\n",
        )));
        let s = Settings::load_with_env(dir.path(), env(&[("SLUICE_ENV", "sym")]))
            .expect("settings load");
        let sol = s.symbols.get("SOLUSDT").expect("SOLUSDT section");
        assert_eq!(sol.leverage, Some(10));
        assert_eq!(sol.margin_type, Some(MarginType::Isolated));
        assert_eq!(
            sol.max_position_usdt.map(|d| d.to_string()),
            Some("50000.5".into())
        );
        assert_eq!(s.preflight.clock_offset_max_ms, 1000);
    }

    #[test]
    fn the_environment_overrides_a_symbol_section_field_by_field() {
        let dir = dir_with(Some((
            "sym",
            "[symbols.SOLUSDT]\nleverage = 10\nmargin_type = \"cross\"\n",
        )));
        let s = Settings::load_with_env(
            dir.path(),
            env(&[
                ("SLUICE_ENV", "sym"),
                ("SLUICE__SYMBOLS__SOLUSDT__LEVERAGE", "5"),
            ]),
        )
        .expect("settings load");
        assert_eq!(s.symbols.len(), 1, "{:?}", s.symbols);
        let sol = s.symbols.get("SOLUSDT").expect("SOLUSDT section");
        assert_eq!(sol.leverage, Some(5));
        assert_eq!(sol.margin_type, Some(MarginType::Cross));
    }

    #[test]
    fn a_symbol_section_for_an_untraded_symbol_or_an_unknown_key_is_an_error() {
        let dir = dir_with(Some(("bad", "[symbols.PEPEUSDT]\nleverage = 5\n")));
        // (Section names are upper-cased on load; errors name them so.)
        let err = Settings::load_with_env(dir.path(), env(&[("SLUICE_ENV", "bad")])).unwrap_err();
        assert!(format!("{err:#}").contains("PEPEUSDT"), "{err:#}");
        let dir = dir_with(Some(("bad", "[symbols.SOLUSDT]\nlev = 5\n")));
        let err = Settings::load_with_env(dir.path(), env(&[("SLUICE_ENV", "bad")])).unwrap_err();
        assert!(format!("{err:#}").contains("lev"), "{err:#}");
        let dir = dir_with(Some(("bad", "[symbols.SOLUSDT]\nleverage = 500\n")));
        let err = Settings::load_with_env(dir.path(), env(&[("SLUICE_ENV", "bad")])).unwrap_err();
        assert!(
            format!("{err:#}").contains("symbols.SOLUSDT.leverage"),
            "{err:#}"
        );
    }

    #[test]
    fn the_silence_grace_defaults_to_five_seconds_and_zero_is_refused_naming_the_key() {
        let dir = dir_with(None);
        let s = Settings::load_with_env(dir.path(), env(&[])).expect("defaults load");
        assert_eq!(s.daemon.user_stream_silence_grace_ms, 5000);
        let zero = env(&[("SLUICE__DAEMON__USER_STREAM_SILENCE_GRACE_MS", "0")]);
        let err = Settings::load_with_env(dir.path(), zero).expect_err("refused");
        assert!(
            format!("{err:#}").contains("daemon.user_stream_silence_grace_ms"),
            "{err:#}"
        );
    }
}
