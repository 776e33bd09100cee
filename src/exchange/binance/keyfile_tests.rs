use super::*;
use crate::exchange::binance::sign::KeyKind;

const ED25519_PEM: &str = include_str!("../../../tests/fixtures/keys/test-only-ed25519.pem");
const ED25519_PUB: &str = include_str!("../../../tests/fixtures/keys/test-only-ed25519.pub.pem");
const RSA_PEM: &str = include_str!("../../../tests/fixtures/keys/test-only-rsa2048.pem");
const RSA_PKCS1: &str = include_str!("../../../tests/fixtures/keys/test-only-rsa2048.pkcs1.pem");
const EC_PEM: &str = include_str!("../../../tests/fixtures/keys/test-only-ec-p256.pem");

fn refusal(material: &str) -> String {
    signer_from_material(material)
        .expect_err("refused")
        .to_string()
}

#[test]
fn a_secret_string_is_an_hmac_key_and_pem_files_are_told_apart_by_their_algorithm() {
    assert_eq!(
        signer_from_material(" abc123 \n").unwrap().kind(),
        KeyKind::Hmac
    );
    assert_eq!(
        signer_from_material(ED25519_PEM).unwrap().kind(),
        KeyKind::Ed25519
    );
    assert_eq!(signer_from_material(RSA_PEM).unwrap().kind(), KeyKind::Rsa);
    assert_eq!(
        signer_from_material(RSA_PKCS1).unwrap().kind(),
        KeyKind::Rsa
    );
}

#[test]
fn the_pkcs1_and_pkcs8_forms_of_one_rsa_key_sign_alike() {
    let payload = b"timestamp=1";
    let a = signer_from_material(RSA_PEM)
        .unwrap()
        .sign(payload)
        .unwrap();
    let b = signer_from_material(RSA_PKCS1)
        .unwrap()
        .sign(payload)
        .unwrap();
    assert_eq!(a, b);
}

#[test]
fn a_pem_key_of_another_algorithm_is_refused_naming_it() {
    let e = refusal(EC_PEM);
    assert!(
        e.contains("1.2.840.10045.2.1") && e.contains("Ed25519 or RSA"),
        "{e}"
    );
}

#[test]
fn a_public_key_an_encrypted_key_and_an_unknown_label_are_refused_with_the_reason() {
    assert!(refusal(ED25519_PUB).contains("public key"));
    let encrypted =
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
    assert!(refusal(encrypted).contains("encrypted"));
    let cert = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    assert!(refusal(cert).contains("`CERTIFICATE`"));
}

#[test]
fn a_damaged_key_file_is_refused_and_the_error_shows_none_of_it() {
    let body = RSA_PEM.lines().nth(3).unwrap();
    let truncated: String = RSA_PEM.lines().take(6).collect::<Vec<_>>().join("\n");
    let e = refusal(&truncated);
    assert!(!e.contains(body), "{e}");
    let altered = ED25519_PEM.replacen("MC4CAQAw", "MC8CAQAw", 1);
    let e = refusal(&altered);
    assert!(!e.contains(ED25519_PEM.lines().nth(1).unwrap()), "{e}");
    assert!(refusal("  \n").contains("empty"));
}
