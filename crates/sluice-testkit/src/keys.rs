//! Ed25519 and RSA API keys for tests: the committed TEST-ONLY key pairs in
//! `tests/fixtures/keys/`, a scenario whose test account holds a public key instead of an
//! HMAC secret, the adapter signing with the private half, and a private key file only
//! its user can read (as the daemon's settings demand).

use std::path::{Path, PathBuf};

use sluice::exchange::binance::signer_from_material;
use sluice::exchange::binance::BinanceConfig;

use crate::account::{Scenario, SimHandle, KEY};

/// A TEST-ONLY key pair in `tests/fixtures/keys/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TestKey {
    Ed25519,
    /// RSA 2048 in PKCS#8 form (`BEGIN PRIVATE KEY`).
    Rsa,
    /// The same RSA key in the older PKCS#1 form (`BEGIN RSA PRIVATE KEY`).
    RsaPkcs1,
}

impl TestKey {
    fn files(self) -> (&'static str, &'static str) {
        match self {
            TestKey::Ed25519 => ("test-only-ed25519.pem", "test-only-ed25519.pub.pem"),
            TestKey::Rsa => ("test-only-rsa2048.pem", "test-only-rsa2048.pub.pem"),
            TestKey::RsaPkcs1 => ("test-only-rsa2048.pkcs1.pem", "test-only-rsa2048.pub.pem"),
        }
    }

    /// The private key's PEM text.
    pub fn private_pem(self) -> String {
        fixture(self.files().0)
    }

    /// The public key's PEM text (what a user uploads to Binance).
    pub fn public_pem(self) -> String {
        fixture(self.files().1)
    }

    /// The private key copied to `dir` with mode 0600 (git does not keep modes).
    pub fn private_key_file(self, dir: &Path) -> PathBuf {
        let path = dir.join(self.files().0);
        std::fs::write(&path, self.private_pem()).expect("key file");
        set_mode(&path, 0o600);
        path
    }
}

/// A file under `tests/fixtures/keys/`.
pub fn fixture(name: &str) -> String {
    let path = crate::paths::repo_root()
        .join("tests/fixtures/keys")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Sets a file's permission bits (Unix).
pub fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// As [`crate::account::scenario`], with the test account registered by `key`'s public
/// half instead of an HMAC secret.
pub fn scenario_with_key(key: TestKey, extra: &str, account_extra: &str) -> Scenario {
    let text = format!(
        "{extra}\n[[accounts]]\napi_key = \"{KEY}\"\npublic_key_pem = \"\"\"\n{}\"\"\"\nusdt = \"1000000\"\n{account_extra}\n",
        key.public_pem()
    );
    Scenario::from_toml_str(&text).expect("test scenario parses")
}

/// The adapter's settings for the test account on `sim`, signing with `key`.
pub fn config_with_key(sim: &SimHandle, key: TestKey) -> BinanceConfig {
    let mut cfg = crate::adapter::config(sim);
    cfg.signer = signer_from_material(&key.private_pem()).expect("test key parses");
    cfg
}
