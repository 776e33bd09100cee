//! Which transport carries an order call: the WS API while its socket is up (when
//! `order_transport = "ws"`), else REST. Both speak the same [`Request`], so the choice
//! changes nothing above it: the same classification, limiter, audit row and parsing.
//!
//! Invariants: a call goes over REST only when the WS API wrote nothing (socket down), so
//! no request is ever sent twice; a -1021/-5028 answer re-measures the clock and is
//! retried once, as REST's own `call` does; resolving an unknown outcome stays on REST
//! (`resolve.rs`), whatever the transport.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::join_all;
use serde::de::DeserializeOwned;

use super::audit::AuditBuffer;
use super::config::BinanceConfig;
use super::rest::{self, wire, Request, RestClient};
use super::{parse, wsapi, BinanceFutures};
use crate::domain::{ClientOrderId, FilterChecked, OrderRequest, Symbol};
use crate::exchange::{ErrorClass, ExchangeError, OrderReport, Purpose};

impl BinanceFutures {
    /// Send an order call over the WS API when it is up, else over REST; decode the answer.
    pub(super) async fn order_call<T: DeserializeOwned>(
        &self,
        req: &Request,
    ) -> Result<T, ExchangeError> {
        let mut body = self.order_send(req).await;
        if matches!(&body, Err(e) if e.class == ErrorClass::ResyncClock) {
            self.rest.sync_clock(req.purpose()).await?;
            body = self.order_send(req).await;
        }
        RestClient::decode(req, &body?)
    }

    async fn order_send(&self, req: &Request) -> Result<Bytes, ExchangeError> {
        if let Some(ws) = &self.ws {
            if let Some(answer) = ws.send(req).await {
                return answer;
            }
        }
        self.rest.send(req).await
    }

    /// True when orders go over the WS API now (configured, and its socket is up).
    pub fn orders_over_ws(&self) -> bool {
        self.ws.as_ref().is_some_and(|ws| ws.is_up())
    }

    /// Several orders as one `order.place` frame each, all in flight at once (the WS API
    /// has no batch method): each order's own result, never a whole-request failure.
    pub(super) async fn place_each_over_ws(
        &self,
        orders: &[FilterChecked<OrderRequest>],
    ) -> Vec<Result<OrderReport, ExchangeError>> {
        join_all(orders.iter().map(|o| self.place_one(o))).await
    }

    /// One order on the configured transport, tracked for the user stream.
    pub(super) async fn place_one(
        &self,
        order: &FilterChecked<OrderRequest>,
    ) -> Result<OrderReport, ExchangeError> {
        let o = order.inner();
        self.tracker.order_sent(&o.symbol, &o.client_order_id);
        let req = self.rest.new_order_request(order);
        match self.order_call::<wire::Order>(&req).await {
            Ok(w) => parse::order_report(&w).map_err(|mut e| {
                // It was accepted; only our reading failed. Resolve, never re-send.
                e.class = ErrorClass::OutcomeUnknown;
                e
            }),
            Err(e) => {
                if !e.is_outcome_unknown() {
                    self.tracker.order_abandoned(&o.symbol, &o.client_order_id);
                }
                Err(e)
            }
        }
    }

    /// Cancel answered -2011: look the order up; a closed order makes the cancel a no-op.
    /// Part of the cancel, so it may use the reserve as the cancel does.
    pub(super) async fn explain_cancel_reject(
        &self,
        symbol: &Symbol,
        id: &ClientOrderId,
        err: ExchangeError,
    ) -> ExchangeError {
        let query = rest::endpoints::query_order_request(symbol, id, Purpose::ReduceRisk);
        match self
            .order_call::<wire::Order>(&query)
            .await
            .and_then(|o| parse::order_report(&o))
        {
            Ok(order) if order.status.is_terminal() => {
                let mut e = err;
                e.class = ErrorClass::Noop;
                e.msg = format!("{} (order is already {})", e.msg, order.status.as_wire());
                e
            }
            _ => err,
        }
    }
}

/// How long `connect` waits for the first WS API connection (REST carries orders until
/// it is up, so a down WS API never delays the start by more).
const WS_API_FIRST_CONNECT: Duration = Duration::from_secs(2);

/// With `order_transport = "ws"`: start the WS API and give it a moment to connect
/// (orders go over REST until it does).
pub(super) async fn start_ws_api(
    cfg: &BinanceConfig,
    rest: &Arc<RestClient>,
    audit: AuditBuffer,
) -> Option<wsapi::WsApi> {
    if cfg.order_transport != wsapi::OrderTransport::Ws {
        return None;
    }
    let ws = wsapi::WsApi::start(
        cfg.ws_api_url.to_string(),
        rest.clone(),
        audit,
        cfg.venue_name.clone(),
        cfg.request_timeout,
        cfg.ws_api_lifetime,
    );
    if !ws
        .until_up(cfg.request_timeout.min(WS_API_FIRST_CONNECT))
        .await
    {
        tracing::warn!(url = %cfg.ws_api_url, "WS API not connected at start; orders go over REST until it is");
    }
    Some(ws)
}
