use base64::Engine;
use ed25519_dalek::pkcs8::DecodePrivateKey;
use ed25519_dalek::Signer as _;
use rsa::signature::SignatureEncoding;

use super::*;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/keys/");
const PAYLOAD: &str = "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=1&recvWindow=5000&timestamp=1";

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{DIR}{name}")).expect("fixture key")
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn ed25519_sig(payload: &str) -> String {
    let key = ed25519_dalek::SigningKey::from_pkcs8_pem(&fixture("test-only-ed25519.pem")).unwrap();
    b64(&key.sign(payload.as_bytes()).to_bytes())
}

fn rsa_sig(payload: &str) -> String {
    let key = rsa::RsaPrivateKey::from_pkcs8_pem(&fixture("test-only-rsa2048.pem")).unwrap();
    let signer = pkcs1v15::SigningKey::<Sha256>::new(key);
    b64(&signer.sign(payload.as_bytes()).to_bytes())
}

#[test]
fn an_ed25519_public_key_verifies_its_private_keys_signature_and_nothing_else() {
    let key = KeyAuth::from_public_pem(&fixture("test-only-ed25519.pub.pem")).unwrap();
    assert_eq!(key.kind(), "ed25519");
    let sig = ed25519_sig(PAYLOAD);
    assert!(key.verify(PAYLOAD, &sig).is_ok());
    assert_eq!(
        key.verify(&PAYLOAD.replace("=1&", "=2&"), &sig)
            .unwrap_err()
            .code,
        -1022
    );
    assert_eq!(
        key.verify(PAYLOAD, &rsa_sig(PAYLOAD)).unwrap_err().code,
        -1022
    );
    assert_eq!(
        key.verify(PAYLOAD, &crate::auth::sign("s", PAYLOAD))
            .unwrap_err()
            .code,
        -1022
    );
}

#[test]
fn an_rsa_public_key_verifies_its_private_keys_signature_and_nothing_else() {
    let key = KeyAuth::from_public_pem(&fixture("test-only-rsa2048.pub.pem")).unwrap();
    assert_eq!(key.kind(), "rsa");
    let sig = rsa_sig(PAYLOAD);
    assert!(key.verify(PAYLOAD, &sig).is_ok());
    assert_eq!(
        key.verify(&format!("{PAYLOAD}0"), &sig).unwrap_err().code,
        -1022
    );
    assert_eq!(
        key.verify(PAYLOAD, &ed25519_sig(PAYLOAD)).unwrap_err().code,
        -1022
    );
}

/// A client that put the base64 signature into the query without percent-encoding it
/// has its `+` decoded as a space: refused, as Binance refuses it.
#[test]
fn a_signature_whose_plus_arrived_as_a_space_is_refused() {
    let key = KeyAuth::from_public_pem(&fixture("test-only-ed25519.pub.pem")).unwrap();
    let (payload, sig) = (0..1000)
        .map(|i| format!("{PAYLOAD}{i}"))
        .map(|p| {
            let s = ed25519_sig(&p);
            (p, s)
        })
        .find(|(_, s)| s.contains('+'))
        .expect("a signature with a +");
    assert!(key.verify(&payload, &sig).is_ok());
    assert_eq!(
        key.verify(&payload, &sig.replace('+', " "))
            .unwrap_err()
            .code,
        -1022
    );
}

#[test]
fn unusable_public_keys_are_refused_with_binances_key_codes() {
    let code = |name: &str| KeyAuth::from_public_pem(&fixture(name)).unwrap_err().code;
    assert_eq!(code("test-only-ec-p256.pub.pem"), -4056);
    assert_eq!(
        code("test-only-ed25519.pem"),
        -4056,
        "a private key is not a public key"
    );
    assert_eq!(code("test-only-rsa1024.pub.pem"), -4057);
    let damaged = fixture("test-only-rsa2048.pub.pem").replacen(
        "AQEFAAOCAQ8AMIIBCgKCAQEA",
        "AQEFAAOCAQ8AMIIBCgKCAQAA",
        1,
    );
    assert_eq!(KeyAuth::from_public_pem(&damaged).unwrap_err().code, -4057);
    assert_eq!(KeyAuth::from_public_pem("not pem").unwrap_err().code, -4056);
}

#[test]
fn an_hmac_keys_debug_hides_the_secret() {
    let shown = format!("{:?}", KeyAuth::Hmac("topsecret".into()));
    assert!(!shown.contains("topsecret"), "{shown}");
}
