//! Settings, parsed once into the types the rest of the daemon uses (symbols, the
//! position mode, URLs, durations, decimals, secrets), one file per section with its
//! converters beside it: [`DatabaseSettings::connect_options`] and `pool_options`,
//! [`ExchangeSettings::binance_config`]. No later layer parses a settings string.
//!
//! Layers (see `load`): the defaults compiled into the binary, then `config/default.toml`
//! and `config/$SLUICE_ENV.toml` when present, then `SLUICE__SECTION__KEY` environment
//! variables (and `DATABASE_URL`).
//!
//! Invariants: an unknown key, a wrong type or a bad value is an error naming the key and
//! the reason; secrets (the API secret, the control-API token) come only from the
//! environment or a `*_file` path, never from a config file, and print as `[redacted]`
//! everywhere (the database URL shows only its host).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::bail;
use serde::{Deserialize, Serialize};

use crate::domain::Symbol;

mod accounts;
mod api;
mod daemon;
mod database;
mod de;
mod exchange;
mod executor;
#[cfg(test)]
mod key_tests;
mod load;
mod preflight;
mod secret;
mod show;
#[cfg(test)]
mod tests;

pub use accounts::AccountKeys;
pub use api::ApiSettings;
pub use daemon::{BudgetSettings, DaemonSettings};
pub use database::DatabaseSettings;
pub(crate) use database::DatabaseUrl;
pub use exchange::ExchangeSettings;
pub(crate) use exchange::Venue;
pub use executor::ExecutorSettings;
pub(crate) use preflight::MarginType;
pub use preflight::{PreflightSettings, SymbolSettings};
pub use secret::Secret;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TelemetrySettings {
    pub log_format: LogFormat,
    /// An `EnvFilter` directive, e.g. `info,sluice=debug`; `RUST_LOG` wins when set.
    pub(crate) log_filter: String,
}

/// Every setting the daemon reads, validated: one field per config section.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `[database]`: the ledger's Postgres.
    pub database: DatabaseSettings,
    /// `[exchange]`: the venue, its hosts and the credentials.
    pub exchange: ExchangeSettings,
    /// `[api]`: the control API.
    pub api: ApiSettings,
    /// `[budget]`: what opens may spend.
    pub budget: BudgetSettings,
    /// `[daemon]`: how the daemon runs.
    pub daemon: DaemonSettings,
    /// How much the executor sends at once (`[executor]`; every key has a default).
    #[serde(default)]
    pub executor: ExecutorSettings,
    pub(crate) telemetry: TelemetrySettings,
    /// What `sluice preflight` (and the daemon at start) allows.
    #[serde(default)]
    pub preflight: PreflightSettings,
    /// Per-symbol expectations (`[symbols.SOLUSDT]`), all optional; preflight checks
    /// the account against each one that is set. Keyed by symbol, whatever case the
    /// section was written in.
    #[serde(default, deserialize_with = "de::symbol_sections")]
    pub symbols: BTreeMap<Symbol, SymbolSettings>,
    /// `[accounts.<name>]`: the key of each account of `daemon.accounts` (one of them
    /// may use `[exchange]`'s instead); see `Settings::for_account`.
    #[serde(default)]
    pub accounts: BTreeMap<String, AccountKeys>,
}

impl Settings {
    /// The settings for the CLI: `config_dir` is `--config-dir` / `SLUICE_CONFIG_DIR` when
    /// given (it must be a directory), else `./config` when it exists, else none (the
    /// built-in defaults and the environment only).
    pub fn load(config_dir: Option<&Path>) -> anyhow::Result<Settings> {
        let env = std::env::vars().collect();
        match config_dir {
            Some(dir) => Self::load_with_env(dir, env),
            None => {
                let implicit = Path::new("config");
                load::load(implicit.is_dir().then_some(implicit), env)
            }
        }
    }

    /// The settings with `config_dir`'s files over the built-in defaults, and the
    /// environment passed in (tests use this instead of mutating the process environment).
    pub fn load_with_env(
        config_dir: &Path,
        env: HashMap<String, String>,
    ) -> anyhow::Result<Settings> {
        if !config_dir.is_dir() {
            bail!(
                "--config-dir {}: not a directory (without it, the built-in defaults apply)",
                config_dir.display()
            );
        }
        load::load(Some(config_dir), env)
    }

    /// The built-in defaults and `env` only, as from a directory without `config/`.
    #[cfg(test)]
    pub(crate) fn load_builtin_with_env(env: HashMap<String, String>) -> anyhow::Result<Settings> {
        load::load(None, env)
    }

    fn read_secret_files(&mut self) -> anyhow::Result<()> {
        if let Some(path) = &self.exchange.api_key_file {
            let key = secret::read_secret_file("exchange.api_key_file", path)?;
            self.exchange.api_key = Some(key.expose().to_string());
        }
        if let Some(path) = &self.exchange.api_secret_file {
            let value = secret::read_key_file("exchange.api_secret_file", path)?;
            self.exchange.api_secret = Some(value);
        }
        for (name, keys) in &mut self.accounts {
            keys.read_files(name)?;
        }
        Ok(())
    }

    /// What one field's type cannot say: rules across fields and value ranges.
    fn validate(&self) -> anyhow::Result<()> {
        self.exchange.validate()?;
        self.budget.validate()?;
        accounts::validate(self)?;
        preflight::validate_sections(&self.symbols, &self.exchange.symbols)
    }
}
