//! The adapter signing with Ed25519 and RSA keys over real HTTP against the simulator,
//! which verifies each with its own (RustCrypto) code: orders, account reads, a wrong
//! key refused with -1022, and a key registered through the admin API.

use serde_json::json;
use sluice::domain::{ClientOrderId, OrderStatus, Side, Symbol, TimeInForce};
use sluice::exchange::binance::signer_from_material;
use sluice::exchange::binance::KeyKind;
use sluice::exchange::Purpose;
use sluice::exchange::{ErrorClass, Exchange, OrderResolution};
use sluice_testkit::account::start_sim;
use sluice_testkit::adapter::*;
use sluice_testkit::keys::{config_with_key, scenario_with_key, TestKey};

/// Place a resting order, resolve it by client id, cancel it: three signed calls of
/// three methods (POST, GET, DELETE), each with a fresh signature.
async fn place_resolve_cancel(l: &Loop, id: &str) {
    let price = resting_price(l, "BTCUSDT").await;
    let order = l
        .limit("BTCUSDT", Side::Buy, "0.01", &price, TimeInForce::Gtc, id)
        .await;
    let placed = l.ex.place_order(&order).await.expect("order placed");
    assert_eq!(placed.status, OrderStatus::New);
    let (btc, cid) = (
        Symbol::new("BTCUSDT").unwrap(),
        ClientOrderId::new(id).unwrap(),
    );
    match l
        .ex
        .resolve_order(&btc, &cid, Purpose::ReduceRisk)
        .await
        .expect("order resolved")
    {
        OrderResolution::Known { order, .. } => assert_eq!(order.order_id, placed.order_id),
        other => panic!("expected the order to be known: {other:?}"),
    }
    let cancelled =
        l.ex.cancel_order(&btc, &cid)
            .await
            .expect("order cancelled");
    assert_eq!(cancelled.status, OrderStatus::Canceled);
}

#[tokio::test]
async fn an_ed25519_key_places_resolves_and_cancels_an_order() {
    let sim = start_sim(scenario_with_key(TestKey::Ed25519, "", "")).await;
    let cfg = config_with_key(&sim, TestKey::Ed25519);
    assert_eq!(cfg.signer.kind(), KeyKind::Ed25519);
    let l = start_with(sim, cfg).await;
    place_resolve_cancel(&l, "ed25519-1").await;
    assert!(l.ex.account().await.expect("account read").can_trade);
    let state = l.state().await;
    assert!(
        state["stats"]["responsesByCode"]["-1022"].is_null(),
        "{state}"
    );
    l.sim.shutdown().await;
}

#[tokio::test]
async fn an_rsa_key_in_either_pem_form_places_resolves_and_cancels_an_order() {
    for (key, id) in [
        (TestKey::Rsa, "rsa-pkcs8"),
        (TestKey::RsaPkcs1, "rsa-pkcs1"),
    ] {
        let sim = start_sim(scenario_with_key(key, "", "")).await;
        let cfg = config_with_key(&sim, key);
        assert_eq!(cfg.signer.kind(), KeyKind::Rsa);
        let l = start_with(sim, cfg).await;
        place_resolve_cancel(&l, id).await;
        l.sim.shutdown().await;
    }
}

#[tokio::test]
async fn a_signature_by_another_key_is_refused_with_minus_1022() {
    // The exchange holds the Ed25519 public key; the adapter signs with the RSA key.
    let sim = start_sim(scenario_with_key(TestKey::Ed25519, "", "")).await;
    let cfg = config_with_key(&sim, TestKey::Rsa);
    let l = start_with(sim, cfg).await;
    let err = l.ex.account().await.unwrap_err();
    assert_eq!(
        (err.http_status, err.code, err.class),
        (Some(400), Some(-1022), ErrorClass::Auth)
    );
    l.sim.shutdown().await;
}

#[tokio::test]
async fn an_ed25519_key_registered_through_the_admin_api_signs_beside_the_hmac_key() {
    // An HMAC account gets a second key, Ed25519, through `/sim/accounts/<key>/keys`.
    let hmac = start(scenario("", "")).await;
    let new_key = "edKey0000000000000000000000000000000000000000000000000000000000001";
    let added = hmac
        .admin(
            "POST",
            &format!("/sim/accounts/{KEY}/keys"),
            json!({ "api_key": new_key, "public_key_pem": sluice_testkit::keys::TestKey::Ed25519.public_pem() }),
        )
        .await;
    assert_eq!(added["type"], "ed25519");
    let mut cfg = config(&hmac.sim);
    cfg.api_key = new_key.to_string();
    cfg.signer = signer_from_material(&TestKey::Ed25519.private_pem()).unwrap();
    let ed = sluice::exchange::binance::BinanceFutures::connect_with(
        cfg,
        sluice::exchange::binance::AuditBuffer::new(1000),
        fast_timing(),
    )
    .await
    .expect("adapter connects");
    // Both keys trade the one account: a position opened by one is seen by the other.
    let buy = hmac
        .market("BTCUSDT", Side::Buy, "0.01", false, "by-hmac")
        .await;
    hmac.ex.place_order(&buy).await.expect("HMAC-signed order");
    let positions = ed
        .positions(Purpose::Routine)
        .await
        .expect("Ed25519-signed read");
    assert!(
        positions.iter().any(|p| p.symbol.as_str() == "BTCUSDT"),
        "{positions:?}"
    );
    hmac.sim.shutdown().await;
}
