//! The exchange key as an operator configures it: an HMAC secret, or an Ed25519/RSA
//! private key in a file only sluice's user can read; refusals name the setting.

use std::os::unix::fs::PermissionsExt;

use super::*;
use crate::exchange::binance::sign::KeyKind;

const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/keys/");

/// `fixture` copied into `dir` with `mode`.
fn key_file(dir: &tempfile::TempDir, fixture: &str, mode: u32) -> String {
    let path = dir.path().join(fixture);
    std::fs::copy(format!("{KEYS}{fixture}"), &path).expect("copy fixture");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    path.display().to_string()
}

fn load(secret_env: (&str, &str)) -> anyhow::Result<Settings> {
    Settings::load_builtin_with_env(HashMap::from([
        ("SLUICE__EXCHANGE__API_KEY".to_string(), "key-1".to_string()),
        (secret_env.0.to_string(), secret_env.1.to_string()),
    ]))
}

#[test]
fn a_private_key_file_gives_a_signer_of_its_type() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (fixture, kind) in [
        ("test-only-ed25519.pem", KeyKind::Ed25519),
        ("test-only-rsa2048.pem", KeyKind::Rsa),
        ("test-only-rsa2048.pkcs1.pem", KeyKind::Rsa),
    ] {
        let path = key_file(&dir, fixture, 0o600);
        let s = load(("SLUICE__EXCHANGE__API_SECRET_FILE", &path)).expect("settings load");
        let cfg = s.exchange.binance_config().expect("adapter config");
        assert_eq!(cfg.signer.kind(), kind, "{fixture}");
        let shown = format!("{cfg:?} {s:?}");
        assert!(!shown.contains("PRIVATE KEY"), "{shown}");
    }
    let hmac = load(("SLUICE__EXCHANGE__API_SECRET", "secret-1")).expect("settings load");
    assert_eq!(
        hmac.exchange.signer().expect("signer").kind(),
        KeyKind::Hmac
    );
}

#[test]
fn a_private_key_file_other_users_can_read_is_refused_with_the_fix() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = key_file(&dir, "test-only-ed25519.pem", 0o644);
    let err = format!(
        "{:#}",
        load(("SLUICE__EXCHANGE__API_SECRET_FILE", &path)).unwrap_err()
    );
    assert!(
        err.contains("exchange.api_secret_file") && err.contains("chmod 600"),
        "{err}"
    );
    assert!(err.contains("644"), "{err}");
}

#[test]
fn a_private_key_in_the_environment_is_refused_naming_the_file_setting() {
    let pem = std::fs::read_to_string(format!("{KEYS}test-only-ed25519.pem")).expect("fixture");
    let err = format!(
        "{:#}",
        load(("SLUICE__EXCHANGE__API_SECRET", &pem)).unwrap_err()
    );
    assert!(
        err.contains("exchange.api_secret:") && err.contains("exchange.api_secret_file"),
        "{err}"
    );
    assert!(!err.contains(pem.lines().nth(1).expect("body")), "{err}");
}

#[test]
fn a_key_file_of_an_unusable_kind_is_refused_when_the_settings_load() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ec = key_file(&dir, "test-only-ec-p256.pem", 0o600);
    let err = format!(
        "{:#}",
        load(("SLUICE__EXCHANGE__API_SECRET_FILE", &ec)).unwrap_err()
    );
    assert!(
        err.contains("exchange.api_secret_file") && err.contains("Ed25519 or RSA"),
        "{err}"
    );
    let public = key_file(&dir, "test-only-ed25519.pub.pem", 0o600);
    let err = format!(
        "{:#}",
        load(("SLUICE__EXCHANGE__API_SECRET_FILE", &public)).unwrap_err()
    );
    assert!(err.contains("public key"), "{err}");
}

#[test]
fn key_rotation_rereads_a_private_key_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = key_file(&dir, "test-only-ed25519.pem", 0o600);
    let s = load(("SLUICE__EXCHANGE__API_SECRET_FILE", &path)).expect("settings load");
    // Rewrite the contents only: `fs::copy` would also copy the fixture's mode, which is
    // whatever the checkout gave it (0644 in a fresh clone).
    let rsa = std::fs::read(format!("{KEYS}test-only-rsa2048.pem")).expect("read the RSA key");
    std::fs::write(&path, rsa).expect("replace the key");
    let (key, material) = exchange::reload_exchange_credentials(&s.exchange)
        .expect("re-read")
        .expect("a key file is configured");
    assert_eq!(key, "key-1");
    let signer = crate::exchange::binance::keyfile::signer_from_material(material.expose());
    assert_eq!(signer.expect("usable").kind(), KeyKind::Rsa);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    assert!(exchange::reload_exchange_credentials(&s.exchange).is_err());
}
