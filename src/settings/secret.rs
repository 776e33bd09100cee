//! Secret values in the settings: the exchange API secret or private key, the control-API
//! token and the database URL's password.
//!
//! Invariants: `Debug`, `Display` and `Serialize` print `[redacted]`; the only way to the
//! value is [`Secret::expose`], and the memory is zeroised on drop (`secrecy`). A private
//! key file that other users may read is refused, unread.

use std::fmt;
use std::path::Path;

use anyhow::bail;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A secret value (see the module invariant).
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    /// Wrap `value`; from here on it prints as `[redacted]`.
    pub fn new(value: String) -> Self {
        Secret(SecretString::from(value))
    }
    pub(crate) fn expose(&self) -> &str {
        self.0.expose_secret()
    }
    pub(crate) fn into_secret_string(self) -> SecretString {
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

/// A secret read from a file, trimmed; `key` names the setting in errors. The error
/// never contains the file's content.
pub(super) fn read_secret_file(key: &str, path: &Path) -> anyhow::Result<Secret> {
    let raw = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("{key}: cannot read {}: {e}", path.display()))?;
    let value = raw.trim().to_string();
    if value.is_empty() {
        bail!("{key}: {} is empty", path.display());
    }
    Ok(Secret::new(value))
}

/// The exchange key file: an HMAC secret or a PEM private key. A PEM private key must
/// be readable by its owner only (like ssh's keys): a file other users can read has
/// leaked the key already or soon will, so it is refused before sluice signs with it.
pub(super) fn read_key_file(key: &str, path: &Path) -> anyhow::Result<Secret> {
    let value = read_secret_file(key, path)?;
    if crate::exchange::binance::keyfile::is_pem(value.expose()) {
        refuse_shared_file(key, path)?;
    }
    Ok(value)
}

#[cfg(unix)]
fn refuse_shared_file(key: &str, path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|e| anyhow::anyhow!("{key}: cannot read {}: {e}", path.display()))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        bail!(
            "{key}: {} holds a private key and is readable by other users (mode {:o}); \
             allow only its owner: chmod 600 {}",
            path.display(),
            mode & 0o777,
            path.display()
        );
    }
    Ok(())
}

#[cfg(not(unix))]
fn refuse_shared_file(_key: &str, _path: &Path) -> anyhow::Result<()> {
    Ok(())
}
