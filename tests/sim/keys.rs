//! Ed25519 and RSA API keys at the simulator's edge: scenario and admin-API registration
//! (refusals naming the field, Binance's -4056/-4057), and signatures checked as they
//! arrive on the wire, percent-decoding included.

use serde_json::json;
use sluice::exchange::binance::signer_from_material;
use sluice_sim::Scenario;
use sluice_testkit::keys::{fixture, scenario_with_key, TestKey};
use sluice_testkit::sim_client::*;

fn account_toml(key_lines: &str) -> String {
    format!("[[accounts]]\napi_key = \"acct1\"\n{key_lines}\nusdt = \"100\"\n")
}

#[test]
fn scenario_key_errors_name_the_field_and_the_reason() {
    let pem = fixture("test-only-ed25519.pub.pem");
    let cases = [
        (String::new(), "accounts[0].api_secret: missing"),
        (
            format!("api_secret = \"s\"\npublic_key_pem = \"\"\"\n{pem}\"\"\""),
            "accounts[0].public_key_pem: give either",
        ),
        (
            format!(
                "public_key_pem = \"\"\"\n{}\"\"\"",
                fixture("test-only-ec-p256.pub.pem")
            ),
            "accounts[0].public_key_pem: not an Ed25519 or RSA",
        ),
        (
            format!(
                "public_key_pem = \"\"\"\n{}\"\"\"",
                fixture("test-only-rsa1024.pub.pem")
            ),
            "-4057",
        ),
        (
            "api_secret = \"\"".to_string(),
            "accounts[0].api_secret: must not be empty",
        ),
    ];
    for (lines, want) in cases {
        let err = Scenario::from_toml_str(&account_toml(&lines)).expect_err(want);
        assert!(err.contains(want), "{err} should contain {want}");
    }
}

/// A signed GET of the account with `sig` as the signature text, exactly as given.
async fn account_signed_with(sim: &Sim, payload: &str, sig: &str) -> Resp {
    let q = format!("{payload}&signature={sig}");
    sim.raw("GET", "/fapi/v2/account", &q, "", Some(KEY)).await
}

#[tokio::test]
async fn a_base64_signature_is_accepted_percent_encoded_and_refused_raw() {
    let sim = start(scenario_with_key(TestKey::Ed25519, "", "")).await;
    let signer = signer_from_material(&TestKey::Ed25519.private_pem()).unwrap();
    // A payload whose signature holds a `+`, which a query reads as a space if raw.
    let (payload, sig) = (0..1000)
        .map(|i| format!("recvWindow={}&timestamp={}", 5000 + i, now_ms()))
        .map(|p| {
            let s = signer.sign(p.as_bytes()).unwrap();
            (p, s)
        })
        .find(|(_, s)| s.contains('+'))
        .expect("a signature with a +");
    let encoded: String = form_urlencoded::byte_serialize(sig.as_bytes()).collect();
    let r = account_signed_with(&sim, &payload, &encoded).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    let r = account_signed_with(&sim, &payload, &sig).await;
    assert_eq!((r.status, r.code()), (400, -1022));
    // An HMAC signature under the account's key name is no Ed25519 signature.
    let r = sim.signed("GET", "/fapi/v2/account", "").await;
    assert_eq!((r.status, r.code()), (400, -1022));
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn the_admin_api_registers_and_rotates_public_keys_and_refuses_bad_ones() {
    let sim = start(scenario("", "")).await;
    let path = format!("/sim/accounts/{KEY}/keys");
    let add = |body| sim.admin("POST", &path, body);
    let r =
        add(json!({ "api_key": "ecKey1", "public_key_pem": fixture("test-only-ec-p256.pub.pem") }))
            .await;
    assert_eq!(
        (r.status, r.json["code"].as_i64()),
        (400, Some(-4056)),
        "{:?}",
        r.json
    );
    let r = add(
        json!({ "api_key": "smallRsa1", "public_key_pem": fixture("test-only-rsa1024.pub.pem") }),
    )
    .await;
    assert_eq!(
        (r.status, r.json["code"].as_i64()),
        (400, Some(-4057)),
        "{:?}",
        r.json
    );
    assert!(r.json["error"]
        .as_str()
        .unwrap_or_default()
        .starts_with("public_key_pem:"));
    let r = add(json!({ "api_key": "both1", "api_secret": "s", "public_key_pem": "x" })).await;
    assert_eq!(r.status, 400);
    let r = add(json!({ "api_key": KEY, "api_secret": "s" })).await;
    assert_eq!(r.status, 409, "an existing key is not overwritten");

    // Rotation to an RSA key: the HMAC key is gone, the RSA key signs for the account.
    let new_key = "rsaKey1";
    let r = sim
        .admin(
            "POST",
            &format!("/sim/accounts/{KEY}/rotate"),
            json!({ "api_key": new_key, "public_key_pem": TestKey::Rsa.public_pem() }),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    assert_eq!(
        sim.signed("GET", "/fapi/v2/account", "").await.code(),
        -2015
    );
    let signer = signer_from_material(&TestKey::Rsa.private_pem()).unwrap();
    let payload = format!("timestamp={}", now_ms());
    let sig: String =
        form_urlencoded::byte_serialize(signer.sign(payload.as_bytes()).unwrap().as_bytes())
            .collect();
    let r = sim
        .raw(
            "GET",
            "/fapi/v2/account",
            &format!("{payload}&signature={sig}"),
            "",
            Some(new_key),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    sim.handle.shutdown().await;
}
