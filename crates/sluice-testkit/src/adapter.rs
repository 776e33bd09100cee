//! For the adapter's loopback tests: a simulator on port 0 and the real
//! adapter pointed at it, plus the simulator's admin API for faults and state.

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
use tokio::sync::mpsc;
use url::Url;

use crate::account::{start_sim, Scenario, SimHandle};

pub use crate::account::{scenario, KEY, SECRET};

pub struct Loop {
    pub sim: SimHandle,
    pub ex: Arc<BinanceFutures>,
    pub audit: AuditBuffer,
    pub http: reqwest::Client,
}

/// The adapter's settings for the test account on `sim` (5 s request timeout).
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

/// Stream timing for tests: reconnects within 50–400 ms, no keepalive or age rotation
/// during a test.
pub fn fast_timing() -> StreamTiming {
    StreamTiming {
        keepalive: Duration::from_secs(30 * 60),
        max_connection_age: Duration::from_secs(3600),
        min_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(400),
    }
}

pub async fn start(scenario: Scenario) -> Loop {
    let sim = start_sim(scenario).await;
    let cfg = config(&sim);
    start_with(sim, cfg).await
}

/// The adapter with `cfg` (another key, another timeout) on a running simulator.
pub async fn start_with(sim: SimHandle, cfg: BinanceConfig) -> Loop {
    let audit = AuditBuffer::new(100_000);
    let ex = BinanceFutures::connect_with(cfg, audit.clone(), fast_timing())
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
        crate::account::sim_state(&self.sim).await
    }

    pub async fn rules(&self, symbol: &str) -> SymbolRules {
        let sym = Symbol::new(symbol).expect("symbol");
        self.ex
            .symbol_rules(sluice::exchange::Purpose::Routine)
            .await
            .expect("rules")
            .into_iter()
            .find(|r| r.symbol == sym)
            .expect("symbol listed")
    }

    pub async fn mark(&self, symbol: &str) -> Price {
        self.ex
            .mark_price(
                &Symbol::new(symbol).expect("symbol"),
                sluice::exchange::Purpose::Routine,
            )
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
            price_match: None,
            good_till_date: None,
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
            price_match: None,
            good_till_date: None,
        };
        validate(&self.rules(symbol).await, req, self.mark(symbol).await).expect("passes filters")
    }
}

/// Receive events until `pred` matches one (returned). Fails if the stream ends or no
/// event comes for 20 s.
pub async fn next_event(
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

impl Loop {
    /// (client order id, status) of every order the simulator knows for the account.
    pub async fn orders(&self) -> Vec<(String, String)> {
        let state = self.state().await;
        state["accounts"][0]["orders"]
            .as_array()
            .map(|orders| {
                orders
                    .iter()
                    .map(|o| {
                        let s = |k: &str| o[k].as_str().unwrap_or_default().to_owned();
                        (s("clientOrderId"), s("status"))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The simulator's status of the order with this client order id.
    pub async fn status_of(&self, client_order_id: &str) -> Option<String> {
        self.orders()
            .await
            .into_iter()
            .find(|(id, _)| id == client_order_id)
            .map(|(_, status)| status)
    }

    /// Client order ids of the orders resting on the simulator's book.
    pub async fn resting_ids(&self) -> Vec<String> {
        self.orders()
            .await
            .into_iter()
            .filter(|(_, status)| status == "NEW")
            .map(|(id, _)| id)
            .collect()
    }

    /// Place a GTC BUY of 1 at [`resting_price`] by hand (not through sluice) with this
    /// client order id; it rests on the book. Returns the price.
    pub async fn rest_by_hand(&self, symbol: &str, client_order_id: &str) -> String {
        let price = resting_price(self, symbol).await;
        let order = self
            .limit(
                symbol,
                Side::Buy,
                "1",
                &price,
                TimeInForce::Gtc,
                client_order_id,
            )
            .await;
        self.ex.place_order(&order).await.expect("the order rests");
        price
    }
}

/// A BUY limit 10 % under the mark: rests on the book, inside PERCENT_PRICE.
pub async fn resting_price(l: &Loop, symbol: &str) -> String {
    let rules = l.rules(symbol).await;
    let mark = l.mark(symbol).await.get();
    sluice::domain::floor_to_step(
        mark * rust_decimal_macros::dec!(0.9),
        rules.price_filter.tick_size,
    )
    .to_string()
}
