//! Spawning the real `Application` on port 0 over a fresh test database, and talking
//! to it over HTTP (zero2prod's `spawn_app`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use async_trait::async_trait;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use sluice::api::MarkPrices;
use sluice::domain::{Direction, PositionSide, Price, Qty, Symbol};
use sluice::ledger::{AdoptPosition, Ledger, PositionRow};
use sluice::settings::Settings;
use sluice::shutdown::{self, ShutdownTrigger};
use sluice::startup::{Application, VENUE};
use sqlx::PgPool;
use tokio::task::JoinHandle;

pub use crate::paths::config_dir;

pub const TOKEN: &str = "test-token-9f2c";

/// One fixed mark price for every symbol (the API's size checks then use no rules).
pub struct FixedMarkPrice(pub Price);

#[async_trait]
impl MarkPrices for FixedMarkPrice {
    async fn mark_price(
        &self,
        _symbol: &Symbol,
        _purpose: sluice::exchange::Purpose,
    ) -> Result<Price, String> {
        Ok(self.0)
    }
}

/// Settings for a test daemon: port 0, the given token and allocation.
pub fn settings(token: Option<&str>, allocation: &str) -> Settings {
    settings_with(token, allocation, &[])
}

/// As [`settings`], plus `SLUICE__…` pairs.
pub fn settings_with(token: Option<&str>, allocation: &str, extra: &[(&str, &str)]) -> Settings {
    let mut env: HashMap<String, String> = extra
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    env.insert("SLUICE__API__LISTEN".into(), "127.0.0.1:0".into());
    env.insert("SLUICE__BUDGET__ALLOCATION_USDT".into(), allocation.into());
    if let Some(t) = token {
        env.insert("SLUICE__API__TOKEN".into(), t.into());
    }
    Settings::load_with_env(&config_dir(), env).expect("test settings load")
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub ledger: Ledger,
    pub http: reqwest::Client,
    pub token: Option<String>,
    trigger: ShutdownTrigger,
    handle: JoinHandle<anyhow::Result<()>>,
}

pub struct Spawn<'a> {
    pub token: Option<&'a str>,
    pub allocation: &'a str,
    pub mark_price: Option<&'a str>,
    /// Extra `SLUICE__…` settings.
    pub env: &'a [(&'a str, &'a str)],
}

impl Default for Spawn<'_> {
    fn default() -> Self {
        Spawn {
            token: Some(TOKEN),
            allocation: "1000",
            mark_price: None,
            env: &[],
        }
    }
}

pub async fn spawn_app(pool: &PgPool) -> TestApp {
    spawn_with(pool, Spawn::default()).await
}

pub async fn spawn_with(pool: &PgPool, spec: Spawn<'_>) -> TestApp {
    let ledger = Ledger::from_pool(pool.clone());
    let mut app = Application::build_with_ledger(
        settings_with(spec.token, spec.allocation, spec.env),
        ledger.clone(),
    )
    .await
    .expect("application builds");
    if let Some(p) = spec.mark_price {
        let price = Price::parse("mark", p).expect("test price");
        let source: Arc<dyn MarkPrices> = Arc::new(FixedMarkPrice(price));
        app = app.with_mark_prices(source);
    }
    let addr = app.api_addr();
    let (trigger, shutdown) = shutdown::channel();
    let handle = tokio::spawn(app.run_until_stopped(shutdown));
    TestApp {
        addr,
        ledger,
        http: reqwest::Client::new(),
        token: spec.token.map(str::to_string),
        trigger,
        handle,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Stop the daemon and wait for it to finish (graceful shutdown).
    pub async fn stop(self) {
        self.trigger.trigger();
        self.handle
            .await
            .expect("daemon task joins")
            .expect("daemon stops cleanly");
    }

    fn authed(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(t) => rb.bearer_auth(t),
            None => rb,
        }
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let r = self
            .authed(self.http.get(self.url(path)))
            .send()
            .await
            .expect("GET");
        read(r).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let r = self
            .authed(self.http.post(self.url(path)))
            .json(body)
            .send()
            .await
            .expect("POST");
        read(r).await
    }

    pub async fn count(&self, table: &str) -> i64 {
        crate::db::count(self.ledger.pool(), table).await
    }

    /// An open position in the ledger, as if adopted from the exchange.
    pub async fn position(
        &self,
        symbol: &str,
        direction: Direction,
        qty: &str,
        entry: &str,
    ) -> PositionRow {
        self.ledger
            .adopt_position(&AdoptPosition {
                venue: VENUE.into(),
                symbol: Symbol::new(symbol).expect("symbol"),
                direction,
                position_side: PositionSide::Both,
                quantity: Qty::parse("quantity", qty).expect("qty"),
                entry_price: Price::parse("entry", entry).expect("price"),
                actor: "test".into(),
                reason: "test position".into(),
            })
            .await
            .expect("adopt position")
    }
}

pub async fn read(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let text = r.text().await.expect("body");
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, value)
}

pub fn open_body(key: &str, symbol: &str, side: &str, notional: &str) -> Value {
    json!({
        "kind": "open", "symbol": symbol, "side": side,
        "notional_usdt": notional, "idempotency_key": key, "reason": "test"
    })
}

pub fn dec(s: &str) -> Decimal {
    s.parse().expect("decimal")
}
