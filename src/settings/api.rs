//! `[api]`: where the control API listens and who may drive it.
//!
//! Invariants: a token is the default, also on loopback. It comes from
//! `SLUICE__API__TOKEN` or from `api.token_file` (default `<state dir>/control.token`,
//! see [`default_token_file`]); the daemon generates that file (mode 0600) on first run
//! and the CLI reads the same file, so nobody has to copy a token by hand. Token-less
//! operation needs `api.auth = "none"` (loopback only). A blank token, from the
//! environment or a file, is refused at start: it would make a daemon nobody can control.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::bail;
use serde::{Deserialize, Serialize};

use super::de::{positive_millis, string_list};
use super::secret::{read_secret_file, Secret};

/// How `/v1` requests are authenticated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ApiAuth {
    /// `Authorization: Bearer <token>` on every `/v1` request (the default).
    #[default]
    Token,
    /// No token: an explicit opt-in, allowed on a loopback listen address only.
    None,
}

/// `[api]`: where the control API listens and how requests are authenticated.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSettings {
    /// The address the API binds; a non-loopback address requires a token.
    pub listen: SocketAddr,
    /// The bearer token, from `SLUICE__API__TOKEN` only (never a config file).
    pub token: Option<Secret>,
    /// A file holding the token, generated on first run when absent.
    pub token_file: Option<PathBuf>,
    #[serde(default)]
    pub(crate) auth: ApiAuth,
    /// Web origins (`https://desk.example`) whose pages may call the API; default none:
    /// a request carrying any other `Origin` header is refused (403).
    #[serde(default, deserialize_with = "string_list")]
    pub(crate) allowed_origins: Vec<String>,
    /// `Host` header values accepted besides the listen address, `localhost:<port>` and
    /// `127.0.0.1:<port>` (DNS rebinding defence).
    #[serde(default, deserialize_with = "string_list")]
    pub(crate) allowed_hosts: Vec<String>,
    /// Concurrent API connections at most; more wait in the kernel's backlog, so the
    /// daemon's own database and exchange sockets always find a free descriptor.
    #[serde(default = "default_max_connections")]
    pub max_connections: NonZeroUsize,
    /// A client must finish sending its request headers within this
    /// (`header_read_timeout_ms`).
    #[serde(
        rename = "header_read_timeout_ms",
        with = "positive_millis",
        default = "default_header_read_timeout"
    )]
    pub(crate) header_read_timeout: Duration,
    /// A keep-alive connection with no request in flight is closed after this
    /// (`idle_timeout_ms`).
    #[serde(
        rename = "idle_timeout_ms",
        with = "positive_millis",
        default = "default_idle_timeout"
    )]
    pub(crate) idle_timeout: Duration,
    /// `GET /v1/events` keeps events this long (`events_retention_hours`, default 168 =
    /// 7 days); a client resuming from an older `since` is told so (410).
    #[serde(default = "default_events_retention_hours")]
    pub events_retention_hours: std::num::NonZeroU32,
}

fn default_max_connections() -> NonZeroUsize {
    NonZeroUsize::MIN.saturating_add(127)
}
fn default_events_retention_hours() -> std::num::NonZeroU32 {
    std::num::NonZeroU32::MIN.saturating_add(167)
}
impl ApiSettings {
    /// [`ApiSettings::events_retention_hours`] as a duration.
    pub fn events_retention(&self) -> Duration {
        Duration::from_secs(u64::from(self.events_retention_hours.get()) * 3600)
    }
}
fn default_header_read_timeout() -> Duration {
    Duration::from_secs(5)
}
fn default_idle_timeout() -> Duration {
    Duration::from_secs(30)
}

/// `<state dir>/control.token`: `$STATE_DIRECTORY` (systemd `StateDirectory=`), else
/// `$XDG_STATE_HOME/sluice`, else `$HOME/.local/state/sluice`; None without any of them.
pub(crate) fn default_token_file(env: &HashMap<String, String>) -> Option<PathBuf> {
    let non_empty = |k: &str| env.get(k).filter(|v| !v.trim().is_empty());
    let dir = if let Some(d) = non_empty("STATE_DIRECTORY") {
        PathBuf::from(d.split(':').next().unwrap_or(d))
    } else if let Some(d) = non_empty("XDG_STATE_HOME") {
        Path::new(d).join("sluice")
    } else {
        Path::new(non_empty("HOME")?).join(".local/state/sluice")
    };
    Some(dir.join("control.token"))
}

impl ApiSettings {
    /// After loading: refuse a blank token, fill in the default token file and read it
    /// when it exists (the daemon creates a missing one: [`ApiSettings::ensure_token`]).
    pub(super) fn resolve_token(&mut self, env: &HashMap<String, String>) -> anyhow::Result<()> {
        if let Some(t) = &self.token {
            if t.expose().trim().is_empty() {
                bail!(
                    "api.token: SLUICE__API__TOKEN is set but blank; set a real token or unset it"
                );
            }
        }
        if self.auth == ApiAuth::None {
            if self.token.is_some() || self.token_file.is_some() {
                bail!("api.auth: `none` contradicts the api.token / api.token_file that is set");
            }
            return Ok(());
        }
        if self.token.is_some() {
            return Ok(());
        }
        if self.token_file.is_none() {
            self.token_file = default_token_file(env);
        }
        if let Some(path) = &self.token_file {
            if path.exists() {
                self.token = Some(read_secret_file("api.token_file", path)?);
            }
        }
        Ok(())
    }

    /// The daemon's start: with `auth = "token"` and no token yet, generate one into
    /// `api.token_file` (created with mode 0600, never overwritten).
    pub(crate) fn ensure_token(&mut self) -> anyhow::Result<()> {
        if self.auth == ApiAuth::None || self.token.is_some() {
            return Ok(());
        }
        let Some(path) = self.token_file.clone() else {
            bail!("api.token_file: no state directory to keep the generated control token in (no STATE_DIRECTORY, XDG_STATE_HOME or HOME); set api.token_file or SLUICE__API__TOKEN");
        };
        let token = generate_token();
        write_new_secret_file(&path, &token).map_err(|e| {
            anyhow::anyhow!("api.token_file: cannot create {}: {e}", path.display())
        })?;
        tracing::info!(path = %path.display(), "generated the control API token (mode 0600); the CLI reads it from there");
        self.token = Some(Secret::new(token));
        Ok(())
    }
}

fn generate_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn write_new_secret_file(path: &Path, value: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(value.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_token_file_lives_in_the_state_directory() {
        let systemd = env(&[("STATE_DIRECTORY", "/var/lib/sluice"), ("HOME", "/h")]);
        assert_eq!(
            default_token_file(&systemd),
            Some(PathBuf::from("/var/lib/sluice/control.token"))
        );
        let xdg = env(&[("XDG_STATE_HOME", "/x"), ("HOME", "/h")]);
        assert_eq!(
            default_token_file(&xdg),
            Some(PathBuf::from("/x/sluice/control.token"))
        );
        let home = env(&[("HOME", "/h")]);
        assert_eq!(
            default_token_file(&home),
            Some(PathBuf::from("/h/.local/state/sluice/control.token"))
        );
        assert_eq!(default_token_file(&env(&[])), None);
    }

    fn api(token: Option<&str>, file: Option<PathBuf>) -> ApiSettings {
        ApiSettings {
            listen: "127.0.0.1:7878".parse().expect("addr"),
            token: token.map(|t| Secret::new(t.into())),
            token_file: file,
            auth: ApiAuth::Token,
            allowed_origins: Vec::new(),
            allowed_hosts: Vec::new(),
            max_connections: default_max_connections(),
            header_read_timeout: default_header_read_timeout(),
            idle_timeout: default_idle_timeout(),
            events_retention_hours: default_events_retention_hours(),
        }
    }

    #[test]
    fn a_blank_token_from_the_environment_is_refused() {
        for blank in ["", "  ", "\t"] {
            let err = api(Some(blank), None).resolve_token(&env(&[])).unwrap_err();
            assert!(format!("{err:#}").contains("api.token"), "{err:#}");
        }
    }

    #[test]
    fn the_first_start_generates_a_private_token_the_next_load_reads() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let state = dir.path().to_str().expect("utf-8").to_string();
        let vars = env(&[("XDG_STATE_HOME", &state)]);
        let mut first = api(None, None);
        first.resolve_token(&vars).expect("resolve");
        assert!(first.token.is_none(), "no file yet");
        first.ensure_token().expect("generate");
        let path = dir.path().join("sluice/control.token");
        let mode = std::fs::metadata(&path).expect("file").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let mut again = api(None, None);
        again.resolve_token(&vars).expect("resolve");
        assert_eq!(
            again.token.as_ref().map(Secret::expose),
            first.token.as_ref().map(Secret::expose)
        );
        assert!(first.token.as_ref().map(|t| t.expose().len()) >= Some(32));
    }

    #[test]
    fn token_less_operation_is_an_explicit_opt_in_only() {
        let mut none = api(None, None);
        none.auth = ApiAuth::None;
        none.resolve_token(&env(&[("HOME", "/h")]))
            .expect("resolve");
        none.ensure_token().expect("nothing to generate");
        assert!(none.token.is_none() && none.token_file.is_none());
        let mut contradiction = api(Some("t0k"), None);
        contradiction.auth = ApiAuth::None;
        assert!(contradiction.resolve_token(&env(&[])).is_err());
    }
}
