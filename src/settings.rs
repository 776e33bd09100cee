//! Settings: `config/default.toml`, then `config/{SLUICE_ENV}.toml`, then
//! `SLUICE__SECTION__KEY` environment variables (and `DATABASE_URL`).
//!
//! Invariants: an unknown key or a wrong type is an error naming the key; secrets
//! (the API secret, the control-API token) come only from the environment or a
//! `*_file` path, never from a config file, and print as `[redacted]` everywhere.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use rust_decimal::Decimal;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

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
        Raw::Str(s) => s
            .trim()
            .parse::<Decimal>()
            .map_err(|_| serde::de::Error::custom(format!("`{s}` is not a decimal number"))),
        Raw::Int(i) => Ok(Decimal::from(i)),
        Raw::Float(f) => Err(serde::de::Error::custom(format!(
            "{f} is a float; write decimals as strings, e.g. \"{f}\""
        ))),
    }
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
    pub api_secret: Option<Secret>,
    pub api_secret_file: Option<PathBuf>,
    pub recv_window_ms: u64,
    pub request_timeout_ms: u64,
    /// Share of the order-rate budget reserved for risk-reducing orders.
    #[serde(deserialize_with = "de_decimal")]
    pub risk_reserve_share: Decimal,
    /// The position mode the account is expected to be in: `one-way` or `hedge`.
    pub position_mode: String,
    /// Symbols sluice trades; preflight checks each. A TOML list, or a
    /// comma-separated string in the environment (`SLUICE__EXCHANGE__SYMBOLS=BTCUSDT,SOLUSDT`).
    #[serde(deserialize_with = "de_string_list")]
    pub symbols: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSettings {
    pub listen: SocketAddr,
    pub token: Option<Secret>,
    pub token_file: Option<PathBuf>,
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
        settings.validate()?;
        Ok(settings)
    }

    fn read_secret_files(&mut self) -> anyhow::Result<()> {
        if let Some(path) = &self.exchange.api_secret_file {
            self.exchange.api_secret = Some(read_secret_file("exchange.api_secret_file", path)?);
        }
        if let Some(path) = &self.api.token_file {
            self.api.token = Some(read_secret_file("api.token_file", path)?);
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
                Venue::Testnet | Venue::Demo => "wss://fstream.binancefuture.com",
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
        Ok(out)
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

fn read_secret_file(key: &str, path: &Path) -> anyhow::Result<Secret> {
    let raw = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("{key}: cannot read {}: {e}", path.display()))?;
    let value = raw.trim().to_string();
    if value.is_empty() {
        bail!("{key}: {} is empty", path.display());
    }
    Ok(Secret::new(value))
}

fn redact_url_password(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("[redacted]"));
            }
            u.to_string()
        }
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
        assert!(
            shown.contains("postgres://u:%5Bredacted%5D@db/sluice")
                || shown.contains("[redacted]@db")
        );
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
}
