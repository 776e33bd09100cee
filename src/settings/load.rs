//! Where the settings come from, each layer overriding the one before:
//! 1. the defaults compiled into the binary (`config/default.toml` of the source tree),
//!    so `sluice` runs from any directory;
//! 2. `<config dir>/default.toml`, when that file exists;
//! 3. with `SLUICE_ENV=<name>`: `<config dir>/<name>.toml`, else the built-in file of that
//!    name (`paper`, `testnet`, `production`), else an error;
//! 4. `SLUICE__SECTION__KEY` environment variables, and `DATABASE_URL` for
//!    `database.url` unless `SLUICE__DATABASE__URL` is set.
//!
//! Invariant: a secret in a config file is refused before anything else is read, so a
//! leaked secret in a committed file never becomes a working configuration.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{bail, Context};
use config::builder::DefaultState;
use config::{ConfigBuilder, File, FileFormat};

use super::Settings;

/// The files compiled into the binary: `default` always applies, the others by `SLUICE_ENV`.
const BUILT_IN: [(&str, &str); 4] = [
    ("default", include_str!("../../config/default.toml")),
    ("paper", include_str!("../../config/paper.toml")),
    ("testnet", include_str!("../../config/testnet.toml")),
    ("production", include_str!("../../config/production.toml")),
];

/// Keys that hold secrets: they may come only from the environment or a `*_file`.
const SECRET_KEYS: [&str; 2] = ["exchange.api_secret", "api.token"];

/// Settings from the layers above; `dir` is the config directory, if any.
pub(super) fn load(dir: Option<&Path>, env: HashMap<String, String>) -> anyhow::Result<Settings> {
    let files = file_layers(dir, env.get("SLUICE_ENV").map(String::as_str))?;
    refuse_secrets_in_files(&files)?;
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
    settings.validate()?;
    Ok(settings)
}

fn built_in(name: &str) -> Option<&'static str> {
    BUILT_IN
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| *text)
}

fn file_layers(
    dir: Option<&Path>,
    env_name: Option<&str>,
) -> anyhow::Result<ConfigBuilder<DefaultState>> {
    let defaults = built_in("default").unwrap_or_default();
    let mut b = config::Config::builder().add_source(File::from_str(defaults, FileFormat::Toml));
    if let Some(path) = dir.map(|d| d.join("default.toml")).filter(|p| p.is_file()) {
        b = b.add_source(File::from(path));
    }
    let Some(name) = env_name.map(str::trim).filter(|n| !n.is_empty()) else {
        return Ok(b);
    };
    if let Some(path) = dir.map(|d| d.join(format!("{name}.toml"))) {
        if path.is_file() {
            return Ok(b.add_source(File::from(path)));
        }
    }
    match built_in(name).filter(|_| name != "default") {
        Some(text) => Ok(b.add_source(File::from_str(text, FileFormat::Toml))),
        None => {
            let looked = dir.map_or_else(
                || "no config directory".to_string(),
                |d| format!("no {}", d.join(format!("{name}.toml")).display()),
            );
            bail!(
                "SLUICE_ENV={name}: {looked}, and no built-in `{name}` (built in: paper, testnet, production)"
            )
        }
    }
}

fn refuse_secrets_in_files(files: &ConfigBuilder<DefaultState>) -> anyhow::Result<()> {
    let file_only = files
        .clone()
        .build()
        .context("failed to read the config files")?;
    for key in SECRET_KEYS {
        if file_only.get::<String>(key).is_ok() {
            bail!(
                "{key}: secrets may not be set in a config file; use the environment variable SLUICE__{} or `{key}_file`",
                key.replace('.', "__").to_uppercase()
            );
        }
    }
    if let Ok(accounts) = file_only.get_table("accounts") {
        for (name, section) in accounts {
            let has_secret = section
                .into_table()
                .is_ok_and(|t| t.contains_key("api_secret"));
            if has_secret {
                bail!(
                    "accounts.{name}.api_secret: secrets may not be set in a config file; use the environment variable SLUICE__ACCOUNTS__{}__API_SECRET or `api_secret_file`",
                    name.to_uppercase()
                );
            }
        }
    }
    Ok(())
}
