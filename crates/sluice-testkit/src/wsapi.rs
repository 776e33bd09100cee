//! The adapter on the WebSocket API order transport: an Ed25519 key registered on the
//! test account through the simulator's admin API (any scenario), and the adapter's
//! settings signing with it over `order_transport = "ws"`.

use serde_json::json;
use sluice::exchange::binance::signer_from_material;
use sluice::exchange::binance::BinanceConfig;
use sluice::exchange::binance::OrderTransport;

use crate::account::{SimHandle, KEY};
use crate::keys::TestKey;

/// The Ed25519 API key registered beside the test account's HMAC key.
pub const ED25519_KEY: &str = "edWsApi000000000000000000000000000000000000000000000000000000001";

/// How the adapter under test sends orders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wire {
    /// REST with the test account's HMAC key (the default everywhere else).
    RestHmac,
    /// The WS API (`session.logon`) with an Ed25519 key; REST while the socket is down.
    WsEd25519,
}

/// Register [`ED25519_KEY`] (the committed test Ed25519 public key) on the test account.
pub async fn register_ed25519(sim: &SimHandle) {
    let r = reqwest::Client::new()
        .post(format!("{}/sim/accounts/{KEY}/keys", sim.base_url()))
        .json(&json!({ "api_key": ED25519_KEY, "public_key_pem": TestKey::Ed25519.public_pem() }))
        .send()
        .await
        .expect("admin request");
    assert!(r.status().is_success(), "register key: {}", r.status());
}

/// The adapter's settings for the test account on `sim`: `key`'s signer and API key
/// as given, orders over the WS API on the simulator's listener.
pub fn ws_config(sim: &SimHandle, api_key: &str, signer_pem_or_secret: &str) -> BinanceConfig {
    let mut cfg = crate::adapter::config(sim);
    cfg.api_key = api_key.to_string();
    cfg.signer = signer_from_material(signer_pem_or_secret).expect("test key parses");
    cfg.order_transport = OrderTransport::Ws;
    cfg
}

/// [`register_ed25519`], then [`ws_config`] with that key.
pub async fn ws_config_ed25519(sim: &SimHandle) -> BinanceConfig {
    register_ed25519(sim).await;
    ws_config(sim, ED25519_KEY, &TestKey::Ed25519.private_pem())
}

/// The HMAC test key over the WS API (every request signed, no session).
pub fn ws_config_hmac(sim: &SimHandle) -> BinanceConfig {
    let mut cfg = crate::adapter::config(sim);
    cfg.order_transport = OrderTransport::Ws;
    cfg
}
