//! Several accounts in one daemon (docs/accounts.md): `daemon.accounts` lists the
//! accounts it may serve, `daemon.max_accounts` how many it leads at once, and
//! `[accounts.<name>]` holds each account's key (`SLUICE__ACCOUNTS__B__API_KEY`, ...).
//!
//! Invariants: at most one served account uses `[exchange]`'s key, every other one has
//! its own key pair (two accounts with one key would be one Binance account traded
//! twice); a key is never written to the ledger; an `[accounts.<name>]` section for an account the daemon does not serve is
//! refused (a typo would otherwise leave an account without its key); with
//! `daemon.accounts` empty nothing here changes the single-account daemon.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{secret, Secret, Settings};

/// `[accounts.<name>]`: where one account's key comes from (as in `[exchange]`).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountKeys {
    /// The account's API key.
    pub api_key: Option<String>,
    /// A file holding the API key.
    pub(crate) api_key_file: Option<PathBuf>,
    /// The account's HMAC secret (environment only).
    pub api_secret: Option<Secret>,
    /// A file holding the HMAC secret or a private key in PEM.
    pub(crate) api_secret_file: Option<PathBuf>,
}

impl AccountKeys {
    /// Read the `*_file` entries into the values (errors name `accounts.<name>.<key>`).
    pub(super) fn read_files(&mut self, name: &str) -> anyhow::Result<()> {
        if let Some(path) = &self.api_key_file {
            let key = secret::read_secret_file(&format!("accounts.{name}.api_key_file"), path)?;
            self.api_key = Some(key.expose().to_string());
        }
        if let Some(path) = &self.api_secret_file {
            let what = format!("accounts.{name}.api_secret_file");
            self.api_secret = Some(secret::read_key_file(&what, path)?);
        }
        Ok(())
    }

    fn is_complete(&self) -> bool {
        self.api_key.is_some() && self.api_secret.is_some()
    }
}

impl Settings {
    /// The accounts this daemon serves, in order of preference; empty: the single
    /// account of `exchange.account`, exactly as before `daemon.accounts` existed.
    pub(crate) fn served_accounts(&self) -> &[String] {
        &self.daemon.accounts
    }

    /// How many accounts this daemon leads at once (`daemon.max_accounts`, else all).
    pub(crate) fn account_cap(&self) -> usize {
        let all = self.daemon.accounts.len().max(1);
        self.daemon.max_accounts.map_or(all, |n| n.get().min(all))
    }

    /// The settings one served account runs with: these settings with
    /// `exchange.account = name` and, when `[accounts.<name>]` is given, its key in place
    /// of `[exchange]`'s (key-loss recovery then re-reads that account's files).
    pub(crate) fn for_account(&self, name: &str) -> Settings {
        let mut s = self.clone();
        s.exchange.account = Some(name.to_string());
        if let Some(keys) = self.accounts.get(name) {
            s.exchange.api_key = keys.api_key.clone();
            s.exchange.api_key_file = keys.api_key_file.clone();
            s.exchange.api_secret = keys.api_secret.clone();
            s.exchange.api_secret_file = keys.api_secret_file.clone();
        }
        s
    }

    /// These settings for one account only (`--account NAME` on the command line): with
    /// that account's own key when `[accounts.<name>]` has one, and no other account
    /// served.
    pub(crate) fn only_account(&self, name: &str) -> Settings {
        let mut s = self.for_account(name);
        s.daemon.accounts.clear();
        s
    }
}

/// `daemon.accounts`, `daemon.max_accounts` and `[accounts.*]` together.
pub(super) fn validate(s: &Settings) -> anyhow::Result<()> {
    let names = &s.daemon.accounts;
    for (i, name) in names.iter().enumerate() {
        if !crate::ledger::valid_account_name(name) {
            anyhow::bail!(
                "daemon.accounts: '{name}' is not 1-32 of a-z 0-9 _ - starting with a letter or digit"
            );
        }
        if names[..i].contains(name) {
            anyhow::bail!("daemon.accounts: '{name}' is listed twice");
        }
        let own = s.accounts.get(name);
        if own.is_some_and(|k| !k.is_complete()) {
            anyhow::bail!(
                "accounts.{name}: needs both api_key (or api_key_file) and api_secret (or api_secret_file)"
            );
        }
        let earlier_without = names[..i].iter().find(|n| !s.accounts.contains_key(*n));
        if let (None, Some(other)) = (own, earlier_without) {
            anyhow::bail!(
                "accounts.{name}: not set; only one account of daemon.accounts ('{other}') may use [exchange]'s key, every other one needs its own (SLUICE__ACCOUNTS__{}__API_KEY and __API_SECRET, or the *_file keys)",
                name.to_uppercase()
            );
        }
    }
    if let Some(stray) = s.accounts.keys().find(|k| !names.contains(k)) {
        anyhow::bail!("accounts.{stray}: this daemon does not serve '{stray}' (daemon.accounts)");
    }
    if !names.is_empty() && s.exchange.account.is_some() {
        anyhow::bail!(
            "exchange.account: not with daemon.accounts (the daemon serves the accounts listed there)"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn load(env: &[(&str, &str)]) -> anyhow::Result<Settings> {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::load_builtin_with_env(env)
    }

    #[test]
    fn each_served_account_runs_with_its_own_key_and_one_may_use_the_exchange_key() {
        let s = load(&[
            ("SLUICE__EXCHANGE__API_KEY", "mainKey"),
            ("SLUICE__EXCHANGE__API_SECRET", "mainSecret"),
            ("SLUICE__DAEMON__ACCOUNTS", "main,b"),
            ("SLUICE__DAEMON__MAX_ACCOUNTS", "5"),
            ("SLUICE__ACCOUNTS__B__API_KEY", "bKey"),
            ("SLUICE__ACCOUNTS__B__API_SECRET", "bSecret"),
        ])
        .expect("settings");
        assert_eq!(s.served_accounts(), ["main", "b"]);
        assert_eq!(s.account_cap(), 2, "the cap never exceeds the list");
        let b = s.for_account("b");
        assert_eq!(b.exchange.account.as_deref(), Some("b"));
        assert_eq!(b.exchange.api_key.as_deref(), Some("bKey"));
        let main = s.for_account("main");
        assert_eq!(main.exchange.api_key.as_deref(), Some("mainKey"));
        assert!(
            !format!("{b:?}").contains("bSecret"),
            "Debug hides the secret"
        );
    }

    #[test]
    fn a_second_account_without_its_own_key_is_refused_naming_the_section() {
        let err = load(&[("SLUICE__DAEMON__ACCOUNTS", "main,c")]).expect_err("refused");
        assert!(err.to_string().contains("accounts.c"), "{err}");
        let half = load(&[
            ("SLUICE__DAEMON__ACCOUNTS", "main,c"),
            ("SLUICE__ACCOUNTS__C__API_KEY", "cKey"),
        ])
        .expect_err("refused");
        assert!(half.to_string().contains("api_secret"), "{half}");
    }

    #[test]
    fn a_key_for_an_account_not_served_and_a_bad_name_are_refused() {
        let stray = load(&[
            ("SLUICE__DAEMON__ACCOUNTS", "main"),
            ("SLUICE__ACCOUNTS__D__API_KEY", "dKey"),
            ("SLUICE__ACCOUNTS__D__API_SECRET", "dSecret"),
        ])
        .expect_err("refused");
        assert!(stray.to_string().contains("accounts.d"), "{stray}");
        let bad = load(&[("SLUICE__DAEMON__ACCOUNTS", "main,Not Ok")]).expect_err("refused");
        assert!(bad.to_string().contains("daemon.accounts"), "{bad}");
    }

    #[test]
    fn the_command_line_account_runs_alone_with_its_own_key() {
        let s = load(&[
            ("SLUICE__EXCHANGE__API_KEY", "mainKey"),
            ("SLUICE__EXCHANGE__API_SECRET", "mainSecret"),
            ("SLUICE__DAEMON__ACCOUNTS", "main,b"),
            ("SLUICE__ACCOUNTS__B__API_KEY", "bKey"),
            ("SLUICE__ACCOUNTS__B__API_SECRET", "bSecret"),
        ])
        .expect("settings");
        let b = s.only_account("b");
        assert!(b.served_accounts().is_empty());
        assert_eq!(b.exchange.account.as_deref(), Some("b"));
        assert_eq!(
            b.exchange.api_key.as_deref(),
            Some("bKey"),
            "b's key, not main's"
        );
    }

    #[test]
    fn without_daemon_accounts_the_daemon_serves_one_account_as_before() {
        let s = load(&[]).expect("settings");
        assert!(s.served_accounts().is_empty());
        assert_eq!(s.account_cap(), 1);
    }

    #[test]
    fn an_accounts_secret_in_a_config_file_is_refused_and_its_secret_file_is_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let leak = "[daemon]\naccounts = [\"main\", \"b\"]\n[accounts.b]\napi_key = \"bKey\"\napi_secret = \"hunter2\"\n";
        std::fs::write(dir.path().join("leak.toml"), leak).expect("write");
        let env: HashMap<String, String> = [("SLUICE_ENV".to_string(), "leak".to_string())].into();
        let err = Settings::load_with_env(dir.path(), env).expect_err("refused");
        let text = format!("{err:#}");
        assert!(
            text.contains("accounts.b.api_secret") && !text.contains("hunter2"),
            "{text}"
        );

        let secret = dir.path().join("b.secret");
        std::fs::write(&secret, "bFromFile\n").expect("write");
        let s = load(&[
            ("SLUICE__DAEMON__ACCOUNTS", "main,b"),
            ("SLUICE__ACCOUNTS__B__API_KEY", "bKey"),
            (
                "SLUICE__ACCOUNTS__B__API_SECRET_FILE",
                secret.to_str().expect("utf8"),
            ),
        ])
        .expect("settings");
        let b = s.for_account("b");
        assert_eq!(
            b.exchange.api_secret.as_ref().map(Secret::expose),
            Some("bFromFile")
        );
        assert_eq!(
            b.exchange.api_secret_file.as_deref(),
            Some(secret.as_path())
        );
    }
}
