//! The Algo Service endpoints (docs/binance-fapi.md §2.2): place, query, cancel and list
//! conditional orders, their wire shapes, and their translation into
//! [`AlgoOrderReport`]. Also `GET /fapi/v1/order` by exchange order id, which is how the
//! order a triggered stop produced (`actualOrderId`) is found.
//!
//! Placement costs no IP weight and one unit on each order counter; a protective order
//! only ever reduces exposure, so it may use the limiter's reserve for closes. Cancels
//! and the fired stop's order may use the reserved IP weight too; the lookups and lists
//! the protective comparison makes, and the dead-man's switch, may not.

use reqwest::Method;
use rust_decimal::Decimal;
use serde::Deserialize;

use super::client::RestClient;
use super::request::{Request, Security};
use super::wire;
use crate::domain::{PositionSide, Side, Symbol};
use crate::exchange::binance::parse::{bad, time_ms};
use crate::exchange::binance::ratelimit::Cost;
use crate::exchange::{
    AlgoOrderReport, AlgoOrderRequest, AlgoStatus, ExchangeError, ProtectionKind, Purpose,
    WorkingType,
};

/// An algo order as POST, GET and openAlgoOrders answer it. `actualOrderId` is a string,
/// empty before the trigger, and absent from the POST answer.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AlgoOrderWire {
    pub algo_id: i64,
    pub client_algo_id: String,
    pub order_type: String,
    pub symbol: String,
    pub side: String,
    #[serde(default = "both")]
    pub position_side: String,
    #[serde(default)]
    pub quantity: Option<Decimal>,
    pub(crate) algo_status: String,
    pub trigger_price: Decimal,
    #[serde(default)]
    pub working_type: Option<String>,
    #[serde(default)]
    pub close_position: bool,
    #[serde(default)]
    pub actual_order_id: Option<String>,
    #[serde(default)]
    pub update_time: i64,
}

fn both() -> String {
    "BOTH".to_string()
}

/// The `ALGO_UPDATE` `o` object (docs/binance-fapi.md §5.6).
#[derive(Clone, Debug, Deserialize)]
pub struct AlgoUpdateWire {
    pub caid: String,
    pub(crate) aid: i64,
    #[serde(rename = "o")]
    pub order_type: String,
    #[serde(rename = "s")]
    pub symbol: String,
    #[serde(rename = "S")]
    pub side: String,
    #[serde(rename = "ps", default = "both")]
    pub position_side: String,
    #[serde(rename = "q", default)]
    pub quantity: Option<Decimal>,
    #[serde(rename = "X")]
    pub status: String,
    #[serde(default)]
    pub ai: Option<String>,
    #[serde(rename = "tp", default)]
    pub trigger_price: Option<Decimal>,
    #[serde(rename = "wt", default)]
    pub working_type: Option<String>,
    #[serde(rename = "cp", default)]
    pub close_position: bool,
    #[serde(default)]
    pub(crate) rm: Option<String>,
}

/// `ai`/`actualOrderId`: a decimal string, empty (or "0") before the trigger.
fn actual_order_id(raw: Option<&str>) -> Result<Option<i64>, ExchangeError> {
    match raw.map(str::trim) {
        None | Some("") | Some("0") => Ok(None),
        Some(s) => s
            .parse::<i64>()
            .map(Some)
            .map_err(|_| bad("actualOrderId", format!("`{s}` is not an order id"))),
    }
}

fn common(
    symbol: &str,
    side: &str,
    position_side: &str,
    status: &str,
) -> Result<(Symbol, Side, PositionSide, AlgoStatus), ExchangeError> {
    Ok((
        Symbol::new(symbol).map_err(|e| bad("symbol", e.reason))?,
        Side::parse(side).map_err(|e| bad("side", e.reason))?,
        PositionSide::parse(position_side).map_err(|e| bad("positionSide", e.reason))?,
        AlgoStatus::from_wire(status)
            .ok_or_else(|| bad("algoStatus", format!("`{status}` is not an algo status")))?,
    ))
}

pub(crate) fn algo_report(w: &AlgoOrderWire) -> Result<AlgoOrderReport, ExchangeError> {
    let (symbol, side, position_side, status) =
        common(&w.symbol, &w.side, &w.position_side, &w.algo_status)?;
    Ok(AlgoOrderReport {
        symbol,
        algo_id: w.algo_id,
        client_algo_id: w.client_algo_id.clone(),
        kind: ProtectionKind::from_wire(&w.order_type),
        side,
        position_side,
        status,
        trigger_price: w.trigger_price,
        working_type: w.working_type.as_deref().and_then(WorkingType::from_wire),
        close_position: w.close_position,
        quantity: w.quantity.unwrap_or_default(),
        actual_order_id: actual_order_id(w.actual_order_id.as_deref())?,
        reject_reason: None,
        update_time: time_ms("updateTime", w.update_time)?,
    })
}

pub(crate) fn algo_update_report(
    w: &AlgoUpdateWire,
    event_time: i64,
) -> Result<AlgoOrderReport, ExchangeError> {
    let (symbol, side, position_side, status) =
        common(&w.symbol, &w.side, &w.position_side, &w.status)?;
    Ok(AlgoOrderReport {
        symbol,
        algo_id: w.aid,
        client_algo_id: w.caid.clone(),
        kind: ProtectionKind::from_wire(&w.order_type),
        side,
        position_side,
        status,
        trigger_price: w.trigger_price.unwrap_or_default(),
        working_type: w.working_type.as_deref().and_then(WorkingType::from_wire),
        close_position: w.close_position,
        quantity: w.quantity.unwrap_or_default(),
        actual_order_id: actual_order_id(w.ai.as_deref())?,
        reject_reason: w.rm.clone().filter(|r| !r.is_empty()),
        update_time: time_ms("E", event_time)?,
    })
}

/// Wire parameters of a protective order: `closePosition=true` without a quantity, or a
/// quantity with `reduceOnly=true` in one-way mode (hedge mode rejects `reduceOnly`,
/// -1106; its closing leg reduces by side).
pub(crate) fn algo_params(o: &AlgoOrderRequest) -> Vec<(&'static str, String)> {
    let mut p: Vec<(&'static str, String)> = vec![
        ("algoType", "CONDITIONAL".to_string()),
        ("symbol", o.symbol.as_str().to_string()),
        ("side", o.side.as_wire().to_string()),
        ("positionSide", o.position_side.as_wire().to_string()),
        ("type", o.kind.as_wire().to_string()),
        (
            "triggerPrice",
            o.trigger_price.get().normalize().to_string(),
        ),
        ("workingType", o.working_type.as_wire().to_string()),
    ];
    match o.quantity {
        None => p.push(("closePosition", "true".to_string())),
        Some(q) => {
            p.push(("quantity", q.get().normalize().to_string()));
            if o.position_side == PositionSide::Both {
                p.push(("reduceOnly", "true".to_string()));
            }
        }
    }
    p.push(("clientAlgoId", o.client_algo_id.clone()));
    p
}

fn signed(method: Method, path: &'static str, weight: u32, purpose: Purpose) -> Request {
    Request::new(method, path, Security::Signed, weight, purpose)
}

impl RestClient {
    /// `POST /fapi/v1/algoOrder`.
    pub(crate) async fn new_algo_order(
        &self,
        o: &AlgoOrderRequest,
    ) -> Result<AlgoOrderWire, ExchangeError> {
        let mut req = Request::placement("/fapi/v1/algoOrder", Cost::order(true));
        req.params = algo_params(o);
        self.call(&req).await
    }

    /// `GET /fapi/v1/algoOrder` by clientAlgoId: the caller's purpose (a fired stop's
    /// re-read, which the watchdog's close waits on, may use the reserve; reconcile's and
    /// the periodic check's are routine).
    pub(crate) async fn query_algo_order(
        &self,
        cid: &str,
        purpose: Purpose,
    ) -> Result<AlgoOrderWire, ExchangeError> {
        let req = signed(Method::GET, "/fapi/v1/algoOrder", 1, purpose).param("clientAlgoId", cid);
        self.call(&req).await
    }

    /// `DELETE /fapi/v1/algoOrder` by clientAlgoId: a cancel never adds exposure, so it
    /// may use the reserve, as every cancel does.
    pub async fn cancel_algo_order(&self, cid: &str) -> Result<serde_json::Value, ExchangeError> {
        let req = signed(Method::DELETE, "/fapi/v1/algoOrder", 1, Purpose::ReduceRisk)
            .param("clientAlgoId", cid)
            .cancel();
        self.call(&req).await
    }

    /// `GET /fapi/v1/openAlgoOrders` for one symbol (weight 1) or every symbol (40;
    /// docs/binance-fapi.md §2.4): the protective comparison's and reconcile's list,
    /// routine.
    pub(crate) async fn open_algo_orders(
        &self,
        symbol: Option<&Symbol>,
    ) -> Result<Vec<AlgoOrderWire>, ExchangeError> {
        let req = match symbol {
            Some(s) => signed(Method::GET, "/fapi/v1/openAlgoOrders", 1, Purpose::Routine)
                .param("symbol", s.as_str()),
            None => signed(Method::GET, "/fapi/v1/openAlgoOrders", 40, Purpose::Routine),
        };
        self.call(&req).await
    }

    /// `POST /fapi/v1/countdownCancelAll` (weight 10): the dead-man's switch. Routine: a
    /// renewal that cannot go lets the countdown run out and the venue cancel the orders,
    /// which is the safe way to fail, while renewals in the reserve (10 per armed symbol,
    /// four times per countdown: 40 a minute each at the default 60 s) could take what a
    /// close needs.
    pub(crate) async fn countdown_cancel_all(
        &self,
        symbol: &Symbol,
        countdown_ms: u64,
    ) -> Result<serde_json::Value, ExchangeError> {
        let req = signed(
            Method::POST,
            "/fapi/v1/countdownCancelAll",
            10,
            Purpose::Routine,
        )
        .param("symbol", symbol.as_str())
        .param("countdownTime", countdown_ms.to_string())
        .cancel();
        self.call(&req).await
    }

    /// `GET /fapi/v1/order` by exchange order id: the order a fired stop produced, a close
    /// whose fills settle the position's size, so it may use the reserve.
    pub(crate) async fn query_order_by_id(
        &self,
        symbol: &Symbol,
        order_id: i64,
    ) -> Result<wire::Order, ExchangeError> {
        let req = signed(Method::GET, "/fapi/v1/order", 1, Purpose::ReduceRisk)
            .param("symbol", symbol.as_str())
            .param("orderId", order_id.to_string());
        self.call(&req).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Price, Qty};
    use rust_decimal_macros::dec;

    fn request(quantity: Option<Qty>, ps: PositionSide) -> AlgoOrderRequest {
        AlgoOrderRequest {
            symbol: Symbol::new("BTCUSDT").unwrap(),
            side: Side::Sell,
            position_side: ps,
            kind: ProtectionKind::StopLoss,
            trigger_price: Price::new("trigger_price", dec!(64000.0)).unwrap(),
            working_type: WorkingType::Mark,
            quantity,
            client_algo_id: "slp-1-1".into(),
        }
    }

    #[test]
    fn a_close_position_stop_sends_no_quantity_and_no_reduce_only() {
        let p = algo_params(&request(None, PositionSide::Both));
        let has = |k: &str| p.iter().any(|(n, _)| *n == k);
        assert!(p.contains(&("closePosition", "true".into())));
        assert!(p.contains(&("triggerPrice", "64000".into())));
        assert!(p.contains(&("workingType", "MARK_PRICE".into())));
        assert!(!has("quantity") && !has("reduceOnly"));
    }

    #[test]
    fn a_quantity_stop_is_reduce_only_in_one_way_mode_only() {
        let q = Qty::new("quantity", dec!(0.010)).unwrap();
        let one_way = algo_params(&request(Some(q), PositionSide::Both));
        assert!(one_way.contains(&("reduceOnly", "true".into())));
        let hedge = algo_params(&request(Some(q), PositionSide::Long));
        assert!(!hedge.iter().any(|(n, _)| *n == "reduceOnly"));
    }

    #[test]
    fn the_algo_update_capture_reads_with_its_resulting_order() {
        // Field names and values of a 2025-12-11 testnet ALGO_UPDATE (FINISHED).
        let raw = r#"{"caid":"O-1","aid":1000000033225453,"at":"CONDITIONAL","o":"STOP_MARKET","s":"DOGEUSDT","S":"BUY","ps":"BOTH","f":"GTC","q":"38","X":"FINISHED","ai":"88937381063","ap":"0.13856","aq":"38","act":"MARKET","tp":"0.13855","p":"0","V":"EXPIRE_MAKER","wt":"CONTRACT_PRICE","pm":"NONE","cp":false,"pP":false,"R":false,"tt":1765431097019,"gtd":0}"#;
        let w: AlgoUpdateWire = serde_json::from_str(raw).unwrap();
        let r = algo_update_report(&w, 1_765_431_097_037).unwrap();
        assert_eq!(r.status, AlgoStatus::Finished);
        assert_eq!(r.actual_order_id, Some(88_937_381_063));
        assert_eq!(r.kind, Some(ProtectionKind::StopLoss));
        assert_eq!(r.working_type, Some(WorkingType::Contract));
        let triggering = raw.replace(
            r#""X":"FINISHED","ai":"88937381063""#,
            r#""X":"TRIGGERING","ai":"""#,
        );
        let w: AlgoUpdateWire = serde_json::from_str(&triggering).unwrap();
        assert_eq!(algo_update_report(&w, 1).unwrap().actual_order_id, None);
    }
}
