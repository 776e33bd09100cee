//! One method per Binance endpoint, shaped like the venue: wire types in, wire types out.
//!
//! Weights follow docs/binance-fapi.md §2; order placement costs 0 weight and one unit on each
//! order counter. Order parameters are built by [`order_params`], the single place that
//! turns a checked domain order into wire parameters.
//!
//! Every request says what it is for where it is built ([`Purpose`]): a read that serves
//! both a close and a routine caller takes the caller's purpose; the others say theirs.

use reqwest::Method;

use super::client::RestClient;
use super::request::{Request, Security};
use super::wire;
use crate::domain::{
    ClientOrderId, FilterChecked, OrderRequest, PositionSide, SelfTradePrevention, Symbol,
};
use crate::exchange::binance::ratelimit::Cost;
use crate::exchange::{ExchangeError, Purpose};

/// Wire parameters of a new order, in a fixed order. `reduceOnly` is sent only in one-way
/// mode (`positionSide=BOTH`): hedge mode rejects it (-1106) and encodes intent by side.
/// `selfTradePreventionMode` is always sent: left out, the venue applies the account's
/// default, `EXPIRE_MAKER` on the live exchange (docs/binance-fapi.md §2.2).
pub fn order_params(order: &OrderRequest, stp: SelfTradePrevention) -> Vec<(&'static str, String)> {
    let mut p: Vec<(&'static str, String)> = vec![
        ("symbol", order.symbol.as_str().to_string()),
        ("side", order.side.as_wire().to_string()),
        ("positionSide", order.position_side.as_wire().to_string()),
        ("type", order.order_type.as_wire().to_string()),
        ("quantity", order.quantity.get().normalize().to_string()),
    ];
    if let Some(price) = order.price {
        p.push(("price", price.get().normalize().to_string()));
    }
    if let Some(m) = order.price_match {
        // The venue prices the order; `price` is never sent beside it.
        p.push(("priceMatch", m.as_wire().to_string()));
    }
    if let Some(tif) = order.time_in_force {
        p.push(("timeInForce", tif.as_wire().to_string()));
    }
    if let Some(at) = order.good_till_date {
        p.push(("goodTillDate", at.to_string()));
    }
    if order.reduce_only && order.position_side == PositionSide::Both {
        p.push(("reduceOnly", "true".to_string()));
    }
    p.push((
        "newClientOrderId",
        order.client_order_id.as_str().to_string(),
    ));
    p.push(("selfTradePreventionMode", stp.as_wire().to_string()));
    p.push(("newOrderRespType", "RESULT".to_string()));
    p
}

/// Does this order only ever reduce exposure? (reduce-only flag, or a hedge-mode closing leg.)
pub(crate) fn reduces_risk(order: &OrderRequest) -> bool {
    use crate::domain::Side;
    order.reduce_only
        || matches!(
            (order.position_side, order.side),
            (PositionSide::Long, Side::Sell) | (PositionSide::Short, Side::Buy)
        )
}

/// Most orders one `POST /fapi/v1/batchOrders` may carry (docs/binance-fapi.md §2.2).
pub(crate) const MAX_BATCH: usize = 5;

fn signed(method: Method, path: &'static str, weight: u32, purpose: Purpose) -> Request {
    Request::new(method, path, Security::Signed, weight, purpose)
}

/// `GET /fapi/v1/order` by clientOrderId (the WS API's `order.status`).
pub(crate) fn query_order_request(
    symbol: &Symbol,
    id: &ClientOrderId,
    purpose: Purpose,
) -> Request {
    signed(Method::GET, "/fapi/v1/order", 1, purpose)
        .param("symbol", symbol.as_str())
        .param("origClientOrderId", id.as_str())
}

/// `DELETE /fapi/v1/order` by clientOrderId (the WS API's `order.cancel`). A cancel only
/// ever reduces risk: it may use the reserve.
pub(crate) fn cancel_order_request(symbol: &Symbol, id: &ClientOrderId) -> Request {
    signed(Method::DELETE, "/fapi/v1/order", 1, Purpose::ReduceRisk)
        .param("symbol", symbol.as_str())
        .param("origClientOrderId", id.as_str())
        .cancel()
}

impl RestClient {
    /// Routine for preflight; a parked close waits on the executor's outage probe.
    pub async fn ping(&self, purpose: Purpose) -> Result<serde_json::Value, ExchangeError> {
        self.call(&Request::new(
            Method::GET,
            "/fapi/v1/ping",
            Security::Public,
            1,
            purpose,
        ))
        .await
    }

    /// Symbol rules and rate limits: routine at start, preflight and for the operator; a
    /// rules reload the executor's loop awaits (after a filter refusal) may use the reserve.
    pub async fn exchange_info(
        &self,
        purpose: Purpose,
    ) -> Result<wire::ExchangeInfo, ExchangeError> {
        self.call(&Request::new(
            Method::GET,
            "/fapi/v1/exchangeInfo",
            Security::Public,
            1,
            purpose,
        ))
        .await
    }

    /// The mark price of one symbol: a close's pricing needs it, preflight does not.
    pub(crate) async fn premium_index(
        &self,
        symbol: &Symbol,
        purpose: Purpose,
    ) -> Result<wire::PremiumIndex, ExchangeError> {
        let req = Request::new(
            Method::GET,
            "/fapi/v1/premiumIndex",
            Security::Public,
            1,
            purpose,
        )
        .param("symbol", symbol.as_str());
        self.call(&req).await
    }

    /// The `POST /fapi/v1/order` request (also what the WS API's `order.place` carries):
    /// a closing order may use the reserve, an opening one may not.
    pub fn new_order_request(&self, order: &FilterChecked<OrderRequest>) -> Request {
        let o = order.inner();
        let mut req = Request::placement("/fapi/v1/order", Cost::order(reduces_risk(o)));
        req.params = order_params(o, self.stp);
        req
    }

    /// `POST /fapi/v1/batchOrders`: the orders as one JSON array of string-valued objects
    /// (the caller keeps it to 1..=[`MAX_BATCH`]). A placement that may add risk when any
    /// element may; the answer holds one element per order, in the order sent.
    pub(crate) async fn new_batch_orders(
        &self,
        orders: &[FilterChecked<OrderRequest>],
    ) -> Result<Vec<wire::BatchItem>, ExchangeError> {
        let reduces = orders.iter().all(|o| reduces_risk(o.inner()));
        let items: Vec<serde_json::Value> = orders
            .iter()
            .map(|o| {
                let fields = order_params(o.inner(), self.stp)
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), serde_json::Value::String(v)));
                serde_json::Value::Object(fields.collect())
            })
            .collect();
        let mut req = Request::placement("/fapi/v1/batchOrders", Cost::batch(reduces));
        req.params = vec![("batchOrders", serde_json::Value::Array(items).to_string())];
        self.call(&req).await
    }

    /// `POST /fapi/v1/order/test`: validated, never matched. The body is ignored.
    /// Preflight: routine.
    pub async fn test_order(
        &self,
        order: &FilterChecked<OrderRequest>,
    ) -> Result<(), ExchangeError> {
        let mut req = signed(Method::POST, "/fapi/v1/order/test", 1, Purpose::Routine);
        req.params = order_params(order.inner(), self.stp);
        self.call::<serde_json::Value>(&req).await.map(|_| ())
    }

    /// `GET /fapi/v1/order` by clientOrderId.
    pub(crate) async fn query_order(
        &self,
        symbol: &Symbol,
        id: &ClientOrderId,
        purpose: Purpose,
    ) -> Result<wire::Order, ExchangeError> {
        self.call(&query_order_request(symbol, id, purpose)).await
    }

    /// `DELETE /fapi/v1/order` by clientOrderId.
    pub async fn cancel_order(
        &self,
        symbol: &Symbol,
        id: &ClientOrderId,
    ) -> Result<wire::Order, ExchangeError> {
        self.call(&cancel_order_request(symbol, id)).await
    }

    /// `GET /fapi/v1/openOrders` of one symbol (weight 1) or of every symbol (40).
    pub async fn open_orders(
        &self,
        symbol: Option<&Symbol>,
        purpose: Purpose,
    ) -> Result<Vec<wire::Order>, ExchangeError> {
        let req = match symbol {
            Some(s) => {
                signed(Method::GET, "/fapi/v1/openOrders", 1, purpose).param("symbol", s.as_str())
            }
            None => signed(Method::GET, "/fapi/v1/openOrders", 40, purpose),
        };
        self.call(&req).await
    }

    pub async fn user_trades(
        &self,
        symbol: &Symbol,
        from_id: Option<i64>,
        order_id: Option<i64>,
        purpose: Purpose,
    ) -> Result<Vec<wire::UserTrade>, ExchangeError> {
        let mut req =
            signed(Method::GET, "/fapi/v1/userTrades", 5, purpose).param("symbol", symbol.as_str());
        if let Some(id) = from_id {
            req = req.param("fromId", id.to_string());
        }
        if let Some(id) = order_id {
            req = req.param("orderId", id.to_string());
        }
        self.call(&req.param("limit", "1000")).await
    }

    /// `GET /fapi/v1/userTrades` between `start_ms` and `end_ms` (at most 7 days apart).
    pub(crate) async fn user_trades_between(
        &self,
        symbol: &Symbol,
        start_ms: i64,
        end_ms: i64,
        purpose: Purpose,
    ) -> Result<Vec<wire::UserTrade>, ExchangeError> {
        let req = signed(Method::GET, "/fapi/v1/userTrades", 5, purpose)
            .param("symbol", symbol.as_str())
            .param("startTime", start_ms.to_string())
            .param("endTime", end_ms.to_string())
            .param("limit", "1000");
        self.call(&req).await
    }

    /// Balances and permissions, for preflight and the operator: routine.
    pub(crate) async fn account_v2(&self) -> Result<wire::AccountV2, ExchangeError> {
        self.call(&signed(
            Method::GET,
            "/fapi/v2/account",
            5,
            Purpose::Routine,
        ))
        .await
    }

    /// `GET /fapi/v3/positionRisk`: only symbols with a position or open orders. A close
    /// re-reads the size it closes with it; start-up and reconcile compare with it.
    pub(crate) async fn position_risk_v3(
        &self,
        purpose: Purpose,
    ) -> Result<Vec<wire::PositionRisk>, ExchangeError> {
        self.call(&signed(Method::GET, "/fapi/v3/positionRisk", 5, purpose))
            .await
    }

    /// `GET /fapi/v1/accountConfig` (weight 5): the position mode and the multi-assets
    /// mode in one answer, where `positionSide/dual` and `multiAssetsMargin` cost 30 each
    /// (docs/binance-fapi.md §2.3). Start-up and preflight: routine.
    pub(crate) async fn account_config(&self) -> Result<wire::AccountConfigWire, ExchangeError> {
        self.call(&signed(
            Method::GET,
            "/fapi/v1/accountConfig",
            5,
            Purpose::Routine,
        ))
        .await
    }

    /// Preflight's and the router's notional caps: routine.
    pub(crate) async fn leverage_brackets(
        &self,
        symbol: &Symbol,
    ) -> Result<wire::BracketsReply, ExchangeError> {
        let req = signed(Method::GET, "/fapi/v1/leverageBracket", 1, Purpose::Routine)
            .param("symbol", symbol.as_str());
        self.call(&req).await
    }

    /// `GET /fapi/v1/symbolConfig` for one symbol: margin type and leverage. Preflight:
    /// routine.
    pub(crate) async fn symbol_config(
        &self,
        symbol: &Symbol,
    ) -> Result<Vec<wire::SymbolConfig>, ExchangeError> {
        let req = signed(Method::GET, "/fapi/v1/symbolConfig", 5, Purpose::Routine)
            .param("symbol", symbol.as_str());
        self.call(&req).await
    }

    /// `GET /sapi/v1/account/apiRestrictions`: served by the SPOT host only, so call it on
    /// a client whose base is that host (`api.binance.com` for mainnet keys). Preflight:
    /// routine.
    pub(crate) async fn api_restrictions(&self) -> Result<wire::ApiRestrictions, ExchangeError> {
        self.call(&signed(
            Method::GET,
            "/sapi/v1/account/apiRestrictions",
            1,
            Purpose::Routine,
        ))
        .await
    }

    /// Preflight and the operator's account view: routine, every symbol (IP weight 10);
    /// the key-loss probe, on which every close waits while the key is refused, may use
    /// the reserve and names one `symbol` (IP weight 1, docs/binance-fapi.md §2.3).
    pub(crate) async fn api_trading_status(
        &self,
        symbol: Option<&Symbol>,
        purpose: Purpose,
    ) -> Result<wire::ApiTradingStatus, ExchangeError> {
        let req = match symbol {
            Some(s) => signed(Method::GET, "/fapi/v1/apiTradingStatus", 1, purpose)
                .param("symbol", s.as_str()),
            None => signed(Method::GET, "/fapi/v1/apiTradingStatus", 10, purpose),
        };
        self.call(&req).await
    }

    /// The user stream's key. Routine: a close learns its fills over REST when the
    /// stream is down (the executor's own resolution reads).
    pub(crate) async fn create_listen_key(&self) -> Result<wire::ListenKey, ExchangeError> {
        self.call(&Request::new(
            Method::POST,
            "/fapi/v1/listenKey",
            Security::ApiKey,
            1,
            Purpose::Routine,
        ))
        .await
    }

    /// `PUT /fapi/v1/listenKey`: extends the key 60 minutes; -1125 if it is gone. Routine,
    /// as creating it is.
    pub(crate) async fn keepalive_listen_key(&self) -> Result<(), ExchangeError> {
        self.call::<serde_json::Value>(&Request::new(
            Method::PUT,
            "/fapi/v1/listenKey",
            Security::ApiKey,
            1,
            Purpose::Routine,
        ))
        .await
        .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{OrderType, Qty, Side};

    fn order(position_side: PositionSide, side: Side, reduce_only: bool) -> OrderRequest {
        OrderRequest {
            symbol: Symbol::new("SOLUSDT").unwrap(),
            side,
            position_side,
            order_type: OrderType::Market,
            quantity: Qty::parse("q", "5000.000").unwrap(),
            price: None,
            time_in_force: None,
            reduce_only,
            client_order_id: ClientOrderId::new("sl-1").unwrap(),
            price_match: None,
            good_till_date: None,
        }
    }

    #[test]
    fn a_one_way_close_sends_reduce_only_and_a_hedge_close_does_not() {
        let stp = SelfTradePrevention::default();
        let one_way = order_params(&order(PositionSide::Both, Side::Buy, true), stp);
        assert!(one_way.contains(&("reduceOnly", "true".into())));
        assert!(one_way.contains(&("quantity", "5000".into())));
        let hedge = order_params(&order(PositionSide::Short, Side::Buy, true), stp);
        assert!(!hedge.iter().any(|(k, _)| *k == "reduceOnly"));
        assert!(hedge.contains(&("positionSide", "SHORT".into())));
    }

    #[test]
    fn a_price_matched_gtd_sends_price_match_and_its_date_and_no_price() {
        let mut o = order(PositionSide::Both, Side::Buy, false);
        o.order_type = OrderType::Limit;
        o.time_in_force = Some(crate::domain::TimeInForce::Gtd);
        o.price_match = Some(crate::domain::PriceMatch::Queue5);
        o.good_till_date = Some(1_900_000_000_000);
        let p = order_params(&o, SelfTradePrevention::default());
        let get = |k: &str| p.iter().find(|(n, _)| *n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("priceMatch"), Some("QUEUE_5"));
        assert_eq!(get("timeInForce"), Some("GTD"));
        assert_eq!(get("goodTillDate"), Some("1900000000000"));
        assert_eq!(get("price"), None, "the venue picks the price");
        let market = order_params(
            &order(PositionSide::Both, Side::Buy, false),
            SelfTradePrevention::default(),
        );
        assert!(market
            .iter()
            .all(|(n, _)| !matches!(*n, "priceMatch" | "goodTillDate" | "timeInForce")));
    }

    #[test]
    fn every_order_names_its_self_trade_prevention_mode() {
        for stp in SelfTradePrevention::ALL {
            let p = order_params(&order(PositionSide::Both, Side::Sell, false), stp);
            let sent: Vec<_> = p
                .iter()
                .filter(|(k, _)| *k == "selfTradePreventionMode")
                .collect();
            assert_eq!(sent, [&("selfTradePreventionMode", stp.as_wire().into())]);
        }
    }

    #[test]
    fn an_order_lookup_is_for_its_callers_purpose_and_a_cancel_always_reduces_risk() {
        let sol = Symbol::new("SOLUSDT").unwrap();
        let id = ClientOrderId::new("sl-1").unwrap();
        for purpose in [Purpose::ReduceRisk, Purpose::Routine] {
            assert_eq!(query_order_request(&sol, &id, purpose).purpose(), purpose);
        }
        let cancel = cancel_order_request(&sol, &id);
        assert_eq!(cancel.purpose(), Purpose::ReduceRisk);
        assert!(cancel.is_order(), "classified as a cancel");
    }

    #[test]
    fn hedge_closing_legs_count_as_risk_reducing_and_opens_do_not() {
        assert!(reduces_risk(&order(PositionSide::Short, Side::Buy, false)));
        assert!(reduces_risk(&order(PositionSide::Long, Side::Sell, false)));
        assert!(!reduces_risk(&order(PositionSide::Long, Side::Buy, false)));
        assert!(!reduces_risk(&order(PositionSide::Both, Side::Sell, false)));
        assert!(reduces_risk(&order(PositionSide::Both, Side::Sell, true)));
    }
}
