use base64::Engine;
use ring::signature::Ed25519KeyPair;

use super::*;
use crate::exchange::binance::keyfile::signer_from_material;

const KAT_SECRET: &str = "2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9";
const ED25519_PEM: &str = include_str!("../../../tests/fixtures/keys/test-only-ed25519.pem");
const ED25519_PUB: &str = include_str!("../../../tests/fixtures/keys/test-only-ed25519.pub.pem");
const RSA_PEM: &str = include_str!("../../../tests/fixtures/keys/test-only-rsa2048.pem");
const RSA_PUB: &str = include_str!("../../../tests/fixtures/keys/test-only-rsa2048.pub.pem");

fn hmac() -> Signer {
    Signer::new(SecretString::from(KAT_SECRET.to_string()))
}

fn b64(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .expect("a base64 signature")
}

/// Binance's published known-answer vector (docs/binance-fapi.md §1.3).
#[test]
fn the_official_known_answer_vector_signs_to_the_published_signature() {
    let payload = "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=9000&timeInForce=GTC&recvWindow=5000&timestamp=1591702613943";
    assert_eq!(
        hmac().sign(payload.as_bytes()).unwrap(),
        "3c661234138461fcc7a7d8746c6558c9842d4e10870d2ecbedf7777cad694af9"
    );
}

#[test]
fn the_signed_query_is_the_known_answer_text_plus_its_signature() {
    let params = [
        ("symbol", "BTCUSDT".to_string()),
        ("side", "BUY".to_string()),
        ("type", "LIMIT".to_string()),
        ("quantity", "1".to_string()),
        ("price", "9000".to_string()),
        ("timeInForce", "GTC".to_string()),
    ];
    let (unsigned, signed) = signed_query(&hmac(), &params, 1591702613943, 5000).unwrap();
    assert_eq!(
        unsigned,
        "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=9000&timeInForce=GTC&recvWindow=5000&timestamp=1591702613943"
    );
    assert!(signed
        .ends_with("&signature=3c661234138461fcc7a7d8746c6558c9842d4e10870d2ecbedf7777cad694af9"));
}

#[test]
fn non_ascii_symbols_are_percent_encoded_before_signing() {
    let signer = Signer::new(SecretString::from("k".to_string()));
    let (unsigned, _) =
        signed_query(&signer, &[("symbol", "币安人生USDT".into())], 1, 5000).unwrap();
    assert!(unsigned.starts_with("symbol=%E5%B8%81"));
    assert!(unsigned.is_ascii());
}

#[test]
fn signer_debug_shows_the_key_type_and_nothing_of_the_key() {
    let signer = Signer::new(SecretString::from("topsecret".to_string()));
    assert_eq!(format!("{signer:?}"), "Signer(hmac, [redacted])");
    let ed = signer_from_material(ED25519_PEM).unwrap();
    let shown = format!("{ed:?}");
    assert_eq!(shown, "Signer(ed25519, [redacted])");
    let body_line = ED25519_PEM.lines().nth(1).unwrap();
    assert!(!shown.contains(body_line));
}

/// RFC 8032 §7.1, TEST 1–3: the Ed25519 primitive signs to the published signatures.
#[test]
fn ed25519_signs_the_rfc_8032_test_vectors_to_their_published_signatures() {
    let vectors = [
        ("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", "",
         "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
        ("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb", "72",
         "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
        ("c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7", "af82",
         "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"),
    ];
    for (seed, message, signature) in vectors {
        let key = Ed25519KeyPair::from_seed_unchecked(&hex::decode(seed).unwrap()).unwrap();
        let sig = Signer::ed25519(key)
            .sign(&hex::decode(message).unwrap())
            .unwrap();
        assert_eq!(hex::encode(b64(&sig)), signature, "seed {seed}");
    }
}

/// A base64 signature with `+`, `/` and `=` goes out as `%2B`, `%2F`, `%3D`: a raw `+`
/// would arrive as a space and the exchange would answer -1022.
#[test]
fn a_base64_signature_with_plus_slash_and_equals_is_percent_encoded_in_the_query() {
    let signer = signer_from_material(ED25519_PEM).unwrap();
    let params = [("symbol", "BTCUSDT".to_string())];
    let (signature, signed) = (1..10_000)
        .find_map(|ts| {
            let (unsigned, signed) = signed_query(&signer, &params, ts, 5000).unwrap();
            let sig = signer.sign(unsigned.as_bytes()).unwrap();
            (sig.contains('+') && sig.contains('/') && sig.contains('=')).then_some((sig, signed))
        })
        .expect("some timestamp gives a signature with + / and =");
    let sent = signed.rsplit_once("&signature=").unwrap().1;
    assert!(
        sent.contains("%2B") && sent.contains("%2F") && sent.contains("%3D"),
        "{sent}"
    );
    assert!(!sent.contains(['+', '/', '=']), "{sent}");
    let decoded: Vec<(String, String)> = form_urlencoded::parse(signed.as_bytes())
        .into_owned()
        .collect();
    assert_eq!(
        decoded.last().unwrap(),
        &("signature".to_string(), signature)
    );
}

/// `openssl` verifies what this signer produced: an implementation other than ring.
fn openssl_verifies(args: &[&str], public_pem: &str, payload: &[u8], signature: &[u8]) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let (key, msg, sig) = (
        dir.path().join("pub.pem"),
        dir.path().join("msg"),
        dir.path().join("sig"),
    );
    std::fs::write(&key, public_pem).unwrap();
    std::fs::write(&msg, payload).unwrap();
    std::fs::write(&sig, signature).unwrap();
    let mut cmd = std::process::Command::new("openssl");
    for a in args {
        cmd.arg(match *a {
            "KEY" => key.as_os_str(),
            "MSG" => msg.as_os_str(),
            "SIG" => sig.as_os_str(),
            other => std::ffi::OsStr::new(other),
        });
    }
    let out = cmd.output().expect("openssl is installed");
    out.status.success()
}

#[test]
fn openssl_verifies_the_ed25519_and_rsa_signatures_of_a_request() {
    let payload = b"symbol=BTCUSDT&side=SELL&type=MARKET&quantity=1.23&recvWindow=5000&timestamp=1671090801999";
    let ed = b64(&signer_from_material(ED25519_PEM)
        .unwrap()
        .sign(payload)
        .unwrap());
    let ed_args = [
        "pkeyutl", "-verify", "-pubin", "-inkey", "KEY", "-rawin", "-in", "MSG", "-sigfile", "SIG",
    ];
    assert!(openssl_verifies(&ed_args, ED25519_PUB, payload, &ed));
    let rsa = b64(&signer_from_material(RSA_PEM)
        .unwrap()
        .sign(payload)
        .unwrap());
    assert_eq!(rsa.len(), 256);
    let rsa_args = [
        "dgst",
        "-sha256",
        "-verify",
        "KEY",
        "-signature",
        "SIG",
        "MSG",
    ];
    assert!(openssl_verifies(&rsa_args, RSA_PUB, payload, &rsa));
    // The check has teeth: a changed payload fails it.
    assert!(!openssl_verifies(&rsa_args, RSA_PUB, b"timestamp=1", &rsa));
    assert!(!openssl_verifies(
        &ed_args,
        ED25519_PUB,
        b"timestamp=1",
        &ed
    ));
}
