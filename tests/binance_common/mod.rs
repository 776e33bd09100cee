//! Shared helpers for the adapter's loopback tests: a simulator on port 0 and the real
//! adapter pointed at it, plus the simulator's admin API for faults and state.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use serde_json::Value;
use sluice::domain::{
    validate, ClientOrderId, FilterChecked, OrderRequest, OrderType, PositionSide, Price, Qty,
    Side, Symbol, SymbolRules, TimeInForce,
};
use sluice::exchange::binance::{AuditBuffer, BinanceConfig, BinanceFutures, StreamTiming};
use sluice::exchange::{AccountEvent, Exchange};
use sluice_sim::{spawn, Scenario, SimHandle};
use tokio::sync::mpsc;
use url::Url;

pub const KEY: &str = "adapterKey000000000000000000000000000000000000000000000000000001";
pub const SECRET: &str = "adapterSecret0000000000000000000000000000000000000000000000000001";

pub struct Loop {
    pub sim: SimHandle,
    pub ex: Arc<BinanceFutures>,
    pub audit: AuditBuffer,
    pub http: reqwest::Client,
}

/// A scenario with one funded one-way account plus `extra` TOML (before the account).
pub fn scenario(extra: &str, account_extra: &str) -> Scenario {
    let text = format!(
        "{extra}\n[[accounts]]\napi_key = \"{KEY}\"\napi_secret = \"{SECRET}\"\nusdt = \"100000\"\n{account_extra}\n"
    );
    Scenario::from_toml_str(&text).expect("test scenario parses")
}

pub fn config(sim: &SimHandle) -> BinanceConfig {
    let mut cfg = BinanceConfig::new(
        Url::parse(&sim.base_url()).expect("sim base url"),
        Url::parse(&sim.ws_url()).expect("sim ws url"),
        KEY.to_string(),
        SecretString::from(SECRET.to_string()),
    );
    cfg.request_timeout = Duration::from_secs(5);
    cfg
}

pub fn fast_timing() -> StreamTiming {
    StreamTiming {
        keepalive: Duration::from_secs(30 * 60),
        max_connection_age: Duration::from_secs(3600),
        min_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(400),
    }
}

pub async fn start(scenario: Scenario) -> Loop {
    let addr: SocketAddr = "127.0.0.1:0".parse().expect("addr");
    let sim = spawn(scenario, addr).await.expect("simulator starts");
    let audit = AuditBuffer::new(100_000);
    let ex = BinanceFutures::connect_with(config(&sim), audit.clone(), fast_timing())
        .await
        .expect("adapter connects to the simulator");
    Loop {
        sim,
        ex,
        audit,
        http: reqwest::Client::new(),
    }
}

impl Loop {
    pub async fn admin(&self, method: &str, path: &str, body: Value) -> Value {
        let r = self
            .http
            .request(
                method.parse().expect("method"),
                format!("{}{}", self.sim.base_url(), path),
            )
            .json(&body)
            .send()
            .await
            .expect("admin request");
        assert!(r.status().is_success(), "admin {path}: {}", r.status());
        r.json().await.unwrap_or(Value::Null)
    }

    pub async fn fault(&self, window: Value) {
        self.admin("POST", "/sim/faults", window).await;
    }

    pub async fn clear_faults(&self) {
        self.admin("DELETE", "/sim/faults", serde_json::json!({}))
            .await;
    }

    pub async fn state(&self) -> Value {
        self.http
            .get(format!("{}/sim/state", self.sim.base_url()))
            .send()
            .await
            .expect("state")
            .json()
            .await
            .expect("state json")
    }

    pub async fn rules(&self, symbol: &str) -> SymbolRules {
        let sym = Symbol::new(symbol).expect("symbol");
        self.ex
            .symbol_rules()
            .await
            .expect("rules")
            .into_iter()
            .find(|r| r.symbol == sym)
            .expect("symbol listed")
    }

    pub async fn mark(&self, symbol: &str) -> Price {
        self.ex
            .mark_price(&Symbol::new(symbol).expect("symbol"))
            .await
            .expect("mark")
            .mark_price
    }

    /// A checked MARKET order.
    pub async fn market(
        &self,
        symbol: &str,
        side: Side,
        qty: &str,
        reduce_only: bool,
        id: &str,
    ) -> FilterChecked<OrderRequest> {
        let req = OrderRequest {
            symbol: Symbol::new(symbol).expect("symbol"),
            side,
            position_side: PositionSide::Both,
            order_type: OrderType::Market,
            quantity: Qty::parse("q", qty).expect("qty"),
            price: None,
            time_in_force: None,
            reduce_only,
            client_order_id: ClientOrderId::new(id).expect("id"),
        };
        validate(&self.rules(symbol).await, req, self.mark(symbol).await).expect("passes filters")
    }

    /// A checked LIMIT order at `price`.
    pub async fn limit(
        &self,
        symbol: &str,
        side: Side,
        qty: &str,
        price: &str,
        tif: TimeInForce,
        id: &str,
    ) -> FilterChecked<OrderRequest> {
        let req = OrderRequest {
            symbol: Symbol::new(symbol).expect("symbol"),
            side,
            position_side: PositionSide::Both,
            order_type: OrderType::Limit,
            quantity: Qty::parse("q", qty).expect("qty"),
            price: Some(Price::parse("p", price).expect("price")),
            time_in_force: Some(tif),
            reduce_only: false,
            client_order_id: ClientOrderId::new(id).expect("id"),
        };
        validate(&self.rules(symbol).await, req, self.mark(symbol).await).expect("passes filters")
    }
}

/// Receive events until `pred` matches one (returned). Fails if the stream ends.
pub async fn until(
    rx: &mut mpsc::Receiver<AccountEvent>,
    mut pred: impl FnMut(&AccountEvent) -> bool,
) -> AccountEvent {
    loop {
        let ev = tokio::time::timeout(Duration::from_secs(20), rx.recv())
            .await
            .expect("event within 20 s")
            .expect("stream open");
        if pred(&ev) {
            return ev;
        }
    }
}

/// A BUY limit 10 % under the mark: rests on the book, inside PERCENT_PRICE.
pub async fn resting_price(l: &Loop, symbol: &str) -> String {
    let rules = l.rules(symbol).await;
    let mark = l.mark(symbol).await.get();
    sluice::domain::rules::floor_to_step(
        mark * rust_decimal_macros::dec!(0.9),
        rules.price_filter.tick_size,
    )
    .to_string()
}
